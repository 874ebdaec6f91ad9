// ChatAdapter, format side: the `[[ ## field ## ]]` prompt layout of dspy/adapters/chat_adapter.py and the
// shared parts of dspy/adapters/base.py (demos, conversation history). Parsing lives in chat_adapter_parse.cpp.
#include "dspy/adapters/chat_adapter.hpp"

#include "adapters/format_detail.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/adapters/utils.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

constexpr std::string_view kToolCallsDescription =
    "Tool calls must be a JSON object with `tool_calls`, a list of calls. Each call must include `name` and `args`. "
    "Example: {\"tool_calls\": [{\"name\": \"search\", \"args\": {\"query\": \"cats\"}}]}";

// dspy.Type subclasses nested in an annotation, in DSPy's walk order (for the "Type description of" lines).
void append_type_descriptions(std::string& out, const TypeSpec& type) {
    if (detail::is_type(type, "ToolCalls")) {
        out += "\n    Type description of ToolCalls: ";
        out += kToolCallsDescription;
        return;
    }
    for (const auto& a : type.args) append_type_descriptions(out, a);
}

}  // namespace

// get_field_description_string over fields[begin, end).
void detail::append_field_descriptions(std::string& out, const std::vector<Field>& fields, size_t begin, size_t end) {
    std::string block;
    for (size_t i = begin; i < end; ++i) {
        const Field& f = fields[i];
        if (i != begin) block += '\n';
        block += std::to_string(i - begin + 1);
        block += ". `";
        block += f.name;
        block += "` (";
        block += f.type.render();
        block += "): ";
        if (!f.has_default_desc()) block += f.desc;
        append_type_descriptions(block, f.type);
        if (!f.constraints.empty()) {
            block += "\nConstraints: ";
            block += f.constraints;
        }
    }
    out += pyfmt::strip(block);
}

// `[[ ## name ## ]]\nvalue` sections joined by blank lines, then stripped (format_field_with_value).
std::string ChatAdapter::format_sections(const std::vector<std::pair<const Field*, const Json*>>& items) {
    std::string out;
    bool first = true;
    for (const auto& [field, value] : items) {
        if (!first) out += "\n\n";
        first = false;
        out += "[[ ## ";
        out += field->name;
        out += " ## ]]\n";
        detail::append_field_value(out, *field, *value);
    }
    std::string_view s = pyfmt::strip(out);
    if (s.size() == out.size()) return out;
    return std::string(s);
}

std::string ChatAdapter::format_field_with_value(const Signature& signature, const Json& values) const {
    std::vector<std::pair<const Field*, const Json*>> items;
    for (const Field& f : signature.fields())
        if (auto it = values.find(f.name); it != values.end()) items.emplace_back(&f, &*it);
    return format_sections(items);
}

std::string ChatAdapter::format_system_message(const Signature& signature) const {
    std::string out = format_field_description(signature);
    out += '\n';
    out += format_field_structure(signature);
    out += '\n';
    out += format_task_description(signature);
    return out;
}

std::string ChatAdapter::format_field_description(const Signature& signature) const {
    const auto& fields = signature.fields();
    std::string out = "Your input fields are:\n";
    detail::append_field_descriptions(out, fields, 0, signature.n_inputs());
    out += "\nYour output fields are:\n";
    detail::append_field_descriptions(out, fields, signature.n_inputs(), fields.size());
    return out;
}

std::string ChatAdapter::format_field_structure(const Signature& signature) const {
    const auto& fields = signature.fields();
    auto section = [&](size_t begin, size_t end) {
        std::string part;
        for (size_t i = begin; i < end; ++i) {
            if (i != begin) part += "\n\n";
            part += "[[ ## ";
            part += fields[i].name;
            part += " ## ]]\n";
            part += translate_field_type(fields[i]);
        }
        return std::string(pyfmt::strip(part));
    };
    std::string out =
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n";
    out += section(0, signature.n_inputs());
    out += "\n\n";
    out += section(signature.n_inputs(), fields.size());
    out += "\n\n[[ ## completed ## ]]\n";
    return std::string(pyfmt::strip(out));
}

std::string ChatAdapter::format_task_description(const Signature& signature) const {
    std::string instructions = pyfmt::dedent(signature.instructions());
    std::string out = "In adhering to this structure, your objective is: ";
    for (auto line : pyfmt::splitlines(instructions)) {
        out += "\n        ";
        out += line;
    }
    return out;
}

std::string ChatAdapter::format_user_message_content(const Signature& signature, const Json& inputs,
                                                     std::string_view prefix, std::string_view suffix,
                                                     bool main_request) const {
    std::string out(prefix);
    const auto& fields = signature.fields();
    const size_t n_in = signature.n_inputs();
    if (inputs.is_object()) {
        for (size_t i = 0; i < n_in; ++i) {
            auto it = inputs.find(fields[i].name);
            if (it == inputs.end()) continue;
            out += "\n\n[[ ## ";
            out += fields[i].name;
            out += " ## ]]\n";
            detail::append_field_value(out, fields[i], *it);
        }
    }
    if (main_request) {
        out += "\n\n";
        out += user_message_output_requirements(signature);
    }
    out += "\n\n";
    out += suffix;
    std::string_view s = pyfmt::strip(out);
    if (s.size() == out.size()) return out;
    return std::string(s);
}

std::string ChatAdapter::output_type_info(const Field& field) {
    if (detail::is_type(field.type, "ToolCalls"))
        return " (must be a JSON object like {\"tool_calls\": [{\"name\": \"...\", \"args\": {...}}]})";
    if (field.type.kind != TypeSpec::Kind::Str)
        return " (must be formatted as a valid Python " + field.type.render() + ")";
    return {};
}

std::string ChatAdapter::user_message_output_requirements(const Signature& signature) const {
    std::string out = "Respond with the corresponding output fields, starting with the field ";
    const auto& fields = signature.fields();
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) {
        if (i != signature.n_inputs()) out += ", then ";
        out += "`[[ ## ";
        out += fields[i].name;
        out += " ## ]]`";
        out += output_type_info(fields[i]);
    }
    out += ", and then ending with the marker for `[[ ## completed ## ]]`.";
    return out;
}

std::string ChatAdapter::format_assistant_message_content(const Signature& signature, const Json& outputs,
                                                          const std::string* missing_field_message) const {
    const Json missing = missing_field_message ? Json(*missing_field_message) : Json(nullptr);
    std::vector<std::pair<const Field*, const Json*>> items;
    const auto& fields = signature.fields();
    items.reserve(fields.size() - signature.n_inputs());
    for (size_t i = signature.n_inputs(); i < fields.size(); ++i) {
        auto it = outputs.is_object() ? outputs.find(fields[i].name) : outputs.end();
        items.emplace_back(&fields[i], it == outputs.end() ? &missing : &*it);
    }
    std::string out = format_sections(items);
    out += "\n\n[[ ## completed ## ]]\n";
    return out;
}

Messages ChatAdapter::format_demos(const Signature& signature, std::span<const Example> demos) const {
    std::vector<const Json*> complete, incomplete;
    const auto& fields = signature.fields();
    const size_t n_in = signature.n_inputs();
    for (const auto& demo : demos) {
        const Json& d = demo.data();
        bool is_complete = true, has_input = false, has_output = false;
        for (size_t i = 0; i < fields.size(); ++i) {
            auto it = d.find(fields[i].name);
            if (it == d.end()) {
                is_complete = false;
                continue;
            }
            if (it->is_null()) is_complete = false;
            (i < n_in ? has_input : has_output) = true;
        }
        if (is_complete)
            complete.push_back(&d);
        else if (has_input && has_output)
            incomplete.push_back(&d);
    }
    static const std::string incomplete_missing = "Not supplied for this particular example. ";
    static const std::string complete_missing = "Not supplied for this conversation history message. ";
    Messages messages;
    messages.reserve(2 * (complete.size() + incomplete.size()));
    for (const Json* d : incomplete) {
        messages.push_back(
            {"user", format_user_message_content(
                         signature, *d, "This is an example of the task, though some input or output fields are not supplied.")});
        messages.push_back({"assistant", format_assistant_message_content(signature, *d, &incomplete_missing)});
    }
    for (const Json* d : complete) {
        messages.push_back({"user", format_user_message_content(signature, *d)});
        messages.push_back({"assistant", format_assistant_message_content(signature, *d, &complete_missing)});
    }
    return messages;
}

Messages ChatAdapter::format_conversation_history(const Signature& signature, std::string_view history_field,
                                                  const Json& inputs) const {
    Messages messages;
    if (!inputs.is_object()) return messages;
    auto h = inputs.find(history_field);
    if (h == inputs.end() || h->is_null()) return messages;
    const Json* list = nullptr;
    if (h->is_object()) {
        if (auto m = h->find("messages"); m != h->end() && m->is_array()) list = &*m;
    }
    if (!list)
        throw ValueError("The value of the History field `" + std::string(history_field) +
                         "` must be {\"messages\": [{field: value, ...}, ...]}, got " + h->dump().substr(0, 200));
    for (const auto& m : *list) {
        if (!m.is_object())
            throw ValueError("Each message of the History field `" + std::string(history_field) +
                             "` must be a JSON object of field values, got " + m.dump().substr(0, 200));
        std::string user = format_user_message_content(signature, m);
        if (!user.empty()) messages.push_back({"user", std::move(user)});
        std::string assistant = format_assistant_message_content(signature, m, nullptr);
        if (!assistant.empty()) messages.push_back({"assistant", std::move(assistant)});
    }
    return messages;
}

Messages ChatAdapter::format(const Signature& signature, std::span<const Example> demos, const Json& inputs) const {
    if (!inputs.is_object() && !inputs.is_null())
        throw TypeError("The inputs must be a JSON object of field values, got " + inputs.dump().substr(0, 200));
    const Field* history = nullptr;
    const auto& fields = signature.fields();
    for (size_t i = 0; i < signature.n_inputs(); ++i)
        if (fields[i].type.kind == TypeSpec::Kind::History) {
            history = &fields[i];
            break;
        }
    Messages messages;
    messages.reserve(2 + 2 * demos.size());
    messages.push_back({"system", format_system_message(signature)});
    Messages demo_messages = format_demos(signature, demos);
    for (auto& m : demo_messages) messages.push_back(std::move(m));
    std::string content;
    if (history) {
        Signature without_history = signature.remove(history->name);
        Messages conversation = format_conversation_history(without_history, history->name, inputs);
        for (auto& m : conversation) messages.push_back(std::move(m));
        content = format_user_message_content(without_history, inputs, {}, {}, true);
    } else {
        content = format_user_message_content(signature, inputs, {}, {}, true);
    }
    if (!content.empty()) messages.push_back({"user", std::move(content)});
    return messages;
}

Task<std::vector<Json>> ChatAdapter::call(bool sync, BaseLM& lm, Json lm_kwargs, const Signature& signature,
                                          std::span<const Example> demos, const Json& inputs) const {
    const Json kwargs = lm_kwargs;
    try {
        co_return co_await Adapter::call(sync, lm, std::move(lm_kwargs), signature, demos, inputs);
    } catch (const LMError&) {
        throw;
    } catch (const std::exception&) {
        // DSPy retries any other failure (parse errors, but also a custom LM's own exceptions) once in JSON mode.
        if (!options_.use_json_adapter_fallback || dynamic_cast<const JSONAdapter*>(this) != nullptr) throw;
    }
    const JSONAdapter fallback(Options{.use_json_adapter_fallback = false,
                                       .use_native_function_calling = options_.use_native_function_calling});
    co_return co_await fallback.call(sync, lm, kwargs, signature, demos, inputs);
}

}  // namespace dspy
