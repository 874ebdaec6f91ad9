#include "dspy/predict/predict.hpp"

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

std::shared_ptr<const PredictOverrides> PredictOverrides::push(std::vector<Entry> entries) {
    auto next = std::make_shared<PredictOverrides>();
    next->entries = std::move(entries);
    if (auto s = settings(); s->predict_overrides)
        next->entries.insert(next->entries.end(), s->predict_overrides->entries.begin(),
                             s->predict_overrides->entries.end());
    return next;
}

ContextScope PredictOverrides::scope_for(const Predict& predictor, const PredictCallOptions& options) {
    std::vector<Entry> entries;
    entries.push_back(Entry{&predictor, options});
    SettingsOverrides o;
    o.predict_overrides = push(std::move(entries));
    return context(o);
}

Predict::Predict(Signature signature, Json config) : signature_(std::move(signature)), config_(std::move(config)) {
    if (config_.is_null()) config_ = Json::object();
    if (!config_.is_object()) throw TypeError("Predict config must be a JSON object");
}

Prediction Predict::forward(const Inputs& inputs) { return run_sync(run_predict(true, inputs)); }

Task<Prediction> Predict::aforward(Inputs inputs) { co_return co_await run_predict(false, inputs); }

namespace {

std::string positional_args_message(const Signature& signature) {
    std::string names, first;
    for (size_t i = 0; i < signature.n_inputs(); ++i) {
        if (i) names += ", ";
        names += signature.fields()[i].name;
    }
    if (signature.n_inputs() > 0) first = signature.fields()[0].name;
    return "Positional arguments are not allowed when calling `dspy.Predict`, must use keyword arguments that match "
           "your signature input fields: '" +
           names + "'. For example: `predict(" + first + "=input_value, ...)`.";
}

// Python's type(x) for a JSON value, as printed in DSPy's invalid-LM error.
const char* python_type(const Json& v) {
    switch (v.type()) {
        case Json::value_t::boolean: return "<class 'bool'>";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "<class 'int'>";
        case Json::value_t::number_float: return "<class 'float'>";
        case Json::value_t::object: return "<class 'dict'>";
        case Json::value_t::array: return "<class 'list'>";
        default: return "<class 'object'>";
    }
}

bool is_reserved(const std::string& key) {
    return key == "signature" || key == "demos" || key == "config" || key == "lm" || key == "_trace" ||
           key == "new_signature" || key == "prediction";
}

Json names_list(const std::vector<std::string>& names) {
    Json out = Json::array();
    for (const auto& n : names) out.push_back(n);
    return out;
}

}  // namespace

Prediction Predict::operator()(const Inputs& inputs, const PredictCallOptions& options) {
    ContextScope scope = PredictOverrides::scope_for(*this, options);
    return Module::operator()(inputs);
}

Task<Prediction> Predict::acall(Inputs inputs, PredictCallOptions options) {
    ContextScope scope = PredictOverrides::scope_for(*this, options);
    Prediction p = co_await Module::acall(std::move(inputs));
    co_return p;
}

Task<Prediction> Predict::run_predict(bool sync, const Inputs& inputs) {
    if (!inputs.is_object() && !inputs.is_null()) throw ValueError(positional_args_message(signature_));
    auto s = settings();

    // Options given for this call (PredictCallOptions scopes, newest first), then the reserved input keys.
    const Signature* signature = &signature_;
    const std::vector<Example>* demos = &demos_;
    std::shared_ptr<BaseLM> lm = lm_;
    Json config = config_;
    if (const PredictOverrides* ov = s->predict_overrides.get()) {
        bool got_lm = false, got_signature = false, got_demos = false;
        std::vector<const Json*> configs;
        for (const auto& e : ov->entries) {
            if (e.predictor != this) continue;
            if (!got_lm && e.options.lm) lm = e.options.lm, got_lm = true;
            if (!got_signature && e.options.signature) signature = &*e.options.signature, got_signature = true;
            if (!got_demos && e.options.demos) demos = &*e.options.demos, got_demos = true;
            if (e.options.config) configs.push_back(&*e.options.config);
        }
        for (auto it = configs.rbegin(); it != configs.rend(); ++it) {
            if (!(*it)->is_object())
                throw TypeError("PredictCallOptions::config must be a JSON object, got " + (*it)->dump());
            for (auto kv = (*it)->begin(); kv != (*it)->end(); ++kv) config[kv.key()] = kv.value();
        }
    }

    // Copy the inputs only when something must be popped or filled in (the common call passes them through).
    bool needs_copy = false;
    if (inputs.is_object())
        for (auto it = inputs.begin(); it != inputs.end() && !needs_copy; ++it) needs_copy = is_reserved(it.key());
    std::optional<Signature> call_signature;
    std::vector<Example> call_demos;
    Json owned;
    bool record_trace = true;
    if (needs_copy) {
        owned = inputs;
        if (owned.contains("new_signature"))
            throw ValueError("new_signature is no longer a valid keyword argument.");
        if (auto it = owned.find("signature"); it != owned.end()) {
            if (!it->is_string())
                throw TypeError("the `signature` call argument must be a string signature such as \"q -> a\", got " +
                                it->dump());
            call_signature.emplace(it->get<std::string>());
            signature = &*call_signature;
            owned.erase(it);
        }
        if (auto it = owned.find("demos"); it != owned.end()) {
            if (!it->is_array()) throw TypeError("the `demos` call argument must be a list of objects, got " + it->dump());
            for (size_t i = 0; i < it->size(); ++i) {
                if (!(*it)[i].is_object())
                    throw TypeError("demos[" + std::to_string(i) + "] must be an object, got " + (*it)[i].dump());
                call_demos.emplace_back((*it)[i]);
            }
            demos = &call_demos;
            owned.erase(it);
        }
        if (auto it = owned.find("config"); it != owned.end()) {
            if (!it->is_object()) throw TypeError("the `config` call argument must be an object, got " + it->dump());
            for (auto kv = it->begin(); kv != it->end(); ++kv) config[kv.key()] = kv.value();
            owned.erase(it);
        }
        if (auto it = owned.find("lm"); it != owned.end()) {
            // An LM object cannot travel in JSON (use PredictCallOptions::lm); `None` means "not this one".
            if (it->is_string())
                throw ValueError("LM must be an instance of `dspy.BaseLM`, not a string. Instead of using a string like "
                                 "'dspy.configure(lm=\"" + it->get<std::string>() +
                                 "\")', please configure the LM like 'dspy.configure(lm=dspy.LM(\"" +
                                 it->get<std::string>() + "\"))'");
            if (!it->is_null())
                throw ValueError(std::string("LM must be an instance of `dspy.BaseLM`, not ") + python_type(*it) +
                                 ". Received `lm=" + pyfmt::str(*it) + "`.");
            lm = nullptr;
            owned.erase(it);
        }
        if (auto it = owned.find("_trace"); it != owned.end()) {
            record_trace = pyfmt::truthy(*it);
            owned.erase(it);
        }
        if (auto it = owned.find("prediction"); it != owned.end()) {
            if (it->is_object() && it->value("type", Json()) == "content" && it->contains("content")) {
                config["prediction"] = *it;  // OpenAI predicted outputs go to the LM, not the prompt
                owned.erase(it);
            }
        }
    }
    if (!lm) lm = s->lm;
    if (!lm)
        throw ValueError(
            "No LM is loaded. Please configure the LM using `dspy.configure(lm=dspy.LM(...))`. e.g, "
            "`dspy.configure(lm=dspy.LM('openai/gpt-4o-mini'))`");

    // Defaults for missing inputs.
    const auto& fields = signature->fields();
    const size_t n_inputs = signature->n_inputs();
    for (size_t i = 0; i < n_inputs; ++i) {
        if (!fields[i].default_value) continue;
        const Json& cur = needs_copy ? owned : inputs;
        if (cur.is_object() && cur.contains(fields[i].name)) continue;
        if (!needs_copy) {
            owned = inputs.is_object() ? inputs : Json::object();
            needs_copy = true;
        }
        owned[fields[i].name] = *fields[i].default_value;
    }
    static const Json kEmpty = Json::object();
    const Json& kwargs = needs_copy ? owned : (inputs.is_object() ? inputs : kEmpty);

    // DSPy's input warnings (type-mismatch checks are not implemented).
    auto is_input = [&](const std::string& key) {
        for (size_t i = 0; i < n_inputs; ++i)
            if (fields[i].name == key) return true;
        return false;
    };
    std::vector<std::string> extra, expected, present, missing;
    for (auto it = kwargs.begin(); it != kwargs.end(); ++it)
        if (!is_input(it.key())) extra.push_back(it.key());
    for (size_t i = 0; i < n_inputs; ++i) {
        expected.push_back(fields[i].name);
        if (kwargs.contains(fields[i].name))
            present.push_back(fields[i].name);
        else if (!fields[i].type.admits_none())
            missing.push_back(fields[i].name);
    }
    if (!extra.empty())
        warn("Input contains fields not in signature. These fields will be ignored: " + pyfmt::repr(names_list(extra)) +
             ". Expected fields: " + pyfmt::repr(names_list(expected)) + ".");
    if (!missing.empty())
        warn("Not all input fields were provided to module. Present: " + pyfmt::repr(names_list(present)) +
             ". Missing: " + pyfmt::repr(names_list(missing)) + ".");

    const Json& lmkw = lm->kwargs();
    // DSPy's n/temperature rule: several samples at (near-)zero temperature would all be the same.
    auto truthy = [](const Json* v) { return v && pyfmt::truthy(*v); };
    auto find = [](const Json& obj, const char* key) -> const Json* {
        auto it = obj.find(key);
        return it == obj.end() ? nullptr : &*it;
    };
    const Json* temperature = find(config, "temperature");
    if (!truthy(temperature)) temperature = find(lmkw, "temperature");
    int64_t n = 1;
    for (const Json* c : {find(config, "n"), find(lmkw, "n"), find(lmkw, "num_generations")})
        if (truthy(c) && c->is_number()) {
            n = c->get<int64_t>();
            break;
        }
    if ((!temperature || temperature->is_null() || (temperature->is_number() && temperature->get<double>() <= 0.15)) &&
        n > 1)
        config["temperature"] = 0.7;

    static const ChatAdapter default_adapter;
    const Adapter& adapter = s->adapter ? *s->adapter : default_adapter;
    std::vector<Json> completions;
    if (sync) {
        completions = adapter(*lm, config, *signature, *demos, kwargs);
    } else {
        completions = co_await adapter.acall(*lm, std::move(config), *signature, *demos, kwargs);
    }
    Prediction prediction = Prediction::from_completions(std::move(completions));
    if (record_trace && s->trace && s->max_trace_size > 0)
        s->trace->record(this, kwargs, prediction, s->max_trace_size);
    co_return prediction;
}

}  // namespace dspy
