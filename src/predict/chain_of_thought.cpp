#include "dspy/predict/chain_of_thought.hpp"


namespace dspy {

namespace {
Signature with_reasoning(const Signature& s) { return s.prepend(Field::output("reasoning")); }
}  // namespace

ChainOfThought::ChainOfThought(const Signature& signature, Json config)
    : predict_(with_reasoning(signature), std::move(config)) {
    register_submodule("predict", predict_);
}

Prediction ChainOfThought::forward(const Inputs& inputs) { return predict_(inputs); }

Task<Prediction> ChainOfThought::aforward(Inputs inputs) { co_return co_await predict_.acall(std::move(inputs)); }

Prediction ChainOfThought::operator()(const Inputs& inputs, const PredictCallOptions& options) {
    ContextScope scope = PredictOverrides::scope_for(predict_, options);
    return Module::operator()(inputs);
}

Task<Prediction> ChainOfThought::acall(Inputs inputs, PredictCallOptions options) {
    ContextScope scope = PredictOverrides::scope_for(predict_, options);
    Prediction p = co_await Module::acall(std::move(inputs));
    co_return p;
}

}  // namespace dspy
