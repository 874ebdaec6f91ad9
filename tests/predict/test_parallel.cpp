// Parallel, Module::batch and Module::abatch. C++ twins of DSPy's tests/predict/test_parallel.py and
// tests/utils/test_usage_tracker.py::test_parallel_executor_with_usage_tracker, plus the async fan-out.
#include "dspy/predict/parallel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/usage_tracker.hpp"

using namespace std::chrono_literals;

namespace dspy {
namespace {

class ParallelTest : public ::testing::Test {
protected:
    void TearDown() override { detail::reset_settings_for_testing(); }
};

std::shared_ptr<DummyLM> five_outputs(const std::string& extra_field = "") {
    std::vector<Json> answers;
    for (int i = 1; i <= 5; ++i) {
        Json a = {{"output", "test output " + std::to_string(i)}};
        if (!extra_field.empty()) a[extra_field] = "test " + extra_field + " " + std::to_string(i);
        answers.push_back(a);
    }
    return std::make_shared<DummyLM>(answers);
}

Example input_example() { return Example({{"input", "test input"}}).with_inputs({"input"}); }

std::set<std::string> outputs_of(const ParallelResults& results) {
    std::set<std::string> out;
    for (const auto& r : results) out.insert(r ? r->at("output").get<std::string>() : "<failed>");
    return out;
}

const std::set<std::string> kFive = {"test output 1", "test output 2", "test output 3", "test output 4",
                                     "test output 5"};

TEST_F(ParallelTest, ParallelModule) {
    auto scope = context({.lm = five_outputs()});
    Predict predictor("input -> output"), predictor2("input -> output");
    Parallel parallel({.num_threads = 2});
    auto ex = input_example();
    auto output = parallel({{predictor, ex}, {predictor2, ex}, {predictor, ex}, {predictor2, ex}, {predictor, ex}});
    EXPECT_EQ(outputs_of(output), kFive);
}

// A module that returns its "value" input (DSPy's Child), and one that fans out over children (Parent).
class Child : public Module {
public:
    Prediction forward(const Inputs& inputs) override { return Prediction{{"value", inputs.at("value")}}; }
};

class Parent : public Module {
public:
    explicit Parent(std::vector<Child*> children) : children_(std::move(children)) {}
    Prediction forward(const Inputs&) override {
        std::vector<ExecPair> pairs;
        for (std::size_t i = 0; i < children_.size(); ++i) pairs.emplace_back(*children_[i], Json{{"value", i}});
        Json values = Json::array();
        for (const auto& r : parallel_(pairs)) values.push_back(r ? r->at("value") : Json());
        return Prediction{{"values", values}};
    }

private:
    std::vector<Child*> children_;
    Parallel parallel_{{.num_threads = 2, .disable_progress_bar = true}};
};

class LineageCallback : public BaseCallback {
public:
    struct Call {
        const Module* instance;
        std::string call_id;
        std::optional<std::string> parent;
    };
    void on_module_start(const std::string& call_id, const Module& instance, const Json&) override {
        std::lock_guard lk(mu);
        calls.push_back({&instance, call_id, active_call_id()});
    }
    std::mutex mu;
    std::vector<Call> calls;
};

TEST_F(ParallelTest, ChildrenInheritParentCallbackCallId) {
    Child a, b;
    Parent parent({&a, &b});
    auto callback = std::make_shared<LineageCallback>();
    configure({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    EXPECT_EQ(parent(Json::object()).at("values"), Json::array({0, 1}));
    std::lock_guard lk(callback->mu);
    auto parent_call = std::find_if(callback->calls.begin(), callback->calls.end(),
                                    [&](const auto& c) { return c.instance == &parent; });
    ASSERT_NE(parent_call, callback->calls.end());
    int children = 0;
    for (const auto& c : callback->calls)
        if (c.instance == &a || c.instance == &b) {
            ++children;
            EXPECT_EQ(c.parent, parent_call->call_id);
        }
    EXPECT_EQ(children, 2);
    EXPECT_EQ(parent_call->parent, std::nullopt);
}

TEST_F(ParallelTest, BatchModule) {
    auto lm = five_outputs();
    auto res_lm = five_outputs("reasoning");
    Predict predictor("input -> output"), predictor2("input -> output, reasoning");
    std::vector<Example> inputs(5, input_example());
    ParallelResults result, reason_result;
    {
        auto scope = context({.lm = lm});
        result = predictor.batch(inputs);
    }
    {
        auto scope = context({.lm = res_lm});
        reason_result = predictor2.batch(inputs);
    }
    EXPECT_EQ(outputs_of(result), kFive);
    EXPECT_EQ(outputs_of(reason_result), kFive);
    for (const auto& r : reason_result) {
        std::string out = r->at("output");
        EXPECT_EQ(r->at("reasoning"), "test reasoning " + out.substr(out.rfind(' ') + 1));
    }
}

// DSPy nests by passing (parallel, [pairs]); in C++ a Parallel (or batch) runs inside a module that a Parallel
// (or batch) runs, each level with its own executor.
class NestedBatch : public Module {
public:
    Prediction forward(const Inputs& inputs) override {
        auto res = predictor.batch({Example({{"input", inputs.at("input")}}).with_inputs({"input"}),
                                    Example({{"input", inputs.at("input")}}).with_inputs({"input"})},
                                   {.disable_progress_bar = true});
        Json outs = Json::array();
        for (const auto& r : res) outs.push_back(r->at("output"));
        return Prediction{{"outputs", outs}};
    }
    Predict predictor{"input -> output"};
};

TEST_F(ParallelTest, NestedBatchMethod) {
    auto scope = context({.lm = five_outputs()});
    NestedBatch module;
    auto result = module.batch({input_example(), input_example()});
    std::set<std::string> all;
    for (const auto& r : result)
        for (const auto& o : r->at("outputs")) all.insert(o.get<std::string>());
    EXPECT_EQ(all, (std::set<std::string>{"test output 1", "test output 2", "test output 3", "test output 4"}));
}

TEST_F(ParallelTest, NestedParallelModule) {
    auto scope = context({.lm = five_outputs()});
    Predict predictor("input -> output"), predictor2("input -> output");
    Parallel parallel({.num_threads = 2});
    auto ex = input_example();
    ExecPair::Function inner = [&](const Json&) {
        auto nested = parallel({{predictor2, ex}, {predictor, ex}});
        return Prediction{{"outputs", Json::array({nested[0]->at("output"), nested[1]->at("output")})}};
    };
    auto output = parallel({{predictor, ex}, {predictor2, ex}, {inner, Json::object()}});
    std::set<std::string> all = {output[0]->at("output").get<std::string>(), output[1]->at("output").get<std::string>()};
    for (const auto& o : output[2]->at("outputs")) all.insert(o.get<std::string>());
    EXPECT_EQ(all.size(), 4u);
    for (const auto& o : all) EXPECT_TRUE(kFive.count(o)) << o;
}

class FailingModule : public Module {
public:
    Prediction forward(const Inputs& inputs) override {
        int value = inputs.at("value");
        if (value == 42) throw ValueError("test error");
        return Prediction{{"result", "success-" + std::to_string(value)}};
    }
};

std::vector<Example> failing_examples() {
    return {Example({{"value", 1}}).with_inputs({"value"}), Example({{"value", 42}}).with_inputs({"value"}),
            Example({{"value", 3}}).with_inputs({"value"})};
}

void expect_success_none_success(const ParallelResults& out) {
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0]->at("result"), "success-1");
    EXPECT_FALSE(out[1].has_value());
    EXPECT_EQ(out[2]->at("result"), "success-3");
    ASSERT_EQ(out.failed_examples.size(), 1u);
    EXPECT_EQ(out.failed_examples[0].inputs().at("value"), 42);
    ASSERT_EQ(out.exceptions.size(), 1u);
    try {
        std::rethrow_exception(out.exceptions[0]);
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "test error");
    }
}

TEST_F(ParallelTest, BatchWithFailedExamples) {
    FailingModule module;
    ::testing::internal::CaptureStderr();
    auto out = module.batch(failing_examples(), {.return_failed_examples = true, .provide_traceback = true});
    std::string log = ::testing::internal::GetCapturedStderr();
    expect_success_none_success(out);
    EXPECT_NE(log.find("Error for (<Module>, Example({'value': 42}) (input_keys={'value'})): test error\n"),
              std::string::npos)
        << log;
    auto [results, failed, errors] = out;  // DSPy's tuple shape
    EXPECT_EQ(results.size(), 3u);
    EXPECT_EQ(failed.size(), 1u);
    EXPECT_EQ(errors.size(), 1u);
}

TEST_F(ParallelTest, WithoutReturnFailedExamplesTheListsStayEmpty) {
    FailingModule module;
    ::testing::internal::CaptureStderr();
    auto out = module.batch(failing_examples());
    ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(out[1].has_value());
    EXPECT_TRUE(out.failed_examples.empty());
    EXPECT_TRUE(out.exceptions.empty());
}

TEST_F(ParallelTest, FailedExamplesAccumulateAcrossCalls) {
    FailingModule module;
    Parallel parallel({.return_failed_examples = true, .disable_progress_bar = true});
    auto bad = Example({{"value", 42}}).with_inputs({"value"});
    auto good = Example({{"value", 1}}).with_inputs({"value"});
    ::testing::internal::CaptureStderr();
    auto first = parallel({{module, bad}, {module, good}});
    auto second = parallel({{module, good}, {module, bad}});
    ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(first.failed_examples.size(), 1u);
    EXPECT_EQ(second.failed_examples.size(), 2u);  // as DSPy: the instance's lists keep growing
    EXPECT_EQ(second.exceptions.size(), 2u);
    EXPECT_EQ(parallel.failed_examples().size(), 2u);
}

TEST_F(ParallelTest, MaxErrorsCancelsTheRun) {
    FailingModule module;
    auto bad = Example({{"value", 42}}).with_inputs({"value"});
    ::testing::internal::CaptureStderr();
    try {
        module.batch({bad, bad, bad}, {.num_threads = 1, .max_errors = 2});
        ADD_FAILURE() << "expected a cancel";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "Execution cancelled due to errors or interruption.");
    }
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("Execution cancelled due to errors or interruption."), std::string::npos);
}

TEST_F(ParallelTest, InvalidExampleTypeFailsThatPair) {
    FailingModule module;
    Parallel parallel({.return_failed_examples = true, .disable_progress_bar = true});
    ::testing::internal::CaptureStderr();
    auto out = parallel({{module, Json(5)}, {module, Json{{"value", 1}}}});
    ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(out[0].has_value());
    EXPECT_EQ(out[1]->at("result"), "success-1");
    ASSERT_EQ(out.exceptions.size(), 1u);
    try {
        std::rethrow_exception(out.exceptions[0]);
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(),
                     "Invalid example type: <class 'int'>, only supported types are Example, dict, list and tuple");
    }
}

TEST_F(ParallelTest, AccessExamplesFalsePassesTheWholeExample) {
    Json seen;
    std::mutex mu;
    ExecPair::Function fn = [&](const Json& in) {
        std::lock_guard lk(mu);
        seen = in;
        return Prediction{{"ok", true}};
    };
    Parallel parallel({.num_threads = 1, .access_examples = false, .disable_progress_bar = true});
    parallel({{fn, Example({{"q", "x"}, {"answer", "y"}}).with_inputs({"q"})}});
    EXPECT_EQ(seen, (Json{{"q", "x"}, {"answer", "y"}}));
}

TEST_F(ParallelTest, TimeoutAndStragglerLimitParams) {
    Parallel parallel_default;
    EXPECT_EQ(parallel_default.timeout(), 120);
    EXPECT_EQ(parallel_default.straggler_limit(), 3);
    Parallel parallel_custom({.timeout = 0, .straggler_limit = 5});
    EXPECT_EQ(parallel_custom.timeout(), 0);
    EXPECT_EQ(parallel_custom.straggler_limit(), 5);
}

class Doubler : public Module {
public:
    Prediction forward(const Inputs& inputs) override { return Prediction{{"value", inputs.at("value").get<int>() * 2}}; }
};

TEST_F(ParallelTest, BatchTimeoutAndStragglerLimitParams) {
    Doubler module;
    std::vector<Example> examples;
    for (int v : {1, 2, 3}) examples.push_back(Example({{"value", v}}).with_inputs({"value"}));
    auto results = module.batch(examples, {.timeout = 0, .straggler_limit = 5});
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0]->at("value"), 2);
    EXPECT_EQ(results[1]->at("value"), 4);
    EXPECT_EQ(results[2]->at("value"), 6);
}

// tests/utils/test_usage_tracker.py::test_parallel_executor_with_usage_tracker
TEST_F(ParallelTest, ParallelExecutorWithUsageTracker) {
    auto parent_tracker = std::make_shared<UsageTracker>();
    auto task = [](int prompt, int completion) {
        return ExecPair::Function([prompt, completion](const Json&) {
            settings()->usage_tracker->add_usage(
                "openai/gpt-4o-mini",
                {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}});
            return Prediction(settings()->usage_tracker->get_total_tokens());
        });
    };
    ParallelResults results;
    {
        auto scope = context({.track_usage = true, .usage_tracker = parent_tracker});
        Parallel executor;
        results = executor({{task(50, 10), Json::object()}, {task(80, 15), Json::object()}});
    }
    EXPECT_EQ(results[0]->at("openai/gpt-4o-mini")["prompt_tokens"], 50);
    EXPECT_EQ(results[0]->at("openai/gpt-4o-mini")["completion_tokens"], 10);
    EXPECT_EQ(results[1]->at("openai/gpt-4o-mini")["prompt_tokens"], 80);
    EXPECT_EQ(results[1]->at("openai/gpt-4o-mini")["completion_tokens"], 15);
    EXPECT_TRUE(parent_tracker->get_total_tokens().empty());
}

// ---- abatch: the single-threaded fan-out ---------------------------------------------------------------------

// An async-only module that records how many of its calls are in flight at once and on which threads.
class InFlightModule : public Module {
public:
    Task<Prediction> aforward(Inputs inputs) override {
        int value = inputs.at("value");
        threads.insert(std::this_thread::get_id());
        max_in_flight = std::max(max_in_flight, ++in_flight);
        co_await sleep(1ms);  // suspends, so the other admitted calls start meanwhile
        --in_flight;
        if (value == 42) throw ValueError("test error");
        co_return Prediction{{"result", "success-" + std::to_string(value)}};
    }
    // Only the loop thread touches these (asserted through `threads`).
    int in_flight = 0;
    int max_in_flight = 0;
    std::set<std::thread::id> threads;
};

TEST_F(ParallelTest, AbatchKeepsOrderAndBoundsConcurrencyOnOneThread) {
    InFlightModule module;
    std::vector<Example> examples;
    for (int i = 0; i < 40; ++i) examples.push_back(Example({{"value", i}}).with_inputs({"value"}));
    auto out = run(module.abatch(examples, {.max_concurrency = 4}));
    ASSERT_EQ(out.size(), 40u);
    for (int i = 0; i < 40; ++i)
        EXPECT_EQ(out[static_cast<std::size_t>(i)]->at("result"), "success-" + std::to_string(i));
    EXPECT_EQ(module.max_in_flight, 4);
    EXPECT_EQ(module.threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_F(ParallelTest, AbatchWithFailedExamples) {
    InFlightModule module;
    ::testing::internal::CaptureStderr();
    auto out = run(module.abatch(failing_examples(), {.return_failed_examples = true}));
    std::string log = ::testing::internal::GetCapturedStderr();
    expect_success_none_success(out);
    EXPECT_NE(log.find("test error. Set `provide_traceback=True` for traceback."), std::string::npos) << log;
}

TEST_F(ParallelTest, AbatchMaxErrorsCancels) {
    InFlightModule module;
    auto bad = Example({{"value", 42}}).with_inputs({"value"});
    ::testing::internal::CaptureStderr();
    try {
        run(module.abatch({bad, bad, bad, bad}, {.max_concurrency = 1, .max_errors = 2}));
        ADD_FAILURE() << "expected a cancel";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "Execution cancelled due to errors or interruption.");
    }
    ::testing::internal::GetCapturedStderr();
}

// Children start from the caller's snapshot; a child's context() reaches neither its siblings nor the caller.
class ContextModule : public Module {
public:
    Task<Prediction> aforward(Inputs inputs) override {
        bool clean = settings()->get("who") == "caller";
        auto mine = context({.extra = Json{{"who", inputs.at("value")}}});
        co_await sleep(1ms);
        co_return Prediction{{"ok", clean && settings()->get("who") == inputs.at("value")}};
    }
};

TEST_F(ParallelTest, AbatchChildrenGetTheCallersSettings) {
    ContextModule module;
    std::vector<Example> examples;
    for (int i = 0; i < 10; ++i) examples.push_back(Example({{"value", i}}).with_inputs({"value"}));
    auto body = [&]() -> Task<ParallelResults> {
        auto scope = context({.extra = Json{{"who", "caller"}}});
        AbatchOptions options{.max_concurrency = 3};
        auto batch = module.abatch(examples, options);
        auto out = co_await std::move(batch);
        EXPECT_EQ(settings()->get("who"), "caller");
        co_return out;
    };
    auto task = body();
    auto out = run(std::move(task));
    for (const auto& r : out) EXPECT_EQ(r->at("ok"), true);
}

}  // namespace
}  // namespace dspy
