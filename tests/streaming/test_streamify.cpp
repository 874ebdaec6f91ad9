// streamify end to end over real loopback SSE from tools/dspy-mock-lm: field chunks for ChatAdapter and JSONAdapter
// with deltas of every small size (markers and multi-byte characters cut anywhere), ChainOfThought's reasoning,
// the cache (a hit yields only the Prediction), concurrent streams, cancellation closing the upstream connection,
// retries before the first byte, Anthropic events, blocking iteration, SSE strings and status messages.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "clients/lm_http.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/adapters/types/tool.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/streaming/streamify.hpp"
#include "dspy/utils/dummies.hpp"
#include "support/mock_lm_server.hpp"

namespace dspy {
namespace {

using test::MockLmServer;

class Streamify : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::mock_lm_path()) GTEST_SKIP() << "dspy-mock-lm is not built";
        configure_cache({.enable_disk_cache = false});
        detail::set_lm_retry_base(std::chrono::milliseconds(5));
    }
    void TearDown() override {
        detail::set_lm_retry_base(std::chrono::milliseconds(0));
        configure_cache({.enable_disk_cache = false});
    }
    std::string rules(const Json& r) {
        dir_ = std::filesystem::temp_directory_path() / ("dspy-stream-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(counter_++));
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "rules.json") << r.dump();
        return (dir_ / "rules.json").string();
    }
    ~Streamify() override {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    std::filesystem::path dir_;
    int counter_ = 0;
};

// Everything one stream yields, consumed asynchronously.
Task<std::vector<StreamValue>> collect(AsyncGenerator<StreamValue> gen) {
    std::vector<StreamValue> out;
    for (;;) {
        auto awaiter = gen.next();
        std::optional<StreamValue> v = co_await awaiter;
        if (!v) break;
        out.push_back(std::move(*v));
    }
    co_return out;
}

std::vector<StreamResponse> responses(const std::vector<StreamValue>& vs, std::string_view field = {}) {
    std::vector<StreamResponse> out;
    for (const auto& v : vs)
        if (auto* r = std::get_if<StreamResponse>(&v); r && (field.empty() || r->signature_field_name == field))
            out.push_back(*r);
    return out;
}

std::string joined(const std::vector<StreamResponse>& rs) {
    std::string s;
    for (const auto& r : rs) s += r.chunk;
    return s;
}

const std::string kUnicode = "Grüße aus Köln, 世界 [x] ✓";

TEST_F(Streamify, ChatAdapterFieldChunksOverLoopbackSSEForEveryDeltaSize) {
    const std::string path = rules(Json::array({{{"match", ""}, {"fields", {{"answer", kUnicode}}}}}));
    for (int size : {3, 4, 5, 7, 11}) {
        MockLmServer mock({"--rules", path, "--chunk-chars", std::to_string(size)});
        auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
        auto scope = context({.lm = lm});
        Predict predict("question -> answer");
        Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
        auto values = run(collect(streamer("question", "Where?")));
        auto chunks = responses(values);
        ASSERT_FALSE(chunks.empty()) << "size " << size;
        EXPECT_EQ(joined(chunks), kUnicode) << "size " << size;
        for (size_t i = 0; i < chunks.size(); ++i) {
            EXPECT_EQ(chunks[i].predict_name, "self");
            EXPECT_EQ(chunks[i].is_last_chunk, i + 1 == chunks.size());
            EXPECT_EQ(chunks[i].chunk.find("[["), std::string::npos) << chunks[i].chunk;
        }
        ASSERT_TRUE(std::holds_alternative<Prediction>(values.back()));
        EXPECT_EQ(std::get<Prediction>(values.back()).at("answer"), kUnicode);
        EXPECT_EQ(mock.stats().at("streamed").get<int>(), 1);
    }
}

TEST_F(Streamify, JSONAdapterChunksIncludeTheQuotes) {
    const std::string path = rules(Json::array({{{"match", ""}, {"fields", {{"answer", kUnicode}}}}}));
    MockLmServer mock({"--rules", path, "--chunk-chars", "3"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm, .adapter = std::make_shared<JSONAdapter>()});
    Predict predict("question -> answer");
    Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    auto values = run(collect(streamer("question", "Where?")));
    auto chunks = responses(values);
    ASSERT_FALSE(chunks.empty());
    EXPECT_EQ(chunks.front().chunk.front(), '"');
    EXPECT_EQ(joined(chunks), "\"" + kUnicode + "\"");
    EXPECT_TRUE(chunks.back().is_last_chunk);
    EXPECT_EQ(std::get<Prediction>(values.back()).at("answer"), kUnicode);
}

TEST_F(Streamify, ChainOfThoughtReasoningAndAnswerAreStreamedSeparately) {
    MockLmServer mock({"--chunk-chars", "4"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    ChainOfThought cot("question -> answer");
    Streamer streamer =
        streamify(cot, {.stream_listeners = {StreamListener("reasoning"), StreamListener("answer")}});
    auto values = run(collect(streamer("question", "Why?")));
    const Prediction& p = std::get<Prediction>(values.back());
    EXPECT_EQ(joined(responses(values, "reasoning")), p.at("reasoning").get<std::string>());
    EXPECT_EQ(joined(responses(values, "answer")), p.at("answer").get<std::string>());
    EXPECT_EQ(responses(values, "answer").front().predict_name, "predict");
}

TEST_F(Streamify, CacheHitYieldsOnlyThePrediction) {
    MockLmServer mock({"--chunk-chars", "4"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    auto first = run(collect(streamer("question", "cached?")));
    EXPECT_GT(first.size(), 2u);
    auto second = run(collect(streamer("question", "cached?")));
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(std::get<Prediction>(second[0]).at("answer"), std::get<Prediction>(first.back()).at("answer"));
    EXPECT_EQ(mock.stats().at("lm_requests").get<int>(), 1);
}

TEST_F(Streamify, WithoutListenersRawDeltasComeThroughThenThePrediction) {
    MockLmServer mock({"--chunk-chars", "8"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm, .track_usage = true});
    Predict predict("question -> answer");
    auto values = run(collect(streamify(predict)("question", "raw?")));
    std::string text;
    for (const auto& v : values)
        if (auto* c = std::get_if<LMStreamChunk>(&v)) {
            EXPECT_EQ(c->predict, &predict);
            text += c->content;
        }
    EXPECT_NE(text.find("[[ ## answer ## ]]"), std::string::npos);
    EXPECT_NE(text.find("[[ ## completed ## ]]"), std::string::npos);
    const Prediction& p = std::get<Prediction>(values.back());
    EXPECT_EQ(p.at("answer"), "Mock answer for: raw?");
    // stream_options.include_usage: the streamed call reports usage like a plain one.
    ASSERT_FALSE(lm->history().empty());
    EXPECT_TRUE(lm->history().back().at("usage").contains("total_tokens"));
}

TEST_F(Streamify, ConcurrentStreamsSeeOnlyTheirOwnChunks) {
    MockLmServer mock({"--chunk-chars", "3", "--chunk-delay-ms", "1"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    auto [a, b] = run(when_all(collect(streamer("question", "alpha alpha")), collect(streamer("question", "beta"))));
    EXPECT_EQ(joined(responses(a)), "Mock answer for: alpha alpha");
    EXPECT_EQ(joined(responses(b)), "Mock answer for: beta");
}

TEST_F(Streamify, StoppingTheConsumerClosesTheUpstreamConnection) {
    // 2,000 characters in 4-character deltas 50 ms apart: 25 s if the stream were read to the end.
    const std::string long_answer(2000, 'z');
    const std::string path = rules(Json::array({{{"match", ""}, {"fields", {{"answer", long_answer}}}}}));
    MockLmServer mock({"--rules", path, "--chunk-chars", "4", "--chunk-delay-ms", "50"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    auto first_chunk = [&]() -> Task<StreamResponse> {
        AsyncGenerator<StreamValue> gen = streamer("question", "long");
        for (;;) {
            auto awaiter = gen.next();
            std::optional<StreamValue> v = co_await awaiter;
            if (!v) throw std::runtime_error("stream ended early");
            if (auto* r = std::get_if<StreamResponse>(&*v)) co_return *r;
        }
    };
    StreamResponse r = run(first_chunk());
    EXPECT_EQ(r.chunk.find_first_not_of('z'), std::string::npos);
    // run() returned, so the cancelled producer has finished; the mock sees the closed connection at its next write
    // (50 ms later) and counts the request out. Wait for that (bounded well below the 25 s the stream would take).
    int in_flight = -1;
    for (int i = 0; i < 400 && in_flight != 0; ++i) {
        in_flight = mock.stats().at("in_flight").get<int>();
        if (in_flight != 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_EQ(in_flight, 0);
}

TEST_F(Streamify, RetriesBeforeTheFirstByte) {
    MockLmServer mock({"--chunk-chars", "4", "--fail-first", "2", "--fail-status", "429", "--retry-after", "0"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    auto values = run(collect(streamify(predict, {.stream_listeners = {StreamListener("answer")}})("question", "r")));
    EXPECT_EQ(joined(responses(values)), "Mock answer for: r");
    EXPECT_EQ(mock.stats().at("lm_requests").get<int>(), 3);
}

TEST_F(Streamify, NonRetryableErrorEndsTheStreamWithTheError) {
    MockLmServer mock({"--chunk-chars", "4", "--fail-first", "5", "--fail-status", "400"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    auto streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    EXPECT_THROW(run(collect(streamer("question", "e"))), LMProviderError);
}

TEST_F(Streamify, AnthropicEventsAreStreamedToo) {
    MockLmServer mock({"--chunk-chars", "5"});
    auto lm = std::make_shared<LM>("anthropic/claude-mock", LMOptions{.max_tokens = 500, .cache = false,
                                                                      .api_key = "ak", .api_base = mock.base_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    auto values = run(collect(streamify(predict, {.stream_listeners = {StreamListener("answer")}})("question", "A")));
    EXPECT_EQ(joined(responses(values)), "Mock answer for: A");
    EXPECT_EQ(std::get<Prediction>(values.back()).at("answer"), "Mock answer for: A");
}

TEST_F(Streamify, SyncIterationDrivesTheSameStream) {
    MockLmServer mock({"--chunk-chars", "4"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> answer");
    Streamer streamer = streamify(predict, {.stream_listeners = {StreamListener("answer")}});
    std::vector<StreamValue> values;
    for (StreamValue& v : streamer.sync(Json{{"question", "sync?"}})) values.push_back(std::move(v));
    EXPECT_EQ(joined(responses(values)), "Mock answer for: sync?");
    ASSERT_TRUE(std::holds_alternative<Prediction>(values.back()));

    // Leaving early cancels the program; the destructor returns without reading the rest.
    SyncStream early = streamer.sync(Json{{"question", "early"}});
    auto v = early.next();
    ASSERT_TRUE(v.has_value());
}

TEST_F(Streamify, StreamingResponseGivesSSEStrings) {
    MockLmServer mock({"--chunk-chars", "4"});
    auto lm = std::make_shared<LM>("openai/mock", LMOptions{.cache = false, .api_base = mock.v1_url()});
    auto scope = context({.lm = lm});
    Predict predict("question -> output_text");
    Streamer streamer = streamify(predict);
    std::vector<std::string> sse;
    run(stream_sse(streamer, Json{{"question", "hi"}}, [&](const std::string& s) {
        sse.push_back(s);
        return true;
    }));
    ASSERT_GE(sse.size(), 2u);
    EXPECT_EQ(sse.back(), "data: [DONE]\n\n");
    EXPECT_EQ(sse[sse.size() - 2], "data: {\"prediction\":{\"output_text\":\"Mock output_text for: hi\"}}\n\n");
    EXPECT_EQ(sse.front().rfind("data: {\"chunk\":", 0), 0u);

    // With a listener, field chunks are shaped as StreamResponse objects.
    Streamer fields = streamify(predict, {.stream_listeners = {StreamListener("output_text")}});
    std::vector<std::string> out;
    run(stream_sse(fields, Json{{"question", "hi"}}, [&](const std::string& s) {
        out.push_back(s);
        return out.size() < 2;  // the client goes away after two events
    }));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].rfind("data: {\"chunk\":{\"predict_name\":\"self\",\"signature_field_name\":\"output_text\"", 0),
              0u)
        << out[0];
}

// ---- status messages (no HTTP: DummyLM) ---------------------------------------------------------------------

class ToolProgram : public Module {
public:
    ToolProgram()
        : tool_([](const Json&) -> Json { return "question?"; }, ToolOptions{.name = "generate_question"}) {
        register_submodule("predict", predict_);
    }
    Task<Prediction> aforward(Inputs) override {
        Json q = co_await tool_.acall(Json::object());
        co_return co_await predict_.acall("question", q.get<std::string>());
    }
    Tool tool_;
    Predict predict_{"question -> answer"};
};

std::vector<std::string> statuses(const std::vector<StreamValue>& vs) {
    std::vector<std::string> out;
    for (const auto& v : vs)
        if (auto* m = std::get_if<StatusMessage>(&v)) out.push_back(m->message);
    return out;
}

TEST(StreamifyStatus, DefaultProviderReportsToolStartAndEnd) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "ok"}}});
    auto scope = context({.lm = lm});
    ToolProgram prog;
    auto values = run(collect(streamify(prog)(Json{{"x", 1}})));
    EXPECT_EQ(statuses(values), (std::vector<std::string>{
                                    "Calling tool generate_question...",
                                    "Tool calling finished! Querying the LLM with tool calling results..."}));
    EXPECT_EQ(std::get<Prediction>(values.back()).at("answer"), "ok");
}

class CustomProvider : public StatusMessageProvider {
public:
    explicit CustomProvider(std::string tag) : tag_(std::move(tag)) {}
    std::optional<std::string> tool_start_status_message(const Tool& t, const Json&) override {
        return tag_ + " tool start " + t.name();
    }
    std::optional<std::string> tool_end_status_message(const Json*) override { return tag_ + " tool end"; }
    std::optional<std::string> module_start_status_message(const Module& m, const Json&) override {
        if (dynamic_cast<const Predict*>(&m)) return tag_ + " Predict starting!";
        return std::nullopt;
    }
    std::string tag_;
};

TEST(StreamifyStatus, ConcurrentStreamsWithDifferentProvidersNeverMix) {
    auto lm = std::make_shared<DummyLM>(std::vector<Json>{{{"answer", "a"}}, {{"answer", "b"}}});
    auto scope = context({.lm = lm});
    const auto callbacks_before = settings()->callbacks;
    ToolProgram prog;
    Streamer s1 = streamify(prog, {.status_message_provider = std::make_shared<CustomProvider>("one")});
    Streamer s2 = streamify(prog, {.status_message_provider = std::make_shared<CustomProvider>("two")});
    auto [a, b] = run(when_all(collect(s1(Json::object())), collect(s2(Json::object()))));
    EXPECT_EQ(statuses(a), (std::vector<std::string>{"one tool start generate_question", "one tool end",
                                                     "one Predict starting!"}));
    EXPECT_EQ(statuses(b), (std::vector<std::string>{"two tool start generate_question", "two tool end",
                                                     "two Predict starting!"}));
    EXPECT_EQ(settings()->callbacks, callbacks_before);
}

TEST(StreamifyStatus, ProgramErrorReachesTheConsumer) {
    auto scope = context({.lm = std::shared_ptr<BaseLM>()});
    Predict predict("question -> answer");
    EXPECT_THROW(run(collect(streamify(predict)(Json{{"question", "q"}}))), ValueError);
}

}  // namespace
}  // namespace dspy
