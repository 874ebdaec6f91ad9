#pragma once
// The attempt loop shared by BestOfN and Refine (private to the library).

#include <optional>
#include <string>
#include <string_view>

#include "dspy/async/task.hpp"
#include "dspy/predict/best_of_n.hpp"

namespace dspy::detail {

/// One BestOfN/Refine call's parameters.
struct AttemptsSpec {
    Module* module = nullptr;
    int n = 1;
    const RewardFn* reward_fn = nullptr;
    std::optional<double> threshold{};
    int fail_count = 1;
    /// Refine: ask OfferFeedback for advice between attempts and inject it as `hint_`.
    bool feedback = false;
    const std::string* module_code = nullptr;
    const std::string* reward_code = nullptr;
};

/// Checks a BestOfN/Refine constructor's arguments and returns the fail count (`fail_count or N`).
/// @throws ValueError when N < 1 or the reward function is empty.
int checked_fail_count(std::string_view who, int n, const RewardFn& reward_fn, std::optional<int> fail_count);

/// The algorithm of BestOfN.forward / Refine.forward, for both modes (`sync`: plain calls under run_sync).
Task<Prediction> run_attempts(bool sync, const AttemptsSpec& spec, const Json& inputs);

}  // namespace dspy::detail
