#pragma once
/// @file
/// dspy::Json: the value type of every field, input, demo and request.

#include <nlohmann/json.hpp>

namespace dspy {

/// An ordered JSON value: insertion order is kept because DSPy renders fields, demos and saved state in
/// dict order, and int and float stay apart (`3` and `3.0` render differently in prompts).
/// @sa Python `dict` / `list` values as DSPy passes them around.
using Json = nlohmann::ordered_json;

}  // namespace dspy
