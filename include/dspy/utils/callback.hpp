#pragma once
/// @file
/// Callbacks around module, LM, adapter and tool calls. @sa dspy/utils/callback.py

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

class Module;
class BaseLM;
class Adapter;
class Tool;
class Evaluate;

/// Override the hooks you need; all default to doing nothing. A hook that throws is logged and ignored, as in
/// DSPy. `outputs` is null when the call failed, `exception` null when it succeeded. Hooks run on the thread
/// that makes the call. @sa dspy.utils.callback.BaseCallback
class BaseCallback {
public:
    virtual ~BaseCallback() = default;
    /// @sa BaseCallback.on_module_start
    virtual void on_module_start(const std::string& call_id, const Module& instance, const Json& inputs);
    /// @sa BaseCallback.on_module_end
    virtual void on_module_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
    /// `inputs`: `{"messages", "kwargs"}`. @sa BaseCallback.on_lm_start
    virtual void on_lm_start(const std::string& call_id, const BaseLM& instance, const Json& inputs);
    /// `outputs`: the completions' texts. @sa BaseCallback.on_lm_end
    virtual void on_lm_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
    /// `inputs`: `{"signature", "demos", "inputs"}`. @sa BaseCallback.on_adapter_format_start
    virtual void on_adapter_format_start(const std::string& call_id, const Adapter& instance, const Json& inputs);
    /// @sa BaseCallback.on_adapter_format_end
    virtual void on_adapter_format_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
    /// `inputs`: `{"signature", "completion"}`. @sa BaseCallback.on_adapter_parse_start
    virtual void on_adapter_parse_start(const std::string& call_id, const Adapter& instance, const Json& inputs);
    /// @sa BaseCallback.on_adapter_parse_end
    virtual void on_adapter_parse_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
    /// @sa BaseCallback.on_tool_start
    virtual void on_tool_start(const std::string& call_id, const Tool& instance, const Json& inputs);
    /// @sa BaseCallback.on_tool_end
    virtual void on_tool_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
    /// `inputs`: the call's options (`{"metric", "devset", "num_threads", "display_progress", "display_table",
    /// "callback_metadata"}`; devset as its size). @sa BaseCallback.on_evaluate_start
    virtual void on_evaluate_start(const std::string& call_id, const Evaluate& instance, const Json& inputs);
    /// `outputs`: `{"score", "results"}` (results as their count). @sa BaseCallback.on_evaluate_end
    virtual void on_evaluate_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception);
};

/// The call id of the innermost callback-wrapped call in progress in this task (none outside any, or when no
/// callback is active). Threads and tasks forked from a call (ParallelExecutor, when_all) inherit it.
/// @sa dspy.utils.callback.ACTIVE_CALL_ID.get()
[[nodiscard]] std::optional<std::string> active_call_id();

namespace detail {

/// Which family of hooks a call uses.
enum class CallbackKind { Module, LM, AdapterFormat, AdapterParse, Tool, Evaluate };

/// Collects the active callbacks (global, then the instance's own); `start` runs the start hooks and `end`/`fail`
/// the end hook (a scope never ended reports a failure). Costs one settings read when no callback is active, so
/// callers build the hooks' inputs only when `active()`.
class CallbackScope {
public:
    CallbackScope(CallbackKind kind, const std::vector<std::shared_ptr<BaseCallback>>* own);
    /// Whether any callback is active (so callers can skip building inputs and outputs).
    [[nodiscard]] bool active() const { return !callbacks_.empty(); }
    /// This call's id (empty when no callback is active); the parent id of calls made inside it.
    [[nodiscard]] const std::string& call_id() const { return call_id_; }
    /// Runs the start hooks; `instance` is the Module/BaseLM/Adapter/Tool making the call.
    void start(const void* instance, const Json& inputs);
    /// Reports success.
    void end(const Json& outputs);
    /// Reports a failure.
    void fail(std::exception_ptr e);
    ~CallbackScope();
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;

private:
    void finish(const Json* outputs, std::exception_ptr e);
    CallbackKind kind_;
    std::vector<std::shared_ptr<BaseCallback>> callbacks_;
    std::string call_id_;
    bool ended_ = false;
};

/// A random 32-hex-digit id (uuid4().hex).
std::string new_call_id();

}  // namespace detail
}  // namespace dspy
