#include "dspy/utils/asyncify.hpp"

#include <string>

#include "dspy/async/errors.hpp"
#include "dspy/async/thread_pool.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

CapacityLimiter& limiter_singleton() {
    static auto* limiter = new CapacityLimiter(8);  // never destroyed: workers may outlive main()
    return *limiter;
}

ThreadPool& pool() {
    // Elastic: the limiter bounds concurrency; abandoned calls may briefly need more threads than that.
    static auto* p = new ThreadPool(0, 4096);
    return *p;
}

void finish(detail::OffloadBase& job, int state) {
    std::unique_lock lk(job.mu_);
    if (job.state_ != 0) return;  // abandoned: nobody is waiting
    job.state_ = state;
    if (!job.armed_) return;      // the awaiter is still suspending and will see the state
    auto h = job.h_;
    auto* loop = job.loop_;
    lk.unlock();
    detail::resume_on(loop, h);
}

}  // namespace

CapacityLimiter& get_async_limiter() { return detail::limiter_for_current_settings(); }

namespace detail {

CapacityLimiter& limiter_for_current_settings() {
    const int cap = settings()->async_max_workers;
    if (cap < 1) throw ValueError("async_max_workers must be >= 1, got " + std::to_string(cap));
    CapacityLimiter& l = limiter_singleton();
    if (l.total_tokens() != static_cast<std::size_t>(cap)) l.set_total_tokens(static_cast<std::size_t>(cap));
    return l;
}

void offload_submit(std::shared_ptr<OffloadBase> job) {
    pool().submit([job = std::move(job)] {
        // The pool installed the submitter's context; the caller's (taken at call time) is what counts.
        restore_context(TaskContext(job->ctx_));
        try {
            job->invoke();
        } catch (...) {
            job->error_ = std::current_exception();
        }
        reset_context();
        job->permit_.release();
        finish(*job, 1);
    });
}

OffloadAwaiter::~OffloadAwaiter() = default;

bool OffloadAwaiter::await_suspend(std::coroutine_handle<> h) {
    auto job = job_;
    {
        std::lock_guard lk(job->mu_);
        job->h_ = h;
        job->loop_ = EventLoop::current();
    }
    if (stop_ && stop_->stop_requested()) {
        std::lock_guard lk(job->mu_);
        job->state_ = 2;
        return false;  // never started; the permit goes back with the job
    }
    offload_submit(job);
    if (stop_ && stop_->stop_possible()) on_stop_ = std::make_unique<std::stop_callback<OnStop>>(*stop_, OnStop{job.get()});
    std::lock_guard lk(job->mu_);
    if (job->state_ != 0) return false;  // finished or abandoned while we were getting ready
    job->armed_ = true;
    return true;
}

void OffloadAwaiter::OnStop::operator()() noexcept {
    std::unique_lock lk(job->mu_);
    if (job->state_ != 0) return;
    job->state_ = 2;
    if (!job->armed_) return;
    auto h = job->h_;
    auto* loop = job->loop_;
    lk.unlock();
    detail::resume_on(loop, h);
}

void OffloadAwaiter::await_resume() {
    on_stop_.reset();
    int state;
    {
        std::lock_guard lk(job_->mu_);
        state = job_->state_;
    }
    if (state == 2) throw CancelledError("asyncify: the call was cancelled; its worker finishes in the background");
    if (job_->error_) std::rethrow_exception(job_->error_);
}

}  // namespace detail
}  // namespace dspy
