#include "dspy/adapters/chat_adapter.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

// An LM whose replies come from a function; records every call's messages and kwargs.
class ScriptedLM : public BaseLM {
public:
    explicit ScriptedLM(std::function<std::string(const Messages&, const Json&)> reply)
        : BaseLM("scripted"), reply_(std::move(reply)) {}
    LMResponse forward(const Messages& messages, const Json& kwargs) override {
        calls.push_back({messages, kwargs});
        return {{LMOutput{reply_(messages, kwargs), Json::object()}}};
    }
    std::vector<std::pair<Messages, Json>> calls;

private:
    std::function<std::string(const Messages&, const Json&)> reply_;
};

Signature qa_signature() {
    return Signature::from_fields({Field::input("question"),
                                   Field::input("context", TypeSpec::parse("list[str]"), "facts"),
                                   Field::output("answer"), Field::output("confidence", TypeSpec::parse("float"))},
                                  "Answer the question.");
}

TEST(ChatAdapter, FormatsSystemDemoAndRequestExactly) {
    ChatAdapter adapter;
    std::vector<Example> demos{Example(Json{{"question", "q0"}, {"context", {"c"}}, {"answer", "a0"}, {"confidence", 0.9}})};
    Messages m = adapter.format(qa_signature(), demos, Json{{"question", "Why?"}, {"context", {"x", "y"}}});
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].role, "system");
    EXPECT_EQ(m[0].content,
              "Your input fields are:\n1. `question` (str): \n2. `context` (list[str]): facts\nYour output fields are:\n"
              "1. `answer` (str): \n2. `confidence` (float):\nAll interactions will be structured in the following way, "
              "with the appropriate values filled in.\n\n[[ ## question ## ]]\n{question}\n\n[[ ## context ## ]]\n"
              "{context}\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## confidence ## ]]\n{confidence}        # note: the "
              "value you produce must be a single float value\n\n[[ ## completed ## ]]\nIn adhering to this structure, "
              "your objective is: \n        Answer the question.");
    EXPECT_EQ(m[1].content, "[[ ## question ## ]]\nq0\n\n[[ ## context ## ]]\n[\"c\"]");
    EXPECT_EQ(m[2].role, "assistant");
    EXPECT_EQ(m[2].content, "[[ ## answer ## ]]\na0\n\n[[ ## confidence ## ]]\n0.9\n\n[[ ## completed ## ]]\n");
    EXPECT_EQ(m[3].content,
              "[[ ## question ## ]]\nWhy?\n\n[[ ## context ## ]]\n[\"x\", \"y\"]\n\nRespond with the corresponding "
              "output fields, starting with the field `[[ ## answer ## ]]`, then `[[ ## confidence ## ]]` (must be "
              "formatted as a valid Python float), and then ending with the marker for `[[ ## completed ## ]]`.");
}

TEST(ChatAdapter, IncompleteDemosComeFirstAndOthersAreDropped) {
    ChatAdapter adapter;
    Signature sig("question -> answer, note");
    std::vector<Example> demos{
        Example(Json{{"question", "full"}, {"answer", "A"}, {"note", "N"}}),
        Example(Json{{"question", "part"}, {"answer", "B"}}),
        Example(Json{{"question", "inputs only"}}),
        Example(Json{{"answer", "outputs only"}}),
    };
    Messages m = adapter.format(sig, demos, Json{{"question", "q"}});
    ASSERT_EQ(m.size(), 6u);
    EXPECT_EQ(m[1].content,
              "This is an example of the task, though some input or output fields are not supplied.\n\n"
              "[[ ## question ## ]]\npart");
    EXPECT_EQ(m[2].content,
              "[[ ## answer ## ]]\nB\n\n[[ ## note ## ]]\nNot supplied for this particular example.\n\n"
              "[[ ## completed ## ]]\n");
    EXPECT_EQ(m[3].content, "[[ ## question ## ]]\nfull");
}

TEST(ChatAdapter, HistoryBecomesTurnsAndLeavesTheRequest) {
    ChatAdapter adapter;
    Signature sig = Signature::from_fields(
        {Field::input("question"), Field::input("history", TypeSpec::parse("dspy.History")), Field::output("answer")});
    Json inputs = {{"question", "and now?"},
                   {"history", {{"messages", {{{"question", "hi"}, {"answer", "hello"}}, {{"answer", "only"}}}}}}};
    Messages m = adapter.format(sig, {}, inputs);
    ASSERT_EQ(m.size(), 5u);
    EXPECT_NE(m[0].content.find("2. `history` (History):\nYour output fields are:"), std::string::npos) << m[0].content;
    EXPECT_EQ(m[1].content, "[[ ## question ## ]]\nhi");
    EXPECT_EQ(m[2].content, "[[ ## answer ## ]]\nhello\n\n[[ ## completed ## ]]\n");
    EXPECT_EQ(m[3].content, "[[ ## answer ## ]]\nonly\n\n[[ ## completed ## ]]\n");
    EXPECT_EQ(m[4].content.substr(0, 32), "[[ ## question ## ]]\nand now?\n\nR");
    EXPECT_THROW((void)adapter.format(sig, {}, Json{{"history", "not a history"}}), ValueError);
}

TEST(ChatAdapter, RequestWithoutInputsHoldsOnlyTheRequirements) {
    ChatAdapter adapter;
    Messages m = adapter.format(Signature("question -> answer"), {}, Json::object());
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[1].content.rfind("Respond with", 0), 0u);
    EXPECT_THROW((void)adapter.format(Signature("question -> answer"), {}, Json::array()), TypeError);
}

TEST(ChatAdapter, FormatFieldWithValueWritesSections) {
    ChatAdapter adapter;
    EXPECT_EQ(adapter.format_field_with_value(Signature("q -> answer, n: int"), Json{{"answer", "Paris"}, {"n", 3}}),
              "[[ ## answer ## ]]\nParis\n\n[[ ## n ## ]]\n3");
}

TEST(ChatAdapter, CallParsesTheCompletion) {
    ScriptedLM lm([](const Messages&, const Json&) { return "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]"; });
    ChatAdapter adapter;
    auto out = adapter(lm, Json{{"tools", Json::array()}}, Signature("question -> answer"), {}, Json{{"question", "?"}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], (Json{{"answer", "Paris"}}));
    ASSERT_EQ(lm.calls.size(), 1u);
    EXPECT_FALSE(lm.calls[0].second.contains("tools"));
}

TEST(ChatAdapter, FallsBackToJsonAdapterOnParseFailure) {
    ScriptedLM lm([](const Messages&, const Json&) { return "{'answer': 'Paris'}"; });
    ChatAdapter adapter;
    auto out = adapter(lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], (Json{{"answer", "Paris"}}));
    ASSERT_EQ(lm.calls.size(), 2u);
    // The second call is JSONAdapter's prompt.
    EXPECT_NE(lm.calls[1].first.back().content.find("Respond with a JSON object"), std::string::npos);
}

TEST(ChatAdapter, NoFallbackWhenDisabledOrOnLMErrors) {
    ScriptedLM bad([](const Messages&, const Json&) { return "no fields here"; });
    ChatAdapter strict(ChatAdapter::Options{.use_json_adapter_fallback = false});
    EXPECT_THROW((void)strict(bad, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}}),
                 AdapterParseError);
    EXPECT_EQ(bad.calls.size(), 1u);

    ScriptedLM failing([](const Messages&, const Json&) -> std::string { throw LMError("provider down"); });
    ChatAdapter adapter;
    EXPECT_THROW((void)adapter(failing, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}}),
                 LMError);
    EXPECT_EQ(failing.calls.size(), 1u);
}

TEST(ChatAdapter, ANonLMErrorFromTheLMAlsoFallsBack) {
    int calls = 0;
    ScriptedLM lm([&](const Messages&, const Json&) -> std::string {
        if (calls++ == 0) throw std::runtime_error("custom LM hiccup");
        return R"({"answer": "ok"})";
    });
    ChatAdapter adapter;
    auto out = adapter(lm, Json::object(), Signature("question -> answer"), {}, Json{{"question", "?"}});
    EXPECT_EQ(out.at(0), (Json{{"answer", "ok"}}));
    EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace dspy

// --- async: acall and the JSONAdapter fallback (DSPy tests/adapters/test_chat_adapter.py) --------------------

#include "dspy/async/run.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/dummies.hpp"

namespace dspy {
namespace {

TEST(ChatAdapterAsync, AsyncCall) {
    Signature signature("question->answer");
    ChatAdapter adapter;
    DummyLM lm(std::vector<Json>{{{"answer", "Paris"}}});
    auto result =
        run(adapter.acall(lm, Json::object(), signature, {}, Json{{"question", "What is the capital of France?"}}));
    EXPECT_EQ(result, (std::vector<Json>{{{"answer", "Paris"}}}));
}

// Counts the adapters that formatted a prompt and remembers the JSONAdapters' native-function-calling flag.
class FormatRecorder : public BaseCallback {
public:
    void on_adapter_format_start(const std::string&, const Adapter& a, const Json&) override {
        if (const auto* json = dynamic_cast<const JSONAdapter*>(&a)) {
            ++json_formats;
            json_native_function_calling.push_back(json->options().use_native_function_calling);
        } else {
            ++chat_formats;
        }
    }
    int chat_formats = 0;
    int json_formats = 0;
    std::vector<bool> json_native_function_calling;
};

TEST(ChatAdapterAsync, FallbackToJsonAdapterOnExceptionAsync) {
    ScriptedLM lm([](const Messages&, const Json&) { return "{'answer': 'Paris'}"; });
    auto recorder = std::make_shared<FormatRecorder>();
    auto scope = context({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{recorder}});
    ChatAdapter adapter;
    auto result = run(adapter.acall(lm, Json::object(), Signature("question->answer"), {},
                                    Json{{"question", "What is the capital of France?"}}));
    EXPECT_EQ(result, (std::vector<Json>{{{"answer", "Paris"}}}));
    // Exactly one JSONAdapter round after the failed ChatAdapter parse.
    EXPECT_EQ(recorder->chat_formats, 1);
    EXPECT_EQ(recorder->json_formats, 1);
    ASSERT_EQ(lm.calls.size(), 2u);
    EXPECT_NE(lm.calls[1].first.back().content.find("Respond with a JSON object"), std::string::npos);
}

TEST(ChatAdapterAsync, AsyncFallbackPreservesNativeFunctionCallingFlag) {
    for (bool native : {false, true}) {
        int calls = 0;
        ScriptedLM lm([&](const Messages&, const Json&) -> std::string {
            return calls++ == 0 ? "nonsense" : R"({"answer": "Paris"})";
        });
        auto recorder = std::make_shared<FormatRecorder>();
        auto scope = context({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{recorder}});
        ChatAdapter adapter(ChatAdapter::Options{.use_native_function_calling = native});
        auto result = run(adapter.acall(lm, Json::object(), Signature("question->answer"), {},
                                        Json{{"question", "What is the capital of France?"}}));
        EXPECT_EQ(result, (std::vector<Json>{{{"answer", "Paris"}}}));
        EXPECT_EQ(recorder->json_native_function_calling, std::vector<bool>{native});
    }
}

TEST(ChatAdapterAsync, SyncAndAsyncFallbackSendTheSameRequests) {
    ScriptedLM sync_lm([](const Messages&, const Json&) { return "{'answer': 'Paris', 'confidence': 0.5}"; });
    ScriptedLM async_lm([](const Messages&, const Json&) { return "{'answer': 'Paris', 'confidence': 0.5}"; });
    ChatAdapter adapter;
    const Json kwargs = {{"temperature", 0.2}};
    const Json inputs = {{"question", "?"}, {"context", Json::array({"a", "b"})}};
    auto s = adapter(sync_lm, kwargs, qa_signature(), {}, inputs);
    auto a = run(adapter.acall(async_lm, kwargs, qa_signature(), {}, inputs));
    EXPECT_EQ(s, a);
    ASSERT_EQ(sync_lm.calls.size(), 2u);
    ASSERT_EQ(async_lm.calls.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(sync_lm.calls[i].first, async_lm.calls[i].first);
        EXPECT_EQ(sync_lm.calls[i].second, async_lm.calls[i].second);
    }
}

}  // namespace
}  // namespace dspy
