#include "dspy/adapters/types/tool.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

Tool make_search() {
    return Tool([](const Json& kw) -> Json { return kw.at("query").get<std::string>() + "/" + kw.value("k", Json(3)).dump(); },
                {.name = "search",
                 .desc = "Search the web\nfor stuff.",
                 .args = Json::parse(R"({"query": {"type": "string"}, "k": {"type": "integer", "default": 3}})"),
                 .arg_types = {{"query", TypeSpec::str()}, {"k", [] {
                                                                TypeSpec t;
                                                                t.kind = TypeSpec::Kind::Int;
                                                                return t;
                                                            }()}}});
}

TEST(Tool, StrMatchesDspy) {
    EXPECT_EQ(make_search().str(),
              "search, whose description is <desc>Search the web  for stuff.</desc>. It takes arguments "
              "{'query': {'type': 'string'}, 'k': {'type': 'integer', 'default': 3}}.");
    Tool plain({}, {.name = "boom", .args = Json::parse(R"({"x": {"type": "integer"}, "flag": {"type": "boolean", "default": false}, "cc": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}})")});
    EXPECT_EQ(plain.str(),
              "boom. It takes arguments {'x': {'type': 'integer'}, 'flag': {'type': 'boolean', 'default': False}, "
              "'cc': {'anyOf': [{'type': 'string'}, {'type': 'null'}], 'default': None}}.");
    Tool empty_desc({}, {.name = "e", .desc = ""});
    EXPECT_EQ(empty_desc.str(), "e. It takes arguments {}.");
}

TEST(Tool, Repr) {
    Tool t({}, {.name = "f", .args = Json::parse(R"({"x": {}})")});
    EXPECT_EQ(t.repr(), "Tool(name=f, desc=None, args={'x': {}})");
}

TEST(Tool, LitellmFunctionCallExcludesDefaultedArgsFromRequired) {
    Json call = make_search().format_as_litellm_function_call();
    EXPECT_EQ(call.dump(),
              R"({"type":"function","function":{"name":"search","description":"Search the web\nfor stuff.","parameters":{"type":"object","properties":{"query":{"type":"string"},"k":{"type":"integer","default":3}},"required":["query"]}}})");
    Tool nodesc({}, {.name = "n"});
    EXPECT_TRUE(nodesc.format_as_litellm_function_call()["function"]["description"].is_null());
}

TEST(Tool, CallsWithValidatedArgs) {
    Tool t = make_search();
    EXPECT_EQ(t({{"query", "cats"}}), "cats/3");
    EXPECT_EQ(t({{"query", "cats"}, {"k", 5}}), "cats/5");
    // An integral float is a JSON-schema integer and pydantic turns it into an int.
    EXPECT_EQ(t({{"query", "cats"}, {"k", 2.0}}), "cats/2");
}

TEST(Tool, RejectsUnknownMissingAndInvalidArgs) {
    Tool t = make_search();
    try {
        (void)t({{"query", "x"}, {"limit", 1}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg limit is not in the tool's args.");
    }
    try {
        (void)t({{"k", 1}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_NE(std::string(e.what()).find("Arg query is required"), std::string::npos) << e.what();
    }
    try {
        (void)t({{"query", "x"}, {"k", "5"}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg k is invalid: '5' is not of type 'integer'");
    }
    EXPECT_THROW((void)t(Json::array({1})), ToolError);
}

TEST(Tool, SchemaKeywords) {
    Tool t({}, {.name = "t",
                .args = Json::parse(R"({"xs": {"items": {"type": "integer"}, "type": "array"},
                                        "o": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null},
                                        "m": {"enum": ["a", "b"], "type": "string", "default": "a"}})")});
    EXPECT_NO_THROW((void)t.validate_and_parse_args({{"xs", {1, 2}}, {"o", nullptr}}));
    try {
        (void)t.validate_and_parse_args({{"xs", {1, "2"}}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg xs is invalid: '2' is not of type 'integer'");
    }
    try {
        (void)t.validate_and_parse_args({{"xs", Json::array()}, {"o", 3}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg o is invalid: 3 is not valid under any of the given schemas");
    }
    try {
        (void)t.validate_and_parse_args({{"xs", Json::array()}, {"m", "c"}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg m is invalid: 'c' is not one of ['a', 'b']");
    }
}

TEST(Tool, KwargsToolsPassUnknownArgsThrough) {
    Tool t([](const Json& kw) { return kw; }, {.name = "kw", .args = Json::parse(R"({"a": {}})"), .has_kwargs = true});
    EXPECT_EQ(t({{"a", 1}, {"extra", 2}}), (Json{{"a", 1}, {"extra", 2}}));
}

TEST(Tool, MetadataRoundTripAndNoFunction) {
    Tool t = Tool::from_json(Json::parse(R"({"name": "lookup", "desc": null, "args": {"entity": {}}})"));
    EXPECT_FALSE(t.desc().has_value());
    EXPECT_FALSE(t.has_function());
    EXPECT_EQ(t.str(), "lookup. It takes arguments {'entity': {}}.");
    EXPECT_EQ(t.to_json(), Json::parse(R"({"name": "lookup", "desc": null, "args": {"entity": {}}})"));
    EXPECT_THROW((void)t({{"entity", "x"}}), ToolError);
}

TEST(Tool, BadConstructionIsAValueError) {
    EXPECT_THROW(Tool({}, {.name = ""}), ValueError);
    EXPECT_THROW(Tool({}, {.name = "x", .args = Json::array({"a"})}), ValueError);
    EXPECT_THROW(Tool({}, {.name = "x", .args = Json{{"a", 1}}}), ValueError);
    EXPECT_THROW(Tool::from_json(Json{{"desc", "no name"}}), ValueError);
}

}  // namespace
}  // namespace dspy
