#pragma once
// A small HTTP/1.1 (and HTTPS) server for the transport tests, on 127.0.0.1 with an ephemeral port, inside the
// test process: one thread per connection, blocking sockets, and a handler per request that can answer,
// delay, stall, drop the connection or stream a chunked body piece by piece. Raw sockets + OpenSSL rather
// than Beast: misbehaving on purpose is easier at this level, and it keeps the tests cheap to compile.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace dspy::testing {

using ServerHeaders = std::vector<std::pair<std::string, std::string>>;

struct ServerRequest {
    std::string method, target, body;
    ServerHeaders headers;
    int connection = 0;   // 1-based number of the connection it came on
    int nth_on_connection = 0;  // 1-based
    [[nodiscard]] std::string header(std::string_view name) const;
};

class TestServer;
struct Conn;

// What a handler can do with one request.
class Exchange {
public:
    const ServerRequest& request;

    void respond(int status, std::string_view body, const ServerHeaders& headers = {}, bool close = false);
    void write_raw(std::string_view bytes);
    // A chunked reply: head, then chunks (each flushed at once), then end.
    void chunked_head(int status, const ServerHeaders& headers = {});
    void chunk(std::string_view data);
    void end_chunks();
    // Waits (cut short when the server stops or the client hangs up).
    void sleep(std::chrono::milliseconds d);
    // Waits until the client closes the connection or the server stops; never answers.
    void stall();
    // Closes the connection without answering.
    void drop();

    Exchange(const ServerRequest& r, Conn& c, TestServer& s) : request(r), conn_(c), server_(s) {}

private:
    Conn& conn_;
    TestServer& server_;
};

using Handler = std::function<void(Exchange&)>;

struct ServerOptions {
    bool tls = false;
    std::string cert_pem, key_pem;
    int close_after = 0;  // silently close a connection after this many responses (0 = keep it open)
};

class TestServer {
public:
    explicit TestServer(Handler handler, ServerOptions options = {});
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url(std::string_view path = "/") const;
    [[nodiscard]] int connections() const { return connections_.load(); }  // accepted so far
    [[nodiscard]] int requests() const { return requests_.load(); }
    [[nodiscard]] int open() const { return open_.load(); }
    [[nodiscard]] int max_open() const { return max_open_.load(); }
    // Blocks until open() == n or `limit` passes; returns whether it got there.
    bool wait_open(int n, std::chrono::milliseconds limit = std::chrono::seconds(10));

    struct Impl;

private:
    friend class Exchange;
    void accept_loop();
    void serve(int fd, int index);

    Handler handler_;
    ServerOptions options_;
    std::shared_ptr<void> tls_ctx_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0}, requests_{0}, open_{0}, max_open_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<int> fds_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

struct SelfSignedCert {
    std::string cert_pem, key_pem;
};
// A fresh P-256 key and self-signed certificate with the given subjectAltName (OpenSSL syntax).
SelfSignedCert make_self_signed_cert(const std::string& subject_alt_name = "DNS:localhost,IP:127.0.0.1");

}  // namespace dspy::testing
