#include "dspy/adapters/json_adapter.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

// An LM with configurable capabilities; replies come from a function and every call is recorded.
class CapabilityLM : public BaseLM {
public:
    CapabilityLM(std::vector<std::string> params, bool schema,
                 std::function<std::string(const Json& kwargs)> reply)
        : BaseLM("capability"), params_(std::move(params)), schema_(schema), reply_(std::move(reply)) {}
    std::vector<LMOutput> forward(const Messages&, const Json& kwargs) override {
        calls.push_back(kwargs);
        return {LMOutput{reply_(kwargs), Json::object()}};
    }
    std::vector<std::string> supported_params() const override { return params_; }
    bool supports_response_schema() const override { return schema_; }
    std::vector<Json> calls;

private:
    std::vector<std::string> params_;
    bool schema_;
    std::function<std::string(const Json&)> reply_;
};

std::string answer_json(const Json&) { return R"({"answer": "Paris"})"; }

TEST(JSONAdapter, SystemMessageStructure) {
    JSONAdapter adapter;
    Signature sig("question -> answer, score: float");
    EXPECT_EQ(adapter.format_field_structure(sig),
              "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
              "Inputs will have the following structure:\n\n[[ ## question ## ]]\n{question}\n\n"
              "Outputs will be a JSON object with the following fields.\n\n{\n  \"answer\": \"{answer}\",\n  "
              "\"score\": \"{score}        # note: the value you produce must be a single float value\"\n}");
    EXPECT_EQ(adapter.user_message_output_requirements(sig),
              "Respond with a JSON object in the following order of fields: `answer`, then `score` (must be formatted "
              "as a valid Python float).");
}

TEST(JSONAdapter, AssistantMessagesAreIndentedJson) {
    JSONAdapter adapter;
    Signature sig("question -> answer, score: float, tags: list[str]");
    std::string missing = "Not supplied for this particular example. ";
    EXPECT_EQ(adapter.format_assistant_message_content(sig, Json{{"answer", "a"}, {"score", 1.0}}, &missing),
              "{\n  \"answer\": \"a\",\n  \"score\": 1.0,\n  \"tags\": \"Not supplied for this particular example. \"\n}");
    EXPECT_EQ(adapter.format_assistant_message_content(sig, Json{{"tags", Json::array()}}),
              "{\n  \"answer\": null,\n  \"score\": null,\n  \"tags\": []\n}");
    EXPECT_EQ(adapter.format_field_with_value(sig, Json{{"answer", "x"}}), "{\n  \"answer\": \"x\"\n}");
}

TEST(JSONAdapter, NoResponseFormatForAPlainBaseLM) {
    CapabilityLM lm({}, false, answer_json);
    auto out = JSONAdapter()(lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    EXPECT_EQ(out.at(0), (Json{{"answer", "Paris"}}));
    ASSERT_EQ(lm.calls.size(), 1u);
    EXPECT_FALSE(lm.calls[0].contains("response_format"));
}

TEST(JSONAdapter, JsonModeWithoutResponseSchemaSupport) {
    CapabilityLM lm({"response_format"}, false, answer_json);
    (void)JSONAdapter()(lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    ASSERT_EQ(lm.calls.size(), 1u);
    EXPECT_EQ(lm.calls[0]["response_format"], (Json{{"type", "json_object"}}));
}

TEST(JSONAdapter, JsonModeForOpenEndedMappings) {
    CapabilityLM lm({"response_format"}, true, [](const Json&) { return R"({"answer": {"a": 1}})"; });
    (void)JSONAdapter()(lm, Json::object(), Signature("question -> answer: dict[str, int]"), {},
                        Json{{"question", "?"}});
    ASSERT_EQ(lm.calls.size(), 1u);
    EXPECT_EQ(lm.calls[0]["response_format"], (Json{{"type", "json_object"}}));
}

TEST(JSONAdapter, StructuredOutputsWhenSupported) {
    CapabilityLM lm({"response_format"}, true, answer_json);
    (void)JSONAdapter()(lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    ASSERT_EQ(lm.calls.size(), 1u);
    const Json& rf = lm.calls[0]["response_format"];
    EXPECT_EQ(rf["type"], "json_schema");
    EXPECT_EQ(rf["json_schema"]["name"], "DSPyProgramOutputs");
    EXPECT_EQ(rf["json_schema"]["strict"], true);
    EXPECT_EQ(rf["json_schema"]["schema"]["required"], Json::array({"answer"}));
}

TEST(JSONAdapter, StructuredSchemaIsStrict) {
    Json schema = structured_outputs_schema(Signature("q -> reasoning, answer: int, label: Literal['a', 'b']"));
    EXPECT_EQ(schema.dump(),
              R"({"additionalProperties":false,"properties":{"reasoning":{"title":"Reasoning","type":"string"},)"
              R"("answer":{"title":"Answer","type":"integer"},"label":{"enum":["a","b"],"title":"Label","type":"string"}},)"
              R"("required":["reasoning","answer","label"],"title":"DSPyProgramOutputs","type":"object"})");
    EXPECT_EQ(structured_outputs_schema(Signature("q -> next_tool_args: list[int]"))["properties"]["next_tool_args"]["title"],
              "Next Tool Args");
    EXPECT_THROW((void)structured_outputs_schema(Signature("q -> d: dict[str, int]")), ValueError);
}

TEST(JSONAdapter, StructuredFailureRetriesInJsonModeButLMErrorsPropagate) {
    int n = 0;
    CapabilityLM flaky({"response_format"}, true, [&](const Json&) -> std::string {
        return n++ == 0 ? "not json at all" : R"({"answer": "late"})";
    });
    auto out = JSONAdapter()(flaky, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    EXPECT_EQ(out.at(0), (Json{{"answer", "late"}}));
    ASSERT_EQ(flaky.calls.size(), 2u);
    EXPECT_EQ(flaky.calls[1]["response_format"], (Json{{"type", "json_object"}}));

    CapabilityLM down({"response_format"}, true, [](const Json&) -> std::string { throw LMError("down"); });
    EXPECT_THROW((void)JSONAdapter()(down, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}}),
                 LMError);
    EXPECT_EQ(down.calls.size(), 1u);
}

TEST(JSONAdapter, NeverFallsBackItself) {
    CapabilityLM lm({}, false, [](const Json&) { return "[[ ## answer ## ]]\nParis"; });
    EXPECT_THROW((void)JSONAdapter(ChatAdapter::Options{.use_json_adapter_fallback = true})(
                     lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}}),
                 AdapterParseError);
    EXPECT_EQ(lm.calls.size(), 1u);
}

}  // namespace
}  // namespace dspy
