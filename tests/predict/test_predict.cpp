#include "dspy/predict/predict.hpp"

#include <gtest/gtest.h>

#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"
#include "support/scripted_modules.hpp"

namespace dspy {

using test_support::RecordingLM;

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


// ---- test_predict.py twins: call errors, per-call options, trace, history, defaults, warnings ----

TEST(Predict, PositionalArguments) {
    Predict program("question -> answer");
    try {
        program(Json("What is the capital of France?"));
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(),
                     "Positional arguments are not allowed when calling `dspy.Predict`, must use keyword arguments "
                     "that match your signature input fields: 'question'. For example: "
                     "`predict(question=input_value, ...)`.");
    }
}

TEST(Predict, ErrorMessageOnInvalidLmSetup) {
    Predict program("question -> answer");
    auto no_lm = context({.lm = std::shared_ptr<BaseLM>()});
    try {
        program("question", "Why did a chicken cross the kitchen?");
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("No LM is loaded"), std::string::npos);
    }
    try {
        program("question", "Why?", "lm", "openai/gpt-4o-mini");
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("LM must be an instance of `dspy.BaseLM`, not a string."),
                  std::string::npos);
        EXPECT_NE(std::string(e.what()).find("dspy.configure(lm=dspy.LM(\"openai/gpt-4o-mini\"))"), std::string::npos);
    }
    try {
        program("question", "Why?", "lm", 3);
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "LM must be an instance of `dspy.BaseLM`, not <class 'int'>. Received `lm=3`.");
    }
}

TEST(Predict, PerCallOptionsWinOverThePredictorsOwn) {
    auto own = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "own"}}});
    auto other = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "other"}}, {{"answer", "again"}}});
    Predict predict("question -> answer", Json{{"temperature", 0.2}, {"max_tokens", 50}});
    predict.set_lm(own);
    predict.demos().push_back(Example({{"question", "own demo?"}, {"answer", "own demo"}}));

    PredictCallOptions opts{.lm = other,
                            .config = Json{{"temperature", 0.9}},
                            .demos = std::vector<Example>{Example({{"question", "call demo?"}, {"answer", "yes"}})},
                            .signature = Signature("question -> answer", "Answer briefly.")};
    auto out = predict(Json{{"question", "q"}}, opts);
    EXPECT_EQ(out.at("answer"), "other");
    EXPECT_TRUE(own->calls.empty());
    ASSERT_EQ(other->calls.size(), 1u);
    EXPECT_EQ(other->calls[0]["temperature"], 0.9);
    EXPECT_EQ(other->calls[0]["max_tokens"], 50);
    const Json msgs = other->history().back()["messages"];
    const std::string all = msgs.dump();
    EXPECT_NE(all.find("Answer briefly."), std::string::npos);
    EXPECT_NE(all.find("call demo?"), std::string::npos);
    EXPECT_EQ(all.find("own demo?"), std::string::npos);
    // The options last for that call only.
    EXPECT_EQ(predict("question", "q2").at("answer"), "own");
    EXPECT_EQ(own->calls.at(0)["temperature"], 0.2);
}

TEST(Predict, ReservedKeywordsConfigureOneCall) {
    auto lm = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "a"}}});
    Predict predict("question -> answer", Json{{"rollout_id", 1}, {"temperature", 1.0}});
    predict.set_lm(lm);
    test_support::CaptureWarnings warnings;
    predict("question", "What is 1 + 52?", "config", Json{{"rollout_id", 2}},
            "demos", Json::array({Json{{"question", "demo q"}, {"answer", "demo a"}}}), "signature", "question -> answer");
    ASSERT_EQ(lm->calls.size(), 1u);
    EXPECT_EQ(lm->calls[0]["rollout_id"], 2);
    EXPECT_EQ(lm->calls[0]["temperature"], 1.0);
    EXPECT_NE(lm->history().back()["messages"].dump().find("demo q"), std::string::npos);
    EXPECT_TRUE(warnings.messages().empty()) << warnings.text();  // reserved keys are not extra inputs
}

TEST(PredictAsync, PerCallOptionsInsideCoAwait) {
    auto own = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "own"}}});
    auto other = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "other"}}});
    Predict predict("question -> answer");
    predict.set_lm(own);
    auto body = [&]() -> Task<Prediction> {
        PredictCallOptions opts{.lm = other, .config = Json{{"n", 1}, {"temperature", 0.5}}};
        Json inputs = Json{{"question", "q"}};
        Prediction p = co_await predict.acall(std::move(inputs), opts);
        co_return p;
    };
    auto out = run(body());
    EXPECT_EQ(out.at("answer"), "other");
    EXPECT_TRUE(own->calls.empty());
    EXPECT_EQ(other->calls.at(0)["temperature"], 0.5);
}

TEST(PredictAsync, SyncAndAsyncWithOptionsBuildIdenticalRequests) {
    auto sync_lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "a"}}});
    auto async_lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "a"}}});
    Predict predict("question -> answer");
    const Json inputs = {{"question", "q"}, {"config", {{"max_tokens", 7}}}};
    PredictCallOptions sync_opts{.lm = sync_lm, .demos = std::vector<Example>{Example({{"question", "d"}, {"answer", "e"}})}};
    PredictCallOptions async_opts{.lm = async_lm, .demos = sync_opts.demos};
    predict(inputs, sync_opts);
    run(predict.acall(inputs, async_opts));
    expect_same_requests(*sync_lm, *async_lm);
}

TEST(Predict, TraceSizeLimit) {
    Predict program("question -> answer");
    auto trace = std::make_shared<Trace>();
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}}),
                          .max_trace_size = 3,
                          .trace = trace});
    for (int i = 0; i < 10; ++i) program("question", "What is the capital of France?");
    EXPECT_EQ(trace->size(), 3u);
    EXPECT_EQ(trace->entries().back().predictor, &program);
    EXPECT_EQ(trace->entries().back().inputs, Json({{"question", "What is the capital of France?"}}));
}

TEST(Predict, DisableTrace) {
    Predict program("question -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}}),
                          .trace = std::shared_ptr<Trace>()});
    for (int i = 0; i < 10; ++i) program("question", "What is the capital of France?");
    EXPECT_EQ(settings()->trace, nullptr);
}

TEST(Predict, UnderscoreTraceFalseSkipsTheTrace) {
    Predict program("question -> answer");
    auto trace = std::make_shared<Trace>();
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}}), .trace = trace});
    program("question", "q", "_trace", false);
    EXPECT_EQ(trace->size(), 0u);
}

TEST(Predict, PerModuleHistorySizeLimit) {
    Predict program("question -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}}),
                          .max_history_size = 5});
    for (int i = 0; i < 10; ++i) program("question", "What is the capital of France?");
    EXPECT_EQ(program.history().size(), 5u);
}

TEST(Predict, PerModuleHistoryDisabled) {
    Predict program("question -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}}),
                          .disable_history = true});
    for (int i = 0; i < 10; ++i) program("question", "What is the capital of France?");
    EXPECT_EQ(program.history().size(), 0u);
}

TEST(Predict, InputFieldDefaultValue) {
    Field context_field = Field::input("context");
    context_field.default_value = "DEFAULT_CONTEXT";
    Predict predictor(Signature::from_fields({context_field, Field::input("question"), Field::output("answer")}));
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "test"}}});
    auto scope = context({.lm = lm});
    test_support::CaptureWarnings warnings;
    predictor("question", "test");
    const std::string user = lm->history().back()["messages"].back()["content"].get<std::string>();
    EXPECT_NE(user.find("DEFAULT_CONTEXT"), std::string::npos);
    EXPECT_TRUE(warnings.messages().empty()) << warnings.text();
}

TEST(Predict, ExtraFieldsWarning) {
    Predict predict_instance("question -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "test output"}}})});
    test_support::CaptureWarnings warnings;
    predict_instance("question", "test", "extra_field", "should warn", "another", "also warn");
    EXPECT_EQ(warnings.messages(),
              std::vector<std::string>{"Input contains fields not in signature. These fields will be ignored: "
                                       "['extra_field', 'another']. Expected fields: ['question']."});
}

TEST(Predict, MissingOptionalInputFieldNoWarning) {
    Predict predict_instance("question: str, context: Optional[str] -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "test output"}}})});
    test_support::CaptureWarnings warnings;
    predict_instance("question", "test");
    EXPECT_EQ(warnings.text().find("Not all input fields were provided"), std::string::npos) << warnings.text();
}

TEST(Predict, MissingRequiredInputFieldStillWarns) {
    Predict predict_instance("question: str, context: Optional[str] -> answer");
    auto scope = context({.lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "test output"}}})});
    test_support::CaptureWarnings warnings;
    predict_instance(Json::object());
    EXPECT_EQ(warnings.messages(), std::vector<std::string>{"Not all input fields were provided to module. "
                                                            "Present: []. Missing: ['question']."});
}

TEST(Predict, PredictedOutputsGoToTheLmNotThePrompt) {
    auto lm = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "a"}}});
    Predict predict("question -> answer");
    predict.set_lm(lm);
    const Json prediction = {{"type", "content"}, {"content", "def f(): pass"}};
    predict("question", "q", "prediction", prediction);
    EXPECT_EQ(lm->calls.at(0)["prediction"], prediction);
}

}  // namespace
}  // namespace dspy
