#pragma once
// The metrics `dspy batch --metric` scores with, as dspy.evaluate.metrics defines them (ASCII normalisation:
// lower-case, drop punctuation, drop the articles a/an/the, collapse whitespace).

#include <optional>
#include <string>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy::cli {

/// `exact_match, contains, f1`, for messages.
std::string metric_names();
/// Whether `name` is a known metric.
bool is_metric(std::string_view name);
/// @sa dspy.evaluate.metrics.normalize_text
std::string normalize_text(std::string_view s);
/// Scores a predicted value against a gold one (a gold array means any of them; non-strings compare as JSON
/// text). exact_match and contains give 0 or 1, f1 a token F1 in [0, 1]. @sa dspy.evaluate.answer_exact_match,
/// answer_passage_match, F1
double score(std::string_view metric, const Json& predicted, const Json& gold);

}  // namespace dspy::cli
