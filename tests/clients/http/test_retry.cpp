#include "clients/http/retry.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"

namespace dspy::http {
namespace {
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

RetryPolicy no_jitter() { return RetryPolicy{.jitter = 0}; }

TEST(RetryPolicy, ExponentialLikeTenacity) {
    const auto p = no_jitter();
    EXPECT_EQ(p.next_delay(1, 500), ms(1000));
    EXPECT_EQ(p.next_delay(2, 502), ms(2000));
    EXPECT_EQ(p.next_delay(3, 503), ms(4000));
    EXPECT_EQ(p.next_delay(4, 503), std::nullopt);  // num_retries = 3
    RetryPolicy many{.num_retries = 10, .jitter = 0};
    EXPECT_EQ(many.next_delay(5, 500), ms(10'000));  // 16 s capped at max
    EXPECT_EQ(many.next_delay(10, 500), ms(10'000));
}

TEST(RetryPolicy, WhichStatusesRetry) {
    const auto p = no_jitter();
    for (int s : {408, 409, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(p.next_delay(1, s).has_value()) << s;
    for (int s : {400, 401, 403, 404, 413, 422}) EXPECT_FALSE(p.next_delay(1, s).has_value()) << s;
    EXPECT_TRUE(p.next_delay(1, 0).has_value());  // no reply: connection error or timeout
    EXPECT_FALSE(RetryPolicy{.num_retries = 0}.next_delay(1, 500).has_value());
}

TEST(RetryPolicy, HonoursRetryAfter) {
    const auto p = no_jitter();
    EXPECT_EQ(p.next_delay(1, 429, "7"), ms(7000));
    EXPECT_EQ(p.next_delay(3, 503, "0.5"), ms(500));
    EXPECT_EQ(p.next_delay(1, 429, "3600"), ms(1000));  // beyond max_retry_after: back to the exponential wait
    EXPECT_EQ(p.next_delay(2, 429, "soon"), ms(2000));  // unparseable: ignored
    EXPECT_EQ(p.next_delay(1, 400, "1"), std::nullopt);  // never for a non-retryable status
}

TEST(RetryPolicy, JitterStaysWithinItsFraction) {
    RetryPolicy p{.jitter = 0.5};
    for (int i = 0; i < 200; ++i) {
        const auto d = p.backoff(2);
        EXPECT_GE(d, ms(1000));
        EXPECT_LE(d, ms(2000));
    }
    RetryPolicy seeded{.jitter = 0.5, .seed = 42};
    EXPECT_EQ(seeded.backoff(3), seeded.backoff(3));
}

TEST(RetryPolicy, FromErrors) {
    const auto p = no_jitter();
    EXPECT_EQ(p.next_delay(1, LMRateLimitError("slow down", ms(2500))), ms(2500));
    EXPECT_EQ(p.next_delay(2, LMRateLimitError("slow down")), ms(2000));
    EXPECT_EQ(p.next_delay(1, LMTimeoutError("t")), ms(1000));
    EXPECT_EQ(p.next_delay(1, LMTransportError("reset")), ms(1000));
    EXPECT_EQ(p.next_delay(1, LMTransportError("bad cert", false)), std::nullopt);
    EXPECT_EQ(p.next_delay(1, LMProviderError("bad request", 400)), std::nullopt);
    EXPECT_EQ(p.next_delay(1, LMProviderError("overloaded", 529)), ms(1000));
    EXPECT_EQ(p.next_delay(1, ContextWindowExceededError("too long")), std::nullopt);
}

TEST(RetryAfter, Parsing) {
    const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
    EXPECT_EQ(parse_retry_after("120", now), ms(120'000));
    EXPECT_EQ(parse_retry_after(" 1.25 ", now), ms(1250));
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), ms(30'000));
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), ms(0));
    EXPECT_EQ(parse_retry_after("Wed, 21 Foo 2015 07:28:30 GMT", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("12s", now), std::nullopt);
}

}  // namespace
}  // namespace dspy::http
