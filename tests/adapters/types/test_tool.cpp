#include "dspy/adapters/types/tool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <optional>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
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
    // DSPy only runs jsonschema when the argument's schema has a top-level "type" (an Optional's anyOf has none).
    EXPECT_NO_THROW((void)t.validate_and_parse_args({{"xs", Json::array()}, {"o", 3}}));
    Tool typed({}, {.name = "u", .args = Json::parse(R"({"v": {"type": ["string", "null"], "anyOf": [{"type": "string"}, {"type": "null"}]}})")});
    try {
        (void)typed.validate_and_parse_args({{"v", 3}});
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg v is invalid: 3 is not of type 'string', 'null'");
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

// ---- tools built from typed C++ callables -------------------------------------------------------------------

using namespace std::chrono_literals;

int add(int x, int y) { return x + y; }

Task<std::string> async_dummy_function(int x, std::string y) {
    co_await sleep(1ms);
    co_return y + " " + std::to_string(x);
}

Task<int> async_tool(int x) {
    co_await sleep(1ms);
    co_return x * 2;
}

Tool make_async_dummy() {
    return Tool(async_dummy_function, {.name = "async_dummy_function",
                                       .desc = "An async dummy function for testing.",
                                       .args = {"x", "y"},
                                       .arg_defaults = {{"y", "hello"}}});
}

TEST(Tool, StrOfAToolBuiltFromAFunction) {  // test_tool_str
    Tool tool(add, {.name = "add", .desc = "Add two integers.", .args = {"x", "y"}, .arg_defaults = {{"y", 0}}});
    EXPECT_EQ(tool.str(),
              "add, whose description is <desc>Add two integers.</desc>. It takes arguments {'x': {'type': "
              "'integer'}, 'y': {'type': 'integer', 'default': 0}}.");
    EXPECT_FALSE(tool.is_async());
    EXPECT_EQ(tool("x", 2), 2);
    EXPECT_EQ(tool("x", 2, "y", 3), 5);
    EXPECT_EQ(tool.format_as_litellm_function_call().dump(),
              R"({"type":"function","function":{"name":"add","description":"Add two integers.","parameters":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer","default":0}},"required":["x"]}}})");
}

TEST(Tool, SchemasFollowTheParameterTypes) {
    auto f = [](long a, double b, bool c, const std::string& d, std::string_view e, std::vector<int> f,
                const std::map<std::string, std::vector<double>>& g, std::optional<std::string> h, Json i,
                std::map<std::string, Json> j) -> Json {
        Json out = Json::array();
        out.push_back(a);
        out.push_back(b);
        out.push_back(c);
        out.push_back(d);
        out.push_back(std::string(e));
        out.push_back(f);
        out.push_back(g);
        out.push_back(h ? Json(*h) : Json(nullptr));
        out.push_back(i);
        out.push_back(j);
        return out;
    };
    Tool t(f, {.name = "all", .args = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
               .arg_desc = {{"d", "The d."}}, .arg_defaults = {{"h", nullptr}}});
    EXPECT_EQ(t.args().dump(),
              R"({"a":{"type":"integer"},"b":{"type":"number"},"c":{"type":"boolean"},)"
              R"("d":{"type":"string","description":"The d."},"e":{"type":"string"},)"
              R"("f":{"items":{"type":"integer"},"type":"array"},)"
              R"("g":{"additionalProperties":{"items":{"type":"number"},"type":"array"},"type":"object"},)"
              R"("h":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null},"i":{},"j":{"type":"object"}})");
    Json got = t(Json::parse(R"({"a": 1, "b": 2, "c": true, "d": "dd", "e": "ee", "f": [1, 2.0],
                                 "g": {"k": [0.5]}, "i": {"any": [1]}, "j": {"z": null}})"));
    EXPECT_EQ(got, Json::parse(R"([1, 2.0, true, "dd", "ee", [1, 2], {"k": [0.5]}, null, {"any": [1]}, {"z": null}])"));
}

TEST(Tool, ArgumentsThatDoNotConvertNameTheArgumentAndType) {
    Tool t([](int x) { return x; }, {.name = "narrow", .args = {"x"}});
    try {
        (void)t("x", 3000000000LL);
        FAIL();
    } catch (const ToolError& e) {
        EXPECT_STREQ(e.what(), "Arg x of tool narrow is invalid: expected int, but 3000000000 is out of range for int");
    }
    // An explicit schema that lets anything through still cannot make "abc" an int.
    Tool loose([](int x) { return x; }, {.name = "loose", .args = Json::parse(R"({"x": {}})")});
    try {
        (void)loose("x", "abc");
        FAIL();
    } catch (const ValueError& e) {  // what a DSPy user catches
        EXPECT_STREQ(e.what(), "Arg x of tool loose is invalid: expected int, but 'abc' is not an integer");
    }
    EXPECT_EQ(loose("x", 4.0), 4);
}

TEST(Tool, BadParameterNamesAreAValueError) {
    EXPECT_THROW(Tool(add, {.name = "add", .args = {"x"}}), ValueError);
    EXPECT_THROW(Tool(add, {.name = "add"}), ValueError);
    EXPECT_THROW(Tool(add, {.name = "add", .args = {"x", "x"}}), ValueError);
    EXPECT_THROW(Tool(add, {.name = "", .args = {"x", "y"}}), ValueError);
    EXPECT_THROW(Tool(add, {.name = "add", .args = {"x", "y"}, .arg_defaults = {{"z", 1}}}), ValueError);
    try {
        Tool bad(add, {.name = "add", .args = {"x"}});
        FAIL();
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("takes 2 parameter(s) but ToolOptions::args names 1"), std::string::npos)
            << e.what();
    }
}

TEST(Tool, AsyncToolFromFunction) {  // test_async_tool_from_function
    Tool tool = make_async_dummy();
    EXPECT_EQ(tool.name(), "async_dummy_function");
    EXPECT_NE(tool.desc()->find("An async dummy function for testing"), std::string::npos);
    EXPECT_TRUE(tool.is_async());
    EXPECT_EQ(tool.args()["x"]["type"], "integer");
    EXPECT_EQ(tool.args()["y"]["type"], "string");
    EXPECT_EQ(tool.args()["y"]["default"], "hello");
    EXPECT_EQ(run(tool.acall("x", 42, "y", "hello")), "hello 42");
    EXPECT_EQ(run(tool.acall("x", 42)), "hello 42");  // the default fills the missing argument
}

TEST(Tool, AsyncToolInvalidCallFailsWhenAwaited) {  // test_async_tool_invalid_call
    Tool tool = make_async_dummy();
    Task<Json> call = tool.acall("x", "not an integer", "y", "hello");
    try {
        (void)run(std::move(call));
        FAIL();
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "Arg x is invalid: 'not an integer' is not of type 'integer'");
    }
}

TEST(Tool, AsyncToolWithKwargs) {  // test_async_tool_with_kwargs
    Tool tool([](const Json& kw) -> Task<Json> {
        co_await sleep(1ms);
        Json rest = kw;
        rest.erase("x");
        co_return rest;
    }, {.name = "fn", .args = Json::parse(R"({"x": {"type": "integer"}})"), .has_kwargs = true});
    EXPECT_TRUE(tool.is_async());
    EXPECT_EQ(run(tool.acall("x", 1, "y", 2, "z", 3)), (Json{{"y", 2}, {"z", 3}}));
}

TEST(Tool, SyncToolRunsInlineInAcall) {
    Tool tool(add, {.name = "add", .args = {"x", "y"}});
    EXPECT_EQ(run(tool.acall("x", 1, "y", 2)), 3);
}

TEST(Tool, ConcurrentAsyncCallsOverlap) {  // test_async_concurrent_calls, without a timing assert
    auto running = std::make_shared<std::atomic<int>>(0);
    auto peak = std::make_shared<std::atomic<int>>(0);
    auto slow = [running, peak](int x, std::string y) -> Task<std::string> {
        int now = ++*running;
        int seen = peak->load();
        while (now > seen && !peak->compare_exchange_weak(seen, now)) {
        }
        co_await sleep(100ms);
        --*running;
        co_return y + " " + std::to_string(x);
    };
    Tool tool(slow, {.name = "slow", .args = {"x", "y"}});
    auto gather = [&]() -> Task<std::vector<Json>> {
        std::vector<Task<Json>> calls;
        for (int i = 0; i < 5; ++i) calls.push_back(tool.acall("x", i, "y", "hello" + std::to_string(i)));
        co_return co_await when_all(std::move(calls));
    };
    std::vector<Json> results = run(gather());
    ASSERT_EQ(results.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(results[i], "hello" + std::to_string(i) + " " + std::to_string(i));
    EXPECT_EQ(peak->load(), 5);  // all five were sleeping at once
}

constexpr const char* kAsyncSyncError =
    "You are calling `__call__` on an async tool, please use `acall` instead or enable async-to-sync conversion with "
    "`dspy.configure(allow_tool_async_sync_conversion=True)` or `with dspy.context(allow_tool_async_sync_conversion="
    "True):`.";

TEST(Tool, AsyncToolCalledSynchronously) {  // test_async_tool_call_in_sync_mode
    Tool tool(async_tool, {.name = "async_tool", .desc = "An async tool that doubles a number.", .args = {"x"}});
    {
        auto scope = context({.allow_tool_async_sync_conversion = false});
        try {
            (void)tool("x", 5);
            FAIL();
        } catch (const ValueError& e) {
            EXPECT_STREQ(e.what(), kAsyncSyncError);
        }
        EXPECT_THROW((void)tool("x", 5), ToolError);
    }
    {
        auto scope = context({.allow_tool_async_sync_conversion = true});
        EXPECT_EQ(tool("x", 5), 10);
        EXPECT_EQ(tool(Json{{"x", 1}}), 2);
        // Bad arguments are reported before anything runs.
        EXPECT_THROW((void)tool("x", "five"), ToolError);
    }
}

TEST(Tool, AsyncToSyncConversionViaConfigure) {
    detail::reset_settings_for_testing();
    configure({.allow_tool_async_sync_conversion = true});
    Tool tool(async_tool, {.name = "async_tool", .args = {"x"}});
    EXPECT_EQ(tool("x", 5), 10);
    detail::reset_settings_for_testing();
    EXPECT_THROW((void)tool("x", 5), ToolError);
}

TEST(Tool, AsyncToSyncConversionInsideARunningTaskDoesNotHang) {
    Tool tool(async_tool, {.name = "async_tool", .args = {"x"}});
    auto inside = [&]() -> Task<Json> {
        auto scope = context({.allow_tool_async_sync_conversion = true});
        co_await sleep(1ms);
        // A sync call from a coroutine: the tool runs on a thread of its own while this loop waits; the flag set
        // in this task's context goes along.
        co_return tool("x", 21);
    };
    EXPECT_EQ(run(inside()), 42);
    auto refused = [&]() -> Task<Json> { co_return tool("x", 21); };
    EXPECT_THROW((void)run(refused()), ToolError);
}

class RecordingCallback : public BaseCallback {
public:
    void on_tool_start(const std::string& id, const Tool& instance, const Json& inputs) override {
        events.push_back("start " + instance.name() + " " + inputs.dump());
        ids.push_back(id);
    }
    void on_tool_end(const std::string& id, const Json* outputs, std::exception_ptr e) override {
        events.push_back(std::string("end ") + (outputs ? outputs->dump() : "null") + (e ? " error" : ""));
        ids.push_back(id);
    }
    std::vector<std::string> events, ids;
};

TEST(Tool, CallbacksWrapSyncAndAsyncCalls) {
    auto cb = std::make_shared<RecordingCallback>();
    auto scope = context({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{cb}});
    Tool tool(async_tool, {.name = "async_tool", .args = {"x"}});
    EXPECT_EQ(run(tool.acall("x", 2)), 4);
    EXPECT_THROW((void)tool("x", 2), ToolError);
    Tool sync(add, {.name = "add", .args = {"x", "y"}});
    EXPECT_EQ(sync("x", 1, "y", 1), 2);
    EXPECT_EQ(cb->events, (std::vector<std::string>{R"(start async_tool {"kwargs":{"x":2}})", "end 4",
                                                     R"(start async_tool {"kwargs":{"x":2}})", "end null error",
                                                     R"(start add {"kwargs":{"x":1,"y":1}})", "end 2"}));
    ASSERT_EQ(cb->ids.size(), 6u);
    EXPECT_EQ(cb->ids[0], cb->ids[1]);
    EXPECT_NE(cb->ids[0], cb->ids[2]);
}

TEST(Tool, ToolsStayCopyable) {
    Tool a(async_tool, {.name = "async_tool", .args = {"x"}});
    Tool b = a;
    Tool c = std::move(a);
    EXPECT_EQ(run(b.acall("x", 3)), 6);
    EXPECT_EQ(run(c.acall("x", 4)), 8);
}

}  // namespace
}  // namespace dspy
