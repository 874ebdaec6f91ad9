#pragma once
/// @file
/// Tool: a callable the LM may choose, described by a name, a description and a JSON schema per argument.

#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// Constructor options of Tool (designated-initialiser friendly). @sa the keyword arguments of dspy.Tool
struct ToolOptions {
    /// The tool's name (DSPy infers the function's `__name__`; C++ has none to infer, so it is required).
    std::string name = {};
    /// The description shown to the LM; absent means none (DSPy's `desc=None` for a function without docstring).
    std::optional<std::string> desc = std::nullopt;
    /// `{arg: JSON schema}` in argument order, each in pydantic's key order with `"default"` last when the argument
    /// has one (DSPy's `Tool.args`). Null means no arguments. For a tool built from a typed C++ callable, either the
    /// parameter names in order (`.args = {"x", "y"}`: C++ has no parameter names at run time, so they are
    /// required; the schemas are derived from the parameter types) or explicit schemas (their keys name the
    /// parameters in order).
    Json args = nullptr;
    /// The declared type of each argument (DSPy's `arg_types`), used to coerce validated values the way pydantic
    /// does (an integral float for an `int` argument becomes an int). Arguments not listed are `Any`.
    std::vector<std::pair<std::string, TypeSpec>> arg_types = {};
    /// `{arg: description}` (DSPy's `arg_desc`). DSPy only merges these into schemas it infers itself; explicit
    /// `args` are taken as given.
    Json arg_desc = nullptr;
    /// Whether the function takes extra keyword arguments (`**kwargs`): unknown arguments are then passed through.
    bool has_kwargs = false;
    /// `{arg: default value}` for a typed C++ callable whose schemas are derived (C++ parameters have no defaults
    /// to inspect): added to the schema as `"default"` (so the argument is optional for the LM) and passed when
    /// the argument is missing. An explicit schema's own `"default"` is honoured the same way.
    Json arg_defaults = nullptr;
};

namespace detail {

/// Raised by the argument decoders; Tool turns it into a ToolError naming the argument.
struct ToolArgMismatch {
    std::string reason;
};
/// `repr(value)` for messages, shortened when long.
std::string tool_value_repr(const Json& value);
/// Throws the ToolError for an argument that cannot be converted to its C++ parameter type.
[[noreturn]] void throw_tool_arg_error(std::string_view tool, std::string_view arg, std::string_view expected,
                                       const ToolArgMismatch& why);

template <typename T>
struct IsStdVector : std::false_type {};
template <typename T, typename A>
struct IsStdVector<std::vector<T, A>> : std::true_type {};
template <typename T>
struct IsStdOptional : std::false_type {};
template <typename T>
struct IsStdOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsStringMap : std::false_type {};
template <typename T, typename C, typename A>
struct IsStringMap<std::map<std::string, T, C, A>> : std::true_type {};
template <typename T>
struct IsTaskType : std::false_type {};
template <typename T>
struct IsTaskType<Task<T>> : std::true_type {
    using value_type = T;
};

template <typename T>
inline constexpr bool kToolArgConvertible = requires(const Json& j) { j.template get<T>(); };

/// How a C++ parameter type appears to the LM (its JSON schema, pydantic's key order), how a JSON argument is
/// converted to it, and its name in error messages.
template <typename T>
struct ToolArg {
    static_assert(kToolArgConvertible<T>,
                  "dspy::Tool: this parameter type has no JSON conversion; use int/double/bool/std::string/"
                  "std::vector/std::map<std::string, T>/std::optional/dspy::Json, or give it an nlohmann from_json "
                  "and pass its schema in ToolOptions::args");
    static Json schema() { return Json::object(); }  // pydantic's Any; pass an explicit schema for such types
    static std::string name() { return "the parameter's type"; }
    static T decode(const Json& v) {
        try {
            return v.template get<T>();
        } catch (const std::exception& e) {
            throw ToolArgMismatch{tool_value_repr(v) + " does not convert: " + e.what()};
        }
    }
};

template <>
struct ToolArg<bool> {
    static Json schema() { return Json{{"type", "boolean"}}; }
    static std::string name() { return "bool"; }
    static bool decode(const Json& v) {
        if (!v.is_boolean()) throw ToolArgMismatch{tool_value_repr(v) + " is not a bool"};
        return v.get<bool>();
    }
};

template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
struct ToolArg<T> {
    static Json schema() { return Json{{"type", "integer"}}; }
    static std::string name() {
        std::string base;
        if constexpr (sizeof(T) == sizeof(char))
            base = "char";
        else if constexpr (std::is_same_v<std::make_signed_t<T>, short>)
            base = "short";
        else if constexpr (std::is_same_v<std::make_signed_t<T>, int>)
            base = "int";
        else if constexpr (std::is_same_v<std::make_signed_t<T>, long>)
            base = "long";
        else
            base = "long long";
        return std::is_signed_v<T> ? base : "unsigned " + base;
    }
    static T decode(const Json& v) {
        if (v.is_number_unsigned()) {
            auto u = v.get<std::uint64_t>();
            if (std::in_range<T>(u)) return static_cast<T>(u);
        } else if (v.is_number_integer()) {
            auto i = v.get<std::int64_t>();
            if (std::in_range<T>(i)) return static_cast<T>(i);
        } else if (v.is_number_float()) {
            double d = v.get<double>();
            constexpr int digits = std::numeric_limits<T>::digits;
            const double hi = std::ldexp(1.0, digits), lo = std::is_signed_v<T> ? -hi : 0.0;
            if (!(std::isfinite(d) && std::floor(d) == d))
                throw ToolArgMismatch{tool_value_repr(v) + " is not an integer"};
            if (d >= lo && d < hi) return static_cast<T>(d);
        } else {
            throw ToolArgMismatch{tool_value_repr(v) + " is not an integer"};
        }
        throw ToolArgMismatch{tool_value_repr(v) + " is out of range for " + name()};
    }
};

template <typename T>
    requires std::is_floating_point_v<T>
struct ToolArg<T> {
    static Json schema() { return Json{{"type", "number"}}; }
    static std::string name() { return std::is_same_v<T, float> ? "float" : "double"; }
    static T decode(const Json& v) {
        if (!v.is_number()) throw ToolArgMismatch{tool_value_repr(v) + " is not a number"};
        return static_cast<T>(v.get<double>());
    }
};

template <>
struct ToolArg<std::string> {
    static Json schema() { return Json{{"type", "string"}}; }
    static std::string name() { return "std::string"; }
    static std::string decode(const Json& v) {
        if (!v.is_string()) throw ToolArgMismatch{tool_value_repr(v) + " is not a string"};
        return v.get<std::string>();
    }
};

template <>
struct ToolArg<Json> {
    static Json schema() { return Json::object(); }
    static std::string name() { return "dspy::Json"; }
    static Json decode(const Json& v) { return v; }
};

template <typename T>
    requires IsStdVector<T>::value
struct ToolArg<T> {
    using E = typename T::value_type;
    static Json schema() {
        Json s = Json::object();
        s["items"] = ToolArg<E>::schema();
        s["type"] = "array";
        return s;
    }
    static std::string name() { return "std::vector<" + ToolArg<E>::name() + ">"; }
    static T decode(const Json& v) {
        if (!v.is_array()) throw ToolArgMismatch{tool_value_repr(v) + " is not an array"};
        T out;
        out.reserve(v.size());
        for (const auto& e : v) out.push_back(ToolArg<E>::decode(e));
        return out;
    }
};

template <typename T>
    requires IsStringMap<T>::value
struct ToolArg<T> {
    using E = typename T::mapped_type;
    static Json schema() {
        Json s = Json::object();
        Json values = ToolArg<E>::schema();
        if (!values.empty()) s["additionalProperties"] = std::move(values);  // pydantic omits it for Any
        s["type"] = "object";
        return s;
    }
    static std::string name() { return "std::map<std::string, " + ToolArg<E>::name() + ">"; }
    static T decode(const Json& v) {
        if (!v.is_object()) throw ToolArgMismatch{tool_value_repr(v) + " is not an object"};
        T out;
        for (auto it = v.begin(); it != v.end(); ++it) out.emplace(it.key(), ToolArg<E>::decode(it.value()));
        return out;
    }
};

template <typename T>
    requires IsStdOptional<T>::value
struct ToolArg<T> {
    using E = typename T::value_type;
    static Json schema() {
        Json null_schema = Json::object();
        null_schema["type"] = "null";
        Json any_of = Json::array();
        any_of.push_back(ToolArg<E>::schema());
        any_of.push_back(std::move(null_schema));
        Json s = Json::object();
        s["anyOf"] = std::move(any_of);
        return s;
    }
    static std::string name() { return "std::optional<" + ToolArg<E>::name() + ">"; }
    static T decode(const Json& v) {
        if (v.is_null()) return std::nullopt;
        return ToolArg<E>::decode(v);
    }
};

/// What a parameter is decoded into: an owning string behind a string_view parameter, else the value type.
template <typename A>
using ToolArgStorage =
    std::conditional_t<std::is_same_v<std::remove_cvref_t<A>, std::string_view>, std::string, std::remove_cvref_t<A>>;

/// Parameter and result types of a callable with one non-template call operator.
template <typename F>
struct CallableTraits {
    static constexpr bool known = false;
};
template <typename R, typename... A>
struct CallableTraits<R(A...)> {
    static constexpr bool known = true;
    using Result = R;
    using Args = std::tuple<A...>;
    static constexpr std::size_t arity = sizeof...(A);
};
template <typename R, typename... A>
struct CallableTraits<R(A...) noexcept> : CallableTraits<R(A...)> {};
template <typename R, typename... A>
struct CallableTraits<R (*)(A...)> : CallableTraits<R(A...)> {};
template <typename R, typename... A>
struct CallableTraits<R (*)(A...) noexcept> : CallableTraits<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableTraits<R (C::*)(A...)> : CallableTraits<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableTraits<R (C::*)(A...) const> : CallableTraits<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableTraits<R (C::*)(A...) noexcept> : CallableTraits<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableTraits<R (C::*)(A...) const noexcept> : CallableTraits<R(A...)> {};
template <typename F>
    requires std::is_class_v<F> && requires { &F::operator(); }
struct CallableTraits<F> : CallableTraits<decltype(&F::operator())> {};

/// A callable taking the keyword arguments as one JSON object (DSPy's `**kwargs`-only function).
template <typename Tr>
constexpr bool takes_kwargs_object() {
    if constexpr (Tr::arity == 1)
        return std::is_same_v<std::remove_cvref_t<std::tuple_element_t<0, typename Tr::Args>>, Json>;
    else
        return false;
}

/// The parameter names of a typed tool and their defaults (null = none), in parameter order.
struct ToolBinding {
    std::string tool;
    std::vector<std::string> names;
    std::vector<std::optional<Json>> defaults;
};

template <typename A>
ToolArgStorage<A> decode_tool_arg(const ToolBinding& b, const Json& kwargs, std::size_t i) {
    using S = ToolArgStorage<A>;
    auto it = kwargs.find(b.names[i]);
    const Json* v = nullptr;
    if (it != kwargs.end())
        v = &*it;
    else if (b.defaults[i])
        v = &*b.defaults[i];
    else
        throw_tool_arg_error(b.tool, b.names[i], ToolArg<S>::name(), ToolArgMismatch{"it is missing"});
    try {
        return ToolArg<S>::decode(*v);
    } catch (const ToolArgMismatch& m) {
        throw_tool_arg_error(b.tool, b.names[i], ToolArg<S>::name(), m);
    }
}

/// Hands a decoded value to the parameter: by lvalue for a non-const lvalue reference, else moved.
template <typename A, typename S>
decltype(auto) pass_tool_arg(S& s) {
    if constexpr (std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>)
        return (s);
    else
        return std::move(s);
}

template <typename R>
Json tool_result_json(R&& r) {
    using D = std::remove_cvref_t<R>;
    if constexpr (IsStdOptional<D>::value) {
        if (!r) return Json(nullptr);
        return tool_result_json(*std::forward<R>(r));
    } else if constexpr (std::is_same_v<D, std::string_view>) {
        return Json(std::string(r));
    } else {
        return Json(std::forward<R>(r));
    }
}

template <typename Fn, typename Tr, std::size_t... I>
Json invoke_typed_tool(Fn& f, const ToolBinding& b, const Json& kwargs, std::index_sequence<I...>) {
    using R = typename Tr::Result;
    // Braced initialisation evaluates left to right, so the first bad argument is the one reported.
    std::tuple<ToolArgStorage<std::tuple_element_t<I, typename Tr::Args>>...> vals{
        decode_tool_arg<std::tuple_element_t<I, typename Tr::Args>>(b, kwargs, I)...};
    (void)vals;
    if constexpr (std::is_void_v<R>) {
        f(pass_tool_arg<std::tuple_element_t<I, typename Tr::Args>>(std::get<I>(vals))...);
        return Json(nullptr);
    } else {
        return tool_result_json(f(pass_tool_arg<std::tuple_element_t<I, typename Tr::Args>>(std::get<I>(vals))...));
    }
}

// A coroutine of its own (not a lambda) so that the callable, the binding and the decoded arguments live in
// its frame for as long as the user's task runs.
template <typename Fn, typename Tr, std::size_t... I>
Task<Json> invoke_typed_async_tool(std::shared_ptr<Fn> f, std::shared_ptr<const ToolBinding> b, Json kwargs,
                                   std::index_sequence<I...>) {
    using U = typename IsTaskType<typename Tr::Result>::value_type;
    std::tuple<ToolArgStorage<std::tuple_element_t<I, typename Tr::Args>>...> vals{
        decode_tool_arg<std::tuple_element_t<I, typename Tr::Args>>(*b, kwargs, I)...};
    (void)vals;
    Task<U> task = (*f)(pass_tool_arg<std::tuple_element_t<I, typename Tr::Args>>(std::get<I>(vals))...);
    if constexpr (std::is_void_v<U>) {
        co_await std::move(task);
        co_return Json(nullptr);
    } else {
        U result = co_await std::move(task);
        co_return tool_result_json(std::move(result));
    }
}

template <typename Fn, typename Tr>
Task<Json> invoke_kwargs_async_tool(std::shared_ptr<Fn> f, Json kwargs) {
    using U = typename IsTaskType<typename Tr::Result>::value_type;
    Task<U> task = (*f)(kwargs);
    if constexpr (std::is_void_v<U>) {
        co_await std::move(task);
        co_return Json(nullptr);
    } else {
        U result = co_await std::move(task);
        co_return tool_result_json(std::move(result));
    }
}

}  // namespace detail

/// A tool for ReAct and native function calling: metadata (what the LM sees) plus a synchronous or asynchronous
/// implementation. Copyable.
///
/// Built from a C++ callable (function, function pointer, lambda, functor) returning `R` (a sync tool) or
/// `dspy::Task<R>` (an async tool):
/// `dspy::Tool tool(async_tool, {.name = "async_tool", .desc = "Doubles a number.", .args = {"x"}});`
/// The name is required (C++ has nothing to infer it from) and so are the parameter names. A callable taking
/// a single `dspy::Json` gets all keyword arguments as one object unless `.args` lists a parameter name.
/// @sa dspy.Tool
class Tool {
public:
    /// The synchronous implementation: receives the validated keyword arguments as a JSON object.
    using Function = std::function<Json(const Json& kwargs)>;
    /// The asynchronous implementation: the validated keyword arguments as a JSON object in, a task out.
    using AsyncFunction = std::function<Task<Json>(Json kwargs)>;
    using Options = ToolOptions;

    Tool() = default;
    /// A tool calling `func`. @throws ValueError when the name is empty or `args` is not an object of schemas.
    Tool(Function func, ToolOptions options);
    /// A tool calling a C++ callable: parameters are bound by the names in `options.args` and their JSON schemas
    /// derived from their types (int/long -> integer, double -> number, bool -> boolean, std::string -> string,
    /// std::vector<T> -> array, std::map<std::string, T> -> object, std::optional<T> -> anyOf [T, null],
    /// dspy::Json -> any). A callable returning `dspy::Task<R>` is an async tool (see acall).
    /// @throws ValueError when the name is empty or the names do not match the parameters. @sa Tool.__init__
    template <typename F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, Function> && !std::is_same_v<std::remove_cvref_t<F>, Tool> &&
                 !std::is_same_v<std::remove_cvref_t<F>, std::nullptr_t>)
    Tool(F&& func, ToolOptions options) {
        using Fn = std::decay_t<F>;
        using Tr = detail::CallableTraits<Fn>;
        static_assert(Tr::known,
                      "dspy::Tool cannot read the parameter types of this callable (a generic lambda with auto "
                      "parameters, or an overloaded operator()): give its parameters explicit types");
        if constexpr (Tr::known) {
            constexpr bool is_async = detail::IsTaskType<std::remove_cvref_t<typename Tr::Result>>::value;
            if constexpr (detail::takes_kwargs_object<Tr>()) {
                if (!options.args.is_array()) {
                    init_metadata(options);
                    if constexpr (is_async) {
                        auto f = std::make_shared<Fn>(std::forward<F>(func));
                        afunc_ = [f](Json kwargs) { return detail::invoke_kwargs_async_tool<Fn, Tr>(f, std::move(kwargs)); };
                    } else {
                        func_ = Function(std::forward<F>(func));
                    }
                    return;
                }
            }
            auto binding = bind_parameters(options, Tr::arity);
            if (options.args.is_array()) {
                // Derived schemas only for a list of names; explicit schemas are taken as given, as in DSPy.
                set_derived_args(
                    []<std::size_t... I>(std::index_sequence<I...>) {
                        return std::vector<Json>{detail::ToolArg<
                            detail::ToolArgStorage<std::tuple_element_t<I, typename Tr::Args>>>::schema()...};
                    }(std::make_index_sequence<Tr::arity>{}),
                    options);
            } else {
                init_metadata(options);
            }
            finish_binding(*binding);
            auto f = std::make_shared<Fn>(std::forward<F>(func));
            std::shared_ptr<const detail::ToolBinding> b = std::move(binding);
            if constexpr (is_async) {
                afunc_ = [f, b](Json kwargs) {
                    return detail::invoke_typed_async_tool<Fn, Tr>(f, b, std::move(kwargs),
                                                                   std::make_index_sequence<Tr::arity>{});
                };
            } else {
                func_ = [f, b](const Json& kwargs) {
                    return detail::invoke_typed_tool<Fn, Tr>(*f, *b, kwargs, std::make_index_sequence<Tr::arity>{});
                };
            }
        }
    }
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
    /// Whether an implementation (sync or async) is attached.
    [[nodiscard]] bool has_function() const { return static_cast<bool>(func_) || static_cast<bool>(afunc_); }
    /// Whether the implementation is asynchronous (returns a Task). @sa asyncio.iscoroutinefunction(tool.func)
    [[nodiscard]] bool is_async() const { return static_cast<bool>(afunc_); }

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

    /// Validates the arguments and runs the tool, with the on_tool_start/end callbacks. An async tool is an error
    /// (DSPy's ValueError text) unless `allow_tool_async_sync_conversion` is set; then it runs to completion here,
    /// or, when an event loop is running on this thread, on a thread of its own while this one waits.
    /// @throws ToolError for bad arguments or a tool without an implementation; whatever the implementation
    /// throws passes through. @sa Tool.__call__
    virtual Json operator()(const Json& kwargs) const;
    /// Keyword-style call: `tool("x", 5, "y", "hi")`.
    template <typename V, typename... Rest>
    Json operator()(std::string_view key, V&& value, Rest&&... rest) const {
        return (*this)(make_kwargs(key, std::forward<V>(value), std::forward<Rest>(rest)...));
    }
    /// Validates the arguments and runs the tool: awaits an async implementation, runs a sync one inline. The
    /// tool must outlive the task. @throws ToolError for bad arguments (when awaited). @sa Tool.acall
    virtual Task<Json> acall(Json kwargs) const;
    /// Keyword-style async call: `co_await tool.acall("x", 2)` (no braced list inside co_await, for g++-12).
    template <typename V, typename... Rest>
    Task<Json> acall(std::string_view key, V&& value, Rest&&... rest) const {
        return acall(make_kwargs(key, std::forward<V>(value), std::forward<Rest>(rest)...));
    }

    /// Builds keyword arguments from alternating names and values: `make_kwargs("x", 1, "y", "a")`.
    template <typename V, typename... Rest>
    static Json make_kwargs(std::string_view key, V&& value, Rest&&... rest) {
        static_assert(sizeof...(Rest) % 2 == 0, "keyword-style tool calls take name, value pairs");
        Json kw = Json::object();
        add_kwargs(kw, key, std::forward<V>(value), std::forward<Rest>(rest)...);
        return kw;
    }

protected:
    /// Checks the name and the metadata and stores them (every constructor's common part).
    void init_metadata(ToolOptions& options);
    /// The names (from `.args`) of a typed callable's parameters. @throws ValueError when they do not match.
    std::shared_ptr<detail::ToolBinding> bind_parameters(ToolOptions& options, std::size_t arity);
    /// Stores the schemas derived from the parameter types, with `arg_defaults` and `arg_desc` merged in.
    void set_derived_args(std::vector<Json> schemas, ToolOptions& options);
    /// Takes each parameter's default from its schema.
    void finish_binding(detail::ToolBinding& binding) const;
    /// Runs an async implementation for a synchronous call (the allow_tool_async_sync_conversion path).
    Json run_async_in_sync(Json parsed) const;

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
    AsyncFunction afunc_;

private:
    static void add_kwargs(Json&) {}
    template <typename V, typename... Rest>
    static void add_kwargs(Json& kw, std::string_view key, V&& value, Rest&&... rest) {
        kw[std::string(key)] = Json(std::forward<V>(value));
        if constexpr (sizeof...(Rest) > 0) add_kwargs(kw, std::forward<Rest>(rest)...);
    }
};

}  // namespace dspy
