#pragma once
/// @file
/// Server-sent events: turns body bytes cut at arbitrary places into whole events (the part of the WHATWG
/// event-stream format that LM providers use: `data:`, `event:`, `id:`, comments, CRLF/LF/CR line ends).

#include <string>
#include <string_view>
#include <vector>

namespace dspy::http {

/// One dispatched event; `data` joins the event's `data:` lines with '\n'.
struct SseEvent {
    std::string event;  ///< the `event:` field, empty for the default "message"
    std::string data;
    std::string id;
};

/// Incremental SSE parser; feed it body chunks exactly as they arrive.
class SseParser {
public:
    /// Parses `chunk` and appends every event it completes to `out` (which is not cleared).
    void feed(std::string_view chunk, std::vector<SseEvent>& out);
    /// Drops any partial line or event (after a reconnect, or to reuse the parser).
    void reset();
    /// True when bytes of an unfinished line or event are pending (a stream that ends here was cut short).
    [[nodiscard]] bool pending() const noexcept { return !line_.empty() || has_data_ || !current_.event.empty(); }

private:
    void line(std::string_view line, std::vector<SseEvent>& out);

    std::string line_;  // an unfinished line carried over from the previous chunk
    SseEvent current_;
    bool has_data_ = false;
    bool skip_lf_ = false;  // the previous chunk ended in '\r': a leading '\n' belongs to that line end
};

}  // namespace dspy::http
