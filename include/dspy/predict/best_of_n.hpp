#pragma once
/// @file
/// BestOfN: run a module up to N times at different rollout ids and keep the best-rewarded prediction.

#include <functional>
#include <optional>

#include "dspy/async/task.hpp"
#include "dspy/primitives/module.hpp"

namespace dspy {

/// A reward: the call's inputs and one attempt's prediction -> a score (higher is better).
/// @sa the `reward_fn(args, pred)` of dspy.BestOfN / dspy.Refine
using RewardFn = std::function<double(const Json& inputs, const Prediction& prediction)>;

/// Runs `module` up to `N` times, each attempt with every predictor's LM replaced by a copy carrying
/// `rollout_id = start + i` (start: the LM's own `rollout_id`, else 0) and `temperature = 1.0`, and returns the
/// first prediction whose reward reaches `threshold`, else the best one. An attempt that throws is reported through
/// the warning sink and counted against `fail_count` (default N): DSPy's rule `if idx > fail_count: raise`, then
/// `fail_count -= 1`. The winning attempt's trace is appended to the caller's trace. `module` is not copied and must
/// outlive this object; its predictors are left untouched (the LM copies are installed per call, in settings
/// scope, so concurrent calls are safe). Registered as submodule `module` (its predictors save as `module.*`).
/// Differences from DSPy 3.3.1: the fail count is per call (DSPy decrements the attribute for good); when every
/// attempt failed without raising, the last error is rethrown (DSPy returns None); and `acall` exists (DSPy's
/// BestOfN has no `aforward`), running the same algorithm with awaited calls.
/// @sa dspy.BestOfN
class BestOfN : public Module {
public:
    /// @throws ValueError when N < 1 or reward_fn is empty. @sa BestOfN.__init__
    BestOfN(Module& module, int N, RewardFn reward_fn, double threshold, std::optional<int> fail_count = std::nullopt);

    /// @sa BestOfN.forward
    Prediction forward(const Inputs& inputs) override;
    /// The same algorithm, awaiting the module (`acall`).
    Task<Prediction> aforward(Inputs inputs) override;

    [[nodiscard]] Module& module() { return module_; }
    [[nodiscard]] int N() const { return n_; }
    [[nodiscard]] double threshold() const { return threshold_; }
    [[nodiscard]] int fail_count() const { return fail_count_; }

private:
    Task<Prediction> attempts(bool sync, const Inputs& inputs);
    Module& module_;
    int n_;
    RewardFn reward_fn_;
    double threshold_;
    int fail_count_;
};

}  // namespace dspy
