// The batch metrics follow dspy.evaluate.metrics.
#include "metrics.hpp"

#include <gtest/gtest.h>

namespace dspy::cli {
namespace {

TEST(CliMetrics, NormalizeTextLikeDspy) {
    EXPECT_EQ(normalize_text("The,  Eiffel  Tower!"), "eiffel tower");
    EXPECT_EQ(normalize_text("  An apple a day "), "apple day");
}

TEST(CliMetrics, Scores) {
    EXPECT_EQ(score("exact_match", "The Eiffel Tower", "Eiffel Tower"), 1.0);
    EXPECT_EQ(score("exact_match", "paris", Json::array({"Louvre", "Paris"})), 1.0);
    EXPECT_EQ(score("exact_match", "paris", "Paris, France"), 0.0);
    EXPECT_EQ(score("exact_match", Json(42), "42"), 1.0);
    EXPECT_EQ(score("contains", "It is Paris, France", "paris"), 1.0);
    EXPECT_NEAR(score("f1", "Eiffel Tower is in Paris", "Paris"), 0.333, 0.001);
    EXPECT_EQ(score("f1", "x", "y"), 0.0);
    EXPECT_TRUE(is_metric("f1"));
    EXPECT_FALSE(is_metric("bleu"));
}

}  // namespace
}  // namespace dspy::cli
