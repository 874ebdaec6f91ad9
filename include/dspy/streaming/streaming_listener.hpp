#pragma once
/// @file
/// StreamListener: picks one output field of one predictor out of the LM's token stream, holding back the
/// adapter's boilerplate (`[[ ## x ## ]]` markers, JSON keys and braces) however the tokens are cut.
/// @sa dspy/streaming/streaming_listener.py

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dspy/streaming/messages.hpp"

namespace dspy {

class Module;
class Predict;

/// Which adapter's output format a listener parses. @sa the keys of StreamListener.adapter_identifiers
enum class StreamAdapterKind { Chat, JSON };

/// Listens to `signature_field_name` of one predictor. Copyable: streamify gives each stream its own copies.
/// @sa dspy.streaming.StreamListener
class StreamListener {
public:
    /// `predict` null: streamify finds the predictor that has the field (it must be unique).
    explicit StreamListener(std::string signature_field_name, const Predict* predict = nullptr,
                            std::string predict_name = "", bool allow_reuse = false);

    /// Feeds one LM delta; the adapter is `settings().adapter` (null: ChatAdapter). Returns the text to emit, if
    /// any. @throws ValueError for an adapter that cannot stream. @sa StreamListener.receive
    std::optional<StreamResponse> receive(std::string_view chunk_message);
    /// The same with an explicit adapter kind.
    std::optional<StreamResponse> receive(std::string_view chunk_message, StreamAdapterKind adapter);

    /// Flushes what is still held back when the prediction arrives (e.g. no `[[ ## completed ## ]]`).
    /// @sa StreamListener.finalize
    std::optional<StreamResponse> finalize();

    /// Whether `concat_message` could still grow into the adapter's end marker. @sa _could_form_end_identifier
    [[nodiscard]] static bool could_form_end_identifier(std::string_view concat_message, StreamAdapterKind adapter);

    /// The adapter kind of `settings().adapter`. @throws ValueError naming an adapter that cannot stream.
    [[nodiscard]] static StreamAdapterKind current_adapter_kind();

    [[nodiscard]] const std::string& signature_field_name() const noexcept { return signature_field_name_; }
    [[nodiscard]] const Predict* predict() const noexcept { return predict_; }
    [[nodiscard]] const std::string& predict_name() const noexcept { return predict_name_; }
    [[nodiscard]] bool allow_reuse() const noexcept { return allow_reuse_; }
    [[nodiscard]] bool stream_start() const noexcept { return stream_start_; }
    [[nodiscard]] bool stream_end() const noexcept { return stream_end_; }
    [[nodiscard]] bool cache_hit() const noexcept { return cache_hit_; }
    /// Binds the listener to its predictor (what find_predictor_for_stream_listeners does).
    void bind(const Predict* predict, std::string predict_name) {
        predict_ = predict;
        predict_name_ = std::move(predict_name);
    }

private:
    std::string flush(StreamAdapterKind adapter);
    std::optional<StreamResponse> handle_json(std::optional<std::string> token, std::string_view chunk_message);
    std::optional<StreamResponse> handle_default(std::optional<std::string> token);
    [[nodiscard]] std::string end_queue_concat() const;
    void reset();

    std::string signature_field_name_;
    const Predict* predict_ = nullptr;
    std::string predict_name_;
    bool allow_reuse_ = false;

    std::string start_id_chat_;
    std::string start_id_json_;
    std::vector<std::string> field_start_queue_;
    std::deque<std::string> field_end_queue_;
    bool stream_start_ = false;
    bool stream_end_ = false;
    bool cache_hit_ = false;
    bool value_started_ = false;
    std::string json_accumulated_;
    std::size_t json_emitted_ = 0;  // bytes of the value already emitted
};

/// Binds every listener without a predictor to the one predictor of `program` that has its field, and groups the
/// listeners by predictor. @throws ValueError when a field is in several predictors or in none (DSPy's messages).
/// @sa find_predictor_for_stream_listeners
std::unordered_map<const Module*, std::vector<std::size_t>> find_predictor_for_stream_listeners(
    Module& program, std::vector<StreamListener>& listeners);

}  // namespace dspy
