#pragma once
// A tqdm-like progress line on stdout, drawn only when stdout is a terminal (DSPy's tqdm(file=sys.stdout)).
// Used by ParallelExecutor and the async fan-outs; not thread-safe (its owner serialises the calls).

#include <chrono>
#include <cstddef>
#include <string>

namespace dspy::detail {

class ProgressBar {
public:
    /// `enabled`: the caller's wish; the bar is drawn only if stdout is also a terminal.
    ProgressBar(std::size_t total, bool enabled);
    ~ProgressBar() { close(); }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// @sa tqdm.set_description (redraws on the next update)
    void set_description(std::string desc) { desc_ = std::move(desc); }
    /// One more item done; redraws. @sa tqdm.update
    void update();
    /// Final redraw and newline. @sa tqdm.close
    void close();
    [[nodiscard]] bool drawing() const { return drawing_; }

private:
    void draw();
    std::size_t total_;
    std::size_t n_ = 0;
    bool drawing_;
    bool closed_ = false;
    std::string desc_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// The progress description of ParallelExecutor: "Processed {n} / {total} examples".
std::string processed_description(std::size_t n, std::size_t total);
/// With compare_results: "Average Metric: {sum:.2f} / {count} ({round(100*sum/count, 1)}%)".
std::string average_metric_description(double sum, std::size_t count);
/// Python's round(x, ndigits) (correctly rounded, half to even on the exact binary value).
double py_round(double x, int ndigits);

}  // namespace dspy::detail
