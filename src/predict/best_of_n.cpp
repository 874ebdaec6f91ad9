#include "dspy/predict/best_of_n.hpp"

#include "dspy/async/run.hpp"
#include "predict/rollout.hpp"

namespace dspy {

BestOfN::BestOfN(Module& module, int N, RewardFn reward_fn, double threshold, std::optional<int> fail_count)
    : module_(module),
      n_(N),
      reward_fn_(std::move(reward_fn)),
      threshold_(threshold),
      fail_count_(detail::checked_fail_count("BestOfN", N, reward_fn_, fail_count)) {
    register_submodule("module", module_);
}

// One spec for both modes, so forward and aforward cannot drift apart.
Task<Prediction> BestOfN::attempts(bool sync, const Inputs& inputs) {
    detail::AttemptsSpec spec{.module = &module_, .n = n_, .reward_fn = &reward_fn_, .threshold = threshold_,
                              .fail_count = fail_count_};
    Prediction p = co_await detail::run_attempts(sync, spec, inputs);
    co_return p;
}

Prediction BestOfN::forward(const Inputs& inputs) { return run_sync(attempts(true, inputs)); }

Task<Prediction> BestOfN::aforward(Inputs inputs) {
    Prediction p = co_await attempts(false, inputs);
    co_return p;
}

}  // namespace dspy
