#include "dspy/clients/lm.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {
Json user(const char* text) { return Json::array({Json{{"role", "user"}, {"content", text}}}); }
}  // namespace

TEST(LM, DefaultsKeepTemperatureAndMaxTokensAsNull) {
    LM lm("openai/gpt-4o-mini");
    EXPECT_EQ(lm.model(), "openai/gpt-4o-mini");
    EXPECT_EQ(lm.model_type(), "chat");
    EXPECT_TRUE(lm.cache());
    EXPECT_EQ(lm.num_retries(), 3);
    EXPECT_EQ(lm.kwargs().dump(), R"({"temperature":null,"max_tokens":null})");
    EXPECT_EQ(lm.provider_name(), "openai");
    EXPECT_EQ(LM("gpt-4o").provider_name(), "openai");
    EXPECT_EQ(LM("anthropic/claude").provider_name(), "anthropic");
}

TEST(LM, OptionsBecomeKwargsInOrder) {
    LM lm("openai/gpt-4o-mini", {.temperature = 0.2,
                                 .max_tokens = 100,
                                 .api_key = "sk-secret",
                                 .rollout_id = 3,
                                 .kwargs = {{"n", 2}, {"stop", {"\n"}}}});
    EXPECT_EQ(lm.kwargs().dump(),
              R"({"temperature":0.2,"max_tokens":100,"api_key":"sk-secret","rollout_id":3,"n":2,"stop":["\n"]})");
    EXPECT_THROW(LM("m", {.kwargs = {{"temperature", 1.0}}}), TypeError);
    EXPECT_THROW(LM("m", {.kwargs = Json::array()}), TypeError);
    EXPECT_THROW(LM("m", {.model_type = "completion"}), ValueError);
}

TEST(LM, DumpStateNeverHoldsTheApiKey) {
    LM lm("openai/gpt-4o-mini", {.temperature = 0.3, .max_tokens = 500, .api_key = "sk", .api_base = "http://x"});
    EXPECT_EQ(lm.dump_state().dump(),
              R"({"_dspy_lm_class":"dspy.clients.lm.LM","model":"openai/gpt-4o-mini","model_type":"chat",)"
              R"("cache":true,"num_retries":3,"temperature":0.3,"max_tokens":500,"api_base":"http://x",)"
              R"("finetuning_model":null,"launch_kwargs":{},"train_kwargs":{}})");
    LM dev("m", {.model_type = "responses", .use_developer_role = true});
    EXPECT_EQ(dev.dump_state().value("use_developer_role", false), true);
    EXPECT_FALSE(lm.dump_state().contains("use_developer_role"));
}

TEST(LM, ReasoningModelsFamily) {
    for (const char* m : {"openai/o1", "o3-mini", "openai/o4-mini-2025-04-16", "O3-PRO", "openai/gpt-5",
                          "gpt-5-mini", "openai/gpt-5-nano-2025-08-07", "o1-2024-12-17"})
        EXPECT_TRUE(LM::is_openai_reasoning_model(m)) << m;
    for (const char* m : {"openai/gpt-4o", "o2", "o3-large", "gpt-5-chat", "gpt-5-chat-latest", "gpt-5.1",
                          "o1-mini-2024", "o3x", "openai/gpt-50"})
        EXPECT_FALSE(LM::is_openai_reasoning_model(m)) << m;
}

TEST(LM, ReasoningModelsUseMaxCompletionTokensAndSaveMaxTokens) {
    LM lm("openai/o3-mini", {.temperature = 1.0, .max_tokens = 16000});
    EXPECT_EQ(lm.kwargs().dump(), R"({"temperature":1.0,"max_completion_tokens":16000})");
    Json state = lm.dump_state();
    EXPECT_FALSE(state.contains("max_completion_tokens"));
    EXPECT_EQ(state.back(), 16000);  // renamed key goes last, as in DSPy
    auto loaded = LM::load_state(state);
    EXPECT_EQ(loaded->kwargs(), lm.kwargs());
    EXPECT_EQ(loaded->dump_state(), state);
}

TEST(LM, ReasoningModelsRejectLowMaxTokensOrTemperature) {
    EXPECT_THROW(LM("openai/gpt-5", {.temperature = 0.7}), LMConfigurationError);
    EXPECT_THROW(LM("openai/o1", {.max_tokens = 1000}), LMConfigurationError);
    try {
        LM("openai/o1", {.max_tokens = 1000});
    } catch (const LMConfigurationError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "[openai/o1] OpenAI's reasoning models require passing temperature=1.0 or None and max_tokens >= "
                  "16000 or None to `dspy.LM(...)`, e.g., dspy.LM('openai/gpt-5', temperature=1.0, "
                  "max_tokens=16000)");
    }
    // 0 and None are falsy in DSPy's check.
    EXPECT_NO_THROW(LM("openai/gpt-5", {.temperature = 0.0, .max_tokens = 0}));
    EXPECT_NO_THROW(LM("openai/gpt-5"));
    EXPECT_NO_THROW(LM("openai/gpt-5-chat", {.temperature = 0.2, .max_tokens = 100}));
}

TEST(LM, RolloutIdNullIsDropped) {
    auto lm = LM::from_kwargs({{"model", "m"}, {"rollout_id", nullptr}});
    EXPECT_FALSE(lm->kwargs().contains("rollout_id"));
    auto r = lm->build_request(user("hi"), {{"rollout_id", nullptr}});
    EXPECT_FALSE(r.request.contains("rollout_id"));
}

TEST(LM, FromKwargsMatchesPythonKeywords) {
    auto lm = LM::from_kwargs(Json::parse(
        R"({"model": "openai/gpt-4o-mini", "top_p": 0.9, "model_type": "text", "cache": false, "num_retries": 5,
            "max_tokens": 10, "launch_kwargs": null})"));
    EXPECT_EQ(lm->model_type(), "text");
    EXPECT_FALSE(lm->cache());
    EXPECT_EQ(lm->num_retries(), 5);
    EXPECT_EQ(lm->kwargs().dump(), R"({"temperature":null,"max_tokens":10,"top_p":0.9})");
    EXPECT_EQ(lm->dump_state()["launch_kwargs"], Json::object());
    EXPECT_THROW((void)LM::from_kwargs({{"temperature", 0.1}}), TypeError);
    EXPECT_THROW((void)LM::from_kwargs({{"model", 3}}), TypeError);
    EXPECT_THROW((void)LM::from_kwargs({{"model", "m"}, {"cache", "yes"}}), TypeError);
    EXPECT_THROW((void)LM::from_kwargs({{"model", "m"}, {"callbacks", Json::array({1})}}), TypeError);
}

TEST(LM, LoadStateRefusesCustomClassesAndKeepsLegacyStates) {
    Json custom = {{"_dspy_lm_class", "my.module.MyLM"}, {"model", "m"}};
    EXPECT_THROW((void)LM::load_state(custom), ValueError);
    EXPECT_THROW((void)LM::load_state(custom, /*allow_custom_lm_class=*/true), NotImplementedError);
    // A pre-3.3 state: no class marker, a reasoning model's max_completion_tokens.
    Json legacy = Json::parse(
        R"({"model": "openai/o3", "model_type": "chat", "cache": true, "num_retries": 3, "finetuning_model": null,
            "launch_kwargs": {}, "train_kwargs": {}, "temperature": 1.0, "max_completion_tokens": 20000})");
    auto lm = LM::load_state(legacy);
    EXPECT_EQ(lm->kwargs().dump(), R"({"temperature":1.0,"max_completion_tokens":20000})");
}

TEST(LM, BuildRequestMergesKwargsAndAddsTheIdentifier) {
    LM lm("openai/gpt-4o-mini", {.temperature = 0.5, .api_key = "sk", .kwargs = {{"n", 1}}});
    auto r = lm.build_request(user("hi"), {{"n", 3}, {"stop", "x"}, {"cache", false}});
    EXPECT_FALSE(r.cache);
    EXPECT_EQ(r.request.dump(),
              R"({"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":0.5,)"
              R"("max_tokens":null,"api_key":"sk","n":3,"stop":"x",)"
              R"("_fn_identifier":"dspy.clients.lm.litellm_completion"})");
    EXPECT_EQ(r.ignored, (std::vector<std::string>{"api_key", "api_base", "base_url"}));
    // The api key never changes the cache key.
    LM other("openai/gpt-4o-mini", {.temperature = 0.5, .api_key = "other", .kwargs = {{"n", 1}}});
    EXPECT_EQ(r.key(), other.build_request(user("hi"), {{"n", 3}, {"stop", "x"}}).key());
    EXPECT_TRUE(lm.build_request(user("hi")).cache);
}

TEST(LM, AsyncAndModelTypesHaveTheirOwnIdentifiers) {
    auto id = [](const LM& lm, bool async_call) {
        return lm.build_prompt_request("p", {}, async_call).request["_fn_identifier"].get<std::string>();
    };
    EXPECT_EQ(id(LM("m"), true), "dspy.clients.lm.alitellm_completion");
    EXPECT_EQ(id(LM("m", {.model_type = "text"}), false), "dspy.clients.lm.litellm_text_completion");
    EXPECT_EQ(id(LM("m", {.model_type = "responses"}), true), "dspy.clients.lm.alitellm_responses_completion");
    EXPECT_NE(LM("m").build_prompt_request("p").key(), LM("m").build_prompt_request("p", {}, true).key());
}

TEST(LM, DeveloperRoleForResponses) {
    LM lm("m", {.model_type = "responses", .use_developer_role = true});
    Json messages = Json::array({Json{{"role", "system"}, {"content", "s"}}, Json{{"role", "user"}, {"content", "u"}}});
    auto r = lm.build_request(messages);
    EXPECT_EQ(r.request["messages"][0]["role"], "developer");
    EXPECT_EQ(r.request["messages"][1]["role"], "user");
    EXPECT_EQ(LM("m", {.use_developer_role = true}).build_request(messages).request["messages"][0]["role"], "system");
}

TEST(LM, BuildRequestKeepsTheLMsKeyOrderWithCallOverrides) {
    // Python: {"model", "messages", **{**self.kwargs, **kwargs}}: an overridden key keeps its place, new keys follow
    // in the call's order, `cache` is never sent, and a null rollout_id from either side drops the key.
    LM lm("m", {.temperature = 0.2, .rollout_id = 7, .kwargs = {{"top_p", 0.9}, {"n", 1}}});
    auto r = lm.build_request(user("hi"), {{"stop", "x"}, {"n", 2}, {"cache", true}, {"seed", 5}, {"temperature", 1.0}});
    EXPECT_EQ(r.request.dump(),
              R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1.0,"max_tokens":null,)"
              R"("rollout_id":7,"top_p":0.9,"n":2,"stop":"x","seed":5,"_fn_identifier":"dspy.clients.lm.litellm_completion"})");
    EXPECT_TRUE(r.cache);
    EXPECT_FALSE(lm.build_request(user("hi"), {{"rollout_id", nullptr}}).request.contains("rollout_id"));
    EXPECT_EQ(lm.build_request(user("hi"), Json()).request.dump(), lm.build_request(user("hi")).request.dump());
    try {
        (void)lm.build_request(user("hi"), {{"n", 3}, {"messages", Json::array()}});
        ADD_FAILURE() << "a repeated 'messages' must be refused";
    } catch (const TypeError& e) {
        EXPECT_NE(std::string(e.what()).find("'messages'"), std::string::npos) << e.what();
    }
}

TEST(LM, RequestKeyEqualsTheBuiltRequestsKey) {
    // request_key hashes a call without building its request (the memory-cache hit path); it must agree with
    // build_request(...).key() on every way the request can be shaped.
    Json many = Json::object();
    for (int i = 19; i >= 0; --i) many["k" + std::to_string(i)] = i % 3 == 0 ? Json(i * 0.5) : Json{{"v", i}};
    std::vector<std::shared_ptr<LM>> lms = {
        std::make_shared<LM>("openai/gpt-4o-mini"),
        std::make_shared<LM>("openai/gpt-4o-mini",
                             LMOptions{.temperature = 0.7, .max_tokens = 100, .api_key = "sk", .api_base = "http://b",
                                       .rollout_id = 2, .kwargs = {{"base_url", "http://u"}, {"n", 1}, {"é", "ü"}}}),
        std::make_shared<LM>("openai/o3", LMOptions{.temperature = 1.0, .max_tokens = 20000}),
        std::make_shared<LM>("m", LMOptions{.model_type = "text"}),
        std::make_shared<LM>("m", LMOptions{.model_type = "responses", .use_developer_role = true}),
        std::make_shared<LM>("m", LMOptions{.cache = false, .kwargs = many}),
    };
    const std::vector<Json> calls = {
        Json::object(),
        Json(),
        {{"cache", false}},
        {{"cache", 1}, {"temperature", 0.0}, {"n", 2}},
        {{"rollout_id", nullptr}},
        {{"rollout_id", 3}, {"temperature", 0.5}},
        {{"api_key", "x"}, {"base_url", "y"}, {"api_base", "z"}},
        {{"stop", Json::array({"\n", "é\u0001"})}, {"response_format", {{"type", "json_object"}}}},
        {{"_fn_identifier", "mine"}},
        many,
    };
    const std::vector<Messages> conversations = {
        {{"user", "hi"}},
        {{"system", "be \"brief\"\n\t"}, {"user", "naïve → 😀"}, {"assistant", ""}, {"system", "again"}},
    };
    for (size_t l = 0; l < lms.size(); ++l)
        for (size_t c = 0; c < calls.size(); ++c)
            for (const auto& messages : conversations)
                for (bool async_call : {false, true}) {
                    SCOPED_TRACE("lm " + std::to_string(l) + ", call " + calls[c].dump() + ", async " +
                                 std::to_string(async_call));
                    const LM& lm = *lms[l];
                    const auto built = lm.build_request(messages_to_json(messages), calls[c], async_call);
                    const auto key = lm.request_key(messages, calls[c], async_call);
                    EXPECT_EQ(key.key, built.key());
                    EXPECT_EQ(key.cache, built.cache);
                }
}

TEST(LM, RequestKeyRefusesWhatBuildRequestRefuses) {
    LM lm("m");
    const Messages hi = {{"user", "hi"}};
    EXPECT_THROW((void)lm.request_key({}), ValueError);
    EXPECT_THROW((void)lm.request_key(hi, Json::array()), TypeError);
    EXPECT_THROW((void)lm.request_key(hi, {{"model", "other"}}), TypeError);
    EXPECT_THROW((void)lm.request_key(hi, {{"n", 1}, {"messages", Json::array()}}), TypeError);
}

TEST(LM, BuildRequestRejectsBadCalls) {
    LM lm("m");
    EXPECT_THROW((void)lm.build_request(Json::array()), ValueError);
    EXPECT_THROW((void)lm.build_request(Json("hi")), TypeError);
    EXPECT_THROW((void)lm.build_request(user("hi"), Json::array()), TypeError);
    EXPECT_THROW((void)lm.build_request(user("hi"), {{"model", "other"}}), TypeError);
}

TEST(LM, ForwardReportsAnUnreachableProvider) {
    // Port 1 on loopback refuses connections; with no retries the transport error comes back at once.
    LM lm("openai/gpt-4o-mini", {.cache = false, .num_retries = 0, .api_base = "http://127.0.0.1:1/v1"});
    EXPECT_THROW((void)lm.forward({{"user", "hi"}}, Json::object()), LMTransportError);
}

}  // namespace dspy
