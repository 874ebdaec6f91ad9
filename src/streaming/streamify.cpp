// streamify: the program runs as a spawned task on the consumer's loop with `send_stream` pointing at a channel;
// the consumer coroutine routes what arrives through the listeners. One algorithm serves the async generator, the
// blocking iteration (a private thread drives the generator) and the SSE strings.
#include "dspy/streaming/streamify.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "streaming/stream_channel.hpp"

namespace dspy {

namespace detail {

struct StreamerState {
    Module* program = nullptr;
    std::vector<StreamListener> listeners;  // bound to their predictors; copied per stream
    std::unordered_map<const Module*, std::vector<std::size_t>> by_predict;
    std::unordered_set<const Module*> listened;
    std::vector<std::shared_ptr<BaseCallback>> callbacks;
    bool include_final_prediction = true;
};

}  // namespace detail

namespace {

using detail::StreamChannel;
using detail::StreamerState;

// The producer: the program under the stream's settings; its Prediction (or error) closes the channel.
Task<void> produce(std::shared_ptr<const StreamerState> st, std::shared_ptr<StreamChannel> chan, Inputs inputs) {
    std::exception_ptr error;
    try {
        SettingsOverrides o;
        o.send_stream = std::shared_ptr<StreamSink>(chan);
        o.callbacks = st->callbacks;
        auto scope = context(o);
        Task<Prediction> call = st->program->acall(std::move(inputs));
        Task<Prediction> guarded = with_cancellation(std::move(call), chan->stop_token());
        Prediction p = co_await std::move(guarded);
        chan->send(std::move(p));
    } catch (...) {
        error = std::current_exception();
    }
    chan->close(std::move(error));
}

// Cancels the producer when the consumer's generator goes away before the end.
struct ConsumerGuard {
    std::shared_ptr<StreamChannel> chan;
    ~ConsumerGuard() { chan->cancel(); }
};

AsyncGenerator<StreamValue> consume(std::shared_ptr<const StreamerState> st, std::shared_ptr<StreamChannel> chan,
                                    Inputs inputs) {
    ConsumerGuard guard{chan};
    std::vector<StreamListener> listeners = st->listeners;
    spawn(produce(st, chan, std::move(inputs)));
    for (;;) {
        auto awaiter = chan->next();
        std::optional<StreamValue> v = co_await awaiter;
        if (!v) co_return;
        if (auto* chunk = std::get_if<LMStreamChunk>(&*v)) {
            if (st->by_predict.empty()) {
                co_yield std::move(*v);
                continue;
            }
            auto it = st->by_predict.find(chunk->predict);
            if (it == st->by_predict.end()) continue;
            const StreamAdapterKind kind = StreamListener::current_adapter_kind();
            for (std::size_t i : it->second)
                if (auto out = listeners[i].receive(chunk->content, kind)) co_yield std::move(*out);
        } else if (auto* p = std::get_if<Prediction>(&*v)) {
            for (auto& l : listeners)
                if (auto out = l.finalize()) co_yield std::move(*out);
            bool any_cache_hit = false, any_started = false;
            for (const auto& l : listeners) {
                any_cache_hit = any_cache_hit || l.cache_hit();
                any_started = any_started || l.stream_start();
            }
            if (st->include_final_prediction || listeners.empty() || any_cache_hit || !any_started)
                co_yield std::move(*p);
            co_return;
        } else {
            co_yield std::move(*v);
        }
    }
}

std::string sse(const Json& data) {
    return "data: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

}  // namespace

Streamer streamify(Module& program, StreamifyOptions options) {
    auto st = std::make_shared<StreamerState>();
    st->program = &program;
    st->listeners = std::move(options.stream_listeners);
    if (!st->listeners.empty()) st->by_predict = find_predictor_for_stream_listeners(program, st->listeners);
    for (const auto& [predict, _] : st->by_predict) st->listened.insert(predict);
    st->callbacks = settings()->callbacks;
    bool has_status = false;
    for (const auto& cb : st->callbacks)
        has_status = has_status || dynamic_cast<const StatusStreamingCallback*>(cb.get()) != nullptr;
    if (!has_status)
        st->callbacks.push_back(std::make_shared<StatusStreamingCallback>(std::move(options.status_message_provider)));
    st->include_final_prediction = options.include_final_prediction_in_output_stream;
    return Streamer(std::move(st));
}

AsyncGenerator<StreamValue> Streamer::operator()(Inputs inputs) const {
    return consume(state_, std::make_shared<StreamChannel>(state_->listened), std::move(inputs));
}

// ---- blocking iteration ---------------------------------------------------------------------------------------

struct SyncStream::Impl {
    std::shared_ptr<StreamChannel> chan;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<StreamValue> items;
    bool finished = false;
    std::exception_ptr error;
    std::thread thread;

    ~Impl() {
        chan->stop_producer();
        if (thread.joinable()) thread.join();
    }
};

SyncStream::SyncStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SyncStream::SyncStream(SyncStream&&) noexcept = default;
SyncStream& SyncStream::operator=(SyncStream&&) noexcept = default;
SyncStream::~SyncStream() = default;

std::optional<StreamValue> SyncStream::next() {
    if (!impl_) return std::nullopt;
    std::unique_lock lk(impl_->mu);
    impl_->cv.wait(lk, [&] { return !impl_->items.empty() || impl_->finished; });
    if (!impl_->items.empty()) {
        StreamValue v = std::move(impl_->items.front());
        impl_->items.pop_front();
        return v;
    }
    if (impl_->error) std::rethrow_exception(std::exchange(impl_->error, {}));
    return std::nullopt;
}

namespace {
Task<void> pump(AsyncGenerator<StreamValue> gen, SyncStream::Impl* impl) {
    for (;;) {
        auto awaiter = gen.next();
        std::optional<StreamValue> v = co_await awaiter;
        if (!v) co_return;
        std::lock_guard lk(impl->mu);
        impl->items.push_back(std::move(*v));
        impl->cv.notify_one();
    }
}
}  // namespace

SyncStream Streamer::sync(Inputs inputs) const {
    auto impl = std::make_unique<SyncStream::Impl>();
    impl->chan = std::make_shared<StreamChannel>(state_->listened);
    AsyncGenerator<StreamValue> gen = consume(state_, impl->chan, std::move(inputs));
    SyncStream::Impl* raw = impl.get();
    // The thread continues this caller's logical context (settings such as the LM and adapter), as DSPy copies the
    // contextvars into its producer thread.
    detail::TaskContext ctx = detail::capture_context();
    raw->thread = std::thread([raw, gen = std::move(gen), ctx = std::move(ctx)]() mutable {
        detail::restore_context(std::move(ctx));
        std::exception_ptr error;
        try {
            run(pump(std::move(gen), raw));
        } catch (...) {
            error = std::current_exception();
        }
        detail::reset_context();
        std::lock_guard lk(raw->mu);
        raw->error = std::move(error);
        raw->finished = true;
        raw->cv.notify_all();
    });
    return SyncStream(std::move(impl));
}

// ---- SSE ------------------------------------------------------------------------------------------------------

AsyncGenerator<std::string> streaming_response(AsyncGenerator<StreamValue> stream) {
    for (;;) {
        auto awaiter = stream.next();
        std::optional<StreamValue> v = co_await awaiter;
        if (!v) break;
        if (auto* p = std::get_if<Prediction>(&*v)) {
            Json fields = Json::object();
            for (auto it = p->toDict().begin(); it != p->toDict().end(); ++it)
                if (!it.key().starts_with("dspy_")) fields[it.key()] = it.value();
            Json data = Json::object();
            data["prediction"] = std::move(fields);
            co_yield sse(data);
        } else if (auto* r = std::get_if<StreamResponse>(&*v)) {
            Json data = Json::object();
            data["chunk"] = r->to_json();
            co_yield sse(data);
        } else if (auto* c = std::get_if<LMStreamChunk>(&*v)) {
            Json data = Json::object();
            data["chunk"] = c->raw;
            co_yield sse(data);
        } else if (auto* m = std::get_if<StatusMessage>(&*v)) {
            Json data = Json::object();
            data["status_message"] = m->message;
            co_yield sse(data);
        }
    }
    co_yield std::string("data: [DONE]\n\n");
}

Task<void> stream_sse(Streamer streamer, Inputs inputs, std::function<bool(const std::string&)> write) {
    AsyncGenerator<std::string> out = streaming_response(streamer(std::move(inputs)));
    for (;;) {
        auto awaiter = out.next();
        std::optional<std::string> s = co_await awaiter;
        if (!s || !write(*s)) co_return;
    }
}

}  // namespace dspy
