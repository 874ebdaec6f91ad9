// ChatAdapter.parse: splits a completion into `[[ ## name ## ]]` sections and parses each output field.
// @sa dspy/adapters/chat_adapter.py ChatAdapter.parse

#include <string>
#include <vector>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/utils.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {
namespace {

// One UTF-8 code point at s[i] (advancing i); invalid bytes count as one non-word code point.
char32_t next_cp(std::string_view s, size_t& i) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len <= 1 || i + static_cast<size_t>(len) > s.size()) {
        ++i;
        return len == 1 ? c : 0xfffd;
    }
    char32_t cp = len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3fu);
    i += static_cast<size_t>(len);
    return cp;
}

// Python's Unicode `\w` (letters, digits, underscore), exact for ASCII and close for the rest.
bool is_word(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c == 0xaa || c == 0xb5 || c == 0xba) return true;
    if (c < 0xc0) return false;
    if (c == 0xd7 || c == 0xf7) return false;
    if (c >= 0x2000 && c <= 0x2bff) return false;  // punctuation, symbols, arrows, box drawing
    if (c >= 0x3000 && c <= 0x303f) return false;  // CJK punctuation
    if (c >= 0xd800 && c <= 0xdfff) return false;
    if (c >= 0xfe30 && c <= 0xfe4f) return false;
    if (c >= 0xff00 && c <= 0xff0f) return false;
    if (c >= 0x1f000 && c <= 0x1faff) return false;  // emoji and pictographs
    return c != 0xfffd;
}

// Matches `\[\[ ## (\w+) ## \]\]` at the start of `s`; returns the name and the match length in code points.
bool match_header(std::string_view s, std::string_view& name, size_t& end_cps) {
    constexpr std::string_view open = "[[ ## ";
    constexpr std::string_view close = " ## ]]";
    if (s.size() < open.size() + 1 + close.size() || s.substr(0, open.size()) != open) return false;
    size_t i = open.size();
    size_t cps = 0;
    while (i < s.size()) {
        size_t j = i;
        if (!is_word(next_cp(s, j))) break;
        i = j;
        ++cps;
    }
    if (cps == 0 || s.substr(i, close.size()) != close) return false;
    name = s.substr(open.size(), i - open.size());
    end_cps = open.size() + cps + close.size();
    return true;
}

// Advances over `cps` code points of `s` (Python's `line[n:]`).
std::string_view drop_cps(std::string_view s, size_t cps) {
    size_t i = 0;
    while (cps > 0 && i < s.size()) {
        next_cp(s, i);
        --cps;
    }
    return s.substr(i);
}

struct Section {
    std::string_view header;  // empty for the text before the first header
    std::string_view rest;    // text after the header on its own line (already stripped), may be empty
    size_t first_line = 0;    // index of the first body line
    size_t end_line = 0;      // one past the last body line
};

std::vector<std::string> output_names(const Signature& signature) {
    std::vector<std::string> names;
    for (const Field* f : signature.output_fields()) names.push_back(f->name);
    return names;
}

}  // namespace

Json ChatAdapter::parse(const Signature& signature, std::string_view completion) const {
    std::vector<std::string_view> lines = pyfmt::splitlines(completion);
    std::vector<Section> sections;
    sections.reserve(8);
    sections.push_back({{}, {}, 0, 0});
    for (size_t k = 0; k < lines.size(); ++k) {
        std::string_view line = lines[k];
        std::string_view name;
        size_t end_cps = 0;
        if (match_header(pyfmt::strip(line), name, end_cps)) {
            sections.back().end_line = k;
            // DSPy slices the unstripped line at the offset found in the stripped one.
            sections.push_back({name, pyfmt::strip(drop_cps(line, end_cps)), k + 1, 0});
        }
    }
    sections.back().end_line = lines.size();

    Json fields = Json::object();
    std::string value;
    for (const Section& sec : sections) {
        if (sec.header.empty()) continue;
        const Field* field = signature.field(sec.header);
        if (field == nullptr || field->is_input || fields.contains(sec.header)) continue;
        value.clear();
        bool first = true;
        if (!sec.rest.empty()) {
            value.append(sec.rest);
            first = false;
        }
        for (size_t k = sec.first_line; k < sec.end_line; ++k) {
            if (!first) value.push_back('\n');
            value.append(lines[k]);
            first = false;
        }
        std::string_view v = pyfmt::strip(value);
        try {
            fields[std::string(sec.header)] = parse_value(v, field->type);
        } catch (const std::exception& e) {
            throw AdapterParseError(std::string(adapter_name()), signature.signature_string(),
                                    output_names(signature), std::string(completion),
                                    "Failed to parse field " + std::string(sec.header) + " with value " +
                                        std::string(v) + " from the LM response. Error message: " + e.what())
                .with_field(std::string(sec.header));
        }
    }
    Json completed = apply_output_field_defaults(signature, std::move(fields));
    if (completed.size() != signature.output_fields().size()) {
        std::vector<std::string> parsed;
        for (auto it = completed.begin(); it != completed.end(); ++it) parsed.push_back(it.key());
        throw AdapterParseError(std::string(adapter_name()), signature.signature_string(), output_names(signature),
                                std::string(completion), std::nullopt, std::move(parsed));
    }
    return completed;
}

}  // namespace dspy
