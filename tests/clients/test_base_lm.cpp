#include "dspy/clients/base_lm.hpp"

#include <gtest/gtest.h>

#include "dspy/async/async.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/usage_tracker.hpp"

namespace dspy {
namespace {

// Implements only the async side, the way a network LM does.
class AsyncOnlyLM : public BaseLM {
public:
    AsyncOnlyLM() : BaseLM("test/async-only", "chat", Json{{"temperature", 0.0}, {"api_key", "sk-secret"}}) {}
    Task<LMResponse> aforward(Messages messages, Json kwargs) override {
        co_await dspy::sleep(std::chrono::milliseconds(1));
        LMResponse r;
        r.outputs.push_back(LMOutput{"echo: " + messages.back().content + " t=" + kwargs["temperature"].dump(), {}});
        r.usage = {{"total_tokens", 10}};
        co_return r;
    }
};

class NeitherLM : public BaseLM {
public:
    NeitherLM() : BaseLM("test/neither") {}
};

class Recorder : public BaseCallback {
public:
    void on_lm_start(const std::string&, const BaseLM&, const Json& inputs) override { starts.push_back(inputs); }
    void on_lm_end(const std::string&, const Json* outputs, std::exception_ptr) override {
        ends.push_back(outputs ? *outputs : Json("error"));
    }
    std::vector<Json> starts, ends;
};

}  // namespace

TEST(BaseLM, AnAsyncOnlyLmServesSyncCallers) {
    AsyncOnlyLM lm;
    auto outs = lm({{"user", "hi"}}, Json{{"temperature", 0.5}});
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].text, "echo: hi t=0.5");
}

TEST(BaseLM, AcallAndCallRecordTheSameHistoryWithoutCredentials) {
    AsyncOnlyLM lm;
    (void)lm({{"user", "a"}});
    auto outs = run(lm.acall({{"user", "a"}}));
    EXPECT_EQ(outs[0].text, "echo: a t=0.0");
    auto h = lm.history();
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0]["messages"], h[1]["messages"]);
    EXPECT_EQ(h[0]["kwargs"], h[1]["kwargs"]);
    EXPECT_FALSE(h[0]["kwargs"].contains("api_key"));
    EXPECT_EQ(h[0].dump().find("sk-secret"), std::string::npos);
    EXPECT_EQ(h[0]["model"], "test/async-only");
    EXPECT_EQ(h[0]["usage"]["total_tokens"], 10);
}

TEST(BaseLM, NeitherForwardNorAforwardIsAClearError) {
    NeitherLM lm;
    EXPECT_THROW((void)lm({{"user", "x"}}), NotImplementedError);
    EXPECT_THROW((void)run(lm.acall({{"user", "x"}})), NotImplementedError);
}

TEST(BaseLM, UsageGoesToTheActiveTracker) {
    AsyncOnlyLM lm;
    auto tracker = std::make_shared<UsageTracker>();
    {
        auto scope = context({.usage_tracker = tracker});
        (void)lm({{"user", "x"}});
        (void)run(lm.acall({{"user", "y"}}));
    }
    (void)lm({{"user", "z"}});  // outside the scope: not tracked
    EXPECT_EQ(tracker->get_total_tokens()["test/async-only"]["total_tokens"], 20);
}

TEST(BaseLM, HistoryCanBeDisabled) {
    AsyncOnlyLM lm;
    {
        auto scope = context({.disable_history = true});
        (void)lm({{"user", "x"}});
    }
    EXPECT_TRUE(lm.history().empty());
    (void)lm({{"user", "x"}});
    EXPECT_EQ(lm.history().size(), 1u);
}

TEST(BaseLM, CallbacksSeeStartAndEnd) {
    AsyncOnlyLM lm;
    auto rec = std::make_shared<Recorder>();
    lm.callbacks().push_back(rec);
    (void)lm({{"user", "x"}});
    ASSERT_EQ(rec->starts.size(), 1u);
    EXPECT_EQ(rec->starts[0]["messages"][0]["content"], "x");
    ASSERT_EQ(rec->ends.size(), 1u);
    EXPECT_EQ(rec->ends[0], Json::array({"echo: x t=0.0"}));
}

TEST(BaseLM, InspectHistoryPrintsTheLastCall) {
    AsyncOnlyLM lm;
    (void)lm({{"user", "first"}});
    (void)lm({{"user", "second"}});
    std::string text = lm.inspect_history(1);
    EXPECT_NE(text.find("second"), std::string::npos);
    EXPECT_EQ(text.find("first"), std::string::npos);
    EXPECT_NE(global_history().size(), 0u);
}

TEST(BaseLM, MessagesToJsonKeepsRoleThenContent) {
    const Messages messages = {{"system", "be brief"}, {"user", "hé \"q\"\n"}};
    EXPECT_EQ(messages_to_json(messages).dump(),
              R"([{"role":"system","content":"be brief"},{"role":"user","content":"hé \"q\"\n"}])");
    EXPECT_EQ(messages_to_json({}), Json::array());
}

}  // namespace dspy
