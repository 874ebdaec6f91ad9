// Twins of DSPy's tests/predict/test_best_of_n.py, plus the rollout, threshold, trace and async behaviour.
#include "dspy/predict/best_of_n.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "dspy/async/run.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"
#include "support/refine_twins.hpp"
#include "support/scripted_modules.hpp"

namespace dspy {
namespace {

using test_support::brussels_answers;
using test_support::DummyModule;
using test_support::RecordingLM;

TEST(BestOfN, ForwardSuccessFirstAttempt) {  // test_refine_forward_success_first_attempt
    EXPECT_TRUE(test_support::forward_success_first_attempt<BestOfN>().empty());
}

TEST(BestOfN, ModuleDefaultFailCount) {  // test_refine_module_default_fail_count
    auto warnings = test_support::module_default_fail_count<BestOfN>();
    ASSERT_EQ(warnings.size(), 3u);
    EXPECT_EQ(warnings[0], "BestOfN: Attempt 1 failed with rollout id 0: Deliberately failing");
}

TEST(BestOfN, ModuleCustomFailCount) { test_support::module_custom_fail_count<BestOfN>(); }

TEST(BestOfN, AttemptsUseRolloutIdsAtTemperatureOneAndStopAtTheThreshold) {
    auto lm = std::make_shared<RecordingLM>(
        std::vector<Json>{{{"answer", "a"}}, {{"answer", "b"}}, {{"answer", "c"}}},
        DummyLM::Options{});
    Predict predict("question -> answer");
    predict.set_lm(lm);
    auto reward = [](const Json&, const Prediction& p) { return p.at("answer") == "b" ? 1.0 : 0.0; };
    BestOfN best(predict, 3, reward, 1.0);
    auto out = best("question", "q");
    EXPECT_EQ(out.at("answer"), "b");
    ASSERT_EQ(lm->calls.size(), 2u);
    EXPECT_EQ(lm->calls[0]["rollout_id"], 0);
    EXPECT_EQ(lm->calls[1]["rollout_id"], 1);
    EXPECT_EQ(lm->calls[0]["temperature"], 1.0);
    EXPECT_EQ(predict.lm(), lm);  // the predictor itself is left alone
    EXPECT_TRUE(lm->history().empty());  // calls are recorded on the copies, as with DSPy's lm.copy()
    EXPECT_EQ(predict.history().size(), 2u);
}

TEST(BestOfN, RolloutIdsStartAtTheLmsOwn) {
    class StartAtFive : public RecordingLM {
    public:
        StartAtFive() : RecordingLM(std::vector<Json>{{{"answer", "x"}}}) { kwargs_["rollout_id"] = 5; }
    };
    auto lm = std::make_shared<StartAtFive>();
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    BestOfN best(predict, 2, [](const Json&, const Prediction&) { return 0.0; }, 1.0);
    best("question", "q");
    ASSERT_EQ(lm->calls.size(), 2u);
    EXPECT_EQ(lm->calls[0]["rollout_id"], 5);
    EXPECT_EQ(lm->calls[1]["rollout_id"], 6);
}

TEST(BestOfN, OnlyTheBestAttemptsTraceIsKept) {
    auto trace = std::make_shared<Trace>();
    auto scope = context({.lm = std::make_shared<DummyLM>(
                              std::vector<Json>{{{"answer", "a"}}, {{"answer", "best"}}, {{"answer", "c"}}}),
                          .trace = trace});
    Predict predict("question -> answer");
    BestOfN best(predict, 3, [](const Json&, const Prediction& p) { return p.at("answer") == "best" ? 0.5 : 0.0; },
                 1.0);
    auto out = best("question", "q");
    EXPECT_EQ(out.at("answer"), "best");
    ASSERT_EQ(trace->size(), 1u);
    EXPECT_EQ(trace->entries()[0].prediction.at("answer"), "best");
}

TEST(BestOfN, MultipleLmsAreAnError) {
    DummyModule two("question -> answer", [](DummyModule& self, const Inputs& in) { return self.predictor(in); });
    Predict other("question -> answer");
    two.register_submodule("other", other);
    two.predictor.set_lm(std::make_shared<DummyLM>(std::vector<Json>{}));
    other.set_lm(std::make_shared<DummyLM>(std::vector<Json>{}));
    BestOfN best(two, 2, [](const Json&, const Prediction&) { return 0.0; }, 1.0);
    EXPECT_THROW(best("question", "q"), ValueError);
}

TEST(BestOfNAsync, AcallRunsTheSameAttempts) {
    auto sync_lm = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "a"}}, {{"answer", "b"}}});
    auto async_lm = std::make_shared<RecordingLM>(std::vector<Json>{{{"answer", "a"}}, {{"answer", "b"}}});
    Predict predict("question -> answer");
    auto reward = [](const Json&, const Prediction& p) { return p.at("answer") == "b" ? 1.0 : 0.0; };
    BestOfN best(predict, 3, reward, 1.0);
    Prediction sync_out, async_out;
    {
        auto scope = context({.lm = sync_lm});
        sync_out = best("question", "q");
    }
    {
        auto scope = context({.lm = async_lm});
        async_out = run(best.acall("question", "q"));
    }
    EXPECT_EQ(sync_out.data(), async_out.data());
    EXPECT_EQ(sync_lm->calls, async_lm->calls);
}

}  // namespace
}  // namespace dspy
