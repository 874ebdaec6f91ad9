#pragma once
/// @file
/// ChatAdapter: DSPy's default `[[ ## field ## ]]` prompt format.

#include <string>
#include <utility>
#include <vector>

#include "dspy/adapters/base.hpp"

namespace dspy {

/// Prompts with `[[ ## name ## ]]` sections and parses them back; on any non-LM failure it retries the call
/// once with JSONAdapter. @sa dspy.ChatAdapter
class ChatAdapter : public Adapter {
public:
    /// Constructor flags. @sa ChatAdapter.__init__
    struct Options {
        bool use_json_adapter_fallback = true;
        bool use_native_function_calling = false;
    };
    ChatAdapter() = default;
    explicit ChatAdapter(Options options) : options_(options) {}

    [[nodiscard]] Messages format(const Signature& signature, std::span<const Example> demos,
                                  const Json& inputs) const override;
    [[nodiscard]] Json parse(const Signature& signature, std::string_view completion) const override;
    [[nodiscard]] std::string format_field_with_value(const Signature& signature, const Json& values) const override;
    [[nodiscard]] std::vector<Json> operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                               std::span<const Example> demos, const Json& inputs) const override;

    /// The system message: field descriptions, structure and the task. @sa ChatAdapter.format_system_message
    [[nodiscard]] std::string format_system_message(const Signature& signature) const;
    /// @sa ChatAdapter.format_field_description
    [[nodiscard]] virtual std::string format_field_description(const Signature& signature) const;
    /// @sa ChatAdapter.format_field_structure
    [[nodiscard]] virtual std::string format_field_structure(const Signature& signature) const;
    /// @sa ChatAdapter.format_task_description
    [[nodiscard]] virtual std::string format_task_description(const Signature& signature) const;
    /// @sa ChatAdapter.format_user_message_content
    [[nodiscard]] virtual std::string format_user_message_content(const Signature& signature, const Json& inputs,
                                                                  std::string_view prefix = {},
                                                                  std::string_view suffix = {},
                                                                  bool main_request = false) const;
    /// @sa ChatAdapter.format_assistant_message_content
    [[nodiscard]] virtual std::string format_assistant_message_content(
        const Signature& signature, const Json& outputs, const std::string* missing_field_message = nullptr) const;
    /// @sa ChatAdapter.user_message_output_requirements
    [[nodiscard]] virtual std::string user_message_output_requirements(const Signature& signature) const;
    /// @sa Adapter.format_demos
    [[nodiscard]] Messages format_demos(const Signature& signature, std::span<const Example> demos) const;
    /// @sa Adapter.format_conversation_history
    [[nodiscard]] Messages format_conversation_history(const Signature& signature, std::string_view history_field,
                                                       const Json& inputs) const;

    [[nodiscard]] const Options& options() const { return options_; }

    [[nodiscard]] std::string_view adapter_name() const override { return "ChatAdapter"; }

protected:
    /// `[[ ## name ## ]]\nvalue` sections joined by blank lines, stripped (ChatAdapter.format_field_with_value).
    static std::string format_sections(const std::vector<std::pair<const Field*, const Json*>>& items);
    /// The ` (must be formatted as a valid Python T)` hint of an output field (empty for `str`).
    static std::string output_type_info(const Field& field);

    Options options_;
};

}  // namespace dspy
