#pragma once
/// @file
/// Errors raised by the async runtime.

#include "dspy/utils/exceptions.hpp"

namespace dspy {

/// The awaiting task was cancelled (its stop_token was triggered) while it waited. @sa asyncio.CancelledError
class CancelledError : public DSPyError {
public:
    CancelledError() : DSPyError("the operation was cancelled") {}
    using DSPyError::DSPyError;
};

/// `with_timeout` expired before the task finished. @sa asyncio.TimeoutError / TimeoutError
class TimeoutError : public DSPyError {
public:
    using DSPyError::DSPyError;
    [[nodiscard]] bool retryable() const noexcept override { return true; }
};

}  // namespace dspy
