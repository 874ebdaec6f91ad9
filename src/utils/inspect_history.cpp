#include "dspy/utils/inspect_history.hpp"

#include <cctype>

#include "utils/pyfmt.hpp"

namespace dspy {
namespace {

// The helpers return what Python's _red/_green/_blue return; `print` then appends one more newline.
std::string colour(const char* code, std::string_view text, bool use, std::string_view end = "\n") {
    std::string out;
    if (use) out += code;
    out += text;
    if (use) out += "\x1b[0m";
    out += end;
    return out;
}
std::string red(std::string_view t, bool use, std::string_view end = "\n") { return colour("\x1b[31m", t, use, end); }
std::string blue(std::string_view t, bool use) { return colour("\x1b[34m", t, use); }
std::string green(std::string_view t, bool use) { return colour("\x1b[32m", pyfmt::lstrip(t), use); }

std::string capitalize(const std::string& s) {
    std::string out = s;
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

void print(std::string& out, std::string_view s) {
    out += s;
    out += '\n';
}

void print_tool_calls(std::string& out, const Json& tool_calls, bool use) {
    if (!tool_calls.is_array() || tool_calls.empty()) return;
    print(out, red("Tool calls:", use));
    for (const auto& call : tool_calls) {
        Json function = call.value("function", Json::object());
        if (function.is_null()) function = Json::object();
        Json arguments = function.contains("arguments") && !function["arguments"].is_null()
                             ? function["arguments"]
                             : call.value("args", call.value("arguments", Json::object()));
        if (arguments.is_string()) {
            Json parsed = Json::parse(arguments.get<std::string>(), nullptr, false);
            if (!parsed.is_discarded()) arguments = parsed;
        }
        std::string name = function.contains("name") && function["name"].is_string() && !function["name"].empty()
                               ? function["name"].get<std::string>()
                               : call.value("name", "<unknown>");
        std::string args = arguments.is_object() || arguments.is_array() ? pyfmt::json_dumps(arguments)
                                                                         : pyfmt::str(arguments);
        print(out, green(name + ": " + args, use));
    }
}

const Json& entry_at(const std::vector<Json>& history, size_t i) { return history[i]; }
const Json& entry_at(const std::vector<HistoryEntry>& history, size_t i) {
    static const Json kEmpty = Json::object();
    return history[i] ? *history[i] : kEmpty;
}

template <typename History>
std::string format_entries(const History& history, int n, bool use) {
    std::string out;
    size_t start = n <= 0 || static_cast<size_t>(n) >= history.size() ? 0 : history.size() - static_cast<size_t>(n);
    if (n <= 0) start = history.size();  // Python's history[-0:] is the whole list, but n=0 asks for nothing
    for (size_t i = start; i < history.size(); ++i) {
        const Json& item = entry_at(history, i);
        Json messages = item.value("messages", Json());
        if (messages.is_null() || messages.empty())
            messages = Json::array({Json{{"role", "user"}, {"content", item.value("prompt", Json(""))}}});
        const Json outputs = item.value("outputs", Json::array());
        print(out, "\n\n\n");
        print(out, blue("[" + item.value("timestamp", std::string("Unknown time")) + "]", use));
        for (const auto& msg : messages) {
            print(out, red(capitalize(msg.value("role", "user")) + " message:", use));
            const Json& content = msg.contains("content") ? msg["content"] : Json();
            if (content.is_string()) {
                print(out, pyfmt::strip(content.get_ref<const std::string&>()));
            } else if (content.is_array()) {
                for (const auto& c : content) {
                    std::string type = c.value("type", "");
                    if (type == "text") {
                        print(out, pyfmt::strip(c.value("text", "")));
                    } else if (type == "image_url") {
                        std::string url = c.value("image_url", Json::object()).value("url", "");
                        auto b64 = url.find("base64,");
                        std::string s = b64 != std::string::npos
                                            ? "<" + url.substr(0, b64) + "base64,<IMAGE BASE 64 ENCODED(" +
                                                  std::to_string(url.size() - b64 - 7) + ")>"
                                            : "<image_url: " + url + ">";
                        print(out, blue(pyfmt::strip(s), use));
                    }
                }
            }
            print_tool_calls(out, msg.value("tool_calls", Json()), use);
            print(out, "\n");
        }
        if (!outputs.empty()) {
            const Json& first = outputs[0];
            if (first.is_object()) {
                if (first.contains("text") && first["text"].is_string() && !first["text"].empty()) {
                    print(out, red("Response:", use));
                    print(out, green(pyfmt::strip(first["text"].get_ref<const std::string&>()), use));
                }
                print_tool_calls(out, first.value("tool_calls", Json()), use);
            } else {
                print(out, red("Response:", use));
                print(out, green(pyfmt::strip(first.is_string() ? first.get_ref<const std::string&>() : ""), use));
            }
            if (outputs.size() > 1)
                print(out, red(" \t (and " + std::to_string(outputs.size() - 1) + " other completions)", use, ""));
        }
    }
    print(out, "\n\n\n");
    return out;
}

}  // namespace

std::string format_history(const std::vector<Json>& history, int n, bool use) {
    return format_entries(history, n, use);
}

std::string format_history(const std::vector<HistoryEntry>& history, int n, bool use) {
    return format_entries(history, n, use);
}

}  // namespace dspy
