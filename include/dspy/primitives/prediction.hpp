#pragma once
/// @file
/// Prediction: the output of a module call, with all completions when n > 1.

#include <iosfwd>
#include <vector>

#include "dspy/primitives/example.hpp"

namespace dspy {

/// A module's result: output fields (of the first completion) plus every completion. @sa dspy.Prediction
class Prediction : public Example {
public:
    Prediction() = default;
    /// A prediction holding exactly these fields.
    explicit Prediction(Json fields) : Example(std::move(fields)) {}
    Prediction(std::initializer_list<std::pair<const std::string, Json>> items) : Example(items) {}

    /// From the parsed completions (one object of field values each); the first one supplies the fields.
    /// @sa Prediction.from_completions
    static Prediction from_completions(std::vector<Json> completions);

    /// Every completion's fields, in order (size n; at least the prediction itself). @sa Prediction.completions
    [[nodiscard]] const std::vector<Json>& completions() const { return completions_; }
    /// All completions' values of one field. @sa Completions.__getattr__
    [[nodiscard]] std::vector<Json> completions_of(std::string_view field) const;

    /// Token usage per model, when usage tracking was on. @sa Prediction.get_lm_usage
    [[nodiscard]] const Json& get_lm_usage() const { return lm_usage_; }
    void set_lm_usage(Json usage) { lm_usage_ = std::move(usage); }

    /// DSPy's repr: `Prediction(\n    answer='Paris'\n)`, plus the completions note when n > 1.
    [[nodiscard]] std::string repr() const;

private:
    std::vector<Json> completions_;
    Json lm_usage_;
};

std::ostream& operator<<(std::ostream& os, const Prediction& p);

}  // namespace dspy
