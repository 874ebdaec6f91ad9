// JSONAdapter.parse: one JSON object (repaired if needed), its output fields parsed by type.
// @sa dspy/adapters/json_adapter.py JSONAdapter.parse

#include <string>
#include <vector>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/adapters/utils.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/json_repair.hpp"

namespace dspy {
namespace {

// The first match of the PCRE pattern `\{(?:[^{}]|(?R))*\}`: the leftmost `{` that opens a balanced group.
std::string_view first_balanced_braces(std::string_view s) {
    size_t start = s.find('{');
    while (start != std::string_view::npos) {
        int depth = 0;
        size_t k = start;
        for (; k < s.size(); ++k) {
            if (s[k] == '{') {
                ++depth;
            } else if (s[k] == '}' && --depth == 0) {
                return s.substr(start, k - start + 1);
            }
        }
        // No balanced group from here; a later `{` nested inside may still close.
        start = s.find('{', start + 1);
    }
    return {};
}

std::vector<std::string> output_names(const Signature& signature) {
    std::vector<std::string> names;
    for (const Field* f : signature.output_fields()) names.push_back(f->name);
    return names;
}

}  // namespace

Json JSONAdapter::parse(const Signature& signature, std::string_view completion) const {
    Json parsed = json_repair::loads(completion);
    if (!parsed.is_object()) {
        std::string_view match = first_balanced_braces(completion);
        if (!match.empty()) {
            completion = match;  // DSPy reports the matched text as the LM response from here on
            parsed = json_repair::loads(completion);
        }
    }
    if (!parsed.is_object()) {
        throw AdapterParseError(std::string(adapter_name()), signature.signature_string(), output_names(signature),
                                std::string(completion), "LM response cannot be serialized to a JSON object.");
    }
    Json fields = Json::object();
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
        const Field* field = signature.field(it.key());
        if (field == nullptr || field->is_input) continue;
        // Not wrapped: DSPy lets pydantic's ValidationError / ValueError escape from here.
        fields[it.key()] = parse_json_value(it.value(), field->type);
    }
    Json completed = apply_output_field_defaults(signature, std::move(fields));
    if (completed.size() != signature.output_fields().size()) {
        std::vector<std::string> keys;
        for (auto it = completed.begin(); it != completed.end(); ++it) keys.push_back(it.key());
        throw AdapterParseError(std::string(adapter_name()), signature.signature_string(), output_names(signature),
                                std::string(completion), std::nullopt, std::move(keys));
    }
    return completed;
}

}  // namespace dspy
