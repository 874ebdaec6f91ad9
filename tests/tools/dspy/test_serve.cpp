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
    Server(const TempDir& dir, const MockServer& mock, std::vector<std::string> extra,
           const std::string& module = "Predict") {
        const auto program = dir / "program.json";
        write_file(program, Json{{"module", module},
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

// A raw TCP connection to 127.0.0.1:port (for requests the tiny client cannot make); -1 on failure.
int connect_local(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The payloads of a chunked body: each chunk is one SSE event here, so split them back by "\n\n".
std::vector<std::string> sse_events(const std::string& chunked) {
    std::string body;
    size_t pos = 0;
    for (;;) {
        size_t eol = chunked.find("\r\n", pos);
        if (eol == std::string::npos) throw std::runtime_error("torn chunked body: " + chunked.substr(pos));
        const size_t n = std::stoul(chunked.substr(pos, eol - pos), nullptr, 16);
        if (n == 0) break;
        body += chunked.substr(eol + 2, n);
        pos = eol + 2 + n + 2;
    }
    std::vector<std::string> events;
    for (size_t at = 0, end; (end = body.find("\n\n", at)) != std::string::npos; at = end + 2)
        events.push_back(body.substr(at, end - at));
    return events;
}

// The JSON of a `data: {...}` event (null for anything else, e.g. `data: [DONE]`).
Json sse_json(const std::string& event) {
    if (event.rfind("data: {", 0) != 0) return nullptr;
    return Json::parse(event.substr(6));
}

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
    int fd = connect_local(srv.port());
    ASSERT_GE(fd, 0);
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

TEST_F(CliServe, StreamSendsAnswerChunksThePredictionAndDone) {
    MockServer mock(kMock, {"--chunk-chars", "3"});
    // A deadline beyond the client's 60 s patience: a stream whose end is only noticed at the deadline fails here.
    Server srv(dir_, mock, {"--timeout-s", "600"});
    auto r = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "Why is the sky blue?"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "text/event-stream");
    EXPECT_EQ(r.headers["cache-control"], "no-cache");
    EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
    auto events = sse_events(r.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "data: [DONE]");
    std::string streamed;
    int answer_chunks = 0;
    Json prediction;
    for (const auto& e : events) {
        Json j = sse_json(e);
        if (j.is_null()) continue;
        if (j.contains("chunk") && j["chunk"].at("signature_field_name") == "answer") {
            EXPECT_EQ(j["chunk"].at("predict_name"), "self");
            streamed += j["chunk"].at("chunk").get<std::string>();
            ++answer_chunks;
        } else if (j.contains("prediction")) {
            EXPECT_TRUE(prediction.is_null()) << "two predictions";
            prediction = j["prediction"];
        }
    }
    EXPECT_GE(answer_chunks, 2);
    ASSERT_TRUE(prediction.is_object()) << r.body;
    EXPECT_EQ(prediction, (Json{{"answer", "Mock answer for: Why is the sky blue?"}}));
    EXPECT_EQ(streamed, prediction.at("answer").get<std::string>());

    // Plain requests are unchanged.
    auto plain = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "plain"})");
    ASSERT_EQ(plain.status, 200);
    EXPECT_EQ(Json::parse(plain.body), (Json{{"answer", "Mock answer for: plain"}}));
}

TEST_F(CliServe, StreamOfChainOfThoughtStreamsReasoningToo) {
    MockServer mock(kMock, {"--chunk-chars", "3"});
    Server srv(dir_, mock, {}, "ChainOfThought");
    auto r = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "Why?"})");
    ASSERT_EQ(r.status, 200) << r.body;
    std::map<std::string, std::string> streamed;
    Json prediction;
    for (const auto& e : sse_events(r.body)) {
        Json j = sse_json(e);
        if (j.is_object() && j.contains("chunk"))
            streamed[j["chunk"].at("signature_field_name").get<std::string>()] += j["chunk"].at("chunk").get<std::string>();
        else if (j.is_object() && j.contains("prediction"))
            prediction = j["prediction"];
    }
    ASSERT_TRUE(prediction.is_object()) << r.body;
    for (const char* field : {"reasoning", "answer"}) {
        ASSERT_TRUE(prediction.contains(field)) << prediction.dump();
        EXPECT_EQ(streamed[field], prediction.at(field).get<std::string>()) << field;
    }
}

TEST_F(CliServe, StreamRequestsGetTheSameAuthAndValidationAnswers) {
    MockServer mock(kMock);
    Server srv(dir_, mock, {"--token", "s3cret"});
    auto no_token = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "q"})");
    EXPECT_EQ(no_token.status, 401);
    EXPECT_EQ(no_token.headers["content-type"], "application/json");
    EXPECT_EQ(Json::parse(no_token.body).at("error").at("type"), "unauthorized");
    const std::map<std::string, std::string> auth = {{"Authorization", "Bearer s3cret"}};
    auto missing = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"query": "q"})", auth);
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(Json::parse(missing.body).at("error").at("message"), "missing input field \"question\"");
    auto ok = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "q"})", auth);
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.headers["content-type"], "text/event-stream");
}

TEST_F(CliServe, StreamLMFailureBeforeTheFirstEventIsAJsonError) {
    MockServer mock(kMock, {"--fail-first", "1", "--fail-status", "400"});
    Server srv(dir_, mock, {});
    auto r = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "q"})");
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(Json::parse(r.body).at("error").at("type"), "lm_error");
    auto after = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "q"})");
    EXPECT_EQ(after.status, 200) << after.body;
}

TEST_F(CliServe, StreamFailureMidStreamIsAnErrorEventThenDone) {
    // Deltas trickle in (2 chars each 20 ms): the answer's marker arrives after ~0.2 s, the whole 300-char answer
    // would take ~3 s, and the deadline passes in between.
    MockServer mock(kMock, {"--chunk-chars", "2", "--chunk-delay-ms", "20"});
    Server srv(dir_, mock, {"--timeout-s", "1.2"});
    auto r = http_request(srv.port(), "POST", "/v1/predict?stream=true",
                          Json{{"question", "a long question " + std::string(280, 'x')}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    auto events = sse_events(r.body);
    ASSERT_GE(events.size(), 3u) << r.body;
    EXPECT_EQ(events.back(), "data: [DONE]");
    Json error = sse_json(events[events.size() - 2]);
    ASSERT_TRUE(error.is_object()) << r.body;
    EXPECT_EQ(error.at("error").at("type"), "timeout");
    EXPECT_TRUE(sse_json(events.front()).contains("chunk")) << r.body;
    for (const auto& e : events) EXPECT_EQ(e.find("\"prediction\""), std::string::npos) << e;
}

TEST_F(CliServe, AStreamClientThatLeavesEarlyDoesNotDisturbTheNextRequest) {
    MockServer mock(kMock, {"--chunk-chars", "2", "--chunk-delay-ms", "30"});
    Server srv(dir_, mock, {});
    int fd = connect_local(srv.port());
    ASSERT_GE(fd, 0);
    const std::string body = R"({"question": "a question with a long enough answer to stream for a while"})";
    const std::string req = "POST /v1/predict?stream=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    std::string raw;
    char buf[4096];
    while (raw.find("data: {") == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 20000), 1) << raw;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0) << raw;
        raw.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
    ::close(fd);  // gone after the first event, mid-stream

    auto next = http_request(srv.port(), "POST", "/v1/predict", R"({"question": "next"})");
    ASSERT_EQ(next.status, 200) << next.body;
    EXPECT_EQ(Json::parse(next.body), (Json{{"answer", "Mock answer for: next"}}));
    auto stream = http_request(srv.port(), "POST", "/v1/predict?stream=true", R"({"question": "again"})");
    ASSERT_EQ(stream.status, 200);
    EXPECT_EQ(sse_events(stream.body).back(), "data: [DONE]");
    srv.child().signal(SIGTERM);
    EXPECT_EQ(srv.child().wait(), 0);
}

}  // namespace
}  // namespace dspy::test
