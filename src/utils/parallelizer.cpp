#include "dspy/utils/parallelizer.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "dspy/async/capacity_limiter.hpp"
#include "dspy/async/task_context.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/async/thread_pool.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/usage_tracker.hpp"
#include "utils/progress_bar.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace detail {
std::string repr_json(const Json& v) { return pyfmt::repr(v); }
}  // namespace detail

namespace {

constexpr const char* kCancelled = "Execution cancelled due to errors or interruption.";

using Clock = std::chrono::steady_clock;

std::string error_text(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

// DSPy's logger.error line for a failed item (C++ has no traceback to add, so provide_traceback only drops the hint).
std::string error_line(const std::string& item, const std::exception_ptr& e, bool provide_traceback) {
    std::string line = "dspy ERROR: Error for " + item + ": " + error_text(e);
    if (!provide_traceback) line += ". Set `provide_traceback=True` for traceback.";
    line += "\n";
    return line;
}

// A context for one task of a fan-out: the usage tracker, if any, becomes a private deep copy.
std::optional<ContextScope> private_usage_tracker() {
    std::optional<ContextScope> scope;
    if (auto s = settings(); s->usage_tracker) {
        SettingsOverrides o;
        o.usage_tracker = std::make_shared<UsageTracker>(*s->usage_tracker);
        scope.emplace(context(o));
    }
    return scope;
}

}  // namespace

// What the executor keeps across execute calls (DSPy's error_count, cancel_jobs, failed_indices,
// exceptions_map), plus the state of the current run; one mutex guards it all.
namespace detail {
struct ParallelShared {
    mutable std::mutex mu;
    std::condition_variable cv;
    int error_count = 0;
    bool cancel = false;
    std::vector<std::size_t> failed_indices;
    std::map<std::size_t, std::exception_ptr> exceptions_map;
};
}  // namespace detail

namespace {

// One execute call. Jobs hold it by shared_ptr: a superseded straggler may finish after execute returned, and
// then finds `closed` set and drops its result.
struct Run {
    std::shared_ptr<detail::ParallelWork> work;
    std::vector<char> done;
    std::size_t ndone = 0;        // items with an outcome (success or failure)
    std::size_t nok = 0;          // items with a result: what DSPy's progress counts
    double score_sum = 0;         // compare_results: sum of result[-1]
    std::size_t events = 0;       // outcomes not yet shown on the progress bar
    bool closed = false;
    struct Submission {
        std::size_t index;
        std::optional<Clock::time_point> started;
        bool resubmitted = false;
    };
    std::map<std::uint64_t, Submission> outstanding;
    std::uint64_t next_submission = 0;
};

}  // namespace

ParallelExecutor::ParallelExecutor(Options options) : options_(std::move(options)), shared_(std::make_shared<detail::ParallelShared>()) {
    auto s = settings();
    if (!options_.num_threads || *options_.num_threads == 0) options_.num_threads = s->num_threads;
    if (*options_.num_threads < 1)
        throw ValueError("ParallelExecutor: num_threads must be greater than 0, got " +
                         std::to_string(*options_.num_threads));
    if (!options_.max_errors) options_.max_errors = s->max_errors;
    if (!options_.provide_traceback) options_.provide_traceback = s->provide_traceback;
}

ParallelExecutor::~ParallelExecutor() = default;  // pools_ join their workers

std::vector<std::size_t> ParallelExecutor::failed_indices() const {
    std::lock_guard lk(shared_->mu);
    return shared_->failed_indices;
}

std::map<std::size_t, std::exception_ptr> ParallelExecutor::exceptions_map() const {
    std::lock_guard lk(shared_->mu);
    return shared_->exceptions_map;
}

int ParallelExecutor::error_count() const {
    std::lock_guard lk(shared_->mu);
    return shared_->error_count;
}

namespace {

// Runs one submission of item `index` in the current thread: under the caller's settings (already installed),
// with its own copy of the usage tracker; records the outcome unless the item already has one.
void run_submission(const std::shared_ptr<ParallelExecutor::Options>& opts, detail::ParallelShared& sh, Run& run,
                    std::uint64_t sid, std::size_t index) {
    {
        std::lock_guard lk(sh.mu);
        if (sh.cancel || run.closed) {
            run.outstanding.erase(sid);
            sh.cv.notify_all();
            return;
        }
        if (auto it = run.outstanding.find(sid); it != run.outstanding.end()) it->second.started = Clock::now();
    }
    detail::ParallelCommit commit;
    std::exception_ptr error;
    {
        auto scope = private_usage_tracker();
        try {
            commit = run.work->run(index);
        } catch (...) {
            error = std::current_exception();
        }
    }
    std::string log_line;
    if (error) log_line = error_line(run.work->describe(index), error, *opts->provide_traceback);
    {
        std::lock_guard lk(sh.mu);
        run.outstanding.erase(sid);
        if (!run.closed) {
            if (error) {
                if (++sh.error_count >= *opts->max_errors) sh.cancel = true;
                // Written before the item counts as done, so the line is out when execute() returns.
                std::fputs(log_line.c_str(), stderr);
            }
            if (!run.done[index]) {
                run.done[index] = 1;
                ++run.ndone;
                ++run.events;
                if (error) {
                    sh.failed_indices.push_back(index);
                    sh.exceptions_map[index] = error;
                } else {
                    run.score_sum += commit();
                    ++run.nok;
                }
            }
        }
        sh.cv.notify_all();
    }
}

void report_progress(detail::ProgressBar& bar, const ParallelExecutor::Options& opts, const Run& run) {
    if (opts.compare_results)
        bar.set_description(detail::average_metric_description(run.score_sum, run.nok));
    else
        bar.set_description(detail::processed_description(run.nok, run.work->size));
    bar.update();
}

}  // namespace

void ParallelExecutor::run_work(std::shared_ptr<detail::ParallelWork> work) {
    auto run = std::make_shared<Run>();
    const std::size_t n = work->size;
    run->work = std::move(work);
    run->done.assign(n, 0);
    auto opts = std::make_shared<Options>(options_);
    auto sh = shared_;
    detail::ProgressBar bar(n, !options_.disable_progress_bar);
    bool cancelled = false;

    if (*options_.num_threads == 1) {
        // Sequential, on the calling thread; each item still starts from the caller's context and cannot leave
        // its own behind.
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t sid;
            {
                std::lock_guard lk(sh->mu);
                if (sh->cancel) break;
                sid = run->next_submission++;
                run->outstanding.emplace(sid, Run::Submission{i, std::nullopt, false});
            }
            detail::TaskContext outer = detail::capture_context();
            run_submission(opts, *sh, *run, sid, i);
            detail::restore_context(std::move(outer));
            std::lock_guard lk(sh->mu);
            for (; run->events > 0; --run->events) report_progress(bar, options_, *run);
        }
        std::lock_guard lk(sh->mu);
        run->closed = true;
        cancelled = sh->cancel;
    } else {
        auto pool = std::make_unique<ThreadPool>(0, std::min<std::size_t>(static_cast<std::size_t>(*options_.num_threads),
                                                                        std::max<std::size_t>(n, 1)));
        auto submit = [&](std::uint64_t sid, std::size_t i) {
            pool->submit([opts, sh, run, sid, i] { run_submission(opts, *sh, *run, sid, i); });
        };
        std::unique_lock lk(sh->mu);
        for (std::size_t i = 0; i < n; ++i) {
            auto sid = run->next_submission++;
            run->outstanding.emplace(sid, Run::Submission{i, std::nullopt, false});
        }
        lk.unlock();
        for (std::uint64_t sid = 0; sid < n; ++sid) submit(sid, static_cast<std::size_t>(sid));
        lk.lock();
        // DSPy waits with a 1 s timeout so that stragglers are noticed; a shorter timeout is honoured sooner.
        auto poll = std::chrono::duration<double>(1.0);
        if (options_.timeout > 0) poll = std::min(poll, std::chrono::duration<double>(options_.timeout));
        while (!sh->cancel && run->ndone < n && !run->outstanding.empty()) {
            sh->cv.wait_for(lk, poll, [&] {
                return run->events > 0 || sh->cancel || run->ndone >= n || run->outstanding.empty();
            });
            for (; run->events > 0; --run->events) report_progress(bar, options_, *run);
            if (sh->cancel || run->ndone >= n) break;
            if (options_.timeout > 0 && run->outstanding.size() <= static_cast<std::size_t>(options_.straggler_limit)) {
                const auto now = Clock::now();
                std::vector<std::pair<std::uint64_t, std::size_t>> again;
                for (auto& [sid, sub] : run->outstanding) {
                    if (sub.resubmitted || !sub.started) continue;
                    if (std::chrono::duration<double>(now - *sub.started).count() >= options_.timeout) {
                        sub.resubmitted = true;
                        again.emplace_back(run->next_submission++, sub.index);
                    }
                }
                for (auto& [sid, i] : again) {
                    Run::Submission dup{i, std::nullopt, true};  // a duplicate is never resubmitted again
                    run->outstanding.emplace(sid, dup);
                }
                if (!again.empty()) {
                    lk.unlock();
                    for (auto& [sid, i] : again) submit(sid, i);
                    lk.lock();
                }
            }
        }
        run->closed = true;
        cancelled = sh->cancel;
        lk.unlock();
        // Queued jobs see `closed` and return at once; running ones are waited for by our destructor.
        pools_.push_back(std::move(pool));
    }
    bar.close();
    if (cancelled) {
        std::fprintf(stderr, "dspy WARNING: %s\n", kCancelled);
        throw std::runtime_error(kCancelled);
    }
}

// ---- single-threaded fan-out ---------------------------------------------------------------------------------

namespace detail {
namespace {

struct GatherState {
    std::mutex mu;  // jobs normally all resume on this loop's thread; a job that hops threads must not race
    const GatherOptions* options = nullptr;
    std::function<Task<double>(std::size_t)>* job = nullptr;
    std::function<std::string(std::size_t)>* describe = nullptr;
    std::vector<std::exception_ptr>* errors = nullptr;
    ProgressBar* bar = nullptr;
    std::size_t total = 0;
    std::size_t nok = 0;
    double score_sum = 0;
    int error_count = 0;
    bool cancel = false;
};

Task<void> gather_one(CapacityLimiter& limiter, GatherState& st, std::size_t i) {
    auto permit = co_await limiter.acquire();
    {
        std::lock_guard lk(st.mu);
        if (st.cancel) co_return;
    }
    auto scope = private_usage_tracker();
    std::exception_ptr error;
    double score = 0;
    try {
        score = co_await (*st.job)(i);
    } catch (...) {
        error = std::current_exception();
    }
    scope.reset();
    std::string log_line;
    if (error) log_line = error_line((*st.describe)(i), error, st.options->provide_traceback);
    std::lock_guard lk(st.mu);
    if (error) {
        (*st.errors)[i] = error;
        if (++st.error_count >= st.options->max_errors) st.cancel = true;
        std::fputs(log_line.c_str(), stderr);
    } else {
        ++st.nok;
        st.score_sum += score;
    }
    if (st.options->compare_results)
        st.bar->set_description(average_metric_description(st.score_sum, st.nok));
    else
        st.bar->set_description(processed_description(st.nok, st.total));
    st.bar->update();
}

}  // namespace

Task<void> bounded_gather(std::size_t n, GatherOptions options, std::function<Task<double>(std::size_t)> job,
                          std::function<std::string(std::size_t)> describe, std::vector<std::exception_ptr>& errors) {
    if (options.max_concurrency < 1) throw ValueError("max_concurrency must be at least 1, got 0");
    errors.assign(n, nullptr);
    CapacityLimiter limiter(options.max_concurrency);
    ProgressBar bar(n, options.show_progress);
    GatherState st;
    st.options = &options;
    st.job = &job;
    st.describe = &describe;
    st.errors = &errors;
    st.bar = &bar;
    st.total = n;
    std::vector<Task<void>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(gather_one(limiter, st, i));
    auto all = when_all(std::move(tasks));
    co_await std::move(all);
    bar.close();
    if (st.cancel) {
        std::fprintf(stderr, "dspy WARNING: %s\n", kCancelled);
        throw std::runtime_error(kCancelled);
    }
}

}  // namespace detail
}  // namespace dspy
