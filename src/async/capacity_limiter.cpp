#include "dspy/async/capacity_limiter.hpp"

#include <algorithm>
#include <string>

namespace dspy {

CapacityLimiter::CapacityLimiter(std::size_t total_tokens) : total_(total_tokens) {
    if (total_tokens < 1) throw ValueError("CapacityLimiter: total_tokens must be >= 1, got 0");
}

bool CapacityLimiter::try_acquire() {
    std::lock_guard lk(mu_);
    if (borrowed_ < total_ && waiters_.empty()) {
        ++borrowed_;
        return true;
    }
    return false;
}

void CapacityLimiter::wake_locked(std::deque<AcquireAwaiter*>& out) {
    while (!waiters_.empty() && borrowed_ < total_) {
        AcquireAwaiter* w = waiters_.front();
        waiters_.pop_front();
        w->queued_ = false;
        w->granted_ = true;
        ++borrowed_;
        out.push_back(w);
    }
}

void CapacityLimiter::release() {
    std::deque<AcquireAwaiter*> wake;
    {
        std::lock_guard lk(mu_);
        if (borrowed_ > 0) --borrowed_;
        wake_locked(wake);
    }
    for (auto* w : wake) detail::resume_on(w->loop_, w->h_);
}

std::size_t CapacityLimiter::total_tokens() const {
    std::lock_guard lk(mu_);
    return total_;
}

void CapacityLimiter::set_total_tokens(std::size_t total) {
    if (total < 1) throw ValueError("CapacityLimiter: total_tokens must be >= 1, got 0");
    std::deque<AcquireAwaiter*> wake;
    {
        std::lock_guard lk(mu_);
        total_ = total;
        wake_locked(wake);
    }
    for (auto* w : wake) detail::resume_on(w->loop_, w->h_);
}

std::size_t CapacityLimiter::borrowed_tokens() const {
    std::lock_guard lk(mu_);
    return borrowed_;
}

std::size_t CapacityLimiter::available_tokens() const {
    std::lock_guard lk(mu_);
    return borrowed_ >= total_ ? 0 : total_ - borrowed_;
}

std::size_t CapacityLimiter::waiting() const {
    std::lock_guard lk(mu_);
    return waiters_.size();
}

// ---- AcquireAwaiter ----------------------------------------------------------------------------------------

CapacityLimiter::AcquireAwaiter::~AcquireAwaiter() = default;

bool CapacityLimiter::AcquireAwaiter::await_ready() {
    if (stop_ && stop_->stop_requested()) {
        cancelled_ = true;
        return true;
    }
    if (limiter_->try_acquire()) {
        granted_ = true;
        return true;
    }
    return false;
}

bool CapacityLimiter::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
    h_ = h;
    loop_ = EventLoop::current();
    if (stop_ && stop_->stop_possible()) on_stop_ = std::make_unique<std::stop_callback<OnStop>>(*stop_, OnStop{this});
    std::lock_guard lk(limiter_->mu_);
    if (cancelled_) return false;  // the token was triggered while registering
    if (limiter_->borrowed_ < limiter_->total_ && limiter_->waiters_.empty()) {
        ++limiter_->borrowed_;
        granted_ = true;
        return false;
    }
    queued_ = true;
    limiter_->waiters_.push_back(this);
    return true;  // from here on another thread may resume us: touch nothing
}

void CapacityLimiter::AcquireAwaiter::OnStop::operator()() noexcept {
    CapacityLimiter* l = self->limiter_;
    std::unique_lock lk(l->mu_);
    if (self->granted_ || self->cancelled_) return;
    self->cancelled_ = true;
    if (!self->queued_) return;  // still inside await_suspend, which sees cancelled_
    self->queued_ = false;
    l->waiters_.erase(std::find(l->waiters_.begin(), l->waiters_.end(), self));
    lk.unlock();
    detail::resume_on(self->loop_, self->h_);
}

CapacityLimiter::Permit CapacityLimiter::AcquireAwaiter::await_resume() {
    on_stop_.reset();
    if (!granted_) throw CancelledError();
    return Permit(limiter_);
}

}  // namespace dspy
