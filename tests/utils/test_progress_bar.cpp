// The progress line's texts (DSPy's tqdm descriptions) and Python's round().
#include "utils/progress_bar.hpp"

#include <gtest/gtest.h>

namespace dspy::detail {
namespace {

TEST(ProgressBar, DescriptionsAreDspys) {
    EXPECT_EQ(processed_description(3, 5), "Processed 3 / 5 examples");
    EXPECT_EQ(average_metric_description(2.0, 3), "Average Metric: 2.00 / 3 (66.7%)");
    EXPECT_EQ(average_metric_description(1.5, 2), "Average Metric: 1.50 / 2 (75.0%)");
    EXPECT_EQ(average_metric_description(0, 0), "Average Metric: 0.00 / 0 (0%)");
}

TEST(ProgressBar, PyRoundIsCorrectlyRounded) {
    EXPECT_EQ(py_round(64.51612903225806, 2), 64.52);
    EXPECT_EQ(py_round(2.675, 2), 2.67);  // 2.675 is 2.67499999... in binary, as Python rounds it
    EXPECT_EQ(py_round(0.125, 2), 0.12);  // exact half: to even
    EXPECT_EQ(py_round(100.0, 1), 100.0);
}

TEST(ProgressBar, DrawsNothingWhenDisabledOrNotATerminal) {
    ::testing::internal::CaptureStdout();
    {
        ProgressBar bar(3, false);
        bar.set_description("x");
        bar.update();
        EXPECT_FALSE(bar.drawing());
    }
    {
        ProgressBar bar(3, true);  // stdout is captured into a file: not a terminal
        bar.update();
        EXPECT_FALSE(bar.drawing());
    }
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

}  // namespace
}  // namespace dspy::detail
