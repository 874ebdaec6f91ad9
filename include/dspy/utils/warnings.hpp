#pragma once
/// @file
/// The warning sink: where DSPy's `logger.warning(...)` messages go (stderr by default; tests capture them).

#include <functional>
#include <string_view>

namespace dspy {

/// Receives one warning message (without the `dspy WARNING: ` prefix or a trailing newline).
using WarningHandler = std::function<void(std::string_view message)>;

/// Installs `handler` for every thread and returns the previous one; an empty handler restores the default, which
/// writes `dspy WARNING: <message>` to stderr. The handler may be called from any thread, concurrently.
/// @sa logging.getLogger("dspy") handlers
WarningHandler set_warning_handler(WarningHandler handler);

/// Emits a warning through the installed handler. @sa logger.warning
void warn(std::string_view message);

}  // namespace dspy
