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
std::deque<HistoryEntry>& global_history_store() {
    static std::deque<HistoryEntry> h;
    return h;
}

// Returns the evicted entry so that the caller drops it (possibly the last reference, freeing a whole Json tree)
// after releasing its lock.
HistoryEntry push_capped(std::deque<HistoryEntry>& v, HistoryEntry entry, size_t cap) {
    HistoryEntry evicted;
    if (cap == 0) return evicted;
    while (v.size() >= cap) {
        evicted = std::move(v.front());
        v.pop_front();
    }
    v.push_back(std::move(entry));
    return evicted;
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
    // Built member by member: an initializer list would copy each string twice (it is on every LM call's path).
    Json out = Json::array();
    auto& items = out.get_ref<Json::array_t&>();
    items.reserve(messages.size());
    for (const auto& m : messages) {
        Json& message = items.emplace_back(Json::value_t::object);
        auto& members = message.get_ref<Json::object_t&>();
        members.reserve(2);
        members.emplace_back("role", m.role);
        members.emplace_back("content", m.content);
    }
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
        // Built once and shared by every history that records it (DSPy appends the same dict to each).
        auto entry = std::make_shared<Json>(Json::object());
        Json& e = *entry;
        // ordered_json grows a vector of pair<const string, Json>, which it copies (the key is const, so the move
        // is not noexcept) with every value, messages included: size it once.
        e.get_ref<Json::object_t&>().reserve(11);
        e["prompt"] = nullptr;
        e["messages"] = messages_to_json(messages);
        Json& logged_kwargs = e["kwargs"] = Json::object();
        for (auto it = merged.begin(); it != merged.end(); ++it)
            if (it.key().rfind("api_", 0) != 0) logged_kwargs[it.key()] = std::move(it.value());  // no credentials
        e["outputs"] = outputs_json(response.outputs);
        e["usage"] = response.cache_hit ? Json::object() : std::move(response.usage);
        e["cost"] = nullptr;
        e["timestamp"] = iso_now();
        e["uuid"] = uuid4();
        e["model"] = model_;
        e["response_model"] = std::move(response.response_model);
        e["model_type"] = model_type_;
        update_history(std::move(entry));
    }
    if (cb.active()) cb.end(outputs_json(response.outputs));
    co_return std::move(response.outputs);
}

void BaseLM::update_history(HistoryEntry entry) {
    auto s = settings();
    HistoryEntry evicted;
    {
        std::lock_guard lk(global_history_mu());
        evicted = push_capped(global_history_store(), entry, kGlobalHistoryCap);
    }
    if (s->max_history_size <= 0) return;
    const auto cap = static_cast<size_t>(s->max_history_size);
    if (s->caller_modules)
        for (Module* m : *s->caller_modules) m->record_history(entry, cap);
    HistoryEntry evicted_here;
    std::lock_guard lk(history_mu_);
    evicted_here = push_capped(history_, std::move(entry), cap);
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
    std::vector<Json> out;
    for (const auto& e : history_entries()) out.push_back(*e);
    return out;
}

std::vector<HistoryEntry> BaseLM::history_entries() const {
    std::lock_guard lk(history_mu_);
    return {history_.begin(), history_.end()};
}

std::string BaseLM::inspect_history(int n) const {
    std::string text = format_history(history_entries(), n, isatty(STDOUT_FILENO) != 0);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return text;
}

std::vector<HistoryEntry> global_history_entries() {
    std::lock_guard lk(global_history_mu());
    return {global_history_store().begin(), global_history_store().end()};
}

std::vector<Json> global_history() {
    std::vector<Json> out;
    for (const auto& e : global_history_entries()) out.push_back(*e);
    return out;
}

std::string inspect_history(int n) {
    std::string text = format_history(global_history_entries(), n, isatty(STDOUT_FILENO) != 0);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return text;
}

}  // namespace dspy
