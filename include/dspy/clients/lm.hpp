#pragma once
/// @file
/// LM: DSPy's provider-backed language model (`dspy.LM`): constructor rules, saved state and the request it
/// hashes for the cache. The HTTP transport is a separate piece.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/clients/base_lm.hpp"
#include "dspy/json.hpp"

namespace dspy {

/// Constructor keyword arguments of LM, as designated initialisers:
/// `dspy::LM("openai/gpt-4o-mini", {.temperature = 0.2, .max_tokens = 1000})`.
/// Unset optionals are Python's `None`. @sa dspy.LM.__init__
struct LMOptions {
    /// "chat", "text" or "responses".
    std::string model_type = "chat";
    std::optional<double> temperature{};
    std::optional<int64_t> max_tokens{};
    /// Whether calls use DSPy's request cache.
    bool cache = true;
    /// Provider retries after the first failure.
    int num_retries = 3;
    /// Sent with requests, never saved and never part of a cache key.
    std::optional<std::string> api_key{};
    /// Sent with requests, saved, not part of a cache key; dropped when loading untrusted state.
    std::optional<std::string> api_base{};
    /// Distinguishes cache entries of otherwise identical requests (only meaningful with temperature > 0).
    std::optional<int64_t> rollout_id{};
    std::optional<std::string> finetuning_model{};
    Json launch_kwargs = Json::object();
    Json train_kwargs = Json::object();
    /// With model_type "responses", system messages are sent as "developer".
    bool use_developer_role = false;
    /// Any other request parameter (`n`, `stop`, `top_p`, `base_url`, `reasoning_effort`, ...), in order.
    Json kwargs = Json::object();
};

/// One call as LM builds it: what gets hashed (and, without `_fn_identifier`, sent). @sa dspy.LM.forward and
/// dspy.clients.cache.request_cache
struct LMCallRequest {
    /// `{"model", "messages", ...merged kwargs, "_fn_identifier"}` in DSPy's key order.
    Json request;
    /// Top-level keys left out of the cache key: `api_key`, `api_base`, `base_url`.
    std::vector<std::string> ignored;
    /// Whether this call reads and writes the cache (`cache` popped from the call kwargs, else the LM's).
    bool cache = true;
    /// The cache key of `request`. @sa dspy.clients.cache.Cache.cache_key
    [[nodiscard]] std::string key() const;
};

/// What the response cache needs of a call: its key and whether it uses the cache at all.
/// @sa dspy.clients.cache.request_cache
struct LMCallKey {
    /// Equal to LMCallRequest::key() of the same call. @sa dspy.clients.cache.Cache.cache_key
    std::string key;
    /// `cache` popped from the call kwargs, else the LM's.
    bool cache = true;
};

/// A language model reached through an OpenAI-compatible provider. @sa dspy.LM
class LM : public BaseLM {
public:
    /// @throws LMConfigurationError for an OpenAI reasoning model (o1/o3/o4/o5, gpt-5) with a temperature other
    /// than 1.0 or max_tokens below 16000; ValueError for an unknown model_type.
    explicit LM(std::string model, LMOptions options = {});

    /// Python's `dspy.LM(**kwargs)`: `kwargs` holds `model` and any constructor keyword; unknown keys become
    /// request parameters in their order (this is how saved state is rebuilt). @throws TypeError naming a key
    /// of the wrong type. @sa dspy.LM.__init__
    [[nodiscard]] static std::shared_ptr<LM> from_kwargs(const Json& kwargs);

    /// Rebuilds an LM from dump_state() output (a state without `_dspy_lm_class` is a legacy dspy.LM state).
    /// Only `dspy.clients.lm.LM` can be rebuilt here. @throws ValueError for another class unless
    /// `allow_custom_lm_class`, NotImplementedError when allowed but not a class we have. @sa dspy.BaseLM.load_state
    [[nodiscard]] static std::shared_ptr<LM> load_state(const Json& state, bool allow_custom_lm_class = false);

    /// `{"_dspy_lm_class", "model", "model_type", "cache", "num_retries", ...kwargs without api_key,
    /// "finetuning_model", "launch_kwargs", "train_kwargs"}`; a reasoning model's max_completion_tokens is saved as
    /// max_tokens. @sa dspy.LM.dump_state
    [[nodiscard]] Json dump_state() const override;

    /// Calls the provider (or answers from the request cache) on this thread: blocking HTTP, retries with the
    /// thread sleeping between attempts. @throws LMProviderError, LMRateLimitError, ContextWindowExceededError,
    /// LMTimeoutError, LMTransportError after the retries allowed by num_retries. @sa dspy.LM.forward
    LMResponse forward(const Messages& messages, const Json& kwargs) override;
    /// The async twin of forward: the same steps, with the HTTP reply and the retry waits handed back to the
    /// awaiting event loop, so thousands of calls can be in flight on one thread. @sa dspy.LM.aforward
    Task<LMResponse> aforward(Messages messages, Json kwargs) override;

    /// The request DSPy builds and hashes for `lm(messages=..., **kwargs)` (or `await lm.acall(...)` when
    /// `async_call`). `kwargs` override the LM's own; `cache` among them selects caching and is not sent.
    /// Pass the messages with std::move to avoid copying them into the request.
    /// @throws TypeError when kwargs is not an object or repeats `model`/`messages`. @sa dspy.LM.forward
    [[nodiscard]] LMCallRequest build_request(Json messages, const Json& kwargs = Json::object(),
                                              bool async_call = false) const;
    /// The same for `lm(prompt)`: the prompt becomes one user message. @sa dspy.LM.forward
    [[nodiscard]] LMCallRequest build_prompt_request(std::string_view prompt, const Json& kwargs = Json::object(),
                                                     bool async_call = false) const;

    /// The cache key of `lm(messages, **kwargs)` without building the request: a memory-cache hit needs nothing
    /// else. Equal to `build_request(messages_to_json(messages), kwargs, async_call).key()`, with the same errors.
    /// @sa dspy.clients.cache.Cache.cache_key
    [[nodiscard]] LMCallKey request_key(const Messages& messages, const Json& kwargs = Json::object(),
                                        bool async_call = false) const;

    /// Whether calls use the request cache unless a call says otherwise. @sa LM.cache
    [[nodiscard]] bool cache() const { return cache_; }
    /// Provider retries after the first failure. @sa LM.num_retries
    [[nodiscard]] int num_retries() const { return num_retries_; }
    /// @sa LM.use_developer_role
    [[nodiscard]] bool use_developer_role() const { return use_developer_role_; }
    /// The provider prefix of the model (`openai` for `openai/gpt-4o`; `openai` when there is none).
    /// @sa LM._provider_name
    [[nodiscard]] std::string provider_name() const;

    /// DSPy's test for OpenAI reasoning models, on the text after the last `/`, lower-cased.
    /// @sa dspy.clients.lm._is_openai_reasoning_model
    [[nodiscard]] static bool is_openai_reasoning_model(std::string_view model);

private:
    // The one algorithm behind forward (sync) and aforward (async): cache, single-flight, HTTP, retries.
    Task<LMResponse> request(bool sync, const Messages& messages, const Json& kwargs);
    struct FromKwargs {};
    LM(FromKwargs, std::string model, const Json& kwargs);
    void warn_zero_temp_rollout(const Json* temperature, const Json* rollout_id) const;
    // Python's `{**self.kwargs, **kwargs}` for one call, shared by build_request and request_key: calls
    // add(key, value) in order, leaves out `cache` (returned: whether the call uses the cache) and a null rollout_id,
    // refuses `model`/`messages`. Defined in lm.cpp, its only user.
    template <class Add>
    bool merge_call_kwargs(const Json& kwargs, Add&& add) const;
    // request_key, which leaves the key empty when the call does not use the cache unless `always`.
    [[nodiscard]] LMCallKey call_key(const Messages& messages, const Json& kwargs, bool async_call, bool always) const;
    // Whether `model_type="responses"` with use_developer_role sends system messages as "developer".
    [[nodiscard]] bool system_as_developer() const { return use_developer_role_ && model_type_ == "responses"; }

    bool cache_ = true;
    int num_retries_ = 3;
    Json finetuning_model_ = nullptr;
    Json launch_kwargs_ = Json::object();
    Json train_kwargs_ = Json::object();
    bool use_developer_role_ = false;
    mutable std::atomic<bool> warned_zero_temp_rollout_{false};
};

}  // namespace dspy
