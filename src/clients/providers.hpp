#pragma once
// Provider wire formats: DSPy's request dict (model, messages, merged kwargs) -> an HTTP request for the provider,
// and the provider's reply -> one normalised OpenAI-chat-shaped response (what we cache and what LMOutput comes
// from). Pure JSON; no I/O here, so every provider rule is unit-testable.

#include <string>
#include <utility>
#include <vector>

#include "dspy/clients/base_lm.hpp"
#include "dspy/json.hpp"

namespace dspy::providers {

/// Which wire protocol a model string uses.
enum class Wire { OpenAIChat, AnthropicMessages };

/// Where and how to send: resolved from the model string, the LM's options and the environment.
struct Endpoint {
    Wire wire = Wire::OpenAIChat;
    std::string provider;  ///< "openai", "anthropic", ... (the part before the first '/')
    std::string model;     ///< the model name the provider expects (after the provider prefix)
    std::string url;       ///< full URL of the completion endpoint
    std::string api_key;   ///< may be empty (local servers)
};

/// A ready-to-send request.
struct WireRequest {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// Splits "provider/model" and resolves base URL and key: explicit `api_base`/`api_key` first, then
/// `{PROVIDER}_API_BASE`/`{PROVIDER}_BASE_URL` and `{PROVIDER}_API_KEY` from the environment, then the public
/// endpoint. @throws ValueError naming the model string when it has no provider prefix.
Endpoint resolve_endpoint(const std::string& model, const std::string& api_base, const std::string& api_key);

/// Builds the provider request from DSPy's request dict (the one hashed for the cache: model, messages and kwargs,
/// without `_fn_identifier`). DSPy-only keys (cache, rollout_id, num_retries, api_*) never reach the wire, and
/// null parameters are dropped as litellm does.
WireRequest build_request(const Endpoint& endpoint, const Json& request, bool stream = false);

/// Turns a successful reply body into the normalised response:
/// `{"model", "choices": [{"index", "message": {"role", "content", ...}, "finish_reason"}], "usage": {...}}`.
/// @throws LMProviderError when the body is not the expected JSON (the message names what is missing).
Json normalise_response(const Endpoint& endpoint, std::string_view body);

/// The completions of a normalised response: text plus reasoning_content / tool_calls when present.
std::vector<LMOutput> outputs_of(const Json& response);

/// The provider's error message from an error body (OpenAI `{"error": {"message"}}`, Anthropic
/// `{"type": "error", "error": {"message"}}`), or the raw body text (truncated) when it is not JSON.
std::string error_message(std::string_view body);

}  // namespace dspy::providers
