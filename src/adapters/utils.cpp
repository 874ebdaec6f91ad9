// The value-rendering half of dspy/adapters/utils.py: how field values and field types appear in prompts.
// (parse_value / validate_value live in parse_value.cpp.)
#include "dspy/adapters/utils.hpp"

#include "adapters/format_detail.hpp"
#include "dspy/adapters/types/tool.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace detail {

bool mentions_type(const TypeSpec& type, std::string_view name) {
    if (type.kind == TypeSpec::Kind::Other) {
        std::string_view n = type.name;
        if (n == name) return true;
        if (n.size() > name.size() && n.substr(n.size() - name.size()) == name &&
            n[n.size() - name.size() - 1] == '.')
            return true;
    }
    for (const auto& a : type.args)
        if (mentions_type(a, name)) return true;
    return false;
}

bool is_type(const TypeSpec& type, std::string_view name) {
    if (type.kind != TypeSpec::Kind::Other) return false;
    std::string_view n = type.name;
    return n == name || (n.size() > name.size() && n.substr(n.size() - name.size()) == name &&
                         n[n.size() - name.size() - 1] == '.');
}

namespace {

// `_format_blob`: plain text in «», anything containing a newline or a guillemet in a «««/»»» block.
void append_blob(std::string& out, std::string_view s) {
    if (s.find('\n') == std::string_view::npos && s.find("\xC2\xAB") == std::string_view::npos &&
        s.find("\xC2\xBB") == std::string_view::npos) {
        out += "\xC2\xAB";
        out += s;
        out += "\xC2\xBB";
        return;
    }
    out += "\xC2\xAB\xC2\xAB\xC2\xAB\n    ";
    size_t start = 0;
    while (true) {
        size_t nl = s.find('\n', start);
        if (nl == std::string_view::npos) {
            out.append(s.substr(start));
            break;
        }
        out.append(s.substr(start, nl - start));
        out += "\n    ";
        start = nl + 1;
    }
    out += "\n\xC2\xBB\xC2\xBB\xC2\xBB";
}

const char* python_type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return "NoneType";
        case Json::value_t::boolean: return "bool";
        case Json::value_t::number_float: return "float";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "int";
        case Json::value_t::string: return "str";
        case Json::value_t::array: return "list";
        case Json::value_t::object: return "dict";
        default: return "object";
    }
}

// Python's `"\n" in x` for a dict (keys) or a list (elements): a container "containing" one of the blob
// markers would be sent to str.replace, which dicts and lists do not have.
bool contains_marker(const Json& v) {
    static const std::string_view markers[] = {"\n", "\xC2\xAB", "\xC2\xBB"};
    for (auto m : markers) {
        if (v.is_object()) {
            if (v.contains(m)) return true;
        } else {
            for (const auto& e : v)
                if (e.is_string() && e.get_ref<const std::string&>() == m) return true;
        }
    }
    return false;
}

void append_list_item(std::string& out, const Field& field, const Json& item, size_t index) {
    if (item.is_string()) {
        append_blob(out, item.get_ref<const std::string&>());
        return;
    }
    if (item.is_object() || item.is_array()) {
        if (contains_marker(item))
            throw TypeError("Cannot render item " + std::to_string(index + 1) + " of the list given for field `" +
                            field.name + "` (type str): a " + python_type_name(item) +
                            " holding a newline or guillemet has no text form ('" + python_type_name(item) +
                            "' object has no attribute 'replace')");
        append_blob(out, pyfmt::repr(item));
        return;
    }
    throw TypeError("Cannot render item " + std::to_string(index + 1) + " of the list given for field `" +
                    field.name + "` (type str): argument of type '" + python_type_name(item) +
                    "' is not iterable; pass strings, or declare the field as list[...]");
}

// A dspy.Tool given as its metadata object (`{"name", "desc", "args"}`) serialises as `str(tool)`, the way
// pydantic serialises a dspy.Type through its `format()`.
Json tools_as_text(const Json& value) {
    if (value.is_object() && value.contains("name") && value.contains("args")) return Tool::from_json(value).str();
    if (value.is_array()) {
        Json out = Json::array();
        for (const auto& e : value) out.push_back(tools_as_text(e));
        return out;
    }
    return value;
}

}  // namespace

void append_field_value(std::string& out, const Field& field, const Json& value) {
    if (value.is_array() && field.type.kind == TypeSpec::Kind::Str) {
        if (value.empty()) {
            out += "N/A";
            return;
        }
        if (value.size() == 1) {
            append_list_item(out, field, value[0], 0);
            return;
        }
        size_t i = 0;
        for (const auto& item : value) {
            if (i) out += '\n';
            out += '[';
            out += std::to_string(i + 1);
            out += "] ";
            append_list_item(out, field, item, i);
            ++i;
        }
        return;
    }
    switch (value.type()) {
        case Json::value_t::string:
            out += value.get_ref<const std::string&>();
            return;
        case Json::value_t::object:
        case Json::value_t::array:
            if (mentions_type(field.type, "Tool")) {
                out += pyfmt::json_dumps(tools_as_text(value));
                return;
            }
            out += pyfmt::json_dumps(value);
            return;
        default:
            out += pyfmt::str(value);
    }
}

Json serialize_for_json(const Field& field, const Json& value) {
    if (mentions_type(field.type, "Tool")) return tools_as_text(value);
    return value;
}

}  // namespace detail

std::string format_field_value(const Field& field, const Json& value) {
    std::string out;
    detail::append_field_value(out, field, value);
    return out;
}

std::string translate_field_type(const Field& field) {
    std::string out;
    out.reserve(field.name.size() + 2);
    out += '{';
    out += field.name;
    out += '}';
    if (field.is_input) return out;
    const TypeSpec& t = field.type;
    using K = TypeSpec::Kind;
    std::string desc;
    switch (t.kind) {
        case K::Str: return out;
        case K::Bool: desc = "must be True or False"; break;
        case K::Int: desc = "must be a single int value"; break;
        case K::Float: desc = "must be a single float value"; break;
        case K::Literal: {
            desc = "must exactly match (no extra characters) one of: ";
            bool first = true;
            for (const auto& v : t.literals) {
                if (!first) desc += "; ";
                first = false;
                desc += pyfmt::str(v);
            }
            break;
        }
        default:
            // dspy.Reasoning shows as a plain string field.
            if (detail::is_type(t, "Reasoning")) return out;
            desc = "must adhere to the JSON schema: " + pyfmt::json_dumps(t.json_schema());
    }
    out.append(8, ' ');
    out += "# note: the value you produce ";
    out += desc;
    return out;
}

}  // namespace dspy
