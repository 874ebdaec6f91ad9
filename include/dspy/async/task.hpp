#pragma once
/// @file
/// `dspy::Task<T>`: a lazy, move-only coroutine that carries its settings snapshot, task identity and stop token
/// across every await. Models: cppcoro task.hpp, libcoro task.hpp; folly BasePromise/ViaIfAsync for the
/// context that follows the task.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <stop_token>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "dspy/async/task_context.hpp"

namespace dspy {

template <typename T = void>
class Task;

namespace detail {

// ---- awaiter plumbing ------------------------------------------------------------------------------------

template <typename A>
concept HasMemberCoAwait = requires(A&& a) { std::forward<A>(a).operator co_await(); };
template <typename A>
concept HasFreeCoAwait = requires(A&& a) { operator co_await(std::forward<A>(a)); };
/// Awaiters that want the awaiting task's stop token (sleep, limiter waits, child tasks...).
template <typename A>
concept BindsStop = requires(A& a, const std::stop_token* t) { a.bind_stop(t); };

template <typename A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (HasMemberCoAwait<A>)
        return std::forward<A>(a).operator co_await();
    else if constexpr (HasFreeCoAwait<A>)
        return operator co_await(std::forward<A>(a));
    else
        return std::forward<A>(a);
}

// How the wrapper holds the awaiter: an lvalue by reference, anything else by value (moved in), so no
// temporary's lifetime is stretched across the suspension.
template <typename A>
using AwaiterHolder = std::conditional_t<std::is_lvalue_reference_v<decltype(get_awaiter(std::declval<A>()))>,
                                         decltype(get_awaiter(std::declval<A>())),
                                         std::remove_cvref_t<decltype(get_awaiter(std::declval<A>()))>>;

/// Wraps every awaited thing of a dspy coroutine: the task context (settings snapshot and task id) is captured
/// when the await suspends and re-installed when it resumes, on whatever thread that is.
template <typename Inner>
class ContextAwaiter {
public:
    template <typename A>
    explicit ContextAwaiter(A&& a) : inner_(get_awaiter(std::forward<A>(a))) {}

    bool await_ready() { return inner_.await_ready(); }

    template <typename P>
    auto await_suspend(std::coroutine_handle<P> h) {
        saved_ = capture_context();
        suspended_ = true;
        return inner_.await_suspend(h);
    }

    decltype(auto) await_resume() {
        if (suspended_) restore_context(std::move(saved_));
        return inner_.await_resume();
    }

    Inner& inner() noexcept { return inner_; }

private:
    Inner inner_;
    TaskContext saved_;
    bool suspended_ = false;
};

/// What every dspy promise shares: the awaited-thing wrapper and the chain's stop token.
class PromiseContext {
public:
    template <typename A>
    auto await_transform(A&& a) {
        ContextAwaiter<AwaiterHolder<A>> w(std::forward<A>(a));
        if constexpr (BindsStop<std::remove_reference_t<AwaiterHolder<A>>>) w.inner().bind_stop(stop_);
        return w;
    }

    /// The stop token of the chain this coroutine belongs to (null: cannot be cancelled).
    const std::stop_token* stop_ = nullptr;
};

/// Type-erased part of a task promise: who to tell when done.
class TaskPromiseBase : public PromiseContext {
public:
    using DoneFn = std::coroutine_handle<> (*)(void* ctx) noexcept;

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            TaskPromiseBase& p = h.promise();
            if (p.on_done_) return p.on_done_(p.on_done_ctx_);
            if (p.continuation_) return p.continuation_;
            return std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    /// The awaiting coroutine, resumed by symmetric transfer when this one ends.
    std::coroutine_handle<> continuation_;
    /// Instead of a continuation: a completion callback (roots, when_all children); returns whom to resume.
    DoneFn on_done_ = nullptr;
    void* on_done_ctx_ = nullptr;
    std::exception_ptr exception_;
};

template <typename T>
class TaskPromise final : public TaskPromiseBase {
public:
    Task<T> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    template <typename U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.template emplace<1>(std::forward<U>(v));
    }
    T& result() & {
        if (exception_) std::rethrow_exception(exception_);
        return std::get<1>(value_);
    }
    T&& result() && {
        if (exception_) std::rethrow_exception(exception_);
        return std::move(std::get<1>(value_));
    }

private:
    std::variant<std::monostate, T> value_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
public:
    Task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    void return_void() noexcept {}
    void result() {
        if (exception_) std::rethrow_exception(exception_);
    }
};

template <typename T>
class TaskPromise<T&> final : public TaskPromiseBase {
public:
    Task<T&> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    void return_value(T& v) noexcept { value_ = &v; }
    T& result() {
        if (exception_) std::rethrow_exception(exception_);
        return *value_;
    }

private:
    T* value_ = nullptr;
};

}  // namespace detail

/// A lazy coroutine producing a T (or an exception). It starts when awaited (or handed to run/when_all/spawn),
/// and resumes its awaiter by symmetric transfer when it ends. `co_await` it once, as an rvalue:
/// `auto v = co_await make_task();`. @sa Python coroutines / asyncio.Task
template <typename T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::TaskPromise<T>;
    using value_type = T;
    using handle_type = std::coroutine_handle<promise_type>;

    Task() noexcept = default;
    explicit Task(handle_type h) noexcept : h_(h) {}
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (h_) h_.destroy();
    }

    /// Whether this holds a coroutine (false after a move).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }
    /// Whether the coroutine has run to its end.
    [[nodiscard]] bool done() const noexcept { return h_ && h_.done(); }

    struct Awaiter {
        handle_type h;
        bool await_ready() const noexcept { return !h || h.done(); }
        void bind_stop(const std::stop_token* t) noexcept {
            if (h) h.promise().stop_ = t;
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            h.promise().continuation_ = awaiting;
            return h;
        }
        decltype(auto) await_resume() {
            if (!h) throw std::logic_error("co_await on an empty dspy::Task (moved from?)");
            if constexpr (std::is_void_v<T>)
                h.promise().result();
            else if constexpr (std::is_reference_v<T>)
                return h.promise().result();
            else
                return T(std::move(h.promise()).result());  // by value: no reference into a dying frame
        }
    };
    Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

    /// Awaiting an lvalue task yields a reference to its result, which lives as long as the task.
    struct LvalueAwaiter : Awaiter {
        decltype(auto) await_resume() {
            if (!this->h) throw std::logic_error("co_await on an empty dspy::Task (moved from?)");
            if constexpr (std::is_void_v<T>)
                this->h.promise().result();
            else
                return static_cast<std::add_lvalue_reference_t<T>>(this->h.promise().result());
        }
    };
    LvalueAwaiter operator co_await() & noexcept { return LvalueAwaiter{{h_}}; }

    /// The coroutine handle (for runtime machinery: run, when_all, spawn).
    [[nodiscard]] handle_type handle() const noexcept { return h_; }
    /// Gives up ownership of the coroutine frame.
    [[nodiscard]] handle_type release() noexcept { return std::exchange(h_, {}); }

private:
    handle_type h_;
};

namespace detail {
template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
template <typename T>
Task<T&> TaskPromise<T&>::get_return_object() noexcept {
    return Task<T&>(std::coroutine_handle<TaskPromise<T&>>::from_promise(*this));
}

/// The awaitable behind `get_stop_token()`.
struct GetStopToken {
    const std::stop_token* token = nullptr;
    bool await_ready() const noexcept { return true; }
    void bind_stop(const std::stop_token* t) noexcept { token = t; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    std::stop_token await_resume() const noexcept { return token ? *token : std::stop_token{}; }
};
}  // namespace detail

/// `co_await dspy::get_stop_token()` gives the running task's stop token (never stops outside
/// with_timeout/with_cancellation/run's shutdown). @sa asyncio.current_task().cancelling()
inline detail::GetStopToken get_stop_token() noexcept { return {}; }

}  // namespace dspy
