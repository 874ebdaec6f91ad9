#pragma once
/// @file
/// The HTTP transport under the LM client: a small, Boost-free interface. Asio and Beast live only in
/// transport.cpp, so every other TU that includes this header compiles in a couple of seconds.
///
/// Threading contract: every completion callback (done, on_headers, on_chunk) runs on one of the client's I/O
/// threads. Callbacks must return quickly and must not block (no waiting on another request, no user code, no
/// disk I/O): hand the result off to another executor, as the LM layer does by posting the completion back to the
/// loop that awaits it. Callbacks should not throw; if one does, the request is ended and the exception dropped
/// (done) or delivered to done (on_headers, on_chunk).

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dspy/utils/exceptions.hpp"

namespace dspy::http {

/// Header list in wire order; names keep the case they were given or received with.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive lookup of the first header named `name`; nullptr when absent.
const std::string* find_header(const Headers& headers, std::string_view name) noexcept;

/// One HTTP request. `url` is absolute: http://host[:port]/path?query or https://...
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    Headers headers;
    std::string body;
};

/// A complete HTTP response. Non-2xx statuses are responses, not errors: map them with map_http_error().
struct HttpResponse {
    int status = 0;
    Headers headers;
    std::string body;
    /// Case-insensitive header lookup; nullptr when absent.
    [[nodiscard]] const std::string* header(std::string_view name) const noexcept {
        return find_header(headers, name);
    }
};

/// Per-request limits and TLS settings. Expired timeouts complete the request with dspy::LMTimeoutError.
struct RequestOptions {
    /// DNS + TCP connect + TLS handshake of a new connection.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Longest silence between two reads (or writes) once connected; litellm's default request timeout is 600 s.
    std::chrono::milliseconds read_timeout{600'000};
    /// Overall limit from the call to the last body byte, queueing for a pooled connection included.
    std::optional<std::chrono::milliseconds> deadline;
    /// Verify the server certificate chain and host name (https only).
    bool verify_tls = true;
    /// PEM file of trusted CAs used instead of the system store (https only).
    std::optional<std::string> ca_file;
};

/// Client-wide settings.
struct HttpClientOptions {
    /// Threads running the client's own io_context.
    int io_threads = 1;
    /// Connections per origin (scheme, host, port, TLS settings); further requests queue for a free one.
    int max_connections_per_origin = 64;
    /// A pooled connection idle for longer than this is closed instead of reused (servers drop idle ones too).
    std::chrono::milliseconds pool_idle_timeout{50'000};
    /// Sent unless the request sets its own User-Agent.
    std::string user_agent = "dspy-cpp";
};

/// The request was cancelled through its CancelHandle or because the client shut down; never retried.
class HttpCancelledError : public LMError {
public:
    using LMError::LMError;
};

/// Handle returned by the async calls; cancel() closes the connection and completes the request with
/// HttpCancelledError, unless it has already completed (then it does nothing). Thread-safe, idempotent.
class CancelHandle {
public:
    virtual ~CancelHandle() = default;
    virtual void cancel() noexcept = 0;
};

/// The parts of an absolute http(s) URL.
struct Url {
    bool tls = false;        ///< https
    std::string host;        ///< without brackets for IPv6 literals
    std::uint16_t port = 0;  ///< explicit or the scheme's default
    std::string target;      ///< path and query, at least "/"
    std::string host_header; ///< host[:port] as sent in Host (port only when not the default)
};

/// Parses an absolute http:// or https:// URL; throws dspy::ValueError naming the URL when it is not one.
Url parse_url(std::string_view url);

/// Asynchronous HTTP/1.1 client over Boost.Beast with a keep-alive connection pool per origin and TLS.
class HttpClient {
public:
    using Done = std::function<void(std::exception_ptr, HttpResponse)>;
    /// Called once with the status line and headers; return false to stop (done then gets no error).
    using OnHeaders = std::function<bool(int status, const Headers& headers)>;
    /// Called with each piece of the (de-chunked) body as it arrives; return false to stop.
    using OnChunk = std::function<bool(std::string_view body_bytes)>;
    using StreamDone = std::function<void(std::exception_ptr)>;

    explicit HttpClient(HttpClientOptions options = {});
    /// Completes every pending request with HttpCancelledError, closes all connections and joins the I/O threads.
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Sends `request` and calls `done` once, on an I/O thread, with the whole response or the error
    /// (LMTimeoutError, LMTransportError, HttpCancelledError). A bad URL or ca_file throws ValueError here.
    std::shared_ptr<CancelHandle> async_request(HttpRequest request, RequestOptions options, Done done);

    /// Like async_request but delivers the body incrementally (for SSE); `done` is called exactly once.
    std::shared_ptr<CancelHandle> async_stream(HttpRequest request, RequestOptions options, OnHeaders on_headers,
                                               OnChunk on_chunk, StreamDone done);

    /// Blocking convenience for callers that are not on an I/O thread (calling it from one is a ValueError).
    HttpResponse request(HttpRequest request, RequestOptions options = {});

    /// CPU time consumed so far by the client's I/O threads (for measurements).
    [[nodiscard]] std::chrono::nanoseconds io_cpu_time() const;
    /// Connections opened so far (for measurements and tests).
    [[nodiscard]] std::uint64_t connections_opened() const noexcept;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace dspy::http
