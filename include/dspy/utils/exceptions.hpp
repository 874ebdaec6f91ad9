#pragma once
/// @file
/// The exception hierarchy, mirroring DSPy's (dspy/utils/exceptions.py) plus the Python built-in error kinds
/// that DSPy lets escape (ValueError, TypeError, KeyError), so that callers can catch what Python code catches.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dspy {

/// Base of every error raised by dspy-cpp. @sa dspy.utils.exceptions.DSPyError
class DSPyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    /// Whether retrying the same operation may succeed (rate limits, timeouts, 5xx).
    [[nodiscard]] virtual bool retryable() const noexcept { return false; }
};

/// A bad signature string or field definition; the message names the offending part. @sa ValueError/SyntaxError
/// raised by dspy.Signature
class SignatureError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// A value that does not fit its declared type or an argument that is out of range. @sa Python ValueError and
/// pydantic.ValidationError
class ValueError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// A value of a kind an operation cannot handle. @sa Python TypeError
class TypeError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// A missing key. @sa Python KeyError
class KeyError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// A feature DSPy itself refuses (for example `extended_signature` in saved state). @sa Python NotImplementedError
class NotImplementedError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// The adapter could not turn an LM completion into the signature's output fields.
/// @sa dspy.utils.exceptions.AdapterParseError
class AdapterParseError : public DSPyError {
public:
    /// Builds DSPy's exact message from its parts.
    AdapterParseError(std::string adapter_name, std::string signature, std::vector<std::string> output_fields,
                      std::string lm_response, std::optional<std::string> message = std::nullopt,
                      std::optional<std::vector<std::string>> parsed_fields = std::nullopt);

    /// "ChatAdapter" or "JSONAdapter".
    [[nodiscard]] const std::string& adapter_name() const noexcept { return adapter_name_; }
    /// The signature as `a, b -> c`.
    [[nodiscard]] const std::string& signature() const noexcept { return signature_; }
    /// The raw completion that failed to parse.
    [[nodiscard]] const std::string& lm_response() const noexcept { return lm_response_; }
    /// The output fields that were parsed before the failure, when known.
    [[nodiscard]] const std::optional<std::vector<std::string>>& parsed_fields() const noexcept { return parsed_; }
    /// The field at fault, when a single field failed to parse (empty otherwise).
    [[nodiscard]] const std::string& field() const noexcept { return field_; }
    /// Records which field failed (used by the parsers).
    AdapterParseError& with_field(std::string field) {
        field_ = std::move(field);
        return *this;
    }

private:
    std::string adapter_name_, signature_, lm_response_, field_;
    std::optional<std::vector<std::string>> parsed_;
};

/// A tool was called wrongly (unknown or ill-typed argument, async tool called synchronously). A ValueError,
/// as every error dspy.Tool raises is one, so `catch (const ValueError&)` catches what DSPy users catch.
/// @sa ValueError raised by dspy.Tool
class ToolError : public ValueError {
public:
    using ValueError::ValueError;
};

/// Any failure of a language-model call. @sa litellm exceptions as DSPy surfaces them
class LMError : public DSPyError {
public:
    using DSPyError::DSPyError;
};

/// The LM is configured in a way the provider cannot serve (e.g. a reasoning model with a low max_tokens).
/// @sa dspy.utils.exceptions.LMConfigurationError
class LMConfigurationError : public LMError {
public:
    using LMError::LMError;
};

/// The provider answered with an error (HTTP status and the provider's message), or status 0: a success reply
/// that could not be read (malformed JSON, no choices).
class LMProviderError : public LMError {
public:
    LMProviderError(const std::string& what, int status = 0) : LMError(what), status_(status) {}
    [[nodiscard]] int status() const noexcept { return status_; }
    [[nodiscard]] bool retryable() const noexcept override {
        // Status 0 is a malformed success reply: asking again gets the same bytes, so it is never retried.
        return status_ == 408 || status_ == 409 || status_ == 429 || status_ >= 500;
    }

private:
    int status_;
};

/// HTTP 429; carries the server's Retry-After when it sent one. @sa litellm.RateLimitError
class LMRateLimitError : public LMProviderError {
public:
    LMRateLimitError(const std::string& what, std::optional<std::chrono::milliseconds> retry_after = std::nullopt)
        : LMProviderError(what, 429), retry_after_(retry_after) {}
    [[nodiscard]] std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

private:
    std::optional<std::chrono::milliseconds> retry_after_;
};

/// The prompt does not fit the model's context window; never retried. @sa dspy ContextWindowExceededError
class ContextWindowExceededError : public LMError {
public:
    using LMError::LMError;
};

/// A connect/read timeout or the overall deadline expired. @sa litellm.Timeout
class LMTimeoutError : public LMError {
public:
    using LMError::LMError;
    [[nodiscard]] bool retryable() const noexcept override { return true; }
};

/// The connection to the provider failed (refused, reset, DNS, TLS, malformed HTTP) before a complete reply
/// arrived. Retryable unless it cannot heal by itself (for example a TLS certificate that fails verification).
/// @sa litellm.APIConnectionError
class LMTransportError : public LMError {
public:
    explicit LMTransportError(const std::string& what, bool retryable = true) : LMError(what), retryable_(retryable) {}
    [[nodiscard]] bool retryable() const noexcept override { return retryable_; }

private:
    bool retryable_;
};

}  // namespace dspy
