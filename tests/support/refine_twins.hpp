#pragma once
// DSPy's test_refine.py and test_best_of_n.py hold the same three tests; written once here for both modules.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"
#include "support/scripted_modules.hpp"

namespace dspy::test_support {

/// test_refine_forward_success_first_attempt; returns the warnings.
template <typename Refiner>
std::vector<std::string> forward_success_first_attempt() {
    auto scope = context({.lm = std::make_shared<DummyLM>(brussels_answers())});
    int module_call_count = 0, reward_call_count = 0;
    DummyModule predict("question -> answer", [&](DummyModule& self, const Inputs& in) {
        ++module_call_count;
        return self.predictor(in);
    });
    auto reward_fn = [&](const Json&, const Prediction& pred) {
        ++reward_call_count;
        return pred.at("answer").get<std::string>().size() == 1 ? 1.0 : 0.0;  // never one character
    };
    Refiner refiner(predict, 3, reward_fn, 1.0);
    CaptureWarnings warnings;
    auto result = refiner("question", "What is the capital of Belgium?");
    EXPECT_EQ(result.at("answer"), "Brussels");
    EXPECT_GT(reward_call_count, 0);
    EXPECT_EQ(module_call_count, 3);
    return warnings.messages();
}

/// test_refine_module_default_fail_count; returns the warnings.
template <typename Refiner>
std::vector<std::string> module_default_fail_count() {
    auto scope = context({.lm = std::make_shared<DummyLM>(brussels_answers())});
    DummyModule predict("question -> answer",
                        [](DummyModule&, const Inputs&) -> Prediction { throw ValueError("Deliberately failing"); });
    Refiner refiner(predict, 3, [](const Json&, const Prediction&) { return 1.0; }, 0.0);
    CaptureWarnings warnings;
    EXPECT_THROW(refiner("question", "What is the capital of Belgium?"), ValueError);
    return warnings.messages();
}

/// test_refine_module_custom_fail_count.
template <typename Refiner>
void module_custom_fail_count() {
    auto scope = context({.lm = std::make_shared<DummyLM>(brussels_answers())});
    int module_call_count = 0;
    DummyModule predict("question -> answer", [&](DummyModule& self, const Inputs& in) {
        if (module_call_count < 2) {
            ++module_call_count;
            throw ValueError("Deliberately failing");
        }
        return self.predictor(in);
    });
    Refiner refiner(predict, 3, [](const Json&, const Prediction&) { return 1.0; }, 0.0, 1);
    CaptureWarnings quiet;
    EXPECT_THROW(refiner("question", "What is the capital of Belgium?"), ValueError);
    EXPECT_EQ(module_call_count, 2);
}

}  // namespace dspy::test_support
