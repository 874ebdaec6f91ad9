#pragma once
// `dspy batch`: runs a program over a JSONL file with bounded concurrency on one event loop, appending one
// whole line per finished row to the output (completion order, each tagged with its input line number `_line`),
// so that a rerun after a crash, kill -9 or Ctrl-C skips the rows already there and never loses or repeats one.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"
#include "program.hpp"

namespace dspy::cli {

/// Options of one batch run.
struct BatchOptions {
    std::filesystem::path input;
    std::filesystem::path output;
    int concurrency = 16;
    std::optional<std::string> metric{};  // exact_match | contains | f1
    std::string label = "answer";         // the gold column the metric reads
    /// Where progress and warnings go; null: nowhere.
    std::FILE* log = stderr;
    /// Redraw a progress bar (true) or print plain lines every `progress_interval_s` (false); default: whether
    /// `log` is a terminal.
    std::optional<bool> tty{};
    double progress_interval_s = 2.0;
    /// Set (e.g. by a SIGINT handler) to stop taking new rows; rows in flight finish and are written.
    const std::atomic<bool>* stop = nullptr;
    /// On resume, run the rows recorded with an error again (their old lines are removed first).
    bool retry_errors = false;
};

/// What a batch run did (this run's figures, plus what it found in the output from earlier runs).
struct BatchSummary {
    int64_t rows = 0;           // rows in the input (non-blank lines)
    int64_t resumed = 0;        // rows already in the output when the run started
    int64_t done = 0;           // rows written by this run
    int64_t errors = 0;         // of which recorded with an error (bad line or failed call)
    int64_t bad_lines = 0;      // of which input lines that were not a usable JSON object
    bool interrupted = false;   // stopped before every row was done
    double wall_s = 0;
    int64_t lm_calls = 0, cache_hits = 0, prompt_tokens = 0, completion_tokens = 0;
    std::optional<double> metric_mean{};  // over every row in the output (errors count as 0)
    int64_t scored = 0;
    int64_t repaired_bytes = 0;  // a torn last line dropped from the output
    int64_t retried = 0;         // rows recorded with an error by an earlier run and run again

    /// The figures as one JSON object (for --summary-json and tests).
    [[nodiscard]] Json to_json() const;
    /// The human summary printed at the end.
    [[nodiscard]] std::string text(const std::string& metric_name) const;
};

/// The rows an output file already holds. A torn last line (no newline: the process died mid-write) is cut off
/// the file. @throws std::runtime_error naming the line of a corrupt line that is not the last one.
struct ResumeState {
    std::set<int64_t> done;  // `_line` values
    int64_t errors = 0;
    double score_sum = 0;
    int64_t scored = 0;
    int64_t repaired_bytes = 0;
    int64_t retried = 0;  // error lines removed for another try
};
/// With `drop_errors`, lines holding an `error` are removed (the file is rewritten through a temporary file and
/// a rename, so a crash leaves either the old or the new file) and their rows are not counted as done.
ResumeState scan_output(const std::filesystem::path& output, bool drop_errors = false);

/// Runs the batch on the calling thread (its own event loop). The program's LM and adapter are installed for
/// the run; history is off (a batch would otherwise keep every prompt). @throws std::runtime_error for an
/// unreadable input or unwritable output.
BatchSummary run_batch(LoadedProgram& program, const BatchOptions& options);

}  // namespace dspy::cli
