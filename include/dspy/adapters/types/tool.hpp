#pragma once
/// @file
/// Tool: a callable the LM may choose, described by a name, a description and a JSON schema per argument.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// Constructor options of Tool (designated-initialiser friendly). @sa the keyword arguments of dspy.Tool
struct ToolOptions {
    /// The tool's name (DSPy infers the function's `__name__`; C++ has none to infer, so it is required).
    std::string name;
    /// The description shown to the LM; absent means none (DSPy's `desc=None` for a function without docstring).
    std::optional<std::string> desc;
    /// `{arg: JSON schema}` in argument order, each in pydantic's key order with `"default"` last when the argument
    /// has one (DSPy's `Tool.args`). Null means no arguments.
    Json args = nullptr;
    /// The declared type of each argument (DSPy's `arg_types`), used to coerce validated values the way pydantic
    /// does (an integral float for an `int` argument becomes an int). Arguments not listed are `Any`.
    std::vector<std::pair<std::string, TypeSpec>> arg_types;
    /// `{arg: description}` (DSPy's `arg_desc`). DSPy only merges these into schemas it infers itself; explicit
    /// `args` are taken as given.
    Json arg_desc = nullptr;
    /// Whether the function takes extra keyword arguments (`**kwargs`): unknown arguments are then passed through.
    bool has_kwargs = false;
};

/// A tool for ReAct and native function calling: metadata (what the LM sees) plus a synchronous callable taking
/// the arguments as one JSON object. Copyable; open for extension (async callables, typed construction).
/// @sa dspy.Tool
class Tool {
public:
    /// The synchronous implementation: receives the validated keyword arguments as a JSON object.
    using Function = std::function<Json(const Json& kwargs)>;
    using Options = ToolOptions;

    Tool() = default;
    /// A tool calling `func`. @throws ValueError when the name is empty or `args` is not an object of schemas.
    Tool(Function func, ToolOptions options);
    virtual ~Tool() = default;
    Tool(const Tool&) = default;
    Tool(Tool&&) = default;
    Tool& operator=(const Tool&) = default;
    Tool& operator=(Tool&&) = default;

    /// A tool without an implementation from its metadata object `{"name", "desc"?, "args"?}` (the shape of the
    /// golden fixtures and of to_json()). @throws ValueError naming the bad key.
    static Tool from_json(const Json& metadata);
    /// `{"name", "desc", "args"}`: the metadata as JSON (desc null when absent).
    [[nodiscard]] Json to_json() const;

    /// @sa Tool.name
    [[nodiscard]] const std::string& name() const { return name_; }
    /// @sa Tool.desc
    [[nodiscard]] const std::optional<std::string>& desc() const { return desc_; }
    /// `{arg: JSON schema}`. @sa Tool.args
    [[nodiscard]] const Json& args() const { return args_; }
    /// @sa Tool.arg_types
    [[nodiscard]] const std::vector<std::pair<std::string, TypeSpec>>& arg_types() const { return arg_types_; }
    /// @sa Tool.arg_desc
    [[nodiscard]] const Json& arg_desc() const { return arg_desc_; }
    /// @sa Tool.has_kwargs
    [[nodiscard]] bool has_kwargs() const { return has_kwargs_; }
    /// Whether a synchronous implementation is attached.
    [[nodiscard]] bool has_function() const { return static_cast<bool>(func_); }

    /// The line ReAct lists the tool with: `name, whose description is <desc>...</desc>. It takes arguments
    /// {...}.` (the arguments as a Python dict repr). @sa Tool.__str__
    [[nodiscard]] std::string str() const;
    /// `Tool(name=..., desc=..., args=...)`. @sa Tool.__repr__
    [[nodiscard]] std::string repr() const;
    /// How the tool appears as a field value: its str(). @sa Tool.format
    [[nodiscard]] std::string format() const { return str(); }
    /// `{"type": "function", "function": {"name", "description", "parameters": {"type": "object", "properties",
    /// "required"}}}`; every argument without a `default` is required. @sa Tool.format_as_litellm_function_call
    [[nodiscard]] Json format_as_litellm_function_call() const;

    /// Checks the arguments against the schemas and coerces them to the declared types.
    /// @throws ToolError naming an unknown, missing or invalid argument. @sa Tool._validate_and_parse_args
    [[nodiscard]] Json validate_and_parse_args(const Json& kwargs) const;

    /// Validates the arguments and runs the tool. @throws ToolError for bad arguments or a tool without a
    /// synchronous implementation; whatever the implementation throws passes through. @sa Tool.__call__
    virtual Json operator()(const Json& kwargs) const;

protected:
    /// For constructors that infer the schemas themselves: stores them and merges `arg_desc` in, as DSPy's
    /// `_parse_function` does.
    void set_inferred_args(Json args);

    std::string name_;
    std::optional<std::string> desc_;
    Json args_ = Json::object();
    std::vector<std::pair<std::string, TypeSpec>> arg_types_;
    Json arg_desc_ = Json::object();
    bool has_kwargs_ = false;
    Function func_;
};

}  // namespace dspy
