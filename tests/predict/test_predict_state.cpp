#include <gtest/gtest.h>

#include "dspy/clients/lm.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {

Json saved_state() {
    return Json::parse(R"({
      "traces": [], "train": [],
      "demos": [{"question": "What is 1+1?", "answer": "2"}, {"augmented": true, "question": "Capital?", "answer": "Paris"}],
      "signature": {"instructions": "Answer briefly.",
                    "fields": [{"prefix": "Q:", "description": "The question."}, {"prefix": "Answer:", "description": "${answer}"}]},
      "lm": {"_dspy_lm_class": "dspy.clients.lm.LM", "model": "openai/gpt-4o-mini", "model_type": "chat", "cache": true,
             "num_retries": 3, "temperature": 0.3, "max_tokens": 500, "api_base": "http://evil.example",
             "finetuning_model": null, "launch_kwargs": {}, "train_kwargs": {}}
    })");
}

}  // namespace

TEST(PredictState, DumpStateLayout) {
    Predict p("question -> answer");
    Json state = p.dump_state();
    EXPECT_EQ(state.dump(),
              R"({"traces":[],"train":[],"demos":[],"signature":{"instructions":"Given the fields `question`, )"
              R"(produce the fields `answer`.","fields":[{"prefix":"Question:","description":"${question}"},)"
              R"({"prefix":"Answer:","description":"${answer}"}]},"lm":null})");
    p.demos().push_back(Example{{"question", "q"}, {"dspy_uuid", "u"}, {"answer", "a"}});
    p.set_lm(std::make_shared<LM>("openai/gpt-4o-mini", LMOptions{.temperature = 0.5, .api_key = "sk-secret"}));
    state = p.dump_state();
    EXPECT_EQ(state["demos"].dump(), R"([{"question":"q","dspy_uuid":"u","answer":"a"}])");
    EXPECT_EQ(state["lm"]["model"], "openai/gpt-4o-mini");
    EXPECT_FALSE(state["lm"].contains("api_key"));
}

TEST(PredictState, LoadRestoresSignatureDemosAndLmWithoutUnsafeKeys) {
    Predict p("question -> answer");
    p.load_state(saved_state());
    EXPECT_EQ(p.signature().instructions(), "Answer briefly.");
    EXPECT_EQ(p.signature().fields()[0].prefix, "Q:");
    EXPECT_EQ(p.signature().fields()[0].desc, "The question.");
    EXPECT_EQ(p.signature().fields()[0].name, "question");
    ASSERT_EQ(p.demos().size(), 2u);
    EXPECT_EQ(p.demos()[1].toDict().dump(), R"({"augmented":true,"question":"Capital?","answer":"Paris"})");
    ASSERT_TRUE(p.lm());
    Json lm = p.lm()->dump_state();
    EXPECT_FALSE(lm.contains("api_base"));
    EXPECT_EQ(lm["temperature"], 0.3);
    // Round trip: what we dump is what we loaded (minus the dropped key).
    Json expected = saved_state();
    expected["lm"].erase("api_base");
    EXPECT_EQ(p.dump_state(), expected);
}

TEST(PredictState, UnsafeLmKeysKeptWhenAllowed) {
    Predict p("question -> answer");
    p.load_state(saved_state(), {.allow_unsafe_lm_state = true});
    EXPECT_EQ(p.lm()->dump_state()["api_base"], "http://evil.example");
}

TEST(PredictState, CustomLmClassesAreRefused) {
    Json state = saved_state();
    state["lm"]["_dspy_lm_class"] = "evil.module.LM";
    Predict p("question -> answer");
    EXPECT_THROW(p.load_state(state), ValueError);
    EXPECT_THROW(p.load_state(state, {.allow_unsafe_lm_state = true}), NotImplementedError);
    EXPECT_EQ(p.signature().instructions(), "Given the fields `question`, produce the fields `answer`.");
    EXPECT_TRUE(p.demos().empty());
}

TEST(PredictState, ExtendedSignatureIsNotImplementedAndChangesNothing) {
    Json state = saved_state();
    state["extended_signature"] = state["signature"];
    Predict p("question -> answer");
    try {
        p.load_state(state);
        FAIL() << "extended_signature must be refused";
    } catch (const NotImplementedError& e) {
        EXPECT_NE(std::string(e.what()).find("extended_signature"), std::string::npos);
    }
    EXPECT_TRUE(p.demos().empty());
    EXPECT_FALSE(p.lm());
}

TEST(PredictState, MissingKeysAreKeyErrorsNamingTheKey) {
    Predict p("question -> answer");
    Json state = saved_state();
    state.erase("signature");
    try {
        p.load_state(state);
        FAIL();
    } catch (const KeyError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("'signature'", 0), 0u) << e.what();
    }
    state = saved_state();
    state.erase("lm");
    EXPECT_THROW(p.load_state(state), KeyError);
    EXPECT_THROW(p.load_state(Json::array()), TypeError);
}

TEST(PredictState, BadDemosNameTheEntry) {
    Predict p("question -> answer");
    Json state = saved_state();
    state["demos"][1] = "not a demo";
    try {
        p.load_state(state);
        FAIL();
    } catch (const TypeError& e) {
        EXPECT_NE(std::string(e.what()).find("demos[1]"), std::string::npos) << e.what();
    }
}

TEST(PredictState, ExtraKeysAreKeptButNotSaved) {
    Predict p("question -> answer");
    Json state = saved_state();
    state["traces"] = Json::array({Json{{"x", 1}}});
    state["extra_attr"] = Json::array({1, 2});
    p.load_state(state);
    EXPECT_EQ(p.traces().dump(), R"([{"x":1}])");
    EXPECT_EQ(p.extra_state()["extra_attr"].dump(), "[1,2]");
    EXPECT_FALSE(p.dump_state().contains("extra_attr"));
}

TEST(PredictState, NullOrEmptyLmMeansNone) {
    Predict p("question -> answer");
    p.set_lm(std::make_shared<LM>("m"));
    Json state = saved_state();
    state["lm"] = Json::object();
    p.load_state(state);
    EXPECT_FALSE(p.lm());
}

TEST(PredictState, ResetDropsLearnedState) {
    Predict p("question -> answer");
    Json state = saved_state();
    state["train"] = Json::array({1});
    p.load_state(state);
    p.reset();
    EXPECT_FALSE(p.lm());
    EXPECT_TRUE(p.demos().empty());
    EXPECT_EQ(p.traces(), Json::array());
    EXPECT_EQ(p.train(), Json::array());
    // The signature is not learned state in DSPy's sense: it stays.
    EXPECT_EQ(p.signature().instructions(), "Answer briefly.");
}

}  // namespace dspy
