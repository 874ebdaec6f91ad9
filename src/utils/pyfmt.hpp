#pragma once
// Python's and orjson's ways of writing values, which DSPy's prompts, cache keys and saved files depend on
// byte for byte. Private to the library (tests and the golden runner include it from src/).

#include <span>
#include <string>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy::pyfmt {

/// Python `repr(float)`: `3.0`, `0.1`, `1e+20`, `1e-05`, `-0.0`, `inf`, `nan`.
std::string float_repr(double v);
/// orjson / ryu: `1.0`, `0.1`, `1e20`, `1e-7`, `1e16`, `1000000000000000.0`.
std::string orjson_float(double v);

/// Appends `"s"` with json.dumps(ensure_ascii=False) escaping (also orjson's): short escapes for `"` `\\` \b \f
/// \n \r \t, `\u00xx` for other control characters, everything else raw.
void append_json_string(std::string& out, std::string_view s);
/// Appends the JSON escape of `c`, a quote, a backslash or a control character (short forms, else \u00xx).
void append_json_escape(std::string& out, unsigned char c);

/// `json.dumps(v, ensure_ascii=False)` (indent < 0: separators ", " and ": ") or with `indent=N`.
std::string json_dumps(const Json& v, int indent = -1);
/// orjson.dumps: compact (`,` `:`) or OPT_INDENT_2, optionally OPT_SORT_KEYS (recursive, by code point).
std::string orjson_dumps(const Json& v, bool indent2 = false, bool sort_keys = false);
/// orjson_dumps appending to `out` (no temporary string per value).
void append_orjson(std::string& out, const Json& v, bool indent2 = false, bool sort_keys = false);
/// Appends compact orjson.dumps(OPT_SORT_KEYS) of `object` without its top-level keys listed in `skip` (what DSPy
/// hashes for a cache key), without copying the object. `object` must be an object.
void append_orjson_sorted_without(std::string& out, const Json& object, std::span<const std::string> skip);
/// One member of an object for append_orjson_sorted: the value is `*value`, else what `write(out, ctx)` appends
/// (JSON text), else the string `text`. Lets a caller hash values it holds outside a Json without building one.
struct OrjsonMember {
    std::string_view key;
    const Json* value = nullptr;
    void (*write)(std::string& out, const void* ctx) = nullptr;
    const void* ctx = nullptr;
    std::string_view text{};
};
/// Appends compact orjson.dumps(OPT_SORT_KEYS) of the object made of `members` (which it reorders by key).
/// Nested Json values are written with sorted keys too.
void append_orjson_sorted(std::string& out, std::span<OrjsonMember> members);

/// Python `repr()` of the value as Python would hold it (dict, list, str, int, float, bool, None).
std::string repr(const Json& v);
/// Python `repr()` of a string: `'...'` or `"..."` as Python chooses.
std::string repr_str(std::string_view s);
/// Python `str()`: strings as they are, everything else as repr().
std::string str(const Json& v);

/// `inspect.cleandoc`: strip leading/trailing blank lines, lstrip the first line, dedent the rest.
std::string cleandoc(std::string_view doc);
/// `textwrap.dedent`.
std::string dedent(std::string_view text);
/// Python `str.splitlines()` (\n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, U+2028, U+2029).
std::vector<std::string_view> splitlines(std::string_view s);
/// Python `str.strip()` with no argument (Unicode whitespace).
std::string_view strip(std::string_view s);
std::string_view lstrip(std::string_view s);
std::string_view rstrip(std::string_view s);

/// Appends code point `cp` as UTF-8.
void append_utf8(std::string& out, char32_t cp);
/// Python truthiness of a JSON value (`None`, `False`, `0`, `0.0`, `""`, `[]`, `{}` are false).
bool truthy(const Json& v);

}  // namespace dspy::pyfmt
