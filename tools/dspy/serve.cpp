#include "serve.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/streaming/streamify.hpp"
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

// One streamed prediction: the dspy loop queues SSE events (under `mu`) and wakes the HTTP thread, which writes
// them out as chunks. The queue decouples the two threads: the program never waits on a slow socket.
struct StreamJob {
    Json inputs;
    std::mutex mu;
    std::deque<std::string> events;  // guarded by mu
    bool finished = false;           // guarded by mu
    unsigned status = 200;           // guarded by mu; not 200: the stream ended with `error`
    std::string error;               // guarded by mu; an error_body
    std::atomic<bool> gone{false};   // the client left (or the deadline passed): the next write cancels the program
    net::steady_timer wake;          // HTTP thread only
    explicit StreamJob(net::any_io_executor ex) : wake(std::move(ex)) {}
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
        make_streamer();  // before the I/O thread starts, which reads it
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
    // Built once: one listener per output field (reasoning included for ChainOfThought). A program whose fields
    // cannot be streamed still serves plain requests; its stream requests get 501 with the reason.
    void make_streamer() {
        auto scope = dspy::context({.lm = program_.lm, .adapter = program_.adapter, .disable_history = true});
        std::vector<StreamListener> listeners;
        for (auto& name : program_.output_names()) listeners.emplace_back(std::move(name));
        try {
            streamer_.emplace(dspy::streamify(*program_.module, {.stream_listeners = std::move(listeners)}));
        } catch (const std::exception& e) {
            stream_error_ = std::string("this program cannot stream: ") + e.what();
        }
    }

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
        } catch (const std::exception& e) {
            job->status = failure_status(e, job->body);
        }
        running_.fetch_sub(1);
        auto ex = job->wake.get_executor();
        net::post(ex, [this, job] {
            job->done = true;
            --in_flight_;  // a slot is free only when the prediction really ended, answered or timed out
            job->wake.cancel();
        });
    }

    // The HTTP status and error body of a failed prediction (the current exception is `e`).
    unsigned failure_status(const std::exception& e, std::string& body) const {
        if (dynamic_cast<const TimeoutError*>(&e) != nullptr) {
            body = error_body("timeout", "the prediction took longer than " + pyfmt::float_repr(opt_.timeout_s) + " s");
            return 504;
        }
        if (dynamic_cast<const ProgramError*>(&e) != nullptr) {
            body = error_body("invalid_request", e.what());
            return 400;
        }
        if (dynamic_cast<const LMError*>(&e) != nullptr) {
            body = error_body("lm_error", e.what());
            return 502;
        }
        body = error_body("prediction_error", e.what());
        return 500;
    }

    // Runs on the dspy loop: the stream, each SSE event queued for the HTTP thread as it is produced.
    Task<void> predict_stream_task(std::shared_ptr<StreamJob> job) {
        auto scope = dspy::context({.lm = program_.lm, .adapter = program_.adapter, .disable_history = true});
        auto ex = job->wake.get_executor();
        std::function<bool(const std::string&)> write = [job, ex](const std::string& event) {
            if (job->gone.load(std::memory_order_acquire)) return false;
            {
                std::lock_guard lock(job->mu);
                job->events.push_back(event);
            }
            net::post(ex, [job] { job->wake.cancel(); });
            return true;
        };
        unsigned status = 200;
        std::string error;
        try {
            auto run = dspy::stream_sse(*streamer_, std::move(job->inputs), std::move(write));
            auto bounded = dspy::with_timeout(std::move(run), std::chrono::duration<double>(opt_.timeout_s));
            co_await std::move(bounded);
        } catch (const std::exception& e) {
            status = failure_status(e, error);
        }
        {
            std::lock_guard lock(job->mu);
            job->finished = true;
            job->status = status;
            job->error = std::move(error);
        }
        running_.fetch_sub(1);
        net::post(ex, [this, job] {
            --in_flight_;
            job->wake.cancel();
        });
    }

    template <typename J, Task<void> (Server::*Run)(std::shared_ptr<J>)>
    static void start_job(void* arg) {
        auto* p = static_cast<std::pair<Server*, std::shared_ptr<J>>*>(arg);
        Server* self = p->first;
        std::shared_ptr<J> job = std::move(p->second);
        delete p;
        dspy::spawn((self->*Run)(std::move(job)));
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
            bool keep = req.keep_alive();
            std::optional<Response> res = co_await handle(req, sock, keep);
            if (!res) {  // streamed: already answered
                if (!keep) break;
                continue;
            }
            if (!co_await send(sock, *res, keep)) break;
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

    // nullopt: the answer was streamed to `sock` (`keep` false when the connection cannot be reused).
    net::awaitable<std::optional<Response>> handle(const Request& req, beast::tcp_stream& sock, bool& keep) {
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
        if (query.find("stream=true") != std::string_view::npos)
            co_return co_await predict_stream(req, sock, std::move(inputs), keep);
        co_return co_await predict_json(req, std::move(inputs));
    }

    static Response method_not_allowed(const char* allow) {
        Response res = json_response(405, error_body("method_not_allowed", std::string("use ") + allow));
        res.set(http::field::allow, allow);
        return res;
    }

    // Admits one prediction (counted in running_ and in_flight_, `loop` set), or the refusal to send.
    std::optional<Response> admit(EventLoop*& loop) {
        // Counted before the stop check (both seq_cst): the loop either sees this request or we see it stopping,
        // so it never ends while a request is about to be posted to it.
        running_.fetch_add(1);
        loop = loop_.load();
        if (stopping_.load() || loop == nullptr) {
            running_.fetch_sub(1);
            Response res = json_response(503, error_body("unavailable", "the server is stopping"));
            res.set(http::field::retry_after, "1");
            return res;
        }
        if (in_flight_ >= opt_.max_in_flight) {
            running_.fetch_sub(1);
            Response res = json_response(429, error_body("overloaded", std::to_string(opt_.max_in_flight) +
                                                                           " predictions are already running "
                                                                           "(--max-in-flight); retry later"));
            res.set(http::field::retry_after, "1");
            return res;
        }
        ++in_flight_;
        return std::nullopt;
    }

    std::string timeout_body() const {
        return error_body("timeout", "the prediction took longer than " + pyfmt::float_repr(opt_.timeout_s) + " s");
    }

    // POST /v1/predict?stream=true: 200 text/event-stream in chunks once the first event exists; a failure before
    // it is a plain JSON error, one after it an SSE error event followed by [DONE].
    net::awaitable<std::optional<Response>> predict_stream(const Request& req, beast::tcp_stream& sock, Json inputs,
                                                           bool& keep) {
        if (!streamer_) {
            Response res = json_response(501, error_body("not_implemented", stream_error_));
            log_failure(req, 501, res.body());
            co_return res;
        }
        EventLoop* loop = nullptr;
        if (auto refused = admit(loop)) co_return refused;
        auto job = std::make_shared<StreamJob>(co_await net::this_coro::executor);
        job->inputs = std::move(inputs);
        job->wake.expires_after(std::chrono::duration_cast<net::steady_timer::duration>(
            std::chrono::duration<double>(opt_.timeout_s) + std::chrono::milliseconds(50)));
        loop->post(&Server::start_job<StreamJob, &Server::predict_stream_task>,
                   new std::pair<Server*, std::shared_ptr<StreamJob>>(this, job));

        http::response<http::empty_body> head{http::status::ok, 11};
        head.set(http::field::server, "dspy-serve");
        head.set(http::field::content_type, "text/event-stream");
        head.set(http::field::cache_control, "no-cache");
        head.keep_alive(keep);
        head.chunked(true);
        http::response_serializer<http::empty_body> serializer{head};
        bool started = false;
        std::deque<std::string> batch;
        for (;;) {
            bool finished = false;
            unsigned status = 200;
            std::string error;
            {
                std::lock_guard lock(job->mu);
                batch.swap(job->events);
                finished = job->finished;
                status = job->status;
                error = std::move(job->error);
            }
            if (finished && status != 200) {
                log_failure(req, status, error);
                if (!started && batch.empty()) co_return json_response(status, std::move(error));
                batch.push_back("data: " + error + "\n\n");
                batch.push_back("data: [DONE]\n\n");
            }
            beast::error_code ec;
            // Wake-ups posted while we were writing hit no pending wait: only an empty check may wait.
            const bool wrote = !batch.empty();
            if (!batch.empty() && !started) {
                sock.expires_after(std::chrono::seconds(30));
                co_await http::async_write_header(sock, serializer, net::redirect_error(net::use_awaitable, ec));
                started = true;
            }
            for (auto it = batch.begin(); !ec && it != batch.end(); ++it) {
                auto chunk = http::make_chunk(net::buffer(*it));
                co_await net::async_write(sock, chunk, net::redirect_error(net::use_awaitable, ec));
            }
            batch.clear();
            if (!ec && finished) {
                auto last = http::make_chunk_last();
                co_await net::async_write(sock, last, net::redirect_error(net::use_awaitable, ec));
            }
            sock.expires_never();
            if (ec) {  // the client left: the program is cancelled at its next event
                job->gone.store(true, std::memory_order_release);
                keep = false;
                co_return std::nullopt;
            }
            if (finished) co_return std::nullopt;
            if (wrote) continue;
            co_await job->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
            if (!ec) {
                // The deadline passed and the program has not noticed its cancellation: answer for it.
                std::lock_guard lock(job->mu);
                if (!job->finished) {
                    job->gone.store(true, std::memory_order_release);
                    job->finished = true;
                    job->status = 504;
                    job->error = timeout_body();
                }
            }
        }
    }

    net::awaitable<Response> predict_json(const Request& req, Json inputs) {
        EventLoop* loop = nullptr;
        if (auto refused = admit(loop)) co_return std::move(*refused);
        auto job = std::make_shared<Job>(co_await net::this_coro::executor);
        job->inputs = std::move(inputs);
        // The deadline is kept here too: an LM call that does not notice its cancellation still gets a 504 on
        // time (its result is dropped when it comes).
        job->wake.expires_after(std::chrono::duration_cast<net::steady_timer::duration>(
            std::chrono::duration<double>(opt_.timeout_s) + std::chrono::milliseconds(50)));
        loop->post(&Server::start_job<Job, &Server::predict>, new std::pair<Server*, std::shared_ptr<Job>>(this, job));
        while (!job->done) {
            beast::error_code ec;
            co_await job->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
            if (!ec && !job->done) {
                Response res = json_response(504, timeout_body());
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
    std::optional<Streamer> streamer_;  // set before the I/O thread starts, then read-only
    std::string stream_error_;
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
