#include "utils/json_fast.hpp"

#include "utils/pyfmt.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace dspy::json_fast {

namespace {

// Length of the well-formed UTF-8 sequence at p (RFC 3629, the table nlohmann's decoder accepts), 0 if none.
size_t utf8_length(const unsigned char* p, const unsigned char* end) {
    const unsigned char c = p[0];
    auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
        return p + i < end && p[i] >= lo && p[i] <= hi;
    };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

// Skips the bytes that need no attention in a JSON string (printable ASCII other than `"` and `\\`), eight at a
// time: prompts and replies are mostly such text.
const unsigned char* skip_plain(const unsigned char* p, const unsigned char* end) {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    while (end - p >= 8) {
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        const std::uint64_t special =
            ((x - ones * 0x20) & ~x & highs) | has_zero(x ^ (ones * '"')) | has_zero(x ^ (ones * '\\')) | (x & highs);
        if (special) break;
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
    return p;
}

// A recursive-descent reader that gives up (returns false) on anything malformed or unusual; the caller then
// lets nlohmann decide, so only texts this reader accepts need to match nlohmann exactly.
class Reader {
public:
    explicit Reader(std::string_view text)
        : p_(reinterpret_cast<const unsigned char*>(text.data())), end_(p_ + text.size()) {}

    bool document(Json& out) {
        if (!value(out, 0)) return false;
        skip_ws();
        return p_ == end_;
    }

private:
    static constexpr int kMaxDepth = 256;  // deeper documents go to nlohmann, which does not recurse

    void skip_ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }

    bool literal(const char* word, size_t n) {
        if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
        p_ += n;
        return true;
    }

    bool value(Json& out, int depth) {
        skip_ws();
        if (p_ == end_) return false;
        switch (*p_) {
            case '{': return object(out, depth + 1);
            case '[': return array(out, depth + 1);
            case '"': {
                std::string s;
                if (!string(s)) return false;
                out = std::move(s);
                return true;
            }
            case 't':
                if (!literal("true", 4)) return false;
                out = true;
                return true;
            case 'f':
                if (!literal("false", 5)) return false;
                out = false;
                return true;
            case 'n':
                if (!literal("null", 4)) return false;
                out = nullptr;
                return true;
            default: return number(out);
        }
    }

    bool object(Json& out, int depth) {
        if (depth > kMaxDepth) return false;
        ++p_;
        // Members are read into a vector first: ordered_json's own vector holds pair<const string, Json>, whose
        // move may throw, so each time it grows it deep-copies every value read so far.
        std::vector<std::pair<std::string, Json>> members;
        skip_ws();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            out = Json::object();
            return true;
        }
        for (;;) {
            skip_ws();
            if (p_ == end_ || *p_ != '"') return false;
            members.emplace_back();
            if (!string(members.back().first)) return false;
            skip_ws();
            if (p_ == end_ || *p_ != ':') return false;
            ++p_;
            if (!value(members.back().second, depth)) return false;
            skip_ws();
            if (p_ == end_) return false;
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ != '}') return false;
            ++p_;
            break;
        }
        out = Json::object();
        auto& obj = out.get_ref<Json::object_t&>();
        obj.reserve(members.size());
        for (auto& [key, value] : members) {
            // nlohmann's DOM parser does object[key] = value: a repeated key keeps its first place, last value.
            auto same = std::find_if(obj.begin(), obj.end(), [&](const auto& kv) { return kv.first == key; });
            if (same != obj.end())
                same->second = std::move(value);
            else
                obj.Container::emplace_back(std::move(key), std::move(value));
        }
        return true;
    }

    bool array(Json& out, int depth) {
        if (depth > kMaxDepth) return false;
        ++p_;
        out = Json::array();
        skip_ws();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        auto& items = out.get_ref<Json::array_t&>();
        for (;;) {
            items.emplace_back();
            if (!value(items.back(), depth)) return false;
            skip_ws();
            if (p_ == end_) return false;
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ != ']') return false;
            ++p_;
            return true;
        }
    }

    bool hex4(std::uint32_t& v) {
        if (end_ - p_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            const unsigned char c = p_[i];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= c - '0';
            else if (c >= 'a' && c <= 'f')
                v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                v |= c - 'A' + 10;
            else
                return false;
        }
        p_ += 4;
        return true;
    }

    bool string(std::string& out) {
        ++p_;  // the opening quote
        const unsigned char* run = p_;
        while ((p_ = skip_plain(p_, end_)) < end_) {
            const unsigned char c = *p_;
            if (c == '"') {
                out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p_ - run));
                ++p_;
                return true;
            }
            if (c < 0x20) return false;
            if (c < 0x80 && c != '\\') {
                ++p_;
                continue;
            }
            if (c >= 0x80) {
                const size_t n = utf8_length(p_, end_);
                if (n == 0) return false;
                p_ += n;
                continue;
            }
            out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p_ - run));
            if (++p_ == end_) return false;
            switch (*p_++) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a lone low surrogate
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t lo = 0;
                        if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
                        p_ += 2;
                        if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    pyfmt::append_utf8(out, static_cast<char32_t>(cp));
                    break;
                }
                default: return false;
            }
            run = p_;
        }
        return false;
    }

    bool number(Json& out) {
        const unsigned char* start = p_;
        if (p_ < end_ && *p_ == '-') ++p_;
        if (p_ == end_) return false;
        if (*p_ == '0') {
            ++p_;
        } else if (*p_ >= '1' && *p_ <= '9') {
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        } else {
            return false;
        }
        bool is_float = false;
        if (p_ < end_ && *p_ == '.') {
            is_float = true;
            if (++p_ == end_ || *p_ < '0' || *p_ > '9') return false;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            is_float = true;
            if (++p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        }
        const char* first = reinterpret_cast<const char*>(start);
        const char* last = reinterpret_cast<const char*>(p_);
        // Out-of-range integers become floats in nlohmann, and huge floats become inf: both are left to it.
        if (!is_float) {
            if (*start == '-') {
                std::int64_t v = 0;
                auto r = std::from_chars(first, last, v);
                if (r.ec != std::errc() || r.ptr != last) return false;
                out = v;
            } else {
                std::uint64_t v = 0;
                auto r = std::from_chars(first, last, v);
                if (r.ec != std::errc() || r.ptr != last) return false;
                out = v;
            }
            return true;
        }
        double d = 0;
        auto r = std::from_chars(first, last, d);
        if (r.ec != std::errc() || r.ptr != last) return false;
        out = d;
        return true;
    }

    const unsigned char* p_;
    const unsigned char* end_;
};

}  // namespace

void append_string(std::string& out, std::string_view s) {
    out += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    const auto* run = p;
    while ((p = skip_plain(p, end)) < end) {
        const unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            ++p;
            continue;
        }
        if (c >= 0x80) {
            const size_t n = utf8_length(p, end);
            if (n == 0) (void)Json(std::string(s)).dump();  // nlohmann's own error, naming the byte and its index
            p += n;
            continue;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
        pyfmt::append_json_escape(out, c);
        run = ++p;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    out += '"';
}

Json parse(std::string_view text) {
    Json out;
    if (Reader(text).document(out)) return out;
    return Json::parse(text, nullptr, false);
}

void append_dump(std::string& out, const Json& v) {
    switch (v.type()) {
        case Json::value_t::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, value] : v.get_ref<const Json::object_t&>()) {
                if (!first) out += ',';
                first = false;
                append_string(out, key);
                out += ':';
                append_dump(out, value);
            }
            out += '}';
            return;
        }
        case Json::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v.get_ref<const Json::array_t&>()) {
                if (!first) out += ',';
                first = false;
                append_dump(out, item);
            }
            out += ']';
            return;
        }
        case Json::value_t::string: append_string(out, v.get_ref<const std::string&>()); return;
        case Json::value_t::null: out += "null"; return;
        case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
        default: out += v.dump(); return;  // numbers and binary: rare in a request, and nlohmann's format
    }
}

}  // namespace dspy::json_fast
