#pragma once
/// @file
/// Parallel: run (module, example) pairs on worker threads. @sa dspy/predict/parallel.py

#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "dspy/json.hpp"
#include "dspy/primitives/prediction.hpp"

namespace dspy {

class Module;

/// What `Parallel`, `Module::batch` and `Module::abatch` return: one result per pair in input order (empty
/// where the call failed) and, when `return_failed_examples` is set, the failed examples and their exceptions.
/// Indexable like the results; `auto [results, failed, errors] = ...` unpacks it like DSPy's tuple.
/// @sa the `results` / `(results, failed_examples, exceptions)` of Parallel.forward
struct ParallelResults {
    std::vector<std::optional<Prediction>> results;  ///< DSPy's list with None for failures
    std::vector<Example> failed_examples;            ///< with return_failed_examples @sa Parallel.failed_examples
    std::vector<std::exception_ptr> exceptions;      ///< their exceptions, same order @sa Parallel.exceptions

    /// Number of results (one per pair). @sa len(results)
    [[nodiscard]] std::size_t size() const { return results.size(); }
    /// The i-th result, empty when that call failed. @sa results[i]
    [[nodiscard]] const std::optional<Prediction>& operator[](std::size_t i) const { return results[i]; }
    /// Iterates over the results. @sa iter(results)
    [[nodiscard]] auto begin() const { return results.begin(); }
    /// @sa iter(results)
    [[nodiscard]] auto end() const { return results.end(); }
};

/// One pair of `Parallel`: what to call and with what. The target is a Module or a plain function of the
/// inputs; the example is an Example (its inputs are passed when `access_examples`, else all its fields), a JSON
/// object (passed as the keyword inputs) or a JSON array (passed as is to a function target, DSPy's tuple).
/// @sa the `(module, example)` tuples of Parallel.forward
struct ExecPair {
    /// A plain function target: gets the inputs (or the array of a tuple-like example).
    using Function = std::function<Prediction(const Json&)>;
    /// `(module, example)`: called with the example's inputs. @sa (module, Example) pairs
    ExecPair(Module& module, Example ex) : target(&module), example(std::move(ex)) {}
    /// `(module, {...})`: called with this JSON object as keyword inputs. @sa (module, dict) pairs
    ExecPair(Module& module, Json ex) : target(&module), example(std::move(ex)) {}
    /// `(function, example)`. @sa (callable, Example) pairs
    ExecPair(Function fn, Example ex) : target(std::move(fn)), example(std::move(ex)) {}
    /// `(function, {...})` or `(function, [...])`. @sa (callable, dict/tuple) pairs
    ExecPair(Function fn, Json ex) : target(std::move(fn)), example(std::move(ex)) {}

    std::variant<Module*, Function> target;  ///< borrowed module (must outlive the call) or owned function
    std::variant<Example, Json> example;

    /// `(target, example)` for DSPy's "Error for ..." log line.
    [[nodiscard]] std::string repr() const;
};

/// Options of Parallel; unset ones come from the settings at construction. @sa Parallel.__init__
struct ParallelOptions {
    std::optional<int> num_threads{};
    std::optional<int> max_errors{};
    bool access_examples = true;          ///< call with `example.inputs()` rather than the whole example
    bool return_failed_examples = false;  ///< fill failed_examples/exceptions (accumulated across calls)
    std::optional<bool> provide_traceback{};
    bool disable_progress_bar = false;
    double timeout = 120;                 ///< seconds before a straggler is resubmitted; 0 disables
    int straggler_limit = 3;
};

/// Runs exec pairs through a ParallelExecutor. Nest it by calling a Parallel (or `batch`) inside a module that
/// is itself run by a Parallel. With `return_failed_examples`, failures accumulate across calls on the same
/// instance, as in DSPy. @sa dspy.Parallel
class Parallel {
public:
    using Options = ParallelOptions;
    /// Resolves num_threads and max_errors from the settings when unset. @sa Parallel.__init__
    explicit Parallel(Options options = {});

    /// Runs every pair; `num_threads` overrides the instance's. @throws ValueError for an example of another
    /// type (DSPy's "Invalid example type" message); std::runtime_error when max_errors is reached.
    /// @sa Parallel.forward / Parallel.__call__
    ParallelResults operator()(const std::vector<ExecPair>& exec_pairs, std::optional<int> num_threads = std::nullopt) {
        return forward(exec_pairs, num_threads);
    }
    /// @sa Parallel.forward
    ParallelResults forward(const std::vector<ExecPair>& exec_pairs, std::optional<int> num_threads = std::nullopt);

    /// Resolved at construction from the settings when unset. @sa Parallel.num_threads
    [[nodiscard]] int num_threads() const { return options_.num_threads.value_or(0); }
    /// @sa Parallel.max_errors
    [[nodiscard]] int max_errors() const { return options_.max_errors.value_or(0); }
    /// Seconds before a straggler is resubmitted (default 120). @sa Parallel.timeout
    [[nodiscard]] double timeout() const { return options_.timeout; }
    /// @sa Parallel.straggler_limit
    [[nodiscard]] int straggler_limit() const { return options_.straggler_limit; }
    /// Every option, resolved.
    [[nodiscard]] const Options& options() const { return options_; }
    /// Every failed example so far (with return_failed_examples). @sa Parallel.failed_examples
    [[nodiscard]] std::vector<Example> failed_examples() const;
    /// Their exceptions. @sa Parallel.exceptions
    [[nodiscard]] std::vector<std::exception_ptr> exceptions() const;

private:
    Options options_;
    mutable std::mutex mu_;
    std::vector<Example> failed_examples_;
    std::vector<std::exception_ptr> exceptions_;
};

}  // namespace dspy
