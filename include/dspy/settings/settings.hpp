#pragma once
/// @file
/// Global configuration and scoped overrides that follow the logical task. @sa dspy/dsp/utils/settings.py
///
/// A settings snapshot is immutable and shared. `configure()` replaces the global snapshot (owner thread/task
/// only); `context()` installs global ⊕ current ⊕ overrides for the current logical task until its scope ends.
/// Tasks carry their snapshot across awaits and threads; fork points (when_all, spawn, asyncify, ThreadPool
/// jobs) hand children the parent's snapshot, and a child's context() never reaches its parent.

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/async/task_context.hpp"
#include "dspy/json.hpp"
#include "dspy/primitives/prediction.hpp"

namespace dspy {

class BaseLM;
class Adapter;
class Predict;
class BaseCallback;
class Module;
class UsageTracker;
struct PredictOverrides;
class StreamSink;

/// One `(predictor, inputs, prediction)` record of `settings.trace`. @sa the tuples Predict appends to trace
struct TraceEntry {
    const Predict* predictor = nullptr;
    Json inputs;
    Prediction prediction;
};

/// The trace list: shared and appended to by every predictor that sees it (thread-safe), like DSPy's global
/// `trace` list; `context({.trace = std::make_shared<Trace>()})` gives a block its own. @sa settings.trace
class Trace {
public:
    /// Appends, dropping the oldest entry once `max_size` is reached; `max_size <= 0` appends nothing.
    void append(TraceEntry entry, int max_size = 10000);
    /// Appends copies of a predictor's inputs and prediction, as `append` does. @sa Predict.forward
    void record(const Predict* predictor, const Json& inputs, const Prediction& prediction, int max_size = 10000);
    /// A copy of the entries, oldest first.
    [[nodiscard]] std::vector<TraceEntry> entries() const;
    [[nodiscard]] std::size_t size() const;
    void clear();

private:
    struct Stored {
        TraceEntry entry;
        // The prediction's one completion equals its fields (every n=1 call): it is kept once and rebuilt by
        // entries(), which saves about a third of a full trace's 10,000 entries.
        bool single_completion = false;
    };
    void push(Stored stored, int max_size);

    mutable std::mutex mu_;
    std::deque<Stored> entries_;  // trimmed at the front once full: a deque keeps that O(1)
};

/// One immutable snapshot of every setting. Read it with `dspy::settings()`. @sa dspy.settings
struct Settings {
    std::shared_ptr<BaseLM> lm;                  ///< default LM (none until configured)
    std::shared_ptr<const Adapter> adapter;      ///< null means a fresh ChatAdapter per call
    int async_max_workers = 8;                   ///< asyncify's worker limit
    bool allow_tool_async_sync_conversion = false;
    bool disable_history = false;
    bool track_usage = false;
    bool provide_traceback = false;
    int num_threads = 8;
    int max_errors = 10;
    int max_history_size = 10000;
    int max_trace_size = 10000;
    bool warn_on_type_mismatch = true;
    Json extra = Json::object();                 ///< keys DSPy accepts but we do not interpret
    std::shared_ptr<Trace> trace = std::make_shared<Trace>();  ///< null disables tracing @sa settings.trace
    std::vector<std::shared_ptr<BaseCallback>> callbacks;      ///< global callbacks @sa settings.callbacks
    /// The active usage tracker (set by track_usage scopes and Module calls). @sa settings.usage_tracker
    std::shared_ptr<UsageTracker> usage_tracker;
    /// The modules whose call is in progress, outermost first (their history gets each LM call).
    /// @sa settings.caller_modules
    std::shared_ptr<const std::vector<Module*>> caller_modules;
    /// The call id of the innermost callback-wrapped call in progress (empty: none), so that calls made inside
    /// it, on any thread or task forked from it, can name their parent. @sa dspy.utils.callback.ACTIVE_CALL_ID
    std::string active_call_id;
    /// Per-predictor replacements of lm, config, demos or signature for the calls in this scope: Predict's
    /// per-call options, and Refine/BestOfN's stand-in for `deepcopy()` + `set_lm()`. Null: none.
    /// @sa the privileged keyword arguments of Predict._forward_preprocess
    std::shared_ptr<const PredictOverrides> predict_overrides;
    /// Where a streaming call sends its chunks and status messages (set by streamify; null: no streaming).
    /// @sa settings.send_stream
    std::shared_ptr<StreamSink> send_stream;

    /// A setting by DSPy's key name: the scalar keys above, then `extra`; `default_value` when absent.
    /// @sa Settings.get
    [[nodiscard]] Json get(std::string_view key, Json default_value = nullptr) const;
    /// Whether `key` names a scalar setting or an `extra` key. @sa Settings.__contains__
    [[nodiscard]] bool contains(std::string_view key) const;
};

/// Which settings to change; unset members are left alone.
/// `dspy::configure({.lm = lm, .async_max_workers = 4})`. @sa dspy.configure keyword arguments
struct SettingsOverrides {
    // Every member has a default initializer so that g++ -Wextra does not warn about designated
    // initialisers that name only some of them (-Wmissing-field-initializers).
    std::optional<std::shared_ptr<BaseLM>> lm{};
    std::optional<std::shared_ptr<const Adapter>> adapter{};
    std::optional<int> async_max_workers{};
    std::optional<bool> allow_tool_async_sync_conversion{};
    std::optional<bool> disable_history{};
    std::optional<bool> track_usage{};
    std::optional<bool> provide_traceback{};
    std::optional<int> num_threads{};
    std::optional<int> max_errors{};
    std::optional<int> max_history_size{};
    std::optional<int> max_trace_size{};
    std::optional<bool> warn_on_type_mismatch{};
    std::optional<Json> extra{};  ///< merged key by key
    std::optional<std::shared_ptr<Trace>> trace{};  ///< a fresh Trace for a task-local trace; nullptr disables
    std::optional<std::vector<std::shared_ptr<BaseCallback>>> callbacks{};
    std::optional<std::shared_ptr<UsageTracker>> usage_tracker{};
    std::optional<std::shared_ptr<const std::vector<Module*>>> caller_modules{};
    std::optional<std::string> active_call_id{};
    std::optional<std::shared_ptr<const PredictOverrides>> predict_overrides{};
    std::optional<std::shared_ptr<StreamSink>> send_stream{};
};

/// The settings visible here: the innermost `context()` of this logical task, else the global ones.
/// @sa dspy.settings
[[nodiscard]] std::shared_ptr<const Settings> settings();

/// Changes the global settings. Only the thread (and, inside a task, the task) that first called it may call it
/// again. @throws std::runtime_error with DSPy's message otherwise. @sa dspy.configure
void configure(const SettingsOverrides& overrides);

/// Restores the previous settings when it goes out of scope. @sa dspy.context
class [[nodiscard]] ContextScope {
public:
    explicit ContextScope(std::shared_ptr<const Settings> previous) : previous_(std::move(previous)) {}
    ContextScope(ContextScope&& other) noexcept : previous_(std::move(other.previous_)), active_(other.active_) {
        other.active_ = false;
    }
    ContextScope(const ContextScope&) = delete;
    ContextScope& operator=(const ContextScope&) = delete;
    ContextScope& operator=(ContextScope&&) = delete;
    ~ContextScope();

private:
    std::shared_ptr<const Settings> previous_;
    bool active_ = true;
};

/// Overrides settings for the current logical task until the returned scope ends: a snapshot of
/// global ⊕ current ⊕ overrides (so a configure() made inside the block is not visible in it). @sa dspy.context
ContextScope context(const SettingsOverrides& overrides);

namespace detail {
/// Back to the defaults with no configure owner (tests only; DSPy's tests reset the same globals).
void reset_settings_for_testing();
}  // namespace detail

}  // namespace dspy
