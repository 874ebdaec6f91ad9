// Provisional single-threaded settings store; the async-core work replaces it with snapshots that follow tasks.
#include "dspy/settings/settings.hpp"

#include <mutex>

namespace dspy {
namespace {

std::shared_ptr<const Settings>& global_slot() {
    static std::shared_ptr<const Settings> s = std::make_shared<const Settings>();
    return s;
}
std::mutex& global_mu() {
    static std::mutex mu;
    return mu;
}
thread_local std::shared_ptr<const Settings> tl_current;

Settings apply(Settings s, const SettingsOverrides& o) {
    if (o.lm) s.lm = *o.lm;
    if (o.adapter) s.adapter = *o.adapter;
    if (o.async_max_workers) s.async_max_workers = *o.async_max_workers;
    if (o.allow_tool_async_sync_conversion) s.allow_tool_async_sync_conversion = *o.allow_tool_async_sync_conversion;
    if (o.disable_history) s.disable_history = *o.disable_history;
    if (o.track_usage) s.track_usage = *o.track_usage;
    if (o.provide_traceback) s.provide_traceback = *o.provide_traceback;
    if (o.num_threads) s.num_threads = *o.num_threads;
    if (o.max_errors) s.max_errors = *o.max_errors;
    if (o.max_history_size) s.max_history_size = *o.max_history_size;
    if (o.max_trace_size) s.max_trace_size = *o.max_trace_size;
    if (o.warn_on_type_mismatch) s.warn_on_type_mismatch = *o.warn_on_type_mismatch;
    if (o.extra && o.extra->is_object())
        for (auto it = o.extra->begin(); it != o.extra->end(); ++it) s.extra[it.key()] = it.value();
    return s;
}
}  // namespace

std::shared_ptr<const Settings> settings() {
    if (tl_current) return tl_current;
    std::lock_guard lk(global_mu());
    return global_slot();
}

void configure(const SettingsOverrides& overrides) {
    std::lock_guard lk(global_mu());
    global_slot() = std::make_shared<const Settings>(apply(*global_slot(), overrides));
}

ContextScope context(const SettingsOverrides& overrides) {
    auto prev = tl_current;
    tl_current = std::make_shared<const Settings>(apply(*settings(), overrides));
    return ContextScope(std::move(prev));
}

ContextScope::~ContextScope() {
    if (active_) tl_current = std::move(previous_);
}

}  // namespace dspy
