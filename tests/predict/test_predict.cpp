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

// --- async: acall, per-call usage, one algorithm for both modes (DSPy tests/predict/test_predict.py) ---------

#include <chrono>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"

namespace dspy {
namespace {

TEST(PredictAsync, AsyncPredict) {
    Predict program("question -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}})});
    auto result = run(program.acall("question", "What is the capital of France?"));
    EXPECT_EQ(result.at("answer"), "Paris");
}

// Replies like the mocked litellm.acompletion of test_lm_usage_with_async: usage {"total_tokens": 10}.
class TenTokensLM : public BaseLM {
public:
    TenTokensLM() : BaseLM("openai/gpt-4o-mini") {}
    LMResponse forward(const Messages&, const Json&) override {
        LMResponse r;
        r.outputs.push_back(LMOutput{"[[ ## answer ## ]]\nParis", Json::object()});
        r.usage = Json{{"total_tokens", 10}};
        return r;
    }
};

// DSPy patches aforward with `await asyncio.sleep(1)` first so that the four calls overlap.
class SlowPredict : public Predict {
public:
    using Predict::Predict;
    Task<Prediction> aforward(Inputs inputs) override {
        co_await sleep(std::chrono::milliseconds(5));
        co_return co_await Predict::aforward(std::move(inputs));
    }
};

Task<std::vector<Prediction>> four_acalls(Module& program) {
    std::vector<Task<Prediction>> calls;
    for (int i = 0; i < 4; ++i) calls.push_back(program.acall("question", "What is the capital of France?"));
    co_return co_await when_all(std::move(calls));
}

TEST(PredictAsync, LmUsageWithAsync) {
    SlowPredict program("question -> answer");
    auto scope = context({.lm = std::make_shared<TenTokensLM>(), .track_usage = true});
    auto results = run(four_acalls(program));
    ASSERT_EQ(results.size(), 4u);
    for (const auto& r : results) {
        EXPECT_EQ(r.at("answer"), "Paris");
        // Each call's own usage, not the four summed.
        EXPECT_EQ(r.get_lm_usage(), (Json{{"openai/gpt-4o-mini", {{"total_tokens", 10}}}}));
    }
}

void expect_same_requests(const BaseLM& sync_lm, const BaseLM& async_lm) {
    auto s = sync_lm.history();
    auto a = async_lm.history();
    ASSERT_EQ(s.size(), a.size());
    for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_EQ(s[i]["messages"], a[i]["messages"]) << "call " << i;
        EXPECT_EQ(s[i]["kwargs"], a[i]["kwargs"]) << "call " << i;
        EXPECT_EQ(s[i]["outputs"], a[i]["outputs"]) << "call " << i;
    }
}

TEST(PredictAsync, SyncAndAsyncCallsBuildIdenticalRequests) {
    const std::vector<Json> answers = {{{"answer", "Paris"}, {"confidence", "0.9"}},
                                       {{"answer", "Lyon"}, {"confidence", "0.4"}},
                                       {{"answer", "Nice"}, {"confidence", "0.1"}}};
    const Json inputs = {{"question", "Capital of France?"},
                         {"context", Json::array({"France is in Europe.", "Paris is big."})}};
    for (bool json_adapter : {false, true}) {
        SCOPED_TRACE(json_adapter ? "JSONAdapter" : "ChatAdapter");
        std::shared_ptr<const Adapter> adapter;
        if (json_adapter) adapter = std::make_shared<JSONAdapter>();
        DummyLM::Options options{.follow_examples = false, .adapter = adapter};
        auto sync_lm = std::make_shared<DummyLM>(answers, options);
        auto async_lm = std::make_shared<DummyLM>(answers, options);
        Predict predict("question, context: list[str] -> answer, confidence: float",
                        Json{{"n", 3}, {"max_tokens", 100}});
        predict.demos().push_back(Example(Json{{"question", "Capital of Italy?"},
                                               {"context", Json::array({"Italy is in Europe."})},
                                               {"answer", "Rome"},
                                               {"confidence", 0.8}}));
        auto scope = context({.adapter = adapter});

        predict.set_lm(sync_lm);
        Prediction sync_out = predict(inputs);
        predict.set_lm(async_lm);
        Prediction async_out = run(predict.acall(inputs));

        expect_same_requests(*sync_lm, *async_lm);
        EXPECT_EQ(sync_out.data(), async_out.data());
        EXPECT_EQ(sync_out.completions(), async_out.completions());
        EXPECT_EQ(sync_out.at("confidence"), 0.9);
        EXPECT_EQ(sync_lm->history().at(0)["kwargs"]["temperature"], 0.7);
    }
}

}  // namespace
}  // namespace dspy
