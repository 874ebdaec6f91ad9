// parse_value / parse_json_value / validate_value / apply_output_field_defaults: DSPy's typed parsing with
// pydantic's lax rules; expectations recorded from DSPy 3.3.1 with pydantic 2.13.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "dspy/adapters/utils.hpp"
#include "dspy/signatures/signature.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

std::string parsed(std::string_view text, std::string_view type) {
    return parse_value(text, TypeSpec::parse(type)).dump();
}
std::string validated(const Json& v, std::string_view type) { return validate_value(v, TypeSpec::parse(type)).dump(); }
std::string error_of(std::string_view text, std::string_view type) {
    try {
        (void)parse_value(text, TypeSpec::parse(type));
    } catch (const ValueError& e) {
        return e.what();
    }
    return "no error";
}

TEST(ParseValue, StrIsTakenVerbatim) {
    EXPECT_EQ(parsed(" {\"a\": 1} ", "str"), R"(" {\"a\": 1} ")");
    EXPECT_EQ(parsed("None", "str"), R"("None")");
}

TEST(ParseValue, Ints) {
    EXPECT_EQ(parsed("42", "int"), "42");
    EXPECT_EQ(parsed("42.0", "int"), "42");
    EXPECT_EQ(parsed(" 7 ", "int"), "7");
    EXPECT_EQ(parsed("-17", "int"), "-17");
    EXPECT_EQ(parsed("+5", "int"), "5");  // json_repair fails, literal_eval reads it
    EXPECT_THROW(parsed("4.5", "int"), ValueError);
    EXPECT_THROW(parsed("forty-two", "int"), ValueError);
    EXPECT_THROW(parsed("1,000", "int"), ValueError);  // literal_eval makes it the tuple (1, 0)
    EXPECT_THROW(parsed("", "int"), ValueError);
}

TEST(ParseValue, ErrorNamesTheValueAndTheType) {
    std::string m = error_of("forty-two", "int");
    EXPECT_EQ(m.substr(0, m.find('\n')), "1 validation error for int");
    EXPECT_NE(m.find("input_value='forty-two'"), std::string::npos) << m;
    m = error_of("[1, 2]", "list[str]");
    EXPECT_EQ(m.substr(0, m.find('\n')), "2 validation errors for list[str]");
    m = error_of(R"({"a": "many"})", "dict[str, int]");
    EXPECT_EQ(m.substr(0, m.find('\n')), "1 validation error for dict[str,int]");
}

TEST(ParseValue, FloatsAndBools) {
    EXPECT_EQ(parsed("0.75", "float"), "0.75");
    EXPECT_EQ(parsed("3", "float"), "3.0");
    EXPECT_EQ(parsed("1e-3", "float"), "0.001");
    EXPECT_THROW(parsed("high", "float"), ValueError);
    EXPECT_EQ(parsed("True", "bool"), "true");
    EXPECT_EQ(parsed("true", "bool"), "true");
    EXPECT_EQ(parsed("False", "bool"), "false");
    EXPECT_EQ(parsed("yes", "bool"), "true");
    EXPECT_EQ(parsed("no", "bool"), "false");
    EXPECT_EQ(parsed("1", "bool"), "true");
    EXPECT_THROW(parsed("maybe", "bool"), ValueError);
}

TEST(ParseValue, Literals) {
    const char* t = "Literal['positive', 'negative']";
    EXPECT_EQ(parsed("positive", t), R"("positive")");
    EXPECT_EQ(parsed("'negative'", t), R"("negative")");
    EXPECT_EQ(parsed("\"negative\"", t), R"("negative")");
    EXPECT_EQ(parsed(" positive ", t), R"("positive")");
    EXPECT_EQ(parsed("Literal['positive']", t), R"("positive")");
    EXPECT_EQ(error_of("Positive", t), "'Positive' is not one of ('positive', 'negative')");
    EXPECT_EQ(error_of("positive.", t), "'positive.' is not one of ('positive', 'negative')");
    EXPECT_EQ(error_of("1", "Literal[1, 2]"), "'1' is not one of (1, 2)");
}

TEST(ParseValue, Containers) {
    EXPECT_EQ(parsed(R"(["a", "b"])", "list[str]"), R"(["a","b"])");
    EXPECT_EQ(parsed("['a', 'b']", "list[str]"), R"(["a","b"])");
    EXPECT_EQ(parsed(R"([1, "2", 3])", "list[int]"), "[1,2,3]");
    EXPECT_EQ(parsed("[1, 2", "list[int]"), "[1,2]");
    EXPECT_THROW(parsed("a, b, c", "list[str]"), ValueError);
    EXPECT_THROW(parsed("[1, 2]", "list[str]"), ValueError);  // no int -> str in lax mode
    EXPECT_EQ(parsed("{'a': 1, 'b': 2}", "dict[str, int]"), R"({"a":1,"b":2})");
    EXPECT_EQ(parsed(R"({"n": 1, "f": 2.5, "z": null})", "dict[str, Any]"), R"({"n":1,"f":2.5,"z":null})");
    EXPECT_EQ(parsed(R"([1, "a"])", "tuple[int, str]"), R"([1,"a"])");
    EXPECT_THROW(parsed(R"([1, "a", 3])", "tuple[int, str]"), ValueError);
    EXPECT_EQ(parsed("[1, 1, 2]", "set[int]"), "[1,2]");
}

TEST(ParseValue, OptionalAndUnion) {
    EXPECT_EQ(parsed("None", "Optional[int]"), "null");
    EXPECT_EQ(parsed("null", "Optional[int]"), "null");
    EXPECT_EQ(parsed("", "Optional[str]"), R"("")");
    EXPECT_EQ(parsed("None", "Optional[str]"), R"("None")");
    EXPECT_EQ(parsed("12", "Union[int, str]"), "12");
    EXPECT_EQ(parsed("hello", "Union[int, str]"), R"("hello")");
    EXPECT_EQ(parsed("3", "int | float"), "3");
    EXPECT_EQ(parsed("3.5", "int | float"), "3.5");
}

TEST(ValidateValue, PydanticLaxRules) {
    EXPECT_EQ(validated(3.0, "int"), "3");
    EXPECT_THROW(validated(3.5, "int"), ValueError);
    EXPECT_EQ(validated(true, "int"), "1");
    EXPECT_EQ(validated("1_000", "int"), "1000");
    EXPECT_THROW(validated("42.", "int"), ValueError);
    EXPECT_TRUE(std::isinf(validate_value("inf", TypeSpec::parse("float")).get<double>()));
    EXPECT_EQ(validated(2, "float"), "2.0");
    EXPECT_EQ(validated("YES", "bool"), "true");
    EXPECT_THROW(validated(" yes", "bool"), ValueError);
    EXPECT_THROW(validated(2, "bool"), ValueError);
    EXPECT_THROW(validated(5, "str"), ValueError);
    EXPECT_EQ(validated(1.0, "Literal[1, 2]"), "1");
    EXPECT_THROW(validated("1", "Literal[1, 2]"), ValueError);
    EXPECT_EQ(validated(3.0, "Union[int, float]"), "3.0");  // smart union: the exact type wins
    EXPECT_EQ(validated(3, "Union[float, int]"), "3");
    EXPECT_EQ(validated(true, "Union[int, bool]"), "true");
    EXPECT_THROW(validated(nullptr, "Union[int, str]"), ValueError);
    EXPECT_EQ(validated(nullptr, "Any"), "null");
}

TEST(ParseJsonValue, JsonAdapterPath) {
    auto p = [](const Json& v, std::string_view t) { return parse_json_value(v, TypeSpec::parse(t)).dump(); };
    EXPECT_EQ(p(Json::parse(R"({"city": "Paris"})"), "str"), R"("{'city': 'Paris'}")");  // Python str()
    EXPECT_EQ(p(nullptr, "str"), R"("None")");
    EXPECT_EQ(p(0.9, "str"), R"("0.9")");
    EXPECT_EQ(p("0.7", "float"), "0.7");
    EXPECT_EQ(p(R"(["a", "b"])", "list[str]"), R"(["a","b"])");
    EXPECT_EQ(p(1.0, "Literal[1, 2]"), "1.0");  // `value in allowed` returns the value itself
    EXPECT_THROW(p(3, "Literal[1, 2]"), ValueError);
    EXPECT_THROW(p(3.5, "int"), ValueError);
}

TEST(ApplyOutputFieldDefaults, FillsNoneForOptionalFieldsOnly) {
    Signature sig("question -> answer, extra: Optional[int], score: float");
    Json out = apply_output_field_defaults(sig, Json::parse(R"({"score": 1.0, "answer": "a"})"));
    EXPECT_EQ(out.dump(), R"({"answer":"a","extra":null,"score":1.0})");  // signature order
    out = apply_output_field_defaults(sig, Json::parse(R"({"answer": "a"})"));
    EXPECT_EQ(out.dump(), R"({"answer":"a","extra":null})");  // score stays missing
}

}  // namespace
}  // namespace dspy
