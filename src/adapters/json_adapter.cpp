// JSONAdapter, format side and call: dspy/adapters/json_adapter.py. Parsing lives in json_adapter_parse.cpp.
#include "dspy/adapters/json_adapter.hpp"

#include <algorithm>

#include "adapters/format_detail.hpp"
#include "dspy/adapters/utils.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

// Python's str.title() for ASCII field names, as pydantic titles fields: name.title().replace('_', ' ').
std::string pydantic_title(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    bool prev_cased = false;
    for (char c : name) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (alpha) {
            out += prev_cased ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                              : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        } else {
            out += c == '_' ? ' ' : c;
        }
        prev_cased = alpha;
    }
    return std::string(pyfmt::strip(out));
}

// pydantic writes model schemas with keys sorted (but property maps in declaration order).
Json sort_schema(const Json& v, bool is_properties = false) {
    if (v.is_array()) {
        Json out = Json::array();
        for (const auto& e : v) out.push_back(sort_schema(e));
        return out;
    }
    if (!v.is_object()) return v;
    std::vector<std::string> keys;
    for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
    if (!is_properties) std::sort(keys.begin(), keys.end());
    Json out = Json::object();
    for (const auto& k : keys) {
        const Json& sub = v.at(k);
        if (!is_properties && (k == "default" || k == "enum" || k == "const" || k == "examples"))
            out[k] = sub;
        else
            out[k] = sort_schema(sub, !is_properties && (k == "properties" || k == "$defs"));
    }
    return out;
}

void enforce_required(Json& part) {
    if (!part.is_object()) return;
    if (auto t = part.find("type"); t != part.end() && *t == "object") {
        auto props = part.find("properties");
        if (props != part.end() && !props->is_null()) {
            Json required = Json::array();
            for (auto it = props->begin(); it != props->end(); ++it) required.push_back(it.key());
            part["required"] = std::move(required);
            part["additionalProperties"] = false;
            for (auto it = part["properties"].begin(); it != part["properties"].end(); ++it) enforce_required(*it);
        } else {
            part["properties"] = Json::object();
            part["required"] = Json::array();
            part["additionalProperties"] = false;
        }
    }
    if (auto t = part.find("type"); t != part.end() && *t == "array")
        if (auto items = part.find("items"); items != part.end() && items->is_object()) enforce_required(*items);
    for (const char* key : {"$defs", "definitions"})
        if (auto d = part.find(key); d != part.end() && d->is_object())
            for (auto it = d->begin(); it != d->end(); ++it) enforce_required(*it);
}

bool has_open_ended_mapping(const Signature& signature) {
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i)
        if (fields[i].type.kind == TypeSpec::Kind::Dict) return true;
    return false;
}

bool has_tool_calls_output(const Signature& signature) {
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i)
        if (detail::is_type(fields[i].type, "ToolCalls")) return true;
    return false;
}

}  // namespace

Json structured_outputs_schema(const Signature& signature, bool use_native_function_calling) {
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i)
        if (fields[i].type.kind == TypeSpec::Kind::Dict)
            throw ValueError("Field '" + fields[i].name +
                             "' has an open-ended mapping type which is not supported by Structured Outputs.");
    Json defs = Json::object();
    Json properties = Json::object();
    Json required = Json::array();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) {
        const Field& f = fields[i];
        if (use_native_function_calling && detail::is_type(f.type, "ToolCalls")) continue;
        Json prop = f.type.json_schema();
        if (auto d = prop.find("$defs"); d != prop.end()) {
            for (auto it = d->begin(); it != d->end(); ++it) defs[it.key()] = it.value();
            prop.erase("$defs");
        }
        if (!prop.contains("$ref")) prop["title"] = pydantic_title(f.name);
        properties[f.name] = sort_schema(prop);
        required.push_back(f.name);
    }
    Json schema = Json::object();
    if (!defs.empty()) schema["$defs"] = sort_schema(defs, true);
    schema["additionalProperties"] = false;
    schema["properties"] = std::move(properties);
    schema["required"] = std::move(required);
    schema["title"] = "DSPyProgramOutputs";
    schema["type"] = "object";
    enforce_required(schema);
    return schema;
}

Json structured_outputs_response_format(const Signature& signature, bool use_native_function_calling) {
    Json json_schema = Json::object();
    json_schema["schema"] = structured_outputs_schema(signature, use_native_function_calling);
    json_schema["name"] = "DSPyProgramOutputs";
    json_schema["strict"] = true;
    Json out = Json::object();
    out["type"] = "json_schema";
    out["json_schema"] = std::move(json_schema);
    return out;
}

std::string JSONAdapter::format_field_structure(const Signature& signature) const {
    const auto& fields = signature.fields();
    std::string out =
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "Inputs will have the following structure:\n\n";
    std::string inputs;
    for (size_t i = 0; i < signature.n_inputs(); ++i) {
        if (i) inputs += "\n\n";
        inputs += "[[ ## ";
        inputs += fields[i].name;
        inputs += " ## ]]\n";
        inputs += translate_field_type(fields[i]);
    }
    out += pyfmt::strip(inputs);
    out += "\n\nOutputs will be a JSON object with the following fields.\n\n";
    Json outputs = Json::object();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) outputs[fields[i].name] = translate_field_type(fields[i]);
    out += pyfmt::json_dumps(outputs, 2);
    return std::string(pyfmt::strip(out));
}

std::string JSONAdapter::user_message_output_requirements(const Signature& signature) const {
    std::string out = "Respond with a JSON object in the following order of fields: ";
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) {
        if (i != signature.n_inputs()) out += ", then ";
        out += '`';
        out += fields[i].name;
        out += '`';
        out += output_type_info(fields[i]);
    }
    out += '.';
    return out;
}

std::string JSONAdapter::format_assistant_message_content(const Signature& signature, const Json& outputs,
                                                          const std::string* missing_field_message) const {
    Json d = Json::object();
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) {
        auto it = outputs.is_object() ? outputs.find(fields[i].name) : outputs.end();
        if (it != outputs.end())
            d[fields[i].name] = detail::serialize_for_json(fields[i], *it);
        else
            d[fields[i].name] = missing_field_message ? Json(*missing_field_message) : Json(nullptr);
    }
    return pyfmt::json_dumps(d, 2);
}

std::string JSONAdapter::format_field_with_value(const Signature& signature, const Json& values) const {
    Json d = Json::object();
    for (const Field& f : signature.fields())
        if (auto it = values.find(f.name); it != values.end()) d[f.name] = detail::serialize_for_json(f, *it);
    return pyfmt::json_dumps(d, 2);
}

std::vector<Json> JSONAdapter::operator()(BaseLM& lm, const Json& lm_kwargs, const Signature& signature,
                                          std::span<const Example> demos, const Json& inputs) const {
    if (!lm.supports_param("response_format")) return Adapter::operator()(lm, lm_kwargs, signature, demos, inputs);
    Json kwargs = lm_kwargs.is_object() ? lm_kwargs : Json::object();
    const Json json_mode = Json{{"type", "json_object"}};
    if (has_open_ended_mapping(signature) ||
        (!options_.use_native_function_calling && has_tool_calls_output(signature)) ||
        !lm.supports_response_schema()) {
        kwargs["response_format"] = json_mode;
        return Adapter::operator()(lm, kwargs, signature, demos, inputs);
    }
    try {
        kwargs["response_format"] = structured_outputs_response_format(signature, options_.use_native_function_calling);
        return Adapter::operator()(lm, kwargs, signature, demos, inputs);
    } catch (const LMError&) {
        throw;
    } catch (const std::exception&) {
        // DSPy logs "Failed to use structured output format, falling back to JSON mode." and retries once.
    }
    kwargs["response_format"] = json_mode;
    return Adapter::operator()(lm, kwargs, signature, demos, inputs);
}

}  // namespace dspy
