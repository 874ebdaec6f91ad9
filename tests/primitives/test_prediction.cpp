#include "dspy/primitives/prediction.hpp"

#include <gtest/gtest.h>

namespace dspy {

TEST(Prediction, ReprLikeDspy) {
    auto p = Prediction::from_completions({Json{{"reasoning", "r"}, {"answer", "Paris"}}});
    EXPECT_EQ(p.repr(), "Prediction(\n    reasoning='r',\n    answer='Paris'\n)");
}

TEST(Prediction, SeveralCompletions) {
    auto p = Prediction::from_completions({Json{{"answer", "a"}}, Json{{"answer", "b"}}, Json{{"answer", "c"}}});
    EXPECT_EQ(p.at("answer"), "a");
    EXPECT_EQ(p.completions_of("answer"), (std::vector<Json>{"a", "b", "c"}));
    EXPECT_EQ(p.repr(), "Prediction(\n    answer='a',\n    completions=Completions(...)\n) (2 completions omitted)");
}

}  // namespace dspy
