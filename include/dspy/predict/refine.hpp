#pragma once
/// @file
/// Refine: BestOfN plus LM-written advice between attempts, fed to every predictor as a `hint_` input.

#include <optional>
#include <string>

#include "dspy/predict/best_of_n.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// Like BestOfN (same rollout ids, temperature, threshold, fail count and trace handling), but after an attempt
/// whose reward misses the threshold (and before the last one), `Predict(OfferFeedback)` with the settings' LM
/// reads the program, its trajectory (the attempt's trace), outputs and reward and writes `advice` per predictor
/// name; the next attempts run under an adapter that appends the input field `hint_` ("A hint to the module from
/// an earlier run") with that predictor's advice ("N/A" when it has none). A failing feedback call counts as a
/// failed attempt, as in DSPy. Python sends the source code of the module class and of the reward function; C++
/// has none, so `program_code` / `reward_code` are what set_module_code / set_reward_code gave (by default a
/// sentence saying the source is not available). The differences from DSPy listed under BestOfN apply here too;
/// additionally the hint reaches the prompt only (DSPy's trace entries also show `hint_`, a noted TODO there).
/// @sa dspy.Refine
class Refine : public Module {
public:
    /// `threshold` unset: never stop early. @throws ValueError when N < 1 or reward_fn is empty.
    /// @sa Refine.__init__
    Refine(Module& module, int N, RewardFn reward_fn, std::optional<double> threshold,
           std::optional<int> fail_count = std::nullopt);

    /// @sa Refine.forward
    Prediction forward(const Inputs& inputs) override;
    /// The same algorithm, awaiting the module and the feedback predictor.
    Task<Prediction> aforward(Inputs inputs) override;

    /// The text sent as `program_code` (Python: `inspect.getsource(module.__class__)`).
    void set_module_code(std::string code) { module_code_ = std::move(code); }
    /// The text sent as `reward_code` (Python: `inspect.getsource(reward_fn)`).
    void set_reward_code(std::string code) { reward_code_ = std::move(code); }

    [[nodiscard]] Module& module() { return module_; }
    [[nodiscard]] int N() const { return n_; }
    [[nodiscard]] std::optional<double> threshold() const { return threshold_; }
    [[nodiscard]] int fail_count() const { return fail_count_; }

    /// DSPy's OfferFeedback signature (instructions, fields and descriptions verbatim). @sa dspy.predict.refine.OfferFeedback
    static const Signature& offer_feedback_signature();
    /// The `modules_defn` text: each predictor's name, fields and instructions between dashed lines.
    /// @sa dspy.predict.refine.inspect_modules
    static std::string inspect_modules(Module& program);

private:
    Task<Prediction> attempts(bool sync, const Inputs& inputs);
    Module& module_;
    int n_;
    RewardFn reward_fn_;
    std::optional<double> threshold_;
    int fail_count_;
    std::string module_code_ = "(The source code of this C++ program is not available.)";
    std::string reward_code_ = "(The source code of this C++ reward function is not available.)";
};

}  // namespace dspy
