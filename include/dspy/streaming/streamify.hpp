#pragma once
/// @file
/// streamify: run a program so that its LM output arrives field by field while it runs, with status messages and
/// the final Prediction last; as an async generator, a blocking iteration, or server-sent-event strings.
/// @sa dspy/streaming/streamify.py

#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/async/async_generator.hpp"
#include "dspy/async/task.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/streaming/messages.hpp"
#include "dspy/streaming/streaming_listener.hpp"

namespace dspy {

namespace detail {
class StreamChannel;
struct StreamerState;
}  // namespace detail

/// streamify's options: `streamify(program, {.stream_listeners = {StreamListener("answer")}})`.
/// @sa streamify's keyword arguments (is_async_program is not needed: every Module has acall; async_streaming is
/// not needed either: a Streamer gives both `operator()` (async) and `sync()` (blocking))
struct StreamifyOptions {
    /// The fields to stream; empty: every LM delta comes through as an LMStreamChunk.
    std::vector<StreamListener> stream_listeners{};
    /// Status texts around tool/module/LM calls; null: the default provider (tool start and end only).
    std::shared_ptr<StatusMessageProvider> status_message_provider{};
    /// With listeners, whether the Prediction ends the stream (it always does on a cache hit or when no listener
    /// saw its field).
    bool include_final_prediction_in_output_stream = true;
};

/// A blocking iteration over one stream (DSPy's `apply_sync_streaming`): a private thread drives the same async
/// generator; `next()` waits for the next value. Destroying it early cancels the program and closes the LM
/// connection. Single consumer; move-only. @sa apply_sync_streaming
class SyncStream {
public:
    SyncStream(SyncStream&&) noexcept;
    SyncStream& operator=(SyncStream&&) noexcept;
    SyncStream(const SyncStream&) = delete;
    SyncStream& operator=(const SyncStream&) = delete;
    ~SyncStream();

    /// The next value, or nullopt at the end; rethrows the program's exception.
    std::optional<StreamValue> next();

    /// Input iterator for range-for: `for (StreamValue& v : streamer.sync(inputs))`.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = StreamValue;
        using difference_type = std::ptrdiff_t;
        using pointer = StreamValue*;
        using reference = StreamValue&;
        iterator() = default;
        explicit iterator(SyncStream* s) : s_(s) { ++*this; }
        StreamValue& operator*() { return *v_; }
        StreamValue* operator->() { return &*v_; }
        iterator& operator++() {
            v_ = s_->next();
            if (!v_) s_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(const iterator& o) const { return s_ == o.s_; }

    private:
        SyncStream* s_ = nullptr;
        std::optional<StreamValue> v_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

    struct Impl;
    explicit SyncStream(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> impl_;
};

/// What streamify returns: call it with the program's inputs for a stream. Cheap to copy; safe to call
/// concurrently (each call gets its own listener copies and its own channel). The program must outlive it.
/// @sa the async_streamer / sync_streamer closures of streamify
class Streamer {
public:
    explicit Streamer(std::shared_ptr<const detail::StreamerState> state) : state_(std::move(state)) {}

    /// The stream of one call: StreamResponse / StatusMessage / LMStreamChunk values, then the Prediction.
    /// Destroying the generator early cancels the program (the LM connection is closed).
    AsyncGenerator<StreamValue> operator()(Inputs inputs) const;
    /// Keyword-style: `streamer("question", q)`.
    template <typename V, typename... Rest>
    AsyncGenerator<StreamValue> operator()(std::string_view key, V&& value, Rest&&... rest) const {
        return (*this)(Module::make_inputs(key, std::forward<V>(value), std::forward<Rest>(rest)...));
    }

    /// The same stream, iterated from synchronous code. @sa streamify(async_streaming=False)
    [[nodiscard]] SyncStream sync(Inputs inputs) const;

private:
    std::shared_ptr<const detail::StreamerState> state_;
};

/// Wraps `program` for streaming. Listeners without a predictor are bound here (by field name); the callbacks are
/// `settings().callbacks` as they are now plus a StatusStreamingCallback.
/// @throws ValueError when a listener's field is in no predictor or in several. @sa dspy.streamify
Streamer streamify(Module& program, StreamifyOptions options = {});

/// The stream as server-sent-event strings: `data: {"prediction": {...}}\n\n` for the Prediction (without
/// `dspy_` keys), `data: {"chunk": {...}}\n\n` for a StreamResponse (its fields) or a raw LMStreamChunk (the
/// provider's event), `data: {"status_message": "..."}\n\n` for a StatusMessage, then `data: [DONE]\n\n`.
/// (DSPy raises ValueError for StreamResponse and StatusMessage values; we give them a shape instead.)
/// @sa dspy.streaming.streaming_response
AsyncGenerator<std::string> streaming_response(AsyncGenerator<StreamValue> stream);

/// For a server handler: runs `streamer(inputs)` and hands each SSE string to `write` as it is produced; `write`
/// returning false (client gone) stops the stream and cancels the program.
Task<void> stream_sse(Streamer streamer, Inputs inputs, std::function<bool(const std::string&)> write);

}  // namespace dspy
