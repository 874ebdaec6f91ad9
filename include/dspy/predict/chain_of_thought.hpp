#pragma once
/// @file
/// ChainOfThought: Predict with a `reasoning` output before the others.

#include "dspy/predict/predict.hpp"

namespace dspy {

/// Adds DSPy's `reasoning` output field (before the other outputs) and predicts with it. @sa dspy.ChainOfThought
class ChainOfThought : public Module {
public:
    explicit ChainOfThought(const Signature& signature, Json config = Json::object());
    Prediction forward(const Inputs& inputs) override;
    Task<Prediction> aforward(Inputs inputs) override;

    using Module::operator();
    using Module::acall;
    /// One call with the inner predictor's lm/config/demos/signature replaced (DSPy passes its keyword arguments,
    /// these included, to `self.predict`). @sa ChainOfThought.forward
    Prediction operator()(const Inputs& inputs, const PredictCallOptions& options);
    /// The async twin. @sa ChainOfThought.aforward
    Task<Prediction> acall(Inputs inputs, PredictCallOptions options);
    /// The inner predictor (path `predict`). @sa ChainOfThought.predict
    [[nodiscard]] Predict& predict() { return predict_; }

private:
    Predict predict_;
};

}  // namespace dspy
