#pragma once
// Test doubles shared by the predictor tests: DSPy's DummyModule (tests/predict/test_refine.py) and an LM that
// records the kwargs of every request.

#include <functional>
#include <vector>

#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/utils/dummies.hpp"

namespace dspy::test_support {

/// A module with one predictor (`predictor`) whose forward is the given function.
class DummyModule : public Module {
public:
    using Fn = std::function<Prediction(DummyModule&, const Inputs&)>;
    DummyModule(const Signature& signature, Fn fn) : predictor(signature), fn_(std::move(fn)) {
        register_submodule("predictor", predictor);
    }
    Prediction forward(const Inputs& inputs) override { return fn_(*this, inputs); }
    Predict predictor;

private:
    Fn fn_;
};

/// DummyLM that also keeps the merged kwargs of each request.
class RecordingLM : public DummyLM {
public:
    using DummyLM::DummyLM;
    LMResponse forward(const Messages& m, const Json& kwargs) override {
        calls.push_back(kwargs);
        return DummyLM::forward(m, kwargs);
    }
    std::vector<Json> calls;
};

/// The answers of DSPy's Refine/BestOfN tests.
inline std::vector<Json> brussels_answers() {
    return {{{"answer", "Brussels"}}, {{"answer", "City of Brussels"}}, {{"answer", "Brussels"}}};
}

}  // namespace dspy::test_support
