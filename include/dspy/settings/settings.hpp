#pragma once
/// @file
/// Global configuration and scoped overrides that follow the logical task. @sa dspy/dsp/utils/settings.py

#include <memory>
#include <optional>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

class BaseLM;
class Adapter;

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
};

/// Which settings to change; unset members are left alone.
/// `dspy::configure({.lm = lm, .async_max_workers = 4})`. @sa dspy.configure keyword arguments
struct SettingsOverrides {
    std::optional<std::shared_ptr<BaseLM>> lm;
    std::optional<std::shared_ptr<const Adapter>> adapter;
    std::optional<int> async_max_workers;
    std::optional<bool> allow_tool_async_sync_conversion;
    std::optional<bool> disable_history;
    std::optional<bool> track_usage;
    std::optional<bool> provide_traceback;
    std::optional<int> num_threads;
    std::optional<int> max_errors;
    std::optional<int> max_history_size;
    std::optional<int> max_trace_size;
    std::optional<bool> warn_on_type_mismatch;
    std::optional<Json> extra;  ///< merged key by key
};

/// The settings visible here: the innermost `context()` of this logical task, else the global ones.
/// @sa dspy.settings
[[nodiscard]] std::shared_ptr<const Settings> settings();

/// Changes the global settings. Only the thread (and task) that first called it may call it again.
/// @throws std::runtime_error with DSPy's message otherwise. @sa dspy.configure
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
/// global ⊕ current ⊕ overrides. @sa dspy.context
ContextScope context(const SettingsOverrides& overrides);

}  // namespace dspy
