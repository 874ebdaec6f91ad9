// LM's request path: cache, single-flight, provider HTTP with retries, normalisation. One coroutine serves both
// forward (sync: blocking HTTP, the thread sleeps between retries) and aforward (async: the reply and the retry
// waits are handed back to the awaiting event loop).
#include "clients/lm_http.hpp"

#include <atomic>
#include <coroutine>
#include <iostream>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>

#include "clients/http/errors.hpp"
#include "clients/http/retry.hpp"
#include "clients/lm_stream.hpp"
#include "clients/providers.hpp"
#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace detail {

namespace {
std::atomic<std::int64_t> g_retry_base_ms{1000};
}

http::HttpClient& lm_http_client() {
    static http::HttpClient client(http::HttpClientOptions{.io_threads = 1, .max_connections_per_origin = 1000});
    return client;
}

void set_lm_retry_base(std::chrono::milliseconds base) {
    g_retry_base_ms.store(base.count() > 0 ? base.count() : 1000, std::memory_order_relaxed);
}

}  // namespace detail

namespace {

// Starts the request on the client's I/O thread and resumes the awaiting coroutine on its own loop; without a loop
// (a plain thread) it falls back to the blocking call. Cancelling the awaiting task cancels the transport op; the
// completion never touches the awaiter or the frame directly: it fills a shared state and posts a callback that
// resumes the coroutine only if the awaiter still exists (a destroyed task's frame is never resumed).
class HttpAwaiter {
public:
    // `opts` must outlive the awaiter (it is the caller's; held by reference to keep the coroutine frame small).
    HttpAwaiter(http::HttpRequest req, const http::RequestOptions& opts) : req_(std::move(req)), opts_(&opts) {}
    HttpAwaiter(const HttpAwaiter&) = delete;
    HttpAwaiter& operator=(const HttpAwaiter&) = delete;
    ~HttpAwaiter() {
        on_stop_.reset();
        if (state_ && !resumed_) {  // destroyed while suspended: the reply must not resume a dead frame
            state_->abandoned.store(true, std::memory_order_release);
            if (cancel_) cancel_->cancel();
        }
    }

    void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
    bool await_ready() noexcept {
        loop_ = EventLoop::current();
        return loop_ == nullptr || stop_requested();
    }
    void await_suspend(std::coroutine_handle<> h) {
        state_ = std::make_shared<State>();
        state_->loop = loop_;
        state_->h = h;
        cancel_ = detail::lm_http_client().async_request(
            std::move(req_), *opts_, [st = state_](std::exception_ptr e, http::HttpResponse r) {
                st->error = std::move(e);
                st->resp = std::move(r);
                st->loop->post(&HttpAwaiter::resume, new std::shared_ptr<State>(st));
            });
        // Registered last: with the token already triggered the callback runs here and cancels at once.
        if (stop_ && stop_->stop_possible()) on_stop_.emplace(*stop_, OnStop{cancel_});
    }
    http::HttpResponse await_resume() {
        on_stop_.reset();  // waits for a stop callback still running on another thread
        resumed_ = true;
        if (!state_) {
            if (stop_requested()) throw CancelledError();
            return detail::lm_http_client().request(std::move(req_), *opts_);
        }
        if (state_->error) {
            if (stop_requested()) throw CancelledError();
            std::rethrow_exception(state_->error);
        }
        return std::move(state_->resp);
    }

private:
    struct State {
        EventLoop* loop = nullptr;
        std::coroutine_handle<> h;
        std::atomic<bool> abandoned{false};
        std::exception_ptr error;
        http::HttpResponse resp;
    };
    struct OnStop {
        std::shared_ptr<http::CancelHandle> handle;
        void operator()() noexcept { handle->cancel(); }
    };
    // Runs on the awaiting loop's thread, where the frame would also be destroyed: no race on `abandoned`.
    static void resume(void* arg) {
        std::unique_ptr<std::shared_ptr<State>> st(static_cast<std::shared_ptr<State>*>(arg));
        if (!(*st)->abandoned.load(std::memory_order_acquire)) (*st)->h.resume();
    }
    [[nodiscard]] bool stop_requested() const noexcept { return stop_ && stop_->stop_requested(); }

    http::HttpRequest req_;
    const http::RequestOptions* opts_;
    const std::stop_token* stop_ = nullptr;
    EventLoop* loop_ = nullptr;
    std::shared_ptr<State> state_;
    std::shared_ptr<http::CancelHandle> cancel_;
    std::optional<std::stop_callback<OnStop>> on_stop_;
    bool resumed_ = false;
};

struct FlightResult {
    Json value;
    std::exception_ptr error;
};

// Joins the single-flight table: resumes at once as the leader (await_resume true), or suspends until the leader
// of the same key finishes and resumes on this loop with its value or error.
struct JoinAwaiter {
    InFlight* in_flight;
    std::string_view key;
    bool leader = false;
    std::shared_ptr<FlightResult> result = std::make_shared<FlightResult>();

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        EventLoop* loop = EventLoop::current();
        if (!loop) throw std::logic_error("dspy::LM: a request coroutine is running outside an event loop");
        leader = in_flight->lead_or_join(key, [r = result, loop, h](const Json* value, std::exception_ptr e) {
            if (value) r->value = *value;
            r->error = std::move(e);
            loop->post(h);
        });
        return !leader;
    }
    bool await_resume() const noexcept { return leader; }
};

const Json* find(const Json& obj, std::string_view key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::string string_of(const Json& request, std::string_view key) {
    const Json* v = find(request, key);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

// Replaces every occurrence of the API key, so a provider that echoes it cannot leak it into an error.
void scrub(std::string& text, const std::string& secret) {
    if (secret.size() < 4) return;
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
        text.replace(pos, secret.size(), "***");
        pos += 3;
    }
}

http::RequestOptions request_options(const Json& request) {
    http::RequestOptions opts;
    // litellm's `timeout` (seconds) bounds the whole call.
    if (const Json* t = find(request, "timeout"); t && t->is_number() && t->get<double>() > 0) {
        auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(t->get<double>() * 1000.0));
        if (ms.count() < 1) ms = std::chrono::milliseconds(1);
        opts.read_timeout = ms;
        opts.deadline = ms;
        if (opts.connect_timeout > ms) opts.connect_timeout = ms;
    }
    return opts;
}

// One provider request with retries; returns the normalised response.
Task<Json> send(bool sync, const providers::Endpoint& ep, const providers::WireRequest& wire,
                const http::RequestOptions& opts, int num_retries, const std::string& context) {
    http::RetryPolicy policy;
    policy.num_retries = num_retries;
    policy.base = std::chrono::milliseconds(detail::g_retry_base_ms.load(std::memory_order_relaxed));
    for (int attempt = 1;; ++attempt) {
        std::optional<std::chrono::milliseconds> delay;
        try {
            http::HttpRequest hr{"POST", wire.url, wire.headers, wire.body};
            http::HttpResponse resp;
            if (sync) {
                resp = detail::lm_http_client().request(std::move(hr), opts);
            } else {
                // Named first: g++-12 miscompiles an aggregate initialiser inside co_await (DESIGN §2).
                HttpAwaiter awaiter(std::move(hr), opts);
                resp = co_await awaiter;
            }
            if (resp.status < 200 || resp.status >= 300) {
                scrub(resp.body, ep.api_key);
                std::rethrow_exception(http::map_http_error(resp.status, resp.body, resp.headers, context));
            }
            co_return providers::normalise_response(ep, resp.body);
        } catch (const DSPyError& e) {
            delay = policy.next_delay(attempt, e);
            if (!delay) throw;
        }
        if (sync)
            std::this_thread::sleep_for(*delay);
        else
            co_await dspy::sleep(*delay);
    }
}

// Anthropic has no `n`: DSPy (through litellm) gets n choices from n requests.
Json merge_choices(std::vector<Json> parts) {
    Json out = std::move(parts.at(0));
    Json choices = Json::array();
    Json usage = Json::object();
    for (size_t i = 0; i < parts.size(); ++i) {
        const Json& part = i == 0 ? out : parts[i];
        for (const auto& c : part.value("choices", Json::array())) {
            Json choice = c;
            choice["index"] = choices.size();
            choices.push_back(std::move(choice));
        }
        if (const Json* u = find(part, "usage"); u && u->is_object())
            for (auto it = u->begin(); it != u->end(); ++it) {
                if (!it->is_number_integer()) continue;
                usage[it.key()] = usage.value(it.key(), std::int64_t{0}) + it->get<std::int64_t>();
            }
    }
    out["choices"] = std::move(choices);
    out["usage"] = std::move(usage);
    return out;
}

std::string py_value(const Json* v) {
    if (!v || v->is_null()) return "None";
    return v->dump();
}

LMResponse response_from(const Json& resp, bool cache_hit) {
    LMResponse out;
    out.outputs = providers::outputs_of(resp);
    out.cache_hit = cache_hit;
    if (!cache_hit)
        if (const Json* u = find(resp, "usage"); u && u->is_object()) out.usage = *u;
    out.response_model = string_of(resp, "model");
    return out;
}

// One provider call for `req`: endpoint, wire body, retries; Anthropic's n > 1 as n requests. `send` is awaited at
// one place only: clang inlines (elides) the frame of a coroutine awaited at once into its caller's frame, one slot
// per call site, and every slot stays allocated for the whole call.
Task<Json> fetch_response(bool sync, const std::string& model, const Json& req, int num_retries) {
    const std::string api_key = string_of(req, "api_key");
    std::string api_base = string_of(req, "api_base");
    if (api_base.empty()) api_base = string_of(req, "base_url");
    const providers::Endpoint ep = providers::resolve_endpoint(model, api_base, api_key);
    const http::RequestOptions opts = request_options(req);
    const std::string context = "model '" + model + "'";
    std::int64_t n = 1;
    if (const Json* nv = find(req, "n"); nv && nv->is_number_integer()) n = nv->get<std::int64_t>();
    if (auto target = detail::stream_target(); target.sink && n <= 1)  // streamify: lm_stream.cpp
        co_return co_await detail::send_streaming(std::move(target), ep, req, opts, num_retries,
                                                  std::chrono::milliseconds(detail::g_retry_base_ms.load()), context);
    const providers::WireRequest wire = providers::build_request(ep, req);
    if (ep.wire != providers::Wire::AnthropicMessages || n <= 1)
        co_return co_await send(sync, ep, wire, opts, num_retries, context);
    // In a sync call each send blocks when when_all starts it, so the n requests still go one after another.
    std::vector<Task<Json>> tasks;
    for (std::int64_t i = 0; i < n; ++i) tasks.push_back(send(sync, ep, wire, opts, num_retries, context));
    std::vector<Json> parts = co_await when_all(std::move(tasks));
    co_return merge_choices(std::move(parts));
}

}  // namespace

Task<LMResponse> LM::request(bool sync, const Messages& messages, const Json& kwargs) {
    // The key first: a memory-cache hit needs nothing else, so the request Json is only built to be sent.
    const LMCallKey call = call_key(messages, kwargs, !sync, /*always=*/false);

    // The response is shared, never deep-copied: a memory-cache hit reads the cached (immutable) value in place.
    std::shared_ptr<const Json> resp;
    bool hit = false;
    std::shared_ptr<Cache> c;
    const std::string& key = call.key;
    bool leader = false;  // this call fetches for every caller of the same key, and publishes the result
    if (call.cache) {
        c = dspy::cache();
        if (auto cached = c->get_shared(key)) {
            resp = std::move(cached);
            hit = true;
        } else {
            JoinAwaiter join{&c->in_flight(), key};
            if (!co_await join) {
                if (join.result->error) std::rethrow_exception(join.result->error);
                resp = std::make_shared<const Json>(std::move(join.result->value));
                hit = true;  // the leader's call, not ours: no usage
            } else if (auto again = c->get_shared(key)) {
                // Another leader finished between our lookup and our joining.
                c->in_flight().complete(key, *again);
                resp = std::move(again);
                hit = true;
            } else {
                leader = true;
            }
        }
    }
    if (!resp) {
        std::exception_ptr error;
        Json fetched;
        try {
            const LMCallRequest built = build_request(messages_to_json(messages), kwargs, !sync);
            fetched = co_await fetch_response(sync, model_, built.request, num_retries_);
        } catch (...) {
            error = std::current_exception();
        }
        if (error) {
            if (leader) c->in_flight().fail(key, error);
            std::rethrow_exception(error);
        }
        if (leader) {
            c->put(key, fetched);
            c->in_flight().complete(key, fetched);
        }
        resp = std::make_shared<const Json>(std::move(fetched));
    }

    if (const Json* choices = find(*resp, "choices"); choices && choices->is_array())
        for (const auto& choice : *choices)
            if (const Json* reason = choice.is_object() ? find(choice, "finish_reason") : nullptr;
                reason && reason->is_string() && reason->get_ref<const std::string&>() == "length") {
                const Json* max_tokens = find(kwargs_, "max_tokens");
                if (!max_tokens) max_tokens = find(kwargs_, "max_completion_tokens");
                std::cerr << "dspy WARNING: LM response was truncated due to exceeding max_tokens="
                          << py_value(max_tokens)
                          << ". You can inspect the latest LM interactions with `dspy.inspect_history()`. To avoid "
                             "truncation, consider passing a larger max_tokens when setting up dspy.LM. You may "
                             "also consider increasing the temperature (currently "
                          << py_value(find(kwargs_, "temperature"))
                          << ")  if the reason for truncation is repetition.\n";
                break;
            }
    co_return response_from(*resp, hit);
}

LMResponse LM::forward(const Messages& messages, const Json& kwargs) { return run_sync(request(true, messages, kwargs)); }

Task<LMResponse> LM::aforward(Messages messages, Json kwargs) { co_return co_await request(false, messages, kwargs); }

}  // namespace dspy
