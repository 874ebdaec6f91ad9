#include "clients/providers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "dspy/utils/exceptions.hpp"

namespace dspy::providers {

TEST(Providers, ResolvesOpenAIWithExplicitBaseAndKey) {
    auto ep = resolve_endpoint("openai/gpt-4o-mini", "http://127.0.0.1:8000/v1/", "sk-test");
    EXPECT_EQ(ep.wire, Wire::OpenAIChat);
    EXPECT_EQ(ep.model, "gpt-4o-mini");
    EXPECT_EQ(ep.url, "http://127.0.0.1:8000/v1/chat/completions");
    EXPECT_EQ(ep.api_key, "sk-test");
}

TEST(Providers, ResolvesFromEnvironment) {
    ::setenv("OPENAI_API_KEY", "sk-env", 1);
    ::setenv("OPENAI_BASE_URL", "http://localhost:9/v1", 1);
    auto ep = resolve_endpoint("openai/gpt-4o", "", "");
    EXPECT_EQ(ep.url, "http://localhost:9/v1/chat/completions");
    EXPECT_EQ(ep.api_key, "sk-env");
    ::unsetenv("OPENAI_BASE_URL");
    EXPECT_EQ(resolve_endpoint("openai/gpt-4o", "", "").url, "https://api.openai.com/v1/chat/completions");
    ::unsetenv("OPENAI_API_KEY");
    auto an = resolve_endpoint("anthropic/claude-3-5-haiku-latest", "", "k");
    EXPECT_EQ(an.wire, Wire::AnthropicMessages);
    EXPECT_EQ(an.url, "https://api.anthropic.com/v1/messages");
}

TEST(Providers, BadModelStringsNameTheModel) {
    try {
        (void)resolve_endpoint("gpt-4o", "", "");
        FAIL();
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("'gpt-4o'"), std::string::npos);
    }
    EXPECT_THROW((void)resolve_endpoint("hosted_vllm/llama", "", ""), ValueError);
    EXPECT_NO_THROW((void)resolve_endpoint("hosted_vllm/llama", "http://127.0.0.1:1/v1", ""));
}

TEST(Providers, OpenAIBodyDropsDspyKeysAndNulls) {
    auto ep = resolve_endpoint("openai/gpt-4o-mini", "http://h/v1", "sk");
    Json request = {{"model", "openai/gpt-4o-mini"},
                    {"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})},
                    {"temperature", 0.0},
                    {"max_tokens", nullptr},
                    {"n", 2},
                    {"cache", true},
                    {"rollout_id", 1},
                    {"num_retries", 3},
                    {"api_key", "secret"}};
    auto wire = build_request(ep, request);
    Json body = Json::parse(wire.body);
    EXPECT_EQ(body, (Json{{"model", "gpt-4o-mini"},
                          {"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})},
                          {"temperature", 0.0},
                          {"n", 2}}));
    EXPECT_EQ(wire.body.find("secret"), std::string::npos);
    bool auth = false;
    for (auto& [k, v] : wire.headers) auth |= k == "Authorization" && v == "Bearer sk";
    EXPECT_TRUE(auth);
}

TEST(Providers, AnthropicBodyMovesSystemAndMergesTurns) {
    auto ep = resolve_endpoint("anthropic/claude-x", "http://h", "ak");
    Json request = {{"model", "anthropic/claude-x"},
                    {"messages", Json::array({{{"role", "system"}, {"content", "be brief"}},
                                              {{"role", "user"}, {"content", "a"}},
                                              {{"role", "user"}, {"content", "b"}}})},
                    {"stop", "END"},
                    {"temperature", 0.5}};
    Json body = Json::parse(build_request(ep, request).body);
    EXPECT_EQ(body["system"], "be brief");
    ASSERT_EQ(body["messages"].size(), 1u);
    EXPECT_EQ(body["messages"][0]["content"].size(), 2u);
    EXPECT_EQ(body["max_tokens"], 4096);
    EXPECT_EQ(body["stop_sequences"], Json::array({"END"}));
}

TEST(Providers, NormalisesAnthropicReplies) {
    auto ep = resolve_endpoint("anthropic/claude-x", "http://h", "ak");
    auto r = normalise_response(ep, R"({"id":"m1","model":"claude-x","content":[{"type":"thinking","thinking":"hmm"},
        {"type":"text","text":"[[ ## answer ## ]]\nParis"}],"stop_reason":"max_tokens",
        "usage":{"input_tokens":10,"output_tokens":5}})");
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(r["usage"]["total_tokens"], 15);
    auto outs = outputs_of(r);
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].text, "[[ ## answer ## ]]\nParis");
    EXPECT_EQ(outs[0].extra["reasoning_content"], "hmm");
}

TEST(Providers, OpenAIRepliesAndErrors) {
    auto ep = resolve_endpoint("openai/m", "http://h/v1", "");
    auto r = normalise_response(ep, R"({"choices":[{"index":0,"message":{"role":"assistant","content":"x"}},
        {"index":1,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c"}]}}]})");
    auto outs = outputs_of(r);
    ASSERT_EQ(outs.size(), 2u);
    EXPECT_EQ(outs[0].text, "x");
    EXPECT_TRUE(outs[1].extra.contains("tool_calls"));
    EXPECT_THROW((void)normalise_response(ep, "not json"), LMProviderError);
    EXPECT_THROW((void)normalise_response(ep, R"({"object":"x"})"), LMProviderError);
    EXPECT_EQ(error_message(R"({"error":{"message":"Invalid API key","type":"auth"}})"), "Invalid API key");
    EXPECT_EQ(error_message(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
              "Overloaded");
    EXPECT_EQ(error_message("Bad Gateway"), "Bad Gateway");
}

}  // namespace dspy::providers
