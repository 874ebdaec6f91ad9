#include "dspy/async/sleep.hpp"

#include <stdexcept>

namespace dspy::detail {

// ---- SleepAwaiter ------------------------------------------------------------------------------------------

SleepAwaiter::~SleepAwaiter() = default;

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
    loop_ = EventLoop::current();
    if (!loop_) throw std::logic_error("dspy::sleep needs a running event loop on this thread (inside dspy::run)");
    h_ = h;
    timer_ = loop_->call_at(EventLoop::Clock::now() + duration_, &SleepAwaiter::on_timer, this);
    // Registered last: if the token is already triggered the callback runs right here and posts the resume.
    if (stop_ && stop_->stop_possible()) on_stop_ = std::make_unique<std::stop_callback<OnStop>>(*stop_, OnStop{this});
}

void SleepAwaiter::on_timer(void* arg) {
    auto* self = static_cast<SleepAwaiter*>(arg);
    if (self->fired_.exchange(true, std::memory_order_acq_rel)) return;
    self->h_.resume();  // we are on the loop thread
}

void SleepAwaiter::OnStop::operator()() noexcept {
    if (self->fired_.exchange(true, std::memory_order_acq_rel)) return;
    self->cancelled_ = true;
    self->timer_->cancel();
    // The resume always goes through the loop, which also keeps this awaiter alive until on_timer (same
    // thread) can no longer touch it.
    self->loop_->post(self->h_);
}

void SleepAwaiter::await_resume() {
    on_stop_.reset();  // waits for a callback still running on another thread
    if (cancelled_ || (stop_ && stop_->stop_requested() && !h_)) throw CancelledError();
}

// ---- Deadline ----------------------------------------------------------------------------------------------

Deadline::Deadline(std::coroutine_handle<> child, TaskPromiseBase& child_promise, bool has_timeout,
                   EventLoop::Clock::duration timeout, std::stop_token extra)
    : child_(child),
      child_promise_(&child_promise),
      has_timeout_(has_timeout),
      timeout_(timeout),
      extra_(std::move(extra)),
      token_(src_.get_token()) {}

Deadline::~Deadline() = default;

std::coroutine_handle<> Deadline::await_suspend(std::coroutine_handle<> parent) {
    parent_ = parent;
    loop_ = EventLoop::current();
    if (has_timeout_) {
        if (!loop_)
            throw std::logic_error("dspy::with_timeout needs a running event loop on this thread (inside dspy::run)");
        timer_ = loop_->call_at(EventLoop::Clock::now() + timeout_, &Deadline::on_timer, this);
    }
    child_promise_->stop_ = &token_;
    child_promise_->on_done_ = &Deadline::on_child_done;
    child_promise_->on_done_ctx_ = this;
    if (parent_stop_ && parent_stop_->stop_possible())
        parent_cb_ = std::make_unique<std::stop_callback<Forward>>(*parent_stop_, Forward{&src_});
    if (extra_.stop_possible()) extra_cb_ = std::make_unique<std::stop_callback<Forward>>(extra_, Forward{&src_});
    return child_;
}

void Deadline::on_timer(void* arg) {
    auto* self = static_cast<Deadline*>(arg);
    self->timed_out_ = true;
    self->src_.request_stop();
}

void Deadline::resume_parent(void* arg) { static_cast<Deadline*>(arg)->parent_.resume(); }

std::coroutine_handle<> Deadline::on_child_done(void* arg) noexcept {
    auto* self = static_cast<Deadline*>(arg);
    if (self->timer_) self->timer_->cancel();
    if (self->loop_ && EventLoop::current() != self->loop_) {
        // The child ended elsewhere: come back to the loop, which also serialises us with on_timer.
        self->loop_->post(&Deadline::resume_parent, self);
        return std::noop_coroutine();
    }
    return self->parent_;
}

void Deadline::await_resume() noexcept {
    parent_cb_.reset();
    extra_cb_.reset();
}

[[noreturn]] void throw_timeout(EventLoop::Clock::duration d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    throw TimeoutError("dspy::with_timeout: the task did not finish within " + std::to_string(ms) + " ms");
}

}  // namespace dspy::detail
