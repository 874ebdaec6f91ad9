#pragma once
// A port of the parts of python json_repair 0.61.7 (`json_repair.loads`) that DSPy's adapters rely on, and of
// Python's `json.loads` / `ast.literal_eval` for the values DSPy feeds them. Private to the library.

#include <optional>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy::json_repair {

/// `json_repair.loads(text)`: valid JSON as `json.loads` reads it; otherwise a lenient parse (unquoted keys,
/// single quotes, trailing commas, missing closers, fenced blocks and prose around a value). Returns the empty
/// string `""` when nothing could be recovered (bare words such as `True` or `hello` at top level), exactly as
/// json_repair does; DSPy tests for that sentinel.
Json loads(std::string_view text);

/// Python `json.loads(text)` (strict JSON plus NaN/Infinity, surrounding whitespace allowed); nullopt when
/// Python would raise.
std::optional<Json> json_loads(std::string_view text);

/// Python `json.JSONDecoder().raw_decode(text)`: one JSON value at the very start of text and the number of
/// bytes it spans; nullopt when Python would raise.
std::optional<std::pair<Json, size_t>> json_raw_decode(std::string_view text);

/// Python `ast.literal_eval(text)` for the literals that map onto JSON values (str, int, float, bool, None,
/// list, tuple and set as arrays, dict); nullopt when Python raises or the result has no JSON form.
std::optional<Json> literal_eval(std::string_view text);

}  // namespace dspy::json_repair
