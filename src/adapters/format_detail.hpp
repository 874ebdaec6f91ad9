#pragma once
// Helpers shared by the adapters' formatting code (private to the library).

#include <string>
#include <string_view>
#include <vector>

#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy::detail {

/// Whether `type` names the DSPy type `name` (`Tool`, `dspy.Tool`, ...) anywhere inside it.
bool mentions_type(const TypeSpec& type, std::string_view name);
/// Whether `type` itself is the DSPy type `name`.
bool is_type(const TypeSpec& type, std::string_view name);

/// format_field_value, appending to `out` (avoids a temporary per field).
void append_field_value(std::string& out, const Field& field, const Json& value);

/// serialize_for_json for a field's value: dspy.Tool metadata objects become `str(tool)`; everything else is
/// already JSON.
Json serialize_for_json(const Field& field, const Json& value);

/// get_field_description_string over fields[begin, end), appended to `out`.
/// @sa dspy.adapters.utils.get_field_description_string
void append_field_descriptions(std::string& out, const std::vector<Field>& fields, size_t begin, size_t end);

}  // namespace dspy::detail
