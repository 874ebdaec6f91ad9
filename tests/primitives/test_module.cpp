// Module: operator()/acall around forward/aforward (usage tracking, caller_modules history, per-task settings),
// the forward/aforward defaults and the keyword-style call forms. @sa DSPy tests/primitives/test_base_module.py
// (test_usage_tracker_async_parallel, test_module_history_async) and tests/utils/test_settings.py
// (test_dspy_context_with_async_task_group)
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"

using namespace std::chrono_literals;

namespace dspy {
namespace {

// An LM with one fixed reply and usage (like the mocked litellm.acompletion of DSPy's tests). Its async path
// really suspends, so calls gathered with when_all are in flight at the same time.
class FixedLM : public BaseLM {
public:
    FixedLM(std::string model, std::string reply, Json usage = Json::object())
        : BaseLM(std::move(model)), reply_(std::move(reply)), usage_(std::move(usage)) {}
    LMResponse forward(const Messages& messages, const Json& kwargs) override {
        {
            std::lock_guard lk(mu_);
            ++calls_;
            (void)messages;
            (void)kwargs;
        }
        LMResponse r;
        r.outputs.push_back(LMOutput{reply_, Json::object()});
        r.usage = usage_;
        r.response_model = model_;
        return r;
    }
    Task<LMResponse> aforward(Messages messages, Json kwargs) override {
        co_await sleep(1ms);
        co_return forward(messages, kwargs);
    }
    int calls() const {
        std::lock_guard lk(mu_);
        return calls_;
    }

private:
    std::string reply_;
    Json usage_;
    mutable std::mutex mu_;
    int calls_ = 0;
};

Json openai_usage() {
    return Json{{"prompt_tokens", 1117},
                {"completion_tokens", 46},
                {"total_tokens", 1163},
                {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
                {"completion_tokens_details",
                 {{"reasoning_tokens", 0},
                  {"audio_tokens", 0},
                  {"accepted_prediction_tokens", 0},
                  {"rejected_prediction_tokens", 0}}}};
}

Task<std::vector<Prediction>> gather_acalls(Module& program, int n, std::string question) {
    std::vector<Task<Prediction>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(program.acall("question", question));
    co_return co_await when_all(std::move(calls));
}

TEST(ModuleAsync, UsageTrackerAsyncParallel) {
    Predict program("question -> answer");
    auto lm = std::make_shared<FixedLM>("openai/gpt-4o-mini", R"({"answer": "Paris"})", openai_usage());
    std::vector<Prediction> results;
    {
        auto scope = context({.lm = lm, .adapter = std::make_shared<JSONAdapter>(), .track_usage = true});
        results = run(gather_acalls(program, 4, "What is the capital of France?"));
    }
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(lm->calls(), 4);
    for (const auto& r : results) {
        EXPECT_EQ(r.at("answer"), "Paris");
        // Each call has its own tracker: one call's usage, not the sum of the four.
        ASSERT_TRUE(r.get_lm_usage().contains("openai/gpt-4o-mini")) << r.get_lm_usage().dump();
        EXPECT_EQ(r.get_lm_usage()["openai/gpt-4o-mini"], openai_usage());
    }
    // The tracker scopes ended with the calls.
    EXPECT_EQ(settings()->usage_tracker, nullptr);
}

TEST(ModuleAsync, NoUsageWithoutTrackUsage) {
    Predict program("question -> answer");
    auto lm = std::make_shared<FixedLM>("m", "[[ ## answer ## ]]\nParis", Json{{"total_tokens", 10}});
    auto scope = context({.lm = lm});
    auto out = run(program.acall("question", "?"));
    EXPECT_EQ(out.at("answer"), "Paris");
    EXPECT_TRUE(out.get_lm_usage().is_null() || out.get_lm_usage().empty()) << out.get_lm_usage().dump();
}

// The nested module of DSPy's test_module_history_async: only aforward, delegating to a ChainOfThought.
class HistoryProgram : public Module {
public:
    HistoryProgram() { register_submodule("cot", cot_); }
    Task<Prediction> aforward(Inputs inputs) override { co_return co_await cot_.acall(std::move(inputs)); }
    ChainOfThought& cot() { return cot_; }

private:
    ChainOfThought cot_{"question -> answer"};
};

TEST(ModuleAsync, HistoryReachesEveryAncestorModule) {
    const std::string reply = "{'reasoning': 'Paris is the capital of France', 'answer': 'Paris'}";
    auto lm = std::make_shared<FixedLM>("openai/gpt-4o-mini", reply);
    auto adapter = std::make_shared<JSONAdapter>();
    HistoryProgram program;
    {
        auto scope = context({.lm = lm, .adapter = adapter});
        auto out = run(program.acall("question", "What is the capital of France?"));
        EXPECT_EQ(out.at("answer"), "Paris");
        // Second call only calls the submodule.
        (void)run(program.cot().acall("question", "What is the capital of France?"));
    }
    EXPECT_EQ(program.history().size(), 1u);
    EXPECT_EQ(program.cot().history().size(), 2u);
    EXPECT_EQ(program.cot().predict().history().size(), 2u);
    // The same entry (DSPy shares the object; here the uuid identifies it) reaches every ancestor.
    EXPECT_EQ(program.history()[0], program.cot().history()[0]);
    EXPECT_EQ(program.history()[0], program.cot().predict().history()[0]);
    EXPECT_EQ(program.history()[0]["uuid"], lm->history()[0]["uuid"]);
    EXPECT_EQ(program.history()[0]["outputs"], Json::array({reply}));
    // One object, as in DSPy (test_module_history_async checks identity): no history holds a copy.
    EXPECT_EQ(program.history_entries()[0].get(), program.cot().history_entries()[0].get());
    EXPECT_EQ(program.history_entries()[0].get(), program.cot().predict().history_entries()[0].get());
    EXPECT_EQ(program.history_entries()[0].get(), lm->history_entries()[0].get());
    const auto global = global_history_entries();
    EXPECT_EQ(global.back().get(), lm->history_entries().back().get());

    {
        auto scope = context({.lm = lm, .adapter = adapter, .disable_history = true});
        (void)run(program.acall("question", "What is the capital of France?"));
    }
    // No history is recorded when history is disabled.
    EXPECT_EQ(program.history().size(), 1u);
    EXPECT_EQ(program.cot().history().size(), 2u);
    EXPECT_EQ(program.cot().predict().history().size(), 2u);

    {
        auto scope = context({.lm = lm, .adapter = adapter, .disable_history = false});
        (void)run(program.acall("question", "What is the capital of France?"));
    }
    // History is recorded again when history is enabled.
    EXPECT_EQ(program.history().size(), 2u);
    EXPECT_EQ(program.cot().history().size(), 3u);
    EXPECT_EQ(program.cot().predict().history().size(), 3u);
    EXPECT_EQ(lm->calls(), 4);
}

TEST(ModuleAsync, HistoryOfConcurrentCallsGoesToEachCallersModules) {
    auto lm = std::make_shared<FixedLM>("m", "{'reasoning': 'r', 'answer': 'Paris'}");
    HistoryProgram a, b;
    auto scope = context({.lm = lm, .adapter = std::make_shared<JSONAdapter>()});
    auto both = [&]() -> Task<void> {
        auto ta = a.acall("question", "A?");
        auto tb = b.acall("question", "B?");
        (void)co_await when_all(std::move(ta), std::move(tb));
    };
    run(both());
    ASSERT_EQ(a.history().size(), 1u);
    ASSERT_EQ(b.history().size(), 1u);
    EXPECT_NE(a.history()[0]["messages"].back()["content"].get<std::string>().find("A?"), std::string::npos);
    EXPECT_NE(b.history()[0]["messages"].back()["content"].get<std::string>().find("B?"), std::string::npos);
}

// DSPy's test_dspy_context_with_async_task_group: each task opens its own context(lm, trace) inside aforward.
class PerTaskLMModule : public Module {
public:
    PerTaskLMModule(std::shared_ptr<BaseLM> france, std::shared_ptr<BaseLM> other)
        : france_(std::move(france)), other_(std::move(other)) {
        register_submodule("predict", predict_);
    }
    Task<Prediction> aforward(Inputs inputs) override {
        const std::string question = inputs.at("question").get<std::string>();
        std::shared_ptr<BaseLM> lm = other_;
        if (question.find("France") != std::string::npos) lm = france_;
        auto trace = std::make_shared<Trace>();
        auto scope = context({.lm = lm, .trace = trace});
        co_await sleep(5ms);  // let the other tasks open their contexts meanwhile
        if (settings()->lm != lm) throw std::runtime_error("task sees another task's LM");
        Prediction result = co_await predict_.acall(std::move(inputs));
        if (settings()->trace != trace || trace->size() != 1)
            throw std::runtime_error("task trace has " + std::to_string(trace->size()) + " entries");
        co_return result;
    }

private:
    std::shared_ptr<BaseLM> france_, other_;
    Predict predict_{"question -> answer"};
};

Task<std::vector<Prediction>> task_group(Module& module) {
    std::vector<Task<Prediction>> calls;
    calls.push_back(module.acall("question", "What is the capital of France?"));
    calls.push_back(module.acall("question", "What is the capital of France?"));
    calls.push_back(module.acall("question", "What is the capital of Germany?"));
    calls.push_back(module.acall("question", "What is the capital of Germany?"));
    co_return co_await when_all(std::move(calls));
}

TEST(ModuleAsync, ContextWithAsyncTaskGroup) {
    auto mini = std::make_shared<FixedLM>("openai/gpt-4o-mini", "[[ ## answer ## ]]\nParis");
    auto big = std::make_shared<FixedLM>("openai/gpt-4o", "[[ ## answer ## ]]\nParis");
    auto outer_lm = std::make_shared<FixedLM>("openai/gpt-4.1", "[[ ## answer ## ]]\nParis");
    PerTaskLMModule module(mini, big);
    auto outer = context({.lm = outer_lm});
    auto outer_trace = settings()->trace;
    const size_t outer_trace_size = outer_trace ? outer_trace->size() : 0;

    auto results = run(task_group(module));
    ASSERT_EQ(results.size(), 4u);
    for (const auto& r : results) EXPECT_EQ(r.at("answer"), "Paris");
    // France questions went to gpt-4o-mini, Germany questions to gpt-4o, none to the outer LM.
    EXPECT_EQ(mini->calls(), 2);
    EXPECT_EQ(big->calls(), 2);
    EXPECT_EQ(outer_lm->calls(), 0);
    for (const auto& h : mini->history())
        EXPECT_NE(h["messages"].back()["content"].get<std::string>().find("France"), std::string::npos);
    for (const auto& h : big->history())
        EXPECT_NE(h["messages"].back()["content"].get<std::string>().find("Germany"), std::string::npos);
    // The outer context is untouched.
    EXPECT_EQ(settings()->lm, outer_lm);
    EXPECT_EQ(settings()->trace, outer_trace);
    EXPECT_EQ(outer_trace ? outer_trace->size() : 0, outer_trace_size);
}

// --- forward / aforward defaults ---------------------------------------------------------------------------

class AsyncOnly : public Module {
public:
    Task<Prediction> aforward(Inputs inputs) override {
        co_await sleep(1ms);
        co_return Prediction(Json{{"doubled", inputs.at("x").get<int>() * 2}});
    }
};

class SyncOnly : public Module {
public:
    Prediction forward(const Inputs& inputs) override {
        {
            std::lock_guard lk(mu_);
            threads_.push_back(std::this_thread::get_id());
        }
        return Prediction(Json{{"doubled", inputs.at("x").get<int>() * 2}});
    }
    std::vector<std::thread::id> threads() const {
        std::lock_guard lk(mu_);
        return threads_;
    }

private:
    mutable std::mutex mu_;
    std::vector<std::thread::id> threads_;
};

class Neither : public Module {};

TEST(ModuleDefaults, AforwardOnlyModuleWorksSynchronously) {
    AsyncOnly m;
    EXPECT_EQ(m("x", 21).at("doubled"), 42);
    EXPECT_EQ(m.forward(Json{{"x", 2}}).at("doubled"), 4);
    EXPECT_EQ(run(m.acall("x", 5)).at("doubled"), 10);
}

TEST(ModuleDefaults, ForwardOnlyModuleRunsOnAnAsyncifyWorker) {
    SyncOnly m;
    EXPECT_EQ(m("x", 1).at("doubled"), 2);  // sync: on this thread
    EXPECT_EQ(run(m.acall("x", 5)).at("doubled"), 10);
    auto threads = m.threads();
    ASSERT_EQ(threads.size(), 2u);
    EXPECT_EQ(threads[0], std::this_thread::get_id());
    EXPECT_NE(threads[1], std::this_thread::get_id());
}

// A forward-only module holding a Predict: its acall runs forward on a worker, which must still see the
// caller's settings (LM, caller_modules for history, usage tracker).
class SyncWrapper : public Module {
public:
    SyncWrapper() { register_submodule("predict", predict_); }
    Prediction forward(const Inputs& inputs) override { return predict_(inputs); }
    Predict& predict() { return predict_; }

private:
    Predict predict_{"question -> answer"};
};

TEST(ModuleDefaults, ForwardOnWorkerSeesTheCallersSettings) {
    auto lm = std::make_shared<FixedLM>("worker-lm", "[[ ## answer ## ]]\nParis", Json{{"total_tokens", 10}});
    SyncWrapper m;
    auto scope = context({.lm = lm, .track_usage = true});
    auto out = run(m.acall("question", "capital of France?"));
    EXPECT_EQ(out.at("answer"), "Paris");
    EXPECT_EQ(out.get_lm_usage(), (Json{{"worker-lm", {{"total_tokens", 10}}}}));
    EXPECT_EQ(m.history().size(), 1u);
    EXPECT_EQ(m.predict().history().size(), 1u);
}

TEST(ModuleDefaults, NeitherForwardNorAforwardIsNotImplemented) {
    Neither m;
    EXPECT_THROW((void)m("x", 1), NotImplementedError);
    EXPECT_THROW((void)run(m.acall("x", 1)), NotImplementedError);
    EXPECT_THROW((void)m.forward(Json{{"x", 1}}), NotImplementedError);
    EXPECT_THROW((void)run(m.aforward(Json{{"x", 1}})), NotImplementedError);
    // Still usable afterwards (the recursion guard was reset).
    EXPECT_THROW((void)m("x", 1), NotImplementedError);
}

TEST(ModuleDefaults, NeitherIsNotImplementedInsideAnotherModulesCall) {
    // A module that forgot both, called from inside an async caller and from a sync caller's worker.
    class Outer : public Module {
    public:
        Task<Prediction> aforward(Inputs inputs) override { co_return co_await inner_.acall(std::move(inputs)); }
        Neither inner_;
    } outer;
    EXPECT_THROW((void)run(outer.acall("x", 1)), NotImplementedError);
    EXPECT_THROW((void)outer("x", 1), NotImplementedError);
}

// --- keyword-style calls ---------------------------------------------------------------------------------

class Echo : public Module {
public:
    Prediction forward(const Inputs& inputs) override { return Prediction(inputs); }
};

TEST(ModuleKeywords, BuildInputsInOrderWithJsonValues) {
    Echo m;
    const std::string q = "why?";
    Json list = Json::array({"a", "b"});
    auto out = m("question", q, "k", 3, "flag", true, "list", list, "ratio", 0.5, "lit", "text");
    EXPECT_EQ(out.data().dump(), R"({"question":"why?","k":3,"flag":true,"list":["a","b"],"ratio":0.5,"lit":"text"})");
    auto aout = run(m.acall("question", q, "k", 3));
    EXPECT_EQ(aout.data(), (Json{{"question", "why?"}, {"k", 3}}));
    EXPECT_EQ(Module::make_inputs("a", 1), (Json{{"a", 1}}));
}

Task<Prediction> keyword_acall(Predict& predict, std::string question) {
    co_return co_await predict.acall("question", question, "context", "Paris is in France.");
}

TEST(ModuleKeywords, PredictAcceptsKeywordStyleInBothModes) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "Paris"}}, {{"answer", "Paris"}}});
    Predict predict("question, context -> answer");
    predict.set_lm(lm);
    EXPECT_EQ(predict("question", "capital?", "context", "Paris is in France.").at("answer"), "Paris");
    EXPECT_EQ(run(keyword_acall(predict, "capital?")).at("answer"), "Paris");
    ASSERT_EQ(lm->history().size(), 2u);
    EXPECT_EQ(lm->history()[0]["messages"], lm->history()[1]["messages"]);
    EXPECT_NE(lm->history()[1]["messages"].back()["content"].get<std::string>().find(
                  "[[ ## context ## ]]\nParis is in France."),
              std::string::npos);
}

}  // namespace
}  // namespace dspy
