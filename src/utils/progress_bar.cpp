#include "utils/progress_bar.hpp"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "utils/pyfmt.hpp"

namespace dspy::detail {

namespace {
std::string mmss(double seconds) {
    auto s = static_cast<long>(seconds);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
    return buf;
}
}  // namespace

ProgressBar::ProgressBar(std::size_t total, bool enabled)
    : total_(total), drawing_(enabled && isatty(STDOUT_FILENO) != 0) {
    if (drawing_) draw();
}

void ProgressBar::update() {
    ++n_;
    if (drawing_) draw();
}

void ProgressBar::close() {
    if (closed_) return;
    closed_ = true;
    if (drawing_) {
        draw();
        std::fputs("\n", stdout);
        std::fflush(stdout);
    }
}

// tqdm's default layout: "{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}]".
void ProgressBar::draw() {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double frac = total_ ? static_cast<double>(n_) / static_cast<double>(total_) : 0.0;
    constexpr int kWidth = 10;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar;
    for (int i = 0; i < kWidth; ++i) bar += i < filled ? "\u2588" : " ";
    std::string rate = "?it/s", remaining = "?";
    if (n_ > 0 && elapsed > 0) {
        const double r = static_cast<double>(n_) / elapsed;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2fit/s", r);
        rate = buf;
        remaining = mmss(static_cast<double>(total_ - n_) / r);
    }
    std::string line = "\r";
    if (!desc_.empty()) line += desc_ + ": ";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%%", frac * 100);
    line += pct;
    line += "|" + bar + "| " + std::to_string(n_) + "/" + std::to_string(total_) + " [" + mmss(elapsed) + "<" +
            remaining + ", " + rate + "]";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
}

std::string processed_description(std::size_t n, std::size_t total) {
    return "Processed " + std::to_string(n) + " / " + std::to_string(total) + " examples";
}

double py_round(double x, int ndigits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", ndigits, x);
    return std::strtod(buf, nullptr);
}

std::string average_metric_description(double sum, std::size_t count) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", sum);
    std::string pct = count ? pyfmt::float_repr(py_round(100 * sum / static_cast<double>(count), 1)) : "0";
    return std::string("Average Metric: ") + buf + " / " + std::to_string(count) + " (" + pct + "%)";
}

}  // namespace dspy::detail
