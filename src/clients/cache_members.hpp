#pragma once
// The cache key of a request held as loose members instead of one Json: LM hashes a call before (and on a
// memory-cache hit instead of) building its request.

#include <span>
#include <string>

#include "utils/pyfmt.hpp"

namespace dspy::detail {

/// sha256_hex of pyfmt::append_orjson_sorted(members): cache_key() of the request object those members make
/// (the caller leaves out the ignored keys). Reorders `members`.
[[nodiscard]] std::string cache_key_of_members(std::span<pyfmt::OrjsonMember> members);

}  // namespace dspy::detail
