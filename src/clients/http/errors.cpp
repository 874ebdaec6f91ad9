#include "clients/http/errors.hpp"

#include "clients/http/retry.hpp"
#include "dspy/json.hpp"

namespace dspy::http {
namespace {
const char* reason(int status) {
    switch (status) {
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 529: return "Overloaded";
        default: return "";
    }
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool context_window_overflow(int status, std::string_view body, const std::string& message) {
    if (status != 400 && status != 413) return false;
    if (body.find("context_length_exceeded") != std::string_view::npos) return true;
    const std::string m = lower(message);
    for (std::string_view needle : {"context window", "context length", "maximum context", "prompt is too long",
                                    "input is too long", "context_length_exceeded"})
        if (m.find(needle) != std::string::npos) return true;
    return false;
}

std::string shorten(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    constexpr size_t kMax = 500;
    if (s.size() <= kMax) return std::string(s);
    return std::string(s.substr(0, kMax)) + "... (" + std::to_string(s.size()) + " bytes)";
}
}  // namespace

std::string provider_error_message(std::string_view body) {
    const Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
        if (auto it = j.find("error"); it != j.end()) {
            if (it->is_object()) {
                if (auto m = it->find("message"); m != it->end() && m->is_string()) return m->get<std::string>();
            } else if (it->is_string()) {
                return it->get<std::string>();
            }
        }
        for (const char* key : {"message", "detail"})
            if (auto m = j.find(key); m != j.end() && m->is_string()) return m->get<std::string>();
    }
    return shorten(body);
}

std::exception_ptr map_http_error(int status, std::string_view body, const Headers& headers,
                                  std::string_view context) {
    const std::string message = provider_error_message(body);
    std::string what = "LM provider returned HTTP " + std::to_string(status);
    if (const char* r = reason(status); *r) what += std::string(" ") + r;
    if (!context.empty()) what += " for " + std::string(context);
    what += ": " + (message.empty() ? std::string("(empty body)") : message);

    if (context_window_overflow(status, body, message))
        return std::make_exception_ptr(ContextWindowExceededError(
            what + " (the prompt does not fit the model's context window: use fewer demos or shorter inputs, or a "
                   "model with a larger window)"));
    if (status == 429) {
        std::optional<std::chrono::milliseconds> retry_after;
        if (const std::string* ms = find_header(headers, "retry-after-ms")) {
            if (auto v = parse_retry_after(*ms)) retry_after = std::chrono::milliseconds(v->count() / 1000);
        }
        if (!retry_after)
            if (const std::string* ra = find_header(headers, "retry-after")) retry_after = parse_retry_after(*ra);
        return std::make_exception_ptr(
            LMRateLimitError(what + " (rate limited: retry later, lower the request rate or raise your quota)",
                             retry_after));
    }
    if (status == 401 || status == 403) what += " (check the API key and its permissions)";
    return std::make_exception_ptr(LMProviderError(what, status));
}

void throw_http_error(int status, std::string_view body, const Headers& headers, std::string_view context) {
    std::rethrow_exception(map_http_error(status, body, headers, context));
}

}  // namespace dspy::http
