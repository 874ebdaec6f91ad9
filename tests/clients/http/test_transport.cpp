// The HTTP transport against real loopback servers (tests/clients/http/test_server.hpp); no mocks.
#include "clients/http/transport.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "clients/http/sse.hpp"
#include "clients/http/test_server.hpp"

namespace dspy::http {
namespace {
using namespace std::chrono_literals;
using dspy::testing::Exchange;
using dspy::testing::ServerOptions;
using dspy::testing::TestServer;

constexpr auto kHang = 20s;  // guards against hangs only; never a timing assertion

// Builders instead of designated initialisers with omitted members, which g++-12 -Wextra flags.
HttpRequest req(std::string method, std::string url, std::string body = {}, Headers headers = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}
HttpRequest get(std::string url) { return req("GET", std::move(url)); }

RequestOptions timeouts(std::optional<std::chrono::milliseconds> read, std::optional<std::chrono::milliseconds> deadline) {
    RequestOptions o;
    if (read) o.read_timeout = *read;
    o.deadline = deadline;
    return o;
}
RequestOptions tls_options(std::optional<std::string> ca_file, bool verify = true) {
    RequestOptions o;
    o.ca_file = std::move(ca_file);
    o.verify_tls = verify;
    return o;
}
HttpClientOptions pool_of(int n) {
    HttpClientOptions o;
    o.max_connections_per_origin = n;
    return o;
}
ServerOptions tls_server(const dspy::testing::SelfSignedCert& cert) {
    ServerOptions o;
    o.tls = true;
    o.cert_pem = cert.cert_pem;
    o.key_pem = cert.key_pem;
    return o;
}

struct Result {
    std::exception_ptr error;
    HttpResponse response;
};

std::future<Result> start(HttpClient& client, HttpRequest req, RequestOptions opts = {}) {
    auto p = std::make_shared<std::promise<Result>>();
    auto f = p->get_future();
    client.async_request(std::move(req), std::move(opts), [p](std::exception_ptr e, HttpResponse r) {
        p->set_value(Result{std::move(e), std::move(r)});
    });
    return f;
}

Result finish(std::future<Result>& f) {
    if (f.wait_for(kHang) != std::future_status::ready) {
        ADD_FAILURE() << "request did not complete";
        return {};
    }
    return f.get();
}

template <class E>
std::string expect_error(const Result& r) {
    if (!r.error) {
        ADD_FAILURE() << "expected an error, got HTTP " << r.response.status;
        return {};
    }
    try {
        std::rethrow_exception(r.error);
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected error type: " << e.what();
    }
    return {};
}

void echo(Exchange& ex) {
    ex.respond(200, ex.request.method + " " + ex.request.target + " " + ex.request.body,
               {{"X-Echo", ex.request.header("x-test")}, {"Content-Type", "text/plain"}});
}

TEST(HttpTransport, GetAndPostRoundTrip) {
    TestServer server(echo);
    HttpClient client;
    auto get = client.request(req("GET", server.url("/a?b=1"), "", {{"X-Test", "one"}}));
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "GET /a?b=1 ");
    ASSERT_NE(get.header("x-echo"), nullptr);
    EXPECT_EQ(*get.header("X-ECHO"), "one");
    auto post = client.request(req("POST", server.url("/v1/chat"), R"({"q":1})"));
    EXPECT_EQ(post.body, R"(POST /v1/chat {"q":1})");
}

TEST(HttpTransport, ErrorStatusIsAResponseNotAnError) {
    TestServer server([](Exchange& ex) { ex.respond(404, R"({"error":{"message":"no such model"}})"); });
    HttpClient client;
    auto r = client.request(get(server.url("/")));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"error":{"message":"no such model"}})");
}

TEST(HttpTransport, SendsHostAndUserAgentAndContentLength) {
    std::string host, agent, length;
    TestServer server([&](Exchange& ex) {
        host = ex.request.header("host");
        agent = ex.request.header("user-agent");
        length = ex.request.header("content-length");
        ex.respond(200, "");
    });
    HttpClient client;
    client.request(req("POST", server.url("/"), "12345"));
    EXPECT_EQ(host, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(agent, "dspy-cpp");
    EXPECT_EQ(length, "5");
}

TEST(HttpTransport, KeepAliveReusesOneConnection) {
    TestServer server(echo);
    HttpClient client;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(client.request(get(server.url("/"))).status, 200);
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpTransport, ConnectionCloseIsNotReused) {
    TestServer server([](Exchange& ex) { ex.respond(200, "bye", {}, /*close=*/true); });
    HttpClient client;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client.request(get(server.url("/"))).body, "bye");
    EXPECT_EQ(server.connections(), 3);
}

TEST(HttpTransport, PoolBoundQueuesRequests) {
    TestServer server([](Exchange& ex) {
        ex.sleep(20ms);
        echo(ex);
    });
    HttpClient client(pool_of(2));
    std::vector<std::future<Result>> futures;
    for (int i = 0; i < 12; ++i)
        futures.push_back(start(client, req("POST", server.url("/"), std::to_string(i))));
    for (int i = 0; i < 12; ++i) {
        Result r = finish(futures[static_cast<size_t>(i)]);
        ASSERT_FALSE(r.error);
        EXPECT_EQ(r.response.body, "POST / " + std::to_string(i));
    }
    EXPECT_LE(server.max_open(), 2);
    EXPECT_LE(server.connections(), 2);
    EXPECT_EQ(server.requests(), 12);
}

TEST(HttpTransport, SeveralIoThreadsAndOrigins) {
    TestServer a(echo), b(echo);
    HttpClientOptions options = pool_of(3);
    options.io_threads = 3;
    HttpClient client(options);
    std::vector<std::future<Result>> futures;
    for (int i = 0; i < 60; ++i)
        futures.push_back(start(client, req("POST", (i % 2 ? a : b).url("/"), std::to_string(i))));
    for (int i = 0; i < 60; ++i) {
        Result r = finish(futures[static_cast<size_t>(i)]);
        ASSERT_FALSE(r.error);
        EXPECT_EQ(r.response.body, "POST / " + std::to_string(i));
    }
    EXPECT_LE(a.max_open(), 3);
    EXPECT_LE(b.max_open(), 3);
    EXPECT_EQ(a.requests() + b.requests(), 60);
}

TEST(HttpTransport, IdleConnectionClosedByServerIsReplacedTransparently) {
    TestServer server(echo, [] { ServerOptions o; o.close_after = 1; return o; }());
    HttpClient client;
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(server.wait_open(0));  // the server has closed the pooled connection: it is stale now
        auto r = client.request(req("POST", server.url("/"), "x"));
        EXPECT_EQ(r.body, "POST / x");
    }
    EXPECT_EQ(server.connections(), 4);
    EXPECT_EQ(server.requests(), 4);
}

TEST(HttpTransport, DroppedFreshConnectionIsATransportError) {
    TestServer server([](Exchange& ex) { ex.drop(); });
    HttpClient client;
    auto f = start(client, get(server.url("/x")));
    auto r = finish(f);
    const std::string what = expect_error<LMTransportError>(r);
    EXPECT_NE(what.find("closed"), std::string::npos) << what;
    EXPECT_NE(what.find("/x"), std::string::npos) << what;
    EXPECT_EQ(server.requests(), 1);  // a fresh connection is not retried
}

TEST(HttpTransport, ConnectRefusedIsATransportError) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    ::close(fd);  // bound, never listening: connecting is refused
    HttpClient client;
    auto f = start(client, get("http://127.0.0.1:" + std::to_string(port) + "/"));
    auto r = finish(f);
    const std::string what = expect_error<LMTransportError>(r);
    EXPECT_NE(what.find("refused"), std::string::npos) << what;
    try {
        std::rethrow_exception(r.error);
    } catch (const DSPyError& e) {
        EXPECT_TRUE(e.retryable());
    }
}

TEST(HttpTransport, ReadTimeout) {
    TestServer server([](Exchange& ex) { ex.stall(); });
    HttpClient client;
    auto f = start(client, get(server.url("/")), timeouts(100ms, std::nullopt));
    const std::string what = expect_error<LMTimeoutError>(finish(f));
    EXPECT_NE(what.find("read timeout"), std::string::npos) << what;
    EXPECT_TRUE(server.wait_open(0));  // the client closed the connection
}

TEST(HttpTransport, DeadlineCoversASlowTrickle) {
    TestServer server([](Exchange& ex) {
        ex.chunked_head(200);
        for (int i = 0; i < 1000 && ex.request.method == "GET"; ++i) {
            ex.chunk("x");
            ex.sleep(20ms);
        }
        ex.end_chunks();
    });
    HttpClient client;
    auto f = start(client, get(server.url("/")), timeouts(5s, 200ms));
    const std::string what = expect_error<LMTimeoutError>(finish(f));
    EXPECT_NE(what.find("deadline"), std::string::npos) << what;
}

TEST(HttpTransport, DeadlineWhileQueuedForAConnection) {
    TestServer server([](Exchange& ex) { ex.stall(); });
    HttpClient client(pool_of(1));
    auto first = start(client, get(server.url("/1")), timeouts(std::nullopt, 300ms));
    auto second = start(client, get(server.url("/2")), timeouts(std::nullopt, 100ms));
    expect_error<LMTimeoutError>(finish(second));
    expect_error<LMTimeoutError>(finish(first));
}

TEST(HttpTransport, StreamingDeliversChunksAsTheyArrive) {
    // The server sends the next chunk only after the client has seen the previous one, so this passes only if
    // chunks are delivered incrementally.
    std::promise<void> got[3];
    TestServer server([&](Exchange& ex) {
        ex.chunked_head(200, {{"Content-Type", "text/event-stream"}});
        for (int i = 0; i < 3; ++i) {
            ex.chunk("data: " + std::to_string(i) + "\n\n");
            if (got[i].get_future().wait_for(kHang) != std::future_status::ready) return ex.drop();
        }
        ex.end_chunks();
    });
    HttpClient client;
    std::string received;
    int status = 0, chunks = 0;
    std::promise<std::exception_ptr> done;
    client.async_stream(
        get(server.url("/stream")), {},
        [&](int s, const Headers& h) {
            status = s;
            EXPECT_NE(find_header(h, "content-type"), nullptr);
            return true;
        },
        [&](std::string_view bytes) {
            received += bytes;
            if (received.size() == 9 * static_cast<size_t>(chunks + 1)) got[chunks++].set_value();
            return true;
        },
        [&](std::exception_ptr e) { done.set_value(e); });
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(kHang), std::future_status::ready);
    EXPECT_EQ(f.get(), nullptr);
    EXPECT_EQ(status, 200);
    EXPECT_EQ(chunks, 3);
    EXPECT_EQ(received, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST(HttpTransport, SseEventsOverAStreamWithOddSplits) {
    const std::string stream =
        "data: {\"a\":1}\r\n\r\n: ping\n\ndata: {\"b\":\ndata: 2}\n\nevent: done\ndata: [DONE]\n\n";
    TestServer server([&](Exchange& ex) {
        ex.chunked_head(200);
        for (size_t i = 0; i < stream.size(); i += 7) ex.chunk(stream.substr(i, 7));
        ex.end_chunks();
    });
    HttpClient client;
    SseParser parser;
    std::vector<SseEvent> events;
    std::promise<std::exception_ptr> done;
    client.async_stream(
        get(server.url("/")), {}, nullptr,
        [&](std::string_view bytes) {
            parser.feed(bytes, events);
            return true;
        },
        [&](std::exception_ptr e) { done.set_value(e); });
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(kHang), std::future_status::ready);
    EXPECT_EQ(f.get(), nullptr);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].data, R"({"a":1})");
    EXPECT_EQ(events[1].data, "{\"b\":\n2}");
    EXPECT_EQ(events[2].event, "done");
    EXPECT_EQ(events[2].data, "[DONE]");
}

TEST(HttpTransport, StreamCallbackCanStopEarly) {
    TestServer server([](Exchange& ex) {
        ex.chunked_head(200);
        for (int i = 0; i < 1000; ++i) {
            ex.chunk("data: more\n\n");
            ex.sleep(5ms);
        }
        ex.end_chunks();
    });
    HttpClient client;
    std::promise<std::exception_ptr> done;
    int chunks = 0;
    client.async_stream(
        get(server.url("/")), {}, nullptr, [&](std::string_view) { return ++chunks < 2; },
        [&](std::exception_ptr e) { done.set_value(e); });
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(kHang), std::future_status::ready);
    EXPECT_EQ(f.get(), nullptr);
    EXPECT_EQ(chunks, 2);
    EXPECT_TRUE(server.wait_open(0));  // an unfinished body cannot be reused: the connection was closed
}

TEST(HttpTransport, CancelClosesTheConnectionAndCompletes) {
    std::promise<void> arrived;
    TestServer server([&](Exchange& ex) {
        arrived.set_value();
        ex.stall();
    });
    HttpClient client;
    auto p = std::make_shared<std::promise<Result>>();
    auto f = p->get_future();
    auto handle = client.async_request(get(server.url("/slow")), {}, [p](std::exception_ptr e, HttpResponse r) {
        p->set_value(Result{std::move(e), std::move(r)});
    });
    ASSERT_EQ(arrived.get_future().wait_for(kHang), std::future_status::ready);
    handle->cancel();
    handle->cancel();  // idempotent
    expect_error<HttpCancelledError>(finish(f));
    EXPECT_TRUE(server.wait_open(0));
}

TEST(HttpTransport, DestroyingTheClientCompletesPendingRequests) {
    TestServer server([](Exchange& ex) { ex.stall(); });
    std::future<Result> f;
    {
        HttpClient client;
        f = start(client, get(server.url("/")));
        server.wait_open(1);
    }
    expect_error<HttpCancelledError>(finish(f));
}

TEST(HttpTransport, BlockingRequestOnAnIoThreadIsRefused) {
    TestServer server(echo);
    HttpClient client;
    std::promise<std::string> message;
    client.async_request(get(server.url("/")), {}, [&](std::exception_ptr, HttpResponse) {
        try {
            client.request(get(server.url("/")));
            message.set_value("no error");
        } catch (const ValueError& e) {
            message.set_value(e.what());
        }
    });
    auto f = message.get_future();
    ASSERT_EQ(f.wait_for(kHang), std::future_status::ready);
    EXPECT_NE(f.get().find("I/O thread"), std::string::npos);
}

TEST(HttpTransport, BadUrlThrowsValueError) {
    HttpClient client;
    EXPECT_THROW(client.request(get("ftp://example.com/")), ValueError);
}

// ---- TLS --------------------------------------------------------------------------------------------------

std::string write_temp(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + name;
    std::ofstream(path) << content;
    return path;
}

TEST(HttpTransportTls, SelfSignedCertificateIsRejectedByDefault) {
    auto cert = dspy::testing::make_self_signed_cert();
    TestServer server(echo, tls_server(cert));
    HttpClient client;
    auto f = start(client, get(server.url("/")));
    auto r = finish(f);
    const std::string what = expect_error<LMTransportError>(r);
    EXPECT_NE(what.find("verification failed"), std::string::npos) << what;
    try {
        std::rethrow_exception(r.error);
    } catch (const DSPyError& e) {
        EXPECT_FALSE(e.retryable());
    }
}

TEST(HttpTransportTls, TrustedThroughCaFile) {
    auto cert = dspy::testing::make_self_signed_cert();
    TestServer server(echo, tls_server(cert));
    const std::string ca = write_temp("dspy_http_ca.pem", cert.cert_pem);
    HttpClient client;
    for (int i = 0; i < 3; ++i) {
        auto r = client.request(req("POST", server.url("/tls"), "s"), tls_options(ca));
        EXPECT_EQ(r.body, "POST /tls s");
    }
    EXPECT_EQ(server.connections(), 1);  // TLS connections are pooled too
}

TEST(HttpTransportTls, HostNameMustMatchTheCertificate) {
    auto cert = dspy::testing::make_self_signed_cert("DNS:api.example.com");
    TestServer server(echo, tls_server(cert));
    const std::string ca = write_temp("dspy_http_ca_other.pem", cert.cert_pem);
    HttpClient client;
    auto f = start(client, get(server.url("/")), tls_options(ca));
    const std::string what = expect_error<LMTransportError>(finish(f));
    EXPECT_NE(what.find("verification failed"), std::string::npos) << what;
}

TEST(HttpTransportTls, VerificationCanBeTurnedOff) {
    auto cert = dspy::testing::make_self_signed_cert("DNS:api.example.com");
    TestServer server(echo, tls_server(cert));
    HttpClient client;
    EXPECT_EQ(client.request(get(server.url("/")), tls_options(std::nullopt, false)).status, 200);
}

TEST(HttpTransportTls, MissingCaFileIsAValueError) {
    HttpClient client;
    EXPECT_THROW(client.request(get("https://127.0.0.1:1/"), tls_options("/nonexistent/ca.pem")), ValueError);
}

// ---- measurement (prints figures, asserts only correctness) ------------------------------------------------

TEST(HttpTransportPerf, KeepAlivePosts64Concurrent) {
    const std::string reply(300, 'r');
    TestServer server([&](Exchange& ex) { ex.respond(200, reply, {{"Content-Type", "application/json"}}); });
    const std::string body(600, 'b');
    constexpr int kConcurrency = 64, kTotal = 6400;
    std::atomic<int> issued{0}, ok{0};
    std::promise<void> all_done;
    std::function<void()> issue;
    HttpClient client;  // declared last: destroyed (and its I/O thread joined) before what callbacks touch
    issue = [&] {
        if (issued.fetch_add(1) >= kTotal) return;
        client.async_request(req("POST", server.url("/v1/chat/completions"), body,
                                 {{"Content-Type", "application/json"}, {"Authorization", "Bearer k"}}),
                             {}, [&](std::exception_ptr e, HttpResponse r) {
                                 if (!e && r.status == 200 && ok.fetch_add(1) + 1 == kTotal) all_done.set_value();
                                 if (!e) issue();  // on the I/O thread: just queues the next request
                             });
    };
    // Warm the pool first so the figures are for reused connections.
    for (int i = 0; i < kConcurrency; ++i) issue();
    const auto cpu0 = client.io_cpu_time();
    const auto wall0 = std::chrono::steady_clock::now();
    ASSERT_EQ(all_done.get_future().wait_for(60s), std::future_status::ready);
    const auto wall = std::chrono::steady_clock::now() - wall0;
    const auto cpu = client.io_cpu_time() - cpu0;
    EXPECT_EQ(ok.load(), kTotal);
    EXPECT_LE(server.connections(), kConcurrency);
    const double secs = std::chrono::duration<double>(wall).count();
    std::printf("[perf] %d keep-alive POSTs, %d concurrent, %d connections: %.0f req/s, client I/O-thread CPU "
                "%.1f us/request (server in-process, same 2 cores)\n",
                kTotal, kConcurrency, server.connections(), kTotal / secs,
                std::chrono::duration<double, std::micro>(cpu).count() / kTotal);
}

}  // namespace
}  // namespace dspy::http
