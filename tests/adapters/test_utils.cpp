#include "dspy/adapters/utils.hpp"

#include <gtest/gtest.h>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

Field input(const std::string& name, TypeSpec type = {}) {
    Field f;
    f.name = name;
    f.is_input = true;
    f.type = std::move(type);
    f.desc = "${" + name + "}";
    return f;
}

Field output(const std::string& name, TypeSpec type = {}) {
    Field f = input(name, std::move(type));
    f.is_input = false;
    return f;
}

TypeSpec kind(TypeSpec::Kind k, std::vector<TypeSpec> args = {}) {
    TypeSpec t;
    t.kind = k;
    t.args = std::move(args);
    return t;
}

TEST(FormatFieldValue, ScalarsUsePythonStr) {
    Field f = input("x", kind(TypeSpec::Kind::Any));
    EXPECT_EQ(format_field_value(f, 3.0), "3.0");
    EXPECT_EQ(format_field_value(f, 1e20), "1e+20");
    EXPECT_EQ(format_field_value(f, 1e-7), "1e-07");
    EXPECT_EQ(format_field_value(f, -0.0), "-0.0");
    EXPECT_EQ(format_field_value(f, 5), "5");
    EXPECT_EQ(format_field_value(f, true), "True");
    EXPECT_EQ(format_field_value(f, nullptr), "None");
    EXPECT_EQ(format_field_value(f, "txt"), "txt");
}

TEST(FormatFieldValue, ListsAndDictsAreJson) {
    Field f = input("x", kind(TypeSpec::Kind::List, {TypeSpec::str()}));
    EXPECT_EQ(format_field_value(f, Json::array({"one"})), "[\"one\"]");
    Json d = Json::parse(R"({"k": [1, 2.5, null, true], "é": "a\"b\n\u0001"})");
    EXPECT_EQ(format_field_value(input("y", kind(TypeSpec::Kind::Any)), d),
              "{\"k\": [1, 2.5, null, true], \"é\": \"a\\\"b\\n\\u0001\"}");
}

TEST(FormatFieldValue, ListIntoStrFieldIsNumbered) {
    Field f = input("x");
    EXPECT_EQ(format_field_value(f, Json::array()), "N/A");
    EXPECT_EQ(format_field_value(f, Json::array({"one"})), "«one»");
    EXPECT_EQ(format_field_value(f, Json::array({"a", "b"})), "[1] «a»\n[2] «b»");
    EXPECT_EQ(format_field_value(f, Json::array({"a\nb", "c«"})), "[1] «««\n    a\n    b\n»»»\n[2] «««\n    c«\n»»»");
    EXPECT_EQ(format_field_value(f, Json::parse(R"([{"a": 1}, ["x", true]])")), "[1] «{'a': 1}»\n[2] «['x', True]»");
}

TEST(FormatFieldValue, NonStringScalarsInStrListRaiseTypeError) {
    Field f = input("items");
    EXPECT_THROW((void)format_field_value(f, Json::array({1, 2})), TypeError);
    EXPECT_THROW((void)format_field_value(f, Json::array({"a", nullptr})), TypeError);
    EXPECT_THROW((void)format_field_value(f, Json::array({true})), TypeError);
    try {
        (void)format_field_value(f, Json::array({"a", 2.5}));
        FAIL();
    } catch (const TypeError& e) {
        EXPECT_NE(std::string(e.what()).find("`items`"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("item 2"), std::string::npos) << e.what();
    }
}

TEST(FormatFieldValue, ToolMetadataRendersAsStrOfTool) {
    TypeSpec tool;
    tool.kind = TypeSpec::Kind::Other;
    tool.name = "Tool";
    Field f = input("tools", kind(TypeSpec::Kind::List, {tool}));
    Json meta = {{"name", "search"}, {"desc", "Find."}, {"args", {{"q", {{"type", "string"}}}}}};
    EXPECT_EQ(format_field_value(f, Json::array({meta})),
              "[\"search, whose description is <desc>Find.</desc>. It takes arguments {'q': {'type': 'string'}}.\"]");
}

TEST(TranslateFieldType, NotesPerType) {
    EXPECT_EQ(translate_field_type(input("q", kind(TypeSpec::Kind::Int))), "{q}");
    EXPECT_EQ(translate_field_type(output("a")), "{a}");
    EXPECT_EQ(translate_field_type(output("b", kind(TypeSpec::Kind::Bool))),
              "{b}        # note: the value you produce must be True or False");
    EXPECT_EQ(translate_field_type(output("n", kind(TypeSpec::Kind::Int))),
              "{n}        # note: the value you produce must be a single int value");
    EXPECT_EQ(translate_field_type(output("f", kind(TypeSpec::Kind::Float))),
              "{f}        # note: the value you produce must be a single float value");
    TypeSpec lit;
    lit.kind = TypeSpec::Kind::Literal;
    lit.literals = {"pos", 1, true};
    EXPECT_EQ(translate_field_type(output("l", lit)),
              "{l}        # note: the value you produce must exactly match (no extra characters) one of: pos; 1; True");
    EXPECT_EQ(translate_field_type(output("xs", kind(TypeSpec::Kind::List, {TypeSpec::str()}))),
              "{xs}        # note: the value you produce must adhere to the JSON schema: "
              "{\"type\": \"array\", \"items\": {\"type\": \"string\"}}");
}

}  // namespace
}  // namespace dspy
