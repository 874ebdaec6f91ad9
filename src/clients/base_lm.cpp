#include "dspy/clients/base_lm.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "dspy/async/run.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/inspect_history.hpp"
#include "dspy/utils/usage_tracker.hpp"

namespace dspy {

namespace {

constexpr size_t kGlobalHistoryCap = 10000;  // dspy.clients.base_lm.MAX_HISTORY_SIZE

std::mutex& global_history_mu() {
    static std::mutex mu;
    return mu;
}
std::deque<Json>& global_history_store() {
    static std::deque<Json> h;
    return h;
}

void push_capped(std::deque<Json>& v, Json entry, size_t cap) {
    if (cap == 0) return;
    while (v.size() >= cap) v.pop_front();
    v.push_back(std::move(entry));
}

// datetime.now().isoformat(): local time with microseconds.
std::string iso_now() {
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us));
    return buf;
}

std::string uuid4() {
    std::string h = detail::new_call_id();
    h[12] = '4';
    static constexpr char kVariant[] = "89ab";
    h[16] = kVariant[static_cast<unsigned char>(h[16]) % 4];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

// A BaseLM that overrides neither forward nor aforward would otherwise bounce between the two defaults forever.
thread_local const BaseLM* tl_in_default_forward = nullptr;

Json outputs_json(const std::vector<LMOutput>& outs) {
    bool any_extra = false;
    for (const auto& o : outs) any_extra |= !o.extra.empty();
    Json j = Json::array();
    for (const auto& o : outs) {
        if (!any_extra) {
            j.push_back(o.text);
            continue;
        }
        Json d = {{"text", o.text}};
        for (auto it = o.extra.begin(); it != o.extra.end(); ++it) d[it.key()] = it.value();
        j.push_back(std::move(d));
    }
    return j;
}

}  // namespace

Json messages_to_json(const Messages& messages) {
    Json out = Json::array();
    for (const auto& m : messages) out.push_back(Json{{"role", m.role}, {"content", m.content}});
    return out;
}

BaseLM::BaseLM(std::string model, std::string model_type, Json kwargs)
    : model_(std::move(model)), model_type_(std::move(model_type)), kwargs_(std::move(kwargs)) {
    if (kwargs_.is_null()) kwargs_ = Json::object();
    if (!kwargs_.is_object()) throw TypeError("BaseLM kwargs must be a JSON object, got " + kwargs_.dump());
}

LMResponse BaseLM::forward(const Messages& messages, const Json& kwargs) {
    if (tl_in_default_forward == this)
        throw NotImplementedError("LM '" + model_ + "' implements neither forward() nor aforward(); override one");
    const BaseLM* outer = tl_in_default_forward;
    tl_in_default_forward = this;
    struct Reset {
        const BaseLM* outer;
        ~Reset() { tl_in_default_forward = outer; }
    } reset{outer};
    return run_sync(aforward(messages, kwargs));
}

Task<LMResponse> BaseLM::aforward(Messages messages, Json kwargs) { co_return forward(messages, kwargs); }

Task<std::vector<LMOutput>> BaseLM::call(bool sync, const Messages& messages, const Json& kwargs) {
    Json merged = kwargs_;
    if (kwargs.is_object())
        for (auto it = kwargs.begin(); it != kwargs.end(); ++it) merged[it.key()] = it.value();
    detail::CallbackScope cb(detail::CallbackKind::LM, &callbacks_);
    if (cb.active()) cb.start(this, Json{{"messages", messages_to_json(messages)}, {"kwargs", merged}});

    LMResponse response;
    std::exception_ptr error;
    try {
        if (sync) {
            response = forward(messages, merged);
        } else {
            response = co_await aforward(messages, merged);
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        cb.fail(error);
        std::rethrow_exception(error);
    }

    auto s = settings();
    if (!response.cache_hit && s->usage_tracker) s->usage_tracker->add_usage(model_, response.usage);
    if (!s->disable_history) {
        Json logged_kwargs = Json::object();
        for (auto it = merged.begin(); it != merged.end(); ++it)
            if (it.key().rfind("api_", 0) != 0) logged_kwargs[it.key()] = it.value();  // never log credentials
        Json entry = {{"prompt", nullptr},
                      {"messages", messages_to_json(messages)},
                      {"kwargs", std::move(logged_kwargs)},
                      {"outputs", outputs_json(response.outputs)},
                      {"usage", response.cache_hit ? Json::object() : response.usage},
                      {"cost", nullptr},
                      {"timestamp", iso_now()},
                      {"uuid", uuid4()},
                      {"model", model_},
                      {"response_model", response.response_model},
                      {"model_type", model_type_}};
        update_history(std::move(entry));
    }
    if (cb.active()) cb.end(outputs_json(response.outputs));
    co_return std::move(response.outputs);
}

void BaseLM::update_history(Json entry) {
    auto s = settings();
    {
        std::lock_guard lk(global_history_mu());
        push_capped(global_history_store(), entry, kGlobalHistoryCap);
    }
    if (s->max_history_size <= 0) return;
    const auto cap = static_cast<size_t>(s->max_history_size);
    if (s->caller_modules)
        for (Module* m : *s->caller_modules) m->record_history(entry, cap);
    std::lock_guard lk(history_mu_);
    push_capped(history_, std::move(entry), cap);
}

std::vector<LMOutput> BaseLM::operator()(const Messages& messages, const Json& kwargs) {
    return run_sync(call(true, messages, kwargs));
}

Task<std::vector<LMOutput>> BaseLM::acall(Messages messages, Json kwargs) {
    co_return co_await call(false, messages, kwargs);
}

Json BaseLM::dump_state() const {
    Json state = {{"model", model_}, {"model_type", model_type_}};
    for (auto it = kwargs_.begin(); it != kwargs_.end(); ++it)
        if (it.key() != "api_key") state[it.key()] = it.value();
    return state;
}

std::vector<Json> BaseLM::history() const {
    std::lock_guard lk(history_mu_);
    return {history_.begin(), history_.end()};
}

std::string BaseLM::inspect_history(int n) const {
    std::string text = format_history(history(), n, isatty(STDOUT_FILENO) != 0);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return text;
}

std::vector<Json> global_history() {
    std::lock_guard lk(global_history_mu());
    return {global_history_store().begin(), global_history_store().end()};
}

std::string inspect_history(int n) {
    std::string text = format_history(global_history(), n, isatty(STDOUT_FILENO) != 0);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return text;
}

}  // namespace dspy
