#pragma once
/// @file
/// The event loop: a run queue plus a timer heap, driven by one thread (the one that called `dspy::run`).
/// Other threads (worker pools, I/O threads) hand continuations back with the thread-safe `post`, so user code
/// in a task never runs on a foreign thread. @sa asyncio event loop

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace dspy {

/// A one-thread scheduler. Create one through `dspy::run` / `dspy::sync_wait`; reach it from inside with
/// `EventLoop::current()`. @sa asyncio.AbstractEventLoop
class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = void (*)(void* arg);

    /// A pending timer; cancel() from any thread (the loop drops it lazily).
    struct Timer {
        Clock::time_point when;
        Callback fn = nullptr;
        void* arg = nullptr;
        std::atomic<bool> cancelled{false};
        void cancel() noexcept { cancelled.store(true, std::memory_order_release); }
    };

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// The loop running on this thread (null on worker threads and plain threads). @sa asyncio.get_running_loop
    [[nodiscard]] static EventLoop* current() noexcept;

    /// Queues `h` to be resumed on the loop thread. Thread-safe. @sa loop.call_soon_threadsafe
    void post(std::coroutine_handle<> h);
    /// Queues `fn(arg)` to run on the loop thread. Thread-safe.
    void post(Callback fn, void* arg);

    /// Runs `fn(arg)` on the loop thread at `when`. Loop thread only. @sa loop.call_at
    std::shared_ptr<Timer> call_at(Clock::time_point when, Callback fn, void* arg);

    /// Runs queued work and timers until `*done` becomes true (set from the loop thread, e.g. by a posted
    /// callback). Makes this the current loop of the calling thread meanwhile.
    void run_until(const bool* done);

    /// Number of detached tasks still alive (spawn()).
    [[nodiscard]] std::size_t detached_count() const noexcept { return detached_.size(); }

    /// `co_await loop.schedule()` continues on this loop's thread.
    struct ScheduleAwaiter {
        EventLoop* loop;
        bool await_ready() const noexcept { return loop == EventLoop::current(); }
        void await_suspend(std::coroutine_handle<> h) { loop->post(h); }
        void await_resume() const noexcept {}
    };
    [[nodiscard]] ScheduleAwaiter schedule() noexcept { return {this}; }

    /// Bookkeeping for spawn(): detached tasks, so that run() can cancel and drain them at the end.
    struct DetachedBase {
        virtual ~DetachedBase() = default;
        virtual void request_stop() noexcept = 0;
    };
    void add_detached(DetachedBase* d);
    void remove_detached(DetachedBase* d);
    void stop_detached() noexcept;
    /// True while no detached task is alive (for run_until).
    [[nodiscard]] const bool* no_detached_flag() const noexcept { return &no_detached_; }

private:
    struct Item {
        std::coroutine_handle<> h;
        Callback fn = nullptr;
        void* arg = nullptr;
    };
    struct TimerLater {
        bool operator()(const std::shared_ptr<Timer>& a, const std::shared_ptr<Timer>& b) const noexcept {
            return a->when > b->when;
        }
    };
    void fire_timers();

    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Item> queue_;                       // guarded by mu_
    std::vector<Item> running_;                     // loop thread only
    std::vector<std::shared_ptr<Timer>> timers_;    // heap, loop thread only
    std::vector<DetachedBase*> detached_;           // loop thread only
    bool sleeping_ = false;                         // guarded by mu_
    bool no_detached_ = true;                       // loop thread only
};

/// Resumes `h` right here and then puts back the caller's settings context. Use it (or `EventLoop::post`)
/// to wake another task from inside a task: a bare `h.resume()` would leave the woken task's context on
/// this thread once it suspends again. @sa folly::coro::Baton::post
void resume_inline(std::coroutine_handle<> h);

namespace detail {
/// Resumes `h` on `loop` (posted) or, without a loop, right here.
inline void resume_on(EventLoop* loop, std::coroutine_handle<> h) {
    if (loop)
        loop->post(h);
    else
        resume_inline(h);
}
}  // namespace detail

}  // namespace dspy
