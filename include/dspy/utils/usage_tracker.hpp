#pragma once
/// @file
/// Token usage per model, summed the way DSPy sums it.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

/// Collects usage entries per LM and merges them (numbers add, nested dicts merge, null counts as 0).
/// Thread-safe: concurrent calls inside one tracked scope may add at once. @sa dspy.utils.usage_tracker.UsageTracker
class UsageTracker {
public:
    UsageTracker() = default;
    /// A deep copy (what ParallelExecutor gives each task, so the parent's tracker is left as it was).
    /// @sa copy.deepcopy(usage_tracker) in ParallelExecutor
    UsageTracker(const UsageTracker& other);
    UsageTracker& operator=(const UsageTracker&) = delete;
    /// Records one call's usage for `lm` (empty entries are ignored, as in DSPy). @sa UsageTracker.add_usage
    void add_usage(const std::string& lm, const Json& usage_entry);
    /// `{lm: merged usage}` in first-use order. @sa UsageTracker.get_total_tokens
    [[nodiscard]] Json get_total_tokens() const;

    /// DSPy's merge rule, exposed for Prediction usage and tests. @sa UsageTracker._merge_usage_entries
    static Json merge_usage_entries(const Json& a, const Json& b);

private:
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, std::vector<Json>>> usage_;
};

}  // namespace dspy
