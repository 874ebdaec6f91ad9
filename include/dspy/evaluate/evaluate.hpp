#pragma once
/// @file
/// Evaluate: run a program over a devset, score each prediction with a metric, report the average.
/// @sa dspy/evaluate/evaluate.py

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"
#include "dspy/primitives/prediction.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"

namespace dspy {

class Module;

/// A metric: `metric(example, prediction)` gives a score (bool, int or float; True counts 1).
/// @sa the metric callables of dspy.Evaluate
using Metric = std::function<Json(const Example&, const Prediction&)>;

/// A program Evaluate can call with an example's inputs (a Module is wrapped into one).
using Program = std::function<Prediction(const Json&)>;

/// `display_table`: false, true (every row) or a number of rows to show. @sa Evaluate(display_table=...)
using DisplayTable = std::variant<bool, int>;

/// Options of Evaluate. @sa Evaluate.__init__
struct EvaluateOptions {
    std::vector<Example> devset{};
    Metric metric{};
    /// The metric's column name in the table and exports (DSPy uses the function's `__name__`).
    std::string metric_name = "metric";
    std::optional<int> num_threads{};     ///< default: settings().num_threads when called
    bool display_progress = false;        ///< a progress bar with the running score, when stdout is a terminal
    DisplayTable display_table = false;
    std::optional<int> max_errors{};      ///< default: settings().max_errors
    std::optional<bool> provide_traceback{};
    double failure_score = 0.0;           ///< the score of an example whose program or metric failed
    std::string save_as_csv{};            ///< file to write the results to ("": none)
    std::string save_as_json{};
    /// Only to reject it as DSPy does: set it and the constructor throws ValueError.
    std::optional<bool> return_outputs{};
};

/// Per-call overrides of Evaluate::operator() and acall; unset members use the instance's. @sa Evaluate.__call__
struct EvaluateCallOptions {
    Metric metric{};
    std::string metric_name{};
    std::optional<std::vector<Example>> devset{};
    std::optional<int> num_threads{};
    std::optional<bool> display_progress{};
    std::optional<DisplayTable> display_table{};
    Json callback_metadata = nullptr;
    std::optional<std::string> save_as_csv{};
    std::optional<std::string> save_as_json{};
    /// acall only: calls in flight at once (default: num_threads, then settings().num_threads).
    std::optional<std::size_t> max_concurrency{};
};

/// One devset row's outcome. @sa the (example, prediction, score) tuples of EvaluationResult.results
struct EvaluationRow {
    Example example;        ///< the devset example
    Prediction prediction;  ///< empty when the program or the metric failed
    Json score;             ///< the metric's value, or failure_score
};

/// What Evaluate returns: the percentage score rounded to 2 places and one row per example.
/// @sa dspy.evaluate.evaluate.EvaluationResult
struct EvaluationResult {
    double score = 0;                     ///< 100 * sum / len(devset), rounded to 2 places
    std::vector<EvaluationRow> results;   ///< one row per devset example, in order
    /// `EvaluationResult(score=100.0, results=<list of 2 results>)`. @sa EvaluationResult.__repr__
    [[nodiscard]] std::string repr() const;
};
/// Writes repr(). @sa EvaluationResult.__repr__
std::ostream& operator<<(std::ostream& os, const EvaluationResult& r);

/// Evaluates a program on a devset, on `num_threads` worker threads (1: the calling thread), with DSPy's
/// error budget, log line "Average Metric: ...", optional results table and CSV/JSON export. Callbacks get
/// on_evaluate_start/end, and the program's calls are their children. @sa dspy.Evaluate
class Evaluate {
public:
    /// @throws ValueError when `return_outputs` is set, with DSPy's message.
    explicit Evaluate(EvaluateOptions options);

    /// Runs `program` over the devset. @throws std::runtime_error when max_errors is reached; ValueError when
    /// no metric is given. @sa Evaluate.__call__
    EvaluationResult operator()(Module& program, const EvaluateCallOptions& call = {});
    /// The same with a plain function as the program (DSPy accepts any callable).
    EvaluationResult operator()(const Program& program, const EvaluateCallOptions& call = {});

    /// The async variant, which DSPy does not have: every example is a `program.acall` child task on the
    /// awaiting thread's event loop (no worker threads), at most `max_concurrency` in flight; same results,
    /// log line, table and exports as the sync call. `auto r = co_await evaluate.acall(program);`
    Task<EvaluationResult> acall(Module& program, EvaluateCallOptions call = {});

    /// The constructor's options. @sa Evaluate's attributes
    [[nodiscard]] const EvaluateOptions& options() const { return options_; }
    /// @sa Evaluate.devset
    [[nodiscard]] const std::vector<Example>& devset() const { return options_.devset; }
    /// Unset unless given (resolved when called). @sa Evaluate.num_threads
    [[nodiscard]] std::optional<int> num_threads() const { return options_.num_threads; }
    /// @sa Evaluate.display_progress
    [[nodiscard]] bool display_progress() const { return options_.display_progress; }
    /// @sa Evaluate.display_table
    [[nodiscard]] const DisplayTable& display_table() const { return options_.display_table; }

    /// The rows of the table and the exports: example and prediction fields merged (`example_`/`pred_`
    /// prefixes on clashes) plus the `{metric_name}` score. @sa Evaluate._prepare_results_output
    static Json prepare_results_output(const std::vector<EvaluationRow>& results, const std::string& metric_name);
    /// The results table as text: a plain aligned table with the same columns as DSPy's pandas table, cells cut
    /// to 25 words, the metric column shown as `✔️ [score]`, at most `display_table` rows plus DSPy's
    /// "... N more rows not displayed ..." note. @sa Evaluate._construct_result_table, _display_result_table
    static std::string format_result_table(const std::vector<EvaluationRow>& results, const std::string& metric_name,
                                           const DisplayTable& display_table);

private:
    struct Resolved;
    Resolved resolve(const EvaluateCallOptions& call) const;
    std::optional<ContextScope> start_callbacks(detail::CallbackScope& cb, const Resolved& r) const;
    EvaluationResult run(const Program& program, const EvaluateCallOptions& call);
    EvaluationResult finish(const Resolved& r, std::vector<EvaluationRow> rows) const;
    EvaluateOptions options_;
};

}  // namespace dspy
