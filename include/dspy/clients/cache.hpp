#pragma once
/// @file
/// DSPy's cache keys: the SHA-256 of a request's canonical JSON, so that a C++ program and Python DSPy that send
/// the same request share one cache entry.

#include <span>
#include <string>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy {

/// The text DSPy hashes for `request`: the top-level keys not in `ignored`, written as orjson writes with
/// OPT_SORT_KEYS (compact, keys sorted recursively by code point, UTF-8 unescaped, floats shortest round-trip).
/// @throws TypeError when `request` is not a JSON object.
/// @sa dspy.clients.cache.Cache.cache_key (the argument of its sha256)
[[nodiscard]] std::string canonical_request_json(const Json& request, std::span<const std::string> ignored = {});

/// The lowercase hex SHA-256 of canonical_request_json(request, ignored). @sa dspy.clients.cache.Cache.cache_key
[[nodiscard]] std::string cache_key(const Json& request, std::span<const std::string> ignored = {});

/// Lowercase hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);

}  // namespace dspy
