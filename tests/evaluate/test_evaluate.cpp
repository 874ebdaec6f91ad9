// Evaluate. C++ twins of DSPy's tests/evaluate/test_evaluate.py (the KeyboardInterrupt case is not ported:
// no SIGINT handling), plus failure_score, max_errors, the table layout and the async variant.
#include "dspy/evaluate/evaluate.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"

using namespace std::chrono_literals;

namespace dspy {
namespace {

class EvaluateTest : public ::testing::Test {
protected:
    void TearDown() override { detail::reset_settings_for_testing(); }
};

Example new_example(const std::string& question, const std::string& answer) {
    return Example({{"question", question}, {"answer", answer}}).with_inputs({"question"});
}

// A stand-in for dspy.evaluate.metrics.answer_exact_match on these single-token answers.
Json answer_exact_match(const Example& example, const Prediction& pred) {
    return example.at("answer") == pred.get("answer");
}

std::shared_ptr<DummyLM> qa_lm(const std::string& one = "2", const std::string& two = "4") {
    return std::make_shared<DummyLM>(DummyLM::ByInput{}, std::vector<std::pair<std::string, Json>>{
                                                             {"What is 1+1?", {{"answer", one}}},
                                                             {"What is 2+2?", {{"answer", two}}}});
}

std::vector<Example> two_examples() { return {new_example("What is 1+1?", "2"), new_example("What is 2+2?", "4")}; }

EvaluateOptions quiet(std::vector<Example> devset) {
    EvaluateOptions o;
    o.devset = std::move(devset);
    o.metric = answer_exact_match;
    o.metric_name = "answer_exact_match";
    return o;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST_F(EvaluateTest, Initialization) {
    auto devset = std::vector<Example>{new_example("What is 1+1?", "2")};
    Evaluate ev(quiet(devset));
    EXPECT_EQ(ev.devset(), devset);
    EXPECT_EQ(ev.num_threads(), std::nullopt);
    EXPECT_FALSE(ev.display_progress());
}

TEST_F(EvaluateTest, ReturnOutputsIsRejected) {
    auto o = quiet(two_examples());
    o.return_outputs = true;
    try {
        Evaluate ev(o);
        FAIL();
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(),
                     "`return_outputs` is no longer supported. Results are always returned inside the `results` "
                     "field of the `EvaluationResult` object.");
    }
}

TEST_F(EvaluateTest, Call) {
    auto scope = context({.lm = qa_lm()});
    Predict program("question -> answer");
    EXPECT_EQ(program("question", "What is 1+1?").at("answer"), "2");
    Evaluate ev(quiet(two_examples()));
    ::testing::internal::CaptureStderr();
    auto result = ev(program);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(result.score, 100.0);
    ASSERT_EQ(result.results.size(), 2u);
    EXPECT_EQ(result.results[1].example, two_examples()[1]);
    EXPECT_EQ(result.results[1].prediction.at("answer"), "4");
    EXPECT_EQ(result.results[1].score, true);
    EXPECT_NE(log.find(" INFO dspy.evaluate.evaluate: Average Metric: 2 / 2 (100.0%)\n"), std::string::npos) << log;
}

TEST_F(EvaluateTest, SingleThreadRunsInCallingThread) {
    auto scope = context({.lm = qa_lm()});
    std::vector<std::thread::id> threads;
    auto o = quiet(two_examples());
    o.metric = [&](const Example& e, const Prediction& p) {
        threads.push_back(std::this_thread::get_id());
        return answer_exact_match(e, p);
    };
    o.num_threads = 1;
    Evaluate ev(o);
    Predict program("question -> answer");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(ev(program).score, 100.0);
    ::testing::internal::GetCapturedStderr();
    ASSERT_EQ(threads.size(), 2u);
    for (auto id : threads) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST_F(EvaluateTest, ConstructResultDf) {
    std::vector<Example> devset = {new_example("What is 1+1?", "2"), new_example("What is 2+2?", "4"),
                                   new_example("What is 3+3?", "-1")};
    std::vector<EvaluationRow> results = {{devset[0], Prediction{{"answer", "2"}}, 100.0},
                                          {devset[1], Prediction{{"answer", "4"}}, 100.0},
                                          {devset[2], Prediction{{"answer", "-1"}}, 0.0}};
    Json data = Evaluate::prepare_results_output(results, "answer_exact_match");
    Json expected = Json::array();
    for (auto [q, a, s] : {std::tuple{"What is 1+1?", "2", 100.0}, std::tuple{"What is 2+2?", "4", 100.0},
                           std::tuple{"What is 3+3?", "-1", 0.0}})
        expected.push_back({{"question", q}, {"example_answer", a}, {"pred_answer", a}, {"answer_exact_match", s}});
    EXPECT_EQ(data, expected);
    EXPECT_EQ(data[0].begin().key(), "question");  // column order: example keys, then prediction keys, then metric
}

TEST_F(EvaluateTest, MultithreadCall) {
    auto scope = context({.lm = qa_lm()});
    auto o = quiet(two_examples());
    o.num_threads = 2;
    Evaluate ev(o);
    Predict program("question -> answer");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(ev(program).score, 100.0);
    ::testing::internal::GetCapturedStderr();
}

TEST_F(EvaluateTest, WrongAnswer) {
    auto scope = context({.lm = qa_lm("0", "0")});
    Evaluate ev(quiet(two_examples()));
    Predict program("question -> answer");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(ev(program).score, 0.0);
    EXPECT_NE(::testing::internal::GetCapturedStderr().find("Average Metric: 0 / 2 (0.0%)"), std::string::npos);
}

// A program that fails on one example: its row gets an empty Prediction and failure_score; the sum turns float.
TEST_F(EvaluateTest, FailuresScoreFailureScore) {
    auto o = quiet(two_examples());
    o.failure_score = 0.0;
    Evaluate ev(o);
    Program program = [](const Json& inputs) {
        if (inputs.at("question") == "What is 2+2?") throw ValueError("boom");
        return Prediction{{"answer", "2"}};
    };
    ::testing::internal::CaptureStderr();
    auto result = ev(program);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(result.score, 50.0);
    EXPECT_EQ(result.results[1].prediction.toDict(), Json::object());
    EXPECT_EQ(result.results[1].score, 0.0);
    EXPECT_NE(log.find("Average Metric: 1.0 / 2 (50.0%)"), std::string::npos) << log;
    EXPECT_NE(log.find("boom. Set `provide_traceback=True` for traceback."), std::string::npos) << log;
}

TEST_F(EvaluateTest, MaxErrorsCancels) {
    auto o = quiet(two_examples());
    o.max_errors = 1;
    o.num_threads = 1;
    Evaluate ev(o);
    Program program = [](const Json&) -> Prediction { throw ValueError("boom"); };
    ::testing::internal::CaptureStderr();
    EXPECT_THROW(ev(program), std::runtime_error);
    ::testing::internal::GetCapturedStderr();
}

TEST_F(EvaluateTest, DisplayTable) {
    auto scope = context({.lm = qa_lm()});
    Predict program("question -> answer");
    for (DisplayTable display : {DisplayTable(true), DisplayTable(false), DisplayTable(1)}) {
        auto o = quiet(two_examples());
        o.display_table = display;
        Evaluate ev(o);
        ::testing::internal::CaptureStdout();
        ::testing::internal::CaptureStderr();
        ev(program);
        std::string out = ::testing::internal::GetCapturedStdout();
        ::testing::internal::GetCapturedStderr();
        const bool shown = display.index() == 1 || std::get<bool>(display);
        EXPECT_EQ(out.find("What is 1+1?") != std::string::npos, shown) << out;
        EXPECT_EQ(out.find("What is 2+2?") != std::string::npos, std::holds_alternative<bool>(display) && shown) << out;
        if (display.index() == 1) {
            EXPECT_NE(out.find("... 1 more rows not displayed ..."), std::string::npos);
        }
    }
}

TEST_F(EvaluateTest, ResultTableLayout) {
    auto devset = two_examples();
    std::vector<EvaluationRow> rows = {{devset[0], Prediction{{"answer", "2"}}, true},
                                       {devset[1], Prediction(), 0.0}};
    std::string table = Evaluate::format_result_table(rows, "answer_exact_match", true);
    // A failed row's empty Prediction leaves its `answer` unprefixed: a column of its own, as in pandas.
    EXPECT_EQ(table,
              "       question  example_answer  pred_answer  answer_exact_match  answer\n"
              "0  What is 1+1?               2            2            \u2714\ufe0f [True]     NaN\n"
              "1  What is 2+2?             NaN          NaN           \u2714\ufe0f [0.000]       4\n");
    std::string long_text;
    for (int i = 0; i < 30; ++i) long_text += "w" + std::to_string(i) + " ";
    rows = {{Example({{"q", long_text}}), Prediction{{"a", "x"}}, 1}};
    table = Evaluate::format_result_table(rows, "m", true);
    EXPECT_NE(table.find("w0 w1 w2"), std::string::npos);
    EXPECT_NE(table.find("w24..."), std::string::npos);
    EXPECT_EQ(table.find("w25"), std::string::npos);
}

class EvaluateCallbackRecorder : public BaseCallback {
public:
    void on_evaluate_start(const std::string& call_id, const Evaluate&, const Json& inputs) override {
        std::lock_guard lk(mu);
        evaluate_call_id = call_id;
        start_inputs = inputs;
        ++start_count;
    }
    void on_evaluate_end(const std::string&, const Json* outputs, std::exception_ptr) override {
        std::lock_guard lk(mu);
        end_outputs = outputs ? *outputs : Json();
        ++end_count;
    }
    void on_module_start(const std::string&, const Module&, const Json&) override {
        std::lock_guard lk(mu);
        module_parents.push_back(active_call_id().value_or("<none>"));
    }
    std::mutex mu;
    std::string evaluate_call_id;
    Json start_inputs, end_outputs;
    int start_count = 0, end_count = 0;
    std::vector<std::string> module_parents;
};

TEST_F(EvaluateTest, Callback) {
    auto callback = std::make_shared<EvaluateCallbackRecorder>();
    configure({.lm = qa_lm(), .callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    Predict program("question -> answer");
    Evaluate ev(quiet(two_examples()));
    ::testing::internal::CaptureStderr();
    auto result = ev(program);
    ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(result.score, 100.0);
    EXPECT_EQ(callback->start_count, 1);
    EXPECT_EQ(callback->start_inputs["metric"], "answer_exact_match");
    EXPECT_EQ(callback->start_inputs["devset"], 2);
    EXPECT_EQ(callback->end_count, 1);
    EXPECT_EQ(callback->end_outputs["score"], 100.0);
}

TEST_F(EvaluateTest, ParallelProgramCallbacksAreChildrenOfEvaluateCallback) {
    auto callback = std::make_shared<EvaluateCallbackRecorder>();
    configure({.lm = qa_lm(), .callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    auto o = quiet(two_examples());
    o.num_threads = 2;
    Evaluate evaluator(o);
    Predict program("question -> answer");
    ::testing::internal::CaptureStderr();
    evaluator(program);
    ::testing::internal::GetCapturedStderr();
    ASSERT_FALSE(callback->evaluate_call_id.empty());
    EXPECT_EQ(callback->module_parents,
              (std::vector<std::string>{callback->evaluate_call_id, callback->evaluate_call_id}));
    EXPECT_EQ(active_call_id(), std::nullopt);
}

TEST_F(EvaluateTest, EvaluationResultRepr) {
    EvaluationResult result{100.0, {{new_example("What is 1+1?", "2"), Prediction{{"answer", "2"}}, 100.0}}};
    EXPECT_EQ(result.repr(), "EvaluationResult(score=100.0, results=<list of 1 results>)");
}

std::vector<Example> history_devset() {
    Json history1 = {{"messages", Json::array({{{"question", "Previous Q1"}, {"answer", "Previous A1"}}})}};
    Json history2 = {{"messages", Json::array({{{"question", "Previous Q2"}, {"answer", "Previous A2"}},
                                               {{"question", "Previous Q3"}, {"answer", "Previous A3"}}})}};
    return {Example({{"question", "What is 1+1?"}, {"answer", "2"}, {"history", history1}}).with_inputs({"question"}),
            Example({{"question", "What is 2+2?"}, {"answer", "4"}, {"history", history2}}).with_inputs({"question"})};
}

// Runs Predict over `devset` with save_as_json or save_as_csv and returns the file's text.
std::string evaluate_and_save(std::vector<Example> devset, bool json) {
    auto scope = context({.lm = qa_lm()});
    auto path = std::filesystem::temp_directory_path() /
                ("dspy_eval_" + std::to_string(::getpid()) + (json ? ".json" : ".csv"));
    auto o = quiet(std::move(devset));
    (json ? o.save_as_json : o.save_as_csv) = path.string();
    Evaluate evaluator(o);
    Predict program("question -> answer");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(evaluator(program).score, 100.0);
    ::testing::internal::GetCapturedStderr();
    std::string text = read_file(path);
    std::filesystem::remove(path);
    return text;
}

TEST_F(EvaluateTest, SaveAsJsonWithHistory) {
    std::string text = evaluate_and_save(history_devset(), true);
    Json data = Json::parse(text);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(data[0]["history"]["messages"].size(), 1u);
    EXPECT_EQ(data[0]["history"]["messages"][0], (Json{{"question", "Previous Q1"}, {"answer", "Previous A1"}}));
    EXPECT_EQ(data[1]["history"]["messages"].size(), 2u);
    EXPECT_EQ(data[1]["history"]["messages"][1], (Json{{"question", "Previous Q3"}, {"answer", "Previous A3"}}));
    // json.dump's layout: default separators, example keys with clashes prefixed, then the metric
    EXPECT_EQ(text.rfind("[{\"question\": \"What is 1+1?\", \"example_answer\": \"2\", \"history\": ", 0), 0u) << text;
    EXPECT_NE(text.find("\"pred_answer\": \"2\", \"answer_exact_match\": true}"), std::string::npos) << text;
}

TEST_F(EvaluateTest, SaveAsCsvWithHistory) {
    std::string text = evaluate_and_save({history_devset()[0]}, false);
    EXPECT_EQ(text,
              "question,example_answer,history,pred_answer,answer_exact_match\r\n"
              "What is 1+1?,2,\"{'messages': [{'question': 'Previous Q1', 'answer': 'Previous A1'}]}\",2,True\r\n");
}

// ---- acall: the single-threaded variant ------------------------------------------------------------------------

class AsyncQA : public Module {
public:
    Task<Prediction> aforward(Inputs inputs) override {
        threads.insert(std::this_thread::get_id());
        max_in_flight = std::max(max_in_flight, ++in_flight);
        co_await sleep(1ms);
        --in_flight;
        std::string q = inputs.at("question");
        if (q == "fail") throw ValueError("no answer");
        co_return Prediction{{"answer", q.substr(q.rfind(' ') + 1)}};
    }
    int in_flight = 0;
    int max_in_flight = 0;
    std::set<std::thread::id> threads;
};

TEST_F(EvaluateTest, AcallBoundsConcurrencyOnOneThread) {
    std::vector<Example> devset;
    for (int i = 0; i < 30; ++i) {
        std::string n = std::to_string(i);
        devset.push_back(new_example("number " + n, i % 3 == 0 ? "x" : n));
    }
    devset.push_back(new_example("fail", "x"));
    Evaluate ev(quiet(devset));
    AsyncQA program;
    ::testing::internal::CaptureStderr();
    auto result = run(ev.acall(program, {.max_concurrency = 5}));
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(program.max_in_flight, 5);
    EXPECT_EQ(program.threads, std::set<std::thread::id>{std::this_thread::get_id()});
    ASSERT_EQ(result.results.size(), 31u);
    EXPECT_EQ(result.results[1].prediction.at("answer"), "1");
    EXPECT_EQ(result.results[30].score, 0.0);  // failure_score
    EXPECT_EQ(result.score, 64.52);            // 20 / 31
    EXPECT_NE(log.find("Average Metric: 20.0 / 31 (64.5%)"), std::string::npos) << log;
}

TEST_F(EvaluateTest, AcallCallbacksAndParentIds) {
    auto callback = std::make_shared<EvaluateCallbackRecorder>();
    configure({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    Evaluate ev(quiet({new_example("what is 2", "2"), new_example("what is 3", "3")}));
    AsyncQA program;
    ::testing::internal::CaptureStderr();
    auto result = run(ev.acall(program));
    ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(result.score, 100.0);
    EXPECT_EQ(callback->end_outputs["score"], 100.0);
    EXPECT_EQ(callback->module_parents,
              (std::vector<std::string>{callback->evaluate_call_id, callback->evaluate_call_id}));
}

}  // namespace
}  // namespace dspy
