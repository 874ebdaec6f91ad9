#include "serve.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy::cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string error_body(std::string_view type, std::string_view message) {
    Json j = {{"error", {{"type", type}, {"message", message}}}};
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// One prediction handed from the HTTP thread to the dspy loop and back.
struct Job {
    Json inputs;
    unsigned status = 500;
    std::string body;
    bool done = false;  // HTTP thread only
    net::steady_timer wake;
    explicit Job(net::any_io_executor ex) : wake(std::move(ex)) {}
};

class Server {
public:
    Server(LoadedProgram& program, const ServeOptions& opt) : program_(program), opt_(opt), acceptor_(ioc_) {
        program_json_ = program.describe().dump();
    }

    void run() {
        tcp::endpoint ep;
        try {
            ep = tcp::endpoint(net::ip::make_address(opt_.host), static_cast<unsigned short>(opt_.port));
            acceptor_.open(ep.protocol());
            acceptor_.set_option(net::socket_base::reuse_address(true));
            acceptor_.bind(ep);
            acceptor_.listen(net::socket_base::max_listen_connections);
        } catch (const std::exception& e) {
            throw std::runtime_error("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) + ": " + e.what());
        }
        const int port = acceptor_.local_endpoint().port();
        net::co_spawn(ioc_, accept_loop(), net::detached);
        auto guard = net::make_work_guard(ioc_);
        std::thread io([this] { ioc_.run(); });
        struct Join {
            std::thread& t;
            net::io_context& ioc;
            ~Join() {
                ioc.stop();
                if (t.joinable()) t.join();
            }
        } join{io, ioc_};

        auto scope = dspy::context({.lm = program_.lm, .adapter = program_.adapter, .disable_history = true});
        dspy::run(loop_main(opt_.host, port));
        // Stop accepting, let the predictions in flight finish and their answers go out, then stop the I/O.
        net::post(ioc_, [this] {
            beast::error_code ec;
            acceptor_.close(ec);
        });
        guard.reset();
        // Give the last answers a moment to go out; keep-alive sessions idle in a read end with ioc.stop().
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

private:
    Task<void> loop_main(std::string host, int port) {
        loop_.store(EventLoop::current(), std::memory_order_release);
        if (opt_.on_listening) opt_.on_listening(host, port);
        while (opt_.stop == nullptr || !opt_.stop->load(std::memory_order_relaxed))
            co_await dspy::sleep(std::chrono::milliseconds(50));
        stopping_.store(true);
        while (running_.load() > 0) co_await dspy::sleep(std::chrono::milliseconds(10));
        loop_.store(nullptr, std::memory_order_release);
    }

    // Runs on the dspy loop: the prediction, then the answer posted back to the HTTP thread.
    Task<void> predict(std::shared_ptr<Job> job) {
        auto scope = dspy::context({.lm = program_.lm, .adapter = program_.adapter, .disable_history = true});
        try {
            auto call = program_.module->acall(std::move(job->inputs));
            auto bounded = dspy::with_timeout(std::move(call), std::chrono::duration<double>(opt_.timeout_s));
            Prediction p = co_await std::move(bounded);
            job->status = 200;
            job->body = p.data().dump(-1, ' ', false, Json::error_handler_t::replace);
        } catch (const TimeoutError&) {
            job->status = 504;
            job->body = error_body("timeout", "the prediction took longer than " + pyfmt::float_repr(opt_.timeout_s) + " s");
        } catch (const ProgramError& e) {
            job->status = 400;
            job->body = error_body("invalid_request", e.what());
        } catch (const LMError& e) {
            job->status = 502;
            job->body = error_body("lm_error", e.what());
        } catch (const std::exception& e) {
            job->status = 500;
            job->body = error_body("prediction_error", e.what());
        }
        running_.fetch_sub(1);
        auto ex = job->wake.get_executor();
        net::post(ex, [this, job] {
            job->done = true;
            --in_flight_;  // a slot is free only when the prediction really ended, answered or timed out
            job->wake.cancel();
        });
    }

    static void start_job(void* arg) {
        auto* p = static_cast<std::pair<Server*, std::shared_ptr<Job>>*>(arg);
        Server* self = p->first;
        std::shared_ptr<Job> job = std::move(p->second);
        delete p;
        dspy::spawn(self->predict(std::move(job)));
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            beast::error_code ec;
            tcp::socket sock = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                if (!acceptor_.is_open()) co_return;
                continue;
            }
            net::co_spawn(ioc_, session(std::move(sock)), net::detached);
        }
    }

    net::awaitable<void> session(tcp::socket socket) {
        beast::tcp_stream sock(std::move(socket));
        beast::flat_buffer buffer;
        const auto read_limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(opt_.read_timeout_s));
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(opt_.max_body_bytes);
            beast::error_code ec;
            // A client that is idle or sends its request too slowly loses the connection (no slowloris).
            sock.expires_after(read_limit);
            co_await http::async_read(sock, buffer, parser, net::redirect_error(net::use_awaitable, ec));
            sock.expires_never();
            if (ec == http::error::body_limit) {
                Response res = json_response(413, error_body("too_large", "the request body is larger than " +
                                                                               std::to_string(opt_.max_body_bytes) +
                                                                               " bytes (--max-body-bytes)"));
                co_await send(sock, res, false);
                break;
            }
            if (ec) {
                if (ec != http::error::end_of_stream && ec != net::error::eof && ec != net::error::connection_reset &&
                    ec != net::error::operation_aborted && ec != beast::error::timeout) {
                    Response res = json_response(400, error_body("bad_request", "malformed HTTP request: " + ec.message()));
                    co_await send(sock, res, false);
                }
                break;
            }
            Request req = parser.release();
            const bool keep = req.keep_alive();
            Response res = co_await handle(req);
            if (!co_await send(sock, res, keep)) break;
        }
        beast::error_code ec;
        sock.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    net::awaitable<bool> send(beast::tcp_stream& sock, Response& res, bool keep) {
        res.keep_alive(keep);
        res.prepare_payload();
        beast::error_code ec;
        sock.expires_after(std::chrono::seconds(30));  // a client that stops reading does not hold us forever
        co_await http::async_write(sock, res, net::redirect_error(net::use_awaitable, ec));
        sock.expires_never();
        co_return !ec && keep;
    }

    static Response json_response(unsigned status, std::string body) {
        Response res{static_cast<http::status>(status), 11};
        res.set(http::field::server, "dspy-serve");
        res.set(http::field::content_type, "application/json");
        res.body() = std::move(body);
        return res;
    }

    void log_failure(const Request& req, unsigned status, const std::string& body) const {
        if (opt_.log == nullptr) return;
        std::string line = "serve: " + std::string(req.method_string()) + " " + std::string(req.target()) + " -> " +
                           std::to_string(status) + " " + body.substr(0, 300) + "\n";
        std::fwrite(line.data(), 1, line.size(), opt_.log);
    }

    net::awaitable<Response> handle(const Request& req) {
        std::string_view target = req.target();
        std::string_view path = target.substr(0, target.find('?'));
        std::string_view query = target.find('?') == std::string_view::npos ? std::string_view{}
                                                                             : target.substr(target.find('?') + 1);
        if (path == "/healthz") {
            if (req.method() != http::verb::get) co_return method_not_allowed("GET");
            Json j = {{"status", stopping_.load() ? "stopping" : "ok"}, {"in_flight", in_flight_}};
            co_return json_response(200, j.dump());
        }
        if (path != "/v1/predict" && path != "/v1/program")
            co_return json_response(404, error_body("not_found", "no route " + std::string(path) +
                                                                     "; try POST /v1/predict, GET /v1/program, GET /healthz"));
        if (opt_.token) {
            auto auth = req.find(http::field::authorization);
            if (auth == req.end() || auth->value() != "Bearer " + *opt_.token) {
                Response res = json_response(401, error_body("unauthorized", "missing or wrong bearer token"));
                res.set(http::field::www_authenticate, "Bearer");
                co_return res;
            }
        }
        if (path == "/v1/program") {
            if (req.method() != http::verb::get) co_return method_not_allowed("GET");
            co_return json_response(200, program_json_);
        }
        if (req.method() != http::verb::post) co_return method_not_allowed("POST");
        Json body;
        try {
            body = Json::parse(req.body());
        } catch (const Json::parse_error& e) {
            Response res = json_response(400, error_body("invalid_json", std::string("the body is not valid JSON: ") + e.what()));
            log_failure(req, 400, res.body());
            co_return res;
        }
        Json inputs;
        try {
            inputs = program_.select_inputs(body);
        } catch (const std::exception& e) {
            Response res = json_response(400, error_body("invalid_request", e.what()));
            log_failure(req, 400, res.body());
            co_return res;
        }
        if (query.find("stream=true") != std::string_view::npos) co_return co_await predict_stream(std::move(inputs));
        co_return co_await predict_json(req, std::move(inputs));
    }

    static Response method_not_allowed(const char* allow) {
        Response res = json_response(405, error_body("method_not_allowed", std::string("use ") + allow));
        res.set(http::field::allow, allow);
        return res;
    }

    // The streaming twin (SSE of the prediction's chunks) goes here once dspy::streamify exists.
    net::awaitable<Response> predict_stream(Json) {
        co_return json_response(501, error_body("not_implemented", "streaming (?stream=true) is not available yet"));
    }

    net::awaitable<Response> predict_json(const Request& req, Json inputs) {
        // Counted before the stop check (both seq_cst): the loop either sees this request or we see it stopping,
        // so it never ends while a request is about to be posted to it.
        running_.fetch_add(1);
        EventLoop* loop = loop_.load();
        if (stopping_.load() || loop == nullptr) {
            running_.fetch_sub(1);
            Response res = json_response(503, error_body("unavailable", "the server is stopping"));
            res.set(http::field::retry_after, "1");
            co_return res;
        }
        if (in_flight_ >= opt_.max_in_flight) {
            running_.fetch_sub(1);
            Response res = json_response(429, error_body("overloaded", std::to_string(opt_.max_in_flight) +
                                                                           " predictions are already running "
                                                                           "(--max-in-flight); retry later"));
            res.set(http::field::retry_after, "1");
            co_return res;
        }
        ++in_flight_;
        auto job = std::make_shared<Job>(co_await net::this_coro::executor);
        job->inputs = std::move(inputs);
        // The deadline is kept here too: an LM call that does not notice its cancellation still gets a 504 on
        // time (its result is dropped when it comes).
        job->wake.expires_after(std::chrono::duration_cast<net::steady_timer::duration>(
            std::chrono::duration<double>(opt_.timeout_s) + std::chrono::milliseconds(50)));
        loop->post(&Server::start_job, new std::pair<Server*, std::shared_ptr<Job>>(this, job));
        while (!job->done) {
            beast::error_code ec;
            co_await job->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
            if (!ec && !job->done) {
                Response res = json_response(504, error_body("timeout", "the prediction took longer than " +
                                                                            pyfmt::float_repr(opt_.timeout_s) + " s"));
                log_failure(req, 504, res.body());
                co_return res;
            }
        }
        if (job->status != 200) log_failure(req, job->status, job->body);
        co_return json_response(job->status, std::move(job->body));
    }

    LoadedProgram& program_;
    const ServeOptions& opt_;
    net::io_context ioc_{1};
    tcp::acceptor acceptor_;
    std::string program_json_;
    std::atomic<EventLoop*> loop_{nullptr};
    std::atomic<bool> stopping_{false};
    std::atomic<int> running_{0};  // predictions started and not finished (both threads)
    int in_flight_ = 0;            // HTTP thread only
};

}  // namespace

void serve(LoadedProgram& program, const ServeOptions& options) {
    Server server(program, options);
    server.run();
}

}  // namespace dspy::cli
