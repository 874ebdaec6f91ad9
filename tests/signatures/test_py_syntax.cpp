#include "signatures/py_syntax.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"

namespace dspy::sig_detail {
namespace {

std::vector<std::string> param_names(std::string_view side) {
    std::vector<std::string> out;
    for (const auto& p : parse_parameters(side)) out.push_back(p.name + (p.annotation ? ":" + p.annotation->text : ""));
    return out;
}

using V = std::vector<std::string>;

TEST(PySyntax, ParametersKeepAnnotationsText) {
    EXPECT_EQ(param_names("a, b: list[str], c: dict[str, int] = {}"), (V{"a", "b:list[str]", "c:dict[str, int]"}));
    EXPECT_EQ(param_names(""), V{});
    EXPECT_EQ(param_names("  \t "), V{});
    EXPECT_EQ(param_names("x,"), V{"x"});
}

TEST(PySyntax, ExpressionTree) {
    Expr e = parse_expression("typing.Optional[list[int] | None]");
    ASSERT_EQ(e.kind, Expr::K::Subscript);
    EXPECT_EQ(e.kids[0].kind, Expr::K::Attribute);
    EXPECT_EQ(e.kids[0].id, "Optional");
    EXPECT_EQ(e.kids[1].kind, Expr::K::BitOr);
    EXPECT_EQ(e.kids[1].kids[1].kind, Expr::K::Const);
    EXPECT_EQ(e.kids[1].kids[1].ctype, Expr::C::None);
    Expr t = parse_expression("Literal['a', 2, 3.5, True, ...]");
    ASSERT_EQ(t.kids[1].kind, Expr::K::Tuple);
    ASSERT_EQ(t.kids[1].kids.size(), 5u);
    EXPECT_EQ(t.kids[1].kids[1].value, Json(2));
    EXPECT_EQ(t.kids[1].kids[2].ctype, Expr::C::Float);
    EXPECT_EQ(t.kids[1].kids[4].ctype, Expr::C::Ellipsis);
}

TEST(PySyntax, NumbersAndStrings) {
    EXPECT_EQ(parse_expression("0x1F").value, Json(31));
    EXPECT_EQ(parse_expression("0o17").value, Json(15));
    EXPECT_EQ(parse_expression("0b101").value, Json(5));
    EXPECT_EQ(parse_expression("1_000_000").value, Json(1000000));
    EXPECT_EQ(parse_expression("1e3").ctype, Expr::C::Float);
    EXPECT_EQ(parse_expression("2j").ctype, Expr::C::Complex);
    EXPECT_EQ(parse_expression("'a\\'b'").value, Json("a'b"));
    EXPECT_EQ(parse_expression("\"\\101\\n\"").value, Json("A\n"));
    EXPECT_EQ(parse_expression("b'x'").ctype, Expr::C::Bytes);
    EXPECT_THROW(parse_expression("'a' b'x'"), SignatureError);
    EXPECT_THROW(parse_expression("0x"), SignatureError);
    EXPECT_THROW(parse_expression("1e"), SignatureError);
    EXPECT_THROW(parse_expression("'\\x4'"), SignatureError);
}

TEST(PySyntax, KeywordsAreNotNames) {
    EXPECT_TRUE(is_python_keyword("lambda"));
    EXPECT_TRUE(is_python_keyword("None"));
    EXPECT_FALSE(is_python_keyword("match"));
    EXPECT_FALSE(is_python_keyword("print"));
    EXPECT_THROW(parse_parameters("lambda"), SignatureError);
    EXPECT_THROW(parse_expression("list[class]"), SignatureError);
}

}  // namespace
}  // namespace dspy::sig_detail
