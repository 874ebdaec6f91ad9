#include "clients/http/sse.hpp"

namespace dspy::http {

void SseParser::reset() {
    line_.clear();
    current_ = {};
    has_data_ = false;
    skip_lf_ = false;
}

void SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
    size_t i = 0;
    if (skip_lf_ && !chunk.empty()) {
        skip_lf_ = false;
        if (chunk.front() == '\n') i = 1;
    }
    while (i < chunk.size()) {
        size_t end = i;
        while (end < chunk.size() && chunk[end] != '\n' && chunk[end] != '\r') ++end;
        if (end == chunk.size()) {  // no line end yet: keep the tail for the next chunk
            line_.append(chunk.substr(i));
            return;
        }
        if (line_.empty()) {
            line(chunk.substr(i, end - i), out);
        } else {
            line_.append(chunk.substr(i, end - i));
            line(line_, out);
            line_.clear();
        }
        if (chunk[end] == '\r') {
            if (end + 1 == chunk.size())
                skip_lf_ = true;
            else if (chunk[end + 1] == '\n')
                ++end;
        }
        i = end + 1;
    }
}

void SseParser::line(std::string_view text, std::vector<SseEvent>& out) {
    if (text.empty()) {  // blank line: dispatch
        if (has_data_) {
            out.push_back(std::move(current_));
        }
        current_ = {};
        has_data_ = false;
        return;
    }
    if (text.front() == ':') return;  // comment (keep-alive pings)
    std::string_view field = text, value;
    if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
        field = text.substr(0, colon);
        value = text.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        if (has_data_) current_.data += '\n';
        current_.data.append(value);
        has_data_ = true;
    } else if (field == "event") {
        current_.event.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) current_.id.assign(value);
    }
    // "retry" and unknown fields are ignored, as the format requires.
}

}  // namespace dspy::http
