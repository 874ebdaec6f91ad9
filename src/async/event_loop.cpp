#include "dspy/async/event_loop.hpp"

#include <algorithm>

#include "dspy/async/task_context.hpp"

namespace dspy {
namespace {
thread_local EventLoop* tl_loop = nullptr;
}

EventLoop::EventLoop() = default;
EventLoop::~EventLoop() = default;

EventLoop* EventLoop::current() noexcept { return tl_loop; }

void EventLoop::post(std::coroutine_handle<> h) {
    // Notify under the lock: once it is released the loop may finish and destroy this object.
    std::lock_guard lk(mu_);
    queue_.push_back(Item{h, nullptr, nullptr});
    if (sleeping_) cv_.notify_one();
}

void EventLoop::post(Callback fn, void* arg) {
    // Notify under the lock: once it is released the loop may finish and destroy this object.
    std::lock_guard lk(mu_);
    queue_.push_back(Item{{}, fn, arg});
    if (sleeping_) cv_.notify_one();
}

std::shared_ptr<EventLoop::Timer> EventLoop::call_at(Clock::time_point when, Callback fn, void* arg) {
    auto t = std::make_shared<Timer>();
    t->when = when;
    t->fn = fn;
    t->arg = arg;
    timers_.push_back(t);
    std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
    return t;
}

void EventLoop::fire_timers() {
    if (timers_.empty()) return;  // most turns of a busy loop: no clock read
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.front()->when <= now) {
        std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
        auto t = std::move(timers_.back());
        timers_.pop_back();
        if (!t->cancelled.load(std::memory_order_acquire)) {
            t->fn(t->arg);
            detail::reset_context();
        }
    }
    // Drop cancelled timers at the top so that they do not keep the loop waking up.
    while (!timers_.empty() && timers_.front()->cancelled.load(std::memory_order_acquire)) {
        std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
        timers_.pop_back();
    }
}

void EventLoop::run_until(const bool* done) {
    EventLoop* const previous = tl_loop;
    tl_loop = this;
    struct Restore {
        EventLoop* prev;
        ~Restore() { tl_loop = prev; }
    } restore{previous};

    while (!*done) {
        fire_timers();
        if (*done) break;
        {
            std::unique_lock lk(mu_);
            if (queue_.empty()) {
                sleeping_ = true;
                if (timers_.empty())
                    cv_.wait(lk, [&] { return !queue_.empty(); });
                else
                    cv_.wait_until(lk, timers_.front()->when, [&] { return !queue_.empty(); });
                sleeping_ = false;
            }
            running_.swap(queue_);
        }
        for (std::size_t i = 0; i < running_.size(); ++i) {
            Item& it = running_[i];
            if (it.h)
                it.h.resume();
            else
                it.fn(it.arg);
            // Whatever ran leaves its context behind; the next item installs its own.
            detail::reset_context();
        }
        running_.clear();
    }
}

void resume_inline(std::coroutine_handle<> h) {
    detail::TaskContext mine = detail::capture_context();
    h.resume();
    detail::restore_context(std::move(mine));
}

void EventLoop::add_detached(DetachedBase* d) {
    detached_.push_back(d);
    no_detached_ = false;
}

void EventLoop::remove_detached(DetachedBase* d) {
    auto it = std::find(detached_.begin(), detached_.end(), d);
    if (it != detached_.end()) {
        *it = detached_.back();
        detached_.pop_back();
    }
    no_detached_ = detached_.empty();
}

void EventLoop::stop_detached() noexcept {
    auto copy = detached_;
    for (auto* d : copy) d->request_stop();
}

}  // namespace dspy
