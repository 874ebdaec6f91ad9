#pragma once
/// @file
/// When to retry an LM call and how long to wait: litellm's policy as DSPy uses it (num_retries=3,
/// tenacity wait_exponential(multiplier=1, max=10): 1 s, 2 s, 4 s, ... capped at 10 s), honouring Retry-After.
/// Pure functions, no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dspy {
class DSPyError;
}

namespace dspy::http {

/// Parses a Retry-After value: delta-seconds ("120", "1.5") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT",
/// relative to `now`; a date in the past gives 0). nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Retry schedule for one LM call.
struct RetryPolicy {
    /// Retries after the first attempt (dspy.LM's default).
    int num_retries = 3;
    /// Wait before the first retry; doubles each retry.
    std::chrono::milliseconds base{1000};
    /// Cap on the exponential wait.
    std::chrono::milliseconds max{10'000};
    /// A server's Retry-After is honoured when it is positive and at most this long (as litellm does); longer
    /// ones fall back to the exponential wait.
    std::chrono::milliseconds max_retry_after{60'000};
    /// Up to this fraction of each exponential wait is removed at random so that clients spread out (0 = none).
    double jitter = 0.2;
    /// Seed of the jitter's generator; 0 picks one per process.
    std::uint64_t seed = 0;

    /// Statuses worth retrying: 408, 409, 429 and 5xx.
    [[nodiscard]] static bool retryable_status(int status) noexcept {
        return status == 408 || status == 409 || status == 429 || status >= 500;
    }

    /// The wait before retry number `attempt` (1 = the first retry) after a reply with `status` (0 = no reply:
    /// connection error or timeout) and an optional Retry-After header value; nullopt = do not retry.
    [[nodiscard]] std::optional<std::chrono::milliseconds> next_delay(
        int attempt, int status, std::optional<std::string_view> retry_after = std::nullopt) const;

    /// The same decision from an error: retries what error.retryable() allows and uses LMRateLimitError's
    /// retry-after.
    [[nodiscard]] std::optional<std::chrono::milliseconds> next_delay(int attempt, const DSPyError& error) const;

    /// The exponential wait (with jitter) for retry number `attempt`.
    [[nodiscard]] std::chrono::milliseconds backoff(int attempt) const;

private:
    [[nodiscard]] std::optional<std::chrono::milliseconds> decide(int attempt, bool retryable,
                                                                  std::optional<std::chrono::milliseconds> hint) const;
};

}  // namespace dspy::http
