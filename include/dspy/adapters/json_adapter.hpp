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

}  // namespace dspy
