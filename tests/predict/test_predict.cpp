#include "dspy/predict/predict.hpp"

#include <gtest/gtest.h>

#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {
// Records the kwargs of each call, answering like DummyLM.
class RecordingLM : public DummyLM {
public:
    using DummyLM::DummyLM;
    LMResponse forward(const Messages& m, const Json& kwargs) override {
        calls.push_back(kwargs);
        return DummyLM::forward(m, kwargs);
    }
    std::vector<Json> calls;
};
}  // namespace

TEST(Predict, RunsFormatLmParse) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}});
    Predict predict("question -> answer");
    predict.set_lm(lm);
    auto out = predict({{"question", "capital of France?"}});
    EXPECT_EQ(out.at("answer"), "Paris");
    auto msgs = lm->history().back()["messages"];
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_NE(msgs[1]["content"].get<std::string>().find("[[ ## question ## ]]\ncapital of France?"),
              std::string::npos);
}

TEST(Predict, TypedOutputsAreParsed) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "42"}, {"ok", "True"}}});
    Predict predict("question -> answer: int, ok: bool");
    predict.set_lm(lm);
    auto out = predict({{"question", "?"}});
    EXPECT_EQ(out.at("answer"), 42);
    EXPECT_EQ(out.at("ok"), true);
}

TEST(Predict, NoLmIsAClearError) {
    Predict predict("question -> answer");
    try {
        (void)predict({{"question", "?"}});
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("No LM is loaded"), std::string::npos);
    }
}

TEST(Predict, UsesTheLmFromSettingsAndPrefersItsOwn) {
    auto global = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "global"}}});
    auto own = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "own"}}});
    auto scope = context({.lm = global});
    Predict predict("question -> answer");
    EXPECT_EQ(predict({{"question", "?"}}).at("answer"), "global");
    predict.set_lm(own);
    EXPECT_EQ(predict({{"question", "?"}}).at("answer"), "own");
}

TEST(Predict, SeveralSamplesAtZeroTemperatureGetTemperature07) {
    auto lm = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "a"}}, {{"answer", "b"}}, {{"answer", "c"}}});
    Predict predict("question -> answer", Json{{"n", 3}});
    predict.set_lm(lm);
    auto out = predict({{"question", "?"}});
    ASSERT_EQ(lm->calls.size(), 1u);
    EXPECT_EQ(lm->calls[0]["temperature"], 0.7);
    EXPECT_EQ(lm->calls[0]["n"], 3);
    EXPECT_EQ(out.completions().size(), 3u);
    EXPECT_EQ(out.completions_of("answer"), (std::vector<Json>{"a", "b", "c"}));
}

TEST(Predict, DemosAppearBeforeTheQuestion) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "x"}}});
    Predict predict("question -> answer");
    predict.set_lm(lm);
    predict.demos().push_back(Example{{"question", "q0"}, {"answer", "a0"}});
    (void)predict({{"question", "q1"}});
    auto msgs = lm->history().back()["messages"];
    ASSERT_EQ(msgs.size(), 4u);
    EXPECT_EQ(msgs[1]["content"], "[[ ## question ## ]]\nq0");
    EXPECT_EQ(msgs[2]["content"], "[[ ## answer ## ]]\na0\n\n[[ ## completed ## ]]\n");
}

}  // namespace dspy
