// LM over real loopback HTTP against tools/dspy-mock-lm: Predict through ChatAdapter (sync and async), the request
// cache (hits, bypass, persistence across processes, single-flight), retries, provider errors, timeouts, TLS and the
// Anthropic wire format.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "clients/http/test_server.hpp"
#include "clients/lm_http.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/cache.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"

extern char** environ;

namespace dspy {
namespace {

#ifdef DSPY_MOCK_LM_PATH
constexpr const char* kMockPath = DSPY_MOCK_LM_PATH;
#else
constexpr const char* kMockPath = nullptr;
#endif

// dspy-mock-lm on an ephemeral port; stopped (SIGTERM) in the destructor, and it exits by itself after 120 s.
class MockLM {
public:
    explicit MockLM(std::vector<std::string> args) {
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        std::vector<std::string> argv_s = {kMockPath, "--port", "0", "--exit-after-s", "120"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        int rc = posix_spawn(&pid_, kMockPath, &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::runtime_error(std::string("cannot start dspy-mock-lm: ") + std::strerror(rc));
        }
        std::string line;
        pollfd p{fds[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
            char buf[256];
            ssize_t n = read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<size_t>(n));
        }
        close(fds[0]);
        auto colon = line.rfind(':');
        if (line.rfind("listening on", 0) != 0 || colon == std::string::npos)
            throw std::runtime_error("dspy-mock-lm did not start: '" + line + "'");
        port_ = std::stoi(line.substr(colon + 1));
    }
    ~MockLM() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int st = 0;
            waitpid(pid_, &st, 0);
        }
    }
    MockLM(const MockLM&) = delete;
    MockLM& operator=(const MockLM&) = delete;

    [[nodiscard]] std::string base(const char* scheme = "http") const {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
    }
    [[nodiscard]] std::string v1() const { return base() + "/v1"; }
    [[nodiscard]] Json stats() const {
        auto resp = detail::lm_http_client().request({"GET", base() + "/stats", {}, {}});
        return Json::parse(resp.body);
    }
    [[nodiscard]] int lm_requests() const { return stats().at("lm_requests").get<int>(); }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

class LMHttp : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kMockPath) GTEST_SKIP() << "dspy-mock-lm is not built";
        configure_cache({.enable_disk_cache = false});
        detail::set_lm_retry_base(std::chrono::milliseconds(5));
    }
    void TearDown() override {
        detail::set_lm_retry_base(std::chrono::milliseconds(0));
        configure_cache({.enable_disk_cache = false});
    }
};

Messages ask(const std::string& q) { return {{"user", q}}; }

TEST_F(LMHttp, PredictThroughChatAdapterSyncAndAsync) {
    MockLM mock({});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.api_base = mock.v1()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Prediction sync = predict("question", "What is the capital of France?");
    EXPECT_EQ(sync.at("answer").get<std::string>(), "Mock answer for: What is the capital of France?");
    Prediction async = run(predict.acall("question", "And of Italy?"));
    EXPECT_EQ(async.at("answer").get<std::string>(), "Mock answer for: And of Italy?");
    EXPECT_EQ(mock.lm_requests(), 2);
    ASSERT_EQ(lm->history().size(), 2u);
    EXPECT_TRUE(lm->history()[0].at("usage").contains("total_tokens"));
    EXPECT_EQ(lm->history()[0].at("response_model"), "mock");
}

TEST_F(LMHttp, CacheKeysFollowDSPyAndSecondCallHits) {
    MockLM mock({});
    LM lm("openai/mock", {.temperature = 0.0, .api_base = mock.v1()});
    const Json expected_req = {{"model", "openai/mock"},
                               {"messages", Json::array({{{"role", "user"}, {"content", "cache me"}}})},
                               {"temperature", 0.0},
                               {"max_tokens", nullptr},
                               {"api_base", mock.v1()},
                               {"_fn_identifier", "dspy.clients.lm.litellm_completion"}};
    const std::string key = cache_key(expected_req, std::vector<std::string>{"api_key", "api_base", "base_url"});
    EXPECT_EQ(lm.build_request(messages_to_json(ask("cache me"))).key(), key);

    auto first = lm.forward(ask("cache me"), Json::object());
    EXPECT_FALSE(first.cache_hit);
    EXPECT_FALSE(first.usage.empty());
    EXPECT_TRUE(cache()->contains(key));
    auto second = lm.forward(ask("cache me"), Json::object());
    EXPECT_TRUE(second.cache_hit);
    EXPECT_TRUE(second.usage.empty());
    EXPECT_EQ(second.outputs.at(0).text, first.outputs.at(0).text);
    EXPECT_EQ(mock.lm_requests(), 1);

    // The async call hashes alitellm_completion: a different key, so one more request, then hits too.
    (void)run(lm.aforward(ask("cache me"), Json::object()));
    auto async_again = run(lm.aforward(ask("cache me"), Json::object()));
    EXPECT_TRUE(async_again.cache_hit);
    EXPECT_EQ(mock.lm_requests(), 2);

    // cache=false per call (and per LM) bypasses the cache.
    (void)lm.forward(ask("cache me"), {{"cache", false}});
    EXPECT_EQ(mock.lm_requests(), 3);
    LM uncached("openai/mock", {.temperature = 0.0, .cache = false, .api_base = mock.v1()});
    (void)uncached.forward(ask("cache me"), Json::object());
    (void)uncached.forward(ask("cache me"), Json::object());
    EXPECT_EQ(mock.lm_requests(), 5);
}

TEST_F(LMHttp, RolloutIdSeparatesCacheEntriesAndIsNotSent) {
    MockLM mock({});
    LM lm("openai/mock", {.temperature = 1.0, .api_base = mock.v1()});
    (void)lm.forward(ask("roll"), {{"rollout_id", 1}});
    (void)lm.forward(ask("roll"), {{"rollout_id", 2}});
    EXPECT_TRUE(lm.forward(ask("roll"), {{"rollout_id", 1}}).cache_hit);
    EXPECT_EQ(mock.lm_requests(), 2);
}

// The child half of CachePersistsAcrossProcesses: only does something when the parent started it.
TEST_F(LMHttp, ChildReadsParentsCache) {
    const char* dir = std::getenv("DSPY_LMC_CHILD_CACHE_DIR");
    if (!dir) GTEST_SKIP() << "run by CachePersistsAcrossProcesses";
    configure_cache({.disk_cache_dir = dir});
    // Nothing listens on port 1: only the disk cache can answer.
    LM lm("openai/mock", {.num_retries = 0, .api_base = "http://127.0.0.1:1/v1"});
    auto resp = lm.forward(ask("persist me"), Json::object());
    EXPECT_TRUE(resp.cache_hit);
    EXPECT_EQ(resp.outputs.at(0).text.find("persist me") != std::string::npos, true) << resp.outputs.at(0).text;
}

TEST_F(LMHttp, CachePersistsAcrossProcesses) {
    if (std::getenv("DSPY_LMC_CHILD_CACHE_DIR")) GTEST_SKIP();
    MockLM mock({});
    auto dir = std::filesystem::temp_directory_path() / ("dspy_lmc_cache_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    {
        configure_cache({.disk_cache_dir = dir.string()});
        // The cache key leaves api_base out, so the child's LM (another api_base) asks for the same entry.
        LM lm("openai/mock", {.api_base = mock.v1()});
        (void)lm.forward(ask("persist me"), Json::object());
        cache()->flush();
        configure_cache({.enable_disk_cache = false});  // the parent lets go of the file before the child opens it
    }
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string filter = "--gtest_filter=LMHttp.ChildReadsParentsCache";
    std::vector<char*> argv = {self.data(), filter.data(), nullptr};
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.push_back("DSPY_LMC_CHILD_CACHE_DIR=" + dir.string());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the child could not read the cached response";
    EXPECT_EQ(mock.lm_requests(), 1);
    std::filesystem::remove_all(dir);
}

TEST_F(LMHttp, ConcurrentIdenticalCallsMakeOneRequest) {
    MockLM mock({"--latency-ms", "50"});
    LM lm("openai/mock", {.api_base = mock.v1()});
    auto results = run([&]() -> Task<std::vector<LMResponse>> {
        std::vector<Task<LMResponse>> tasks;
        for (int i = 0; i < 20; ++i) tasks.push_back(lm.aforward(ask("same question"), Json::object()));
        co_return co_await when_all(std::move(tasks));
    }());
    ASSERT_EQ(results.size(), 20u);
    int fresh = 0;
    for (const auto& r : results) {
        fresh += r.cache_hit ? 0 : 1;
        EXPECT_EQ(r.outputs.at(0).text, results[0].outputs.at(0).text);
    }
    EXPECT_EQ(fresh, 1);
    EXPECT_EQ(mock.lm_requests(), 1);
}

TEST_F(LMHttp, ServerErrorsAreRetried) {
    MockLM mock({"--fail-first", "2", "--fail-status", "500"});
    LM lm("openai/mock", {.api_base = mock.v1()});
    auto resp = lm.forward(ask("retry me"), Json::object());
    EXPECT_FALSE(resp.outputs.empty());
    EXPECT_EQ(mock.lm_requests(), 3);
}

TEST_F(LMHttp, AsyncRetriesToo) {
    MockLM mock({"--fail-first", "2", "--fail-status", "503"});
    LM lm("openai/mock", {.api_base = mock.v1()});
    auto resp = run(lm.aforward(ask("retry me async"), Json::object()));
    EXPECT_FALSE(resp.outputs.empty());
    EXPECT_EQ(mock.lm_requests(), 3);
}

TEST_F(LMHttp, RateLimitHonoursRetryAfter) {
    detail::set_lm_retry_base(std::chrono::milliseconds(1));
    MockLM mock({"--fail-first", "1", "--fail-status", "429", "--retry-after", "1"});
    LM lm("openai/mock", {.api_base = mock.v1()});
    auto start = std::chrono::steady_clock::now();
    auto resp = lm.forward(ask("rate me"), Json::object());
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(resp.outputs.empty());
    EXPECT_EQ(mock.lm_requests(), 2);
    // With a 1 ms backoff only Retry-After can account for a wait of most of a second.
    EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count(), 900);
}

TEST_F(LMHttp, ExhaustedRetriesRaiseTheProviderError) {
    MockLM mock({"--fail-first", "100", "--fail-status", "500"});
    LM lm("openai/mock", {.num_retries = 2, .api_base = mock.v1()});
    try {
        (void)lm.forward(ask("always fails"), Json::object());
        FAIL() << "expected LMProviderError";
    } catch (const LMProviderError& e) {
        EXPECT_EQ(e.status(), 500);
        EXPECT_NE(std::string(e.what()).find("HTTP 500"), std::string::npos) << e.what();
    }
    EXPECT_EQ(mock.lm_requests(), 3);

    MockLM limited({"--fail-first", "100", "--fail-status", "429", "--retry-after", "0"});
    LM lm2("openai/mock", {.num_retries = 1, .api_base = limited.v1()});
    EXPECT_THROW((void)run(lm2.aforward(ask("always limited"), Json::object())), LMRateLimitError);
    EXPECT_EQ(limited.lm_requests(), 2);
}

TEST_F(LMHttp, ContextWindowErrorIsNotRetried) {
    MockLM mock({"--context-window-error"});
    LM lm("openai/mock", {.api_base = mock.v1()});
    EXPECT_THROW((void)lm.forward(ask("too long"), Json::object()), ContextWindowExceededError);
    EXPECT_EQ(mock.lm_requests(), 1);
}

TEST_F(LMHttp, WrongApiKeyIsNotRetriedAndNeverShown) {
    const std::string secret = "sk-wrong-secret-0123456789";
    MockLM mock({"--require-api-key", "sk-right"});
    LM lm("openai/mock", {.api_key = secret, .api_base = mock.v1()});
    try {
        (void)lm.forward(ask("key?"), Json::object());
        FAIL() << "expected LMProviderError";
    } catch (const LMProviderError& e) {
        EXPECT_EQ(e.status(), 401);
        EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
    }
    EXPECT_EQ(mock.lm_requests(), 1);

    LM good("openai/mock", {.api_key = "sk-right", .api_base = mock.v1()});
    auto resp = good.forward(ask("key?"), Json::object());
    EXPECT_FALSE(resp.outputs.empty());
    // Nor in the cache key, the saved state or the history.
    EXPECT_EQ(lm.build_request(messages_to_json(ask("key?"))).key(),
              LM("openai/mock", {.api_base = mock.v1()}).build_request(messages_to_json(ask("key?"))).key());
    EXPECT_EQ(lm.dump_state().dump().find(secret), std::string::npos);
    (void)good({{"user", "history?"}});
    for (const auto& h : good.history()) EXPECT_EQ(h.dump().find("sk-right"), std::string::npos) << h.dump();
}

TEST_F(LMHttp, MalformedReplyIsAClearProviderError) {
    MockLM mock({"--malformed", "1"});
    LM lm("openai/mock", {.num_retries = 0, .api_base = mock.v1()});
    try {
        (void)lm.forward(ask("malformed"), Json::object());
        FAIL() << "expected LMProviderError";
    } catch (const LMProviderError& e) {
        EXPECT_FALSE(std::string(e.what()).empty());
    }
    EXPECT_FALSE(cache()->contains(lm.build_request(messages_to_json(ask("malformed"))).key()));
}

TEST_F(LMHttp, DroppedConnectionsAndStallsEndInErrors) {
    MockLM dropping({"--drop", "1"});
    LM lm("openai/mock", {.num_retries = 1, .api_base = dropping.v1()});
    EXPECT_THROW((void)lm.forward(ask("dropped"), Json::object()), LMError);
    EXPECT_THROW((void)run(lm.aforward(ask("dropped async"), Json::object())), LMError);

    MockLM stalling({"--stall-ms", "5000", "--stall-rate", "1"});
    LM slow("openai/mock", {.num_retries = 0, .api_base = stalling.v1(), .kwargs = {{"timeout", 0.2}}});
    EXPECT_THROW((void)slow.forward(ask("stalled"), Json::object()), LMTimeoutError);
    EXPECT_THROW((void)run(slow.aforward(ask("stalled async"), Json::object())), LMTimeoutError);
}

TEST_F(LMHttp, UntrustedCertificateFailsVerification) {
    auto cert = testing::make_self_signed_cert();
    auto dir = std::filesystem::temp_directory_path() / ("dspy_lmc_tls_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cert.pem") << cert.cert_pem;
    std::ofstream(dir / "key.pem") << cert.key_pem;
    MockLM mock({"--tls-cert", (dir / "cert.pem").string(), "--tls-key", (dir / "key.pem").string()});
    LM lm("openai/mock", {.api_base = mock.base("https") + "/v1"});
    try {
        (void)lm.forward(ask("tls"), Json::object());
        FAIL() << "expected LMTransportError";
    } catch (const LMTransportError& e) {
        EXPECT_FALSE(e.retryable()) << e.what();  // a certificate that fails verification does not heal
    }
    std::filesystem::remove_all(dir);
}

TEST_F(LMHttp, AnthropicMessagesThroughTheMock) {
    MockLM mock({});
    auto lm = std::make_shared<LM>("anthropic/claude-mock",
                                   LMOptions{.max_tokens = 500, .api_key = "ak", .api_base = mock.base()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Prediction p = predict("question", "Who wrote Hamlet?");
    EXPECT_EQ(p.at("answer").get<std::string>(), "Mock answer for: Who wrote Hamlet?");
    // n > 1: one request per choice.
    auto resp = run(lm->aforward(ask("several"), {{"n", 3}}));
    EXPECT_EQ(resp.outputs.size(), 3u);
    auto sync = lm->forward(ask("several sync"), {{"n", 2}});
    EXPECT_EQ(sync.outputs.size(), 2u);
    EXPECT_EQ(mock.lm_requests(), 6);
}

}  // namespace
}  // namespace dspy
