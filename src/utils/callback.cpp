#include "dspy/utils/callback.hpp"

#include <cstdio>
#include <random>

#include "dspy/settings/settings.hpp"

namespace dspy {

void BaseCallback::on_module_start(const std::string&, const Module&, const Json&) {}
void BaseCallback::on_module_end(const std::string&, const Json*, std::exception_ptr) {}
void BaseCallback::on_lm_start(const std::string&, const BaseLM&, const Json&) {}
void BaseCallback::on_lm_end(const std::string&, const Json*, std::exception_ptr) {}
void BaseCallback::on_adapter_format_start(const std::string&, const Adapter&, const Json&) {}
void BaseCallback::on_adapter_format_end(const std::string&, const Json*, std::exception_ptr) {}
void BaseCallback::on_adapter_parse_start(const std::string&, const Adapter&, const Json&) {}
void BaseCallback::on_adapter_parse_end(const std::string&, const Json*, std::exception_ptr) {}
void BaseCallback::on_tool_start(const std::string&, const Tool&, const Json&) {}
void BaseCallback::on_tool_end(const std::string&, const Json*, std::exception_ptr) {}
void BaseCallback::on_evaluate_start(const std::string&, const Evaluate&, const Json&) {}
void BaseCallback::on_evaluate_end(const std::string&, const Json*, std::exception_ptr) {}

std::optional<std::string> active_call_id() {
    auto s = settings();
    if (s->active_call_id.empty()) return std::nullopt;
    return s->active_call_id;
}

namespace detail {

std::string new_call_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(32, '0');
    uint64_t a = rng(), b = rng();
    for (int i = 0; i < 16; ++i) {
        id[static_cast<size_t>(i)] = kHex[(a >> (4 * i)) & 0xf];
        id[static_cast<size_t>(16 + i)] = kHex[(b >> (4 * i)) & 0xf];
    }
    return id;
}

namespace {
template <typename F>
void guarded(const char* hook, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dspy WARNING: Error when calling callback %s: %s\n", hook, e.what());
    } catch (...) {
        std::fprintf(stderr, "dspy WARNING: Error when calling callback %s\n", hook);
    }
}
}  // namespace

CallbackScope::CallbackScope(CallbackKind kind, const std::vector<std::shared_ptr<BaseCallback>>* own)
    : kind_(kind) {
    auto s = settings();
    if (s->callbacks.empty() && (!own || own->empty())) return;
    callbacks_ = s->callbacks;
    if (own) callbacks_.insert(callbacks_.end(), own->begin(), own->end());
    call_id_ = new_call_id();
}

void CallbackScope::start(const void* instance, const Json& inputs) {
    for (auto& cb : callbacks_) {
        switch (kind_) {
            case CallbackKind::Module:
                guarded("on_module_start",
                        [&] { cb->on_module_start(call_id_, *static_cast<const Module*>(instance), inputs); });
                break;
            case CallbackKind::LM:
                guarded("on_lm_start", [&] { cb->on_lm_start(call_id_, *static_cast<const BaseLM*>(instance), inputs); });
                break;
            case CallbackKind::AdapterFormat:
                guarded("on_adapter_format_start", [&] {
                    cb->on_adapter_format_start(call_id_, *static_cast<const Adapter*>(instance), inputs);
                });
                break;
            case CallbackKind::AdapterParse:
                guarded("on_adapter_parse_start", [&] {
                    cb->on_adapter_parse_start(call_id_, *static_cast<const Adapter*>(instance), inputs);
                });
                break;
            case CallbackKind::Tool:
                guarded("on_tool_start", [&] { cb->on_tool_start(call_id_, *static_cast<const Tool*>(instance), inputs); });
                break;
            case CallbackKind::Evaluate:
                guarded("on_evaluate_start", [&] {
                    cb->on_evaluate_start(call_id_, *static_cast<const Evaluate*>(instance), inputs);
                });
                break;
        }
    }
}

void CallbackScope::finish(const Json* outputs, std::exception_ptr e) {
    if (ended_) return;
    ended_ = true;
    for (auto& cb : callbacks_) {
        switch (kind_) {
            case CallbackKind::Module:
                guarded("on_module_end", [&] { cb->on_module_end(call_id_, outputs, e); });
                break;
            case CallbackKind::LM:
                guarded("on_lm_end", [&] { cb->on_lm_end(call_id_, outputs, e); });
                break;
            case CallbackKind::AdapterFormat:
                guarded("on_adapter_format_end", [&] { cb->on_adapter_format_end(call_id_, outputs, e); });
                break;
            case CallbackKind::AdapterParse:
                guarded("on_adapter_parse_end", [&] { cb->on_adapter_parse_end(call_id_, outputs, e); });
                break;
            case CallbackKind::Tool:
                guarded("on_tool_end", [&] { cb->on_tool_end(call_id_, outputs, e); });
                break;
            case CallbackKind::Evaluate:
                guarded("on_evaluate_end", [&] { cb->on_evaluate_end(call_id_, outputs, e); });
                break;
        }
    }
}

void CallbackScope::end(const Json& outputs) { finish(&outputs, nullptr); }
void CallbackScope::fail(std::exception_ptr e) { finish(nullptr, std::move(e)); }
CallbackScope::~CallbackScope() {
    // Reached without end()/fail() only when the caller was abandoned (e.g. a cancelled coroutine frame).
    if (!ended_ && !callbacks_.empty()) finish(nullptr, std::current_exception());
}

}  // namespace detail
}  // namespace dspy
