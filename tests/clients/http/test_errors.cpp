#include "clients/http/errors.hpp"

#include <gtest/gtest.h>

namespace dspy::http {
namespace {
using ms = std::chrono::milliseconds;

template <class E>
E caught(std::exception_ptr p) {
    try {
        std::rethrow_exception(p);
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong error type: " << e.what();
    }
    throw std::logic_error("unreachable");
}

TEST(HttpErrors, ProviderMessages) {
    EXPECT_EQ(provider_error_message(R"({"error":{"message":"Invalid API key","type":"invalid_request_error"}})"),
              "Invalid API key");
    EXPECT_EQ(provider_error_message(
                  R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
              "Overloaded");
    EXPECT_EQ(provider_error_message(R"({"error":"model not found"})"), "model not found");
    EXPECT_EQ(provider_error_message(R"({"detail":"Not Found"})"), "Not Found");
    EXPECT_EQ(provider_error_message("<html>502 Bad Gateway</html>\n"), "<html>502 Bad Gateway</html>");
    const std::string huge(2000, 'x');
    EXPECT_LT(provider_error_message(huge).size(), 600u);
}

TEST(HttpErrors, RateLimitCarriesRetryAfter) {
    auto e = caught<LMRateLimitError>(map_http_error(
        429, R"({"error":{"message":"Rate limit reached for gpt-4o-mini"}})", {{"Retry-After", "3"}}, "gpt-4o-mini"));
    EXPECT_EQ(e.retry_after(), ms(3000));
    EXPECT_EQ(e.status(), 429);
    EXPECT_TRUE(e.retryable());
    const std::string what = e.what();
    EXPECT_NE(what.find("HTTP 429"), std::string::npos) << what;
    EXPECT_NE(what.find("gpt-4o-mini"), std::string::npos) << what;
    EXPECT_NE(what.find("Rate limit reached"), std::string::npos) << what;

    auto precise = caught<LMRateLimitError>(
        map_http_error(429, "{}", {{"retry-after-ms", "1500"}, {"retry-after", "2"}}));
    EXPECT_EQ(precise.retry_after(), ms(1500));
    EXPECT_EQ(caught<LMRateLimitError>(map_http_error(429, "")).retry_after(), std::nullopt);
}

TEST(HttpErrors, ContextWindow) {
    caught<ContextWindowExceededError>(map_http_error(
        400, R"({"error":{"message":"This model's maximum context length is 128000 tokens.","code":"context_length_exceeded"}})"));
    caught<ContextWindowExceededError>(map_http_error(
        400, R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})"));
    caught<ContextWindowExceededError>(
        map_http_error(400, R"({"error":{"message":"Input exceeds the context window of this model"}})"));
    // a 400 about something else is a plain provider error
    auto e = caught<LMProviderError>(map_http_error(400, R"({"error":{"message":"Unknown parameter: 'foo'"}})"));
    EXPECT_EQ(e.status(), 400);
    EXPECT_FALSE(e.retryable());
    EXPECT_FALSE(ContextWindowExceededError("x").retryable());
}

TEST(HttpErrors, ClientAndServerErrors) {
    for (int s : {401, 403, 404, 422}) {
        auto e = caught<LMProviderError>(map_http_error(s, R"({"error":{"message":"nope"}})"));
        EXPECT_EQ(e.status(), s);
        EXPECT_FALSE(e.retryable()) << s;
    }
    EXPECT_NE(std::string(caught<LMProviderError>(map_http_error(401, "{}")).what()).find("API key"),
              std::string::npos);
    for (int s : {500, 502, 503, 529}) {
        auto e = caught<LMProviderError>(map_http_error(s, "upstream error"));
        EXPECT_TRUE(e.retryable()) << s;
        EXPECT_NE(std::string(e.what()).find("upstream error"), std::string::npos);
    }
    EXPECT_THROW(throw_http_error(500, ""), LMProviderError);
}

}  // namespace
}  // namespace dspy::http
