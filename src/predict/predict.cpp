#include "dspy/predict/predict.hpp"

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

Predict::Predict(Signature signature, Json config) : signature_(std::move(signature)), config_(std::move(config)) {
    if (config_.is_null()) config_ = Json::object();
    if (!config_.is_object()) throw TypeError("Predict config must be a JSON object");
}

Prediction Predict::forward(const Inputs& inputs) { return run_sync(run_predict(true, inputs)); }

Task<Prediction> Predict::aforward(Inputs inputs) { co_return co_await run_predict(false, inputs); }

Task<Prediction> Predict::run_predict(bool sync, const Inputs& inputs) {
    auto s = settings();
    std::shared_ptr<BaseLM> lm = lm_ ? lm_ : s->lm;
    if (!lm)
        throw ValueError(
            "No LM is loaded. Please configure the LM using `dspy.configure(lm=dspy.LM(...))`. e.g, "
            "`dspy.configure(lm=dspy.LM('openai/gpt-4o-mini'))`");
    Json config = config_;
    const Json& lmkw = lm->kwargs();
    // DSPy's n/temperature rule: several samples at (near-)zero temperature would all be the same.
    auto truthy = [](const Json* v) { return v && !v->is_null() && !(v->is_number() && v->get<double>() == 0); };
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
    if ((!temperature || temperature->is_null() || temperature->get<double>() <= 0.15) && n > 1)
        config["temperature"] = 0.7;

    static const ChatAdapter default_adapter;
    const Adapter& adapter = s->adapter ? *s->adapter : default_adapter;
    std::vector<Json> completions;
    if (sync) {
        completions = adapter(*lm, config, signature_, demos_, inputs);
    } else {
        completions = co_await adapter.acall(*lm, std::move(config), signature_, demos_, inputs);
    }
    Prediction prediction = Prediction::from_completions(std::move(completions));
    if (s->trace && s->max_trace_size > 0) s->trace->append(TraceEntry{this, inputs, prediction}, s->max_trace_size);
    co_return prediction;
}

}  // namespace dspy
