#include "clients/http/retry.hpp"

#include <atomic>
#include <cmath>
#include <ctime>

#include "dspy/utils/exceptions.hpp"

namespace dspy::http {
namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool digits(std::string_view s, int& out) {
    if (s.empty()) return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
        if (v > 100'000'000) return false;
    }
    out = v;
    return true;
}

// IMF-fixdate, the form RFC 9110 requires senders to use: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
    static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const size_t comma = s.find(", ");
    if (comma == std::string_view::npos) return std::nullopt;
    s = s.substr(comma + 2);
    if (s.size() != 24 || s[2] != ' ' || s[6] != ' ' || s[11] != ' ' || s[14] != ':' || s[17] != ':' ||
        s.substr(20) != " GMT")
        return std::nullopt;
    int day, year, hour, minute, second, month = -1;
    for (int m = 0; m < 12; ++m)
        if (s.substr(3, 3) == kMonths[m]) month = m;
    if (month < 0 || !digits(s.substr(0, 2), day) || !digits(s.substr(7, 4), year) ||
        !digits(s.substr(12, 2), hour) || !digits(s.substr(15, 2), minute) || !digits(s.substr(18, 2), second))
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const time_t t = timegm(&tm);
    if (t == static_cast<time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if ((value.front() >= '0' && value.front() <= '9') || value.front() == '.') {
        // delta-seconds; providers sometimes send fractions ("0.5"), which we accept too
        double seconds = 0, scale = 0;
        for (char c : value) {
            if (c == '.' && scale == 0) {
                scale = 0.1;
            } else if (c >= '0' && c <= '9') {
                if (scale == 0) {
                    seconds = seconds * 10 + (c - '0');
                } else {
                    seconds += (c - '0') * scale;
                    scale /= 10;
                }
            } else {
                return std::nullopt;
            }
        }
        if (seconds > 1e9) return std::nullopt;
        return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
    }
    auto date = parse_http_date(value);
    if (!date) return std::nullopt;
    if (*date <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(*date - now);
}

std::chrono::milliseconds RetryPolicy::backoff(int attempt) const {
    const int exponent = attempt < 1 ? 0 : (attempt > 40 ? 40 : attempt - 1);
    const double wait = std::min(static_cast<double>(base.count()) * std::ldexp(1.0, exponent),
                                 static_cast<double>(max.count()));
    double factor = 1.0;
    if (jitter > 0) {
        static std::atomic<std::uint64_t> process_state{
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
        std::uint64_t state = seed ? seed + static_cast<std::uint64_t>(attempt)
                                   : process_state.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
        const double unit = static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53;  // [0, 1)
        factor = 1.0 - std::min(jitter, 1.0) * unit;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(wait * factor));
}

std::optional<std::chrono::milliseconds> RetryPolicy::decide(int attempt, bool retryable,
                                                             std::optional<std::chrono::milliseconds> hint) const {
    if (!retryable || attempt < 1 || attempt > num_retries) return std::nullopt;
    if (hint && hint->count() > 0 && *hint <= max_retry_after) return *hint;
    return backoff(attempt);
}

std::optional<std::chrono::milliseconds> RetryPolicy::next_delay(int attempt, int status,
                                                                 std::optional<std::string_view> retry_after) const {
    const bool retryable = status == 0 || retryable_status(status);
    std::optional<std::chrono::milliseconds> hint;
    if (retry_after) hint = parse_retry_after(*retry_after);
    return decide(attempt, retryable, hint);
}

std::optional<std::chrono::milliseconds> RetryPolicy::next_delay(int attempt, const DSPyError& error) const {
    std::optional<std::chrono::milliseconds> hint;
    if (const auto* rate = dynamic_cast<const LMRateLimitError*>(&error)) hint = rate->retry_after();
    return decide(attempt, error.retryable(), hint);
}

}  // namespace dspy::http
