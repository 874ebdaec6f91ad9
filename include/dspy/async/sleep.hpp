#pragma once
/// @file
/// Timers and cancellation: `sleep`, `with_timeout`, `with_cancellation`. Waits observe the awaiting task's
/// stop token and end with dspy::CancelledError when it is triggered.

#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <stop_token>
#include <string>

#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/task.hpp"

namespace dspy {
namespace detail {

/// The awaitable behind `sleep`: a timer on the current loop, cut short by the task's stop token.
class SleepAwaiter {
public:
    explicit SleepAwaiter(EventLoop::Clock::duration d) noexcept : duration_(d) {}
    SleepAwaiter(SleepAwaiter&& o) noexcept : duration_(o.duration_), stop_(o.stop_) {}
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(SleepAwaiter&&) = delete;
    ~SleepAwaiter();

    void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
    bool await_ready() const noexcept { return stop_ && stop_->stop_requested(); }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume();

private:
    struct OnStop {
        SleepAwaiter* self;
        void operator()() noexcept;
    };
    static void on_timer(void* arg);

    EventLoop::Clock::duration duration_;
    const std::stop_token* stop_ = nullptr;
    std::coroutine_handle<> h_;
    EventLoop* loop_ = nullptr;
    std::shared_ptr<EventLoop::Timer> timer_;
    std::atomic<bool> fired_{false};
    bool cancelled_ = false;
    std::unique_ptr<std::stop_callback<OnStop>> on_stop_;
};

/// Runs a child task under its own stop source, linked to the parent's token, an optional external token and
/// an optional deadline. The parent resumes on its loop once the child has ended (normally or by unwinding).
class Deadline {
public:
    Deadline(std::coroutine_handle<> child, TaskPromiseBase& child_promise, bool has_timeout,
             EventLoop::Clock::duration timeout, std::stop_token extra);
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    ~Deadline();

    void bind_stop(const std::stop_token* t) noexcept { parent_stop_ = t; }
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent);
    void await_resume() noexcept;
    [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }

private:
    struct Forward {
        std::stop_source* src;
        void operator()() noexcept { src->request_stop(); }
    };
    static void on_timer(void* arg);
    static std::coroutine_handle<> on_child_done(void* arg) noexcept;
    static void resume_parent(void* arg);

    std::coroutine_handle<> child_;
    TaskPromiseBase* child_promise_;
    bool has_timeout_;
    EventLoop::Clock::duration timeout_;
    std::stop_token extra_;
    const std::stop_token* parent_stop_ = nullptr;
    std::stop_source src_;
    std::stop_token token_;
    std::unique_ptr<std::stop_callback<Forward>> parent_cb_, extra_cb_;
    std::shared_ptr<EventLoop::Timer> timer_;
    EventLoop* loop_ = nullptr;
    std::coroutine_handle<> parent_;
    bool timed_out_ = false;
};

[[noreturn]] void throw_timeout(EventLoop::Clock::duration d);

template <typename T>
Task<T> run_with_deadline(Task<T> task, bool has_timeout, EventLoop::Clock::duration d, std::stop_token extra) {
    if (!task.valid()) throw std::logic_error("dspy::with_timeout/with_cancellation: empty Task (moved from?)");
    Deadline deadline(task.handle(), task.handle().promise(), has_timeout, d, std::move(extra));
    co_await deadline;
    // Like asyncio.timeout: a deadline that cut the task short is a TimeoutError; a task that finished anyway
    // keeps its result.
    if (deadline.timed_out() && task.handle().promise().exception_) throw_timeout(d);
    if constexpr (std::is_void_v<T>)
        co_await std::move(task);
    else
        co_return co_await std::move(task);
}

}  // namespace detail

/// Suspends the task for `d` on the current loop (lets other tasks run). Ends early with CancelledError when
/// the task is cancelled. @throws std::logic_error outside a running loop. @sa asyncio.sleep
template <typename Rep, typename Period>
[[nodiscard]] detail::SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) {
    return detail::SleepAwaiter(std::chrono::duration_cast<EventLoop::Clock::duration>(d));
}

/// Runs `task`; when it has not finished after `d`, cancels it, waits for it to unwind and throws
/// dspy::TimeoutError. @sa asyncio.wait_for / asyncio.timeout
template <typename T, typename Rep, typename Period>
Task<T> with_timeout(Task<T> task, std::chrono::duration<Rep, Period> d) {
    return detail::run_with_deadline(std::move(task), true,
                                     std::chrono::duration_cast<EventLoop::Clock::duration>(d), std::stop_token{});
}

/// Runs `task`, cancelling it when `token` is triggered (besides the awaiting task's own cancellation): its
/// waits end with CancelledError. @sa asyncio.Task.cancel
template <typename T>
Task<T> with_cancellation(Task<T> task, std::stop_token token) {
    return detail::run_with_deadline(std::move(task), false, EventLoop::Clock::duration::zero(), std::move(token));
}

}  // namespace dspy
