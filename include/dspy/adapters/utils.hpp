#pragma once
/// @file
/// Value rendering and typed parsing shared by the adapters. @sa dspy/adapters/utils.py

#include <string>
#include <string_view>

#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// How a value appears in a prompt: numbered `«»` lists for a list in a `str` field, JSON for lists and dicts,
/// Python's `str()` otherwise. @throws TypeError for a list holding numbers/bools/null in a `str` field.
/// @sa dspy.adapters.utils.format_field_value
std::string format_field_value(const Field& field, const Json& value);

/// `{name}` plus the `# note: the value you produce ...` hint for the field's type.
/// @sa dspy.adapters.utils.translate_field_type
std::string translate_field_type(const Field& field);

/// Parses a completion's text for a field of type `type` (json_repair, literal_eval, pydantic lax rules).
/// @throws ValueError when the text does not fit the type. @sa dspy.adapters.utils.parse_value
Json parse_value(std::string_view text, const TypeSpec& type);

/// parse_value for a value that is already decoded (JSONAdapter path): strings go through parse_value, `str`
/// fields take Python's `str()` of anything else, Literals must match as they are, the rest is validated.
/// @throws ValueError. @sa dspy.adapters.utils.parse_value
Json parse_json_value(const Json& value, const TypeSpec& type);

/// Completes parsed output fields in signature order: present fields kept, missing fields whose type admits
/// None set to null, others left missing. @sa dspy.adapters.utils.apply_output_field_defaults
Json apply_output_field_defaults(const Signature& signature, Json fields);

/// Validates an already-decoded JSON value against `type` with pydantic's lax rules (JSONAdapter path).
/// @throws ValueError naming what did not fit. @sa pydantic.TypeAdapter(T).validate_python
Json validate_value(const Json& value, const TypeSpec& type);

}  // namespace dspy
