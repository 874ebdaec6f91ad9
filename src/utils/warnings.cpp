#include "dspy/utils/warnings.hpp"

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace dspy {

namespace {
std::mutex g_mu;
std::shared_ptr<const WarningHandler> g_handler;  // null: the default stderr sink

void default_sink(std::string_view message) {
    std::string line = "dspy WARNING: ";
    line.append(message);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);  // one write, so concurrent warnings do not interleave
}
}  // namespace

WarningHandler set_warning_handler(WarningHandler handler) {
    auto next = handler ? std::make_shared<const WarningHandler>(std::move(handler)) : nullptr;
    std::lock_guard lk(g_mu);
    auto previous = std::move(g_handler);
    g_handler = std::move(next);
    return previous ? *previous : WarningHandler{};
}

void warn(std::string_view message) {
    std::shared_ptr<const WarningHandler> h;
    {
        std::lock_guard lk(g_mu);
        h = g_handler;
    }
    if (h)
        (*h)(message);
    else
        default_sink(message);
}

}  // namespace dspy
