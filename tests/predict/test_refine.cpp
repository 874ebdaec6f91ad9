// Twins of DSPy's tests/predict/test_refine.py, plus the feedback round trip (OfferFeedback, `hint_`).
#include "dspy/predict/refine.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "dspy/async/run.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"
#include "support/refine_twins.hpp"
#include "support/scripted_modules.hpp"

namespace dspy {
namespace {

using test_support::DummyModule;

TEST(Refine, ForwardSuccessFirstAttempt) {  // test_refine_forward_success_first_attempt
    // The feedback calls cannot parse DummyLM's answers, as in Python, and count as failed attempts.
    auto warnings = test_support::forward_success_first_attempt<Refine>();
    ASSERT_FALSE(warnings.empty());
    EXPECT_EQ(warnings[0].rfind("Refine: Attempt failed with rollout id 0: ", 0), 0u) << warnings[0];
}

TEST(Refine, ModuleDefaultFailCount) {  // test_refine_module_default_fail_count
    EXPECT_EQ(test_support::module_default_fail_count<Refine>().size(), 3u);
}

TEST(Refine, ModuleCustomFailCount) { test_support::module_custom_fail_count<Refine>(); }

// An LM that answers the module with a long name until it sees the hint, and gives advice when asked.
std::shared_ptr<DummyLM> advising_lm(const std::string& predictor_name = "predictor") {
    return std::make_shared<DummyLM>(
        DummyLM::ByInput{},
        std::vector<std::pair<std::string, Json>>{
            {"Use one word.", {{"answer", "Brussels"}}},
            {"[[ ## program_code ## ]]",
             {{"discussion", "The predictor answered with several words."},
              {"advice", {{predictor_name, "Use one word."}}}}},
            {"[[ ## question ## ]]", {{"answer", "City of Brussels"}}}});
}

double one_word(const Json&, const Prediction& pred) {
    return pred.at("answer").get<std::string>().find(' ') == std::string::npos ? 1.0 : 0.0;
}

TEST(Refine, AdviceReachesTheNextAttemptAsHint) {
    auto lm = advising_lm();
    auto scope = context({.lm = lm});
    DummyModule qa("question -> answer", [](DummyModule& self, const Inputs& in) { return self.predictor(in); });
    Refine refine(qa, 3, one_word, 1.0);
    auto out = refine("question", "What is the capital of Belgium?");
    EXPECT_EQ(out.at("answer"), "Brussels");

    auto history = qa.history();
    ASSERT_EQ(history.size(), 2u);  // the feedback call is not the module's
    const std::string second = history[1]["messages"].back()["content"].get<std::string>();
    EXPECT_NE(second.find("[[ ## hint_ ## ]]\nUse one word."), std::string::npos) << second;
    const std::string system = history[1]["messages"][0]["content"].get<std::string>();
    EXPECT_NE(system.find("`hint_` (str): A hint to the module from an earlier run"), std::string::npos) << system;

    auto all = refine.history();  // the feedback call ran under Refine
    ASSERT_EQ(all.size(), 3u);
    const std::string feedback_user = all[1]["messages"].back()["content"].get<std::string>();
    EXPECT_NE(feedback_user.find("[[ ## module_names ## ]]\n[\n  \"predictor\"\n]"), std::string::npos)
        << feedback_user;
    EXPECT_NE(feedback_user.find("[[ ## target_threshold ## ]]\n1.0"), std::string::npos);
    EXPECT_NE(feedback_user.find("[[ ## reward_value ## ]]\n0.0"), std::string::npos);
    EXPECT_NE(feedback_user.find("\"module_name\": \"predictor\""), std::string::npos);
}

TEST(RefineAsync, AcallRunsTheSameAlgorithm) {
    auto sync_lm = advising_lm("self");
    auto async_lm = advising_lm("self");
    Predict qa("question -> answer");  // a lone Predict is named `self`, and acall reaches its aforward
    Refine refine(qa, 3, one_word, 1.0);
    Prediction sync_out, async_out;
    {
        auto scope = context({.lm = sync_lm});
        sync_out = refine("question", "Capital of Belgium?");
    }
    {
        auto scope = context({.lm = async_lm});
        async_out = run(refine.acall("question", "Capital of Belgium?"));
    }
    EXPECT_EQ(sync_out.at("answer"), "Brussels");
    EXPECT_EQ(sync_out.data(), async_out.data());
    auto a = refine.history();
    ASSERT_EQ(a.size(), 6u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(a[i]["messages"], a[i + 3]["messages"]) << i;
        EXPECT_EQ(a[i]["kwargs"], a[i + 3]["kwargs"]) << i;
    }
}

TEST(Refine, OfferFeedbackSignatureIsDspys) {
    const Signature& s = Refine::offer_feedback_signature();
    EXPECT_EQ(s.instructions().rfind("In the discussion, assign blame to each module that contributed to the final "
                                     "reward being below the threshold, if\nany. Then,",
                                     0),
              0u);
    EXPECT_EQ(s.n_inputs(), 9u);
    ASSERT_EQ(s.fields().size(), 11u);
    EXPECT_EQ(s.fields()[8].type.render(), "list[str]");
    EXPECT_EQ(s.fields()[10].name, "advice");
    EXPECT_EQ(s.fields()[10].type.render(), "dict[str, str]");
    EXPECT_NE(s.fields()[10].desc.find("in that kind ofscenario"), std::string::npos);  // sic, as in DSPy
}

TEST(Refine, InspectModulesLayout) {
    ChainOfThought cot(Signature("question -> answer", "Answer the question.\nBe brief."));
    EXPECT_EQ(Refine::inspect_modules(cot),
              std::string(80, '-') +
                  "\nModule predict\n\tInput Fields:\n\t\t1. `question` (str):\n\tOutput Fields:\n\t\t1. `reasoning` "
                  "(str): \n\t\t2. `answer` (str):\n\tOriginal Instructions: \n\t\tAnswer the question.\n\t\tBe brief.\n" +
                  std::string(80, '-'));
}

}  // namespace
}  // namespace dspy
