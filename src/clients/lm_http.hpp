#pragma once
// The pieces of LM's HTTP path that tests and the benchmark reach directly: the process-wide HTTP client and the
// retry base wait (1 s as litellm; tests shorten it so that retries do not take seconds).

#include <chrono>

#include "clients/http/transport.hpp"

namespace dspy::detail {

/// The one HTTP client every LM shares, created on first use (one I/O thread, up to 1000 connections per origin,
/// httpx's limit under litellm).
http::HttpClient& lm_http_client();

/// Sets the first retry's wait (it doubles per retry, capped at 10 s); a zero or negative value restores 1 s.
void set_lm_retry_base(std::chrono::milliseconds base);

}  // namespace dspy::detail
