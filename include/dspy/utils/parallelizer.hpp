#pragma once
/// @file
/// ParallelExecutor: run a function over many items on worker threads, with DSPy's error budget, straggler
/// resubmission and progress bar. @sa dspy/utils/parallelizer.py
///
/// Every item runs under the caller's settings snapshot (so `dspy::context` inside one item reaches neither the
/// caller nor another item), with its own deep copy of the active usage tracker, and inherits the caller's
/// active callback call id.

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"

namespace dspy {

class ThreadPool;

/// Options of ParallelExecutor; unset ones come from the settings at construction. @sa ParallelExecutor.__init__
struct ParallelExecutorOptions {
    std::optional<int> num_threads{};        ///< workers; 1 runs every item on the calling thread
    std::optional<int> max_errors{};         ///< errors that cancel the run
    bool disable_progress_bar = false;       ///< the bar is only ever drawn when stdout is a terminal
    std::optional<bool> provide_traceback{};
    bool compare_results = false;            ///< progress shows the running sum of each result's last element
    double timeout = 120;                    ///< seconds before a straggler is resubmitted; 0 disables
    int straggler_limit = 3;                 ///< look for stragglers only when this many or fewer remain
};

namespace detail {

/// The executor's state shared with its jobs (defined in parallelizer.cpp).
struct ParallelShared;

/// Moves one finished item's value into its result slot and returns its score (compare_results).
using ParallelCommit = std::function<double()>;

/// The type-erased work of one `execute` call, shared with the jobs (a resubmitted straggler may outlive it).
struct ParallelWork {
    std::size_t size = 0;
    std::function<ParallelCommit(std::size_t)> run;     ///< runs item i; throws what the function throws
    std::function<std::string(std::size_t)> describe;  ///< the item as DSPy's error log shows it
};

/// Python's repr of a JSON value (pyfmt::repr, which is private to the library).
std::string repr_json(const Json& v);

/// `str(item)` for the error log: repr() when the item has one, Python's repr for JSON-convertible values.
template <typename T>
std::string describe_item(const T& item, std::size_t index) {
    if constexpr (requires { { item.repr() } -> std::convertible_to<std::string>; }) {
        return item.repr();
    } else if constexpr (std::is_convertible_v<const T&, Json>) {
        return repr_json(Json(item));
    } else {
        return "<item " + std::to_string(index) + ">";
    }
}

/// `result[-1]` as a number, for compare_results (a pair or tuple's last element; bool counts 0/1).
template <typename R>
double last_element_score(const R& r) {
    if constexpr (requires { std::tuple_size<R>::value; }) {
        if constexpr (std::tuple_size_v<R> > 0) {
            const auto& last = std::get<std::tuple_size_v<R> - 1>(r);
            using L = std::remove_cvref_t<decltype(last)>;
            if constexpr (std::is_arithmetic_v<L>) return static_cast<double>(last);
            else if constexpr (std::is_same_v<L, Json>) {
                if (last.is_boolean()) return last.template get<bool>() ? 1.0 : 0.0;
                return last.is_number() ? last.template get<double>() : 0.0;
            } else {
                return 0.0;
            }
        } else {
            return 0.0;
        }
    } else {
        return 0.0;
    }
}

/// How `bounded_gather` runs.
struct GatherOptions {
    std::size_t max_concurrency = 64;
    int max_errors = 10;
    bool provide_traceback = false;
    bool show_progress = false;   ///< the same bar as ParallelExecutor, when stdout is a terminal
    bool compare_results = false;  ///< the bar shows the running sum of the jobs' scores
};

/// The single-threaded fan-out behind Module::abatch and Evaluate::acall: runs `job(i)` for every i as child
/// tasks on the current event loop, at most `max_concurrency` in flight, each with the caller's settings and
/// its own copy of the usage tracker. A job's value is its score (compare_results). `errors[i]` receives each
/// failure; once `max_errors` jobs failed no new job starts and it ends with DSPy's cancel error.
Task<void> bounded_gather(std::size_t n, GatherOptions options, std::function<Task<double>(std::size_t)> job,
                          std::function<std::string(std::size_t)> describe, std::vector<std::exception_ptr>& errors);

}  // namespace detail

/// Runs `fn(item)` for every item, on `num_threads` workers (or on the calling thread when it is 1). A failed
/// item's result is empty, its index goes to `failed_indices()` and its exception to `exceptions_map()`; once
/// `max_errors` items have failed the run stops with DSPy's "Execution cancelled due to errors or
/// interruption." Near the end, an item running for `timeout` seconds is started once more and the first
/// result wins, as in DSPy.
///
/// Lifetime: `execute` returns as soon as every item has a result, so a superseded straggler may still be
/// running; it is waited for by the executor's destructor. `data` (and whatever `fn` refers to) must therefore
/// outlive the executor — which is automatic for the usual local executor. @sa dspy.utils.parallelizer.ParallelExecutor
class ParallelExecutor {
public:
    using Options = ParallelExecutorOptions;
    /// Resolves unset options from the current settings. @throws ValueError when num_threads < 1.
    explicit ParallelExecutor(Options options = {});
    /// Waits for superseded stragglers still running.
    ~ParallelExecutor();
    ParallelExecutor(const ParallelExecutor&) = delete;
    ParallelExecutor& operator=(const ParallelExecutor&) = delete;

    /// Runs `fn` over `data` and returns one result per item in input order (empty for failed items; a void
    /// `fn` gives std::monostate). `fn` may be called from several threads at once.
    /// @throws std::runtime_error("Execution cancelled due to errors or interruption.") after max_errors failures.
    /// @sa ParallelExecutor.execute
    template <typename F, typename T>
    auto execute(F fn, const std::vector<T>& data) {
        using Raw = std::invoke_result_t<F&, const T&>;
        using R = std::conditional_t<std::is_void_v<Raw>, std::monostate, std::remove_cvref_t<Raw>>;
        struct Holder {
            F fn;
            const std::vector<T>* data;
            std::vector<std::optional<R>> results;
        };
        auto h = std::make_shared<Holder>(Holder{std::move(fn), &data, std::vector<std::optional<R>>(data.size())});
        auto work = std::make_shared<detail::ParallelWork>();
        work->size = data.size();
        work->run = [h](std::size_t i) -> detail::ParallelCommit {
            if constexpr (std::is_void_v<Raw>) {
                std::invoke(h->fn, (*h->data)[i]);
                return [h, i] {
                    h->results[i].emplace();
                    return 0.0;
                };
            } else {
                auto value = std::make_shared<R>(std::invoke(h->fn, (*h->data)[i]));
                return [h, i, value] {
                    double score = detail::last_element_score(*value);
                    h->results[i].emplace(std::move(*value));
                    return score;
                };
            }
        };
        work->describe = [h](std::size_t i) { return detail::describe_item((*h->data)[i], i); };
        run_work(std::move(work));
        return std::move(h->results);
    }

    /// Indices of the failed items, in the order they failed. @sa ParallelExecutor.failed_indices
    [[nodiscard]] std::vector<std::size_t> failed_indices() const;
    /// The exception of each failed item. @sa ParallelExecutor.exceptions_map
    [[nodiscard]] std::map<std::size_t, std::exception_ptr> exceptions_map() const;
    /// Errors counted so far (across execute calls, as in DSPy). @sa ParallelExecutor.error_count
    [[nodiscard]] int error_count() const;
    /// The resolved options. @sa ParallelExecutor.num_threads, .max_errors, .timeout, ...
    [[nodiscard]] const Options& options() const { return options_; }
    [[nodiscard]] int num_threads() const { return *options_.num_threads; }
    [[nodiscard]] int max_errors() const { return *options_.max_errors; }

private:
    void run_work(std::shared_ptr<detail::ParallelWork> work);
    Options options_;
    std::shared_ptr<detail::ParallelShared> shared_;
    std::vector<std::unique_ptr<ThreadPool>> pools_;  // one per parallel execute; joined by the destructor
};

}  // namespace dspy
