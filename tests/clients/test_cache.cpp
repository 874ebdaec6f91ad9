#include "dspy/clients/cache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>

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

// Expected texts and keys from orjson 3.8 (`orjson.dumps(params, option=OPT_SORT_KEYS)` and its sha256, as
// dspy.clients.cache.Cache.cache_key computes them) with DSPy's ignored keys api_key, api_base and base_url.
struct KeyCase {
    const char* request;
    const char* canonical;
    const char* key;
};
constexpr KeyCase kOrjsonCases[] = {
    {"{\"s\":\"\\u0000\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u001b\\u001f \\u007f\\\"\\\\/ \303\251 \\u2028\\u2029 \342\202\254 \360\237\230\200\",\"model\":\"m\"}",
     "{\"model\":\"m\",\"s\":\"\\u0000\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u001b\\u001f \177\\\"\\\\/ \303\251 \342\200\250\342\200\251 \342\202\254 \360\237\230\200\"}",
     "869e58907c99906a617b6020e393142b62f3618dc82cc75982ae329c3fb03b07"},
    {"{\"z\":{\"b\":[{\"y\":1,\"x\":{\"\303\251\":1,\"z\":2,\"Z\":3,\"a\":4}}],\"a\":null},\"\303\251\":true,\"Z\":false,\"a\":{},\"_\":[],\"model\":\"m\"}",
     "{\"Z\":false,\"_\":[],\"a\":{},\"model\":\"m\",\"z\":{\"a\":null,\"b\":[{\"x\":{\"Z\":3,\"a\":4,\"z\":2,\"\303\251\":1},\"y\":1}]},\"\303\251\":true}",
     "4973fecdf4eadc9ab450e97c53a49568e6d16840e7bdfb3f3a8fcf3ab470740d"},
    {"{\"f\":[0.1,1.0,-0.0,1e16,1e15,123456789.123,1.5e-9,1e-5,1e-4,0.0001234,5e-324,1.7976931348623157e308,2.5e-7,100.0,-3.75]}",
     "{\"f\":[0.1,1.0,-0.0,1e16,1000000000000000.0,123456789.123,1.5e-9,0.00001,0.0001,0.0001234,5e-324,1.7976931348623157e308,2.5e-7,100.0,-3.75]}",
     "9921c3f9ac0b3e6ec644878d45251e354d3764a579b78fd1e5253ccc2e74900a"},
    {"{\"i\":[0,-1,9223372036854775807,-9223372036854775808,18446744073709551615]}",
     "{\"i\":[0,-1,9223372036854775807,-9223372036854775808,18446744073709551615]}",
     "389a75d803412878bb613a42e99c08c6c6471bbc6c0fcf33652f790a8edeac84"},
    {"{\"api_key\":\"sk\",\"model\":\"m\",\"base_url\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"api_key\":\"inner\"}],\"temperature\":0.0,\"api_base\":\"b\",\"n\":1}",
     "{\"messages\":[{\"api_key\":\"inner\",\"content\":\"hi\",\"role\":\"user\"}],\"model\":\"m\",\"n\":1,\"temperature\":0.0}",
     "1084250c7845da21642001b187bf6879f95baa27ac7aa0dbf9e1c98e272d83c3"},
    {"{\"k19\":19,\"k18\":18,\"k17\":17,\"k16\":16,\"k15\":15,\"k14\":14,\"k13\":13,\"k12\":12,\"k11\":11,\"k10\":10,\"k09\":9,\"k08\":8,\"k07\":7,\"k06\":6,\"k05\":5,\"k04\":4,\"k03\":3,\"k02\":2,\"k01\":1,\"k00\":0,\"api_key\":\"x\"}",
     "{\"k00\":0,\"k01\":1,\"k02\":2,\"k03\":3,\"k04\":4,\"k05\":5,\"k06\":6,\"k07\":7,\"k08\":8,\"k09\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,\"k18\":18,\"k19\":19}",
     "3cf76b5e8e0ae43735d957049629c1aa41c52cb41524d08452fb32431b3cc3bf"},
    {"{\"a\\\"b\":1,\"a\":2,\"ab\":3,\"a\\nb\":4,\"\":5}",
     "{\"\":5,\"a\":2,\"a\\nb\":4,\"a\\\"b\":1,\"ab\":3}",
     "84ab5286b7e26d45d0bd358251c9ded162a10cf195f21d30fd0e48b315b950a6"},
};

TEST(CacheKey, MatchesOrjsonOnEscapesNestingFloatsIntegersAndIgnoredKeys) {
    const std::array<std::string, 3> ignored = {"api_key", "api_base", "base_url"};
    for (const auto& c : kOrjsonCases) {
        SCOPED_TRACE(c.request);
        const Json request = Json::parse(c.request);
        EXPECT_EQ(canonical_request_json(request, ignored), c.canonical);
        EXPECT_EQ(cache_key(request, ignored), c.key);
    }
}

TEST(CacheKey, NonFiniteFloatsAreNullAsInOrjson) {
    Json request = {{"x", Json::array({std::nan(""), HUGE_VAL, -HUGE_VAL})}};
    EXPECT_EQ(canonical_request_json(request), R"({"x":[null,null,null]})");
}

TEST(CacheKey, StaysRightAfterAVeryLargeRequest) {
    // The key text is built in a reused per-thread buffer, given back after an unusually large request.
    Json small = {{"model", "m"}, {"messages", Json::array({Json{{"role", "user"}, {"content", "hi"}}})}};
    const std::string before = cache_key(small);
    Json large = {{"model", "m"}, {"content", std::string(200'000, 'x')}};
    EXPECT_EQ(cache_key(large), sha256_hex(canonical_request_json(large)));
    EXPECT_EQ(cache_key(small), before);
    EXPECT_EQ(before, sha256_hex(canonical_request_json(small)));
    EXPECT_THROW((void)cache_key(Json::array()), TypeError);
    EXPECT_EQ(cache_key(small), before);  // nothing left over from the failed call
}

TEST(Sha256, KnownDigests) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace dspy
