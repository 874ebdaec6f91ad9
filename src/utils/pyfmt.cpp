#include "utils/pyfmt.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace dspy::pyfmt {
namespace {

// Shortest round-trip digits of |v| and the position of the decimal point relative to them
// (value = 0.d1d2d3... * 10^decpt). A fixed buffer: cache keys format every float of a request.
struct Digits {
    char digits[24];
    int n = 0;
    int decpt = 0;
    bool negative = false;
    [[nodiscard]] std::string_view view() const { return {digits, static_cast<size_t>(n)}; }
};

Digits shortest(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
    Digits d;
    size_t i = 0;
    if (s[i] == '-') {
        d.negative = true;
        ++i;
    }
    size_t e = s.find('e');
    for (; i < e; ++i)
        if (s[i] != '.') d.digits[d.n++] = s[i];
    int exp = 0;
    std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
    d.decpt = exp + 1;
    while (d.n > 1 && d.digits[d.n - 1] == '0') --d.n;
    return d;
}

template <class Int>
void append_int(std::string& out, Int v) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<size_t>(res.ptr - buf));
}

// orjson / ryu float text, appended.
void append_orjson_float(std::string& out, double v) {
    const Digits d = shortest(v);
    if (d.negative) out += '-';
    const std::string_view digits = d.view();
    const int n = d.n;
    const int kk = d.decpt;
    const int k = kk - n;
    if (k >= 0 && kk <= 16) {
        out += digits;
        out.append(static_cast<size_t>(k), '0');
        out += ".0";
    } else if (kk > 0 && kk <= 16) {
        out += digits.substr(0, static_cast<size_t>(kk));
        out += '.';
        out += digits.substr(static_cast<size_t>(kk));
    } else if (kk > -5 && kk <= 0) {
        out += "0.";
        out.append(static_cast<size_t>(-kk), '0');
        out += digits;
    } else {
        out += digits[0];
        if (n > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += 'e';
        append_int(out, kk - 1);
    }
}

using Member = OrjsonMember;

// Code-point order equals byte order of UTF-8, which is what string_view compares (as unsigned char).
// Insertion sort for the few keys requests have (stable, no allocation); stable_sort beyond.
void sort_members(Member* first, Member* last) {
    if (last - first > 16) {
        std::stable_sort(first, last, [](const Member& a, const Member& b) { return a.key < b.key; });
        return;
    }
    if (last - first < 2) return;
    for (Member* i = first + 1; i < last; ++i) {
        Member m = *i;
        Member* j = i;
        for (; j > first && m.key < (j - 1)->key; --j) *j = *(j - 1);
        *j = m;
    }
}

// Decodes one UTF-8 code point at s[i]; advances i. Invalid bytes decode as themselves (Latin-1).
char32_t decode(std::string_view s, size_t& i) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (len == 1 || i + static_cast<size_t>(len) > s.size()) {
        ++i;
        return c;
    }
    char32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += static_cast<size_t>(len);
    return cp;
}

bool is_py_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// str.isprintable() for the characters prompts realistically contain.
bool is_printable(char32_t c) {
    if (c < 0x20 || c == 0x7f) return false;
    if (c >= 0x80 && c <= 0xa0) return false;
    if (c == 0xad || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
        (c >= 0x205f && c <= 0x2064) || c == 0x3000 || c == 0xfeff || (c >= 0xd800 && c <= 0xdfff))
        return false;
    return true;
}

void hex(std::string& out, unsigned v, int width) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%0*x", width, v);
    out += buf;
}

// The bytes json.dumps(ensure_ascii=False) and orjson escape: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kNeedsEscape = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<size_t>(c)] = true;
    t['"'] = t['\\'] = true;
    return t;
}();

void dumps_rec(std::string& out, const Json& v, int indent, int level) {
    switch (v.type()) {
        case Json::value_t::object: {
            if (v.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (auto it = v.begin(); it != v.end(); ++it) {
                if (!first) out += indent < 0 ? ", " : ",";
                first = false;
                if (indent >= 0) {
                    out += '\n';
                    out.append(static_cast<size_t>(indent * (level + 1)), ' ');
                }
                append_json_string(out, it.key());
                out += ": ";
                dumps_rec(out, it.value(), indent, level + 1);
            }
            if (indent >= 0) {
                out += '\n';
                out.append(static_cast<size_t>(indent * level), ' ');
            }
            out += '}';
            return;
        }
        case Json::value_t::array: {
            if (v.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            bool first = true;
            for (const auto& e : v) {
                if (!first) out += indent < 0 ? ", " : ",";
                first = false;
                if (indent >= 0) {
                    out += '\n';
                    out.append(static_cast<size_t>(indent * (level + 1)), ' ');
                }
                dumps_rec(out, e, indent, level + 1);
            }
            if (indent >= 0) {
                out += '\n';
                out.append(static_cast<size_t>(indent * level), ' ');
            }
            out += ']';
            return;
        }
        case Json::value_t::number_float: {
            double d = v.get<double>();
            if (std::isnan(d))
                out += "NaN";
            else if (std::isinf(d))
                out += d > 0 ? "Infinity" : "-Infinity";
            else
                out += float_repr(d);
            return;
        }
        case Json::value_t::string:
            append_json_string(out, v.get_ref<const std::string&>());
            return;
        default:
            out += v.dump();  // null, booleans, integers print alike everywhere
    }
}

void orjson_rec(std::string& out, const Json& v, bool indent2, bool sort_keys, int level);

void orjson_newline(std::string& out, bool indent2, int level) {
    if (!indent2) return;
    out += '\n';
    out.append(static_cast<size_t>(2 * level), ' ');
}

// The members of an object in orjson's way; `first..last` are already in the order to write.
void orjson_members(std::string& out, const Member* first, const Member* last, bool indent2, bool sort_keys,
                    int level) {
    if (first == last) {
        out += "{}";
        return;
    }
    out += '{';
    for (const Member* m = first; m != last; ++m) {
        if (m != first) out += ',';
        orjson_newline(out, indent2, level + 1);
        append_json_string(out, m->key);
        out += indent2 ? ": " : ":";
        if (m->value)
            orjson_rec(out, *m->value, indent2, sort_keys, level + 1);
        else if (m->write)
            m->write(out, m->ctx);
        else
            append_json_string(out, m->text);
    }
    orjson_newline(out, indent2, level);
    out += '}';
}

// orjson of an object whose keys are sorted, leaving out the top-level keys in `skip`. The members sit on the
// stack for the usual handful of keys: a cache key writes one such object per request and per message.
void orjson_sorted_object(std::string& out, const Json::object_t& obj, std::span<const std::string> skip, bool indent2,
                          int level) {
    constexpr size_t kSmall = 16;
    Member small[kSmall];
    std::vector<Member> large;
    Member* items = small;
    if (obj.size() > kSmall) {
        large.resize(obj.size());
        items = large.data();
    }
    size_t n = 0;
    for (const auto& [key, value] : obj)
        if (skip.empty() || std::find(skip.begin(), skip.end(), key) == skip.end())
            items[n++] = Member{.key = key, .value = &value};
    sort_members(items, items + n);
    orjson_members(out, items, items + n, indent2, true, level);
}

void orjson_rec(std::string& out, const Json& v, bool indent2, bool sort_keys, int level) {
    switch (v.type()) {
        case Json::value_t::object: {
            const auto& obj = v.get_ref<const Json::object_t&>();
            if (sort_keys) {
                orjson_sorted_object(out, obj, {}, indent2, level);
                return;
            }
            if (obj.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (const auto& [key, value] : obj) {
                if (!first) out += ',';
                first = false;
                orjson_newline(out, indent2, level + 1);
                append_json_string(out, key);
                out += indent2 ? ": " : ":";
                orjson_rec(out, value, indent2, sort_keys, level + 1);
            }
            orjson_newline(out, indent2, level);
            out += '}';
            return;
        }
        case Json::value_t::array: {
            if (v.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            bool first = true;
            for (const auto& e : v) {
                if (!first) out += ',';
                first = false;
                orjson_newline(out, indent2, level + 1);
                orjson_rec(out, e, indent2, sort_keys, level + 1);
            }
            orjson_newline(out, indent2, level);
            out += ']';
            return;
        }
        case Json::value_t::number_float: {
            double d = v.get<double>();
            if (std::isfinite(d))
                append_orjson_float(out, d);
            else
                out += "null";  // orjson writes NaN/inf as null
            return;
        }
        case Json::value_t::string:
            append_json_string(out, v.get_ref<const std::string&>());
            return;
        case Json::value_t::null:
            out += "null";
            return;
        case Json::value_t::boolean:
            out += v.get<bool>() ? "true" : "false";
            return;
        case Json::value_t::number_integer:
            append_int(out, v.get<std::int64_t>());
            return;
        case Json::value_t::number_unsigned:
            append_int(out, v.get<std::uint64_t>());
            return;
        default:
            out += v.dump();
    }
}

void repr_rec(std::string& out, const Json& v) {
    switch (v.type()) {
        case Json::value_t::null:
            out += "None";
            return;
        case Json::value_t::boolean:
            out += v.get<bool>() ? "True" : "False";
            return;
        case Json::value_t::number_float:
            out += float_repr(v.get<double>());
            return;
        case Json::value_t::string:
            out += repr_str(v.get_ref<const std::string&>());
            return;
        case Json::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v) {
                if (!first) out += ", ";
                first = false;
                repr_rec(out, e);
            }
            out += ']';
            return;
        }
        case Json::value_t::object: {
            out += '{';
            bool first = true;
            for (auto it = v.begin(); it != v.end(); ++it) {
                if (!first) out += ", ";
                first = false;
                out += repr_str(it.key());
                out += ": ";
                repr_rec(out, it.value());
            }
            out += '}';
            return;
        }
        default:
            out += v.dump();
    }
}

}  // namespace

std::string float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    const Digits d = shortest(v);
    std::string out = d.negative ? "-" : "";
    const std::string_view digits = d.view();
    const int n = d.n;
    if (d.decpt <= -4 || d.decpt > 16) {
        out += digits[0];
        if (n > 1) {
            out += '.';
            out += digits.substr(1);
        }
        int e = d.decpt - 1;
        out += e < 0 ? "e-" : "e+";
        int ae = e < 0 ? -e : e;
        if (ae < 10) out += '0';
        out += std::to_string(ae);
    } else if (d.decpt <= 0) {
        out += "0.";
        out.append(static_cast<size_t>(-d.decpt), '0');
        out += digits;
    } else if (d.decpt >= n) {
        out += digits;
        out.append(static_cast<size_t>(d.decpt - n), '0');
        out += ".0";
    } else {
        out += digits.substr(0, static_cast<size_t>(d.decpt));
        out += '.';
        out += digits.substr(static_cast<size_t>(d.decpt));
    }
    return out;
}

std::string orjson_float(double v) {
    std::string out;
    append_orjson_float(out, v);
    return out;
}

void append_json_escape(std::string& out, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: {
            const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
            out.append(u, sizeof u);
        }
    }
}

void append_json_string(std::string& out, std::string_view s) {
    // Bytes that need no escape are copied in runs: prompts and cache keys are mostly such text.
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (!kNeedsEscape[c]) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        append_json_escape(out, c);
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

std::string json_dumps(const Json& v, int indent) {
    std::string out;
    dumps_rec(out, v, indent, 0);
    return out;
}

std::string orjson_dumps(const Json& v, bool indent2, bool sort_keys) {
    std::string out;
    orjson_rec(out, v, indent2, sort_keys, 0);
    return out;
}

void append_orjson(std::string& out, const Json& v, bool indent2, bool sort_keys) {
    orjson_rec(out, v, indent2, sort_keys, 0);
}

void append_orjson_sorted_without(std::string& out, const Json& object, std::span<const std::string> skip) {
    orjson_sorted_object(out, object.get_ref<const Json::object_t&>(), skip, false, 0);
}

void append_orjson_sorted(std::string& out, std::span<OrjsonMember> members) {
    sort_members(members.data(), members.data() + members.size());
    orjson_members(out, members.data(), members.data() + members.size(), false, true, 0);
}

std::string repr_str(std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        char32_t c = decode(s, i);
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (!is_printable(c)) {
            if (c <= 0xff) {
                out += "\\x";
                hex(out, static_cast<unsigned>(c), 2);
            } else if (c <= 0xffff) {
                out += "\\u";
                hex(out, static_cast<unsigned>(c), 4);
            } else {
                out += "\\U";
                hex(out, static_cast<unsigned>(c), 8);
            }
        } else {
            out.append(s.substr(start, i - start));
        }
    }
    out += quote;
    return out;
}

std::string repr(const Json& v) {
    std::string out;
    repr_rec(out, v);
    return out;
}

std::string str(const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    return repr(v);
}

std::string_view lstrip(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        if (!is_py_space(decode(s, j))) break;
        i = j;
    }
    return s.substr(i);
}

std::string_view rstrip(std::string_view s) {
    size_t end = s.size();
    while (end > 0) {
        // Step back over one UTF-8 code point.
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) --start;
        size_t j = start;
        if (!is_py_space(decode(s, j)) || j != end) break;
        end = start;
    }
    return s.substr(0, end);
}

std::string_view strip(std::string_view s) { return rstrip(lstrip(s)); }

std::vector<std::string_view> splitlines(std::string_view s) {
    std::vector<std::string_view> lines;
    size_t line_start = 0, i = 0;
    while (i < s.size()) {
        size_t at = i;
        char32_t c = decode(s, i);
        bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                   c == 0x2028 || c == 0x2029;
        if (!brk) continue;
        lines.push_back(s.substr(line_start, at - line_start));
        if (c == '\r' && i < s.size() && s[i] == '\n') ++i;
        line_start = i;
    }
    if (line_start < s.size()) lines.push_back(s.substr(line_start));
    return lines;
}

namespace {
// Lines split on '\n' only, as textwrap and inspect do after expandtabs (tabs are kept as they are here).
std::vector<std::string> split_nl(std::string_view s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        size_t nl = s.find('\n', start);
        if (nl == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            break;
        }
        out.emplace_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

size_t leading_ws(std::string_view line) {
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return i;
}
}  // namespace

std::string cleandoc(std::string_view doc) {
    // CPython 3.11's inspect.cleandoc, step by step: expandtabs() (columns count code points and restart at \n and
    // \r), split on \n, margin = smallest indent of the non-blank lines after the first (lstrip() removes all
    // Unicode whitespace), lstrip the first line, cut `margin` characters from the others, then drop *empty*
    // leading and trailing lines. Whitespace-only lines that survive the margin cut are kept ("   \n  " -> "  ").
    std::string expanded;
    expanded.reserve(doc.size());
    size_t col = 0;
    for (size_t i = 0; i < doc.size();) {
        char c = doc[i];
        if (c == '\t') {
            expanded.append(8 - col % 8, ' ');
            col += 8 - col % 8;
            ++i;
            continue;
        }
        size_t j = i;
        (void)decode(doc, j);
        expanded.append(doc.substr(i, j - i));
        col = (c == '\n' || c == '\r') ? 0 : col + 1;
        i = j;
    }
    auto lines = split_nl(expanded);
    auto count_cps = [](std::string_view s) {
        size_t n = 0;
        for (size_t i = 0; i < s.size(); ++n) (void)decode(s, i);
        return n;
    };
    size_t margin = std::string::npos;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view content = lstrip(lines[i]);
        if (content.empty()) continue;
        margin = std::min(margin, count_cps(std::string_view(lines[i]).substr(0, lines[i].size() - content.size())));
    }
    if (!lines.empty()) lines[0] = std::string(lstrip(lines[0]));
    if (margin != std::string::npos) {
        for (size_t i = 1; i < lines.size(); ++i) {
            std::string_view l = lines[i];
            size_t at = 0;
            for (size_t k = 0; k < margin && at < l.size(); ++k) (void)decode(l, at);
            lines[i] = std::string(l.substr(at));
        }
    }
    size_t last = lines.size();
    while (last > 0 && lines[last - 1].empty()) --last;
    size_t first = 0;
    while (first < last && lines[first].empty()) ++first;
    std::string out;
    for (size_t i = first; i < last; ++i) {
        if (i > first) out += '\n';
        out += lines[i];
    }
    return out;
}

std::string dedent(std::string_view text) {
    auto lines = split_nl(text);
    // textwrap.dedent: whitespace-only lines are normalised to "" and ignored for the margin.
    std::string margin;
    bool have = false;
    for (auto& l : lines) {
        size_t ws = leading_ws(l);
        if (ws == l.size()) continue;
        std::string_view indent(l.data(), ws);
        if (!have) {
            margin = std::string(indent);
            have = true;
        } else if (indent.substr(0, margin.size()) != margin) {
            size_t k = 0;
            while (k < margin.size() && k < indent.size() && margin[k] == indent[k]) ++k;
            margin.resize(k);
        }
    }
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) out += '\n';
        const auto& l = lines[i];
        if (leading_ws(l) == l.size()) continue;
        out.append(l, margin.size());
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool truthy(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return false;
        case Json::value_t::boolean: return v.get<bool>();
        case Json::value_t::number_integer: return v.get<int64_t>() != 0;
        case Json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
        case Json::value_t::number_float: return v.get<double>() != 0.0;
        case Json::value_t::string: return !v.get_ref<const std::string&>().empty();
        default: return !v.empty();
    }
}

}  // namespace dspy::pyfmt
