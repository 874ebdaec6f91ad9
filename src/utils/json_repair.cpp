#include "utils/json_repair.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "dspy/utils/exceptions.hpp"

namespace dspy::json_repair {
namespace {

constexpr int kMaxDepth = 500;  // Python's recursion limit makes both json.loads and json_repair give up too

// ---------------------------------------------------------------------------------------------------------
// UTF-8 <-> code points. json_repair indexes Python str by code point; working on code points keeps its
// offsets, look-behinds and multi-byte delimiters (“ ”) exact. Invalid bytes round-trip as U+DC80+byte
// (Python's surrogateescape), so nothing is lost.

std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
        char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
        for (int k = 1; ok && k < len; ++k) {
            auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
            if ((b & 0xc0) != 0x80) ok = false;
            cp = (cp << 6) | (b & 0x3fu);
        }
        if (!ok) {
            out.push_back(0xdc00 + c);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<size_t>(len);
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp >= 0xdc80 && cp <= 0xdcff) {
        out.push_back(static_cast<char>(cp - 0xdc00));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

std::string encode_utf8(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

// Python str predicates, exact for ASCII and the common Unicode cases.
bool py_isspace(char32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}
bool py_isdigit(char32_t c) { return c >= '0' && c <= '9'; }
bool py_isalpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == 0xaa || c == 0xb5 || c == 0xba) return true;
    if (c >= 0xc0 && c <= 0x2af) return c != 0xd7 && c != 0xf7;
    if (c >= 0x370 && c <= 0x1fff) return true;  // Greek, Cyrillic, Hebrew, Arabic, Indic, ... (approximate)
    if (c >= 0x3040 && c <= 0x9fff) return c != 0x30fb;  // kana, CJK
    if (c >= 0xac00 && c <= 0xd7a3) return true;            // Hangul
    if (c >= 0xf900 && c <= 0xfaff) return true;
    return false;
}
bool py_isalnum(char32_t c) { return py_isalpha(c) || py_isdigit(c); }

// ---------------------------------------------------------------------------------------------------------
// Python's json module (strict JSON plus NaN/Infinity), on UTF-8 bytes.

struct StrictJson {
    std::string_view s;
    size_t i = 0;
    int depth = 0;

    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    }
    bool lit(std::string_view w) {
        if (s.substr(i, w.size()) != w) return false;
        i += w.size();
        return true;
    }
    static int hexval(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool hex4(unsigned& v) {
        if (i + 4 > s.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            int h = hexval(s[i + static_cast<size_t>(k)]);
            if (h < 0) return false;
            v = v * 16 + static_cast<unsigned>(h);
        }
        i += 4;
        return true;
    }
    bool string(std::string& out) {  // at the opening quote
        ++i;
        while (true) {
            size_t start = i;
            while (i < s.size() && s[i] != '"' && s[i] != '\\' && static_cast<unsigned char>(s[i]) >= 0x20) ++i;
            out.append(s.data() + start, i - start);
            if (i >= s.size() || static_cast<unsigned char>(s[i]) < 0x20) return false;
            if (s[i] == '"') {
                ++i;
                return true;
            }
            ++i;  // backslash
            if (i >= s.size()) return false;
            char e = s[i++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    unsigned v = 0;
                    if (!hex4(v)) return false;
                    if (v >= 0xd800 && v <= 0xdbff && s.substr(i, 2) == "\\u") {
                        size_t save = i;
                        i += 2;
                        unsigned lo = 0;
                        if (hex4(lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                            v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
                        } else {
                            i = save;
                        }
                    }
                    append_utf8(out, v);
                    break;
                }
                default: return false;
            }
        }
    }
    bool number(Json& out) {
        size_t start = i;
        if (i < s.size() && s[i] == '-') ++i;
        if (i >= s.size() || !(s[i] >= '0' && s[i] <= '9')) {
            i = start;
            return false;
        }
        if (s[i] == '0') {
            ++i;
        } else {
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
        bool is_float = false;
        if (i + 1 < s.size() && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
            is_float = true;
            i += 2;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
        if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
            if (j < s.size() && s[j] >= '0' && s[j] <= '9') {
                while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
                i = j;
                is_float = true;
            }
        }
        out = number_value(s.substr(start, i - start), is_float);
        return true;
    }
    static Json number_value(std::string_view t, bool is_float) {
        const char* b = t.data();
        const char* e = t.data() + t.size();
        if (!is_float) {
            std::int64_t v = 0;
            auto r = std::from_chars(b, e, v);
            if (r.ec == std::errc() && r.ptr == e) return Json(v);
            std::uint64_t u = 0;
            r = std::from_chars(b, e, u);
            if (r.ec == std::errc() && r.ptr == e) return Json(u);
        }
        std::string tmp(t);
        return Json(std::strtod(tmp.c_str(), nullptr));
    }
    bool value(Json& out) {
        if (i >= s.size()) return false;
        char c = s[i];
        if (c == '"') {
            std::string str;
            if (!string(str)) return false;
            out = std::move(str);
            return true;
        }
        if (c == '{' || c == '[') {
            if (++depth > kMaxDepth) return false;
            bool ok = c == '{' ? object(out) : array(out);
            --depth;
            return ok;
        }
        if (lit("null")) return out = nullptr, true;
        if (lit("true")) return out = true, true;
        if (lit("false")) return out = false, true;
        if (lit("NaN")) return out = std::nan(""), true;
        if (lit("Infinity")) return out = HUGE_VAL, true;
        if (lit("-Infinity")) return out = -HUGE_VAL, true;
        return number(out);
    }
    bool object(Json& out) {
        ++i;
        out = Json::object();
        ws();
        if (i < s.size() && s[i] == '}') {
            ++i;
            return true;
        }
        while (true) {
            if (i >= s.size() || s[i] != '"') return false;
            std::string key;
            if (!string(key)) return false;
            ws();
            if (i >= s.size() || s[i] != ':') return false;
            ++i;
            ws();
            Json v;
            if (!value(v)) return false;
            out[key] = std::move(v);  // a repeated key keeps its first position and takes the last value
            ws();
            if (i < s.size() && s[i] == ',') {
                ++i;
                ws();
                continue;
            }
            if (i < s.size() && s[i] == '}') {
                ++i;
                return true;
            }
            return false;
        }
    }
    bool array(Json& out) {
        ++i;
        out = Json::array();
        ws();
        if (i < s.size() && s[i] == ']') {
            ++i;
            return true;
        }
        while (true) {
            Json v;
            if (!value(v)) return false;
            out.push_back(std::move(v));
            ws();
            if (i < s.size() && s[i] == ',') {
                ++i;
                ws();
                continue;
            }
            if (i < s.size() && s[i] == ']') {
                ++i;
                return true;
            }
            return false;
        }
    }
};


// ---------------------------------------------------------------------------------------------------------
// ast.literal_eval for the literal forms an LM writes (Python reprs of values).

struct PyLiteral {
    std::string_view s;
    size_t i = 0;
    int depth = 0;  // bracket nesting: newlines are only insignificant inside brackets

    // Skips blanks and comments; inside brackets also newlines and backslash continuations.
    void ws() {
        while (i < s.size()) {
            char c = s[i];
            if (c == ' ' || c == '\t' || c == '\f') {
                ++i;
            } else if (c == '#') {
                while (i < s.size() && s[i] != '\n' && s[i] != '\r') ++i;
            } else if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
                i += 2;
                if (s[i - 1] == '\r' && i < s.size() && s[i] == '\n') ++i;
            } else if ((c == '\n' || c == '\r') && depth > 0) {
                ++i;
            } else {
                return;
            }
        }
    }
    bool eat(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
    static bool ident_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               static_cast<unsigned char>(c) >= 0x80;
    }

    // Top level: `testlist` (a bare tuple is allowed), then only blank lines and comments.
    bool top(Json& out) {
        if (!expr_list(out, '\0')) return false;
        while (true) {
            ws();
            if (i >= s.size()) return true;
            if (s[i] != '\n' && s[i] != '\r') return false;
            ++i;
        }
    }
    // expr (',' expr)* [','] -> a tuple when a comma appears.
    bool expr_list(Json& out, char closer) {
        Json first;
        if (!expr(first)) return false;
        ws();
        if (i >= s.size() || s[i] != ',') {
            out = std::move(first);
            return true;
        }
        out = Json::array();
        out.push_back(std::move(first));
        while (eat(',')) {
            ws();
            if (i >= s.size() || s[i] == closer || ((s[i] == '\n' || s[i] == '\r') && depth == 0)) break;
            Json v;
            if (!expr(v)) return false;
            out.push_back(std::move(v));
        }
        return true;
    }
    bool expr(Json& out) {
        ws();
        if (i >= s.size()) return false;
        char c = s[i];
        if (c == '+' || c == '-') {  // only a sign directly on a number literal
            ++i;
            ws();
            if (i >= s.size() || !(std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) return false;
            if (!number(out)) return false;
            if (c == '-') {
                if (out.is_number_float()) {
                    out = -out.get<double>();
                } else if (out.is_number_unsigned()) {
                    auto u = out.get<std::uint64_t>();
                    if (u == 9223372036854775808ull) {
                        out = std::numeric_limits<std::int64_t>::min();
                    } else {
                        out = -static_cast<double>(u);
                    }
                } else {
                    out = -out.get<std::int64_t>();
                }
            }
            return true;
        }
        if (c == '[' || c == '(' || c == '{') return container(out);
        if (c == '.' || std::isdigit(static_cast<unsigned char>(c))) return number(out);
        if (ident_char(c)) {
            size_t start = i;
            while (i < s.size() && ident_char(s[i])) ++i;
            std::string_view word = s.substr(start, i - start);
            ws();
            if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
                i = start;
                return strings(out);
            }
            if (word == "True") return out = true, true;
            if (word == "False") return out = false, true;
            if (word == "None") return out = nullptr, true;
            return false;
        }
        if (c == '\'' || c == '"') return strings(out);
        return false;
    }
    bool container(Json& out) {
        char open = s[i++];
        char close = open == '[' ? ']' : open == '(' ? ')' : '}';
        if (depth >= kMaxDepth) return false;
        ++depth;
        bool ok = container_body(out, open, close);
        --depth;
        return ok;
    }
    bool container_body(Json& out, char open, char close) {
        if (eat(close)) {
            out = open == '{' ? Json::object() : Json::array();
            return true;
        }
        if (open == '(') {
            Json v;
            if (!expr_list(v, ')')) return false;
            if (!eat(')')) return false;
            out = std::move(v);  // (x) is x; (x,) was already made a tuple
            return true;
        }
        if (open == '[') {
            out = Json::array();
            while (true) {
                Json v;
                if (!expr(v)) return false;
                out.push_back(std::move(v));
                if (eat(close)) return true;
                if (!eat(',')) return false;
                if (eat(close)) return true;
            }
        }
        // dict or set, decided by the first element
        Json first;
        if (!expr(first)) return false;
        if (eat(':')) {
            out = Json::object();
            while (true) {
                if (!first.is_string()) return false;  // only str keys have a JSON form
                Json v;
                if (!expr(v)) return false;
                out[first.get<std::string>()] = std::move(v);
                if (eat(close)) return true;
                if (!eat(',')) return false;
                if (eat(close)) return true;
                if (!expr(first) || !eat(':')) return false;
            }
        }
        out = Json::array();
        auto add = [&out](Json v) {
            for (const auto& e : out)
                if (e == v) return;  // a set keeps one of equal members
            out.push_back(std::move(v));
        };
        add(std::move(first));
        while (true) {
            if (eat(close)) return true;
            if (!eat(',')) return false;
            if (eat(close)) return true;
            Json v;
            if (!expr(v)) return false;
            add(std::move(v));
        }
    }
    bool number(Json& out) {
        size_t start = i;
        auto digits = [&](auto pred) {
            size_t n = 0;
            while (i < s.size() && (pred(s[i]) || (s[i] == '_' && n > 0 && i + 1 < s.size() && pred(s[i + 1])))) {
                ++i;
                ++n;
            }
            return n;
        };
        auto dec = [](char ch) { return ch >= '0' && ch <= '9'; };
        if (s[i] == '0' && i + 1 < s.size() && std::strchr("xXoObB", s[i + 1]) && s[i + 1] != '\0') {
            char kind = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])));
            i += 2;
            if (i < s.size() && s[i] == '_') ++i;
            int base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
            auto pred = [base](char ch) {
                int d = StrictJson::hexval(ch);
                return d >= 0 && d < base;
            };
            size_t begin = i;
            if (digits(pred) == 0) return false;
            std::string t;
            for (size_t k = begin; k < i; ++k)
                if (s[k] != '_') t.push_back(s[k]);
            std::uint64_t v = 0;
            auto r = std::from_chars(t.data(), t.data() + t.size(), v, base);
            if (r.ec != std::errc()) return false;
            if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                out = static_cast<std::int64_t>(v);
            } else {
                out = v;
            }
            return !(i < s.size() && ident_char(s[i]));
        }
        size_t int_digits = digits(dec);
        bool is_float = false;
        if (i < s.size() && s[i] == '.') {
            ++i;
            is_float = true;
            if (i < s.size() && dec(s[i])) digits(dec);
            else if (int_digits == 0) return false;
        }
        if (int_digits == 0 && !is_float) return false;
        if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
            size_t save = i++;
            if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
            if (digits(dec) == 0) {
                i = save;
                return false;
            }
            is_float = true;
        }
        if (i < s.size() && (s[i] == 'j' || s[i] == 'J')) return false;  // complex: no JSON form
        if (i < s.size() && ident_char(s[i])) return false;
        std::string t;
        for (size_t k = start; k < i; ++k)
            if (s[k] != '_') t.push_back(s[k]);
        if (!is_float && t.size() > 1 && t[0] == '0' && t.find_first_not_of('0') != std::string::npos)
            return false;  // 007 is a SyntaxError in Python 3
        out = StrictJson::number_value(t, is_float);
        return true;
    }
    // One or more adjacent string literals, concatenated.
    bool strings(Json& out) {
        std::string acc;
        bool any = false;
        while (true) {
            ws();
            size_t save = i;
            bool raw = false, bytes = false, fstr = false;
            while (i < s.size() && std::strchr("rRbBuUfF", s[i]) && s[i] != '\0' && i - save < 2) {
                char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
                raw = raw || p == 'r';
                bytes = bytes || p == 'b';
                fstr = fstr || p == 'f';
                ++i;
            }
            if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) {
                i = save;
                break;
            }
            if (bytes || fstr) return false;
            if (!one_string(acc, raw)) return false;
            any = true;
        }
        if (!any) return false;
        out = std::move(acc);
        return true;
    }
    bool one_string(std::string& acc, bool raw) {
        char q = s[i];
        bool triple = s.substr(i, 3) == std::string(3, q);
        i += triple ? 3 : 1;
        while (true) {
            if (i >= s.size()) return false;
            char c = s[i];
            if (c == q && (!triple || s.substr(i, 3) == std::string(3, q))) {
                i += triple ? 3 : 1;
                return true;
            }
            if ((c == '\n' || c == '\r') && !triple) return false;
            if (c != '\\') {
                acc.push_back(c);
                ++i;
                continue;
            }
            if (i + 1 >= s.size()) return false;
            char e = s[i + 1];
            if (raw) {
                acc.push_back('\\');
                acc.push_back(e);
                i += 2;
                continue;
            }
            i += 2;
            switch (e) {
                case '\n': break;
                case '\\': acc.push_back('\\'); break;
                case '\'': acc.push_back('\''); break;
                case '"': acc.push_back('"'); break;
                case 'a': acc.push_back('\a'); break;
                case 'b': acc.push_back('\b'); break;
                case 'f': acc.push_back('\f'); break;
                case 'n': acc.push_back('\n'); break;
                case 'r': acc.push_back('\r'); break;
                case 't': acc.push_back('\t'); break;
                case 'v': acc.push_back('\v'); break;
                case 'x':
                case 'u':
                case 'U': {
                    size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + n > s.size()) return false;
                    char32_t v = 0;
                    for (size_t k = 0; k < n; ++k) {
                        int d = StrictJson::hexval(s[i + k]);
                        if (d < 0) return false;
                        v = v * 16 + static_cast<char32_t>(d);
                    }
                    if (v > 0x10ffff) return false;
                    i += n;
                    append_utf8(acc, v);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        char32_t v = static_cast<char32_t>(e - '0');
                        for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k)
                            v = v * 8 + static_cast<char32_t>(s[i++] - '0');
                        append_utf8(acc, v);
                    } else if (e == 'N') {
                        return false;  // \N{NAME}: no name table here
                    } else {
                        acc.push_back('\\');  // unknown escapes stay as written
                        acc.push_back(e);
                    }
            }
        }
    }
};

// ---------------------------------------------------------------------------------------------------------
// The json_repair parser (JSONParser in json_parser.py and its parse_* modules), on code points.

constexpr char32_t NONE = 0xffffffff;  // Python's None from get_char_at past the end

bool is_delim(char32_t c) { return c == '"' || c == '\'' || c == U'\u201c' || c == U'\u201d'; }

bool truthy(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return false;
        case Json::value_t::boolean: return v.get<bool>();
        case Json::value_t::number_integer: return v.get<std::int64_t>() != 0;
        case Json::value_t::number_unsigned: return v.get<std::uint64_t>() != 0;
        case Json::value_t::number_float: return v.get<double>() != 0.0;
        case Json::value_t::string: return !v.get_ref<const std::string&>().empty();
        case Json::value_t::array:
        case Json::value_t::object: return !v.empty();
        default: return false;
    }
}
bool is_empty_string(const Json& v) { return v.is_string() && v.get_ref<const std::string&>().empty(); }
int py_type(const Json& v) {
    if (v.is_number_integer()) return 1;
    if (v.is_number_float()) return 2;
    if (v.is_boolean()) return 3;
    if (v.is_string()) return 4;
    if (v.is_array()) return 5;
    if (v.is_object()) return 6;
    return 0;
}
bool same_object(const Json& a, const Json& b) {
    if (py_type(a) != py_type(b)) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto it = a.begin(); it != a.end(); ++it) {
            auto f = b.find(it.key());
            if (f == b.end() || !same_object(it.value(), *f)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (size_t k = 0; k < a.size(); ++k)
            if (!same_object(a[k], b[k])) return false;
        return true;
    }
    return true;
}

enum class Ctx { Key, Value, Array };

struct StringState {
    bool missing_quotes = false;
    bool doubled_quotes = false;
    char32_t lstring_delimiter = '"';
    char32_t rstring_delimiter = '"';
    std::u32string acc;
    bool unmatched_delimiter = false;
    bool pending_inline_container = false;
    std::vector<char32_t> inline_container_stack;
    bool object_value_has_no_future_delimiter = false;
    int unmatched_opening_braces = 0;
    long long regex_class_start = -1;  // where a `[...]` character class began in acc, -1 when none is open
};

class Parser {
public:
    explicit Parser(std::u32string s) : s_(std::move(s)) {}

    Json parse() {
        Json json = parse_json();
        if (i_ < n()) {
            Json arr = Json::array();
            arr.push_back(std::move(json));
            while (i_ < n()) {
                ctx_.clear();
                deferred_.clear();
                bool comma_separated = next_top_level_value_is_comma_separated();
                Json j = parse_json();
                if (truthy(j)) {
                    if (!comma_separated && same_object(arr.back(), j)) {
                        arr.erase(arr.size() - 1);
                    } else if (!truthy(arr.back())) {
                        arr.erase(arr.size() - 1);
                    }
                    arr.push_back(std::move(j));
                } else {
                    ++i_;
                }
            }
            json = arr.size() == 1 ? std::move(arr[0]) : std::move(arr);
        }
        return json;
    }

private:
    std::u32string s_;
    long long i_ = 0;
    std::vector<Ctx> ctx_;
    std::vector<Ctx> deferred_;
    bool tried_suffix_ = false;
    int depth_ = 0;

    [[nodiscard]] long long n() const { return static_cast<long long>(s_.size()); }
    [[nodiscard]] char32_t at(long long off = 0) const {
        long long p = i_ + off;
        if (p < 0) p += n();  // Python negative indexing wraps around
        if (p < 0 || p >= n()) return NONE;
        return s_[static_cast<size_t>(p)];
    }
    [[nodiscard]] char32_t raw(long long p) const {
        return p >= 0 && p < n() ? s_[static_cast<size_t>(p)] : NONE;
    }
    static bool isspace_(char32_t c) { return c != NONE && py_isspace(c); }
    static bool isalpha_(char32_t c) { return c != NONE && py_isalpha(c); }
    static bool isalnum_(char32_t c) { return c != NONE && py_isalnum(c); }
    static bool isdigit_(char32_t c) { return c != NONE && py_isdigit(c); }

    // --- context
    void cset(Ctx c) { ctx_.push_back(c); }
    void creset() {
        if (!ctx_.empty()) ctx_.pop_back();
    }
    [[nodiscard]] bool cempty() const { return ctx_.empty(); }
    [[nodiscard]] bool ccur(Ctx c) const { return !ctx_.empty() && ctx_.back() == c; }
    [[nodiscard]] bool cin(Ctx c) const {
        for (Ctx x : ctx_)
            if (x == c) return true;
        return false;
    }
    struct CtxGuard {
        Parser& p;
        CtxGuard(Parser& parser, Ctx c) : p(parser) { p.cset(c); }
        ~CtxGuard() { p.creset(); }
        CtxGuard(const CtxGuard&) = delete;
        CtxGuard& operator=(const CtxGuard&) = delete;
    };
    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxDepth) {
                --p.depth_;
                throw ValueError("Input nesting exceeds the supported parser recursion depth.");
            }
        }
        ~DepthGuard() { --p.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
    };

    // --- scanning helpers
    void skip_whitespaces() {
        while (isspace_(at())) ++i_;
    }
    [[nodiscard]] long long scroll_whitespaces(long long idx = 0) const {
        while (isspace_(at(idx))) ++idx;
        return idx;
    }
    template <class Pred>
    [[nodiscard]] long long skip_to(Pred is_target, long long idx = 0) const {
        long long i = i_ + idx;
        int backslashes = 0;
        while (i < n()) {
            char32_t ch = s_[static_cast<size_t>(i)];
            if (ch == '\\') {
                ++backslashes;
                ++i;
                continue;
            }
            if (is_target(ch) && backslashes % 2 == 0) return i - i_;
            backslashes = 0;
            ++i;
        }
        return n() - i_;
    }
    [[nodiscard]] long long skip_to_character(char32_t c, long long idx = 0) const {
        return skip_to([c](char32_t ch) { return ch == c; }, idx);
    }
    bool substr_eq(long long pos, std::u32string_view w) const {
        if (pos < 0 || pos + static_cast<long long>(w.size()) > n()) return false;
        return std::u32string_view(s_).substr(static_cast<size_t>(pos), w.size()) == w;
    }

    bool next_top_level_value_is_comma_separated() {
        long long idx = scroll_whitespaces();
        if (at(idx) == ',') return true;
        long long k = i_ - 1;
        while (k >= 0 && py_isspace(s_[static_cast<size_t>(k)])) --k;
        return k >= 0 && s_[static_cast<size_t>(k)] == ',';
    }

    bool try_parse_valid_json_value(Json& out) {
        if (tried_suffix_ || !cempty() || i_ == 0) return false;
        tried_suffix_ = true;
        std::string rest = encode_utf8(std::u32string_view(s_).substr(static_cast<size_t>(i_)));
        auto r = json_raw_decode(rest);
        if (!r) return false;
        i_ += static_cast<long long>(decode_utf8(std::string_view(rest).substr(0, r->second)).size());
        out = std::move(r->first);
        return true;
    }

    // --- parse_json
    Json parse_json() {
        DepthGuard dg(*this);
        if (!deferred_.empty()) {
            auto deferred = std::move(deferred_);
            deferred_.clear();
            for (Ctx c : deferred) cset(c);
            Json v;
            try {
                v = parse_json();
            } catch (...) {
                for (size_t k = 0; k < deferred.size(); ++k) creset();
                throw;
            }
            for (size_t k = 0; k < deferred.size(); ++k) creset();
            return v;
        }
        while (true) {
            char32_t c = at();
            if (c == NONE) return "";
            if (c == '{' || c == '[') {
                Json v;
                if (try_parse_valid_json_value(v)) return v;
            }
            if (c == '{') {
                ++i_;
                return parse_object();
            }
            if (c == '[') {
                ++i_;
                return parse_array(']');
            }
            if (c == '(') {
                if (!cempty() || top_level_parenthesized_can_start_value()) return parse_parenthesized();
                ++i_;
                continue;
            }
            if (!cempty() && (is_delim(c) || isalpha_(c))) return parse_string();
            if (!cempty() && (isdigit_(c) || c == '-' || c == '.')) return parse_number();
            if (c == '#' || c == '/') return parse_comment();
            ++i_;
        }
    }

    // --- parse_array
    Json parse_array(char32_t closing) {
        Json arr = Json::array();
        CtxGuard g(*this, Ctx::Array);
        skip_whitespaces();
        char32_t c = at();
        while (c != NONE && c != closing && c != '}') {
            Json value;
            if (is_delim(c)) {
                long long k = skip_to_character(c, 1);
                k = scroll_whitespaces(k + 1);
                value = at(k) == ':' ? parse_object() : parse_string();
            } else {
                value = parse_json();
            }
            bool strictly_empty = (value.is_string() || value.is_array() || value.is_object()) && value.empty();
            if (value.is_string()) strictly_empty = value.get_ref<const std::string&>().empty();
            if (strictly_empty && at() != closing && at() != ',') {
                ++i_;
            } else if (value.is_string() && value.get_ref<const std::string&>() == "..." && at(-1) == '.') {
                // a stray "..." placeholder
            } else {
                arr.push_back(std::move(value));
            }
            c = at();
            while (c != NONE && c != closing && (isspace_(c) || c == ',')) {
                ++i_;
                c = at();
            }
        }
        ++i_;
        return arr;
    }

    // --- parenthesized tuples
    bool parenthesized_is_explicit_tuple() const {
        long long i = i_ + 1;
        int nested = 0, square = 0, braces = 0, backslashes = 0;
        char32_t in_quote = NONE;
        bool saw = false;
        while (i < n()) {
            char32_t ch = s_[static_cast<size_t>(i)];
            if (ch == '\\') {
                ++backslashes;
                ++i;
                continue;
            }
            if (in_quote != NONE) {
                if (ch == in_quote && backslashes % 2 == 0) in_quote = NONE;
                backslashes = 0;
                ++i;
                continue;
            }
            if (is_delim(ch) && backslashes % 2 == 0) {
                in_quote = ch;
                saw = saw || (nested == 0 && square == 0 && braces == 0);
                backslashes = 0;
                ++i;
                continue;
            }
            backslashes = 0;
            if (!py_isspace(ch) && ch != ',' && ch != ')' && nested == 0 && square == 0 && braces == 0) saw = true;
            if (ch == '(') {
                ++nested;
            } else if (ch == ')') {
                if (nested == 0 && square == 0 && braces == 0) return !saw;
                if (nested > 0) --nested;
            } else if (ch == '[') {
                ++square;
            } else if (ch == ']' && square > 0) {
                --square;
            } else if (ch == '{') {
                ++braces;
            } else if (ch == '}' && braces > 0) {
                --braces;
            } else if (ch == ',' && nested == 0 && square == 0 && braces == 0) {
                return true;
            }
            ++i;
        }
        return !saw;
    }
    bool top_level_parenthesized_can_start_value() const {
        for (long long i = i_ - 1; i >= 0; --i) {
            char32_t ch = s_[static_cast<size_t>(i)];
            if (ch == '\n' || ch == '\r') break;
            if (!py_isspace(ch)) return false;
        }
        long long idx = scroll_whitespaces(1);
        char32_t first = at(idx);
        if (first == NONE) return false;
        if (first != ')' && first != '{' && first != '[' && first != '(' && !is_delim(first) && !isdigit_(first) &&
            first != '-' && first != '.' && !substr_eq(i_ + idx, U"true") && !substr_eq(i_ + idx, U"null") &&
            !substr_eq(i_ + idx, U"false"))
            return false;
        long long i = i_ + 1;
        int nested = 0, square = 0, braces = 0, backslashes = 0;
        char32_t in_quote = NONE;
        while (i < n()) {
            char32_t ch = s_[static_cast<size_t>(i)];
            if (ch == '\\') {
                ++backslashes;
                ++i;
                continue;
            }
            if (in_quote != NONE) {
                if (ch == in_quote && backslashes % 2 == 0) in_quote = NONE;
                backslashes = 0;
                ++i;
                continue;
            }
            if (is_delim(ch) && backslashes % 2 == 0) {
                in_quote = ch;
                backslashes = 0;
                ++i;
                continue;
            }
            backslashes = 0;
            if (ch == '(') {
                ++nested;
            } else if (ch == ')') {
                if (nested == 0 && square == 0 && braces == 0) {
                    ++i;
                    while (i < n()) {
                        char32_t t = s_[static_cast<size_t>(i)];
                        if (t == '\n' || t == '\r') return true;
                        if (!py_isspace(t)) return false;
                        ++i;
                    }
                    return true;
                }
                --nested;
            } else if (ch == '[') {
                ++square;
            } else if (ch == ']' && square > 0) {
                --square;
            } else if (ch == '{') {
                ++braces;
            } else if (ch == '}' && braces > 0) {
                --braces;
            }
            ++i;
        }
        return true;
    }
    Json parse_parenthesized() {
        bool explicit_tuple = parenthesized_is_explicit_tuple();
        ++i_;
        Json values = parse_array(')');
        if (explicit_tuple || values.size() != 1) return values;
        return std::move(values[0]);
    }

    // --- parse_number
    static bool py_int(std::u32string_view t, Json& out) {
        size_t k = 0;
        if (k < t.size() && (t[k] == '-' || t[k] == '+')) ++k;
        if (k == t.size()) return false;
        for (size_t j = k; j < t.size(); ++j)
            if (!py_isdigit(t[j])) return false;
        std::string a = encode_utf8(t);
        if (a[0] == '+') a.erase(0, 1);
        out = StrictJson::number_value(a, false);
        return true;
    }
    static bool py_float(std::u32string_view t, Json& out) {
        size_t k = 0;
        if (k < t.size() && (t[k] == '-' || t[k] == '+')) ++k;
        size_t int_digits = 0, frac_digits = 0;
        while (k < t.size() && py_isdigit(t[k])) ++k, ++int_digits;
        if (k < t.size() && t[k] == '.') {
            ++k;
            while (k < t.size() && py_isdigit(t[k])) ++k, ++frac_digits;
        }
        if (int_digits + frac_digits == 0) return false;
        if (k < t.size() && (t[k] == 'e' || t[k] == 'E')) {
            ++k;
            if (k < t.size() && (t[k] == '-' || t[k] == '+')) ++k;
            size_t e = 0;
            while (k < t.size() && py_isdigit(t[k])) ++k, ++e;
            if (e == 0) return false;
        }
        if (k != t.size()) return false;
        std::string a = encode_utf8(t);
        out = std::strtod(a.c_str(), nullptr);
        return true;
    }
    Json parse_number() {
        std::u32string number;
        char32_t c = at();
        bool is_array = ccur(Ctx::Array);
        auto number_char = [](char32_t ch) {
            return (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == 'e' || ch == 'E' || ch == '/' ||
                   ch == ',' || ch == '_';
        };
        while (c != NONE && number_char(c) && (!is_array || c != ',')) {
            if (c != '_') number.push_back(c);
            ++i_;
            c = at();
        }
        if (isalpha_(at())) {
            i_ -= static_cast<long long>(number.size());
            return parse_string();
        }
        if (!number.empty()) {
            char32_t last = number.back();
            if (last == '-' || last == 'e' || last == 'E' || last == '/' || last == ',') {
                number.pop_back();
                --i_;
            }
        }
        if (number.find(',') != std::u32string::npos) return encode_utf8(number);
        Json out;
        bool has_float_mark = number.find_first_of(U".eE") != std::u32string::npos;
        if (has_float_mark ? py_float(number, out) : py_int(number, out)) return out;
        return encode_utf8(number);
    }

    // --- parse_comment
    Json parse_comment() {
        while (true) {
            char32_t c = at();
            if (c == '#') {
                while (c != NONE && c != '\n' && c != '\r' && !(cin(Ctx::Array) && c == ']') &&
                       !(cin(Ctx::Value) && c == '}') && !(cin(Ctx::Key) && c == ':')) {
                    ++i_;
                    c = at();
                }
            } else if (c == '/') {
                char32_t next = at(1);
                if (next == '/') {
                    i_ += 2;
                    c = at();
                    while (c != NONE && c != '\n' && c != '\r') {
                        ++i_;
                        c = at();
                    }
                } else if (next == '*') {
                    i_ += 2;
                    while (true) {
                        c = at();
                        if (c == NONE) break;
                        ++i_;
                        if (c == '/' && at(-2) == '*' && i_ >= 2) break;
                    }
                } else {
                    ++i_;
                }
            }
            if (cempty()) {
                skip_whitespaces();
                if (at() == '#' || at() == '/') continue;
                return parse_json();
            }
            break;
        }
        return "";
    }

    // --- parse_object
    bool merge_object_array_continuation(Json& obj) {
        if (obj.empty()) return false;
        auto last = std::prev(obj.end());
        if (!last.value().is_array()) return false;
        ++i_;
        Json new_array = parse_array(']');
        Json& prev = last.value();
        std::vector<size_t> lens;
        for (auto& item : prev)
            if (item.is_array()) lens.push_back(item.size());
        bool uniform = !lens.empty();
        for (size_t l : lens) uniform = uniform && l == lens[0];
        size_t expected = uniform ? lens[0] : 0;
        if (expected) {
            std::vector<Json> tail;
            while (!prev.empty() && !prev.back().is_array()) {
                tail.push_back(prev.back());
                prev.erase(prev.size() - 1);
            }
            if (!tail.empty()) {
                std::reverse(tail.begin(), tail.end());
                if (tail.size() % expected == 0) {
                    for (size_t k = 0; k < tail.size(); k += expected) {
                        Json row = Json::array();
                        for (size_t j = k; j < k + expected; ++j) row.push_back(tail[j]);
                        prev.push_back(std::move(row));
                    }
                } else {
                    for (auto& t : tail) prev.push_back(t);
                }
            }
            if (!new_array.empty()) {
                bool all_lists = true;
                for (auto& item : new_array) all_lists = all_lists && item.is_array();
                if (all_lists) {
                    for (auto& item : new_array) prev.push_back(item);
                } else {
                    prev.push_back(new_array);
                }
            }
        } else {
            const Json& src = new_array.size() == 1 && new_array[0].is_array() ? new_array[0] : new_array;
            Json copy = src;
            for (auto& item : copy) prev.push_back(item);
        }
        skip_whitespaces();
        if (at() == ',') ++i_;
        skip_whitespaces();
        return true;
    }

    std::pair<std::string, long long> parse_object_key(Json& obj) {
        std::string key;
        long long rollback = i_;
        CtxGuard g(*this, Ctx::Key);
        while (at() != NONE) {
            rollback = i_;
            long long before = i_;
            if (at() == '[' && key.empty() && merge_object_array_continuation(obj)) continue;
            Json raw = parse_string();
            key = raw.is_string() ? raw.get<std::string>() : std::string();
            if (key.empty()) skip_whitespaces();
            if (!key.empty() || at() == ':' || at() == '}') break;
            if (i_ == before) ++i_;  // never spin on input json_repair would also move past
        }
        return {key, rollback};
    }

    bool should_split_duplicate_object(long long rollback) const {
        long long lookback = rollback - i_ - 1;
        char32_t prev = at(lookback);
        while (isspace_(prev)) {
            --lookback;
            prev = at(lookback);
        }
        char32_t key_start = at(rollback - i_);
        char32_t next = at(scroll_whitespaces());
        return !(is_delim(key_start) && prev == ',' && next == ':');
    }

    Json parse_object_value() {
        CtxGuard g(*this, Ctx::Value);
        skip_whitespaces();
        char32_t c = at();
        if (c == ',' || c == '}') return "";
        return parse_json();
    }

    static std::u32string strip_comments_for_classification(std::u32string_view body) {
        std::u32string out;
        char32_t in_quote = NONE;
        int backslashes = 0;
        size_t k = 0;
        while (k < body.size()) {
            char32_t c = body[k];
            char32_t next = k + 1 < body.size() ? body[k + 1] : NONE;
            if (c == '\\') {
                ++backslashes;
                out.push_back(c);
                ++k;
                continue;
            }
            if (in_quote != NONE) {
                out.push_back(c);
                if (c == in_quote && backslashes % 2 == 0) in_quote = NONE;
                backslashes = 0;
                ++k;
                continue;
            }
            if (is_delim(c) && backslashes % 2 == 0) {
                in_quote = c;
                out.push_back(c);
                backslashes = 0;
                ++k;
                continue;
            }
            backslashes = 0;
            if (c == '#' || (c == '/' && next == '/')) {
                k += c == '/' ? 2 : 1;
                while (k < body.size() && body[k] != '\n' && body[k] != '\r') ++k;
                continue;
            }
            if (c == '/' && next == '*') {
                k += 2;
                while (k + 1 < body.size() && !(body[k] == '*' && body[k + 1] == '/')) ++k;
                k = std::min(k + 2, body.size());
                continue;
            }
            out.push_back(c);
            ++k;
        }
        return out;
    }
    static std::u32string_view lstrip32(std::u32string_view v) {
        size_t k = 0;
        while (k < v.size() && py_isspace(v[k])) ++k;
        return v.substr(k);
    }
    static void replace_all(std::u32string& s, std::u32string_view from, std::u32string_view to) {
        size_t pos = 0;
        while ((pos = s.find(from, pos)) != std::u32string::npos) {
            s.replace(pos, from.size(), to);
            pos += to.size();
        }
    }

    // Returns true and sets `out` when an empty object turned out to be something else.
    bool repair_empty_object(const Json& obj, long long start, Json& out) {
        if (!obj.empty() || i_ - start <= 2) return false;
        long long a = start - 1;
        long long b = std::min(i_ + 1, n());
        std::u32string attempted = s_.substr(static_cast<size_t>(a), static_cast<size_t>(b - a));
        std::u32string_view body = std::u32string_view(attempted).substr(1);
        if (!body.empty() && body.back() == '}') body.remove_suffix(1);
        body = lstrip32(body);
        if (body.empty()) return false;
        auto starts = [&](std::u32string_view p) { return body.substr(0, p.size()) == p; };
        if ((starts(U"\\\"") && body.find(U"\\\":") != std::u32string_view::npos) ||
            (starts(U"\\'") && body.find(U"\\':") != std::u32string_view::npos)) {
            std::u32string normalized = attempted;
            replace_all(normalized, U"\\\"", U"\"");
            replace_all(normalized, U"\\'", U"'");
            s_ = s_.substr(0, static_cast<size_t>(start - 1)) + normalized +
                 (b < n() ? s_.substr(static_cast<size_t>(b)) : std::u32string());
            i_ = start;
            {
                CtxGuard g(*this, Ctx::Key);
                out = parse_object();
            }
            deferred_.push_back(Ctx::Key);
            return true;
        }
        std::u32string stripped = strip_comments_for_classification(body);
        std::u32string_view sb = lstrip32(stripped);
        if (sb.empty()) return false;
        char32_t in_quote = NONE;
        int backslashes = 0;
        for (char32_t c : sb) {
            if (c == '\\') {
                ++backslashes;
                continue;
            }
            if (in_quote != NONE) {
                if (c == in_quote && backslashes % 2 == 0) in_quote = NONE;
            } else if (is_delim(c) && backslashes % 2 == 0) {
                in_quote = c;
            } else if (c == ':' && backslashes % 2 == 0) {
                return false;
            }
            backslashes = 0;
        }
        i_ = start;
        {
            CtxGuard g(*this, Ctx::Key);
            out = parse_array(']');
        }
        deferred_.push_back(Ctx::Key);
        return true;
    }

    Json parse_object() {
        Json obj = Json::object();
        long long start = i_;
        bool parsing_object_value = ccur(Ctx::Value);
        auto at_or_close = [this] {
            char32_t c = at();
            return c == NONE ? char32_t('}') : c;
        };
        while (at_or_close() != '}') {
            long long loop_start = i_;
            skip_whitespaces();
            if (at() == ':') ++i_;
            auto [key, rollback] = parse_object_key(obj);
            if (cin(Ctx::Array) && obj.contains(key) && !parsing_object_value) {
                if (should_split_duplicate_object(rollback)) {
                    i_ = rollback - 1;
                    s_.insert(static_cast<size_t>(i_ + 1), 1, U'{');
                    break;
                }
            }
            skip_whitespaces();
            if (at_or_close() == '}') continue;
            skip_whitespaces();
            ++i_;  // the ':' (or whatever stands in for it)
            Json value = parse_object_value();
            obj[key] = std::move(value);
            char32_t c = at();
            if (c == ',' || c == '\'' || c == '"') ++i_;
            if (at() == ']' && cin(Ctx::Array)) {
                --i_;
                break;
            }
            skip_whitespaces();
            if (i_ == loop_start) ++i_;
        }
        ++i_;
        Json repaired;
        if (repair_empty_object(obj, start, repaired)) return repaired;
        if (!cempty()) {
            if (at() == '}' && !ccur(Ctx::Key) && !ccur(Ctx::Value)) ++i_;
            return obj;
        }
        skip_whitespaces();
        if (at() == ',') {
            ++i_;
            skip_whitespaces();
            if (is_delim(at())) {
                Json more = parse_object();
                if (more.is_object())
                    for (auto it = more.begin(); it != more.end(); ++it) obj[it.key()] = it.value();
            }
        }
        return obj;
    }

    // --- parse_string and its helpers
    Json parse_boolean_or_null() {
        auto lower = [](char32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
        char32_t c = lower(at());
        std::u32string_view word = c == 't' ? U"true" : c == 'f' ? U"false" : U"null";
        size_t k = 0;
        long long start = i_;
        while (c != NONE && k < word.size() && c == word[k]) {
            ++k;
            ++i_;
            c = lower(at());
        }
        if (k == word.size()) {
            if (word[0] == 't') return true;
            if (word[0] == 'f') return false;
            return nullptr;
        }
        i_ = start;
        return "";
    }

    std::optional<Json> parse_json_llm_block() {
        if (substr_eq(i_, U"```json")) {
            long long k = skip_to_character('`', 7);
            if (substr_eq(i_ + k, U"```")) {
                i_ += 7;
                return parse_json();
            }
        }
        return std::nullopt;
    }

    std::optional<std::u32string> try_parse_simple_quoted_string() {
        if (at() != '"') return std::nullopt;
        size_t start = static_cast<size_t>(i_ + 1);
        size_t end = s_.find(U'"', start);
        if (end == std::u32string::npos) return std::nullopt;
        std::u32string_view value = std::u32string_view(s_).substr(start, end - start);
        if (value.find_first_of(U"\\\n\r") != std::u32string_view::npos) return std::nullopt;
        long long next = static_cast<long long>(end) + 1;
        while (next < n() && py_isspace(s_[static_cast<size_t>(next)])) ++next;
        char32_t nc = raw(next);
        if (ccur(Ctx::Key)) {
            if (nc != ':') return std::nullopt;
        } else if (ccur(Ctx::Value)) {
            if (nc != ',' && nc != '}' && nc != NONE) return std::nullopt;
        } else if (ccur(Ctx::Array)) {
            if (nc != ',' && nc != ']' && nc != NONE) return std::nullopt;
        } else if (nc != NONE) {
            return std::nullopt;
        }
        i_ = static_cast<long long>(end) + 1;
        return std::u32string(value);
    }

    static void track(StringState& st, char32_t c, size_t pos) {
        if (c == '{') {
            ++st.unmatched_opening_braces;
        } else if (c == '}' && st.unmatched_opening_braces) {
            --st.unmatched_opening_braces;
        } else if (c == '[') {
            st.regex_class_start = static_cast<long long>(pos) + 1;
        } else if (c == ']') {
            st.regex_class_start = -1;
        }
    }
    static void append_content(StringState& st, char32_t c) {
        st.acc.push_back(c);
        track(st, c, st.acc.size() - 1);
    }
    static void rebuild_braces(StringState& st) {
        st.unmatched_opening_braces = 0;
        st.regex_class_start = -1;
        for (size_t k = 0; k < st.acc.size(); ++k) track(st, st.acc[k], k);
    }
    // A bare quote inside a compact `[...]` (a regex character class) belongs to the string.
    bool quote_belongs_to_regex_class(const StringState& st) const {
        if (st.regex_class_start < 0) return false;
        for (size_t k = static_cast<size_t>(st.regex_class_start); k < st.acc.size(); ++k)
            if (py_isspace(st.acc[k])) return false;
        return at(skip_to_character(']', 1)) == ']';
    }
    char32_t append_literal(StringState& st, char32_t c) {
        append_content(st, c);
        ++i_;
        return at();
    }

    bool bare_key_is_followed_by_colon(long long k) const {
        char32_t c = at(k);
        if (!(isalnum_(c) || c == '_')) return false;
        while (true) {
            c = at(k);
            if (!(isalnum_(c) || c == '_' || c == '-')) break;
            ++k;
        }
        k = scroll_whitespaces(k);
        return at(k) == ':';
    }
    static char32_t closing_of(char32_t c) { return c == '[' ? ']' : c == '{' ? '}' : c == '(' ? ')' : NONE; }
    bool starts_nested_inline_container(long long idx) const {
        char32_t opening = at(idx);
        for (long long p = idx - 1; p >= 0; --p) {
            char32_t prev = at(p);
            if (prev == NONE) return true;
            if (!py_isspace(prev)) {
                if (closing_of(prev) != NONE) return true;
                if (prev != ',' && prev != ':') return false;
                long long ni = scroll_whitespaces(idx + 1);
                char32_t nc = at(ni);
                if (opening == '[' || opening == '(') {
                    return nc == ']' || nc == ')' || is_delim(nc) || nc == '-' || closing_of(nc) != NONE ||
                           nc == 't' || nc == 'f' || nc == 'n' || isdigit_(nc);
                }
                if (opening != '{') return false;
                if (nc == '}' || is_delim(nc)) return true;
                return prev == ':' && bare_key_is_followed_by_colon(ni);
            }
        }
        return true;
    }
    // Offset just past the balanced container starting at idx, or -1.
    long long skip_inline_container(long long idx) const {
        char32_t opening = at(idx);
        if (closing_of(opening) == NONE) return idx;
        std::vector<char32_t> stack{closing_of(opening)};
        long long k = idx + 1;
        while (!stack.empty()) {
            char32_t c = at(k);
            if (c == NONE) return -1;
            if (is_delim(c)) {
                char32_t end = c == U'\u201c' ? U'\u201d' : c;
                k = skip_to_character(end, k + 1);
                if (at(k) != end) return -1;
            } else if (closing_of(c) != NONE && starts_nested_inline_container(k)) {
                stack.push_back(closing_of(c));
            } else if (c == stack.back()) {
                stack.pop_back();
                if (stack.empty()) return k + 1;
            }
            ++k;
        }
        return -1;
    }
    long long scroll_comment_prefixed_member_start(long long idx) const {
        idx = scroll_whitespaces(idx);
        while (true) {
            char32_t c = at(idx);
            if (c == '#') {
                while (c != NONE && c != '\n' && c != '\r') c = at(++idx);
                idx = scroll_whitespaces(idx);
                continue;
            }
            if (c == '/') {
                char32_t nc = at(idx + 1);
                if (nc == '/') {
                    idx += 2;
                    c = at(idx);
                    while (c != NONE && c != '\n' && c != '\r') c = at(++idx);
                    idx = scroll_whitespaces(idx);
                    continue;
                }
                if (nc == '*') {
                    idx += 2;
                    while (true) {
                        c = at(idx);
                        if (c == NONE) return idx;
                        if (c == '*' && at(idx + 1) == '/') {
                            idx += 2;
                            break;
                        }
                        ++idx;
                    }
                    idx = scroll_whitespaces(idx);
                    continue;
                }
            }
            return idx;
        }
    }
    bool object_member_starts_at(long long idx) const {
        char32_t c = at(idx);
        if (c == '}' || c == NONE) return false;
        if (is_delim(c)) {
            char32_t end = c == U'\u201c' ? U'\u201d' : c;
            long long k = skip_to_character(end, idx + 1);
            if (at(k) != end) return false;
            return at(scroll_whitespaces(k + 1)) == ':';
        }
        if (isalnum_(c) || c == '_') return bare_key_is_followed_by_colon(idx);
        return false;
    }
    bool quoted_object_member_follows(long long quote_idx) const {
        long long comma = scroll_whitespaces(quote_idx + 1);
        if (at(comma) != ',') return false;
        return object_member_starts_at(scroll_comment_prefixed_member_start(comma + 1));
    }
    bool only_whitespace_until(long long end) const {
        for (long long j = 1; j < end; ++j) {
            char32_t c = at(j);
            if (c != NONE && !py_isspace(c)) return false;
        }
        return true;
    }
    bool bare_member_has_recoverable_value(long long value_idx) const {
        long long vs = scroll_whitespaces(value_idx);
        char32_t c = at(vs);
        if (is_delim(c) || c == '{' || c == '[' || c == '-' || isdigit_(c)) return true;
        for (std::u32string_view lit : {std::u32string_view(U"true"), std::u32string_view(U"false"),
                                        std::u32string_view(U"null")}) {
            bool match = true;
            for (size_t k = 0; k < lit.size() && match; ++k) match = at(vs + static_cast<long long>(k)) == lit[k];
            if (match) {
                char32_t e = at(vs + static_cast<long long>(lit.size()));
                if (e == NONE || isspace_(e) || e == ',' || e == '}' || e == ']') return true;
            }
        }
        long long ve = skip_to([](char32_t ch) { return is_delim(ch) || ch == '}'; }, vs);
        return at(ve) == '}';
    }
    enum class Comma { Container, Member, String, StringNoFutureDelimiter };
    Comma classify_object_value_comma() const {
        long long ni = scroll_whitespaces(1);
        char32_t nc = at(ni);
        if (nc == '}' || nc == NONE) return Comma::Member;
        if (is_delim(nc)) {
            long long ke = skip_to_character(nc, ni + 1);
            if (at(ke) == NONE) return Comma::String;
            ke = scroll_whitespaces(ke + 1);
            return at(ke) == ':' ? Comma::Member : Comma::String;
        }
        if (nc == '`') {
            long long k = ni + 1;
            while (isalnum_(at(k)) || at(k) == '_' || at(k) == '-') ++k;
            k = scroll_whitespaces(k);
            return at(k) == ':' ? Comma::Member : Comma::String;
        }
        if (isalnum_(nc) || nc == '_') {
            long long k = ni;
            while (isalnum_(at(k)) || at(k) == '_' || at(k) == '-') ++k;
            k = scroll_whitespaces(k);
            if (at(k) == ':' && bare_member_has_recoverable_value(k + 1)) return Comma::Member;
        }
        if (nc == '{' || nc == '[') return Comma::Container;
        long long si = skip_to([](char32_t ch) { return is_delim(ch) || ch == '{' || ch == '['; }, ni);
        char32_t sc = at(si);
        if (sc == NONE) return Comma::StringNoFutureDelimiter;
        if (sc == '{' || sc == '[') return Comma::String;
        long long ke = skip_to_character(sc, si + 1);
        if (at(ke) == NONE) return Comma::String;
        ke = scroll_whitespaces(ke + 1);
        return at(ke) == ':' ? Comma::Member : Comma::String;
    }

    // Returns {handled, next char, should_break}.
    struct DelimResult {
        bool handled;
        char32_t c;
        bool brk;
    };
    DelimResult handle_right_delimiter_candidate(StringState& st, char32_t c) {
        char32_t rdelim = st.rstring_delimiter;
        if (st.doubled_quotes && at(1) == rdelim) {
            ++i_;
            return {true, c, false};
        }
        if (st.missing_quotes && ccur(Ctx::Value)) {
            long long k = 1;
            char32_t nc = at(k);
            while (nc != NONE && nc != rdelim && nc != st.lstring_delimiter) nc = at(++k);
            if (nc != NONE) {
                k = scroll_whitespaces(k + 1);
                if (at(k) == ':') {
                    --i_;
                    return {false, at(), true};
                }
            }
            return {false, c, false};
        }
        if (st.unmatched_delimiter) {
            st.unmatched_delimiter = false;
            return {true, append_literal(st, c), false};
        }
        long long k = 1;
        char32_t nc = at(k);
        bool check_comma = true;
        while (nc != NONE && nc != rdelim && nc != st.lstring_delimiter) {
            if (check_comma && isalpha_(nc)) check_comma = false;
            if ((cin(Ctx::Key) && (nc == ':' || nc == '}')) || (cin(Ctx::Value) && nc == '}') ||
                (cin(Ctx::Array) && (nc == ']' || nc == ',')) || (check_comma && ccur(Ctx::Value) && nc == ','))
                break;
            nc = at(++k);
        }
        if (nc == ',' && ccur(Ctx::Value)) {
            ++k;
            k = skip_to_character(rdelim, k);
            ++k;
            k = scroll_whitespaces(k);
            nc = at(k);
            if (nc == '}' || nc == ',') return {true, append_literal(st, c), false};
        } else if (nc == rdelim && at(k - 1) != '\\') {
            if (only_whitespace_until(k) && !(ccur(Ctx::Value) && quoted_object_member_follows(k)))
                return {false, c, true};
            if (ccur(Ctx::Value)) {
                if (quoted_object_member_follows(k)) return {true, append_literal(st, c), false};
                k = skip_to_character(rdelim, k + 1);
                ++k;
                nc = at(k);
                while (nc != NONE && nc != ':') {
                    if (nc == ',' || nc == ']' || nc == '}' || (nc == rdelim && at(k - 1) != '\\')) break;
                    nc = at(++k);
                }
                if (nc != ':') {
                    st.unmatched_delimiter = !st.unmatched_delimiter;
                    return {true, append_literal(st, c), false};
                }
            } else if (ccur(Ctx::Array)) {
                bool even = nc == rdelim;
                auto target = [rdelim](char32_t ch) { return ch == rdelim || ch == ']'; };
                while (nc == rdelim) {
                    k = skip_to(target, k + 1);
                    nc = at(k);
                    if (nc != rdelim) {
                        even = false;
                        break;
                    }
                    k = skip_to(target, k + 1);
                    nc = at(k);
                }
                if (even) {
                    st.unmatched_delimiter = !st.unmatched_delimiter;
                    return {true, append_literal(st, c), false};
                }
                return {false, c, true};
            } else if (ccur(Ctx::Key)) {
                return {true, append_literal(st, c), false};
            }
        }
        return {false, c, false};
    }

    // Returns {handled, next char}.
    std::pair<bool, char32_t> normalize_escape(StringState& st, char32_t c) {
        char32_t rdelim = st.rstring_delimiter;
        if (c == '\\') {
            long long run_start = i_ - 1;
            long long run_end = i_ + 1;
            while (run_end < n() && s_[static_cast<size_t>(run_end)] == '\\') ++run_end;
            long long run = run_end - run_start;
            char32_t next = at(run_end - i_);
            if (run % 2 == 0 && next != rdelim) {
                st.acc.pop_back();
                st.acc.append(static_cast<size_t>(run / 2), U'\\');
                rebuild_braces(st);
                i_ = run_end;
                return {true, at()};
            }
        }
        if (c == rdelim || c == 't' || c == 'n' || c == 'r' || c == 'b' || c == '\\') {
            st.acc.pop_back();
            st.acc.push_back(c == 't' ? U'\t' : c == 'n' ? U'\n' : c == 'r' ? U'\r' : c == 'b' ? U'\b' : c);
            rebuild_braces(st);
            ++i_;
            char32_t next = at();
            while (next != NONE && !st.acc.empty() && st.acc.back() == '\\' && (next == rdelim || next == '\\')) {
                st.acc.back() = next;
                rebuild_braces(st);
                ++i_;
                next = at();
            }
            return {true, next};
        }
        if (c == 'u' || c == 'x') {
            size_t num = c == 'u' ? 4 : 2;
            if (i_ + 1 + static_cast<long long>(num) <= n()) {
                char32_t v = 0;
                bool ok = true;
                for (size_t k = 0; k < num && ok; ++k) {
                    char32_t h = s_[static_cast<size_t>(i_ + 1) + k];
                    int d = h < 0x80 ? StrictJson::hexval(static_cast<char>(h)) : -1;
                    ok = d >= 0;
                    v = v * 16 + static_cast<char32_t>(d < 0 ? 0 : d);
                }
                if (ok) {
                    st.acc.back() = v;
                    rebuild_braces(st);
                    i_ += 1 + static_cast<long long>(num);
                    return {true, at()};
                }
            }
        } else if (c == U'\u201e' || (is_delim(c) && c != rdelim)) {
            st.acc.back() = c;
            rebuild_braces(st);
            ++i_;
            return {true, at()};
        }
        return {false, c};
    }

    char32_t scan_string_body(StringState& st) {
        char32_t rdelim = st.rstring_delimiter;
        char32_t c = at();
        while (c != NONE && c != rdelim) {
            if (st.missing_quotes) {
                if (ccur(Ctx::Key) && (c == ':' || py_isspace(c))) break;
                if (ccur(Ctx::Array) && (c == ']' || c == ',')) break;
            }
            if ((st.pending_inline_container ||
                 (ccur(Ctx::Value) && c == '{' && at(-1) != '\\' &&
                  bare_key_is_followed_by_colon(scroll_whitespaces(1)))) &&
                closing_of(c) != NONE && (st.acc.empty() || st.acc.back() != '\\')) {
                long long end = skip_inline_container(0);
                if (end >= 0) {
                    st.pending_inline_container = false;
                    st.inline_container_stack.clear();
                    for (long long k = 0; k < end; ++k) append_content(st, at(k));
                    i_ += end;
                    c = at();
                    continue;
                }
            }
            if (ccur(Ctx::Value) && c == ',' && !st.pending_inline_container && st.inline_container_stack.empty()) {
                Comma cls = st.object_value_has_no_future_delimiter ? Comma::String : classify_object_value_comma();
                if (cls == Comma::Member) break;
                if (cls == Comma::StringNoFutureDelimiter) st.object_value_has_no_future_delimiter = true;
                st.pending_inline_container = cls == Comma::Container;
                c = append_literal(st, c);
                continue;
            }
            // update_inline_container_stack
            bool keep_container_char = false;
            if (c == '{' || c == '[') {
                if (st.pending_inline_container) {
                    st.inline_container_stack.push_back(c);
                    st.pending_inline_container = false;
                    // falls through with keep=false, as json_repair returns (False, False) here
                    goto after_stack;
                }
                if (!st.inline_container_stack.empty()) st.inline_container_stack.push_back(c);
            }
            if (!st.inline_container_stack.empty() &&
                ((c == '}' && st.inline_container_stack.back() == '{') ||
                 (c == ']' && st.inline_container_stack.back() == '['))) {
                st.inline_container_stack.pop_back();
                keep_container_char = true;
            }
        after_stack:
            if (keep_container_char) {
                c = append_literal(st, c);
                continue;
            }
            if (ccur(Ctx::Value) && c == '}' && (st.acc.empty() || st.acc.back() != rdelim)) {
                if (st.unmatched_opening_braces) {
                    c = append_literal(st, c);
                    continue;
                }
                bool missing = true;
                skip_whitespaces();
                if (at(1) == '\\') missing = false;
                long long k = skip_to_character(rdelim, 1);
                char32_t nc = at(k);
                if (nc != NONE) {
                    k = scroll_whitespaces(k + 1);
                    nc = at(k);
                    if (nc == NONE || nc == ',' || nc == '}') {
                        missing = false;
                    } else {
                        k = skip_to_character(st.lstring_delimiter, k);
                        nc = at(k);
                        if (nc == NONE) {
                            missing = false;
                        } else {
                            k = scroll_whitespaces(k + 1);
                            nc = at(k);
                            if (nc != NONE && nc != ':') missing = false;
                        }
                    }
                } else {
                    k = skip_to_character(':', 1);
                    if (at(k) != NONE) break;
                    k = scroll_whitespaces(1);
                    long long j = skip_to_character('}', k);
                    if (j - k > 1) missing = false;
                }
                if (missing) break;
            }
            if (c == ']' && cin(Ctx::Array) && (st.acc.empty() || st.acc.back() != rdelim)) {
                long long k = skip_to_character(rdelim);
                if (at(k) == NONE) break;
            }
            if (ccur(Ctx::Value) && c == '}') {
                long long k = scroll_whitespaces(1);
                char32_t nc = at(k);
                if (nc == '`' && at(k + 1) == '`' && at(k + 2) == '`') break;
                if (nc == NONE) break;
            }
            append_content(st, c);
            ++i_;
            c = at();
            if (c == NONE) break;
            if (!st.acc.empty() && st.acc.back() == '\\') {
                auto [handled, next] = normalize_escape(st, c);
                c = next;
                if (handled) continue;
            }
            if (c == ':' && !st.missing_quotes && ccur(Ctx::Key)) {
                long long k = skip_to_character(st.lstring_delimiter, 1);
                if (at(k) != NONE) {
                    k = skip_to_character(rdelim, k + 1);
                    if (at(k) != NONE) {
                        k = scroll_whitespaces(k + 1);
                        char32_t ch = at(k);
                        if (ch == ',' || ch == '}') break;
                    }
                } else {
                    break;
                }
            }
            if (c == rdelim && ccur(Ctx::Value) && quote_belongs_to_regex_class(st)) {
                c = append_literal(st, c);
                continue;
            }
            if (c == rdelim && !st.acc.empty() && st.acc.back() != '\\') {
                auto r = handle_right_delimiter_candidate(st, c);
                c = r.c;
                if (r.brk) break;
                if (r.handled) continue;
            }
        }
        return c;
    }

    Json parse_string() {
        char32_t c = at();
        if (c == '#' || c == '/') return parse_comment();
        while (c != NONE && !is_delim(c) && !isalnum_(c)) {
            ++i_;
            c = at();
        }
        if (c == NONE) return "";
        if (auto fast = try_parse_simple_quoted_string()) return encode_utf8(*fast);
        StringState st;
        if (c == '\'') {
            st.lstring_delimiter = st.rstring_delimiter = '\'';
        } else if (c == U'\u201c') {
            st.lstring_delimiter = U'\u201c';
            st.rstring_delimiter = U'\u201d';
        } else if (isalnum_(c)) {
            if ((c == 't' || c == 'f' || c == 'n' || c == 'T' || c == 'F' || c == 'N') && !ccur(Ctx::Key)) {
                Json v = parse_boolean_or_null();
                if (!is_empty_string(v)) return v;
            }
            st.missing_quotes = true;
        }
        if (!st.missing_quotes) ++i_;
        if (at() == '`') {
            if (auto block = parse_json_llm_block()) return *block;
        }
        if (at() == st.lstring_delimiter) {
            if ((ccur(Ctx::Key) && at(1) == ':') || (ccur(Ctx::Value) && (at(1) == ',' || at(1) == '}')) ||
                (ccur(Ctx::Array) && (at(1) == ',' || at(1) == ']'))) {
                ++i_;
                return "";
            }
            if (at(1) == st.lstring_delimiter) return "";
            long long k = skip_to_character(st.rstring_delimiter, 1);
            if (at(k + 1) == st.rstring_delimiter) {
                st.doubled_quotes = true;
                ++i_;
            } else {
                k = scroll_whitespaces(1);
                char32_t nc = at(k);
                if (is_delim(nc) || nc == '{' || nc == '[') {
                    ++i_;
                    return "";
                }
                if (nc != ',' && nc != ']' && nc != '}') ++i_;
            }
        }
        c = scan_string_body(st);
        // _finalize_string_result
        if (c != NONE && st.missing_quotes && ccur(Ctx::Key) && py_isspace(c)) {
            skip_whitespaces();
            if (at() != ':' && at() != ',') return "";
        }
        auto rstrip = [](std::u32string& v) {
            while (!v.empty() && py_isspace(v.back())) v.pop_back();
        };
        if (c != st.rstring_delimiter) {
            rstrip(st.acc);
        } else {
            ++i_;
        }
        if (st.missing_quotes || (!st.acc.empty() && st.acc.back() == '\n')) rstrip(st.acc);
        return encode_utf8(st.acc);
    }
};

}  // namespace

std::optional<std::pair<Json, size_t>> json_raw_decode(std::string_view text) {
    StrictJson p{text};
    Json v;
    if (!p.value(v)) return std::nullopt;
    return std::make_pair(std::move(v), p.i);
}

std::optional<Json> json_loads(std::string_view text) {
    StrictJson p{text};
    p.ws();
    Json v;
    if (!p.value(v)) return std::nullopt;
    p.ws();
    if (p.i != text.size()) return std::nullopt;
    return v;
}

std::optional<Json> literal_eval(std::string_view text) {
    size_t k = 0;
    while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
    PyLiteral p{text.substr(k)};
    Json v;
    try {
        if (!p.top(v)) return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return v;
}

Json loads(std::string_view text) {
    if (auto v = json_loads(text)) return std::move(*v);
    Parser parser(decode_utf8(text));
    return parser.parse();
}

}  // namespace dspy::json_repair
