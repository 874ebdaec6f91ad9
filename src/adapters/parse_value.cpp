// parse_value / validate_value: DSPy's typed parsing of field values (dspy/adapters/utils.py parse_value) and the
// pydantic v2 lax-mode validation it ends in (TypeAdapter(T).validate_python).

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <limits>
#include <string>
#include <vector>

#include "dspy/adapters/utils.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/json_repair.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {
namespace {

using Kind = TypeSpec::Kind;

// One pydantic line item: where, what, and the offending input.
struct Issue {
    std::string loc;
    std::string type;
    std::string msg;
    Json input;
};

std::string py_type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return "NoneType";
        case Json::value_t::boolean: return "bool";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "int";
        case Json::value_t::number_float: return "float";
        case Json::value_t::string: return "str";
        case Json::value_t::array: return "list";
        case Json::value_t::object: return "dict";
        default: return "object";
    }
}

// pydantic's title for a TypeAdapter: `int`, `list[str]`, `dict[str,int]`, `nullable[int]`, `union[int,str]`.
std::string title(const TypeSpec& t) {
    auto arg = [&](size_t k) { return k < t.args.size() ? title(t.args[k]) : std::string("any"); };
    switch (t.kind) {
        case Kind::Str: return "str";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::Bool: return "bool";
        case Kind::Any: return "any";
        case Kind::None: return "none";
        case Kind::List: return "list[" + arg(0) + "]";
        case Kind::Set: return "set[" + arg(0) + "]";
        case Kind::FrozenSet: return "frozenset[" + arg(0) + "]";
        case Kind::Dict: return "dict[" + arg(0) + "," + arg(1) + "]";
        case Kind::Tuple: {
            if (t.args.empty()) return "tuple[any, ...]";
            std::string s = "tuple[";
            for (size_t k = 0; k < t.args.size(); ++k) s += (k ? ", " : "") + title(t.args[k]);
            return s + (t.ellipsis ? ", ...]" : "]");
        }
        case Kind::Literal: {
            std::string s = "literal[";
            for (size_t k = 0; k < t.literals.size(); ++k) s += (k ? "," : "") + pyfmt::repr(t.literals[k]);
            return s + "]";
        }
        case Kind::Union: {
            std::vector<const TypeSpec*> rest;
            bool has_none = false;
            for (const auto& a : t.args) {
                if (a.kind == Kind::None) {
                    has_none = true;
                } else {
                    rest.push_back(&a);
                }
            }
            std::string inner;
            if (rest.size() == 1) {
                inner = title(*rest[0]);
            } else {
                inner = "union[";
                for (size_t k = 0; k < rest.size(); ++k) inner += (k ? "," : "") + title(*rest[k]);
                inner += "]";
            }
            return has_none ? "nullable[" + inner + "]" : inner;
        }
        case Kind::History: return "History";
        case Kind::Other: return t.name;
    }
    return "any";
}

[[noreturn]] void throw_issues(const TypeSpec& t, const std::vector<Issue>& issues) {
    std::string m = std::to_string(issues.size()) + " validation error" + (issues.size() == 1 ? "" : "s") +
                    " for " + title(t);
    for (const auto& is : issues) {
        if (!is.loc.empty()) m += "\n" + is.loc;
        m += "\n  " + is.msg + " [type=" + is.type + ", input_value=" + pyfmt::repr(is.input) +
             ", input_type=" + py_type_name(is.input) + "]";
    }
    throw ValueError(m);
}

bool is_py_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim_ascii(std::string_view s) {
    while (!s.empty() && is_py_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_py_ws(s.back())) s.remove_suffix(1);
    return s;
}

// Digits with single underscores between them (Python's and pydantic's numeric literal rule).
bool digits_with_underscores(std::string_view s, std::string& out) {
    if (s.empty() || s.front() == '_' || s.back() == '_') return false;
    for (size_t k = 0; k < s.size(); ++k) {
        char c = s[k];
        if (c == '_') {
            if (s[k - 1] == '_') return false;
            continue;
        }
        if (c < '0' || c > '9') return false;
        out.push_back(c);
    }
    return true;
}

// pydantic's str -> int: whitespace trimmed, a sign, digits (with `_`), optionally `.000`.
std::optional<Json> str_to_int(std::string_view s) {
    s = trim_ascii(s);
    std::string digits;
    bool neg = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    size_t dot = s.find('.');
    if (dot != std::string_view::npos) {
        std::string_view frac = s.substr(dot + 1);
        if (frac.empty() || frac.find_first_not_of('0') != std::string_view::npos) return std::nullopt;
        s = s.substr(0, dot);
    }
    if (!digits_with_underscores(s, digits)) return std::nullopt;
    std::int64_t v = 0;
    std::string text = (neg ? "-" : "") + digits;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return Json(v);
    std::uint64_t u = 0;
    r = std::from_chars(digits.data(), digits.data() + digits.size(), u);
    if (!neg && r.ec == std::errc()) return Json(u);
    return Json(std::strtod(text.c_str(), nullptr));  // beyond 64 bits: closest we can hold
}

// Python float(str) syntax, as pydantic accepts it.
std::optional<double> str_to_float(std::string_view s) {
    s = trim_ascii(s);
    std::string t;
    size_t k = 0;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) t.push_back(s[k++]);
    std::string lower;
    for (size_t j = k; j < s.size(); ++j) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[j]))));
    if (lower == "inf" || lower == "infinity") return t == "-" ? -HUGE_VAL : HUGE_VAL;
    if (lower == "nan") return std::nan("");
    auto take_digits = [&](std::string& out) {
        size_t start = k;
        while (k < s.size() && ((s[k] >= '0' && s[k] <= '9') || s[k] == '_')) ++k;
        return digits_with_underscores(s.substr(start, k - start), out) || k == start;
    };
    std::string ip, fp;
    size_t before = k;
    if (!take_digits(ip)) return std::nullopt;
    bool had_int = k > before;
    t += ip;
    bool had_frac = false;
    if (k < s.size() && s[k] == '.') {
        ++k;
        size_t fs = k;
        if (!take_digits(fp)) return std::nullopt;
        had_frac = k > fs;
        t += "." + fp;
    }
    if (!had_int && !had_frac) return std::nullopt;
    if (k < s.size() && (s[k] == 'e' || s[k] == 'E')) {
        ++k;
        t += 'e';
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) t.push_back(s[k++]);
        std::string ep;
        size_t es = k;
        if (!take_digits(ep) || k == es) return std::nullopt;
        t += ep;
    }
    if (k != s.size()) return std::nullopt;
    return std::strtod(t.c_str(), nullptr);
}

bool is_int(const Json& v) { return v.is_number_integer() || v.is_number_unsigned(); }

// Literal membership the pydantic way: 1 matches True and 1.0, "1" matches nothing numeric.
bool literal_matches(const Json& lit, const Json& v) {
    if (lit.is_string()) return v.is_string() && v == lit;
    if (lit.is_null()) return v.is_null();
    if (lit.is_boolean()) {
        if (v.is_boolean()) return v == lit;
        if (is_int(v)) return v.get<std::int64_t>() == (lit.get<bool>() ? 1 : 0);
        return false;
    }
    if (is_int(lit)) {
        if (is_int(v)) return v == lit;
        if (v.is_boolean()) return lit.get<std::int64_t>() == (v.get<bool>() ? 1 : 0);
        if (v.is_number_float()) return v.get<double>() == lit.get<double>();
        return false;
    }
    return v == lit;
}

enum class Mode { Exact, Strict, Lax };

class Validator {
public:
    std::vector<Issue> issues;

    // Validates v against t in `mode`, appending issues at `loc`; returns the validated value.
    Json run(const TypeSpec& t, const Json& v, Mode mode, const std::string& loc) {
        auto fail = [&](const char* type, const char* msg) {
            issues.push_back({loc, type, msg, v});
            return Json();
        };
        switch (t.kind) {
            case Kind::Any:
            case Kind::History:
            case Kind::Other: return v;
            case Kind::None:
                if (v.is_null()) return v;
                return fail("none_required", "Input should be None");
            case Kind::Str:
                if (v.is_string()) return v;
                return fail("string_type", "Input should be a valid string");
            case Kind::Int: {
                if (is_int(v)) return v;
                if (mode == Mode::Exact) return fail("int_type", "Input should be a valid integer");
                if (v.is_boolean() && mode == Mode::Lax) return Json(v.get<bool>() ? 1 : 0);
                if (v.is_number_float()) {
                    double d = v.get<double>();
                    if (!std::isfinite(d)) return fail("finite_number", "Input should be a finite number");
                    if (d != std::floor(d))
                        return fail("int_from_float", "Input should be a valid integer, got a number with a fractional part");
                    if (std::fabs(d) >= 9.2233720368547758e18)
                        return fail("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size");
                    return Json(static_cast<std::int64_t>(d));
                }
                if (v.is_string() && mode == Mode::Lax) {
                    if (auto r = str_to_int(v.get_ref<const std::string&>())) return *r;
                    return fail("int_parsing", "Input should be a valid integer, unable to parse string as an integer");
                }
                return fail("int_type", "Input should be a valid integer");
            }
            case Kind::Float: {
                if (v.is_number_float()) return v;
                if (mode == Mode::Exact) return fail("float_type", "Input should be a valid number");
                if (is_int(v)) return Json(v.get<double>());
                if (v.is_boolean() && mode == Mode::Lax) return Json(v.get<bool>() ? 1.0 : 0.0);
                if (v.is_string() && mode == Mode::Lax) {
                    if (auto r = str_to_float(v.get_ref<const std::string&>())) return Json(*r);
                    return fail("float_parsing", "Input should be a valid number, unable to parse string as a number");
                }
                return fail("float_type", "Input should be a valid number");
            }
            case Kind::Bool: {
                if (v.is_boolean()) return v;
                if (mode != Mode::Lax) return fail("bool_type", "Input should be a valid boolean");
                if (is_int(v)) {
                    if (v == 0) return Json(false);
                    if (v == 1) return Json(true);
                    return fail("bool_parsing", "Input should be a valid boolean, unable to interpret input");
                }
                if (v.is_number_float()) {
                    double d = v.get<double>();
                    if (d == 0.0) return Json(false);
                    if (d == 1.0) return Json(true);
                    return fail("bool_type", "Input should be a valid boolean");
                }
                if (v.is_string()) {
                    std::string s;
                    for (char c : v.get_ref<const std::string&>())
                        s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
                    for (const char* w : {"1", "on", "t", "true", "y", "yes"})
                        if (s == w) return Json(true);
                    for (const char* w : {"0", "off", "f", "false", "n", "no"})
                        if (s == w) return Json(false);
                    return fail("bool_parsing", "Input should be a valid boolean, unable to interpret input");
                }
                return fail("bool_type", "Input should be a valid boolean");
            }
            case Kind::Literal: {
                for (const auto& lit : t.literals)
                    if (mode == Mode::Exact ? (v == lit && py_type_name(v) == py_type_name(lit))
                                            : literal_matches(lit, v))
                        return lit;
                std::string expected;
                for (size_t k = 0; k < t.literals.size(); ++k) {
                    if (k) expected += k + 1 == t.literals.size() ? " or " : ", ";
                    expected += pyfmt::repr(t.literals[k]);
                }
                issues.push_back({loc, "literal_error", "Input should be " + expected, v});
                return Json();
            }
            case Kind::List:
            case Kind::Set:
            case Kind::FrozenSet: {
                if (!v.is_array()) {
                    const char* what = t.kind == Kind::List ? "list" : t.kind == Kind::Set ? "set" : "frozenset";
                    issues.push_back({loc, std::string(what) + "_type",
                                      std::string("Input should be a valid ") + what, v});
                    return Json();
                }
                Json out = Json::array();
                for (size_t k = 0; k < v.size(); ++k) {
                    Json e = t.args.empty() ? v[k] : run(t.args[0], v[k], mode, join(loc, std::to_string(k)));
                    if (t.kind != Kind::List) {
                        bool dup = false;
                        for (const auto& x : out) dup = dup || x == e;
                        if (dup) continue;
                    }
                    out.push_back(std::move(e));
                }
                return out;
            }
            case Kind::Tuple: {
                if (!v.is_array()) {
                    issues.push_back({loc, "tuple_type", "Input should be a valid tuple", v});
                    return Json();
                }
                Json out = Json::array();
                if (t.args.empty() || t.ellipsis) {
                    for (size_t k = 0; k < v.size(); ++k)
                        out.push_back(t.args.empty() ? v[k] : run(t.args[0], v[k], mode, join(loc, std::to_string(k))));
                    return out;
                }
                if (v.size() > t.args.size()) {
                    issues.push_back({loc, "too_long",
                                      "Tuple should have at most " + std::to_string(t.args.size()) +
                                          " items after validation, not " + std::to_string(v.size()),
                                      v});
                    return Json();
                }
                for (size_t k = 0; k < t.args.size(); ++k) {
                    if (k >= v.size()) {
                        issues.push_back({join(loc, std::to_string(k)), "missing", "Field required", v});
                        continue;
                    }
                    out.push_back(run(t.args[k], v[k], mode, join(loc, std::to_string(k))));
                }
                return out;
            }
            case Kind::Dict: {
                if (!v.is_object()) {
                    issues.push_back({loc, "dict_type", "Input should be a valid dictionary", v});
                    return Json();
                }
                Json out = Json::object();
                for (auto it = v.begin(); it != v.end(); ++it) {
                    std::string key = it.key();
                    if (t.args.size() >= 1 && t.args[0].kind != Kind::Str && t.args[0].kind != Kind::Any) {
                        Json k = run(t.args[0], Json(key), mode, join(join(loc, key), "[key]"));
                        key = k.is_string() ? k.get<std::string>() : pyfmt::str(k);
                    }
                    out[key] = t.args.size() >= 2 ? run(t.args[1], it.value(), mode, join(loc, it.key())) : it.value();
                }
                return out;
            }
            case Kind::Union: return run_union(t, v, mode, loc);
        }
        return v;
    }

private:
    static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

    // pydantic's smart union: an exact-type member first, then a strict match, then lax in declaration order.
    Json run_union(const TypeSpec& t, const Json& v, Mode mode, const std::string& loc) {
        std::vector<Mode> passes;
        for (Mode m : {Mode::Exact, Mode::Strict, Mode::Lax})
            if (static_cast<int>(m) <= static_cast<int>(mode)) passes.push_back(m);
        for (Mode m : passes) {
            for (const auto& member : t.args) {
                Validator trial;
                Json r = trial.run(member, v, m, loc);
                if (trial.issues.empty()) return r;
            }
        }
        for (const auto& member : t.args) run(member, v, mode, join(loc, title(member)));
        return Json();
    }
};

bool union_has(const TypeSpec& t, Kind k) {
    for (const auto& a : t.args)
        if (a.kind == k) return true;
    return false;
}

}  // namespace

Json validate_value(const Json& value, const TypeSpec& type) {
    Validator v;
    Json out = v.run(type, value, Mode::Lax, "");
    if (!v.issues.empty()) throw_issues(type, v.issues);
    return out;
}

Json parse_value(std::string_view text, const TypeSpec& type) {
    if (type.kind == Kind::Str) return Json(std::string(text));
    if (type.kind == Kind::Literal) {
        for (const auto& lit : type.literals)
            if (lit.is_string() && lit.get_ref<const std::string&>() == text) return lit;
        std::string_view v = pyfmt::strip(text);
        if ((v.starts_with("Literal[") || v.starts_with("str[")) && v.ends_with("]")) {
            size_t open = v.find('[');
            v = v.substr(open + 1, v.size() - open - 2);
        }
        if (v.size() > 1 && v.front() == v.back() && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
        for (const auto& lit : type.literals)
            if (lit.is_string() && lit.get_ref<const std::string&>() == v) return lit;
        std::string allowed = "(";
        for (size_t k = 0; k < type.literals.size(); ++k) allowed += (k ? ", " : "") + pyfmt::repr(type.literals[k]);
        allowed += type.literals.size() == 1 ? ",)" : ")";
        throw ValueError(pyfmt::repr_str(text) + " is not one of " + allowed);
    }
    if (type.kind == Kind::Union && union_has(type, Kind::Str) && union_has(type, Kind::None))
        return validate_value(Json(std::string(text)), type);
    Json candidate = json_repair::loads(text);
    if (candidate.is_string() && candidate.get_ref<const std::string&>().empty() && !text.empty()) {
        if (auto lit = json_repair::literal_eval(text)) {
            candidate = std::move(*lit);
        } else {
            candidate = std::string(text);
        }
    }
    return validate_value(candidate, type);
}

Json parse_json_value(const Json& value, const TypeSpec& type) {
    if (value.is_string()) return parse_value(value.get_ref<const std::string&>(), type);
    if (type.kind == Kind::Str) return Json(pyfmt::str(value));
    if (type.kind == Kind::Literal) {
        for (const auto& lit : type.literals)
            if (value == lit || (lit.is_boolean() != value.is_boolean() && literal_matches(lit, value))) return value;
        std::string allowed = "(";
        for (size_t k = 0; k < type.literals.size(); ++k) allowed += (k ? ", " : "") + pyfmt::repr(type.literals[k]);
        allowed += type.literals.size() == 1 ? ",)" : ")";
        throw ValueError(pyfmt::repr(value) + " is not one of " + allowed);
    }
    return validate_value(value, type);
}

Json apply_output_field_defaults(const Signature& signature, Json fields) {
    Json completed = Json::object();
    for (const Field* f : signature.output_fields()) {
        auto it = fields.find(f->name);
        if (it != fields.end()) {
            completed[f->name] = std::move(*it);
        } else if (f->type.admits_none()) {
            completed[f->name] = nullptr;
        }
    }
    return completed;
}

}  // namespace dspy
