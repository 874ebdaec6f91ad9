#pragma once
/// @file
/// BaseLM: the interface every language model client implements.

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/inspect_history.hpp"

namespace dspy {

/// One chat message. @sa the OpenAI chat message dicts DSPy builds
struct Message {
    std::string role;  ///< "system", "user" or "assistant"
    std::string content;
    friend bool operator==(const Message&, const Message&) = default;
};
using Messages = std::vector<Message>;

/// `[{"role": ..., "content": ...}, ...]`
Json messages_to_json(const Messages& messages);

/// One completion: its text plus provider extras (reasoning_content, tool_calls, logprobs) when present.
/// @sa the `str | dict` outputs of BaseLM.forward
struct LMOutput {
    std::string text;
    Json extra = Json::object();
};

/// What one provider request returned: the completions plus what DSPy reads off the raw response.
/// @sa the litellm ModelResponse DSPy's BaseLM.forward returns
struct LMResponse {
    std::vector<LMOutput> outputs{};
    Json usage = Json::object();  ///< prompt/completion/total tokens as the provider reported them
    bool cache_hit = false;       ///< a cache hit counts no usage
    std::string response_model{};  ///< the model the provider says answered (may be empty)
};

/// The interface every LM implements. Subclasses override `forward` (sync), `aforward` (async) or both; each
/// defaults to the other, so an LM written either way serves both kinds of caller. @sa dspy.BaseLM
class BaseLM {
public:
    /// `kwargs` are the default request parameters (temperature, max_tokens, n, ...).
    explicit BaseLM(std::string model, std::string model_type = "chat", Json kwargs = Json::object());
    virtual ~BaseLM() = default;
    BaseLM(const BaseLM&) = delete;
    BaseLM& operator=(const BaseLM&) = delete;

    /// Runs one request synchronously. `kwargs` are this call's parameters, already merged over the defaults.
    /// Default: drives `aforward` to completion on this thread. @sa BaseLM.forward
    virtual LMResponse forward(const Messages& messages, const Json& kwargs);
    /// Runs one request asynchronously. Default: runs `forward` inline (fine for instant LMs such as DummyLM;
    /// network LMs override it). @sa BaseLM.aforward
    virtual Task<LMResponse> aforward(Messages messages, Json kwargs);

    /// Merges `kwargs` over the defaults, calls forward, records history and usage, runs callbacks.
    /// @sa BaseLM.__call__
    std::vector<LMOutput> operator()(const Messages& messages, const Json& kwargs = Json::object());
    /// The async twin of operator(): the same steps around `aforward`. @sa BaseLM.acall
    Task<std::vector<LMOutput>> acall(Messages messages, Json kwargs = Json::object());

    /// Whether the model accepts native tool definitions (`tools=`). A plain BaseLM says no, as DSPy's does.
    /// @sa BaseLM.supports_function_calling
    [[nodiscard]] virtual bool supports_function_calling() const { return false; }
    /// Whether the model has native reasoning (extended thinking). @sa BaseLM.supports_reasoning
    [[nodiscard]] virtual bool supports_reasoning() const { return false; }
    /// Whether the model accepts a JSON-schema `response_format` (structured outputs). JSONAdapter uses it to
    /// choose between structured outputs and `{"type": "json_object"}`. @sa BaseLM.supports_response_schema
    [[nodiscard]] virtual bool supports_response_schema() const { return false; }
    /// The OpenAI-style request parameters the model accepts (`response_format`, `tools`, ...); empty for a plain
    /// BaseLM, so JSONAdapter then sends no `response_format` at all. @sa BaseLM.supported_params
    [[nodiscard]] virtual std::vector<std::string> supported_params() const { return {}; }
    /// Whether `name` is among supported_params().
    [[nodiscard]] bool supports_param(std::string_view name) const {
        for (const auto& p : supported_params())
            if (p == name) return true;
        return false;
    }

    [[nodiscard]] const std::string& model() const { return model_; }
    [[nodiscard]] const std::string& model_type() const { return model_type_; }
    /// The default request parameters. @sa BaseLM.kwargs
    [[nodiscard]] const Json& kwargs() const { return kwargs_; }
    /// The state saved with a program (`lm` key), never including an API key. @sa BaseLM.dump_state
    [[nodiscard]] virtual Json dump_state() const;
    /// The recorded calls, oldest first (copies, safe to modify). @sa BaseLM.history
    [[nodiscard]] std::vector<Json> history() const;
    /// The recorded calls, oldest first, as the shared entries themselves (no copy; the same objects the global
    /// and module histories hold). @sa BaseLM.history
    [[nodiscard]] std::vector<HistoryEntry> history_entries() const;
    /// Prints the last `n` calls like DSPy (colours on a terminal). @sa BaseLM.inspect_history
    std::string inspect_history(int n = 1) const;
    /// Callbacks of this LM instance (run with the global ones). @sa BaseLM.callbacks
    std::vector<std::shared_ptr<BaseCallback>>& callbacks() { return callbacks_; }

protected:
    std::string model_;
    std::string model_type_;
    Json kwargs_;

private:
    Task<std::vector<LMOutput>> call(bool sync, const Messages& messages, const Json& kwargs);
    void update_history(HistoryEntry entry);
    mutable std::mutex history_mu_;
    std::deque<HistoryEntry> history_;  // trimmed at the front once full: a deque keeps that O(1)
    std::vector<std::shared_ptr<BaseCallback>> callbacks_;
};

/// Every LM call of the process, capped at 10,000 entries. @sa dspy.clients.base_lm.GLOBAL_HISTORY
std::vector<Json> global_history();
/// The same entries, shared rather than copied. @sa dspy.clients.base_lm.GLOBAL_HISTORY
std::vector<HistoryEntry> global_history_entries();
/// Prints the last `n` LM calls of the process like DSPy and returns the text. @sa dspy.inspect_history
std::string inspect_history(int n = 1);

}  // namespace dspy
