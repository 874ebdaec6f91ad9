#include "dspy/adapters/types/tool.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/task_context.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

// The subset of JSON Schema (draft 2020-12) that pydantic emits for tool arguments, with python-jsonschema's
// messages (DSPy reports `e.message`). Returns "" when the instance is valid.
bool has_type(const Json& v, std::string_view type) {
    if (type == "string") return v.is_string();
    if (type == "integer") {
        if (v.is_number_integer()) return true;
        if (v.is_number_float()) {
            double d = v.get<double>();
            return std::isfinite(d) && std::floor(d) == d;
        }
        return false;
    }
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    if (type == "array") return v.is_array();
    if (type == "object") return v.is_object();
    return true;  // unknown type names constrain nothing
}

std::string schema_error(const Json& instance, const Json& schema) {
    if (!schema.is_object()) return {};
    for (auto it = schema.begin(); it != schema.end(); ++it) {
        const std::string& kw = it.key();
        const Json& val = it.value();
        if (kw == "type") {
            bool ok = false;
            std::string names;
            if (val.is_string()) {
                ok = has_type(instance, val.get_ref<const std::string&>());
                names = pyfmt::repr(val);
            } else if (val.is_array()) {
                for (const auto& t : val) {
                    if (t.is_string() && has_type(instance, t.get_ref<const std::string&>())) ok = true;
                    if (!names.empty()) names += ", ";
                    names += pyfmt::repr(t);
                }
            } else {
                ok = true;
            }
            if (!ok) return pyfmt::repr(instance) + " is not of type " + names;
        } else if (kw == "enum" && val.is_array()) {
            bool found = false;
            for (const auto& e : val) found = found || e == instance;
            if (!found) return pyfmt::repr(instance) + " is not one of " + pyfmt::repr(val);
        } else if (kw == "const") {
            if (val != instance) return pyfmt::repr(val) + " was expected";
        } else if ((kw == "anyOf" || kw == "oneOf") && val.is_array()) {
            bool any = false;
            for (const auto& sub : val) any = any || schema_error(instance, sub).empty();
            if (!any) return pyfmt::repr(instance) + " is not valid under any of the given schemas";
        } else if (kw == "allOf" && val.is_array()) {
            for (const auto& sub : val)
                if (auto e = schema_error(instance, sub); !e.empty()) return e;
        } else if (kw == "items" && instance.is_array()) {
            size_t skip = 0;
            if (auto p = schema.find("prefixItems"); p != schema.end() && p->is_array()) skip = p->size();
            if (val.is_boolean()) {
                if (!val.get<bool>() && instance.size() > skip) return "Expected at most " + std::to_string(skip) + " items";
            } else {
                for (size_t i = skip; i < instance.size(); ++i)
                    if (auto e = schema_error(instance[i], val); !e.empty()) return e;
            }
        } else if (kw == "prefixItems" && instance.is_array() && val.is_array()) {
            for (size_t i = 0; i < val.size() && i < instance.size(); ++i)
                if (auto e = schema_error(instance[i], val[i]); !e.empty()) return e;
        } else if (kw == "minItems" && instance.is_array() && val.is_number_integer()) {
            if (static_cast<int64_t>(instance.size()) < val.get<int64_t>())
                return pyfmt::repr(instance) + " is too short";
        } else if (kw == "maxItems" && instance.is_array() && val.is_number_integer()) {
            if (static_cast<int64_t>(instance.size()) > val.get<int64_t>())
                return pyfmt::repr(instance) + " is too long";
        } else if (kw == "required" && instance.is_object() && val.is_array()) {
            for (const auto& r : val)
                if (r.is_string() && !instance.contains(r.get_ref<const std::string&>()))
                    return pyfmt::repr(r) + " is a required property";
        } else if (kw == "properties" && instance.is_object() && val.is_object()) {
            for (auto p = val.begin(); p != val.end(); ++p)
                if (auto f = instance.find(p.key()); f != instance.end())
                    if (auto e = schema_error(*f, p.value()); !e.empty()) return e;
        } else if (kw == "additionalProperties" && instance.is_object()) {
            const Json* props = nullptr;
            if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) props = &*p;
            for (auto f = instance.begin(); f != instance.end(); ++f) {
                if (props && props->contains(f.key())) continue;
                if (val.is_boolean()) {
                    if (!val.get<bool>())
                        return "Additional properties are not allowed (" + pyfmt::repr_str(f.key()) +
                               " was unexpected)";
                } else if (auto e = schema_error(f.value(), val); !e.empty()) {
                    return e;
                }
            }
        }
    }
    return {};
}

// pydantic's lax coercions that a JSON-schema-valid value can still need.
Json coerce(const Json& v, const TypeSpec& t) {
    using K = TypeSpec::Kind;
    switch (t.kind) {
        case K::Int:
            if (v.is_number_float()) {
                double d = v.get<double>();
                if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
            }
            return v;
        case K::Float:
            if (v.is_number_integer()) return v.get<double>();
            return v;
        case K::List:
        case K::Set:
        case K::FrozenSet:
            if (v.is_array() && !t.args.empty()) {
                Json out = Json::array();
                for (const auto& e : v) out.push_back(coerce(e, t.args[0]));
                return out;
            }
            return v;
        case K::Tuple:
            if (v.is_array() && !t.args.empty()) {
                Json out = Json::array();
                for (size_t i = 0; i < v.size(); ++i) {
                    const TypeSpec& et = t.ellipsis ? t.args[0] : (i < t.args.size() ? t.args[i] : t.args.back());
                    out.push_back(coerce(v[i], et));
                }
                return out;
            }
            return v;
        case K::Dict:
            if (v.is_object() && t.args.size() == 2) {
                Json out = Json::object();
                for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = coerce(it.value(), t.args[1]);
                return out;
            }
            return v;
        default:
            return v;
    }
}

}  // namespace

namespace detail {

std::string tool_value_repr(const Json& value) {
    std::string r = pyfmt::repr(value);
    if (r.size() > 200) r = r.substr(0, 197) + "...";
    return r;
}

void throw_tool_arg_error(std::string_view tool, std::string_view arg, std::string_view expected,
                          const ToolArgMismatch& why) {
    throw ToolError("Arg " + std::string(arg) + " of tool " + std::string(tool) + " is invalid: expected " +
                    std::string(expected) + ", but " + why.reason);
}

}  // namespace detail

Tool::Tool(Function func, ToolOptions options) : func_(std::move(func)) { init_metadata(options); }

void Tool::init_metadata(ToolOptions& options) {
    name_ = std::move(options.name);
    desc_ = std::move(options.desc);
    arg_types_ = std::move(options.arg_types);
    has_kwargs_ = options.has_kwargs;
    if (name_.empty()) throw ValueError("A Tool needs a name (ToolOptions::name is empty)");
    if (options.args.is_null()) options.args = Json::object();
    if (!options.args.is_object())
        throw ValueError("Tool `" + name_ + "`: args must be a JSON object {arg: JSON schema}, got " +
                         options.args.dump());
    for (auto it = options.args.begin(); it != options.args.end(); ++it)
        if (!it.value().is_object())
            throw ValueError("Tool `" + name_ + "`: the schema of arg `" + it.key() + "` must be a JSON object, got " +
                             it.value().dump());
    args_ = std::move(options.args);
    if (options.arg_desc.is_null()) options.arg_desc = Json::object();
    if (!options.arg_desc.is_object())
        throw ValueError("Tool `" + name_ + "`: arg_desc must be a JSON object {arg: description}");
    arg_desc_ = std::move(options.arg_desc);
}

std::shared_ptr<detail::ToolBinding> Tool::bind_parameters(ToolOptions& options, std::size_t arity) {
    const std::string& name = options.name;
    if (name.empty()) throw ValueError("A Tool needs a name (ToolOptions::name is empty)");
    auto b = std::make_shared<detail::ToolBinding>();
    b->tool = name;
    const Json& args = options.args;
    if (args.is_array()) {
        for (const auto& n : args) {
            if (!n.is_string() || n.get_ref<const std::string&>().empty())
                throw ValueError("Tool `" + name + "`: ToolOptions::args must list the parameter names as strings, got " +
                                 args.dump());
            b->names.push_back(n.get<std::string>());
        }
    } else if (args.is_object()) {
        for (auto it = args.begin(); it != args.end(); ++it) b->names.push_back(it.key());
    } else if (!args.is_null()) {
        throw ValueError("Tool `" + name + "`: ToolOptions::args must be the parameter names or {arg: JSON schema}, got " +
                         args.dump());
    }
    if (b->names.size() != arity)
        throw ValueError("Tool `" + name + "`: the callable takes " + std::to_string(arity) +
                         " parameter(s) but ToolOptions::args names " + std::to_string(b->names.size()) +
                         " (C++ has no parameter names at run time: list them in order, e.g. .args = {\"x\", \"y\"})");
    for (size_t i = 0; i < b->names.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (b->names[i] == b->names[j])
                throw ValueError("Tool `" + name + "`: parameter name `" + b->names[i] + "` is given twice");
    if (!options.arg_defaults.is_null() && !options.arg_defaults.is_object())
        throw ValueError("Tool `" + name + "`: arg_defaults must be a JSON object {arg: default value}");
    if (options.arg_defaults.is_object())
        for (auto it = options.arg_defaults.begin(); it != options.arg_defaults.end(); ++it)
            if (std::find(b->names.begin(), b->names.end(), it.key()) == b->names.end())
                throw ValueError("Tool `" + name + "`: arg_defaults names `" + it.key() + "`, which is not a parameter");
    return b;
}

void Tool::set_derived_args(std::vector<Json> schemas, ToolOptions& options) {
    Json args = Json::object();
    const Json names = std::move(options.args);
    for (size_t i = 0; i < schemas.size(); ++i) {
        const std::string& n = names[i].get_ref<const std::string&>();
        Json& schema = args[n] = std::move(schemas[i]);
        if (options.arg_defaults.is_object())
            if (auto d = options.arg_defaults.find(n); d != options.arg_defaults.end()) schema["default"] = *d;
    }
    options.args = Json::object();
    init_metadata(options);
    set_inferred_args(std::move(args));  // pydantic's order: schema, "default", then "description"
}

void Tool::finish_binding(detail::ToolBinding& binding) const {
    binding.defaults.assign(binding.names.size(), std::nullopt);
    for (size_t i = 0; i < binding.names.size(); ++i)
        if (auto a = args_.find(binding.names[i]); a != args_.end())
            if (auto d = a->find("default"); d != a->end()) binding.defaults[i] = *d;
}

Tool Tool::from_json(const Json& metadata) {
    if (!metadata.is_object()) throw ValueError("Tool metadata must be a JSON object, got " + metadata.dump());
    auto name = metadata.find("name");
    if (name == metadata.end() || !name->is_string())
        throw ValueError("Tool metadata needs a string \"name\", got " + metadata.dump());
    ToolOptions o;
    o.name = name->get<std::string>();
    if (auto d = metadata.find("desc"); d != metadata.end() && !d->is_null()) {
        if (!d->is_string()) throw ValueError("Tool `" + o.name + "`: \"desc\" must be a string or null");
        o.desc = d->get<std::string>();
    }
    if (auto a = metadata.find("args"); a != metadata.end()) o.args = *a;
    if (auto a = metadata.find("arg_desc"); a != metadata.end()) o.arg_desc = *a;
    if (auto a = metadata.find("has_kwargs"); a != metadata.end() && a->is_boolean()) o.has_kwargs = a->get<bool>();
    return Tool(Function{}, std::move(o));
}

Json Tool::to_json() const {
    Json out = Json::object();
    out["name"] = name_;
    out["desc"] = desc_ ? Json(*desc_) : Json(nullptr);
    out["args"] = args_;
    return out;
}

void Tool::set_inferred_args(Json args) {
    args_ = std::move(args);
    for (auto it = arg_desc_.begin(); it != arg_desc_.end(); ++it)
        if (auto a = args_.find(it.key()); a != args_.end() && a->is_object()) (*a)["description"] = it.value();
}

std::string Tool::str() const {
    std::string out = name_;
    if (desc_ && !desc_->empty()) {
        out += ", whose description is <desc>";
        for (char c : *desc_) {
            if (c == '\n')
                out += "  ";
            else
                out += c;
        }
        out += "</desc>.";
    } else {
        out += '.';
    }
    out += " It takes arguments ";
    out += pyfmt::repr(args_);
    out += '.';
    return out;
}

std::string Tool::repr() const {
    return "Tool(name=" + name_ + ", desc=" + (desc_ ? *desc_ : std::string("None")) + ", args=" + pyfmt::repr(args_) +
           ")";
}

Json Tool::format_as_litellm_function_call() const {
    Json required = Json::array();
    for (auto it = args_.begin(); it != args_.end(); ++it)
        if (!it.value().contains("default")) required.push_back(it.key());
    Json parameters = Json::object();
    parameters["type"] = "object";
    parameters["properties"] = args_;
    parameters["required"] = std::move(required);
    Json function = Json::object();
    function["name"] = name_;
    function["description"] = desc_ ? Json(*desc_) : Json(nullptr);
    function["parameters"] = std::move(parameters);
    Json out = Json::object();
    out["type"] = "function";
    out["function"] = std::move(function);
    return out;
}

Json Tool::validate_and_parse_args(const Json& kwargs) const {
    if (kwargs.is_null()) return validate_and_parse_args(Json::object());
    if (!kwargs.is_object())
        throw ToolError("The arguments of tool `" + name_ + "` must be a JSON object of named arguments, got " +
                        kwargs.dump());
    for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
        auto schema = args_.find(it.key());
        if (schema == args_.end()) {
            if (has_kwargs_) continue;
            throw ToolError("Arg " + it.key() + " is not in the tool's args.");
        }
        auto type = schema->find("type");
        if (type != schema->end() && !(type->is_string() && *type == "Any"))
            if (auto e = schema_error(it.value(), *schema); !e.empty())
                throw ToolError("Arg " + it.key() + " is invalid: " + e);
    }
    // Python reports a missing argument when the function is called; we know the schemas, so say it here.
    for (auto it = args_.begin(); it != args_.end(); ++it)
        if (!kwargs.contains(it.key()) && !it.value().contains("default"))
            throw ToolError("Arg " + it.key() + " is required by the tool " + name_ + " but was not given.");
    if (arg_types_.empty()) return kwargs;
    Json parsed = kwargs;
    for (const auto& [name, type] : arg_types_)
        if (auto f = parsed.find(name); f != parsed.end() && type.kind != TypeSpec::Kind::Any)
            *f = coerce(*f, type);
    return parsed;
}

namespace {
constexpr const char* kAsyncToolSyncCall =
    "You are calling `__call__` on an async tool, please use `acall` instead or enable async-to-sync conversion with "
    "`dspy.configure(allow_tool_async_sync_conversion=True)` or `with dspy.context(allow_tool_async_sync_conversion="
    "True):`.";
}  // namespace

Json Tool::run_async_in_sync(Json parsed) const {
    if (!settings()->allow_tool_async_sync_conversion) throw ToolError(kAsyncToolSyncCall);
    if (EventLoop::current() == nullptr) return run_sync(afunc_(std::move(parsed)));
    // A loop is running on this thread (a sync call from inside a task). Driving the tool on a nested loop here
    // would run its timers and I/O under this loop's feet; a thread of its own with its own loop finishes it
    // whatever this loop is doing, and this thread only waits. The caller's settings go along.
    detail::TaskContext ctx = detail::capture_context();
    Task<Json> task = afunc_(std::move(parsed));
    Json result;
    std::exception_ptr error;
    std::thread worker([&] {
        detail::restore_context(std::move(ctx));
        try {
            result = run_sync(std::move(task));
        } catch (...) {
            error = std::current_exception();
        }
        detail::reset_context();
    });
    worker.join();
    if (error) std::rethrow_exception(error);
    return result;
}

Json Tool::operator()(const Json& kwargs) const {
    detail::CallbackScope cb(detail::CallbackKind::Tool, nullptr);
    if (cb.active()) {
        Json inputs = Json::object();
        inputs["kwargs"] = kwargs;
        cb.start(this, inputs);
    }
    try {
        Json parsed = validate_and_parse_args(kwargs);
        Json result;
        if (func_)
            result = func_(parsed);
        else if (afunc_)
            result = run_async_in_sync(std::move(parsed));
        else
            throw ToolError("Tool `" + name_ + "` has no implementation to call.");
        if (cb.active()) cb.end(result);
        return result;
    } catch (...) {
        if (cb.active()) cb.fail(std::current_exception());
        throw;
    }
}

Task<Json> Tool::acall(Json kwargs) const {
    detail::CallbackScope cb(detail::CallbackKind::Tool, nullptr);
    if (cb.active()) {
        Json inputs = Json::object();
        inputs["kwargs"] = kwargs;
        cb.start(this, inputs);
    }
    Json result;
    std::exception_ptr error;
    try {
        Json parsed = validate_and_parse_args(kwargs);
        if (afunc_) {
            Task<Json> task = afunc_(std::move(parsed));
            result = co_await std::move(task);
        } else if (func_) {
            result = func_(parsed);  // DSPy runs a sync tool inline on the event loop
        } else {
            throw ToolError("Tool `" + name_ + "` has no implementation to call.");
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        if (cb.active()) cb.fail(error);
        std::rethrow_exception(error);
    }
    if (cb.active()) cb.end(result);
    co_return result;
}

}  // namespace dspy
