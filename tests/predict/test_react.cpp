#include "dspy/predict/react.hpp"

#include <gtest/gtest.h>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"

namespace dspy {
namespace {

Tool add_tool() {
    return Tool([](const Json& kw) -> Json { return kw.at("a").get<int64_t>() + kw.at("b").get<int64_t>(); },
                {.name = "add",
                 .desc = "Add two numbers.",
                 .args = Json::parse(R"({"a": {"type": "integer"}, "b": {"type": "integer"}})")});
}

Tool failing_tool() {
    return Tool([](const Json&) -> Json { throw ValueError("tool blew up"); },
                {.name = "failing_tool", .desc = "Always fails.", .args = Json::object()});
}

TEST(ReAct, BuildsDspysSignatures) {
    ReAct react(Signature("question -> answer"), {add_tool()});
    const Signature& step = react.react().signature();
    EXPECT_EQ(step.signature_string(), "question, trajectory -> next_thought, next_tool_name, next_tool_args");
    EXPECT_EQ(step.instructions(),
              "Given the fields `question`, produce the fields `answer`.\n\n"
              "You are an Agent. In each episode, you will be given the fields `question` as input. And you can see your "
              "past trajectory so far.\nYour goal is to use one or more of the supplied tools to collect any necessary "
              "information for producing `answer`.\n\nTo do this, you will interleave next_thought, next_tool_name, and "
              "next_tool_args in each turn, and also when finishing the task.\nAfter each tool call, you receive a "
              "resulting observation, which gets appended to your trajectory.\n\nWhen writing next_thought, you may "
              "reason about the current situation and plan for future steps.\nWhen selecting the next_tool_name and its "
              "next_tool_args, the tool must be one of:\n\n(1) add, whose description is <desc>Add two numbers.</desc>. "
              "It takes arguments {'a': {'type': 'integer'}, 'b': {'type': 'integer'}}.\n(2) finish, whose description "
              "is <desc>Marks the task as complete. That is, signals that all information for producing the outputs, "
              "i.e. `answer`, are now available to be extracted.</desc>. It takes arguments {}.\nWhen providing "
              "`next_tool_args`, the value inside the field must be in JSON format");
    EXPECT_EQ(step.field("next_tool_name")->type.render(), "Literal['add', 'finish']");
    EXPECT_EQ(step.field("next_tool_args")->type.render(), "dict[str, Any]");
    const Signature& extract = react.extract().predict().signature();
    EXPECT_EQ(extract.signature_string(), "question, trajectory -> reasoning, answer");
    EXPECT_EQ(extract.instructions(), "Given the fields `question`, produce the fields `answer`.");
    auto preds = react.named_predictors();
    ASSERT_EQ(preds.size(), 2u);
    EXPECT_EQ(preds[0].first, "react");
    EXPECT_EQ(preds[1].first, "extract.predict");
}

TEST(ReAct, ToolsAreKeyedByNameWithFinishLast) {
    Tool second = add_tool();
    ReAct react(Signature("q -> a"), {add_tool(), failing_tool(), second});
    ASSERT_EQ(react.tools().size(), 3u);
    EXPECT_EQ(react.tools()[0].name(), "add");
    EXPECT_EQ(react.tools()[1].name(), "failing_tool");
    EXPECT_EQ(react.tools()[2].name(), "finish");
    EXPECT_EQ(react.tool("finish")->str().rfind("finish, whose description is <desc>Marks the task", 0), 0u);
    EXPECT_EQ(react.tool("nope"), nullptr);
    EXPECT_EQ(react.max_iters(), 20);
}

TEST(ReAct, FormatsTrajectories) {
    ReAct react(Signature("q -> a"), {});
    EXPECT_EQ(react.format_trajectory(Json::object()), "");
    Json t = Json::parse(R"({"thought_0": "go", "tool_name_0": "search", "tool_args_0": {"q": "x", "k": 2},
                            "observation_0": ["p1", "p2"]})");
    EXPECT_EQ(react.format_trajectory(t),
              "[[ ## thought_0 ## ]]\ngo\n\n[[ ## tool_name_0 ## ]]\nsearch\n\n[[ ## tool_args_0 ## ]]\n"
              "{\"q\": \"x\", \"k\": 2}\n\n[[ ## observation_0 ## ]]\n[1] «p1»\n[2] «p2»");
    EXPECT_THROW((void)react.format_trajectory(Json{{"observation_0", {1, 2}}}), TypeError);
}

TEST(ReAct, TruncationDropsTheOldestCall) {
    ReAct react(Signature("q -> a"), {});
    Json t = Json::parse(R"({"thought_0": 0, "tool_name_0": 0, "tool_args_0": 0, "observation_0": 0, "thought_1": 1})");
    react.truncate_trajectory(t);
    EXPECT_EQ(t, Json::parse(R"({"thought_1": 1})"));
    EXPECT_THROW(react.truncate_trajectory(t), ContextWindowExceededError);
}

TEST(ReAct, RunsToolsUntilFinishThenExtracts) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{
        {{"next_thought", "add them"}, {"next_tool_name", "add"}, {"next_tool_args", {{"a", 1}, {"b", 2}}}},
        {{"next_thought", "done"}, {"next_tool_name", "finish"}, {"next_tool_args", Json::object()}},
        {{"reasoning", "1+2=3"}, {"answer", "3"}},
    });
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {add_tool()});
    Prediction p = react(Json{{"question", "1+2?"}});
    EXPECT_EQ(p.at("answer"), "3");
    EXPECT_EQ(p.at("reasoning"), "1+2=3");
    EXPECT_EQ(p.at("trajectory"), Json::parse(R"({"thought_0": "add them", "tool_name_0": "add",
        "tool_args_0": {"a": 1, "b": 2}, "observation_0": 3, "thought_1": "done", "tool_name_1": "finish",
        "tool_args_1": {}, "observation_1": "Completed."})"));
    EXPECT_EQ(p.keys().front(), "trajectory");
    // The extract call saw the whole trajectory.
    auto history = lm->history();
    ASSERT_EQ(history.size(), 3u);
    std::string last_user = history[2]["messages"].back()["content"];
    EXPECT_NE(last_user.find("[[ ## observation_0 ## ]]\n3\n\n[[ ## thought_1 ## ]]"), std::string::npos) << last_user;
}

TEST(ReAct, ToolErrorsBecomeObservationsAndMaxItersStops) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{
        {{"next_thought", "try"}, {"next_tool_name", "failing_tool"}, {"next_tool_args", Json::object()}},
        {{"next_thought", "bad args"}, {"next_tool_name", "add"}, {"next_tool_args", {{"a", 1}, {"c", 2}}}},
        {{"reasoning", "gave up"}, {"answer", "unknown"}},
    });
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {add_tool(), failing_tool()});
    Prediction p = react(Json{{"question", "?"}, {"max_iters", 2}});
    const Json& t = p.at("trajectory");
    EXPECT_EQ(t.at("observation_0"), "Execution error in failing_tool: \nValueError: tool blew up");
    EXPECT_EQ(t.at("observation_1"), "Execution error in add: \nValueError: Arg c is not in the tool's args.");
    EXPECT_FALSE(t.contains("thought_2"));
    EXPECT_EQ(p.at("answer"), "unknown");
}

// Raises ContextWindowExceededError for the step predictor, answers the extract call.
class NarrowLM : public BaseLM {
public:
    NarrowLM() : BaseLM("narrow") {}
    LMResponse forward(const Messages& messages, const Json&) override {
        ++calls;
        if (messages.back().content.find("next_thought") != std::string::npos)
            throw ContextWindowExceededError("too long");
        return {{LMOutput{"[[ ## reasoning ## ]]\nr\n\n[[ ## answer ## ]]\nfrom extract", Json::object()}}};
    }
    int calls = 0;
};

TEST(ReAct, ContextWindowOverflowEndsTheLoopAndStillExtracts) {
    auto lm = std::make_shared<NarrowLM>();
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {add_tool()});
    Prediction p = react(Json{{"question", "?"}});
    EXPECT_EQ(p.at("trajectory"), Json::object());
    EXPECT_EQ(p.at("answer"), "from extract");
    EXPECT_EQ(lm->calls, 2);  // one step attempt (its truncation fails at once), one extract
}

// ---- aforward: the same loop with acall --------------------------------------------------------------------

Task<std::string> async_lookup(std::string city, int year) {
    co_await sleep(std::chrono::milliseconds(1));
    co_return city + " had 3 mayors in " + std::to_string(year);
}

Tool lookup_tool() {
    return Tool(async_lookup, {.name = "lookup", .desc = "Look up a city's history.", .args = {"city", "year"}});
}

std::vector<Json> lookup_script() {
    return {
        {{"next_thought", "look it up"}, {"next_tool_name", "lookup"}, {"next_tool_args", {{"city", "Paris"}, {"year", 1900}}}},
        {{"next_thought", "done"}, {"next_tool_name", "finish"}, {"next_tool_args", Json::object()}},
        {{"reasoning", "the tool said so"}, {"answer", "3"}},
    };
}

TEST(ReAct, AcallRunsAsyncTools) {  // test_async_tool_calling_with_pydantic_args, with typed C++ args
    auto lm = std::make_shared<DummyLM>(lookup_script());
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {lookup_tool()});
    Prediction p = run(react.acall("question", "How many mayors did Paris have in 1900?"));
    EXPECT_EQ(p.at("trajectory"), Json::parse(R"({"thought_0": "look it up", "tool_name_0": "lookup",
        "tool_args_0": {"city": "Paris", "year": 1900}, "observation_0": "Paris had 3 mayors in 1900",
        "thought_1": "done", "tool_name_1": "finish", "tool_args_1": {}, "observation_1": "Completed."})"));
    EXPECT_EQ(p.at("answer"), "3");
    EXPECT_EQ(p.at("reasoning"), "the tool said so");
}

TEST(ReAct, ForwardRecordsAnAsyncToolCalledSynchronouslyAsAnError) {
    auto lm = std::make_shared<DummyLM>(lookup_script());
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {lookup_tool()});
    Prediction p = react("question", "?");
    std::string obs = p.at("trajectory").at("observation_0");
    EXPECT_EQ(obs.rfind("Execution error in lookup: \nValueError: You are calling `__call__` on an async tool", 0), 0u)
        << obs;
}

TEST(ReAct, SyncAndAsyncBuildIdenticalRequests) {
    auto sync_lm = std::make_shared<DummyLM>(lookup_script());
    auto async_lm = std::make_shared<DummyLM>(lookup_script());
    ReAct react(Signature("question -> answer"), {lookup_tool(), add_tool()});
    Prediction sync_p, async_p;
    {
        auto scope = context({.lm = sync_lm, .allow_tool_async_sync_conversion = true});
        sync_p = react("question", "How many mayors?");
    }
    {
        auto scope = context({.lm = async_lm});
        async_p = run(react.acall("question", "How many mayors?"));
    }
    EXPECT_EQ(sync_p.data(), async_p.data());
    auto sh = sync_lm->history(), ah = async_lm->history();
    ASSERT_EQ(sh.size(), 3u);
    ASSERT_EQ(ah.size(), 3u);
    for (size_t i = 0; i < sh.size(); ++i) EXPECT_EQ(sh[i]["messages"], ah[i]["messages"]) << "call " << i;
    EXPECT_NE(sh[1]["messages"].back()["content"].get<std::string>().find("Paris had 3 mayors in 1900"),
              std::string::npos);
}

TEST(ReAct, AcallAsyncToolErrorsBecomeObservations) {  // test_async_error_retry
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{
        {{"next_thought", "I need to try the tool"}, {"next_tool_name", "foo"}, {"next_tool_args", {{"a", 1}}}},
        {{"next_thought", "I need to try the tool again"}, {"next_tool_name", "foo"}, {"next_tool_args", {{"a", 1}}}},
        {{"reasoning", "gave up"}, {"answer", "unknown"}},
    });
    auto scope = context({.lm = lm});
    Tool foo([](int a) -> Task<int> {
        co_await sleep(std::chrono::milliseconds(1));
        if (a >= 0) throw std::runtime_error("tool error");
        co_return a;
    }, {.name = "foo", .args = {"a"}});
    ReAct react(Signature("question -> answer"), {foo});
    Prediction p = run(react.acall("question", "?", "max_iters", 2));
    const Json& t = p.at("trajectory");
    EXPECT_EQ(t.at("thought_0"), "I need to try the tool");
    EXPECT_EQ(t.at("tool_name_0"), "foo");
    EXPECT_EQ(t.at("tool_args_0"), (Json{{"a", 1}}));
    EXPECT_EQ(t.at("thought_1"), "I need to try the tool again");
    EXPECT_EQ(t.at("tool_name_1"), "foo");
    EXPECT_EQ(t.at("tool_args_1"), (Json{{"a", 1}}));
    EXPECT_EQ(t.at("observation_0"), "Execution error in foo: \nException: tool error");
    EXPECT_EQ(t.at("observation_1"), "Execution error in foo: \nException: tool error");
    EXPECT_EQ(t.size(), 8u);
    EXPECT_EQ(p.at("answer"), "unknown");
}

TEST(ReAct, AcallContextWindowOverflowEndsTheLoopAndStillExtracts) {
    auto lm = std::make_shared<NarrowLM>();
    auto scope = context({.lm = lm});
    ReAct react(Signature("question -> answer"), {add_tool()});
    Prediction p = run(react.acall("question", "?"));
    EXPECT_EQ(p.at("trajectory"), Json::object());
    EXPECT_EQ(p.at("answer"), "from extract");
    EXPECT_EQ(lm->calls, 2);  // one step attempt (its truncation fails at once), one extract
}


// ---- test_react.py twins: truncation ------------------------------------------------------------------------

Tool echo_tool() {
    return Tool([](const Json& kw) -> Json { return "Echoed: " + kw.at("text").get<std::string>(); },
                {.name = "echo", .args = Json::parse(R"({"text": {"type": "string"}})")});
}

// DummyLM that raises ContextWindowExceededError on the listed call numbers (1-based) without using an answer.
class OverflowingLM : public DummyLM {
public:
    OverflowingLM(std::vector<Json> answers, std::vector<int> overflow_on)
        : DummyLM(std::move(answers)), overflow_on_(std::move(overflow_on)) {}
    LMResponse forward(const Messages& m, const Json& kwargs) override {
        int n = ++calls;
        for (int k : overflow_on_)
            if (k == n) throw ContextWindowExceededError("prompt too long");
        return DummyLM::forward(m, kwargs);
    }
    int calls = 0;

private:
    std::vector<int> overflow_on_;
};

std::vector<Json> truncation_script() {
    return {
        {{"next_thought", "Thought 1"}, {"next_tool_name", "echo"}, {"next_tool_args", {{"text", "Text 1"}}}},
        {{"next_thought", "Thought 2"}, {"next_tool_name", "echo"}, {"next_tool_args", {{"text", "Text 2"}}}},
        {{"next_thought", "Final thought"}, {"next_tool_name", "finish"}, {"next_tool_args", Json::object()}},
        {{"reasoning", "r"}, {"output_text", "Final output"}},
    };
}

TEST(ReAct, TrajectoryTruncation) {  // test_trajectory_truncation
    for (bool async : {false, true}) {
        SCOPED_TRACE(async ? "acall" : "call");
        auto lm = std::make_shared<OverflowingLM>(truncation_script(), std::vector<int>{3});
        auto scope = context({.lm = lm});
        ReAct react(Signature("input_text -> output_text"), {echo_tool()});
        test_support::CaptureWarnings warnings;
        Prediction result = async ? run(react.acall("input_text", "test input")) : react("input_text", "test input");
        const Json& t = result.at("trajectory");
        EXPECT_FALSE(t.contains("thought_0"));
        EXPECT_TRUE(t.contains("thought_1"));
        EXPECT_TRUE(t.contains("thought_2"));
        EXPECT_EQ(t.at("observation_1"), "Echoed: Text 2");
        EXPECT_EQ(result.at("output_text"), "Final output");
        EXPECT_EQ(warnings.messages(),
                  std::vector<std::string>{
                      "Trajectory exceeded the context window, truncating the oldest tool call information."});
    }
}

TEST(ReAct, TruncateTrajectoryRaisesOnSingleToolCall) {
    ReAct react(Signature("input_text -> output_text"), {});
    Json trajectory = {{"thought_0", "Thought 0"}, {"tool_name_0", "finish"}, {"tool_args_0", Json::object()},
                       {"observation_0", "Completed."}};
    try {
        react.truncate_trajectory(trajectory);
        FAIL() << "expected ContextWindowExceededError";
    } catch (const ContextWindowExceededError& e) {
        EXPECT_STREQ(e.what(),
                     "The trajectory is too long so your prompt exceeded the context window, but the trajectory "
                     "cannot be truncated because it only has one tool call.");
    }
    EXPECT_EQ(trajectory.size(), 4u);  // untouched
}

class AlwaysExceed : public Module {
public:
    Prediction forward(const Inputs&) override { throw ContextWindowExceededError("always"); }
};

class ExposedReAct : public ReAct {
public:
    using ReAct::ReAct;
    using ReAct::call_with_potential_trajectory_truncation;
};

TEST(ReAct, TruncationExhaustedRaisesContextWindowExceededError) {
    for (bool async : {false, true}) {
        SCOPED_TRACE(async ? "acall" : "call");
        ExposedReAct react(Signature("input_text -> output_text"), {echo_tool()});
        AlwaysExceed always_exceed;
        Json trajectory = Json::object();
        for (int i = 0; i < 4; ++i) {
            const std::string k = std::to_string(i);
            trajectory["thought_" + k] = "Thought " + k;
            trajectory["tool_name_" + k] = "echo";
            trajectory["tool_args_" + k] = {{"text", "Text " + k}};
            trajectory["observation_" + k] = "Echoed: Text " + k;
        }
        test_support::CaptureWarnings quiet;
        const Json input_args = {{"input_text", "test input"}};
        try {
            run(react.call_with_potential_trajectory_truncation(!async, always_exceed, trajectory, input_args));
            FAIL() << "expected ContextWindowExceededError";
        } catch (const ContextWindowExceededError& e) {
            EXPECT_NE(std::string(e.what()).find("even after 3 attempts"), std::string::npos) << e.what();
            try {
                std::rethrow_if_nested(e);
                FAIL() << "the cause is not kept";
            } catch (const ContextWindowExceededError& cause) {
                EXPECT_STREQ(cause.what(), "always");
            }
        }
        EXPECT_EQ(trajectory.size(), 4u);  // three calls dropped
        EXPECT_EQ(quiet.messages().size(), 3u);
    }
}

struct Profile {
    std::string name;
    int age = 0;
};
void from_json(const Json& j, Profile& p) {
    j.at("name").get_to(p.name);
    j.at("age").get_to(p.age);
}

Task<std::string> describe_profile(Profile profile) {
    co_await sleep(std::chrono::milliseconds(1));
    co_return profile.name + " is " + std::to_string(profile.age);
}

TEST(ReAct, AcallAsyncToolWithAStructArgument) {  // test_async_tool_calling_with_pydantic_args
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{
        {{"next_thought", "describe"},
         {"next_tool_name", "describe_profile"},
         {"next_tool_args", {{"profile", {{"name", "Ada"}, {"age", 36}}}}}},
        {{"next_thought", "done"}, {"next_tool_name", "finish"}, {"next_tool_args", Json::object()}},
        {{"reasoning", "the tool said so"}, {"answer", "Ada is 36"}},
    });
    auto scope = context({.lm = lm});
    Tool tool(describe_profile,
              {.name = "describe_profile",
               .desc = "Describe a profile.",
               .args = Json::parse(R"({"profile": {"type": "object", "properties": {"name": {"type": "string"},
                                       "age": {"type": "integer"}}, "required": ["name", "age"]}})")});
    ReAct react(Signature("question -> answer"), {tool});
    Prediction p = run(react.acall("question", "Who is Ada?"));
    EXPECT_EQ(p.at("trajectory"), Json::parse(R"({"thought_0": "describe", "tool_name_0": "describe_profile",
        "tool_args_0": {"profile": {"name": "Ada", "age": 36}}, "observation_0": "Ada is 36",
        "thought_1": "done", "tool_name_1": "finish", "tool_args_1": {}, "observation_1": "Completed."})"));
    EXPECT_EQ(p.at("answer"), "Ada is 36");
}

}  // namespace
}  // namespace dspy
