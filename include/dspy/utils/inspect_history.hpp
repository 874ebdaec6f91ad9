#pragma once
/// @file
/// Prints LM history entries the way DSPy's inspect_history does.

#include <memory>
#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

/// One recorded LM call (`{"prompt", "messages", "kwargs", "outputs", "usage", ...}`): built once, immutable, and
/// shared (not copied) by the process history, the LM's history and the history of every module it ran under,
/// as DSPy shares one dict between them. @sa the entries of dspy.BaseLM.history
using HistoryEntry = std::shared_ptr<const Json>;

/// The text `pretty_print_history` prints for the last `n` entries (`{"messages", "outputs", "timestamp", ...}`),
/// with ANSI colours when `use_colors` (DSPy colours stdout, not files). @sa dspy.utils.inspect_history.pretty_print_history
std::string format_history(const std::vector<Json>& history, int n = 1, bool use_colors = true);
/// The same for shared entries (what the histories hold), without copying them.
std::string format_history(const std::vector<HistoryEntry>& history, int n = 1, bool use_colors = true);

}  // namespace dspy
