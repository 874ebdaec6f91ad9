#include "dspy/predict/react.hpp"

#include <exception>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/errors.hpp"
#include "dspy/async/run.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"

namespace dspy {

namespace {

std::string backticked(const Signature& s, bool inputs) {
    std::string out;
    const auto& fields = s.fields();
    size_t begin = inputs ? 0 : s.n_inputs(), end = inputs ? s.n_inputs() : fields.size();
    for (size_t i = begin; i < end; ++i) {
        if (i != begin) out += ", ";
        out += '`';
        out += fields[i].name;
        out += '`';
    }
    return out;
}

// The Python class name an error would have had, for the observation the LM sees (DSPy shows a traceback whose
// last line is `ValueError: message`; a C++ stack has no such text, so only that last line is kept). A ToolError
// is the ValueError dspy.Tool raises, so the LM sees `ValueError` as it does with DSPy.
std::string error_kind(const std::exception& e) {
    if (dynamic_cast<const ValueError*>(&e)) return "ValueError";
    if (dynamic_cast<const TypeError*>(&e)) return "TypeError";
    if (dynamic_cast<const KeyError*>(&e)) return "KeyError";
    if (dynamic_cast<const NotImplementedError*>(&e)) return "NotImplementedError";
    if (dynamic_cast<const AdapterParseError*>(&e)) return "AdapterParseError";
    if (dynamic_cast<const LMError*>(&e)) return "LMError";
    if (dynamic_cast<const DSPyError*>(&e)) return "DSPyError";
    if (dynamic_cast<const std::invalid_argument*>(&e) || dynamic_cast<const std::out_of_range*>(&e))
        return "ValueError";
    return "Exception";
}

// format_error_for_lm(err): a newline, then the error (Python adds the traceback frames in between).
std::string format_error_for_lm(const std::exception& e) { return "\n" + error_kind(e) + ": " + e.what(); }

}  // namespace

std::vector<Tool> ReAct::with_finish_tool(const Signature& signature, std::vector<Tool> tools) {
    std::vector<Tool> keyed;
    keyed.reserve(tools.size() + 1);
    auto put = [&](Tool t) {
        for (auto& k : keyed)
            if (k.name() == t.name()) {
                k = std::move(t);
                return;
            }
        keyed.push_back(std::move(t));
    };
    for (auto& t : tools) put(std::move(t));
    put(Tool([](const Json&) -> Json { return "Completed."; },
             ToolOptions{.name = "finish",
                         .desc = "Marks the task as complete. That is, signals that all information for producing the "
                                 "outputs, i.e. " +
                                 backticked(signature, false) + ", are now available to be extracted.",
                         .args = Json::object()}));
    return keyed;
}

Signature ReAct::make_react_signature(const Signature& signature, const std::vector<Tool>& tools) {
    std::string instr;
    if (!signature.instructions().empty()) {
        instr += signature.instructions();
        instr += "\n\n";
    }
    instr += "You are an Agent. In each episode, you will be given the fields " + backticked(signature, true) +
             " as input. And you can see your past trajectory so far.\n";
    instr += "Your goal is to use one or more of the supplied tools to collect any necessary information for producing " +
             backticked(signature, false) + ".\n\n";
    instr +=
        "To do this, you will interleave next_thought, next_tool_name, and next_tool_args in each turn, and also when "
        "finishing the task.\n"
        "After each tool call, you receive a resulting observation, which gets appended to your trajectory.\n\n"
        "When writing next_thought, you may reason about the current situation and plan for future steps.\n"
        "When selecting the next_tool_name and its next_tool_args, the tool must be one of:\n\n";
    TypeSpec names;
    names.kind = TypeSpec::Kind::Literal;
    for (size_t i = 0; i < tools.size(); ++i) {
        instr += '(' + std::to_string(i + 1) + ") " + tools[i].str() + '\n';
        names.literals.emplace_back(tools[i].name());
    }
    instr += "When providing `next_tool_args`, the value inside the field must be in JSON format";

    TypeSpec any;
    any.kind = TypeSpec::Kind::Any;
    TypeSpec dict;
    dict.kind = TypeSpec::Kind::Dict;
    dict.args = {TypeSpec::str(), any};

    std::vector<Field> fields;
    const auto& src = signature.fields();
    fields.reserve(signature.n_inputs() + 4);
    for (size_t i = 0; i < signature.n_inputs(); ++i) fields.push_back(src[i]);
    fields.push_back(Field::input("trajectory"));
    fields.push_back(Field::output("next_thought"));
    fields.push_back(Field::output("next_tool_name", std::move(names)));
    fields.push_back(Field::output("next_tool_args", std::move(dict)));
    return Signature::from_fields(std::move(fields), instr);
}

Signature ReAct::make_extract_signature(const Signature& signature) {
    std::vector<Field> fields(signature.fields().begin(), signature.fields().end());
    return Signature::from_fields(std::move(fields), signature.instructions()).append(Field::input("trajectory"));
}

ReAct::ReAct(const Signature& signature, std::vector<Tool> tools, int max_iters)
    : signature_(signature),
      max_iters_(max_iters),
      tools_(with_finish_tool(signature, std::move(tools))),
      react_(make_react_signature(signature_, tools_)),
      extract_(make_extract_signature(signature_)) {
    register_submodule("react", react_);
    register_submodule("extract", extract_);
}

const Tool* ReAct::tool(std::string_view name) const {
    for (const auto& t : tools_)
        if (t.name() == name) return &t;
    return nullptr;
}

std::string ReAct::format_trajectory(const Json& trajectory) const {
    static const ChatAdapter default_adapter;
    auto s = settings();
    const auto* adapter = dynamic_cast<const ChatAdapter*>(s->adapter.get());
    if (!adapter) adapter = &default_adapter;
    std::vector<Field> fields;
    if (trajectory.is_object()) {
        fields.reserve(trajectory.size() + 1);
        for (auto it = trajectory.begin(); it != trajectory.end(); ++it) fields.push_back(Field::input(it.key()));
    }
    fields.push_back(Field::output("x"));
    return adapter->format_user_message_content(Signature::from_fields(std::move(fields)), trajectory);
}

void ReAct::truncate_trajectory(Json& trajectory) const {
    if (!trajectory.is_object() || trajectory.size() <= 4)
        throw ContextWindowExceededError(
            "The trajectory is too long so your prompt exceeded the context window, but the trajectory cannot be "
            "truncated because it only has one tool call.");
    std::vector<std::string> first;
    for (auto it = trajectory.begin(); first.size() < 4; ++it) first.push_back(it.key());
    for (const auto& k : first) trajectory.erase(k);
}

Task<Prediction> ReAct::call_with_potential_trajectory_truncation(bool sync, Module& module, Json& trajectory,
                                                                  const Json& input_args) {
    std::exception_ptr last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        Json call = input_args;
        call["trajectory"] = format_trajectory(trajectory);
        try {
            if (sync) co_return module(call);
            Prediction p = co_await module.acall(std::move(call));
            co_return p;
        } catch (const ContextWindowExceededError&) {
            last_error = std::current_exception();
        }
        warn("Trajectory exceeded the context window, truncating the oldest tool call information.");
        truncate_trajectory(trajectory);  // after every failure, the third too, as DSPy does
    }
    try {
        std::rethrow_exception(last_error);
    } catch (const ContextWindowExceededError&) {
        std::throw_with_nested(ContextWindowExceededError(
            "The context window was exceeded even after 3 attempts to truncate the trajectory."));
    }
}

Prediction ReAct::forward(const Inputs& inputs) { return run_sync(run_react(true, inputs)); }

Task<Prediction> ReAct::aforward(Inputs inputs) { co_return co_await run_react(false, inputs); }

Task<Prediction> ReAct::run_react(bool sync, const Inputs& inputs) {
    if (!inputs.is_object() && !inputs.is_null())
        throw TypeError("ReAct inputs must be a JSON object of field values, got " + inputs.dump().substr(0, 200));
    Json input_args = inputs.is_object() ? inputs : Json::object();
    int64_t max_iters = max_iters_;
    if (auto it = input_args.find("max_iters"); it != input_args.end()) {
        if (!it->is_number_integer()) throw TypeError("max_iters must be an integer, got " + it->dump());
        max_iters = it->get<int64_t>();
        input_args.erase(it);
    }
    Json trajectory = Json::object();
    for (int64_t idx = 0; idx < max_iters; ++idx) {
        Prediction pred;
        std::string ended;
        try {
            pred = co_await call_with_potential_trajectory_truncation(sync, react_, trajectory, input_args);
        } catch (const ContextWindowExceededError& err) {
            ended = "Ending the trajectory: " + format_error_for_lm(err);
        } catch (const ValueError& err) {
            ended = "Ending the trajectory: Agent failed to select a valid tool: " + format_error_for_lm(err);
        }
        if (!ended.empty()) {
            warn(ended);
            break;
        }
        const std::string i = std::to_string(idx);
        Json name = pred.get("next_tool_name");
        Json args = pred.get("next_tool_args");
        trajectory["thought_" + i] = pred.get("next_thought");
        trajectory["tool_name_" + i] = name;
        trajectory["tool_args_" + i] = args;
        const std::string name_text = name.is_string() ? name.get<std::string>() : name.dump();
        try {
            const Tool* t = name.is_string() ? tool(name.get_ref<const std::string&>()) : nullptr;
            if (!t) throw KeyError("'" + name_text + "'");
            if (!args.is_object())
                throw TypeError("ReAct." + name_text + "() argument after ** must be a mapping, not " +
                                std::string(args.type_name()));
            Json observation;
            if (sync)
                observation = (*t)(args);
            else
                observation = co_await t->acall(args);
            trajectory["observation_" + i] = std::move(observation);
        } catch (const CancelledError&) {
            throw;  // not a tool failure: the caller gave up (asyncio.CancelledError is no Exception either)
        } catch (const std::exception& err) {
            trajectory["observation_" + i] = "Execution error in " + name_text + ": " + format_error_for_lm(err);
        }
        if (name == "finish") break;
    }
    Prediction extract = co_await call_with_potential_trajectory_truncation(sync, extract_, trajectory, input_args);
    Json fields = Json::object();
    fields["trajectory"] = trajectory;
    for (auto it = extract.data().begin(); it != extract.data().end(); ++it) fields[it.key()] = it.value();
    co_return Prediction(std::move(fields));
}

}  // namespace dspy
