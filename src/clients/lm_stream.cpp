// LM's streaming call path: SSE from OpenAI-compatible and Anthropic endpoints, read incrementally through the
// shared HTTP client. The I/O thread only appends bytes and wakes the awaiting coroutine; parsing, assembling and
// forwarding happen on the caller's event loop.
#include "clients/lm_stream.hpp"

#include <coroutine>
#include <mutex>
#include <stop_token>
#include <vector>

#include "clients/http/errors.hpp"
#include "clients/http/retry.hpp"
#include "clients/http/sse.hpp"
#include "clients/lm_http.hpp"
#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/streaming/messages.hpp"
#include "utils/json_fast.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy::detail {

StreamTarget stream_target() {
    auto s = settings();
    if (!s->send_stream) return {};
    const Module* predict = s->caller_modules && !s->caller_modules->empty() ? s->caller_modules->back() : nullptr;
    if (!s->send_stream->wants(predict)) return {};
    return {s->send_stream, predict};
}

namespace {

// What the I/O thread hands over; the coroutine takes it under the lock.
struct Inbox {
    std::mutex mu;
    int status = 0;
    http::Headers headers;
    std::string bytes;
    bool done = false;
    std::exception_ptr error;
    std::coroutine_handle<> waiter;
    EventLoop* loop = nullptr;

    void wake_locked(std::unique_lock<std::mutex>& lk) {
        auto h = std::exchange(waiter, {});
        EventLoop* l = loop;
        lk.unlock();
        if (h) detail::resume_on(l, h);
    }
    [[nodiscard]] bool news_locked() const { return !bytes.empty() || done; }
};

struct WaitInbox {
    Inbox& in;
    bool await_ready() {
        std::lock_guard lk(in.mu);
        return in.news_locked();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lk(in.mu);
        if (in.news_locked()) return false;
        in.waiter = h;
        in.loop = EventLoop::current();
        return true;
    }
    void await_resume() const noexcept {}
};

void scrub_key(std::string& text, const std::string& secret) {
    if (secret.size() < 4) return;
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
        text.replace(pos, secret.size(), "***");
}

// Builds the non-streamed response from the deltas (litellm's stream_chunk_builder, for what DSPy reads).
class Assembler {
public:
    explicit Assembler(const providers::Endpoint& ep) : ep_(ep) {}

    // Folds one event in and returns the delta to forward (nullopt: nothing to forward, e.g. [DONE]).
    std::optional<LMStreamChunk> add(const http::SseEvent& ev) {
        if (ev.data == "[DONE]") return std::nullopt;
        Json j = json_fast::parse(ev.data);
        if (j.is_discarded() || !j.is_object())
            throw LMProviderError("malformed streaming event from " + ep_.provider + ": " + ev.data.substr(0, 200), 0);
        if (auto e = j.find("error"); e != j.end() && !e->is_null())
            throw LMProviderError(providers::error_message(ev.data), 0);
        LMStreamChunk out;
        if (ep_.wire == providers::Wire::AnthropicMessages)
            add_anthropic(j, out);
        else
            add_openai(j, out);
        out.raw = std::move(j);
        return out;
    }

    Json result() {
        if (ep_.wire == providers::Wire::AnthropicMessages) {
            Json reply = {{"id", id_}, {"model", model_}, {"type", "message"}, {"role", "assistant"}};
            Json content = Json::array();
            for (auto& b : blocks_) {
                if (b.value("type", "") == "tool_use") {
                    std::string args = b.value("partial_json", "");
                    Json input = args.empty() ? Json::object() : Json::parse(args, nullptr, false);
                    b["input"] = input.is_discarded() ? Json::object() : input;
                    b.erase("partial_json");
                }
                content.push_back(std::move(b));
            }
            reply["content"] = std::move(content);
            reply["stop_reason"] = stop_reason_.empty() ? Json("end_turn") : Json(stop_reason_);
            reply["usage"] = anthropic_usage_;
            return providers::normalise_response(ep_, reply.dump(-1, ' ', false, Json::error_handler_t::replace));
        }
        Json choices = Json::array();
        for (auto& c : choices_) {
            Json message = {{"role", "assistant"}};
            message["content"] = c.has_content || c.tool_calls.empty() ? Json(c.content) : Json(nullptr);
            if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
            if (!c.tool_calls.empty()) message["tool_calls"] = c.tool_calls;
            choices.push_back(Json{{"index", choices.size()},
                                   {"message", std::move(message)},
                                   {"finish_reason", c.finish_reason.empty() ? Json("stop") : Json(c.finish_reason)}});
        }
        return Json{{"id", id_}, {"model", model_}, {"choices", std::move(choices)}, {"usage", usage_}};
    }

private:
    struct Choice {
        std::string content, reasoning, finish_reason;
        bool has_content = false;
        Json tool_calls = Json::array();
    };

    static std::string str(const Json& obj, const char* key) {
        auto it = obj.find(key);
        return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
    }

    void add_openai(const Json& j, LMStreamChunk& out) {
        if (id_.empty()) id_ = str(j, "id");
        if (model_.empty()) model_ = str(j, "model");
        if (auto u = j.find("usage"); u != j.end() && u->is_object()) usage_ = *u;
        auto cs = j.find("choices");
        if (cs == j.end() || !cs->is_array()) return;
        for (const auto& c : *cs) {
            size_t idx = c.value("index", size_t{0});
            if (idx > 1024) continue;
            if (choices_.size() <= idx) choices_.resize(idx + 1);
            Choice& ch = choices_[idx];
            if (auto fr = c.find("finish_reason"); fr != c.end() && fr->is_string()) ch.finish_reason = *fr;
            auto d = c.find("delta");
            if (d == c.end() || !d->is_object()) continue;
            if (auto t = d->find("content"); t != d->end() && t->is_string()) {
                ch.content += t->get_ref<const std::string&>();
                ch.has_content = true;
                if (idx == 0) out.content = *t;
            }
            if (auto r = d->find("reasoning_content"); r != d->end() && r->is_string()) {
                ch.reasoning += r->get_ref<const std::string&>();
                if (idx == 0) out.reasoning_content = *r;
            }
            if (auto tc = d->find("tool_calls"); tc != d->end() && tc->is_array())
                for (const auto& call : *tc) merge_tool_call(ch, call);
        }
    }

    static void merge_tool_call(Choice& ch, const Json& call) {
        size_t i = call.value("index", ch.tool_calls.size());
        if (i > 1024) return;
        while (ch.tool_calls.size() <= i)
            ch.tool_calls.push_back(
                Json{{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}});
        Json& dst = ch.tool_calls[i];
        if (auto id = call.find("id"); id != call.end() && id->is_string()) dst["id"] = *id;
        if (auto fn = call.find("function"); fn != call.end() && fn->is_object()) {
            if (auto n = fn->find("name"); n != fn->end() && n->is_string())
                dst["function"]["name"] = dst["function"]["name"].get<std::string>() + n->get<std::string>();
            if (auto a = fn->find("arguments"); a != fn->end() && a->is_string())
                dst["function"]["arguments"] =
                    dst["function"]["arguments"].get<std::string>() + a->get<std::string>();
        }
    }

    void add_anthropic(const Json& j, LMStreamChunk& out) {
        const std::string type = str(j, "type");
        if (type == "message_start") {
            const Json& m = j.contains("message") ? j["message"] : j;
            id_ = str(m, "id");
            model_ = str(m, "model");
            if (auto u = m.find("usage"); u != m.end() && u->is_object())
                for (auto it = u->begin(); it != u->end(); ++it) anthropic_usage_[it.key()] = *it;
        } else if (type == "content_block_start") {
            size_t idx = j.value("index", blocks_.size());
            if (idx > 1024) return;
            while (blocks_.size() <= idx) blocks_.push_back(Json{{"type", "text"}, {"text", ""}});
            blocks_[idx] = j.value("content_block", Json{{"type", "text"}, {"text", ""}});
        } else if (type == "content_block_delta") {
            size_t idx = j.value("index", size_t{0});
            if (idx > 1024) return;
            while (blocks_.size() <= idx) blocks_.push_back(Json{{"type", "text"}, {"text", ""}});
            Json& b = blocks_[idx];
            const Json d = j.value("delta", Json::object());
            const std::string dt = str(d, "type");
            if (dt == "text_delta") {
                std::string t = str(d, "text");
                b["text"] = str(b, "text") + t;
                out.content = std::move(t);
            } else if (dt == "thinking_delta") {
                std::string t = str(d, "thinking");
                b["thinking"] = str(b, "thinking") + t;
                out.reasoning_content = std::move(t);
            } else if (dt == "input_json_delta") {
                b["partial_json"] = str(b, "partial_json") + str(d, "partial_json");
            }
        } else if (type == "message_delta") {
            if (auto d = j.find("delta"); d != j.end() && d->is_object()) stop_reason_ = str(*d, "stop_reason");
            if (auto u = j.find("usage"); u != j.end() && u->is_object())
                for (auto it = u->begin(); it != u->end(); ++it) anthropic_usage_[it.key()] = *it;
        }
    }

    const providers::Endpoint& ep_;
    std::string id_, model_;
    Json usage_ = Json::object();
    std::vector<Choice> choices_;
    std::vector<Json> blocks_;
    std::string stop_reason_;
    Json anthropic_usage_ = Json::object();
};

}  // namespace

Task<Json> send_streaming(StreamTarget target, const providers::Endpoint& ep, const Json& request,
                          const http::RequestOptions& opts, int num_retries, std::chrono::milliseconds retry_base,
                          std::string context) {
    providers::WireRequest wire;
    if (ep.wire == providers::Wire::OpenAIChat) {
        // litellm asks for the usage chunk, so that streamed calls report usage like plain ones.
        Json req = request;
        req["stream_options"] = Json{{"include_usage", true}};
        wire = providers::build_request(ep, req, true);
    } else {
        wire = providers::build_request(ep, request, true);
    }
    const std::stop_token token = co_await get_stop_token();
    http::RetryPolicy policy;
    policy.num_retries = num_retries;
    policy.base = retry_base;
    bool forwarded = false;
    for (int attempt = 1;; ++attempt) {
        std::optional<std::chrono::milliseconds> delay;
        try {
            auto inbox = std::make_shared<Inbox>();
            auto on_headers = [inbox](int status, const http::Headers& headers) {
                std::lock_guard lk(inbox->mu);
                inbox->status = status;
                inbox->headers = headers;
                return true;
            };
            auto on_chunk = [inbox](std::string_view bytes) {
                std::unique_lock lk(inbox->mu);
                inbox->bytes.append(bytes);
                inbox->wake_locked(lk);
                return true;
            };
            auto on_done = [inbox](std::exception_ptr e) {
                std::unique_lock lk(inbox->mu);
                inbox->done = true;
                inbox->error = std::move(e);
                inbox->wake_locked(lk);
            };
            http::HttpRequest hr{"POST", wire.url, wire.headers, wire.body};
            std::shared_ptr<http::CancelHandle> handle =
                lm_http_client().async_stream(std::move(hr), opts, on_headers, on_chunk, on_done);
            std::stop_callback on_stop(token, [handle] { handle->cancel(); });

            http::SseParser parser;
            std::vector<http::SseEvent> events;
            Assembler assembler(ep);
            std::string error_body;
            for (;;) {
                WaitInbox wait{*inbox};
                co_await wait;
                int status = 0;
                std::string bytes;
                bool done = false;
                std::exception_ptr error;
                http::Headers headers;
                {
                    std::lock_guard lk(inbox->mu);
                    status = inbox->status;
                    bytes.swap(inbox->bytes);
                    done = inbox->done;
                    error = inbox->error;
                    if (done) headers = inbox->headers;
                }
                if (token.stop_requested()) throw CancelledError();
                if (status != 0 && (status < 200 || status >= 300)) {
                    error_body += bytes;
                    if (!done) continue;
                    if (error) std::rethrow_exception(error);
                    scrub_key(error_body, ep.api_key);
                    std::rethrow_exception(http::map_http_error(status, error_body, headers, context));
                }
                if (!bytes.empty()) {
                    events.clear();
                    parser.feed(bytes, events);
                    for (const auto& ev : events) {
                        std::optional<LMStreamChunk> chunk = assembler.add(ev);
                        if (!chunk) continue;
                        chunk->predict = target.predict;
                        forwarded = true;
                        target.sink->send(std::move(*chunk));
                    }
                }
                if (done) {
                    if (error) std::rethrow_exception(error);
                    co_return assembler.result();
                }
            }
        } catch (const CancelledError&) {
            throw;
        } catch (const DSPyError& e) {
            if (token.stop_requested()) throw CancelledError();
            // After the first delta the consumer has seen part of the answer: a retry would repeat it.
            if (forwarded) throw;
            delay = policy.next_delay(attempt, e);
            if (!delay) throw;
        }
        co_await dspy::sleep(*delay);
    }
}

}  // namespace dspy::detail
