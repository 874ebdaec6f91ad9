// TypeSpec: resolving DSPy's annotation grammar (`_parse_type_node`), printing it the way `get_annotation_name`
// does, and pydantic's JSON schema for it.
#include <algorithm>

#include "dspy/signatures/signature.hpp"
#include "dspy/utils/exceptions.hpp"
#include "signatures/py_syntax.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace sig_detail {

namespace {

using K = TypeSpec::Kind;

[[noreturn]] void fail(const std::string& msg) { throw SignatureError(msg); }

// DSPy's string grammar has no case for unary minus, so `Literal[-1]` fails inside Signature("..."), while the same
// annotation written in Python code is fine. TypeSpec::parse reads a Python annotation and turns this on.
thread_local bool g_signed_literals = false;

// What a name or expression resolves to before it is known to be a type.
struct Val {
    enum class V { Type, Special, Module, Const, Tuple } v = V::Type;
    TypeSpec type;
    bool generic_origin = false;  // an unsubscripted generic (list, List, dict...) that may still be subscripted
    std::string special;          // Optional / Union / Literal, or the module name
    const Expr* expr = nullptr;
    std::vector<Val> elts;
};

TypeSpec scalar(K k) {
    TypeSpec t;
    t.kind = k;
    return t;
}

Val type_val(TypeSpec t, const Expr& e, bool origin = false) {
    Val v;
    v.type = std::move(t);
    v.expr = &e;
    v.generic_origin = origin;
    return v;
}

// `typing.__dict__` names DSPy users write; the typing aliases keep `name` set so that, unsubscripted, they render
// as Python prints them (`typing.List` renders `list[]`, builtin `list` renders `list`).
bool typing_name(std::string_view n, const Expr& e, Val& out) {
    auto generic = [&](K k) {
        TypeSpec t = scalar(k);
        t.name = std::string(n);
        out = type_val(std::move(t), e, true);
        return true;
    };
    if (n == "Any") return out = type_val(scalar(K::Any), e), true;
    if (n == "Text") return out = type_val(scalar(K::Str), e), true;
    if (n == "List") return generic(K::List);
    if (n == "Dict") return generic(K::Dict);
    if (n == "Tuple") return generic(K::Tuple);
    if (n == "Set") return generic(K::Set);
    if (n == "FrozenSet") return generic(K::FrozenSet);
    if (n == "Optional" || n == "Union" || n == "Literal") {
        out = Val{};
        out.v = Val::V::Special;
        out.special = std::string(n);
        out.expr = &e;
        return true;
    }
    return false;
}

// Other names in `typing.__dict__` that DSPy would resolve but whose types this port does not model.
bool unsupported_typing_name(std::string_view n) {
    static constexpr std::string_view kNames[] = {
        "Annotated", "Callable", "ClassVar", "Final", "Generic", "Iterable", "Iterator", "Mapping",
        "MutableMapping", "MutableSequence", "MutableSet", "NamedTuple", "Never", "NoReturn", "OrderedDict",
        "Protocol", "Sequence", "Type", "TypedDict", "TypeVar", "AbstractSet", "Collection", "Container",
        "DefaultDict", "Deque", "Counter", "ChainMap", "Pattern", "Match", "AnyStr", "Hashable", "Sized",
        "Awaitable", "Coroutine", "AsyncIterator", "AsyncIterable", "Generator", "AsyncGenerator", "Self",
        "LiteralString", "TypeAlias", "Required", "NotRequired", "Unpack", "TypeVarTuple", "ParamSpec",
        "Concatenate", "TypeGuard", "SupportsInt", "SupportsFloat", "SupportsAbs", "SupportsBytes",
        "SupportsComplex", "SupportsIndex", "SupportsRound", "ByteString", "IO", "TextIO", "BinaryIO",
        "KeysView", "ValuesView", "ItemsView", "MappingView", "Reversible", "ContextManager",
        "AsyncContextManager", "ForwardRef", "NewType"};
    return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

Val resolve(const Expr& e);

Val resolve_name(const Expr& e) {
    const std::string& n = e.id;
    Val out;
    if (typing_name(n, e, out)) return out;
    if (n == "NoneType") return type_val(scalar(K::None), e);
    if (unsupported_typing_name(n))
        fail("Unsupported type: " + n + " (typing." + n + " has no equivalent in dspy-cpp signatures)");
    if (n == "int") return type_val(scalar(K::Int), e);
    if (n == "str") return type_val(scalar(K::Str), e);
    if (n == "float") return type_val(scalar(K::Float), e);
    if (n == "bool") return type_val(scalar(K::Bool), e);
    if (n == "list") return type_val(scalar(K::List), e, true);
    if (n == "tuple") return type_val(scalar(K::Tuple), e, true);
    if (n == "dict") return type_val(scalar(K::Dict), e, true);
    if (n == "set") return type_val(scalar(K::Set), e, true);
    if (n == "frozenset") return type_val(scalar(K::FrozenSet), e, true);
    if (n == "complex" || n == "bytes") {
        TypeSpec t = scalar(K::Other);
        t.name = n;
        return type_val(std::move(t), e);
    }
    if (n == "bytearray")
        fail("Unsupported type: bytearray (pydantic cannot build a schema for it, so DSPy rejects it too)");
    if (n == "typing" || n == "dspy") {
        out.v = Val::V::Module;
        out.special = n;
        out.expr = &e;
        return out;
    }
    fail("Unknown name: " + n);
}

std::string const_str(const Expr& e) {
    switch (e.ctype) {
        case Expr::C::Str: return e.value.get<std::string>();
        case Expr::C::Ellipsis: return "Ellipsis";
        case Expr::C::Bytes: return "b" + pyfmt::repr_str(e.value.get<std::string>());
        case Expr::C::Complex: return "(" + e.text + ")";
        default: return pyfmt::str(e.value);
    }
}

std::string const_class(const Expr& e) {
    switch (e.ctype) {
        case Expr::C::Str: return "str";
        case Expr::C::Ellipsis: return "ellipsis";
        case Expr::C::Bytes: return "bytes";
        case Expr::C::Complex: return "complex";
        case Expr::C::Int: return "int";
        case Expr::C::Float: return "float";
        case Expr::C::Bool: return "bool";
        case Expr::C::None: return "NoneType";
    }
    return "object";
}

[[noreturn]] void not_a_type(const Val& v) {
    const Expr& e = *v.expr;
    if (v.v == Val::V::Const)
        fail("Field types must be types, but received: " + const_str(e) + " of type <class '" + const_class(e) +
             "'>. (in annotation '" + e.text + "')");
    if (v.v == Val::V::Module) fail("Field types must be types, but received the module '" + v.special + "'");
    if (v.v == Val::V::Special)
        fail("'" + v.special + "' needs type arguments (e.g. " + v.special + "[...]), in annotation '" + e.text + "'");
    fail("Field types must be types, but received: '" + e.text + "'");
}

TypeSpec resolve_forward_ref(const Expr& e);

// A type argument: a type, `None` standing for NoneType, or a string naming a type (a forward reference, which
// pydantic evaluates). `keep_none` is for builtin generics: `list[None]` keeps the constant and prints `None`,
// where typing's own forms convert it to NoneType.
TypeSpec as_type(const Val& v, bool keep_none = false) {
    if (v.v == Val::V::Type) return v.type;
    if (v.v == Val::V::Const && v.expr->ctype == Expr::C::None) {
        TypeSpec t = scalar(K::None);
        if (keep_none) t.name = "None";
        return t;
    }
    if (v.v == Val::V::Const && v.expr->ctype == Expr::C::Str) return resolve_forward_ref(*v.expr);
    not_a_type(v);
}

// typing.Union's normalisation: flatten nested unions, drop duplicates (first wins), collapse a single member.
TypeSpec make_union(std::vector<TypeSpec> members) {
    std::vector<TypeSpec> flat;
    for (auto& m : members) {
        if (m.kind == K::Union && !m.pep604) {
            for (auto& a : m.args)
                if (std::find(flat.begin(), flat.end(), a) == flat.end()) flat.push_back(a);
        } else if (std::find(flat.begin(), flat.end(), m) == flat.end()) {
            flat.push_back(std::move(m));
        }
    }
    if (flat.size() == 1) return std::move(flat[0]);
    TypeSpec u = scalar(K::Union);
    u.args = std::move(flat);
    return u;
}

bool same_literal(const Json& a, const Json& b) { return a.type() == b.type() && a == b; }

void add_literal(std::vector<Json>& out, Json v) {
    for (const auto& x : out)
        if (same_literal(x, v)) return;
    out.push_back(std::move(v));
}

Val subscript(const Expr& e) {
    Val base = resolve(e.kids[0]);
    const Expr& slice = e.kids[1];
    std::vector<const Expr*> items;
    if (slice.kind == Expr::K::Tuple)
        for (const auto& k : slice.kids) items.push_back(&k);
    else
        items.push_back(&slice);

    if (base.v == Val::V::Special && base.special == "Literal") {
        TypeSpec t = scalar(K::Literal);
        for (const Expr* it : items) {
            if (it->kind == Expr::K::Const) {
                switch (it->ctype) {
                    case Expr::C::Str:
                    case Expr::C::Int:
                    case Expr::C::Float:
                    case Expr::C::Bool:
                    case Expr::C::None: add_literal(t.literals, it->value); continue;
                    default: break;
                }
                fail("Unsupported Literal value " + it->text + " in '" + e.text +
                     "' (use strings, integers, floats, booleans or None)");
            }
            if (g_signed_literals && it->kind == Expr::K::Unsupported && (it->id == "-" || it->id == "+") &&
                it->kids[0].kind == Expr::K::Const &&
                (it->kids[0].ctype == Expr::C::Int || it->kids[0].ctype == Expr::C::Float)) {
                Json v = it->kids[0].value;
                if (it->id == "-") {
                    if (v.is_number_float())
                        v = -v.get<double>();
                    else
                        v = -v.get<int64_t>();
                }
                add_literal(t.literals, std::move(v));
                continue;
            }
            Val inner = resolve(*it);  // Literal[Literal['a'], 'b'] flattens
            if (inner.v == Val::V::Type && inner.type.kind == K::Literal) {
                for (const auto& l : inner.type.literals) add_literal(t.literals, l);
                continue;
            }
            fail("Literal values must be constants, but received '" + it->text + "' in '" + e.text + "'");
        }
        return type_val(std::move(t), e);
    }

    std::vector<Val> args;
    args.reserve(items.size());
    for (const Expr* it : items) args.push_back(resolve(*it));

    if (base.v == Val::V::Special) {
        if (base.special == "Optional") {
            if (args.size() != 1) fail("Optional must have exactly one type argument (in '" + e.text + "')");
            return type_val(make_union({as_type(args[0]), scalar(K::None)}), e);
        }
        std::vector<TypeSpec> members;
        for (const auto& a : args) members.push_back(as_type(a));
        if (members.empty()) fail("Cannot take a Union of no types (in '" + e.text + "')");
        return type_val(make_union(std::move(members)), e);
    }
    if (base.v != Val::V::Type || !base.generic_origin) {
        std::string what = base.v == Val::V::Type ? base.type.render() : base.expr->text;
        fail("'" + what + "' is not subscriptable (in '" + e.text + "')");
    }
    TypeSpec t = std::move(base.type);
    bool builtin_origin = t.name.empty();
    t.name.clear();
    std::string origin = t.render();
    auto want = [&](size_t n) {
        if (args.size() != n)
            fail(origin + " takes " + std::to_string(n) + " type argument" + (n == 1 ? "" : "s") + ", but '" +
                 e.text + "' has " + std::to_string(args.size()));
    };
    switch (t.kind) {
        case K::List:
        case K::Set:
        case K::FrozenSet: want(1); break;
        case K::Dict: want(2); break;
        case K::Tuple:
            if (args.empty()) t.name = "()";  // tuple[()]: get_args is (), so it prints `tuple[]`
            if (args.size() == 2 && args[1].v == Val::V::Const && args[1].expr->ctype == Expr::C::Ellipsis) {
                t.ellipsis = true;
                args.pop_back();
            }
            break;
        default: break;
    }
    for (const auto& a : args) {
        if (a.v == Val::V::Const && a.expr->ctype == Expr::C::Ellipsis)
            fail("'...' is only allowed as the second argument of tuple[X, ...] (in '" + e.text + "')");
        t.args.push_back(as_type(a, builtin_origin));
    }
    return type_val(std::move(t), e);
}

TypeSpec resolve_forward_ref(const Expr& e) {
    const std::string& text = e.value.get_ref<const std::string&>();
    Expr inner;
    try {
        inner = parse_expression(text);
    } catch (const SignatureError& err) {
        fail("Invalid forward reference " + e.text + ": " + err.what());
    }
    Val v = resolve(inner);
    if (v.v != Val::V::Type) fail("Forward reference " + e.text + " does not name a type");
    return std::move(v.type);
}

Val resolve(const Expr& e) {
    switch (e.kind) {
        case Expr::K::Name: return resolve_name(e);
        case Expr::K::Attribute: {
            Val base = resolve(e.kids[0]);
            if (base.v == Val::V::Module && base.special == "typing") {
                Val out;
                if (typing_name(e.id, e, out)) return out;
                if (e.id == "NoneType") return type_val(scalar(K::None), e);
                if (unsupported_typing_name(e.id)) fail("Unsupported type: typing." + e.id);
                fail("Unknown attribute: " + e.id + " on typing (in '" + e.text + "')");
            }
            if (base.v == Val::V::Module && base.special == "dspy") {
                if (e.id == "History") return type_val(scalar(K::History), e);
                fail("Unsupported type: dspy." + e.id + " (dspy-cpp supports dspy.History)");
            }
            fail("Unknown attribute: " + e.id + " on " + e.kids[0].text + " (in '" + e.text + "')");
        }
        case Expr::K::Subscript: return subscript(e);
        case Expr::K::BitOr: {
            // DSPy turns `A | B` into typing.Optional/Union, so it renders `Union[...]`, not `UnionType[...]`.
            TypeSpec l = as_type(resolve(e.kids[0]));
            TypeSpec r = as_type(resolve(e.kids[1]));
            return type_val(make_union({std::move(l), std::move(r)}), e);
        }
        case Expr::K::Tuple: {
            Val v;
            v.v = Val::V::Tuple;
            v.expr = &e;
            for (const auto& k : e.kids) v.elts.push_back(resolve(k));
            return v;
        }
        case Expr::K::Const: {
            Val v;
            v.v = Val::V::Const;
            v.expr = &e;
            return v;
        }
        case Expr::K::Unsupported: break;
    }
    if (e.id == "call")
        fail("Field types must be types, but received the call '" + e.text +
             "' (string signatures cannot carry Field(...) constraints; use Field::constraints)");
    fail("Failed to parse string-base Signature due to unhandled annotation '" + e.text +
         "'. Please consider building the signature from fields instead.");
}

}  // namespace

ResolvedAnnotation resolve_annotation(const Expr& e) {
    Val v = resolve(e);
    if (v.v == Val::V::Const && v.expr->ctype == Expr::C::None) return {TypeSpec::str(), true};
    if (v.v != Val::V::Type) not_a_type(v);
    // make_signature rejects an unsubscripted typing alias (typing._SpecialGenericAlias is not a type), though
    // pydantic would take one nested inside another type.
    if (v.generic_origin && !v.type.name.empty()) {
        std::string builtin = v.type.render();
        builtin.resize(builtin.size() - 2);  // "list[]" -> "list"
        fail("Field types must be types, but received: typing." + v.type.name + " of type <class 'typing." +
             (v.type.name == "Tuple" ? "_TupleType" : "_SpecialGenericAlias") + "'>. (write " + v.type.name +
             "[...] or the builtin " + builtin + ")");
    }
    return {std::move(v.type), false};
}

}  // namespace sig_detail

TypeSpec TypeSpec::parse(std::string_view text) {
    sig_detail::Expr e = sig_detail::parse_expression(text);
    struct SignedLiterals {
        bool saved = sig_detail::g_signed_literals;
        SignedLiterals() { sig_detail::g_signed_literals = true; }
        ~SignedLiterals() { sig_detail::g_signed_literals = saved; }
    } signed_literals;
    if (e.kind == sig_detail::Expr::K::Const && e.ctype == sig_detail::Expr::C::None) {
        TypeSpec t;  // standalone, `None` means NoneType (only a field annotation of None falls back to str)
        t.kind = Kind::None;
        return t;
    }
    return sig_detail::resolve_annotation(e).type;
}

namespace {

void render_into(const TypeSpec& t, std::string& out);

// DSPy's `_quoted_string_for_literal_type_annotation`.
void quote_literal(const std::string& s, std::string& out) {
    bool single = s.find('\'') != std::string::npos, dbl = s.find('"') != std::string::npos;
    if (single && !dbl) {
        out += '"';
        out += s;
        out += '"';
        return;
    }
    out += '\'';
    if (single && dbl) {
        for (char c : s) {
            if (c == '\'') out += '\\';
            out += c;
        }
    } else {
        out += s;
    }
    out += '\'';
}

void render_args(const TypeSpec& t, std::string& out) {
    out += '[';
    for (size_t i = 0; i < t.args.size(); ++i) {
        if (i) out += ", ";
        render_into(t.args[i], out);
    }
    if (t.ellipsis) out += ", Ellipsis";  // get_args(tuple[int, ...]) is (int, Ellipsis); str(Ellipsis)
    out += ']';
}

void render_into(const TypeSpec& t, std::string& out) {
    using K = TypeSpec::Kind;
    const char* base = nullptr;
    switch (t.kind) {
        case K::Str: out += "str"; return;
        case K::Int: out += "int"; return;
        case K::Float: out += "float"; return;
        case K::Bool: out += "bool"; return;
        case K::Any: out += "Any"; return;
        case K::None: out += t.name.empty() ? "NoneType" : t.name; return;
        case K::History: out += "History"; return;
        case K::Other: out += t.name; return;
        case K::List: base = "list"; break;
        case K::Dict: base = "dict"; break;
        case K::Tuple: base = "tuple"; break;
        case K::Set: base = "set"; break;
        case K::FrozenSet: base = "frozenset"; break;
        case K::Literal:
            out += "Literal[";
            for (size_t i = 0; i < t.literals.size(); ++i) {
                if (i) out += ", ";
                const Json& v = t.literals[i];
                if (v.is_string())
                    quote_literal(v.get_ref<const std::string&>(), out);
                else
                    out += pyfmt::str(v);
            }
            out += ']';
            return;
        case K::Union:
            out += t.pep604 ? "UnionType" : "Union";
            render_args(t, out);
            return;
    }
    out += base;
    if (!t.args.empty())
        render_args(t, out);
    else if (!t.name.empty())
        out += "[]";  // an unsubscripted typing alias: get_origin(typing.List) is list, get_args is ()
}

}  // namespace

std::string TypeSpec::render() const {
    std::string out;
    render_into(*this, out);
    return out;
}

bool TypeSpec::admits_none() const {
    switch (kind) {
        case Kind::None:
        case Kind::Any: return true;
        case Kind::Union:
            return std::any_of(args.begin(), args.end(), [](const TypeSpec& a) { return a.admits_none(); });
        case Kind::Literal:
            return std::any_of(literals.begin(), literals.end(), [](const Json& v) { return v.is_null(); });
        default: return false;
    }
}

namespace {

// Builds pydantic's schema with DSPy's key order ("type" first, then the other keys sorted) directly, so no
// reordering pass is needed.
Json schema_of(const TypeSpec& t) {
    using K = TypeSpec::Kind;
    auto typed = [](const char* ty) {
        Json j = Json::object();
        j["type"] = ty;
        return j;
    };
    switch (t.kind) {
        case K::Str: return typed("string");
        case K::Int: return typed("integer");
        case K::Float: return typed("number");
        case K::Bool: return typed("boolean");
        case K::None: return typed("null");
        case K::Any: return Json::object();
        case K::Other: {
            Json j = typed("string");
            if (t.name == "bytes") j["format"] = "binary";
            return j;
        }
        case K::List:
        case K::Set:
        case K::FrozenSet: {
            Json j = typed("array");
            j["items"] = t.args.empty() ? Json::object() : schema_of(t.args[0]);
            if (t.kind != K::List) j["uniqueItems"] = true;
            return j;
        }
        case K::Tuple: {
            Json j = typed("array");
            if (t.args.empty() && t.name == "()") {
                j["maxItems"] = 0;
                j["minItems"] = 0;
            } else if (t.args.empty()) {
                j["items"] = Json::object();
            } else if (t.ellipsis) {
                j["items"] = schema_of(t.args[0]);
            } else {
                j["maxItems"] = t.args.size();
                j["minItems"] = t.args.size();
                Json items = Json::array();
                for (const auto& a : t.args) items.push_back(schema_of(a));
                j["prefixItems"] = std::move(items);
            }
            return j;
        }
        case K::Dict: {
            Json j = typed("object");
            if (t.args.size() < 2 || t.args[1].kind == K::Any)
                j["additionalProperties"] = true;
            else
                j["additionalProperties"] = schema_of(t.args[1]);
            // pydantic names the key schema only when it constrains more than "a string".
            if (t.args.size() == 2 && t.args[0].kind == K::Literal) {
                Json keys = schema_of(t.args[0]);
                keys.erase("type");
                j["propertyNames"] = std::move(keys);
            }
            return j;
        }
        case K::Literal: {
            // pydantic: a "type" only when every value has the same Python type; `const` for a single value.
            const char* ty = nullptr;
            bool same = true;
            for (size_t i = 0; i < t.literals.size(); ++i) {
                const Json& v = t.literals[i];
                const char* vt = v.is_string() ? "string"
                                 : v.is_boolean() ? "boolean"
                                 : v.is_number_float() ? "number"
                                 : v.is_number() ? "integer"
                                 : v.is_null() ? "null"
                                                  : "";
                if (i == 0)
                    ty = vt;
                else if (std::string_view(ty) != vt)
                    same = false;
            }
            Json j = Json::object();
            if (same && ty && *ty) j["type"] = ty;
            if (t.literals.size() == 1)
                j["const"] = t.literals[0];
            else
                j["enum"] = Json(t.literals);
            return j;
        }
        case K::Union: {
            // pydantic makes a union containing None "nullable": the null alternative always comes last.
            Json any = Json::array();
            bool nullable = false;
            for (const auto& a : t.args) {
                if (a.kind == K::None)
                    nullable = true;
                else
                    any.push_back(schema_of(a));
            }
            if (nullable) any.push_back(typed("null"));
            Json j = Json::object();
            j["anyOf"] = std::move(any);
            return j;
        }
        case K::History: {
            // dspy.History: messages: list[dict[str, Any]], extra="forbid".
            Json messages = typed("array");
            Json item = typed("object");
            item["additionalProperties"] = true;
            messages["items"] = std::move(item);
            messages["title"] = "Messages";
            Json props = Json::object();
            props["messages"] = std::move(messages);
            Json j = typed("object");
            j["additionalProperties"] = false;
            j["properties"] = std::move(props);
            j["required"] = Json::array({"messages"});
            j["title"] = "History";
            return j;
        }
    }
    return Json::object();
}

}  // namespace

Json TypeSpec::json_schema() const { return schema_of(*this); }

}  // namespace dspy
