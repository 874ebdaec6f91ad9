#pragma once
/// @file
/// Turns a provider's non-2xx HTTP reply into the dspy error it stands for (the mapping litellm performs for
/// DSPy): 429 -> LMRateLimitError (with Retry-After), context-window overflows -> ContextWindowExceededError,
/// other 4xx -> LMProviderError (not retryable), 5xx -> LMProviderError (retryable).

#include <exception>
#include <string>
#include <string_view>

#include "clients/http/transport.hpp"

namespace dspy::http {

/// The provider's own error message from an OpenAI (`{"error":{"message":...}}`), Anthropic
/// (`{"type":"error","error":{"message":...}}`) or similar JSON body; else the body itself, shortened.
std::string provider_error_message(std::string_view body);

/// The error for a reply with `status` (>= 400). `context` names the call in the message (model or URL);
/// `headers` supply retry-after-ms / Retry-After for 429 and 503.
std::exception_ptr map_http_error(int status, std::string_view body, const Headers& headers = {},
                                  std::string_view context = {});

/// Throws what map_http_error returns.
[[noreturn]] void throw_http_error(int status, std::string_view body, const Headers& headers = {},
                                   std::string_view context = {});

}  // namespace dspy::http
