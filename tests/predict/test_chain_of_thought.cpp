#include "dspy/predict/chain_of_thought.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/dummies.hpp"

namespace dspy {

TEST(ChainOfThought, AddsReasoningBeforeTheOutputs) {
    ChainOfThought cot("question -> answer");
    const auto& sig = cot.predict().signature();
    EXPECT_EQ(sig.signature_string(), "question -> reasoning, answer");
    EXPECT_EQ(sig.field("reasoning")->prefix, "Reasoning:");
    EXPECT_EQ(sig.instructions(), "Given the fields `question`, produce the fields `answer`.");
}

TEST(ChainOfThought, ReturnsReasoningAndAnswer) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"reasoning", "Paris is the capital."}, {"answer", "Paris"}}});
    ChainOfThought cot("question -> answer");
    cot.predict().set_lm(lm);
    auto out = cot({{"question", "capital of France?"}});
    EXPECT_EQ(out.at("reasoning"), "Paris is the capital.");
    EXPECT_EQ(out.at("answer"), "Paris");
    auto named = cot.named_predictors();
    ASSERT_EQ(named.size(), 1u);
    EXPECT_EQ(named[0].first, "predict");
}

}  // namespace dspy
