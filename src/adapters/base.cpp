#include "dspy/adapters/base.hpp"

#include "dspy/utils/exceptions.hpp"

namespace dspy {

std::vector<Json> Adapter::operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                      std::span<const Example> demos, const Json& inputs) const {
    Json kwargs = lm_kwargs.is_object() ? lm_kwargs : Json::object();
    // Without native function calling the tool kwargs never reach the LM (DSPy pops them).
    for (const char* k : {"tools", "tool_choice", "parallel_tool_calls"}) kwargs.erase(k);
    Messages messages = format(signature, demos, inputs);
    auto outputs = lm(messages, kwargs);
    std::vector<Json> values;
    values.reserve(outputs.size());
    for (const auto& out : outputs) {
        if (out.text.empty() && out.extra.value("tool_calls", Json()).is_null()) {
            std::vector<std::string> names;
            for (const Field* f : signature.output_fields()) names.push_back(f->name);
            throw AdapterParseError(std::string(adapter_name()), signature.signature_string(), names, out.text,
                                    "The LM returned an empty or null response.");
        }
        values.push_back(parse(signature, out.text));
    }
    return values;
}

}  // namespace dspy
