#pragma once
// The small part of Python's grammar that DSPy's string signatures go through: DSPy runs
// `ast.parse(f"def f({side}): pass")` on each side of the arrow and then walks the annotation nodes. We parse the
// same text by hand (no regex, one pass) into a tiny AST that type_spec.cpp resolves. Private to the library.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy::sig_detail {

/// An annotation expression node (the subset of `ast.expr` DSPy's `_parse_type_node` looks at).
struct Expr {
    enum class K {
        Name,       ///< `int`; id holds the name
        Attribute,  ///< `typing.List`; id holds the attribute, kids[0] the value
        Subscript,  ///< `list[str]`; kids[0] the value, kids[1] the slice (a Tuple when it has commas)
        BitOr,      ///< `A | B`; kids = {A, B}
        Tuple,      ///< `A, B` (inside a subscript) or `(A, B)`; kids = elements
        Const,      ///< a literal: value/ctype
        Unsupported ///< valid Python we do not resolve (calls, unary minus, lists...); text says what
    };
    /// Python's type of a constant.
    enum class C { None, Bool, Int, Float, Str, Bytes, Ellipsis, Complex };

    K kind = K::Name;
    std::string id;
    Json value;
    C ctype = C::None;
    std::vector<Expr> kids;
    std::string text;  ///< the source text of the node, for messages
};

/// One positional-or-keyword parameter (`ast.arguments.args`).
struct Param {
    std::string name;
    std::optional<Expr> annotation;
};

/// Parses one side of a signature as Python function parameters and returns what DSPy keeps: the
/// positional-or-keyword parameters, in order (positional-only, `*args`, keyword-only and `**kwargs` are dropped,
/// defaults are checked for syntax and ignored). @throws SignatureError naming the offending text.
std::vector<Param> parse_parameters(std::string_view side);

/// Parses a whole annotation expression. @throws SignatureError.
Expr parse_expression(std::string_view text);

/// A resolved field annotation. `none_constant` is set for `a: None`, which DSPy turns into `str`
/// (make_signature treats a None type as "not given").
struct ResolvedAnnotation {
    TypeSpec type;
    bool none_constant = false;
};

/// DSPy's `_parse_type_node` plus make_signature's "must be a type" check. @throws SignatureError.
ResolvedAnnotation resolve_annotation(const Expr& e);

/// Python's keywords (not the soft ones), which cannot be names.
bool is_python_keyword(std::string_view name);

}  // namespace dspy::sig_detail
