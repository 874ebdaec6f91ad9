#include "dspy/clients/cache.hpp"

#include <gtest/gtest.h>

#include <array>

#include "dspy/utils/exceptions.hpp"

namespace dspy {

TEST(CacheKey, SpecTestVector) {
    Json request = Json::parse(
        R"({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "temperature": null,
            "max_tokens": null, "_fn_identifier": "dspy.clients.lm.litellm_completion"})");
    EXPECT_EQ(canonical_request_json(request),
              R"({"_fn_identifier":"dspy.clients.lm.litellm_completion","max_tokens":null,)"
              R"("messages":[{"content":"hi","role":"user"}],"model":"openai/gpt-4o-mini","temperature":null})");
    EXPECT_EQ(cache_key(request), "567fbf6991d8286eaeaf8b836c75583245b85e6603de7e14595ad7d8195cb2e8");
}

TEST(CacheKey, IgnoredKeysAreDroppedOnlyAtTopLevel) {
    Json request = {{"model", "m"}, {"api_key", "sk"}, {"extra", {{"api_key", "inner"}}}};
    std::array<std::string, 1> ignored = {"api_key"};
    EXPECT_EQ(canonical_request_json(request, ignored), R"({"extra":{"api_key":"inner"},"model":"m"})");
    EXPECT_NE(cache_key(request, ignored), cache_key(request));
    // The request itself is untouched.
    EXPECT_TRUE(request.contains("api_key"));
}

TEST(CacheKey, KeyOrderDoesNotMatterButValuesDo) {
    Json a = {{"b", 1}, {"a", {{"y", 2.0}, {"x", "s"}}}};
    Json b = {{"a", {{"x", "s"}, {"y", 2.0}}}, {"b", 1}};
    EXPECT_EQ(cache_key(a), cache_key(b));
    Json c = {{"a", {{"x", "s"}, {"y", 2}}}, {"b", 1}};  // int 2 is not float 2.0
    EXPECT_NE(cache_key(a), cache_key(c));
    EXPECT_EQ(canonical_request_json(c), R"({"a":{"x":"s","y":2},"b":1})");
}

TEST(CacheKey, FloatsAndStringsAsOrjsonWritesThem) {
    Json request = {{"f", 1e20}, {"g", 1e-7}, {"h", 0.1}, {"s", "é\n\"\x01"}};
    EXPECT_EQ(canonical_request_json(request), "{\"f\":1e20,\"g\":1e-7,\"h\":0.1,\"s\":\"é\\n\\\"\\u0001\"}");
}

TEST(CacheKey, RejectsNonObjects) {
    EXPECT_THROW((void)cache_key(Json::array()), TypeError);
    EXPECT_THROW((void)canonical_request_json(Json("x")), TypeError);
}

TEST(Sha256, KnownDigests) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace dspy
