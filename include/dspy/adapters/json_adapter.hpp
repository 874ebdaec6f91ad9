#pragma once
/// @file
/// JSONAdapter: asks for the outputs as one JSON object.

#include "dspy/adapters/chat_adapter.hpp"

namespace dspy {

/// ChatAdapter's layout with the outputs as a JSON object; parsing tolerates fences and prose around it.
/// @sa dspy.JSONAdapter
class JSONAdapter : public ChatAdapter {
public:
    JSONAdapter() : ChatAdapter(Options{.use_json_adapter_fallback = false, .use_native_function_calling = true}) {}
    /// With explicit flags (ChatAdapter's fallback passes its own `use_native_function_calling`); a JSONAdapter
    /// never falls back, whatever `use_json_adapter_fallback` says. @sa JSONAdapter.__init__
    explicit JSONAdapter(Options options) : ChatAdapter(options) {}

    [[nodiscard]] Json parse(const Signature& signature, std::string_view completion) const override;
    [[nodiscard]] std::string format_field_with_value(const Signature& signature, const Json& values) const override;
    [[nodiscard]] std::vector<Json> operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                               std::span<const Example> demos, const Json& inputs) const override;
    [[nodiscard]] std::string format_field_structure(const Signature& signature) const override;
    [[nodiscard]] std::string format_assistant_message_content(
        const Signature& signature, const Json& outputs,
        const std::string* missing_field_message = nullptr) const override;
    [[nodiscard]] std::string user_message_output_requirements(const Signature& signature) const override;
    [[nodiscard]] std::string_view adapter_name() const override { return "JSONAdapter"; }
};

/// The JSON schema of DSPy's structured-outputs model `DSPyProgramOutputs` for the signature's outputs (the
/// ToolCalls output is left out when `use_native_function_calling`): one property per output field with pydantic's
/// title, and every object made strict (`required` = all properties, `additionalProperties: false`).
/// @throws ValueError for an open-ended `dict[...]` output, which structured outputs cannot express.
/// @sa dspy.adapters.json_adapter._get_structured_outputs_response_format
Json structured_outputs_schema(const Signature& signature, bool use_native_function_calling = true);

/// The `response_format` JSONAdapter sends for structured outputs: `{"type": "json_schema", "json_schema":
/// {"schema": structured_outputs_schema(...), "name": "DSPyProgramOutputs", "strict": true}}` (what litellm makes
/// of DSPy's pydantic model class).
Json structured_outputs_response_format(const Signature& signature, bool use_native_function_calling = true);

}  // namespace dspy
