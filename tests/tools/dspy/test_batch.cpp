// dspy batch in-process against dspy-mock-lm: every row once, bad lines and failed calls recorded with their
// line, resume after a torn write, a stop request, metrics.
#include "batch.hpp"

#include <gtest/gtest.h>

#include <set>

#include "support/cli_child.hpp"
#include "tools/dspy/cli_test_util.hpp"

namespace dspy::cli {
namespace {

using dspy::test::MockServer;
using dspy::test::read_jsonl;
using dspy::test::TempDir;
using dspy::test::write_file;

#ifdef DSPY_MOCK_LM_PATH
constexpr const char* kMock = DSPY_MOCK_LM_PATH;
#else
constexpr const char* kMock = nullptr;
#endif

LoadedProgram program_for(const MockServer& mock, const std::string& module = "Predict") {
    Json j = {{"module", module},
              {"signature", "question -> answer"},
              {"lm", {{"model", "openai/mock"}, {"api_base", mock.v1()}, {"cache", false}, {"num_retries", 0}}}};
    return load_program(parse_program(j), {.use_env = false});
}

std::multiset<int64_t> lines_of(const std::vector<Json>& rows) {
    std::multiset<int64_t> s;
    for (const auto& r : rows) s.insert(r.at("_line").get<int64_t>());
    return s;
}

class CliBatch : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kMock) GTEST_SKIP() << "dspy-mock-lm is not built";
    }
    BatchOptions options(const TempDir& dir) {
        BatchOptions o;
        o.input = dir / "in.jsonl";
        o.output = dir / "out.jsonl";
        o.concurrency = 8;
        o.log = nullptr;
        return o;
    }
};

TEST_F(CliBatch, EveryRowOnceWithInputAndPredictionFields) {
    MockServer mock(kMock);
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(40));
    auto p = program_for(mock, "ChainOfThought");
    auto sum = run_batch(p, options(dir));
    EXPECT_EQ(sum.rows, 40);
    EXPECT_EQ(sum.done, 40);
    EXPECT_EQ(sum.errors, 0);
    EXPECT_EQ(sum.lm_calls, 40);
    EXPECT_FALSE(sum.interrupted);
    EXPECT_GT(sum.prompt_tokens, 0);
    auto rows = read_jsonl(dir / "out.jsonl");
    ASSERT_EQ(rows.size(), 40u);
    std::multiset<int64_t> expected;
    for (int i = 1; i <= 40; ++i) expected.insert(i);
    EXPECT_EQ(lines_of(rows), expected);
    for (const auto& r : rows) {
        const int64_t line = r.at("_line").get<int64_t>();
        EXPECT_EQ(r.at("id"), line);
        EXPECT_EQ(r.at("question"), "Question number " + std::to_string(line) + "?");
        EXPECT_EQ(r.at("answer"), "Mock answer for: Question number " + std::to_string(line) + "?");
        EXPECT_TRUE(r.contains("reasoning"));
    }
}

TEST_F(CliBatch, BadLinesAreRecordedWithTheirLineAndTheRestGoOn) {
    MockServer mock(kMock);
    TempDir dir;
    write_file(dir / "in.jsonl",
               "{\"question\": \"ok 1\"}\n"
               "{not json\n"
               "\n"
               "[1, 2]\n"
               "{\"query\": \"wrong field\"}\n"
               "{\"question\": \"ok 2\"}\n");
    auto p = program_for(mock);
    auto sum = run_batch(p, options(dir));
    EXPECT_EQ(sum.rows, 5);
    EXPECT_EQ(sum.done, 5);
    EXPECT_EQ(sum.bad_lines, 3);
    EXPECT_EQ(sum.errors, 3);
    std::map<int64_t, Json> by_line;
    for (auto& r : read_jsonl(dir / "out.jsonl")) by_line[r.at("_line").get<int64_t>()] = r;
    ASSERT_EQ(by_line.size(), 5u);
    EXPECT_EQ(by_line[1].at("answer"), "Mock answer for: ok 1");
    EXPECT_EQ(by_line[2].at("error").get<std::string>().rfind("line 2: not valid JSON", 0), 0u);
    EXPECT_EQ(by_line[2].at("input"), "{not json");
    EXPECT_EQ(by_line[4].at("error"), "line 4: expected a JSON object, got array");
    EXPECT_EQ(by_line[5].at("error"), "line 5: missing input field \"question\"");
    EXPECT_EQ(by_line[5].at("query"), "wrong field");
    EXPECT_EQ(by_line[6].at("answer"), "Mock answer for: ok 2");
}

TEST_F(CliBatch, FailedCallsAreRecordedAsErrors) {
    MockServer mock(kMock, {"--fail-5xx", "1"});
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(5));
    auto p = program_for(mock);
    auto sum = run_batch(p, options(dir));
    EXPECT_EQ(sum.done, 5);
    EXPECT_EQ(sum.errors, 5);
    for (const auto& r : read_jsonl(dir / "out.jsonl")) {
        EXPECT_FALSE(r.contains("answer"));
        EXPECT_FALSE(r.at("error").get<std::string>().empty());
        EXPECT_TRUE(r.contains("question"));
    }
}

TEST_F(CliBatch, ResumeSkipsDoneRowsAndRepairsATornLastLine) {
    MockServer mock(kMock);
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(10));
    // Rows 2 and 7 finished in an earlier run; row 4 was being written when the process died.
    write_file(dir / "out.jsonl",
               "{\"_line\": 2, \"question\": \"Question number 2?\", \"answer\": \"earlier\"}\n"
               "{\"_line\": 7, \"question\": \"Question number 7?\", \"answer\": \"earlier\"}\n"
               "{\"_line\": 4, \"question\": \"Quest");
    auto p = program_for(mock);
    auto sum = run_batch(p, options(dir));
    EXPECT_EQ(sum.resumed, 2);
    EXPECT_EQ(sum.done, 8);
    EXPECT_GT(sum.repaired_bytes, 0);
    auto rows = read_jsonl(dir / "out.jsonl");
    std::multiset<int64_t> expected;
    for (int i = 1; i <= 10; ++i) expected.insert(i);
    EXPECT_EQ(lines_of(rows), expected);
    EXPECT_EQ(rows[0].at("answer"), "earlier");  // kept as it was

    // A third run has nothing to do.
    auto again = run_batch(p, options(dir));
    EXPECT_EQ(again.resumed, 10);
    EXPECT_EQ(again.done, 0);
    EXPECT_EQ(read_jsonl(dir / "out.jsonl").size(), 10u);
}

TEST_F(CliBatch, RetryErrorsRunsFailedRowsAgainWithoutDuplicates) {
    MockServer mock(kMock);
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(3));
    write_file(dir / "out.jsonl",
               "{\"_line\": 1, \"question\": \"Question number 1?\", \"error\": \"LM down\"}\n"
               "{\"_line\": 2, \"question\": \"Question number 2?\", \"answer\": \"earlier\"}\n");
    auto p = program_for(mock);
    auto o = options(dir);
    auto plain = run_batch(p, o);  // without the flag, the recorded error stays
    EXPECT_EQ(plain.done, 1);
    EXPECT_EQ(read_jsonl(dir / "out.jsonl").size(), 3u);
    o.retry_errors = true;
    auto sum = run_batch(p, o);
    EXPECT_EQ(sum.retried, 1);
    EXPECT_EQ(sum.done, 1);
    std::map<int64_t, Json> by_line;
    for (auto& r : read_jsonl(dir / "out.jsonl")) by_line[r.at("_line").get<int64_t>()] = r;
    EXPECT_EQ(read_jsonl(dir / "out.jsonl").size(), 3u);
    EXPECT_EQ(by_line[1].at("answer"), "Mock answer for: Question number 1?");
    EXPECT_EQ(by_line[2].at("answer"), "earlier");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.jsonl.tmp"));
}

TEST_F(CliBatch, RefusesToResumeIntoAFileItDidNotWrite) {
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(2));
    write_file(dir / "out.jsonl", "hello\n{\"_line\": 1}\n");
    EXPECT_THROW((void)scan_output(dir / "out.jsonl"), std::runtime_error);
    write_file(dir / "out.jsonl", "{\"x\": 1}\n");
    EXPECT_THROW((void)scan_output(dir / "out.jsonl"), std::runtime_error);
    EXPECT_EQ(dspy::test::read_file(dir / "out.jsonl"), "{\"x\": 1}\n");  // left untouched
}

TEST_F(CliBatch, AStopRequestStartsNoNewRows) {
    MockServer mock(kMock);
    TempDir dir;
    write_file(dir / "in.jsonl", dspy::test::question_rows(5));
    auto p = program_for(mock);
    std::atomic<bool> stop{true};
    auto o = options(dir);
    o.stop = &stop;
    auto sum = run_batch(p, o);
    EXPECT_EQ(sum.done, 0);
    EXPECT_TRUE(sum.interrupted);
    EXPECT_NE(sum.text("").find("run the same command again to resume"), std::string::npos);
}

TEST_F(CliBatch, MetricScoresAgainstTheLabelColumn) {
    TempDir dir;
    write_file(dir / "rules.json", R"([{"match": "capital of France", "fields": {"answer": "Paris"}}])");
    MockServer mock(kMock, {"--rules", (dir / "rules.json").string()});
    write_file(dir / "in.jsonl",
               "{\"question\": \"What is the capital of France?\", \"answer\": \"paris\"}\n"
               "{\"question\": \"What is the capital of Peru?\", \"answer\": \"Lima\"}\n");
    auto p = program_for(mock);
    auto o = options(dir);
    o.metric = "exact_match";
    auto sum = run_batch(p, o);
    ASSERT_TRUE(sum.metric_mean);
    EXPECT_DOUBLE_EQ(*sum.metric_mean, 0.5);
    EXPECT_EQ(sum.scored, 2);
    for (const auto& r : read_jsonl(dir / "out.jsonl")) {
        EXPECT_TRUE(r.contains("gold_answer"));  // the input's label, kept beside the prediction
        EXPECT_EQ(r.at("_score"), r.at("_line") == 1 ? 1.0 : 0.0);
    }
    // A resumed run counts the earlier scores.
    write_file(dir / "in.jsonl",
               "{\"question\": \"What is the capital of France?\", \"answer\": \"paris\"}\n"
               "{\"question\": \"What is the capital of Peru?\", \"answer\": \"Lima\"}\n"
               "{\"question\": \"What is the capital of France, again?\", \"answer\": \"Paris\"}\n");
    auto sum2 = run_batch(p, o);
    EXPECT_EQ(sum2.done, 1);
    ASSERT_TRUE(sum2.metric_mean);
    EXPECT_NEAR(*sum2.metric_mean, 2.0 / 3.0, 1e-9);
}

TEST_F(CliBatch, ReActProgramsCallTheBuiltinCalculator) {
    TempDir dir;
    write_file(dir / "rules.json", R"([
      {"match": "observation_0", "fields": {"next_tool_name": "finish", "next_tool_args": {}}},
      {"match": "What is 6 times 7", "fields": {"next_tool_name": "calculator", "next_tool_args": {"expression": "6*7"}}}
    ])");
    MockServer mock(kMock, {"--rules", (dir / "rules.json").string()});
    write_file(dir / "in.jsonl", "{\"question\": \"What is 6 times 7?\"}\n");
    Json j = {{"module", "ReAct"},
              {"signature", "question -> answer"},
              {"tools", {"calculator"}},
              {"max_iters", 3},
              {"lm", {{"model", "openai/mock"}, {"api_base", mock.v1()}, {"cache", false}, {"num_retries", 0}}}};
    auto p = load_program(parse_program(j), {.use_env = false});
    auto sum = run_batch(p, options(dir));
    EXPECT_EQ(sum.errors, 0);
    EXPECT_EQ(sum.lm_calls, 3);  // calculator step, finish step, extraction
    auto rows = read_jsonl(dir / "out.jsonl");
    ASSERT_EQ(rows.size(), 1u);
    const Json& t = rows[0].at("trajectory");
    EXPECT_EQ(t.at("tool_name_0"), "calculator");
    EXPECT_EQ(t.at("observation_0"), 42);
    EXPECT_EQ(t.at("tool_name_1"), "finish");
    EXPECT_EQ(rows[0].at("answer"), "Mock answer for: What is 6 times 7?");
}

}  // namespace
}  // namespace dspy::cli
