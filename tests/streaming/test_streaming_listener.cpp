// StreamListener against DSPy's recorded token streams (tests/streaming/test_streaming.py): the same chunks in give
// the same chunks out, the end-marker truth tables, finalize(), allow_reuse, and markers cut at every position.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/streaming/streaming_listener.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

std::vector<StreamResponse> feed(StreamListener& l, const std::vector<std::string>& chunks) {
    std::vector<StreamResponse> out;
    for (const auto& c : chunks)
        if (auto r = l.receive(c)) out.push_back(*r);
    return out;
}

std::vector<std::string> texts(const std::vector<StreamResponse>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.chunk);
    return out;
}

TEST(StreamListener, CouldFormEndIdentifierChatAdapter) {
    const auto chat = StreamAdapterKind::Chat;
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[ ", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[ #", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[ ##", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[ ## com", chat));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text [[ ## completed", chat));
    EXPECT_FALSE(StreamListener::could_form_end_identifier("hello world", chat));
    EXPECT_FALSE(StreamListener::could_form_end_identifier("some text", chat));
    EXPECT_FALSE(StreamListener::could_form_end_identifier("answer: hello", chat));
}

TEST(StreamListener, CouldFormEndIdentifierJSONAdapter) {
    const auto json = StreamAdapterKind::JSON;
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text \"", json));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text \",", json));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text \" ", json));
    EXPECT_TRUE(StreamListener::could_form_end_identifier("some text \"}", json));
    EXPECT_FALSE(StreamListener::could_form_end_identifier("hello world", json));
    EXPECT_FALSE(StreamListener::could_form_end_identifier("some text", json));
}

TEST(StreamListener, ReturnsCorrectChunkChatAdapter) {
    StreamListener answer("answer", nullptr, "predict1");
    StreamListener judgement("judgement", nullptr, "predict2");
    auto a = feed(answer, {"[[", " ##", " answer", " ##", " ]]\n\n", "To", " get", " to", " the", " other", " side",
                           " of", " the", " dinner", " plate", "!\n\n[[ ##", " completed", " ##", " ]]"});
    auto j = feed(judgement, {"[[ ##", " judgement", " ##", " ]]\n\n", "The", " answer", " is", " humorous", " and",
                              " plays", " on", " the", " classic", " joke", " format", ".\n\n[[ ##", " completed",
                              " ##", " ]]"});
    EXPECT_EQ(texts(a), (std::vector<std::string>{"To", " get", " to", " the", " other", " side", " of", " the",
                                                  " dinner", " plate", "!"}));
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].predict_name, "predict1");
        EXPECT_EQ(a[i].signature_field_name, "answer");
        EXPECT_EQ(a[i].is_last_chunk, i + 1 == a.size());
    }
    EXPECT_EQ(texts(j), (std::vector<std::string>{"The", " answer", " is", " humorous", " and", " plays", " on",
                                                  " the", " classic", " joke", " format", "."}));
    EXPECT_EQ(j.back().signature_field_name, "judgement");
    EXPECT_TRUE(j.back().is_last_chunk);
}

TEST(StreamListener, ReturnsCorrectChunkJSONAdapter) {
    auto scope = context({.adapter = std::make_shared<JSONAdapter>()});
    StreamListener answer("answer", nullptr, "predict1");
    StreamListener judgement("judgement", nullptr, "predict2");
    auto a = feed(answer, {"{\"", "answer", "\":", "\"To", " get", " to", " the", " other", " side", " of", " the",
                           " frying", " pan", "!\"", "}\n", "None", "None", "None"});
    auto j = feed(judgement, {"{\"", "jud", "gement", "\":", "\"The", " answer", " is", " humorous", " and", " plays",
                              " on", " the", " very", " funny", " and", " classic", " joke", " format", ".\"", "}",
                              "None", "None", "None"});
    EXPECT_EQ(texts(a), (std::vector<std::string>{"\"To", " get", " to", " the", " other", " side", " of", " the",
                                                  " frying", " pan", "!\""}));
    EXPECT_TRUE(a.back().is_last_chunk);
    EXPECT_FALSE(a.front().is_last_chunk);
    EXPECT_EQ(texts(j), (std::vector<std::string>{"\"The", " answer", " is", " humorous", " and", " plays", " on",
                                                  " the", " very", " funny", " and", " classic", " joke", " format",
                                                  ".\""}));
    EXPECT_TRUE(j.back().is_last_chunk);
}

TEST(StreamListener, ReturnsCorrectChunkChatAdapterUntokenizedStream) {
    StreamListener answer("answer", nullptr, "predict1");
    StreamListener judgement("judgement", nullptr, "predict2");
    auto a = feed(answer, {"[[ ##", " answer ## ]]", "To get to the other side.", "\n\n[[ ## completed ## ]]"});
    const std::string long_text =
        "The answer provides the standard punchline for this classic joke format, adapted to the specific location "
        "mentioned in the question. It is the expected and appropriate response.";
    auto j = feed(judgement, {"[[ ## judgement ## ]]\n\n", long_text, "\n\n[[ ## completed ## ]]", "}\n"});
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].chunk, "To get to the other side.");
    EXPECT_TRUE(a[1].is_last_chunk);
    ASSERT_GE(j.size(), 1u);
    EXPECT_EQ(j[0].chunk, long_text);
    EXPECT_EQ(j[0].signature_field_name, "judgement");
}

TEST(StreamListener, ReturnsCorrectChunkJSONAdapterUntokenizedStream) {
    auto scope = context({.adapter = std::make_shared<JSONAdapter>()});
    StreamListener answer("answer");
    StreamListener judgement("judgement");
    auto a = feed(answer, {"{\n", "  \"answer\": \"To get to", " the other side... of the cutting board!\"", "}\n"});
    auto j = feed(judgement,
                  {"{\n", "  \"judgement\": \"The",
                   " answer provides a humorous and relevant punchline to the classic joke setup.\"", "}\n"});
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].chunk, "\"To get to the other side... of the cutting board!\"");
    EXPECT_TRUE(a[0].is_last_chunk);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0].chunk, "\"The answer provides a humorous and relevant punchline to the classic joke setup.\"");
}

TEST(StreamListener, MissingCompletionMarkerIsFlushedByFinalize) {
    StreamListener answer("answer");
    auto a = feed(answer, {"[[ ##", " answer", " ## ]]\n\n", "This", " is", " a", " test", " response", " with",
                           " many", " tokens", " to", " ensure", " buffering", " works", " correctly", "."});
    std::string all;
    for (auto& r : a) all += r.chunk;
    auto last = answer.finalize();
    if (last) {
        EXPECT_TRUE(last->is_last_chunk);
        all += last->chunk;
    }
    EXPECT_EQ(all, "This is a test response with many tokens to ensure buffering works correctly.");
    EXPECT_FALSE(answer.finalize()) << "finalize flushes once";
}

TEST(StreamListener, HandlesSpaceCorrectly) {
    StreamListener answer("answer");
    auto a = feed(answer, {"[[ ## answer ## ]]\n", "How ", "are ", "you ", "doing?", "\n\n[[ ## completed ## ]]"});
    std::string all;
    for (auto& r : a) all += r.chunk;
    EXPECT_EQ(all, "How are you doing?");
}

TEST(StreamListener, AllowReuseListensToRepeatedCalls) {
    const std::vector<std::string> stream = {"[[", " ##", " answer", " ##", " ]]\n\n", "To", " get", " to", " the",
                                             " other", " side", "!\n\n[[ ##", " completed", " ##", " ]]"};
    StreamListener reuse("answer", nullptr, "", true);
    std::string all;
    for (int i = 0; i < 2; ++i)
        for (auto& r : feed(reuse, stream)) all += r.chunk;
    EXPECT_EQ(all, "To get to the other side!To get to the other side!");

    StreamListener once("answer");
    std::string first;
    for (int i = 0; i < 2; ++i)
        for (auto& r : feed(once, stream)) first += r.chunk;
    EXPECT_EQ(first, "To get to the other side!");
}

TEST(StreamListener, WholeFieldInOneChunkIsACacheHit) {
    StreamListener answer("answer");
    EXPECT_FALSE(answer.receive("[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]"));
    EXPECT_TRUE(answer.cache_hit());
    EXPECT_TRUE(answer.stream_end());
}

TEST(StreamListener, EmptyLastChunkIsMarkedLast) {
    StreamListener answer("answer");
    auto a = feed(answer, {"[[ ## answer ## ]]\n\n", "Hello", " world", "\n\n", "[[ ## completed ## ]]"});
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(a.back().is_last_chunk);
    for (size_t i = 0; i + 1 < a.size(); ++i) EXPECT_FALSE(a[i].is_last_chunk);
}

// A ChatAdapter reply cut into pieces of every size from 3 bytes (DSPy holds back at most 10 tokens, so 1- and
// 2-byte tokens can outlast the 21-byte end marker) at every offset: the field comes out whole, no marker leaks.
TEST(StreamListener, ChatMarkersSplitAnywhere) {
    const std::string value = "Grüße, 世界! [x] done";
    const std::string reply = "[[ ## reasoning ## ]]\nthink [[ # not a marker\n\n[[ ## answer ## ]]\n" + value +
                              "\n\n[[ ## completed ## ]]";
    for (size_t size = 3; size <= 9; ++size)
        for (size_t offset = 0; offset < size; ++offset) {
            StreamListener answer("answer");
            std::vector<std::string> chunks;
            if (offset) chunks.push_back(reply.substr(0, offset));
            for (size_t i = offset; i < reply.size(); i += size) chunks.push_back(reply.substr(i, size));
            std::string all;
            auto out = feed(answer, chunks);
            for (auto& r : out) all += r.chunk;
            if (auto f = answer.finalize()) all += f->chunk;
            EXPECT_EQ(all, value) << "size " << size << " offset " << offset;
            ASSERT_FALSE(out.empty());
            EXPECT_TRUE(out.back().is_last_chunk);
        }
}

TEST(StreamListener, JSONFieldSplitAnywhereAndSecondKeyEndsIt) {
    auto scope = context({.adapter = std::make_shared<JSONAdapter>()});
    const std::string reply = "{\"reasoning\": \"a \\\"b\\\" c\", \"answer\": \"Grüße, 世界!\"}";
    for (size_t size = 1; size <= 6; ++size) {
        StreamListener answer("answer");
        StreamListener reasoning("reasoning");
        std::string a, r;
        for (size_t i = 0; i < reply.size(); i += size) {
            std::string c = reply.substr(i, size);
            if (auto x = answer.receive(c)) a += x->chunk;
            if (auto x = reasoning.receive(c)) r += x->chunk;
        }
        EXPECT_EQ(a, "\"Grüße, 世界!\"") << "size " << size;
        EXPECT_TRUE(answer.stream_end());
        EXPECT_TRUE(reasoning.stream_end());
        // DSPy cuts the first field where the next key's name starts (keeping `, "`); we end at the closing quote.
        EXPECT_EQ(r, "\"a \\\"b\\\" c\"") << "size " << size;
    }
}

TEST(StreamListener, UnsupportedAdapterIsAValueError) {
    class OtherAdapter : public ChatAdapter {};
    auto scope = context({.adapter = std::make_shared<OtherAdapter>()});
    StreamListener answer("answer");
    EXPECT_THROW((void)answer.receive("x"), ValueError);
}

class TwoPredicts : public Module {
public:
    TwoPredicts() {
        register_submodule("predict1", p1);
        register_submodule("predict2", p2);
    }
    Predict p1{"question -> answer"};
    Predict p2{"question, draft -> answer, judgement"};
};

TEST(StreamListener, FindPredictorForStreamListeners) {
    TwoPredicts prog;
    std::vector<StreamListener> ok = {StreamListener("judgement")};
    auto map = find_predictor_for_stream_listeners(prog, ok);
    EXPECT_EQ(ok[0].predict(), &prog.p2);
    EXPECT_EQ(ok[0].predict_name(), "predict2");
    EXPECT_EQ(map.at(&prog.p2).size(), 1u);

    std::vector<StreamListener> ambiguous = {StreamListener("answer")};
    try {
        find_predictor_for_stream_listeners(prog, ambiguous);
        ADD_FAILURE() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("Signature field answer is not unique in the program"), std::string::npos);
    }
    std::vector<StreamListener> explicit_predict = {StreamListener("answer", &prog.p1)};
    find_predictor_for_stream_listeners(prog, explicit_predict);
    EXPECT_EQ(explicit_predict[0].predict_name(), "predict1");

    std::vector<StreamListener> unknown = {StreamListener("nope")};
    try {
        find_predictor_for_stream_listeners(prog, unknown);
        ADD_FAILURE() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("Signature field nope is not a field of any predictor"), std::string::npos);
    }
}

}  // namespace
}  // namespace dspy
