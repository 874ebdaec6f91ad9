// A fast reader and writer for the JSON on the LM call path (provider replies in, request bodies out).
//
// nlohmann's lexer reads a byte at a time through an input adapter and its serializer decodes UTF-8 a byte at a
// time; on a typical call the two cost about a quarter of the event-loop thread's instructions. These do the same
// job with runs of plain bytes copied or scanned at once, and give exactly nlohmann's results: where the fast
// reader meets anything it does not handle (or malformed input), it hands the text to nlohmann, and where the
// writer meets a string that is not UTF-8, nlohmann's dump reports it.
#pragma once

#include <string>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy::json_fast {

/// `Json::parse(text, nullptr, false)`: the same value (object key order, duplicate keys, signed/unsigned/float
/// numbers), or a discarded value where nlohmann would reject the text.
[[nodiscard]] Json parse(std::string_view text);

/// Appends `v.dump()` (compact, UTF-8 kept as is). Throws nlohmann's type_error where dump would (invalid UTF-8).
void append_dump(std::string& out, const Json& v);

/// Appends `Json(s).dump()` for a string `s`.
void append_string(std::string& out, std::string_view s);

}  // namespace dspy::json_fast
