#pragma once
/// @file
/// BaseLM: the interface every language model client implements.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/json.hpp"

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

/// The interface every LM implements; subclasses provide `forward`. @sa dspy.BaseLM
class BaseLM {
public:
    /// `kwargs` are the default request parameters (temperature, max_tokens, n, ...).
    explicit BaseLM(std::string model, std::string model_type = "chat", Json kwargs = Json::object());
    virtual ~BaseLM() = default;
    BaseLM(const BaseLM&) = delete;
    BaseLM& operator=(const BaseLM&) = delete;

    /// Runs one request. `kwargs` are this call's parameters (already merged over the defaults by the caller).
    /// @sa BaseLM.forward
    virtual std::vector<LMOutput> forward(const Messages& messages, const Json& kwargs) = 0;

    /// Merges `kwargs` over the defaults, calls forward and records the call in history. @sa BaseLM.__call__
    std::vector<LMOutput> operator()(const Messages& messages, const Json& kwargs = Json::object());

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
    /// The recorded calls, oldest first. @sa BaseLM.history
    [[nodiscard]] std::vector<Json> history() const;

protected:
    std::string model_;
    std::string model_type_;
    Json kwargs_;

private:
    mutable std::mutex history_mu_;
    std::vector<Json> history_;
};

}  // namespace dspy
