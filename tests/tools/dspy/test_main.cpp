// The `dspy` executable as users run it: run (text, --json, --inspect), exit codes and messages for bad
// programs, batch killed with SIGKILL or interrupted with SIGINT and then resumed without losing or repeating
// a row.
#include <signal.h>

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "dspy/json.hpp"
#include "support/cli_child.hpp"
#include "tools/dspy/cli_test_util.hpp"

namespace dspy::test {
namespace {

#if defined(DSPY_MOCK_LM_PATH) && defined(DSPY_CLI_PATH)
constexpr const char* kMock = DSPY_MOCK_LM_PATH;
constexpr const char* kDspy = DSPY_CLI_PATH;
#else
constexpr const char* kMock = nullptr;
constexpr const char* kDspy = nullptr;
#endif

class CliMain : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kMock || !kDspy) GTEST_SKIP() << "dspy or dspy-mock-lm is not built";
    }
    // The environment every child gets: its own cache directory, no real-model overrides.
    std::vector<std::string> env() const {
        return {"DSPY_CACHEDIR=" + (dir_ / "cache").string(), "DSPY_LM=", "DSPY_API_BASE="};
    }
    std::string program(const std::string& module = "ChainOfThought", bool cache = true) {
        const auto path = dir_ / "program.json";
        write_file(path, Json{{"module", module},
                              {"signature", "question -> answer"},
                              {"lm", {{"model", "openai/mock"}, {"cache", cache}, {"num_retries", 0}}}}
                             .dump());
        return path.string();
    }
    TempDir dir_;
};

TEST_F(CliMain, RunPrintsThePredictionLikeDspy) {
    MockServer mock(kMock);
    auto [code, out] = run_command({kDspy, "run", program(), "--api-base", mock.v1(), "--input",
                                    "question=Why is the sky blue?"},
                                   env());
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(out, "Prediction(\n    reasoning='Mock reasoning for: Why is the sky blue?',\n"
                   "    answer='Mock answer for: Why is the sky blue?'\n)\n");

    auto [code2, out2] = run_command({kDspy, "run", program(), "--api-base", mock.v1(), "--json", "--input-json",
                                      R"({"question": "Why?"})"},
                                     env());
    EXPECT_EQ(code2, 0) << out2;
    EXPECT_EQ(Json::parse(out2), (Json{{"reasoning", "Mock reasoning for: Why?"}, {"answer", "Mock answer for: Why?"}}));
}

TEST_F(CliMain, RunInspectPrintsThePromptAndReply) {
    MockServer mock(kMock);
    auto [code, out] = run_command({kDspy, "run", program("Predict"), "--api-base", mock.v1(), "--inspect", "--input",
                                    "question=Why is the sky blue?"},
                                   env());
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("[[ ## question ## ]]\nWhy is the sky blue?"), std::string::npos) << out;
    EXPECT_NE(out.find("Response:"), std::string::npos) << out;
    EXPECT_NE(out.find("Prediction(\n    answer='Mock answer for: Why is the sky blue?'\n)"), std::string::npos);
}

TEST_F(CliMain, BadProgramsAndInputsExitWith2AndSayWhy) {
    write_file(dir_ / "bad.json", R"({"signature": "question -> answer", "lm": {"model": "openai/x", "temperature": "hot"}})");
    auto [code, out] = run_command({kDspy, "run", (dir_ / "bad.json").string(), "--input", "question=q"}, env());
    EXPECT_EQ(code, 2);
    EXPECT_EQ(out, "dspy: bad.json: \"lm.temperature\" must be a number, got \"hot\"\n");

    auto [code2, out2] = run_command({kDspy, "run", program(), "--input", "query=q"}, env());
    EXPECT_EQ(code2, 2);
    EXPECT_EQ(out2, "dspy: --input query: the program has no input field 'query' (its inputs: question)\n");

    auto [code3, out3] = run_command({kDspy, "frobnicate"}, env());
    EXPECT_NE(code3, 0);
}

TEST_F(CliMain, TheApiKeyIsNeverPrinted) {
    MockServer mock(kMock);
    const auto path = dir_ / "keyed.json";
    write_file(path, R"({"signature": "question -> answer", "lm": {"model": "openai/mock", "api_key": "sk-topsecret-42"}})");
    auto [code, out] = run_command({kDspy, "run", path.string(), "--api-base", mock.v1(), "--inspect", "--json",
                                    "--input", "question=q"},
                                   env());
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(out.find("sk-topsecret"), std::string::npos) << out;
}

std::multiset<int64_t> lines_in(const std::filesystem::path& p) {
    std::multiset<int64_t> s;
    for (const auto& r : read_jsonl(p)) s.insert(r.at("_line").get<int64_t>());
    return s;
}

// Waits (polling the file the child writes) until it holds at least `n` lines.
bool wait_for_lines(const std::filesystem::path& p, size_t n) {
    for (int i = 0; i < 3000; ++i) {
        if (std::filesystem::exists(p) && read_jsonl(p).size() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST_F(CliMain, BatchKilledWithSigkillResumesWithoutLosingOrRepeatingARow) {
    MockServer mock(kMock, {"--latency-ms", "100"});
    const int n = 200;
    write_file(dir_ / "in.jsonl", question_rows(n));
    const auto out = dir_ / "out.jsonl";
    std::vector<std::string> cmd = {kDspy, "batch", program("Predict", false), (dir_ / "in.jsonl").string(), "-o",
                                    out.string(), "-c", "4", "--api-base", mock.v1(), "--progress", "lines"};
    {
        ChildProcess first(cmd, env(), true);
        ASSERT_TRUE(wait_for_lines(out, 20));
        first.signal(SIGKILL);
        EXPECT_EQ(first.wait(), 128 + SIGKILL);
    }
    const auto before = lines_in(out);
    ASSERT_LT(before.size(), static_cast<size_t>(n));
    EXPECT_EQ(std::set<int64_t>(before.begin(), before.end()).size(), before.size());

    auto [code, text] = run_command(cmd, env());
    EXPECT_EQ(code, 0) << text;
    EXPECT_NE(text.find("resume: " + std::to_string(before.size()) + " of 200 rows already in"), std::string::npos)
        << text;
    std::multiset<int64_t> expected;
    for (int i = 1; i <= n; ++i) expected.insert(i);
    EXPECT_EQ(lines_in(out), expected);
    for (const auto& r : read_jsonl(out)) EXPECT_FALSE(r.contains("error")) << r.dump();
}

TEST_F(CliMain, BatchInterruptedWithSigintFinishesRowsInFlightThenResumes) {
    MockServer mock(kMock, {"--latency-ms", "100"});
    const int n = 200;
    write_file(dir_ / "in.jsonl", question_rows(n));
    const auto out = dir_ / "out.jsonl";
    std::vector<std::string> cmd = {kDspy, "batch", program("Predict", false), (dir_ / "in.jsonl").string(), "-o",
                                    out.string(), "-c", "4", "--api-base", mock.v1(), "--progress", "lines"};
    ChildProcess first(cmd, env(), true);
    ASSERT_TRUE(wait_for_lines(out, 12));
    first.signal(SIGINT);
    EXPECT_EQ(first.wait(), 130);
    const std::string said = first.read_all();
    EXPECT_NE(said.find("stopping: finishing the rows in flight"), std::string::npos) << said;
    EXPECT_NE(said.find("run the same command again to resume"), std::string::npos) << said;
    // A clean stop leaves whole lines only.
    const std::string text = read_file(out);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    const auto before = lines_in(out);
    EXPECT_LT(before.size(), static_cast<size_t>(n));

    auto [code, log] = run_command(cmd, env());
    EXPECT_EQ(code, 0) << log;
    std::multiset<int64_t> expected;
    for (int i = 1; i <= n; ++i) expected.insert(i);
    EXPECT_EQ(lines_in(out), expected);
}

TEST_F(CliMain, BatchSummaryCountsCacheHitsOnASecondRun) {
    MockServer mock(kMock);
    write_file(dir_ / "in.jsonl", question_rows(30));
    auto run = [&](const std::string& out) {
        return run_command({kDspy, "batch", program("Predict", true), (dir_ / "in.jsonl").string(), "-o",
                            (dir_ / out).string(), "-c", "8", "--api-base", mock.v1(), "--progress", "off",
                            "--summary-json", (dir_ / (out + ".summary")).string()},
                           env());
    };
    auto [c1, t1] = run("a.jsonl");
    ASSERT_EQ(c1, 0) << t1;
    auto s1 = Json::parse(read_file(dir_ / "a.jsonl.summary"));
    EXPECT_EQ(s1.at("lm_calls"), 30);
    EXPECT_EQ(s1.at("cache_hits"), 0);
    auto [c2, t2] = run("b.jsonl");
    ASSERT_EQ(c2, 0) << t2;
    auto s2 = Json::parse(read_file(dir_ / "b.jsonl.summary"));
    EXPECT_EQ(s2.at("cache_hits"), 30);
    EXPECT_EQ(s2.at("prompt_tokens"), 0);
    EXPECT_NE(t2.find("30 cache hits"), std::string::npos) << t2;
}

}  // namespace
}  // namespace dspy::test
