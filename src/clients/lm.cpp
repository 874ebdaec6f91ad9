#include "dspy/clients/lm.hpp"
#include "utils/pyfmt.hpp"

#include <algorithm>
#include <array>
#include <iostream>

#include "clients/cache_members.hpp"
#include "dspy/clients/cache.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {

constexpr std::string_view kLMClassKey = "_dspy_lm_class";
constexpr std::string_view kBuiltinLMClass = "dspy.clients.lm.LM";

// The constructor parameters of dspy.LM other than `model`; every other keyword becomes a request parameter.
constexpr std::array<std::string_view, 11> kNamedParams = {
    "model_type", "temperature",       "max_tokens",    "cache",        "callbacks",          "num_retries",
    "provider",   "finetuning_model", "launch_kwargs", "train_kwargs", "use_developer_role"};

bool is_named_param(std::string_view key) {
    for (auto p : kNamedParams)
        if (p == key) return true;
    return false;
}

const Json* find(const Json& obj, std::string_view key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

void warn(const std::string& message) { std::cerr << "dspy WARNING: " << message << '\n'; }

std::string_view fn_identifier(const std::string& model_type, bool async_call) {
    if (model_type == "chat")
        return async_call ? "dspy.clients.lm.alitellm_completion" : "dspy.clients.lm.litellm_completion";
    if (model_type == "text")
        return async_call ? "dspy.clients.lm.alitellm_text_completion" : "dspy.clients.lm.litellm_text_completion";
    return async_call ? "dspy.clients.lm.alitellm_responses_completion"
                      : "dspy.clients.lm.litellm_responses_completion";
}

// The request keys DSPy's LM leaves out of a cache key (credentials and where the provider is).
constexpr std::array<std::string_view, 3> kIgnoredForKey = {"api_key", "api_base", "base_url"};

bool ignored_for_key(std::string_view key) {
    return std::find(kIgnoredForKey.begin(), kIgnoredForKey.end(), key) != kIgnoredForKey.end();
}

void check_call_kwargs(const Json& kwargs) {
    if (!kwargs.is_null() && !kwargs.is_object())
        throw TypeError(std::string("LM call kwargs must be an object, got ") + kwargs.type_name());
}

constexpr const char* kNoMessages = "LM call without messages: pass at least one message or a prompt";

// The messages of a call as messages_to_json() and orjson with sorted keys write them, for request_key.
struct MessagesText {
    const Messages* messages;
    bool system_as_developer;
    static void write(std::string& out, const void* ctx) {
        const auto* self = static_cast<const MessagesText*>(ctx);
        out += '[';
        bool first = true;
        for (const auto& m : *self->messages) {
            if (!first) out += ',';
            first = false;
            out += "{\"content\":";
            pyfmt::append_json_string(out, m.content);
            out += ",\"role\":";
            pyfmt::append_json_string(out, self->system_as_developer && m.role == "system" ? "developer" : m.role);
            out += '}';
        }
        out += ']';
    }
};

// The pieces of `LMOptions` as the keyword dict Python would receive, in a fixed order.
Json options_to_kwargs(const LMOptions& o) {
    Json kw = Json::object();
    kw["model_type"] = o.model_type;
    kw["temperature"] = o.temperature ? Json(*o.temperature) : Json(nullptr);
    kw["max_tokens"] = o.max_tokens ? Json(*o.max_tokens) : Json(nullptr);
    kw["cache"] = o.cache;
    kw["num_retries"] = o.num_retries;
    kw["finetuning_model"] = o.finetuning_model ? Json(*o.finetuning_model) : Json(nullptr);
    kw["launch_kwargs"] = o.launch_kwargs;
    kw["train_kwargs"] = o.train_kwargs;
    kw["use_developer_role"] = o.use_developer_role;
    if (o.api_key) kw["api_key"] = *o.api_key;
    if (o.api_base) kw["api_base"] = *o.api_base;
    if (o.rollout_id) kw["rollout_id"] = *o.rollout_id;
    if (!o.kwargs.is_null()) {
        if (!o.kwargs.is_object())
            throw TypeError(std::string("LMOptions::kwargs must be a JSON object, got ") + o.kwargs.type_name());
        for (auto it = o.kwargs.begin(); it != o.kwargs.end(); ++it) {
            if (kw.contains(it.key()) || is_named_param(it.key()) || it.key() == "model")
                throw TypeError("LMOptions::kwargs repeats the constructor argument '" + it.key() +
                                "'; set it through its own LMOptions member");
            kw[it.key()] = it.value();
        }
    }
    return kw;
}

bool ascii_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

std::string LMCallRequest::key() const { return cache_key(request, ignored); }

bool LM::is_openai_reasoning_model(std::string_view model) {
    if (auto slash = model.rfind('/'); slash != std::string_view::npos) model.remove_prefix(slash + 1);
    std::string m(model);
    for (char& c : m)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    // Python's `$` also matches before one final newline; `.` never matches a newline.
    std::string_view s = m;
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    if (s.find('\n') != std::string_view::npos) return false;
    // o[1345](-(mini|nano|pro))?(-dddd-dd-dd)?
    if (s.size() >= 2 && s[0] == 'o' && (s[1] == '1' || s[1] == '3' || s[1] == '4' || s[1] == '5')) {
        std::string_view rest = s.substr(2);
        for (std::string_view v : {"-mini", "-nano", "-pro"})
            if (rest.starts_with(v)) {
                rest.remove_prefix(v.size());
                break;
            }
        if (rest.empty()) return true;
        return rest.size() == 11 && rest[0] == '-' && rest[5] == '-' && rest[8] == '-' &&
               ascii_digits(rest.substr(1, 4)) && ascii_digits(rest.substr(6, 2)) && ascii_digits(rest.substr(9, 2));
    }
    // gpt-5(?!-chat)(-.*)?
    if (s.starts_with("gpt-5")) {
        std::string_view rest = s.substr(5);
        if (rest.starts_with("-chat")) return false;
        return rest.empty() || rest[0] == '-';
    }
    return false;
}

LM::LM(std::string model, LMOptions options) : LM(FromKwargs{}, std::move(model), options_to_kwargs(options)) {}

LM::LM(FromKwargs, std::string model, const Json& kwargs) : BaseLM(std::move(model)) {
    if (!kwargs.is_object()) throw TypeError(std::string("LM keyword arguments must be an object, got ") + kwargs.type_name());
    Json temperature = nullptr, max_tokens = nullptr;
    Json extra = Json::object();
    for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
        const std::string& k = it.key();
        const Json& v = it.value();
        if (k == "model") continue;  // consumed by the caller
        if (k == "model_type") {
            if (!v.is_string()) throw TypeError("LM model_type must be a string, got " + v.dump());
            model_type_ = v.get<std::string>();
        } else if (k == "temperature") {
            if (!v.is_null() && !v.is_number() && !v.is_boolean())
                throw TypeError("LM temperature must be a number or null, got " + v.dump());
            temperature = v;
        } else if (k == "max_tokens") {
            if (!v.is_null() && !v.is_number() && !v.is_boolean())
                throw TypeError("LM max_tokens must be a number or null, got " + v.dump());
            max_tokens = v;
        } else if (k == "cache") {
            if (!v.is_boolean()) throw TypeError("LM cache must be true or false, got " + v.dump());
            cache_ = v.get<bool>();
        } else if (k == "num_retries") {
            if (!v.is_number_integer()) throw TypeError("LM num_retries must be an integer, got " + v.dump());
            num_retries_ = v.get<int>();
        } else if (k == "callbacks" || k == "provider") {
            // Python objects; a saved state never holds them. Null is the default.
            if (!v.is_null()) throw TypeError("LM '" + k + "' cannot be given as JSON (got " + v.dump() + ")");
        } else if (k == "finetuning_model") {
            if (!v.is_null() && !v.is_string())
                throw TypeError("LM finetuning_model must be a string or null, got " + v.dump());
            finetuning_model_ = v;
        } else if (k == "launch_kwargs" || k == "train_kwargs") {
            if (!v.is_null() && !v.is_object())
                throw TypeError("LM " + k + " must be an object or null, got " + v.dump());
            // Python keeps `launch_kwargs or {}`.
            (k == "launch_kwargs" ? launch_kwargs_ : train_kwargs_) = v.is_null() ? Json::object() : v;
        } else if (k == "use_developer_role") {
            if (!v.is_boolean()) throw TypeError("LM use_developer_role must be true or false, got " + v.dump());
            use_developer_role_ = v.get<bool>();
        } else {
            extra[k] = v;
        }
    }
    if (model_type_ != "chat" && model_type_ != "text" && model_type_ != "responses")
        throw ValueError("LM model_type must be 'chat', 'text' or 'responses', got '" + model_type_ + "'");

    kwargs_ = Json::object();
    kwargs_["temperature"] = temperature;
    if (is_openai_reasoning_model(model_)) {
        auto below = [](const Json& v, double limit) { return v.is_number() && v.get<double>() < limit; };
        bool bad_temperature = pyfmt::truthy(temperature) && !(temperature.is_number() && temperature.get<double>() == 1.0);
        bool bad_max_tokens = pyfmt::truthy(max_tokens) && below(max_tokens, 16000);
        if (bad_temperature || bad_max_tokens)
            throw LMConfigurationError(
                "[" + model_ +
                "] OpenAI's reasoning models require passing temperature=1.0 or None and max_tokens >= 16000 or None "
                "to `dspy.LM(...)`, e.g., dspy.LM('openai/gpt-5', temperature=1.0, max_tokens=16000)");
        if (extra.contains("max_completion_tokens"))
            throw TypeError("LM got multiple values for 'max_completion_tokens' (a reasoning model's max_tokens)");
        kwargs_["max_completion_tokens"] = max_tokens;
    } else {
        kwargs_["max_tokens"] = max_tokens;
    }
    for (auto it = extra.begin(); it != extra.end(); ++it) {
        if (kwargs_.contains(it.key())) throw TypeError("LM got multiple values for '" + it.key() + "'");
        kwargs_[it.key()] = std::move(it.value());
    }
    if (auto* r = find(kwargs_, "rollout_id"); r && r->is_null()) kwargs_.erase("rollout_id");
    warn_zero_temp_rollout(find(kwargs_, "temperature"), find(kwargs_, "rollout_id"));
}

std::shared_ptr<LM> LM::from_kwargs(const Json& kwargs) {
    if (!kwargs.is_object()) throw TypeError(std::string("LM keyword arguments must be an object, got ") + kwargs.type_name());
    auto m = kwargs.find("model");
    if (m == kwargs.end()) throw TypeError("LM() missing the required argument 'model'");
    if (!m->is_string()) throw TypeError("LM model must be a string, got " + m->dump());
    return std::shared_ptr<LM>(new LM(FromKwargs{}, m->get<std::string>(), kwargs));
}

std::shared_ptr<LM> LM::load_state(const Json& state, bool allow_custom_lm_class) {
    if (!state.is_object()) throw TypeError(std::string("LM state must be an object, got ") + state.type_name());
    Json s = state;
    if (auto cls = s.find(kLMClassKey); cls != s.end()) {
        std::string path = cls->is_string() ? cls->get<std::string>() : cls->dump();
        if (path != kBuiltinLMClass) {
            if (!allow_custom_lm_class)
                throw ValueError("Refusing to import custom serialized LM class `" + path +
                                 "`. Pass allow_unsafe_lm_state=True when loading trusted files to enable custom LM "
                                 "classes.");
            throw NotImplementedError("Cannot rebuild the LM class `" + path +
                                      "`: dspy-cpp can only load `dspy.clients.lm.LM` states");
        }
        s.erase(cls);
    }
    // dspy.LM.load_state: a reasoning model's saved max_completion_tokens is its max_tokens. (Python applies this
    // only to states with a class marker; legacy states with the key would fail there, so we accept them too.)
    if (auto model = s.find("model");
        model != s.end() && model->is_string() && is_openai_reasoning_model(model->get_ref<const std::string&>()) &&
        s.contains("max_completion_tokens")) {
        if (!s.contains("max_tokens")) s["max_tokens"] = s["max_completion_tokens"];
        s.erase("max_completion_tokens");
    }
    return from_kwargs(s);
}

Json LM::dump_state() const {
    Json state = Json::object();
    state[kLMClassKey] = kBuiltinLMClass;
    state["model"] = model_;
    state["model_type"] = model_type_;
    state["cache"] = cache_;
    state["num_retries"] = num_retries_;
    for (auto it = kwargs_.begin(); it != kwargs_.end(); ++it)
        if (it.key() != "api_key" && it.key() != kLMClassKey) state[it.key()] = it.value();
    state["finetuning_model"] = finetuning_model_;
    state["launch_kwargs"] = launch_kwargs_;
    state["train_kwargs"] = train_kwargs_;
    if (use_developer_role_) state["use_developer_role"] = true;
    if (is_openai_reasoning_model(model_) && state.contains("max_completion_tokens")) {
        Json v = std::move(state["max_completion_tokens"]);
        state.erase("max_completion_tokens");
        state["max_tokens"] = std::move(v);
    }
    return state;
}

std::string LM::provider_name() const {
    auto slash = model_.find('/');
    return slash == std::string::npos ? "openai" : model_.substr(0, slash);
}

void LM::warn_zero_temp_rollout(const Json* temperature, const Json* rollout_id) const {
    if (!rollout_id || rollout_id->is_null() || !temperature || !temperature->is_number()) return;
    if (temperature->get<double>() != 0.0) return;
    if (!warned_zero_temp_rollout_.exchange(true))
        warn("rollout_id has no effect when temperature=0; set temperature>0 to bypass the cache.");
}

template <class Add>
bool LM::merge_call_kwargs(const Json& kwargs, Add&& add) const {
    const Json::object_t* call = kwargs.is_object() ? &kwargs.get_ref<const Json::object_t&>() : nullptr;
    bool cache = cache_;
    const std::string* repeated = nullptr;  // reported after the rollout warning, as Python's order has it
    const Json* temperature = nullptr;
    const Json* rollout_id = nullptr;
    auto emit = [&](const std::string& key, const Json& value) {
        if (key == "model" || key == "messages") {
            if (!repeated) repeated = &key;
            return;
        }
        if (key == "temperature") temperature = &value;
        if (key == "rollout_id") {
            rollout_id = &value;
            if (value.is_null()) return;
        }
        add(key, value);
    };
    // The LM's kwargs with the call's values over them, then the call's new keys; the keys are distinct already.
    for (const auto& [key, own] : kwargs_.get_ref<const Json::object_t&>()) {
        const Json* value = &own;
        if (call && key != "cache")
            if (auto it = call->find(key); it != call->end()) value = &it->second;
        emit(key, *value);
    }
    if (call)
        for (const auto& [key, value] : *call) {
            if (key == "cache") {
                cache = pyfmt::truthy(value);
                continue;
            }
            if (!kwargs_.contains(key)) emit(key, value);
        }
    warn_zero_temp_rollout(temperature, rollout_id);
    if (repeated) throw TypeError("LM call got multiple values for '" + *repeated + "'");
    return cache;
}

LMCallRequest LM::build_request(Json messages, const Json& kwargs, bool async_call) const {
    if (!messages.is_array()) throw TypeError(std::string("LM messages must be a list, got ") + messages.type_name());
    if (messages.empty()) throw ValueError(kNoMessages);
    check_call_kwargs(kwargs);

    LMCallRequest out;
    out.ignored.assign(kIgnoredForKey.begin(), kIgnoredForKey.end());
    // Written in one pass in the order of Python's `{"model", "messages", **merged}`, appending to the member
    // vector directly (no merged copy, no key search per member).
    Json& req = out.request;
    req = Json::object();
    auto& members = req.get_ref<Json::object_t&>();
    // Sized once: growing an ordered_json object copies its values (the messages) instead of moving them.
    members.reserve(kwargs_.size() + (kwargs.is_object() ? kwargs.size() : 0) + 3);
    members.emplace_back("model", model_);
    if (system_as_developer())
        for (auto& m : messages)
            if (m.is_object() && m.value("role", Json()) == "system") m["role"] = "developer";
    members.emplace_back("messages", std::move(messages));
    out.cache = merge_call_kwargs(kwargs, [&](const std::string& key, const Json& value) {
        members.emplace_back(key, value);
    });
    req["_fn_identifier"] = std::string(fn_identifier(model_type_, async_call));  // in place if the kwargs had one
    return out;
}

LMCallKey LM::request_key(const Messages& messages, const Json& kwargs, bool async_call) const {
    return call_key(messages, kwargs, async_call, true);
}

LMCallKey LM::call_key(const Messages& messages, const Json& kwargs, bool async_call, bool always) const {
    if (messages.empty()) throw ValueError(kNoMessages);
    check_call_kwargs(kwargs);
    // The members of the request build_request would make, minus the ignored keys, on the stack for the usual
    // handful; the sorted writer hashes them without a Json being built (or destroyed).
    constexpr size_t kSmall = 16;
    pyfmt::OrjsonMember small[kSmall];
    std::vector<pyfmt::OrjsonMember> large;
    pyfmt::OrjsonMember* items = small;
    if (const size_t most = kwargs_.size() + (kwargs.is_object() ? kwargs.size() : 0) + 3; most > kSmall) {
        large.resize(most);
        items = large.data();
    }
    size_t n = 0;
    const MessagesText text{&messages, system_as_developer()};
    items[n++] = {.key = "model", .text = model_};
    items[n++] = {.key = "messages", .write = &MessagesText::write, .ctx = &text};
    LMCallKey out;
    out.cache = merge_call_kwargs(kwargs, [&](const std::string& key, const Json& value) {
        if (key != "_fn_identifier" && !ignored_for_key(key)) items[n++] = {.key = key, .value = &value};
    });
    items[n++] = {.key = "_fn_identifier", .text = fn_identifier(model_type_, async_call)};
    if (out.cache || always) out.key = detail::cache_key_of_members({items, n});
    return out;
}

LMCallRequest LM::build_prompt_request(std::string_view prompt, const Json& kwargs, bool async_call) const {
    Json messages = Json::array();
    messages.push_back(Json{{"role", "user"}, {"content", std::string(prompt)}});
    return build_request(std::move(messages), kwargs, async_call);
}

}  // namespace dspy
