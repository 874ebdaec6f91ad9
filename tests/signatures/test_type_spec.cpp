#include <gtest/gtest.h>

#include "dspy/signatures/signature.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {
namespace {

std::string rendered(std::string_view text) { return TypeSpec::parse(text).render(); }
std::string schema(std::string_view text) { return pyfmt::json_dumps(TypeSpec::parse(text).json_schema()); }

// The message of the SignatureError that parsing `text` throws ("" when it does not throw).
std::string parse_error(std::string_view text) {
    try {
        (void)TypeSpec::parse(text);
    } catch (const SignatureError& e) {
        return e.what();
    }
    return "";
}

TEST(TypeSpec, ParsesScalars) {
    EXPECT_EQ(TypeSpec::parse("str").kind, TypeSpec::Kind::Str);
    EXPECT_EQ(TypeSpec::parse("int").kind, TypeSpec::Kind::Int);
    EXPECT_EQ(TypeSpec::parse("float").kind, TypeSpec::Kind::Float);
    EXPECT_EQ(TypeSpec::parse("bool").kind, TypeSpec::Kind::Bool);
    EXPECT_EQ(TypeSpec::parse("Any").kind, TypeSpec::Kind::Any);
    EXPECT_EQ(TypeSpec::parse("NoneType").kind, TypeSpec::Kind::None);
    EXPECT_EQ(TypeSpec::parse("None").kind, TypeSpec::Kind::None);
    EXPECT_EQ(TypeSpec::parse("Text").kind, TypeSpec::Kind::Str);
    EXPECT_EQ(TypeSpec::parse("  int\t").kind, TypeSpec::Kind::Int);
    TypeSpec b = TypeSpec::parse("bytes");
    EXPECT_EQ(b.kind, TypeSpec::Kind::Other);
    EXPECT_EQ(b.name, "bytes");
    EXPECT_EQ(TypeSpec::parse("complex").render(), "complex");
}

TEST(TypeSpec, ParsesGenericsIntoArgs) {
    TypeSpec t = TypeSpec::parse("dict[str, list[int]]");
    ASSERT_EQ(t.kind, TypeSpec::Kind::Dict);
    ASSERT_EQ(t.args.size(), 2u);
    EXPECT_EQ(t.args[0].kind, TypeSpec::Kind::Str);
    EXPECT_EQ(t.args[1].kind, TypeSpec::Kind::List);
    EXPECT_EQ(t.args[1].args.at(0).kind, TypeSpec::Kind::Int);
    // the typing aliases and the builtins are the same type
    EXPECT_EQ(TypeSpec::parse("List[str]"), TypeSpec::parse("list[str]"));
    EXPECT_EQ(TypeSpec::parse("typing.Dict[str, typing.Any]"), TypeSpec::parse("dict[str, Any]"));
    TypeSpec tup = TypeSpec::parse("tuple[int, ...]");
    EXPECT_TRUE(tup.ellipsis);
    EXPECT_EQ(tup.args.size(), 1u);
}

TEST(TypeSpec, RendersLikeGetAnnotationName) {
    EXPECT_EQ(rendered("List[str]"), "list[str]");
    EXPECT_EQ(rendered("typing.List[int]"), "list[int]");
    EXPECT_EQ(rendered("Dict[str, Any]"), "dict[str, Any]");
    EXPECT_EQ(rendered("dict[str, list[str]]"), "dict[str, list[str]]");
    EXPECT_EQ(rendered("Tuple[int, str]"), "tuple[int, str]");
    EXPECT_EQ(rendered("tuple[int, ...]"), "tuple[int, Ellipsis]");
    EXPECT_EQ(rendered("tuple[()]"), "tuple[]");
    EXPECT_EQ(rendered("set[int]"), "set[int]");
    EXPECT_EQ(rendered("FrozenSet[str]"), "frozenset[str]");
    EXPECT_EQ(rendered("list"), "list");
    EXPECT_EQ(rendered("list[List]"), "list[list[]]");
    EXPECT_EQ(rendered("dspy.History"), "History");
    EXPECT_EQ(rendered("NoneType"), "NoneType");
}

TEST(TypeSpec, OptionalAndUnionsNormaliseLikeTyping) {
    EXPECT_EQ(rendered("Optional[int]"), "Union[int, NoneType]");
    EXPECT_EQ(rendered("Optional[list[str]]"), "Union[list[str], NoneType]");
    EXPECT_EQ(rendered("int | None"), "Union[int, NoneType]");
    EXPECT_EQ(rendered("None | str"), "Union[NoneType, str]");
    EXPECT_EQ(rendered("int | str"), "Union[int, str]");
    EXPECT_EQ(rendered("int | str | None"), "Union[int, str, NoneType]");
    EXPECT_EQ(rendered("Union[int, Union[str, float]]"), "Union[int, str, float]");
    EXPECT_EQ(rendered("Union[int, int]"), "int");
    EXPECT_EQ(rendered("Union[int]"), "int");
    EXPECT_EQ(rendered("Optional[Optional[int]]"), "Union[int, NoneType]");
    EXPECT_EQ(rendered("Optional[Union[int, str]]"), "Union[int, str, NoneType]");
    EXPECT_EQ(rendered("Optional[None]"), "NoneType");
    EXPECT_FALSE(TypeSpec::parse("int | None").pep604);  // DSPy rebuilds `|` with typing.Union
}

TEST(TypeSpec, RendersPep604UnionsAsUnionType) {
    TypeSpec t = TypeSpec::parse("Optional[int]");
    t.pep604 = true;  // an annotation built as `int | None` in Python code
    EXPECT_EQ(t.render(), "UnionType[int, NoneType]");
}

TEST(TypeSpec, NoneArgumentOfBuiltinGenericKeepsPythonSpelling) {
    EXPECT_EQ(rendered("list[None]"), "list[None]");
    EXPECT_EQ(rendered("List[None]"), "list[NoneType]");
    EXPECT_EQ(rendered("dict[str, None]"), "dict[str, None]");
    EXPECT_EQ(schema("list[None]"), R"({"type": "array", "items": {"type": "null"}})");
}

TEST(TypeSpec, ForwardReferenceStringsAreParsed) {
    EXPECT_EQ(rendered("list['int']"), "list[int]");
    EXPECT_EQ(rendered("Optional['list[int]']"), "Union[list[int], NoneType]");
    EXPECT_NE(parse_error("list['Nope']").find("Nope"), std::string::npos);
}

TEST(TypeSpec, LiteralQuotingFollowsDSPy) {
    EXPECT_EQ(rendered("Literal['positive', 'negative']"), "Literal['positive', 'negative']");
    EXPECT_EQ(rendered("Literal[\"a\", 'b']"), "Literal['a', 'b']");
    EXPECT_EQ(rendered("Literal[\"it's\", 'plain']"), "Literal[\"it's\", 'plain']");
    EXPECT_EQ(rendered("Literal['say \"hi\"']"), "Literal['say \"hi\"']");
    EXPECT_EQ(rendered(R"(Literal['both \' and "'])"), R"(Literal['both \' and "'])");
    EXPECT_EQ(rendered("Literal[1, 2, True]"), "Literal[1, 2, True]");
    EXPECT_EQ(rendered("Literal[True, False, None]"), "Literal[True, False, None]");
    EXPECT_EQ(rendered("Literal[1.5, 0x10, 1_000]"), "Literal[1.5, 16, 1000]");
    EXPECT_EQ(rendered("Literal['a' 'b']"), "Literal['ab']");
    EXPECT_EQ(rendered("Literal[r'\\d+']"), "Literal['\\d+']");
    EXPECT_EQ(rendered("Literal['\\x41\\u00e9']"), "Literal['Aé']");
    EXPECT_EQ(rendered("Literal['''tri''']"), "Literal['tri']");
}

TEST(TypeSpec, SignedLiteralsAreAcceptedInAnnotationsButNotInSignatureStrings) {
    EXPECT_EQ(rendered("Literal[-1, 0, +2, -2.5]"), "Literal[-1, 0, 2, -2.5]");
    EXPECT_EQ(schema("Literal[-1]"), R"({"type": "integer", "const": -1})");
    EXPECT_THROW(Signature("a -> b: Literal[-1]"), SignatureError);  // DSPy's _parse_type_node has no UnaryOp case
}

TEST(TypeSpec, LiteralDeduplicatesByValueAndTypeAndFlattens) {
    EXPECT_EQ(rendered("Literal[1, 1, 2]"), "Literal[1, 2]");
    EXPECT_EQ(rendered("Literal[1, True]"), "Literal[1, True]");
    EXPECT_EQ(rendered("Literal['a', 'a']"), "Literal['a']");
    EXPECT_EQ(rendered("Literal[Literal['a'], 'b']"), "Literal['a', 'b']");
    TypeSpec t = TypeSpec::parse("Literal['x', 3, False]");
    ASSERT_EQ(t.literals.size(), 3u);
    EXPECT_EQ(t.literals[0], Json("x"));
    EXPECT_TRUE(t.literals[1].is_number_integer());
    EXPECT_TRUE(t.literals[2].is_boolean());
}

TEST(TypeSpec, AdmitsNone) {
    EXPECT_TRUE(TypeSpec::parse("Optional[int]").admits_none());
    EXPECT_TRUE(TypeSpec::parse("Union[int, None, str]").admits_none());
    EXPECT_TRUE(TypeSpec::parse("None").admits_none());
    EXPECT_TRUE(TypeSpec::parse("Any").admits_none());
    EXPECT_TRUE(TypeSpec::parse("Union[int, Any]").admits_none());
    EXPECT_TRUE(TypeSpec::parse("Literal['a', None]").admits_none());
    EXPECT_FALSE(TypeSpec::parse("int").admits_none());
    EXPECT_FALSE(TypeSpec::parse("Union[int, str]").admits_none());
    EXPECT_FALSE(TypeSpec::parse("list[Optional[int]]").admits_none());
    EXPECT_FALSE(TypeSpec::parse("Literal['a']").admits_none());
}

TEST(TypeSpec, JsonSchemaMatchesPydanticWithTypeFirst) {
    EXPECT_EQ(schema("str"), R"({"type": "string"})");
    EXPECT_EQ(schema("int"), R"({"type": "integer"})");
    EXPECT_EQ(schema("float"), R"({"type": "number"})");
    EXPECT_EQ(schema("bool"), R"({"type": "boolean"})");
    EXPECT_EQ(schema("Any"), R"({})");
    EXPECT_EQ(schema("bytes"), R"({"type": "string", "format": "binary"})");
    EXPECT_EQ(schema("list[str]"), R"({"type": "array", "items": {"type": "string"}})");
    EXPECT_EQ(schema("list"), R"({"type": "array", "items": {}})");
    EXPECT_EQ(schema("set[int]"), R"({"type": "array", "items": {"type": "integer"}, "uniqueItems": true})");
    EXPECT_EQ(schema("Optional[int]"), R"({"anyOf": [{"type": "integer"}, {"type": "null"}]})");
    EXPECT_EQ(schema("Union[None, int, str]"),
              R"({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]})");
    EXPECT_EQ(schema("dict[str, Any]"), R"({"type": "object", "additionalProperties": true})");
    EXPECT_EQ(schema("dict"), R"({"type": "object", "additionalProperties": true})");
    EXPECT_EQ(schema("dict[str, int]"), R"({"type": "object", "additionalProperties": {"type": "integer"}})");
    EXPECT_EQ(schema("dict[Literal['a', 'b'], int]"),
              R"({"type": "object", "additionalProperties": {"type": "integer"}, "propertyNames": {"enum": ["a", "b"]}})");
    EXPECT_EQ(schema("tuple[int, str]"),
              R"({"type": "array", "maxItems": 2, "minItems": 2, "prefixItems": [{"type": "integer"}, {"type": "string"}]})");
    EXPECT_EQ(schema("tuple[int, ...]"), R"({"type": "array", "items": {"type": "integer"}})");
    EXPECT_EQ(schema("tuple[()]"), R"({"type": "array", "maxItems": 0, "minItems": 0})");
    EXPECT_EQ(schema("Literal['a', 'b']"), R"({"type": "string", "enum": ["a", "b"]})");
    EXPECT_EQ(schema("Literal['a']"), R"({"type": "string", "const": "a"})");
    EXPECT_EQ(schema("Literal[1, 2]"), R"({"type": "integer", "enum": [1, 2]})");
    EXPECT_EQ(schema("Literal[True, False]"), R"({"type": "boolean", "enum": [true, false]})");
    EXPECT_EQ(schema("Literal[1, 'a']"), R"({"enum": [1, "a"]})");
    EXPECT_EQ(schema("Literal[1.5, 2]"), R"({"enum": [1.5, 2]})");
    EXPECT_EQ(schema("Optional[list[str]]"),
              R"({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]})");
    EXPECT_EQ(schema("list[dict[str, Any]]"),
              R"({"type": "array", "items": {"type": "object", "additionalProperties": true}})");
    EXPECT_EQ(schema("dspy.History"),
              R"({"type": "object", "additionalProperties": false, "properties": {"messages": {"type": "array", "items": {"type": "object", "additionalProperties": true}, "title": "Messages"}}, "required": ["messages"], "title": "History"})");
}

TEST(TypeSpec, UnknownNamesAreReportedByName) {
    EXPECT_EQ(parse_error("Frobnicator"), "Unknown name: Frobnicator");
    EXPECT_EQ(parse_error("list[Frobnicator]"), "Unknown name: Frobnicator");
    EXPECT_NE(parse_error("typing.Frobnicate").find("Frobnicate"), std::string::npos);
    EXPECT_NE(parse_error("dspy.Image").find("dspy.Image"), std::string::npos);
    EXPECT_NE(parse_error("Sequence[int]").find("Sequence"), std::string::npos);
    EXPECT_NE(parse_error("bytearray").find("bytearray"), std::string::npos);
}

TEST(TypeSpec, MalformedAnnotationsNameTheOffendingPart) {
    EXPECT_NE(parse_error("'str'").find("received: str of type <class 'str'>"), std::string::npos);
    EXPECT_NE(parse_error("1").find("received: 1 of type <class 'int'>"), std::string::npos);
    EXPECT_NE(parse_error("Optional[int, str]").find("Optional must have exactly one type argument"),
              std::string::npos);
    EXPECT_NE(parse_error("list[int, str]").find("'list[int, str]'"), std::string::npos);
    EXPECT_NE(parse_error("Dict[str]").find("'Dict[str]'"), std::string::npos);
    EXPECT_NE(parse_error("int[str]").find("'int' is not subscriptable"), std::string::npos);
    EXPECT_NE(parse_error("list[int][str]").find("'list[int]' is not subscriptable"), std::string::npos);
    EXPECT_NE(parse_error("Optional").find("'Optional' needs type arguments"), std::string::npos);
    EXPECT_NE(parse_error("Literal[~1]").find("'~1'"), std::string::npos);
    EXPECT_NE(parse_error("list[-1]").find("'-1'"), std::string::npos);
    EXPECT_NE(parse_error("Literal[int]").find("'int'"), std::string::npos);
    EXPECT_NE(parse_error("Literal[b'x']").find("b'x'"), std::string::npos);
    EXPECT_NE(parse_error("Union[int, 1]").find("received: 1"), std::string::npos);
    EXPECT_NE(parse_error("tuple[int, ..., str]").find("'...'"), std::string::npos);
    EXPECT_NE(parse_error("Field(gt=0)").find("'Field(gt=0)'"), std::string::npos);
    EXPECT_NE(parse_error("int + str").find("'+'"), std::string::npos);
    EXPECT_NE(parse_error("list[").find("expected ']'"), std::string::npos);
    EXPECT_NE(parse_error("list]").find("']'"), std::string::npos);
    EXPECT_NE(parse_error("Optional[]").find("'[]'"), std::string::npos);
    EXPECT_NE(parse_error("(int, str)").find("'(int, str)'"), std::string::npos);
    EXPECT_NE(parse_error("str.upper").find("upper"), std::string::npos);
    EXPECT_NE(parse_error("List").find("typing.List"), std::string::npos);
    EXPECT_NE(parse_error("Literal[f'x']").find("f-strings"), std::string::npos);
    EXPECT_NE(parse_error("Literal['open").find("unterminated string literal 'open"), std::string::npos);
    EXPECT_NE(parse_error("Literal[99999999999999999999]").find("99999999999999999999"), std::string::npos);
    EXPECT_FALSE(parse_error("").empty());
}

}  // namespace
}  // namespace dspy
