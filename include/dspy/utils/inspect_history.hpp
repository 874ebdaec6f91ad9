#pragma once
/// @file
/// Prints LM history entries the way DSPy's inspect_history does.

#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

/// The text `pretty_print_history` prints for the last `n` entries (`{"messages", "outputs", "timestamp", ...}`),
/// with ANSI colours when `use_colors` (DSPy colours stdout, not files). @sa dspy.utils.inspect_history.pretty_print_history
std::string format_history(const std::vector<Json>& history, int n = 1, bool use_colors = true);

}  // namespace dspy
