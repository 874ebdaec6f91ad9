// dspy-mock-lm: the HTTP side. One io_context per thread; the acceptor deals connections out round-robin, so a
// connection lives on one thread and needs no strand. Every wait is an async timer, never a blocked thread.
#include "server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

namespace mocklm {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct Stats {
  std::atomic<uint64_t> requests{0};     // every HTTP request, admin ones included
  std::atomic<uint64_t> lm_requests{0};  // chat completions + messages
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> stalled{0};
  std::atomic<uint64_t> streamed{0};
  std::atomic<uint64_t> malformed{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> max_in_flight{0};
  std::array<std::atomic<uint64_t>, 600> by_status{};

  void reset() {
    requests = 0;
    lm_requests = 0;
    connections = 0;
    dropped = 0;
    stalled = 0;
    streamed = 0;
    malformed = 0;
    max_in_flight = in_flight.load();
    for (auto& s : by_status) s = 0;
  }
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

enum class Api { OpenAI, Anthropic };

size_t approx_tokens(size_t chars) { return chars == 0 ? 0 : (chars + 3) / 4; }

// Appends text of a message "content": a string, or a list of parts of which the text ones count.
void append_content(const nlohmann::json& c, std::string& out) {
  if (c.is_string()) {
    out += c.get_ref<const std::string&>();
  } else if (c.is_array()) {
    for (const auto& part : c) {
      if (part.is_object()) {
        auto t = part.find("text");
        if (t != part.end() && t->is_string()) out += t->get_ref<const std::string&>();
      } else if (part.is_string()) {
        out += part.get_ref<const std::string&>();
      }
    }
  }
}

// One request's parsed view; buffers live in the session and are reused.
struct Scratch {
  std::string system;
  std::string last_user;
  std::string content;
  std::string body;
  std::string event;
  std::string wire;
  Analysis analysis;
  size_t max_tokens = 0;      // the request's max_tokens / max_completion_tokens (0 = none)
  bool force_length = false;  // --finish-length drew this request
};

class Server {
 public:
  explicit Server(const Options& o) : opt_(o) {
    for (int i = 0; i < o.threads; ++i) ctxs_.push_back(std::make_unique<net::io_context>(1));
    if (!o.tls_cert.empty()) {
      ssl_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
      ssl_->use_certificate_chain_file(o.tls_cert);
      ssl_->use_private_key_file(o.tls_key, ssl::context::pem);
    }
  }

  int run() {
    net::io_context& main = *ctxs_[0];
    tcp::acceptor acceptor(main);
    tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), opt_.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(net::socket_base::max_listen_connections);
    auto stop_all = [this, &acceptor] {
      beast::error_code ec;
      acceptor.close(ec);
      for (auto& c : ctxs_) c->stop();
    };
    net::signal_set signals(main, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code& ec, int) {
      if (!ec) stop_all();
    });
    net::steady_timer exit_timer(main);
    if (opt_.exit_after_s > 0) {
      exit_timer.expires_after(std::chrono::milliseconds(static_cast<int64_t>(opt_.exit_after_s * 1000)));
      exit_timer.async_wait([&](const beast::error_code& ec) {
        if (!ec) stop_all();
      });
    }
    net::co_spawn(main, accept_loop(acceptor), net::detached);
    // Announced only now that SIGTERM is handled: a script may signal us as soon as it has read the port.
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);

    std::vector<std::thread> threads;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    for (size_t i = 1; i < ctxs_.size(); ++i) {
      guards.push_back(net::make_work_guard(*ctxs_[i]));
      threads.emplace_back([c = ctxs_[i].get()] { c->run(); });
    }
    main.run();
    for (auto& c : ctxs_) c->stop();
    for (auto& t : threads) t.join();
    return 0;
  }

 private:
  net::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    size_t next = 0;
    for (;;) {
      net::io_context& ctx = *ctxs_[next];
      next = (next + 1) % ctxs_.size();
      beast::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(ctx, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        // Out of file descriptors and the like: back off briefly instead of spinning.
        net::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(10));
        co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      stats_.connections.fetch_add(1, std::memory_order_relaxed);
      if (ssl_) {
        net::co_spawn(ctx, tls_session(std::move(sock)), net::detached);
      } else {
        net::co_spawn(ctx, session(std::move(sock)), net::detached);
      }
    }
  }

  net::awaitable<void> tls_session(tcp::socket sock) {
    ssl::stream<tcp::socket> stream(std::move(sock), *ssl_);
    beast::error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    co_await serve(stream);
    co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }

  net::awaitable<void> session(tcp::socket sock) {
    co_await serve(sock);
    beast::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
  }

  template <class Stream>
  net::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    net::steady_timer timer(co_await net::this_coro::executor);
    Scratch s;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256u << 20);
      beast::error_code ec;
      co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::bad_target ||
            ec == http::error::bad_method || ec == http::error::bad_version) {
          http::response<http::string_body> res{http::status::bad_request, 11};
          res.set(http::field::content_type, "application/json");
          res.keep_alive(false);
          std::string& b = res.body();
          b = R"({"error":{"message":"malformed HTTP request: )";
          append_json_escaped(ec.message(), b);
          b += R"(","type":"invalid_request_error","param":null,"code":null}})";
          res.prepare_payload();
          co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
        }
        co_return;
      }
      stats_.requests.fetch_add(1, std::memory_order_relaxed);
      http::request<http::string_body> req = parser.release();
      bool keep = co_await handle(stream, timer, req, s);
      if (!keep) co_return;
    }
  }

  // Writes one buffered response; false when the connection must end.
  template <class Stream>
  net::awaitable<bool> send(Stream& stream, http::response<http::string_body>& res, bool keep) {
    res.keep_alive(keep);
    res.prepare_payload();
    stats_.by_status[std::min<unsigned>(res.result_int(), 599)].fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    co_return !ec && keep;
  }

  template <class Stream>
  net::awaitable<bool> send_json(Stream& stream, unsigned status, std::string body, bool keep) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "dspy-mock-lm");
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    co_return co_await send(stream, res, keep);
  }

  double unit(uint64_t seq, uint64_t salt) const {
    return static_cast<double>(splitmix64(opt_.seed ^ splitmix64(seq * 0x2545F4914F6CDD1DULL + salt)) >> 11) *
           0x1.0p-53;
  }

  static std::string error_body(Api api, unsigned status, std::string_view message, std::string_view code) {
    std::string out;
    if (api == Api::Anthropic) {
      std::string_view type = status == 429                   ? "rate_limit_error"
                              : status == 401                 ? "authentication_error"
                              : status == 529 || status == 503 ? "overloaded_error"
                              : status >= 500                 ? "api_error"
                                                              : "invalid_request_error";
      out = R"({"type":"error","error":{"type":")";
      out += type;
      out += R"(","message":")";
      append_json_escaped(message, out);
      out += "\"}}";
      return out;
    }
    std::string_view type = status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
    out = R"({"error":{"message":")";
    append_json_escaped(message, out);
    out += R"(","type":")";
    out += type;
    out += R"(","param":)";
    out += code == "context_length_exceeded" ? R"("messages")" : "null";
    out += R"(,"code":)";
    if (code.empty()) {
      out += "null";
    } else {
      out += '"';
      out += code;
      out += '"';
    }
    out += "}}";
    return out;
  }

  template <class Stream>
  net::awaitable<bool> send_error(Stream& stream, Api api, unsigned status, std::string_view message,
                                  std::string_view code, bool keep) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "dspy-mock-lm");
    res.set(http::field::content_type, "application/json");
    if (status == 429) res.set(http::field::retry_after, std::to_string(opt_.retry_after_s));
    res.body() = error_body(api, status, message, code);
    co_return co_await send(stream, res, keep);
  }

  std::string stats_json() const {
    std::string out = "{\"requests\":" + std::to_string(stats_.requests.load());
    out += ",\"lm_requests\":" + std::to_string(stats_.lm_requests.load());
    out += ",\"connections\":" + std::to_string(stats_.connections.load());
    out += ",\"in_flight\":" + std::to_string(stats_.in_flight.load());
    out += ",\"max_in_flight\":" + std::to_string(stats_.max_in_flight.load());
    out += ",\"dropped\":" + std::to_string(stats_.dropped.load());
    out += ",\"stalled\":" + std::to_string(stats_.stalled.load());
    out += ",\"streamed\":" + std::to_string(stats_.streamed.load());
    out += ",\"malformed\":" + std::to_string(stats_.malformed.load());
    out += ",\"by_status\":{";
    bool first = true;
    for (size_t i = 0; i < stats_.by_status.size(); ++i) {
      uint64_t n = stats_.by_status[i].load();
      if (n == 0) continue;
      if (!first) out += ',';
      first = false;
      out += '"' + std::to_string(i) + "\":" + std::to_string(n);
    }
    out += "}}";
    return out;
  }

  // RAII in-flight counter for the max-concurrency statistic.
  struct InFlight {
    Stats& s;
    explicit InFlight(Stats& st) : s(st) {
      int64_t now = s.in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
      int64_t prev = s.max_in_flight.load(std::memory_order_relaxed);
      while (now > prev && !s.max_in_flight.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
      }
    }
    ~InFlight() { release(); }
    // Before a drop, so a client that reconnects at once is not counted twice.
    void release() {
      if (live) s.in_flight.fetch_sub(1, std::memory_order_relaxed);
      live = false;
    }
    bool live = true;
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
  };

  static net::awaitable<void> wait(net::steady_timer& timer, int ms) {
    timer.expires_after(std::chrono::milliseconds(ms));
    beast::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }

  template <class Stream>
  net::awaitable<bool> handle(Stream& stream, net::steady_timer& timer, http::request<http::string_body>& req,
                              Scratch& s) {
    const bool keep = req.keep_alive();
    std::string_view target(req.target().data(), req.target().size());
    if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const auto method = req.method();

    if (method == http::verb::get && target == "/health") {
      co_return co_await send_json(stream, 200, R"({"status":"ok"})", keep);
    }
    if (method == http::verb::get && target == "/stats") {
      co_return co_await send_json(stream, 200, stats_json(), keep);
    }
    if ((method == http::verb::post || method == http::verb::delete_) && target == "/stats/reset") {
      stats_.reset();
      co_return co_await send_json(stream, 200, R"({"reset":true})", keep);
    }
    if (method == http::verb::get && (target == "/v1/models" || target == "/models")) {
      co_return co_await send_json(
          stream, 200, R"({"object":"list","data":[{"id":"mock","object":"model","owned_by":"dspy-mock-lm"}]})", keep);
    }
    Api api;
    if (target == "/v1/chat/completions" || target == "/chat/completions") {
      api = Api::OpenAI;
    } else if (target == "/v1/messages" || target == "/messages") {
      api = Api::Anthropic;
    } else {
      std::string msg = "Unknown path: " + std::string(target);
      co_return co_await send_error(stream, Api::OpenAI, 404, msg, "not_found", keep);
    }
    if (method != http::verb::post) {
      co_return co_await send_error(stream, api, 405, "Use POST for this endpoint.", "", keep);
    }

    const uint64_t seq = stats_.lm_requests.fetch_add(1, std::memory_order_relaxed);
    InFlight in_flight(stats_);

    if (!opt_.api_key.empty()) {
      std::string_view given;
      if (auto it = req.find(http::field::authorization); it != req.end()) {
        std::string_view v(it->value().data(), it->value().size());
        if (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ") given = v.substr(7);
      } else if (auto x = req.find("x-api-key"); x != req.end()) {
        given = std::string_view(x->value().data(), x->value().size());
      }
      if (given != opt_.api_key) {
        std::string msg = "Incorrect API key provided. You can find your API key at "
                          "https://platform.openai.com/account/api-keys.";
        co_return co_await send_error(stream, api, 401, msg, "invalid_api_key", keep);
      }
    }

    nlohmann::json j = nlohmann::json::parse(req.body(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      co_return co_await send_error(stream, api, 400, "We could not parse the JSON body of your request.", "",
                                    keep);
    }
    auto msgs = j.find("messages");
    if (msgs == j.end() || !msgs->is_array()) {
      co_return co_await send_error(stream, api, 400, "'messages' is a required property (a list of messages).",
                                    "", keep);
    }

    // The conversation: system text, last user message, total size for token counts.
    s.system.clear();
    s.last_user.clear();
    size_t prompt_chars = 0;
    if (api == Api::Anthropic) {
      if (auto sys = j.find("system"); sys != j.end()) append_content(*sys, s.system);
      prompt_chars += s.system.size();
    }
    const nlohmann::json* last_user = nullptr;
    bool have_system = !s.system.empty();
    for (const auto& m : *msgs) {
      if (!m.is_object()) continue;
      auto role = m.find("role");
      auto content = m.find("content");
      if (role == m.end() || !role->is_string() || content == m.end()) continue;
      const auto& r = role->get_ref<const std::string&>();
      if (content->is_string()) {
        prompt_chars += content->get_ref<const std::string&>().size();
      } else {
        prompt_chars += content->dump().size();
      }
      if (r == "user") {
        last_user = &*content;
      } else if (!have_system && (r == "system" || r == "developer")) {
        append_content(*content, s.system);
        have_system = true;
      }
    }
    if (last_user) append_content(*last_user, s.last_user);

    std::string model = "mock-model";
    if (auto it = j.find("model"); it != j.end() && it->is_string()) model = it->get<std::string>();
    int n = 1;
    if (auto it = j.find("n"); api == Api::OpenAI && it != j.end() && it->is_number_integer()) {
      n = static_cast<int>(std::clamp<int64_t>(it->get<int64_t>(), 1, 128));
    }
    bool stream_reply = false;
    if (auto it = j.find("stream"); it != j.end() && it->is_boolean()) stream_reply = it->get<bool>();
    bool include_usage = false;
    if (auto it = j.find("stream_options"); it != j.end() && it->is_object()) {
      auto u = it->find("include_usage");
      include_usage = u != it->end() && u->is_boolean() && u->get<bool>();
    }
    const bool json_hint = j.contains("response_format");
    s.max_tokens = 0;
    for (const char* key : {"max_completion_tokens", "max_tokens"}) {
      auto it = j.find(key);
      if (it != j.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
        s.max_tokens = static_cast<size_t>(it->get<int64_t>());
        break;
      }
    }
    s.force_length = opt_.finish_length > 0 && unit(seq, 6) < opt_.finish_length;

    // Faults, in the order a client would meet them on the wire.
    if (opt_.drop > 0 && unit(seq, 1) < opt_.drop) {
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      in_flight.release();
      beast::error_code ec;
      beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(stream).close(ec);
      co_return false;
    }
    if (opt_.stall_ms > 0 && (opt_.stall_rate >= 1.0 || unit(seq, 2) < opt_.stall_rate)) {
      stats_.stalled.fetch_add(1, std::memory_order_relaxed);
      co_await wait(timer, opt_.stall_ms);
    }
    if (opt_.latency_ms > 0) co_await wait(timer, opt_.latency_ms);
    if (seq < static_cast<uint64_t>(opt_.fail_first)) {
      std::string msg = "Injected failure " + std::to_string(seq + 1) + " of " + std::to_string(opt_.fail_first) +
                        " (--fail-first).";
      std::string_view code = opt_.fail_status == 429 ? "rate_limit_exceeded" : "";
      co_return co_await send_error(stream, api, static_cast<unsigned>(opt_.fail_status), msg, code, keep);
    }
    if (opt_.fail_429 > 0 && unit(seq, 3) < opt_.fail_429) {
      const std::string msg =
          "Rate limit reached for requests. Please try again in " + std::to_string(opt_.retry_after_s) + "s.";
      co_return co_await send_error(stream, api, 429, msg, "rate_limit_exceeded", keep);
    }
    if (opt_.fail_5xx > 0 && unit(seq, 4) < opt_.fail_5xx) {
      static constexpr unsigned kCodes[] = {500, 502, 503};
      unsigned status = kCodes[splitmix64(opt_.seed + seq) % 3];
      co_return co_await send_error(stream, api, status, "The server had an error while processing your request.",
                                    "", keep);
    }
    const size_t prompt_tokens = approx_tokens(prompt_chars);
    if (opt_.context_window_error || (opt_.context_window_chars > 0 && prompt_chars > opt_.context_window_chars)) {
      std::string msg;
      if (api == Api::Anthropic) {
        msg = "prompt is too long: " + std::to_string(prompt_tokens) + " tokens > " +
              std::to_string(approx_tokens(opt_.context_window_chars)) + " maximum";
      } else {
        msg = "This model's maximum context length is " + std::to_string(approx_tokens(opt_.context_window_chars)) +
              " tokens. However, your messages resulted in " + std::to_string(prompt_tokens) +
              " tokens. Please reduce the length of the messages.";
      }
      co_return co_await send_error(stream, api, 400, msg, "context_length_exceeded", keep);
    }

    analyze(s.system, s.last_user, json_hint, opt_.rules, s.analysis);
    if (s.analysis.rule && s.analysis.rule->status != 0) {
      const unsigned status = static_cast<unsigned>(s.analysis.rule->status);
      co_return co_await send_error(stream, api, status, "Injected failure (rule matched).",
                                    status == 429 ? "rate_limit_exceeded" : "", keep);
    }
    if (opt_.malformed > 0 && unit(seq, 5) < opt_.malformed) {
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      co_return co_await send_json(
          stream, 200,
          R"({"id": "chatcmpl-mock", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "[[ ## answ)",
          keep);
    }

    const std::string id = (api == Api::Anthropic ? "msg_mock_" : "chatcmpl-mock-") + std::to_string(seq);
    const auto created = static_cast<long long>(std::time(nullptr));
    if (stream_reply) {
      stats_.streamed.fetch_add(1, std::memory_order_relaxed);
      co_return co_await stream_answer(stream, timer, api, s, id, created, model, n, include_usage, prompt_tokens,
                                       keep);
    }

    // Buffered answer.
    std::string& b = s.body;
    b.clear();
    size_t completion_chars = 0;
    if (api == Api::OpenAI) {
      b += R"({"id":")";
      b += id;
      b += R"(","object":"chat.completion","created":)";
      b += std::to_string(created);
      b += R"(,"model":")";
      append_json_escaped(model, b);
      b += R"(","choices":[)";
      for (int i = 0; i < n; ++i) {
        const bool cut = produce(s, i);
        completion_chars += s.content.size();
        if (i) b += ',';
        b += R"({"index":)";
        b += std::to_string(i);
        b += R"(,"message":{"role":"assistant","content":")";
        append_json_escaped(s.content, b);
        b += cut ? R"("},"logprobs":null,"finish_reason":"length"})" : R"("},"logprobs":null,"finish_reason":"stop"})";
      }
      const size_t ct = approx_tokens(completion_chars);
      b += R"(],"usage":{"prompt_tokens":)";
      b += std::to_string(prompt_tokens);
      b += R"(,"completion_tokens":)";
      b += std::to_string(ct);
      b += R"(,"total_tokens":)";
      b += std::to_string(prompt_tokens + ct);
      b += "}}";
    } else {
      const bool cut = produce(s, 0);
      b += R"({"id":")";
      b += id;
      b += R"(","type":"message","role":"assistant","content":[{"type":"text","text":")";
      append_json_escaped(s.content, b);
      b += R"("}],"model":")";
      append_json_escaped(model, b);
      b += cut ? R"(","stop_reason":"max_tokens")" : R"(","stop_reason":"end_turn")";
      b += R"(,"stop_sequence":null,"usage":{"input_tokens":)";
      b += std::to_string(prompt_tokens);
      b += R"(,"output_tokens":)";
      b += std::to_string(approx_tokens(s.content.size()));
      b += "}}";
    }
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::server, "dspy-mock-lm");
    res.set(http::field::content_type, "application/json");
    res.body().swap(b);
    bool ok = co_await send(stream, res, keep);
    res.body().swap(b);  // keep the grown buffer for the next request on this connection
    co_return ok;
  }

  // Renders choice `i` into s.content; cuts it like a real model does when it runs out of tokens (max_tokens, or
  // --finish-length: half the answer) and returns true when it did, so the finish reason becomes "length".
  static bool produce(Scratch& s, int i) {
    s.content.clear();
    render(s.analysis, i, s.content);
    size_t limit = std::string::npos;
    if (s.max_tokens > 0 && approx_tokens(s.content.size()) > s.max_tokens) limit = s.max_tokens * 4;
    if (s.force_length) limit = std::min(limit, s.content.size() / 2);
    if (limit >= s.content.size()) return false;
    while (limit > 0 && (static_cast<unsigned char>(s.content[limit]) & 0xC0) == 0x80) --limit;
    s.content.resize(limit);
    return true;
  }

  // Splits `content` into deltas of chunk_chars code points (or bytes with --chunk-split-utf8).
  void for_each_chunk(std::string_view content, std::vector<std::string_view>& out) const {
    out.clear();
    size_t i = 0;
    const size_t per = static_cast<size_t>(opt_.chunk_chars);
    while (i < content.size()) {
      size_t end = i;
      if (opt_.chunk_split_utf8) {
        end = std::min(content.size(), i + per);
      } else {
        for (size_t k = 0; k < per && end < content.size(); ++k) {
          ++end;
          while (end < content.size() && (static_cast<unsigned char>(content[end]) & 0xC0) == 0x80) ++end;
        }
      }
      out.push_back(content.substr(i, end - i));
      i = end;
    }
  }

  template <class Stream>
  net::awaitable<bool> stream_answer(Stream& stream, net::steady_timer& timer, Api api, Scratch& s,
                                     const std::string& id, long long created, const std::string& model, int n,
                                     bool include_usage, size_t prompt_tokens, bool keep) {
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::server, "dspy-mock-lm");
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(keep);
    res.chunked(true);
    stats_.by_status[200].fetch_add(1, std::memory_order_relaxed);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return false;

    std::string& ev = s.event;
    bool first_event = true;
    // Sends `ev` as one HTTP chunk, pausing --chunk-delay-ms between events.
    // Without a delay the events are framed here and sent in one write at the end (a syscall per 4-character
    // delta would dominate the cost); the deltas are split all the same.
    std::string& wire = s.wire;
    wire.clear();
    auto emit = [&]() -> net::awaitable<bool> {
      if (opt_.chunk_delay_ms <= 0) {
        char size[20];
        int len = std::snprintf(size, sizeof size, "%zx\r\n", ev.size());
        wire.append(size, static_cast<size_t>(len));
        wire += ev;
        wire += "\r\n";
        co_return true;
      }
      if (!first_event) co_await wait(timer, opt_.chunk_delay_ms);
      first_event = false;
      beast::error_code wec;
      co_await net::async_write(stream, http::make_chunk(net::buffer(ev)), net::redirect_error(net::use_awaitable, wec));
      co_return !wec;
    };

    std::string prefix;  // the constant start of every OpenAI chunk
    if (api == Api::OpenAI) {
      prefix = R"(data: {"id":")" + id + R"(","object":"chat.completion.chunk","created":)" + std::to_string(created) +
               R"(,"model":")";
      append_json_escaped(model, prefix);
      prefix += R"(","choices":[)";
    }
    std::vector<std::string_view> chunks;
    size_t completion_chars = 0;
    if (api == Api::OpenAI) {
      for (int i = 0; i < n; ++i) {
        const bool cut = produce(s, i);
        completion_chars += s.content.size();
        const std::string index = std::to_string(i);
        ev = prefix + R"({"index":)" + index +
             R"(,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})" + "\n\n";
        if (!co_await emit()) co_return false;
        for_each_chunk(s.content, chunks);
        for (auto c : chunks) {
          ev = prefix;
          ev += R"({"index":)";
          ev += index;
          ev += R"(,"delta":{"content":")";
          append_json_escaped(c, ev);
          ev += R"("},"logprobs":null,"finish_reason":null}]})";
          ev += "\n\n";
          if (!co_await emit()) co_return false;
        }
        ev = prefix + R"({"index":)" + index + R"(,"delta":{},"logprobs":null,"finish_reason":")" +
             (cut ? "length" : "stop") + "\"}]}\n\n";
        if (!co_await emit()) co_return false;
      }
      if (include_usage) {
        const size_t ct = approx_tokens(completion_chars);
        ev = prefix + R"(],"usage":{"prompt_tokens":)" + std::to_string(prompt_tokens) +
             R"(,"completion_tokens":)" + std::to_string(ct) + R"(,"total_tokens":)" +
             std::to_string(prompt_tokens + ct) + "}}\n\n";
        if (!co_await emit()) co_return false;
      }
      ev = "data: [DONE]\n\n";
      if (!co_await emit()) co_return false;
    } else {
      const bool cut = produce(s, 0);
      ev = R"(event: message_start
data: {"type":"message_start","message":{"id":")" +
           id + R"(","type":"message","role":"assistant","content":[],"model":")";
      append_json_escaped(model, ev);
      ev += R"(","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":)" + std::to_string(prompt_tokens) +
            R"(,"output_tokens":1}}})" + "\n\n";
      if (!co_await emit()) co_return false;
      ev = "event: content_block_start\ndata: "
           R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
           "\n\n";
      if (!co_await emit()) co_return false;
      for_each_chunk(s.content, chunks);
      for (auto c : chunks) {
        ev = "event: content_block_delta\ndata: "
             R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")";
        append_json_escaped(c, ev);
        ev += "\"}}\n\n";
        if (!co_await emit()) co_return false;
      }
      ev = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
      if (!co_await emit()) co_return false;
      ev = "event: message_delta\ndata: "
           R"({"type":"message_delta","delta":{"stop_reason":")";
      ev += cut ? "max_tokens" : "end_turn";
      ev += R"(","stop_sequence":null},"usage":{"output_tokens":)" +
           std::to_string(approx_tokens(s.content.size())) + "}}\n\n";
      if (!co_await emit()) co_return false;
      ev = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
      if (!co_await emit()) co_return false;
    }
    if (wire.empty()) {
      co_await net::async_write(stream, http::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
    } else {
      wire += "0\r\n\r\n";
      co_await net::async_write(stream, net::buffer(wire), net::redirect_error(net::use_awaitable, ec));
    }
    co_return !ec && keep;
  }

  Options opt_;
  Stats stats_;
  std::unique_ptr<ssl::context> ssl_;
  // Last, so it is destroyed first: pending coroutine frames still refer to stats_ when they are torn down.
  std::vector<std::unique_ptr<net::io_context>> ctxs_;
};

}  // namespace

int run_server(const Options& options) {
  Server server(options);
  return server.run();
}

}  // namespace mocklm
