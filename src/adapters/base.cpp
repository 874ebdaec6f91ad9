#include "dspy/adapters/base.hpp"

#include "dspy/async/run.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {
Json messages_json_for_callback(const Messages& m) { return messages_to_json(m); }
}  // namespace

std::vector<Json> Adapter::operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                      std::span<const Example> demos, const Json& inputs) const {
    return run_sync(call(true, lm, lm_kwargs, signature, demos, inputs));
}

Task<std::vector<Json>> Adapter::acall(BaseLM& lm, Json lm_kwargs, Signature signature,
                                       std::span<const Example> demos, Json inputs) const {
    co_return co_await call(false, lm, std::move(lm_kwargs), signature, demos, inputs);
}

Task<std::vector<Json>> Adapter::call(bool sync, BaseLM& lm, Json lm_kwargs, const Signature& signature,
                                      std::span<const Example> demos, const Json& inputs) const {
    Json kwargs = lm_kwargs.is_object() ? std::move(lm_kwargs) : Json::object();
    // Without native function calling the tool kwargs never reach the LM (DSPy pops them).
    for (const char* k : {"tools", "tool_choice", "parallel_tool_calls"}) kwargs.erase(k);

    Messages messages;
    {
        detail::CallbackScope cb(detail::CallbackKind::AdapterFormat, nullptr);
        if (cb.active()) {
            Json demo_json = Json::array();
            for (const auto& d : demos) demo_json.push_back(d.data());
            cb.start(this, Json{{"signature", signature.signature_string()}, {"demos", demo_json}, {"inputs", inputs}});
        }
        try {
            messages = format(signature, demos, inputs);
        } catch (...) {
            cb.fail(std::current_exception());
            throw;
        }
        if (cb.active()) cb.end(messages_json_for_callback(messages));
    }

    std::vector<LMOutput> outputs;
    if (sync) {
        outputs = lm(messages, kwargs);
    } else {
        outputs = co_await lm.acall(std::move(messages), std::move(kwargs));
    }

    std::vector<Json> values;
    values.reserve(outputs.size());
    for (const auto& out : outputs) {
        if (out.text.empty() && out.extra.value("tool_calls", Json()).is_null()) {
            std::vector<std::string> names;
            for (const Field* f : signature.output_fields()) names.push_back(f->name);
            throw AdapterParseError(std::string(adapter_name()), signature.signature_string(), names, out.text,
                                    "The LM returned an empty or null response.");
        }
        detail::CallbackScope cb(detail::CallbackKind::AdapterParse, nullptr);
        if (cb.active()) cb.start(this, Json{{"signature", signature.signature_string()}, {"completion", out.text}});
        try {
            values.push_back(parse(signature, out.text));
        } catch (...) {
            cb.fail(std::current_exception());
            throw;
        }
        if (cb.active()) cb.end(values.back());
    }
    co_return values;
}

}  // namespace dspy
