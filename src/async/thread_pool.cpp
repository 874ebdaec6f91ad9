#include "dspy/async/thread_pool.hpp"

#include <algorithm>

namespace dspy {

ThreadPool::ThreadPool(std::size_t threads) : ThreadPool(std::max<std::size_t>(threads, 1), std::max<std::size_t>(threads, 1)) {}

ThreadPool::ThreadPool(std::size_t min_threads, std::size_t max_threads)
    : max_threads_(std::max<std::size_t>({max_threads, min_threads, 1})) {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < min_threads; ++i) threads_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

std::size_t ThreadPool::size() const {
    std::lock_guard lk(mu_);
    return threads_.size();
}

void ThreadPool::enqueue(std::coroutine_handle<> h) { push(Job{h, {}, {}}); }

void ThreadPool::enqueue(std::function<void()> fn) {
    detail::TaskContext ctx = detail::capture_context();
    ctx.task_id = 0;
    push(Job{{}, std::move(fn), std::move(ctx)});
}

void ThreadPool::push(Job job) {
    {
        std::lock_guard lk(mu_);
        queue_.push_back(std::move(job));
        if (queue_.size() > idle_ && threads_.size() < max_threads_)
            threads_.emplace_back([this] { worker_main(); });
    }
    cv_.notify_one();
}

void ThreadPool::worker_main() {
    std::unique_lock lk(mu_);
    for (;;) {
        ++idle_;
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        --idle_;
        if (queue_.empty()) return;  // stopping and drained
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lk.unlock();
        if (job.h) {
            job.h.resume();  // the task re-installs its own context on resume
        } else {
            detail::restore_context(std::move(job.ctx));
            job.fn();
        }
        detail::reset_context();
        job = Job{};
        lk.lock();
    }
}

}  // namespace dspy
