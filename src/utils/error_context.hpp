#pragma once
// Adds context (a file, a predictor path, a key) to an error while keeping its kind, so callers still catch
// KeyError/ValueError/... as Python code would. Private to the library.

#include <string_view>

namespace dspy::detail {

/// Call only inside a catch block: rethrows the exception being handled as the same dspy error kind with
/// `prefix` + its message + `suffix`; any other exception is rethrown unchanged.
[[noreturn]] void rethrow_with_context(std::string_view prefix, std::string_view suffix = {});

}  // namespace dspy::detail
