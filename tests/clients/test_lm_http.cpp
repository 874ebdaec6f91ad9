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
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/cache.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/mock_lm_server.hpp"

extern char** environ;

namespace dspy {
namespace {

const char* const kMockPath = test::mock_lm_path();

// dspy-mock-lm on an ephemeral port (tests/support), plus the /stats the retry tests read.
class MockLM : public test::MockLmServer {
public:
    explicit MockLM(std::vector<std::string> args) : MockLmServer(std::move(args)) {}
    [[nodiscard]] std::string base(const char* scheme = "http") const { return base_url(scheme); }
    [[nodiscard]] std::string v1() const { return v1_url(); }
    [[nodiscard]] Json stats() const {
        auto resp = detail::lm_http_client().request({"GET", base() + "/stats", {}, {}});
        return Json::parse(resp.body);
    }
    [[nodiscard]] int lm_requests() const { return stats().at("lm_requests").get<int>(); }
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

TEST_F(LMHttp, MemoryHitsNeedNoProviderAndWarnOnTruncation) {
    // Entries stored under request_key (sync and async identifiers alike) answer without any provider: the port is
    // closed. A cached "length" finish still warns, with the LM's max_tokens.
    LM lm("openai/mock", {.max_tokens = 7, .api_base = "http://127.0.0.1:9"});
    const Messages msgs = ask("truncated?");
    Json response = {{"model", "mock-1"},
                     {"choices", Json::array({{{"index", 0},
                                               {"message", {{"role", "assistant"}, {"content", "cut"}}},
                                               {"finish_reason", "length"}}})}};
    cache()->put(lm.request_key(msgs).key, response);
    cache()->put(lm.request_key(msgs, Json::object(), /*async_call=*/true).key, response);
    ::testing::internal::CaptureStderr();
    const LMResponse sync = lm.forward(msgs, Json::object());
    const LMResponse async = run(lm.aforward(msgs, Json::object()));
    const std::string err = ::testing::internal::GetCapturedStderr();
    for (const LMResponse* r : {&sync, &async}) {
        ASSERT_EQ(r->outputs.size(), 1u);
        EXPECT_EQ(r->outputs[0].text, "cut");
        EXPECT_TRUE(r->cache_hit);
        EXPECT_EQ(r->response_model, "mock-1");
    }
    EXPECT_NE(err.find("truncated due to exceeding max_tokens=7"), std::string::npos) << err;
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
    // Retries allowed, yet a malformed 200 is not retried: asking again would get the same bytes.
    LM lm("openai/mock", {.num_retries = 3, .api_base = mock.v1()});
    try {
        (void)lm.forward(ask("malformed"), Json::object());
        FAIL() << "expected LMProviderError";
    } catch (const LMProviderError& e) {
        EXPECT_NE(std::string(e.what()).find("malformed provider reply: the body is not a JSON object"),
                  std::string::npos)
            << e.what();
        EXPECT_FALSE(e.retryable());
    }
    EXPECT_EQ(mock.lm_requests(), 1);
    EXPECT_THROW((void)run(lm.aforward(ask("malformed async"), Json::object())), LMProviderError);
    EXPECT_EQ(mock.lm_requests(), 2);
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

TEST_F(LMHttp, CancellingTheAwaitingTaskCancelsTheRequest) {
    // The server would answer after 60 s: only a cancelled transport op ends the call early, and with_timeout
    // throws TimeoutError only for a task it cut short (one that finished anyway would keep its result).
    MockLM stalling({"--stall-ms", "60000", "--stall-rate", "1"});
    LM lm("openai/mock", {.cache = false, .num_retries = 3, .api_base = stalling.v1()});
    EXPECT_THROW((void)run(with_timeout(lm.aforward(ask("cancel me"), Json::object()), std::chrono::milliseconds(50))),
                 TimeoutError);
    std::stop_source stop;
    stop.request_stop();  // cancelled before it starts: no request at all
    EXPECT_THROW((void)run(with_cancellation(lm.aforward(ask("never sent"), Json::object()), stop.get_token())),
                 CancelledError);
    EXPECT_EQ(stalling.lm_requests(), 1);
}

TEST_F(LMHttp, DestroyingATaskMidRequestNeverResumesItsFrame) {
    MockLM mock({"--latency-ms", "20"});
    LM lm("openai/mock", {.cache = false, .num_retries = 0, .api_base = mock.v1()});
    LMResponse after = run([&]() -> Task<LMResponse> {
        {
            Task<LMResponse> abandoned = lm.aforward(ask("abandoned"), Json::object());
            abandoned.handle().resume();  // runs until it waits for the reply
        }  // destroyed mid-request: its reply (or cancellation) must not touch the freed frame (ASan checks)
        // The cancellation was queued first, so it completes before this call's reply arrives.
        co_return co_await lm.aforward(ask("after"), Json::object());
    }());
    ASSERT_EQ(after.outputs.size(), 1u);
    EXPECT_FALSE(after.outputs[0].text.empty());
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
