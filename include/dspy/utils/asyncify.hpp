#pragma once
/// @file
/// `dspy::asyncify(program)`: turns any synchronous callable (a Module, a function, a lambda) into one that
/// returns a Task and runs the call on a worker thread. @sa dspy/utils/asyncify.py

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "dspy/async/capacity_limiter.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/task.hpp"
#include "dspy/async/task_context.hpp"

namespace dspy {

/// The one limiter shared by every asyncified call; its capacity follows the *current* settings'
/// `async_max_workers` (default 8) and is resized when that changes. @sa dspy.utils.asyncify.get_limiter
CapacityLimiter& get_async_limiter();

namespace detail {

/// The part of an offloaded call shared by the awaiting task and the worker.
class OffloadBase {
public:
    virtual ~OffloadBase() = default;
    /// Runs the callable, storing its result; exceptions are stored in `error_`.
    virtual void invoke() = 0;

    TaskContext ctx_;                 // the caller's settings, installed on the worker
    CapacityLimiter::Permit permit_;  // given back when the worker really finishes
    std::exception_ptr error_;
    std::mutex mu_;
    int state_ = 0;                   // 0 running, 1 finished, 2 abandoned (guarded by mu_)
    bool armed_ = false;              // the awaiter has finished suspending (guarded by mu_)
    std::coroutine_handle<> h_;
    EventLoop* loop_ = nullptr;
};

/// Hands `job` to the asyncify worker pool.
void offload_submit(std::shared_ptr<OffloadBase> job);

/// Awaits an offloaded job; a triggered stop token abandons it at once (CancelledError) while the worker runs
/// on. @sa anyio.to_thread.run_sync(abandon_on_cancel=True)
class OffloadAwaiter {
public:
    explicit OffloadAwaiter(std::shared_ptr<OffloadBase> job) noexcept : job_(std::move(job)) {}
    OffloadAwaiter(const OffloadAwaiter&) = delete;
    OffloadAwaiter& operator=(const OffloadAwaiter&) = delete;
    ~OffloadAwaiter();

    void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume();

private:
    struct OnStop {
        OffloadBase* job;
        void operator()() noexcept;
    };
    std::shared_ptr<OffloadBase> job_;
    const std::stop_token* stop_ = nullptr;
    std::unique_ptr<std::stop_callback<OnStop>> on_stop_;
};

template <typename R, typename H, typename Tup>
class OffloadJob final : public OffloadBase {
public:
    OffloadJob(H holder, Tup args) : holder_(std::move(holder)), args_(std::move(args)) {}
    void invoke() override {
        auto& fn = *holder_;
        if constexpr (std::is_void_v<R>)
            std::apply([&](auto&... a) { std::invoke(fn, a...); }, args_);
        else
            std::apply([&](auto&... a) { result_.emplace(std::invoke(fn, a...)); }, args_);
    }
    std::optional<std::conditional_t<std::is_void_v<R>, int, R>> result_;

private:
    H holder_;
    Tup args_;
};

/// The capacity for this call (from the current settings), applied to the shared limiter.
CapacityLimiter& limiter_for_current_settings();

template <typename R, typename H, typename Tup>
Task<R> asyncify_call(H holder, Tup args) {
    TaskContext ctx = capture_context();
    ctx.task_id = 0;  // a worker thread is not inside the caller's task
    CapacityLimiter& limiter = limiter_for_current_settings();
    auto job = std::make_shared<OffloadJob<R, H, Tup>>(std::move(holder), std::move(args));
    job->ctx_ = std::move(ctx);
    job->permit_ = co_await limiter.acquire();
    OffloadAwaiter awaiter(job);
    co_await awaiter;
    if constexpr (!std::is_void_v<R>) co_return std::move(*job->result_);
}

}  // namespace detail

/// The callable `asyncify` returns. Calling it with arguments returns a Task; the arguments are copied.
template <typename H>
class Asyncified {
public:
    explicit Asyncified(H holder) : holder_(std::move(holder)) {}

    template <typename... Args>
    auto operator()(Args&&... args) const {
        using Fn = std::remove_reference_t<decltype(*holder_)>;
        using R = std::invoke_result_t<Fn&, std::decay_t<Args>&...>;
        return detail::asyncify_call<R>(holder_, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...));
    }

private:
    H holder_;
};

/// Wraps a synchronous callable so that `co_await aprogram(args...)` runs `program(args...)` on a worker
/// thread, with the caller's settings snapshot (taken at call time) installed there. At most
/// `settings().async_max_workers` calls run at once across all asyncified callables. Cancelling the awaiting
/// task abandons the call at once (CancelledError); the worker finishes it and only then frees its slot.
/// An lvalue is held by reference (keep it alive, as in Python); an rvalue is moved in and shared by the tasks.
/// @sa dspy.asyncify
template <typename F>
auto asyncify(F&& program) {
    using Fn = std::remove_reference_t<F>;
    if constexpr (std::is_lvalue_reference_v<F>) {
        return Asyncified<Fn*>(std::addressof(program));
    } else {
        return Asyncified<std::shared_ptr<Fn>>(std::make_shared<Fn>(std::forward<F>(program)));
    }
}

}  // namespace dspy
