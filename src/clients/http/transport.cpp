// The one TU that instantiates Beast's client operations (plain and TLS). Everything runs on the client's own
// io_context; each origin pool owns a strand, and every object of that pool (connections, timers, queued
// requests) is touched only from that strand, so no locks are needed on the hot path.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <condition_variable>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "clients/http/transport.hpp"

namespace dspy::http {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Executor = asio::strand<asio::io_context::executor_type>;
using Stream = beast::basic_stream<tcp, Executor>;
using TlsStream = beast::ssl_stream<Stream>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                         Executor>;
using Message = bhttp::request<bhttp::string_body>;
using Parser = bhttp::response_parser<bhttp::string_body>;

constexpr std::uint64_t kMaxBody = 256ull << 20;  // a whole (non-streamed) LM reply never comes near this
constexpr std::uint32_t kMaxHeader = 64u << 10;

struct Connection;

struct Op {
    explicit Op(const Executor& ex) : deadline_timer(ex) {}
    Url url;
    Message msg;
    RequestOptions opts;
    bool streaming = false;
    HttpClient::Done done;
    HttpClient::OnHeaders on_headers;
    HttpClient::OnChunk on_chunk;
    HttpClient::StreamDone stream_done;
    Timer deadline_timer;
    bool started = false;
    bool finished = false;
    bool headers_delivered = false;
    bool stale_retry_used = false;
    std::shared_ptr<Connection> conn;

    [[nodiscard]] std::string what() const {
        return std::string(msg.method_string()) + " " + (url.tls ? "https://" : "http://") + url.host_header +
               url.target;
    }
};
using OpPtr = std::shared_ptr<Op>;

enum class Phase { connecting, writing, reading };

struct Pool;

struct Connection {
    Connection(const Executor& ex, ssl::context* tls_ctx) : resolver(ex) {
        if (tls_ctx)
            tls.emplace(ex, *tls_ctx);
        else
            plain.emplace(ex);
    }
    Stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    Resolver resolver;
    std::optional<Stream> plain;
    std::optional<TlsStream> tls;
    beast::flat_buffer buffer;  // reused across the responses of this connection
    std::optional<Parser> parser;
    OpPtr op;
    Phase phase = Phase::connecting;
    bool reused = false;
    bool closed = false;
    std::chrono::steady_clock::time_point idle_since;
};
using ConnPtr = std::shared_ptr<Connection>;

std::exception_ptr cancelled_error(const Op& op, const char* why) {
    return std::make_exception_ptr(HttpCancelledError("HTTP request cancelled (" + std::string(why) + "): " +
                                                      op.what()));
}

Headers to_headers(const bhttp::fields& fields) {
    Headers out;
    out.reserve(8);
    for (const auto& f : fields) out.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return out;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

struct Pool : std::enable_shared_from_this<Pool> {
    Pool(asio::io_context& ioc, Url origin_, std::shared_ptr<ssl::context> ctx, const HttpClientOptions& o,
         std::atomic<std::uint64_t>& opened_)
        : strand(asio::make_strand(ioc)),
          origin(std::move(origin_)),
          tls_ctx(std::move(ctx)),
          max_conns(static_cast<size_t>(o.max_connections_per_origin > 0 ? o.max_connections_per_origin : 1)),
          idle_timeout(o.pool_idle_timeout),
          opened(opened_),
          ip_literal(is_ip_literal(origin.host)) {}

    Executor strand;
    Url origin;
    std::shared_ptr<ssl::context> tls_ctx;
    size_t max_conns;
    std::chrono::milliseconds idle_timeout;
    std::atomic<std::uint64_t>& opened;
    bool ip_literal;
    std::vector<ConnPtr> conns;  // every open connection, busy or idle
    std::vector<ConnPtr> idle;   // most recently used last
    std::deque<OpPtr> queue;     // requests waiting for a connection
    bool shut_down = false;

    // ---- entry points (on the strand) ------------------------------------------------------------------------
    void submit(const OpPtr& op) {
        if (op->finished) return;
        if (shut_down) return finish(op, cancelled_error(*op, "client shut down"));
        if (!op->started) {
            op->started = true;
            if (op->opts.deadline) {
                op->deadline_timer.expires_after(*op->opts.deadline);
                op->deadline_timer.async_wait([self = shared_from_this(), op](error_code ec) {
                    if (ec || op->finished) return;
                    // A named value: the temporary exception must be gone before callbacks run on other threads.
                    std::exception_ptr error = std::make_exception_ptr(
                        LMTimeoutError("HTTP request deadline of " + std::to_string(op->opts.deadline->count()) +
                                       " ms exceeded: " + op->what()));
                    self->finish(op, std::move(error));
                });
            }
        }
        const auto now = std::chrono::steady_clock::now();
        while (!idle.empty()) {
            ConnPtr c = std::move(idle.back());
            idle.pop_back();
            if (now - c->idle_since > idle_timeout) {
                close(c);
                continue;
            }
            attach(c, op, true);
            return write(c, op);
        }
        if (conns.size() < max_conns) return start_new(op);
        queue.push_back(op);
    }

    void shutdown() {
        shut_down = true;
        while (!queue.empty()) {
            OpPtr op = std::move(queue.front());
            queue.pop_front();
            finish(op, cancelled_error(*op, "client shut down"));
        }
        for (ConnPtr c : std::vector<ConnPtr>(conns)) {
            if (OpPtr op = c->op)  // a copy: finish() detaches it from the connection
                finish(op, cancelled_error(*op, "client shut down"));
            else
                close(c);
        }
    }

    // Completes `op` exactly once; an attached connection is closed, since its state is unknown.
    void finish(const OpPtr& op, std::exception_ptr error, HttpResponse response = {}) {
        if (op->finished) return;
        op->finished = true;
        op->deadline_timer.cancel();
        if (ConnPtr c = op->conn) {
            close(c);
            pump();
        }
        try {
            if (op->streaming) {
                auto cb = std::move(op->stream_done);
                op->on_headers = nullptr;
                op->on_chunk = nullptr;
                if (cb) cb(std::move(error));
            } else {
                auto cb = std::move(op->done);
                if (cb) cb(std::move(error), std::move(response));
            }
        } catch (...) {
            // Callbacks must not throw (see transport.hpp); an escaping exception must not kill the I/O thread.
        }
    }

    // ---- connection management -------------------------------------------------------------------------------
    static void attach(const ConnPtr& c, const OpPtr& op, bool reused) {
        c->op = op;
        op->conn = c;
        c->reused = reused;
    }

    void start_new(const OpPtr& op) {
        auto c = std::make_shared<Connection>(strand, tls_ctx.get());
        conns.push_back(c);
        opened.fetch_add(1, std::memory_order_relaxed);
        attach(c, op, false);
        connect(c, op);
    }

    void close(const ConnPtr& c) {
        if (c->closed) return;
        c->closed = true;
        c->resolver.cancel();
        c->lowest().close();
        for (auto* list : {&conns, &idle}) {
            for (size_t i = 0; i < list->size(); ++i)
                if ((*list)[i] == c) {
                    (*list)[i] = std::move(list->back());
                    list->pop_back();
                    break;
                }
        }
        if (c->op) {
            c->op->conn.reset();
            c->op.reset();
        }
    }

    // Starts queued requests on new connections while the origin has room.
    void pump() {
        while (!queue.empty() && conns.size() < max_conns && !shut_down) {
            OpPtr op = std::move(queue.front());
            queue.pop_front();
            if (!op->finished) start_new(op);
        }
    }

    // A complete response left the connection reusable: serve the next queued request or park it.
    void release(const ConnPtr& c) {
        c->op->conn.reset();
        c->op.reset();
        if (c->buffer.size() != 0 || shut_down) {  // unsolicited bytes: the stream is out of step
            close(c);
            return pump();
        }
        while (!queue.empty()) {
            OpPtr next = std::move(queue.front());
            queue.pop_front();
            if (next->finished) continue;
            attach(c, next, true);
            return write(c, next);
        }
        c->idle_since = std::chrono::steady_clock::now();
        idle.push_back(c);
    }

    // True when the handler's request has ended meanwhile (cancel, deadline, shutdown): nothing more to do.
    static bool abandoned(const ConnPtr& c, const OpPtr& op) { return c->closed || c->op != op || op->finished; }

    void fail(const ConnPtr& c, const OpPtr& op, const error_code& ec) {
        std::exception_ptr error = classify(*c, *op, ec);
        close(c);
        pump();
        finish(op, std::move(error));
    }

    // A pooled connection the server had already closed: try once more on a fresh one.
    void retry_fresh(const ConnPtr& c, const OpPtr& op) {
        op->stale_retry_used = true;
        close(c);
        start_new(op);
    }

    std::exception_ptr classify(Connection& c, const Op& op, const error_code& ec) const {
        const std::string where = origin.host_header;
        if (ec == beast::error::timeout) {
            if (c.phase == Phase::connecting)
                return std::make_exception_ptr(
                    LMTimeoutError("HTTP connect timeout: no connection to " + where + " within " +
                                   std::to_string(op.opts.connect_timeout.count()) + " ms (" + op.what() + ")"));
            return std::make_exception_ptr(LMTimeoutError("HTTP read timeout: " + where + " sent nothing for " +
                                                          std::to_string(op.opts.read_timeout.count()) + " ms (" +
                                                          op.what() + ")"));
        }
        if (c.tls && c.phase == Phase::connecting) {
            const long verify = SSL_get_verify_result(c.tls->native_handle());
            if (verify != X509_V_OK)
                return std::make_exception_ptr(LMTransportError(
                    "TLS certificate verification failed for " + where + ": " +
                        X509_verify_cert_error_string(verify) +
                        " (trust the server's CA with RequestOptions::ca_file, or fix the server's certificate)",
                    false));
        }
        std::string what;
        if (ec == asio::error::connection_refused)
            what = "connection refused by " + where;
        else if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
            what = "could not resolve host '" + origin.host + "'";
        else if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == bhttp::error::partial_message)
            what = "connection closed by " + where + " before a complete response";
        else if (ec.category() == error_code(bhttp::error::end_of_stream).category())
            what = "malformed HTTP response from " + where + ": " + ec.message();
        else {
            const char* phase = c.phase == Phase::connecting ? "connecting to "
                                : c.phase == Phase::writing  ? "sending the request to "
                                                             : "reading the response from ";
            what = std::string("network error while ") + phase + where + ": " + ec.message();
        }
        return std::make_exception_ptr(LMTransportError("HTTP transport error: " + what + " (" + op.what() + ")"));
    }

    // ---- the exchange ----------------------------------------------------------------------------------------
    void connect(const ConnPtr& c, const OpPtr& op) {
        c->phase = Phase::connecting;
        c->lowest().expires_after(op->opts.connect_timeout);
        if (ip_literal) {
            const tcp::endpoint ep(asio::ip::make_address(origin.host), origin.port);
            c->lowest().async_connect(ep, [self = shared_from_this(), c, op](error_code ec) {
                self->on_connected(c, op, ec);
            });
            return;
        }
        c->resolver.async_resolve(
            origin.host, std::to_string(origin.port),
            [self = shared_from_this(), c, op](error_code ec, const Resolver::results_type& results) {
                if (abandoned(c, op)) return;
                if (ec) return self->fail(c, op, ec);
                c->lowest().async_connect(results, [self, c, op](error_code ec2, const tcp::endpoint&) {
                    self->on_connected(c, op, ec2);
                });
            });
    }

    void on_connected(const ConnPtr& c, const OpPtr& op, error_code ec) {
        if (abandoned(c, op)) return;
        if (ec) return fail(c, op, ec);
        c->lowest().socket().set_option(tcp::no_delay(true), ec);
        if (!c->tls) return write(c, op);
        SSL* ssl_handle = c->tls->native_handle();
        if (!ip_literal) SSL_set_tlsext_host_name(ssl_handle, origin.host.c_str());  // SNI
        if (op->opts.verify_tls) c->tls->set_verify_callback(ssl::host_name_verification(origin.host));
        c->tls->async_handshake(ssl::stream_base::client, [self = shared_from_this(), c, op](error_code ec2) {
            if (abandoned(c, op)) return;
            if (ec2) return self->fail(c, op, ec2);
            self->write(c, op);
        });
    }

    static bool stale_error(const error_code& ec) {
        return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
               ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
    }

    void write(const ConnPtr& c, const OpPtr& op) {
        c->phase = Phase::writing;
        c->lowest().expires_after(op->opts.read_timeout);
        auto handler = [self = shared_from_this(), c, op](error_code ec, std::size_t) {
            if (abandoned(c, op)) return;
            if (ec) {
                if (c->reused && !op->stale_retry_used && stale_error(ec)) return self->retry_fresh(c, op);
                return self->fail(c, op, ec);
            }
            self->start_read(c, op);
        };
        if (c->tls)
            bhttp::async_write(*c->tls, op->msg, std::move(handler));
        else
            bhttp::async_write(*c->plain, op->msg, std::move(handler));
    }

    void start_read(const ConnPtr& c, const OpPtr& op) {
        c->phase = Phase::reading;
        c->parser.emplace();
        c->parser->header_limit(kMaxHeader);
        if (op->streaming)
            c->parser->body_limit(boost::none);
        else
            c->parser->body_limit(kMaxBody);
        if (op->msg.method() == bhttp::verb::head) c->parser->skip(true);
        read_some(c, op);
    }

    void read_some(const ConnPtr& c, const OpPtr& op) {
        c->lowest().expires_after(op->opts.read_timeout);
        auto handler = [self = shared_from_this(), c, op](error_code ec, std::size_t) { self->on_read(c, op, ec); };
        if (c->tls)
            bhttp::async_read_some(*c->tls, c->buffer, *c->parser, std::move(handler));
        else
            bhttp::async_read_some(*c->plain, c->buffer, *c->parser, std::move(handler));
    }

    void on_read(const ConnPtr& c, const OpPtr& op, const error_code& ec) {
        if (abandoned(c, op)) return;
        Parser& parser = *c->parser;
        if (ec) {
            if (c->reused && !op->stale_retry_used && !parser.got_some() && stale_error(ec))
                return retry_fresh(c, op);
            return fail(c, op, ec);
        }
        if (op->streaming && !deliver_stream(c, op)) return;
        if (!parser.is_done()) return read_some(c, op);

        HttpResponse response;
        if (!op->streaming) {
            auto& msg = parser.get();
            response.status = static_cast<int>(msg.result_int());
            response.headers = to_headers(msg.base());
            response.body = std::move(msg.body());
        }
        if (parser.keep_alive())
            release(c);
        else {
            close(c);
            pump();
        }
        finish(op, nullptr, std::move(response));
    }

    // Hands headers and new body bytes to the stream callbacks; false when the request ended.
    bool deliver_stream(const ConnPtr& c, const OpPtr& op) {
        Parser& parser = *c->parser;
        try {
            if (!op->headers_delivered && parser.is_header_done()) {
                op->headers_delivered = true;
                const auto& msg = parser.get();
                if (op->on_headers &&
                    !op->on_headers(static_cast<int>(msg.result_int()), to_headers(msg.base()))) {
                    finish(op, nullptr);
                    return false;
                }
            }
            std::string& body = parser.get().body();
            if (!body.empty()) {
                const bool go_on = !op->on_chunk || op->on_chunk(std::string_view(body));
                body.clear();  // the string_body reader appends at size(), so clearing keeps memory flat
                if (!go_on) {
                    finish(op, nullptr);
                    return false;
                }
            }
        } catch (...) {
            finish(op, std::current_exception());
            return false;
        }
        return true;
    }
};

struct CancelImpl final : CancelHandle {
    std::weak_ptr<Op> op;
    std::weak_ptr<Pool> pool;
    void cancel() noexcept override {
        auto p = pool.lock();
        auto o = op.lock();
        if (!p || !o) return;
        try {
            asio::post(p->strand, [p, o] { p->finish(o, cancelled_error(*o, "cancel() called")); });
        } catch (...) {  // allocation failure: nothing sensible to do in a noexcept cancel
        }
    }
};

std::shared_ptr<ssl::context> make_tls_context(const RequestOptions& opts) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    if (!opts.verify_tls) {
        ctx->set_verify_mode(ssl::verify_none);
        return ctx;
    }
    error_code ec;
    if (opts.ca_file) {
        ctx->load_verify_file(*opts.ca_file, ec);
        if (ec)
            throw ValueError("RequestOptions::ca_file: cannot load CA certificates from '" + *opts.ca_file +
                             "': " + ec.message());
    } else {
        ctx->set_default_verify_paths(ec);
        if (ec) throw LMTransportError("cannot load the system CA certificates: " + ec.message(), false);
    }
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
}

bhttp::verb to_verb(std::string_view method) { return bhttp::string_to_verb(method); }
}  // namespace

struct HttpClient::Impl {
    explicit Impl(HttpClientOptions o)
        : options(std::move(o)),
          ioc(options.io_threads > 0 ? options.io_threads : 1),
          work(asio::make_work_guard(ioc)) {}

    HttpClientOptions options;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::vector<std::thread> threads;
    std::vector<std::thread::id> thread_ids;
    std::mutex mutex;  // guards pools
    std::unordered_map<std::string, std::shared_ptr<Pool>> pools;
    std::atomic<std::uint64_t> opened{0};

    std::shared_ptr<Pool> pool_for(const Url& url, const RequestOptions& opts) {
        std::string key;
        key.reserve(url.host.size() + 32);
        key += url.tls ? "https|" : "http|";
        key += url.host;
        key += '|';
        key += std::to_string(url.port);
        if (url.tls) {
            key += opts.verify_tls ? "|verify|" : "|noverify|";
            if (opts.verify_tls && opts.ca_file) key += *opts.ca_file;
        }
        std::lock_guard lock(mutex);
        auto it = pools.find(key);
        if (it != pools.end()) return it->second;
        std::shared_ptr<ssl::context> ctx = url.tls ? make_tls_context(opts) : nullptr;
        auto pool = std::make_shared<Pool>(ioc, url, std::move(ctx), options, opened);
        pools.emplace(std::move(key), pool);
        return pool;
    }

    bool on_io_thread() const {
        const auto me = std::this_thread::get_id();
        for (const auto& id : thread_ids)
            if (id == me) return true;
        return false;
    }

    std::shared_ptr<CancelHandle> submit(HttpRequest&& request, RequestOptions&& opts, const std::shared_ptr<Pool>& pool,
                                         const OpPtr& op, Url&& url) {
        op->url = std::move(url);
        op->opts = std::move(opts);
        const bhttp::verb verb = to_verb(request.method);
        if (verb == bhttp::verb::unknown)
            op->msg.method_string(request.method);
        else
            op->msg.method(verb);
        op->msg.target(op->url.target);
        op->msg.version(11);
        bool has_host = false, has_agent = false;
        for (auto& [name, value] : request.headers) {
            if (beast::iequals(name, "host")) has_host = true;
            if (beast::iequals(name, "user-agent")) has_agent = true;
            op->msg.insert(name, value);
        }
        if (!has_host) op->msg.set(bhttp::field::host, op->url.host_header);
        if (!has_agent && !options.user_agent.empty()) op->msg.set(bhttp::field::user_agent, options.user_agent);
        op->msg.body() = std::move(request.body);
        op->msg.prepare_payload();
        auto handle = std::make_shared<CancelImpl>();
        handle->op = op;
        handle->pool = pool;
        asio::post(pool->strand, [pool, op] { pool->submit(op); });
        return handle;
    }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
    const int n = impl_->options.io_threads > 0 ? impl_->options.io_threads : 1;
    for (int i = 0; i < n; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
    for (const auto& t : impl_->threads) impl_->thread_ids.push_back(t.get_id());
}

HttpClient::~HttpClient() {
    std::vector<std::shared_ptr<Pool>> pools;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [key, pool] : impl_->pools) pools.push_back(pool);
    }
    if (!impl_->on_io_thread()) {
        std::vector<std::future<void>> waits;
        for (auto& pool : pools) {
            auto done = std::make_shared<std::promise<void>>();
            waits.push_back(done->get_future());
            asio::post(pool->strand, [pool, done] {
                pool->shutdown();
                done->set_value();
            });
        }
        for (auto& w : waits) w.wait();
    }
    impl_->work.reset();
    impl_->ioc.stop();
    for (auto& t : impl_->threads) {
        if (t.get_id() == std::this_thread::get_id())
            t.detach();  // destroyed from one of its own callbacks: the thread ends once the callback returns
        else
            t.join();
    }
}

std::shared_ptr<CancelHandle> HttpClient::async_request(HttpRequest request, RequestOptions options, Done done) {
    Url url = parse_url(request.url);
    auto pool = impl_->pool_for(url, options);
    auto op = std::make_shared<Op>(pool->strand);
    op->done = std::move(done);
    return impl_->submit(std::move(request), std::move(options), pool, op, std::move(url));
}

std::shared_ptr<CancelHandle> HttpClient::async_stream(HttpRequest request, RequestOptions options,
                                                       OnHeaders on_headers, OnChunk on_chunk, StreamDone done) {
    Url url = parse_url(request.url);
    auto pool = impl_->pool_for(url, options);
    auto op = std::make_shared<Op>(pool->strand);
    op->streaming = true;
    op->on_headers = std::move(on_headers);
    op->on_chunk = std::move(on_chunk);
    op->stream_done = std::move(done);
    return impl_->submit(std::move(request), std::move(options), pool, op, std::move(url));
}

HttpResponse HttpClient::request(HttpRequest request, RequestOptions options) {
    if (impl_->on_io_thread())
        throw ValueError("HttpClient::request() called on an HTTP I/O thread, where it would deadlock; use "
                         "async_request() there");
    // Not std::promise: its set_exception copies the exception_ptr, so the I/O thread could drop the last
    // reference after this thread has rethrown it. The error is moved in under the lock instead, so the
    // exception object is only ever released here.
    struct Slot {
        std::mutex mutex;
        std::condition_variable ready_cv;
        bool ready = false;
        std::exception_ptr error;
        HttpResponse response;
    } slot;
    async_request(std::move(request), std::move(options), [&slot](std::exception_ptr error, HttpResponse r) {
        std::lock_guard lock(slot.mutex);
        slot.error = std::move(error);
        slot.response = std::move(r);
        slot.ready = true;
        slot.ready_cv.notify_one();
    });
    std::unique_lock lock(slot.mutex);
    slot.ready_cv.wait(lock, [&] { return slot.ready; });
    if (slot.error) std::rethrow_exception(std::exchange(slot.error, nullptr));
    return std::move(slot.response);
}

std::chrono::nanoseconds HttpClient::io_cpu_time() const {
    std::chrono::nanoseconds total{0};
    for (auto& t : impl_->threads) {
        clockid_t cid;
        timespec ts{};
        if (pthread_getcpuclockid(const_cast<std::thread&>(t).native_handle(), &cid) == 0 &&
            clock_gettime(cid, &ts) == 0)
            total += std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }
    return total;
}

std::uint64_t HttpClient::connections_opened() const noexcept {
    return impl_->opened.load(std::memory_order_relaxed);
}

}  // namespace dspy::http
