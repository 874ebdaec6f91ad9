#pragma once
// The channel between a streamed program (producer: the LM's delta loop, status callbacks on any thread) and the
// stream's consumer (one coroutine on one event loop). Unbounded: producers never wait (a status callback must not
// block the tool it reports on), and one stream's values are the text of one response, so memory stays bounded by
// the response.

#include <coroutine>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <unordered_set>

#include "dspy/async/event_loop.hpp"
#include "dspy/streaming/messages.hpp"

namespace dspy::detail {

class StreamChannel final : public StreamSink {
public:
    /// `listened`: the predictors that have listeners (empty: every LM call streams).
    explicit StreamChannel(std::unordered_set<const Module*> listened) : listened_(std::move(listened)) {}

    void send(StreamValue value) override {
        std::coroutine_handle<> h;
        EventLoop* loop = nullptr;
        {
            std::lock_guard lk(mu_);
            if (consumer_gone_) return;
            queue_.push_back(std::move(value));
            h = std::exchange(waiter_, {});
            loop = waiter_loop_;
        }
        if (h) wake(loop, h);
    }

    [[nodiscard]] bool wants(const Module* predict) const override {
        return listened_.empty() || listened_.count(predict) > 0;
    }

    /// The producer ended: with `error` (rethrown to the consumer after the queued values) or normally.
    void close(std::exception_ptr error = nullptr) {
        std::coroutine_handle<> h;
        EventLoop* loop = nullptr;
        {
            std::lock_guard lk(mu_);
            closed_ = true;
            if (error && !error_) error_ = std::move(error);
            h = std::exchange(waiter_, {});
            loop = waiter_loop_;
        }
        if (h) wake(loop, h);
    }

    /// Stops the program (its LM stream closes its connection); the consumer still sees the end.
    void stop_producer() noexcept { stop_.request_stop(); }

    /// The consumer has gone (its coroutine is being destroyed): drop what comes, stop the program.
    void cancel() noexcept {
        {
            std::lock_guard lk(mu_);
            consumer_gone_ = true;
            waiter_ = {};
            queue_.clear();
        }
        stop_.request_stop();
    }

    [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_.get_token(); }

    /// `co_await channel.next()`: the next value, or nullopt once closed and drained (rethrows the error).
    class NextAwaiter {
    public:
        explicit NextAwaiter(StreamChannel& c) : c_(c) {}
        bool await_ready() {
            std::lock_guard lk(c_.mu_);
            return take_locked();
        }
        bool await_suspend(std::coroutine_handle<> h) {
            std::lock_guard lk(c_.mu_);
            if (take_locked()) return false;
            c_.waiter_ = h;
            c_.waiter_loop_ = EventLoop::current();
            return true;
        }
        std::optional<StreamValue> await_resume() {
            std::exception_ptr error;
            if (!out_) {
                std::lock_guard lk(c_.mu_);
                take_locked();
                if (!out_) error = c_.error_;
            }
            if (error) std::rethrow_exception(error);
            return std::move(out_);
        }

    private:
        bool take_locked() {
            if (!c_.queue_.empty()) {
                out_.emplace(std::move(c_.queue_.front()));
                c_.queue_.pop_front();
                return true;
            }
            return c_.closed_;
        }
        StreamChannel& c_;
        std::optional<StreamValue> out_;
    };
    [[nodiscard]] NextAwaiter next() { return NextAwaiter(*this); }

private:
    static void wake(EventLoop* loop, std::coroutine_handle<> h) { detail::resume_on(loop, h); }

    const std::unordered_set<const Module*> listened_;
    std::mutex mu_;
    std::deque<StreamValue> queue_;
    std::coroutine_handle<> waiter_;
    EventLoop* waiter_loop_ = nullptr;
    bool closed_ = false;
    bool consumer_gone_ = false;
    std::exception_ptr error_;
    std::stop_source stop_;
};

}  // namespace dspy::detail
