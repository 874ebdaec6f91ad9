// dspy serve as a real child process, driven over HTTP from this (second) process: the routes, bearer token,
// body limit, bad JSON, 429 + Retry-After under overload, concurrent load, timeouts and a clean stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
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

// `dspy serve` on port 0 for a Predict program against `mock`.
class Server {
public:
    Server(const TempDir& dir, const MockServer& mock, std::vector<std::string> extra) {
        const auto program = dir / "program.json";
        write_file(program, Json{{"module", "Predict"},
                                 {"signature", "question -> answer"},
                                 {"lm", {{"model", "openai/mock"}, {"cache", false}, {"num_retries", 0}}}}
                                .dump());
        std::vector<std::string> argv = {kDspy, "serve", program.string(), "--port", "0", "--api-base", mock.v1()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        child_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{"DSPY_LM=", "DSPY_API_BASE="});
        auto line = child_->read_line(std::chrono::seconds(20));
        if (!line || line->rfind("listening on 127.0.0.1:", 0) != 0)
            throw std::runtime_error("dspy serve did not start: " + line.value_or("(nothing)"));
        port_ = std::stoi(line->substr(line->rfind(':') + 1));
    }
    [[nodiscard]] int port() const { return port_; }
    ChildProcess& child() { return *child_; }

private:
    std::unique_ptr<ChildProcess> child_;
    int port_ = 0;
};

class CliServe : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kMock || !kDspy) GTEST_SKIP() << "dspy or dspy-mock-lm is not built";
    }
    TempDir dir_;
};

TEST_F(CliServe, RoutesTokenAndBadRequests) {
    MockServer mock(kMock);
    Server srv(dir_, mock, {"--token", "s3cret", "--max-body-bytes", "200"});
    const std::map<std::string, std::string> auth = {{"Authorization", "Bearer s3cret"}};

    auto health = http_request(srv.port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(Json::parse(health.body).at("status"), "ok");

    auto no_token = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "q"})");
    EXPECT_EQ(no_token.status, 401);
    EXPECT_EQ(no_token.headers["www-authenticate"], "Bearer");
    auto wrong = http_request(srv.port(), "GET", "/v1/program", "", {{"Authorization", "Bearer nope"}});
    EXPECT_EQ(wrong.status, 401);

    auto program = http_request(srv.port(), "GET", "/v1/program", "", auth);
    ASSERT_EQ(program.status, 200);
    auto pj = Json::parse(program.body);
    EXPECT_EQ(pj.at("module"), "Predict");
    EXPECT_EQ(pj.at("inputs"), Json::array({"question"}));
    EXPECT_EQ(pj.at("outputs"), Json::array({"answer"}));

    auto ok = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "Why is the sky blue?"})", auth);
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(Json::parse(ok.body), (Json{{"answer", "Mock answer for: Why is the sky blue?"}}));

    auto bad_json = http_request(srv.port(), "POST", "/v1/predict", R"({"question": )", auth);
    EXPECT_EQ(bad_json.status, 400);
    EXPECT_EQ(Json::parse(bad_json.body).at("error").at("type"), "invalid_json");
    auto missing = http_request(srv.port(), "POST", "/v1/predict", R"({"query": "q"})", auth);
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(Json::parse(missing.body).at("error").at("message"), "missing input field \"question\"");
    auto big = http_request(srv.port(), "POST", "/v1/predict",
                            Json{{"question", std::string(1000, 'x')}}.dump(), auth);
    EXPECT_EQ(big.status, 413);
    auto unknown = http_request(srv.port(), "GET", "/v2/whatever", "", auth);
    EXPECT_EQ(unknown.status, 404);
    auto wrong_method = http_request(srv.port(), "GET", "/v1/predict", "", auth);
    EXPECT_EQ(wrong_method.status, 405);

    // None of that disturbed the server.
    auto again = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "Still there?"})", auth);
    EXPECT_EQ(again.status, 200);

    srv.child().signal(SIGTERM);
    EXPECT_EQ(srv.child().wait(), 0);
}

TEST_F(CliServe, OverloadGets429WithRetryAfterAndEveryOtherRequestSucceeds) {
    MockServer mock(kMock, {"--latency-ms", "400"});
    Server srv(dir_, mock, {"--max-in-flight", "2"});
    const int n = 12;
    std::vector<HttpReply> replies(n);
    std::vector<std::thread> clients;
    for (int i = 0; i < n; ++i)
        clients.emplace_back([&, i] {
            replies[static_cast<size_t>(i)] = http_request(
                srv.port(), "POST", "/v1/predict", Json{{"question", "q" + std::to_string(i)}}.dump());
        });
    for (auto& t : clients) t.join();
    int ok = 0, overloaded = 0;
    for (int i = 0; i < n; ++i) {
        const auto& r = replies[static_cast<size_t>(i)];
        if (r.status == 200) {
            ++ok;
            EXPECT_EQ(Json::parse(r.body).at("answer"), "Mock answer for: q" + std::to_string(i));
        } else {
            EXPECT_EQ(r.status, 429) << r.body;
            EXPECT_EQ(r.headers.at("retry-after"), "1");
            ++overloaded;
        }
    }
    EXPECT_GE(ok, 2);
    EXPECT_GE(overloaded, 1);
    EXPECT_EQ(ok + overloaded, n);
}

TEST_F(CliServe, ConcurrentLoadFromAnotherProcessAllAnswered) {
    MockServer mock(kMock, {"--latency-ms", "20"});
    Server srv(dir_, mock, {"--max-in-flight", "256"});
    const int threads = 8, per_thread = 25;
    std::atomic<int> good{0}, bad{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
        clients.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const std::string q = "t" + std::to_string(t) + "-" + std::to_string(i);
                // Every fifth request is garbage: it must fail alone.
                const bool garbage = i % 5 == 4;
                auto r = http_request(srv.port(), "POST", "/v1/predict",
                                      garbage ? std::string("{oops") : Json{{"question", q}}.dump());
                if (garbage ? r.status == 400
                            : r.status == 200 && Json::parse(r.body).at("answer") == "Mock answer for: " + q)
                    ++good;
                else
                    ++bad;
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(good.load(), threads * per_thread);
    EXPECT_EQ(bad.load(), 0);
}

TEST_F(CliServe, ASlowClientIsCutOffAndOthersAreStillServed) {
    MockServer mock(kMock);
    Server srv(dir_, mock, {"--read-timeout-s", "0.3"});
    // Half a request, then silence: the server closes the connection instead of waiting forever.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(srv.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string partial = "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"q";
    ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
    auto ok = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "meanwhile"})");
    EXPECT_EQ(ok.status, 200);
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1);  // closed long before 10 s
    char buf[64];
    EXPECT_LE(::recv(fd, buf, sizeof buf, 0), 0);  // EOF (or a reset), no answer
    ::close(fd);
}

TEST_F(CliServe, SlowPredictionsTimeOutWith504) {
    MockServer mock(kMock, {"--latency-ms", "3000"});
    Server srv(dir_, mock, {"--timeout-s", "0.3"});
    auto r = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "slow"})");
    EXPECT_EQ(r.status, 504) << r.body;
    auto h = http_request(srv.port(), "GET", "/healthz");
    EXPECT_EQ(h.status, 200);
}

}  // namespace
}  // namespace dspy::test
