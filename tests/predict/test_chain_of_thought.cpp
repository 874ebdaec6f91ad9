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

// --- async (DSPy tests/predict/test_chain_of_thought.py) -----------------------------------------------------

#include "dspy/async/run.hpp"
#include "dspy/settings/settings.hpp"

namespace dspy {
namespace {

TEST(ChainOfThoughtAsync, AsyncChainOfThought) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"reasoning", "find the number after 1"}, {"answer", "2"}}});
    auto scope = context({.lm = lm});
    ChainOfThought program("question -> answer");
    auto result = run(program.acall("question", "What is 1+1?"));
    EXPECT_EQ(result.at("answer"), "2");
    EXPECT_EQ(result.at("reasoning"), "find the number after 1");
}

TEST(ChainOfThoughtAsync, SyncAndAsyncCallsBuildIdenticalRequests) {
    const std::vector<Json> answers = {{{"reasoning", "r1"}, {"answer", "a1"}},
                                       {{"reasoning", "r2"}, {"answer", "a2"}},
                                       {{"reasoning", "r3"}, {"answer", "a3"}}};
    auto sync_lm = std::make_shared<DummyLM>(answers);
    auto async_lm = std::make_shared<DummyLM>(answers);
    ChainOfThought cot("question -> answer", Json{{"n", 3}});
    cot.predict().demos().push_back(Example(Json{{"question", "q0"}, {"reasoning", "because"}, {"answer", "a0"}}));
    cot.predict().set_lm(sync_lm);
    Prediction sync_out = cot("question", "Why?");
    cot.predict().set_lm(async_lm);
    Prediction async_out = run(cot.acall("question", "Why?"));

    auto s = sync_lm->history();
    auto a = async_lm->history();
    ASSERT_EQ(s.size(), 1u);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(s[0]["messages"], a[0]["messages"]);
    EXPECT_EQ(s[0]["kwargs"], a[0]["kwargs"]);
    EXPECT_EQ(s[0]["kwargs"]["n"], 3);
    EXPECT_EQ(s[0]["kwargs"]["temperature"], 0.7);  // n > 1 at DummyLM's temperature 0.0
    EXPECT_EQ(sync_out.data(), async_out.data());
    EXPECT_EQ(sync_out.completions_of("answer"), (std::vector<Json>{"a1", "a2", "a3"}));
    EXPECT_EQ(async_out.completions_of("answer"), (std::vector<Json>{"a1", "a2", "a3"}));
}


TEST(ChainOfThought, PerCallOptionsReachTheInnerPredictor) {
    auto own = std::make_shared<DummyLM>(std::vector<Json>{{{"reasoning", "r"}, {"answer", "own"}}});
    auto other = std::make_shared<DummyLM>(
        std::vector<Json>{{{"reasoning", "r"}, {"answer", "other"}}, {{"reasoning", "r"}, {"answer", "other again"}}});
    auto scope = context({.lm = own});
    ChainOfThought cot(Signature("question -> answer"));
    PredictCallOptions opts{.lm = other, .config = Json{{"max_tokens", 9}}};
    EXPECT_EQ(cot(Json{{"question", "q"}}, opts).at("answer"), "other");
    EXPECT_EQ(run(cot.acall(Json{{"question", "q"}}, opts)).at("answer"), "other again");
    EXPECT_TRUE(own->history().empty());
    EXPECT_EQ(other->history().at(0)["kwargs"]["max_tokens"], 9);
    EXPECT_EQ(cot("question", "q").at("answer"), "own");
}

}  // namespace
}  // namespace dspy
