#pragma once
/// @file
/// What a streamed program produces: field chunks, status messages, raw LM deltas and the final Prediction; the
/// sink the LM and the status callbacks write into; the status message hooks. @sa dspy/streaming/messages.py

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "dspy/json.hpp"
#include "dspy/primitives/prediction.hpp"
#include "dspy/utils/callback.hpp"

namespace dspy {

class Module;
class Tool;

/// One piece of one output field of one predictor. @sa dspy.streaming.StreamResponse
struct StreamResponse {
    std::string predict_name;
    std::string signature_field_name;
    std::string chunk;
    bool is_last_chunk = false;

    /// `{"predict_name", "signature_field_name", "chunk", "is_last_chunk"}` (the dataclass fields, in order).
    [[nodiscard]] Json to_json() const;
    bool operator==(const StreamResponse&) const = default;
};

/// A progress message from a StatusMessageProvider hook. @sa dspy.streaming.StatusMessage
struct StatusMessage {
    std::string message;
    bool operator==(const StatusMessage&) const = default;
};

/// One delta of a streamed LM response, tagged with the predictor that made the call (null outside a Predict).
/// streamify yields these as they are when no listener is given. @sa litellm ModelResponseStream + predict_id
struct LMStreamChunk {
    const Module* predict = nullptr;
    std::string content;            ///< `choices[0].delta.content` (may be empty)
    std::string reasoning_content;  ///< native reasoning delta, when the provider sends one
    Json raw;                       ///< the provider's event as received
};

/// Everything a streamed program can produce. @sa the values of streamify's async generator
using StreamValue = std::variant<StreamResponse, StatusMessage, LMStreamChunk, Prediction>;

/// Where streamed values go while a streamed program runs (the `send_stream` setting). `send` is thread-safe and
/// never blocks. @sa settings.send_stream (an anyio MemoryObjectSendStream)
class StreamSink {
public:
    virtual ~StreamSink() = default;
    /// Queues `value` for the consumer; dropped once the consumer has gone.
    virtual void send(StreamValue value) = 0;
    /// Whether an LM call made by `predict` should stream: always without listeners, else only when a listener
    /// listens to it. @sa Predict._forward_preprocess's should_stream
    [[nodiscard]] virtual bool wants(const Module* predict) const = 0;
};

/// Status texts around tool, module and LM calls; override the hooks you want (nullopt: no message).
/// @sa dspy.streaming.StatusMessageProvider
class StatusMessageProvider {
public:
    virtual ~StatusMessageProvider() = default;
    /// "Calling tool NAME...". @sa StatusMessageProvider.tool_start_status_message
    virtual std::optional<std::string> tool_start_status_message(const Tool& instance, const Json& inputs);
    /// "Tool calling finished! Querying the LLM with tool calling results...".
    /// @sa StatusMessageProvider.tool_end_status_message
    virtual std::optional<std::string> tool_end_status_message(const Json* outputs);
    /// @sa StatusMessageProvider.module_start_status_message
    virtual std::optional<std::string> module_start_status_message(const Module& instance, const Json& inputs);
    /// @sa StatusMessageProvider.module_end_status_message
    virtual std::optional<std::string> module_end_status_message(const Json* outputs);
    /// @sa StatusMessageProvider.lm_start_status_message
    virtual std::optional<std::string> lm_start_status_message(const BaseLM& instance, const Json& inputs);
    /// @sa StatusMessageProvider.lm_end_status_message
    virtual std::optional<std::string> lm_end_status_message(const Json* outputs);
};

/// The callback streamify adds: turns the provider's texts into StatusMessages on the current `send_stream`
/// (skipping the `finish` tool and the "Completed." tool output, as DSPy). @sa StatusStreamingCallback
class StatusStreamingCallback : public BaseCallback {
public:
    explicit StatusStreamingCallback(std::shared_ptr<StatusMessageProvider> provider = nullptr);
    void on_tool_start(const std::string& call_id, const Tool& instance, const Json& inputs) override;
    void on_tool_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception) override;
    void on_lm_start(const std::string& call_id, const BaseLM& instance, const Json& inputs) override;
    void on_lm_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception) override;
    void on_module_start(const std::string& call_id, const Module& instance, const Json& inputs) override;
    void on_module_end(const std::string& call_id, const Json* outputs, std::exception_ptr exception) override;

private:
    std::shared_ptr<StatusMessageProvider> provider_;
};

}  // namespace dspy
