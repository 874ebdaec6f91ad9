#pragma once
/// @file
/// CapacityLimiter: an async semaphore whose total can be changed while in use (anyio's CapacityLimiter).
/// Waiters are woken in FIFO order on their own loop; a wait ends with CancelledError when the task is
/// cancelled. @sa anyio.CapacityLimiter

#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <utility>

#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"

namespace dspy {

/// Limits how many holders may proceed at once. `auto permit = co_await limiter.acquire();` waits for a token;
/// the permit gives it back when destroyed (or with `release()`, from any thread). @sa anyio.CapacityLimiter
class CapacityLimiter {
public:
    /// @throws ValueError when `total_tokens` < 1.
    explicit CapacityLimiter(std::size_t total_tokens);
    CapacityLimiter(const CapacityLimiter&) = delete;
    CapacityLimiter& operator=(const CapacityLimiter&) = delete;

    /// A borrowed token; returns it when destroyed. Movable, from any thread.
    class [[nodiscard]] Permit {
    public:
        Permit() = default;
        explicit Permit(CapacityLimiter* l) noexcept : limiter_(l) {}
        Permit(Permit&& o) noexcept : limiter_(std::exchange(o.limiter_, nullptr)) {}
        Permit& operator=(Permit&& o) noexcept {
            if (this != &o) {
                release();
                limiter_ = std::exchange(o.limiter_, nullptr);
            }
            return *this;
        }
        ~Permit() { release(); }
        /// Gives the token back now.
        void release() noexcept {
            if (auto* l = std::exchange(limiter_, nullptr)) l->release();
        }
        [[nodiscard]] bool valid() const noexcept { return limiter_ != nullptr; }

    private:
        CapacityLimiter* limiter_ = nullptr;
    };

    class AcquireAwaiter {
    public:
        explicit AcquireAwaiter(CapacityLimiter* l) noexcept : limiter_(l) {}
        AcquireAwaiter(AcquireAwaiter&& o) noexcept : limiter_(o.limiter_), stop_(o.stop_) {}
        AcquireAwaiter(const AcquireAwaiter&) = delete;
        AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;
        AcquireAwaiter& operator=(AcquireAwaiter&&) = delete;
        ~AcquireAwaiter();

        void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
        bool await_ready();
        bool await_suspend(std::coroutine_handle<> h);
        Permit await_resume();

    private:
        friend class CapacityLimiter;
        struct OnStop {
            AcquireAwaiter* self;
            void operator()() noexcept;
        };
        CapacityLimiter* limiter_;
        const std::stop_token* stop_ = nullptr;
        std::coroutine_handle<> h_;
        EventLoop* loop_ = nullptr;
        bool granted_ = false;    // guarded by the limiter's mutex until resumed
        bool cancelled_ = false;  // idem
        bool queued_ = false;     // idem
        std::unique_ptr<std::stop_callback<OnStop>> on_stop_;
    };

    /// Waits for a token (FIFO). @sa CapacityLimiter.acquire / async with limiter
    [[nodiscard]] AcquireAwaiter acquire() noexcept { return AcquireAwaiter(this); }
    /// Takes a token if one is free. @sa CapacityLimiter.acquire_nowait
    [[nodiscard]] bool try_acquire();
    /// Returns a token taken with try_acquire (or a released Permit's). Thread-safe. @sa CapacityLimiter.release
    void release();

    /// @sa CapacityLimiter.total_tokens
    [[nodiscard]] std::size_t total_tokens() const;
    /// Changes the total; a larger one wakes waiters at once. @throws ValueError when < 1.
    void set_total_tokens(std::size_t total);
    /// @sa CapacityLimiter.borrowed_tokens
    [[nodiscard]] std::size_t borrowed_tokens() const;
    /// @sa CapacityLimiter.available_tokens
    [[nodiscard]] std::size_t available_tokens() const;
    /// Tasks waiting for a token. @sa CapacityLimiter.statistics().tasks_waiting
    [[nodiscard]] std::size_t waiting() const;

private:
    void wake_locked(std::deque<AcquireAwaiter*>& out);

    mutable std::mutex mu_;
    std::size_t total_;
    std::size_t borrowed_ = 0;
    std::deque<AcquireAwaiter*> waiters_;
};

}  // namespace dspy
