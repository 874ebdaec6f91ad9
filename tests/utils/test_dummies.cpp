#include "dspy/utils/dummies.hpp"

#include <gtest/gtest.h>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/predict/predict.hpp"

namespace dspy {

TEST(DummyLM, AnswersInOrderThenSaysNoMoreResponses) {
    DummyLM lm(std::vector<Json>{Json{{"answer", "first"}}, Json{{"answer", "second"}}});
    Messages msgs{{"user", "hi"}};
    EXPECT_EQ(lm(msgs)[0].text, "[[ ## answer ## ]]\nfirst");
    EXPECT_EQ(lm(msgs)[0].text, "[[ ## answer ## ]]\nsecond");
    EXPECT_EQ(lm(msgs)[0].text, "[[ ## answer ## ]]\nNo more responses");
    EXPECT_EQ(lm.history().size(), 3u);
}

TEST(DummyLM, RendersSeveralFieldsWithBlankLines) {
    DummyLM lm(std::vector<Json>{Json{{"reasoning", "r"}, {"answer", "a"}}});
    EXPECT_EQ(lm({{"user", "x"}})[0].text, "[[ ## reasoning ## ]]\nr\n\n[[ ## answer ## ]]\na");
}

TEST(DummyLM, AnswersByInputSubstring) {
    DummyLM lm(DummyLM::ByInput{}, {{"France", Json{{"answer", "Paris"}}}, {"Japan", Json{{"answer", "Tokyo"}}}});
    EXPECT_EQ(lm({{"user", "capital of Japan?"}})[0].text, "[[ ## answer ## ]]\nTokyo");
    EXPECT_EQ(lm({{"user", "capital of Peru?"}})[0].text, "No more responses");
}

TEST(DummyLM, ProducesNCompletions) {
    DummyLM lm(std::vector<Json>{Json{{"answer", "a"}}, Json{{"answer", "b"}}});
    auto outs = lm({{"user", "x"}}, Json{{"n", 2}});
    ASSERT_EQ(outs.size(), 2u);
    EXPECT_EQ(outs[1].text, "[[ ## answer ## ]]\nb");
}

TEST(DummyLM, UsesTheAdapterFormat) {
    DummyLM lm(std::vector<Json>{Json{{"answer", "a"}, {"score", 3}}}, {.adapter = std::make_shared<JSONAdapter>()});
    auto text = lm({{"user", "x"}})[0].text;
    EXPECT_EQ(Json::parse(text), (Json{{"answer", "a"}, {"score", 3}}));
}

TEST(DummyLM, FollowsExamplesInThePrompt) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{}, DummyLMOptions{.follow_examples = true});
    Predict predict("question -> answer");
    predict.set_lm(lm);
    predict.demos().push_back(Example{{"question", "What is 1+1?"}, {"answer", "2"}});
    predict.demos().push_back(Example{{"question", "What is 2+2?"}, {"answer", "4"}});
    auto out = predict({{"question", "What is 1+1?"}});
    EXPECT_EQ(out.at("answer"), "2");
}

}  // namespace dspy
