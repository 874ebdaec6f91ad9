#pragma once
/// @file
/// Adapter: turns a signature, demos and inputs into chat messages, and LM completions back into fields.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/json.hpp"
#include "dspy/primitives/example.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// The adapter interface. @sa dspy.Adapter
class Adapter {
public:
    virtual ~Adapter() = default;

    /// The messages for one call: system, demos, history, the current user message. @sa Adapter.format
    [[nodiscard]] virtual Messages format(const Signature& signature, std::span<const Example> demos,
                                          const Json& inputs) const = 0;
    /// The output fields found in one completion, typed per the signature. @throws AdapterParseError
    /// @sa Adapter.parse
    [[nodiscard]] virtual Json parse(const Signature& signature, std::string_view completion) const = 0;
    /// Writes output field values the way this adapter expects completions to look (DummyLM uses it).
    /// @sa Adapter.format_field_with_value
    [[nodiscard]] virtual std::string format_field_with_value(const Signature& signature,
                                                              const Json& values) const = 0;

    /// "ChatAdapter", "JSONAdapter", ...: the name DSPy uses in errors.
    [[nodiscard]] virtual std::string_view adapter_name() const = 0;

    /// format -> LM -> parse each completion; returns one object of fields per completion. @sa Adapter.__call__
    [[nodiscard]] std::vector<Json> operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                               std::span<const Example> demos, const Json& inputs) const;
    /// The async twin: the same steps, awaiting the LM. `demos` must outlive the await. @sa Adapter.acall
    [[nodiscard]] Task<std::vector<Json>> acall(BaseLM& lm, Json lm_kwargs, Signature signature,
                                                std::span<const Example> demos, Json inputs) const;

protected:
    /// The call pipeline, written once for both modes: `sync` calls the LM with `lm(...)`, otherwise
    /// `co_await lm.acall(...)`. Subclasses wrap it (ChatAdapter's JSON fallback, JSONAdapter's response_format).
    [[nodiscard]] virtual Task<std::vector<Json>> call(bool sync, BaseLM& lm, Json lm_kwargs,
                                                       const Signature& signature, std::span<const Example> demos,
                                                       const Json& inputs) const;
};

}  // namespace dspy
