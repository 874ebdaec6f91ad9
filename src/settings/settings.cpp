// Settings snapshots that follow the logical task (see DESIGN.md §4 "Settings that follow the task").
// The one thread_local of the runtime lives here: the current snapshot and task id of whatever runs on this
// thread. Everything reaches it through out-of-line functions.
#include "dspy/settings/settings.hpp"

#include "dspy/utils/exceptions.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

namespace dspy {
namespace {

struct Global {
    std::mutex mu;
    std::shared_ptr<const Settings> snapshot = std::make_shared<const Settings>();
    std::atomic<std::uint64_t> version{1};
    std::optional<std::thread::id> owner_thread;
    std::uint64_t owner_task = 0;
};
Global& global() {
    static Global g;
    return g;
}

struct ThreadState {
    detail::TaskContext current;                 // the snapshot (null: follow the global one) and task id
    std::shared_ptr<const Settings> cached_global;  // avoids the global mutex on every read
    std::uint64_t cached_version = 0;
};
thread_local ThreadState tl;

std::atomic<std::uint64_t> next_task_id{1};

std::shared_ptr<const Settings> global_snapshot() {
    auto& g = global();
    std::uint64_t v = g.version.load(std::memory_order_acquire);
    if (v != tl.cached_version || !tl.cached_global) {
        std::lock_guard lk(g.mu);
        tl.cached_global = g.snapshot;
        tl.cached_version = g.version.load(std::memory_order_relaxed);
    }
    return tl.cached_global;
}

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
    if (o.extra) {
        if (!o.extra->is_object())
            throw TypeError("SettingsOverrides::extra must be a JSON object of setting names to values, got " +
                            o.extra->dump());
        for (auto it = o.extra->begin(); it != o.extra->end(); ++it) s.extra[it.key()] = it.value();
    }
    if (o.trace) s.trace = *o.trace;
    if (o.callbacks) s.callbacks = *o.callbacks;
    if (o.usage_tracker) s.usage_tracker = *o.usage_tracker;
    if (o.caller_modules) s.caller_modules = *o.caller_modules;
    if (o.active_call_id) s.active_call_id = *o.active_call_id;
    if (o.predict_overrides) s.predict_overrides = *o.predict_overrides;
    if (o.send_stream) s.send_stream = *o.send_stream;
    return s;
}

}  // namespace

// ---- task context ------------------------------------------------------------------------------------------

namespace detail {

TaskContext capture_context() noexcept { return tl.current; }

void restore_context(TaskContext&& ctx) noexcept {
    tl.current.task_id = ctx.task_id;
    if (tl.current.settings != ctx.settings) tl.current.settings.swap(ctx.settings);
}

TaskContext exchange_context(TaskContext&& ctx) noexcept {
    TaskContext old = std::move(tl.current);
    tl.current = std::move(ctx);
    return old;
}

void reset_context() noexcept {
    tl.current.task_id = 0;
    if (tl.current.settings) tl.current.settings.reset();
}

std::uint64_t new_task_id() noexcept { return next_task_id.fetch_add(1, std::memory_order_relaxed); }

std::uint64_t current_task_id() noexcept { return tl.current.task_id; }

void reset_settings_for_testing() {
    auto& g = global();
    std::lock_guard lk(g.mu);
    g.snapshot = std::make_shared<const Settings>();
    g.version.fetch_add(1, std::memory_order_release);
    g.owner_thread.reset();
    g.owner_task = 0;
    tl.current.settings.reset();
}

}  // namespace detail

// ---- Trace ---------------------------------------------------------------------------------------------------

void Trace::append(TraceEntry entry, int max_size) { push(Stored{std::move(entry), false}, max_size); }

void Trace::record(const Predict* predictor, const Json& inputs, const Prediction& prediction, int max_size) {
    if (max_size <= 0) return;
    const auto& completions = prediction.completions();
    if (completions.size() == 1 && !prediction.input_keys() && completions.front() == prediction.data()) {
        Prediction fields(prediction.data());
        fields.set_lm_usage(prediction.get_lm_usage());
        push(Stored{TraceEntry{predictor, inputs, std::move(fields)}, true}, max_size);
    } else {
        push(Stored{TraceEntry{predictor, inputs, prediction}, false}, max_size);
    }
}

void Trace::push(Stored stored, int max_size) {
    if (max_size <= 0) return;
    std::lock_guard lk(mu_);
    if (entries_.size() >= static_cast<std::size_t>(max_size)) entries_.pop_front();  // DSPy pops one
    entries_.push_back(std::move(stored));
}

std::vector<TraceEntry> Trace::entries() const {
    std::lock_guard lk(mu_);
    std::vector<TraceEntry> out;
    out.reserve(entries_.size());
    for (const auto& s : entries_) {
        if (!s.single_completion) {
            out.push_back(s.entry);
            continue;
        }
        Prediction p = Prediction::from_completions({s.entry.prediction.data()});
        p.set_lm_usage(s.entry.prediction.get_lm_usage());
        out.push_back(TraceEntry{s.entry.predictor, s.entry.inputs, std::move(p)});
    }
    return out;
}

std::size_t Trace::size() const {
    std::lock_guard lk(mu_);
    return entries_.size();
}

void Trace::clear() {
    std::lock_guard lk(mu_);
    entries_.clear();
}

// ---- Settings ------------------------------------------------------------------------------------------------

Json Settings::get(std::string_view key, Json default_value) const {
    if (key == "async_max_workers") return async_max_workers;
    if (key == "allow_tool_async_sync_conversion") return allow_tool_async_sync_conversion;
    if (key == "disable_history") return disable_history;
    if (key == "track_usage") return track_usage;
    if (key == "provide_traceback") return provide_traceback;
    if (key == "num_threads") return num_threads;
    if (key == "max_errors") return max_errors;
    if (key == "max_history_size") return max_history_size;
    if (key == "max_trace_size") return max_trace_size;
    if (key == "warn_on_type_mismatch") return warn_on_type_mismatch;
    auto it = extra.find(key);
    if (it != extra.end()) return *it;
    return default_value;
}

bool Settings::contains(std::string_view key) const {
    static constexpr std::string_view kKeys[] = {
        "lm", "adapter", "async_max_workers", "allow_tool_async_sync_conversion", "disable_history",
        "track_usage", "provide_traceback", "num_threads", "max_errors", "max_history_size", "max_trace_size",
        "warn_on_type_mismatch", "trace", "callbacks"};
    for (auto k : kKeys)
        if (k == key) return true;
    return extra.contains(key);
}

std::shared_ptr<const Settings> settings() {
    if (tl.current.settings) return tl.current.settings;
    return global_snapshot();
}

void configure(const SettingsOverrides& overrides) {
    auto& g = global();
    std::lock_guard lk(g.mu);
    const auto me = std::this_thread::get_id();
    if (!g.owner_thread) g.owner_thread = me;
    if (*g.owner_thread != me)
        throw std::runtime_error("dspy.settings can only be changed by the thread that initially configured it.");
    if (const std::uint64_t task = tl.current.task_id; task != 0) {
        if (g.owner_task == 0)
            g.owner_task = task;
        else if (g.owner_task != task)
            throw std::runtime_error(
                "dspy.configure(...) can only be called from the same async task that called it first. Please "
                "use `dspy.context(...)` in other async tasks instead.");
    }
    g.snapshot = std::make_shared<const Settings>(apply(*g.snapshot, overrides));
    g.version.fetch_add(1, std::memory_order_release);
}

ContextScope context(const SettingsOverrides& overrides) {
    auto next = std::make_shared<const Settings>(apply(*settings(), overrides));
    ContextScope scope(std::move(tl.current.settings));
    tl.current.settings = std::move(next);
    return scope;
}

ContextScope::~ContextScope() {
    if (active_) tl.current.settings = std::move(previous_);
}

}  // namespace dspy
