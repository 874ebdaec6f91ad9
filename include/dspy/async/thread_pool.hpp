#pragma once
/// @file
/// A pool of worker threads. `co_await pool.schedule()` continues the task on a worker; `submit(fn)` runs a
/// plain function there with the submitter's settings snapshot. Workers go back to their own (empty) context
/// after every job. Model: libcoro thread_pool. @sa concurrent.futures.ThreadPoolExecutor

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "dspy/async/task_context.hpp"

namespace dspy {

/// Worker threads for blocking or CPU-bound work. The pool starts `min_threads` workers and adds more, up to
/// `max_threads`, when work is queued and nobody is idle. The destructor runs what is queued, then joins.
class ThreadPool {
public:
    /// A fixed pool of `threads` workers (at least 1).
    explicit ThreadPool(std::size_t threads);
    /// An elastic pool: `min_threads` at once, growing to `max_threads` under load.
    ThreadPool(std::size_t min_threads, std::size_t max_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    struct ScheduleAwaiter {
        ThreadPool* pool;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { pool->enqueue(h); }
        void await_resume() const noexcept {}
    };
    /// `co_await pool.schedule()`: the rest of the task runs on a worker (with its own settings, which the
    /// task carries). @sa loop.run_in_executor
    [[nodiscard]] ScheduleAwaiter schedule() noexcept { return {this}; }

    /// Runs `fn()` on a worker with the calling task's settings snapshot installed (not its task id: a worker
    /// is not inside the caller's task). Exceptions escaping `fn` terminate, as in std::thread.
    template <typename F>
    void submit(F&& fn) {
        using Fn = std::decay_t<F>;
        if constexpr (std::is_copy_constructible_v<Fn>) {
            enqueue(std::function<void()>(std::forward<F>(fn)));
        } else {
            auto holder = std::make_shared<Fn>(std::forward<F>(fn));
            enqueue(std::function<void()>([holder] { (*holder)(); }));
        }
    }

    /// Workers started so far.
    [[nodiscard]] std::size_t size() const;

private:
    struct Job {
        std::coroutine_handle<> h;
        std::function<void()> fn;
        detail::TaskContext ctx;
    };
    void enqueue(std::coroutine_handle<> h);
    void enqueue(std::function<void()> fn);
    void push(Job job);
    void worker_main();

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    std::vector<std::thread> threads_;
    std::size_t max_threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

}  // namespace dspy
