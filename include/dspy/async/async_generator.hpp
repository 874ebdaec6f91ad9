#pragma once
/// @file
/// AsyncGenerator<T>: a coroutine that can both co_await and co_yield, consumed one item at a time with
/// `while (auto item = co_await gen.next()) use(*item);`. Used for streams. Model: cppcoro async_generator.
/// @sa Python async generators (`async for`)

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "dspy/async/task.hpp"

namespace dspy {

template <typename T>
class AsyncGenerator;

namespace detail {

template <typename T>
class AsyncGeneratorPromise : public PromiseContext {
public:
    AsyncGenerator<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept { return {}; }

    /// Hands control back to the consumer (symmetric transfer), both after a yield and at the end.
    struct ToConsumer {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<AsyncGeneratorPromise> h) noexcept {
            return h.promise().consumer_;
        }
        void await_resume() noexcept {}
    };
    ToConsumer final_suspend() noexcept { return {}; }

    template <typename U>
        requires std::is_constructible_v<T, U&&>
    ToConsumer yield_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.emplace(std::forward<U>(v));
        return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    std::coroutine_handle<> consumer_;
    std::optional<T> value_;
    std::exception_ptr exception_;
};

}  // namespace detail

/// A lazy asynchronous sequence of T. Move-only; destroying it abandons the rest of the sequence.
template <typename T>
class [[nodiscard]] AsyncGenerator {
public:
    using promise_type = detail::AsyncGeneratorPromise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    AsyncGenerator() noexcept = default;
    explicit AsyncGenerator(handle_type h) noexcept : h_(h) {}
    AsyncGenerator(AsyncGenerator&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    AsyncGenerator& operator=(AsyncGenerator&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    AsyncGenerator(const AsyncGenerator&) = delete;
    AsyncGenerator& operator=(const AsyncGenerator&) = delete;
    ~AsyncGenerator() {
        if (h_) h_.destroy();
    }

    class NextAwaiter {
    public:
        explicit NextAwaiter(handle_type h) noexcept : h_(h) {}
        bool await_ready() const noexcept { return !h_ || h_.done(); }
        void bind_stop(const std::stop_token* t) noexcept {
            if (h_) h_.promise().stop_ = t;
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> consumer) noexcept {
            h_.promise().consumer_ = consumer;
            h_.promise().value_.reset();
            return h_;
        }
        std::optional<T> await_resume() {
            if (!h_) return std::nullopt;
            auto& p = h_.promise();
            if (h_.done()) {
                if (p.exception_) std::rethrow_exception(std::exchange(p.exception_, {}));
                return std::nullopt;
            }
            std::optional<T> out(std::move(p.value_));
            p.value_.reset();
            return out;
        }

    private:
        handle_type h_;
    };

    /// The next item, or nullopt at the end; rethrows what the generator threw. @sa __anext__
    [[nodiscard]] NextAwaiter next() noexcept { return NextAwaiter(h_); }

private:
    handle_type h_;
};

namespace detail {
template <typename T>
AsyncGenerator<T> AsyncGeneratorPromise<T>::get_return_object() noexcept {
    return AsyncGenerator<T>(std::coroutine_handle<AsyncGeneratorPromise<T>>::from_promise(*this));
}
}  // namespace detail

}  // namespace dspy
