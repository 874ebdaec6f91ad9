#include "clients/http/sse.hpp"

#include <gtest/gtest.h>

namespace dspy::http {
namespace {

std::vector<SseEvent> parse_in_pieces(std::string_view stream, const std::vector<size_t>& cuts) {
    SseParser parser;
    std::vector<SseEvent> out;
    size_t at = 0;
    for (size_t cut : cuts) {
        parser.feed(stream.substr(at, cut - at), out);
        at = cut;
    }
    parser.feed(stream.substr(at), out);
    return out;
}

void expect_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b, const std::string& where) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].data, b[i].data) << where << " event " << i;
        EXPECT_EQ(a[i].event, b[i].event) << where << " event " << i;
        EXPECT_EQ(a[i].id, b[i].id) << where << " event " << i;
    }
}

const std::string kStream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
    ": keep-alive\n\n"
    "event: message_delta\rdata: one\rdata:two\r\r"
    "id: 7\ndata:  spaced\n\n"
    "data\n\n"
    "event: ignored-without-data\n\n"
    "data: [DONE]\n\n";

TEST(SseParser, WholeStream) {
    auto events = parse_in_pieces(kStream, {});
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].data, R"({"choices":[{"delta":{"content":"Hel"}}]})");
    EXPECT_EQ(events[1].event, "message_delta");
    EXPECT_EQ(events[1].data, "one\ntwo");
    EXPECT_EQ(events[2].id, "7");
    EXPECT_EQ(events[2].data, " spaced");  // only one leading space is removed
    EXPECT_EQ(events[3].data, "");         // a bare "data" field is an empty data line
    EXPECT_EQ(events[4].data, "[DONE]");
}

TEST(SseParser, EverySingleSplitPosition) {
    const auto whole = parse_in_pieces(kStream, {});
    for (size_t cut = 0; cut <= kStream.size(); ++cut)
        expect_same(parse_in_pieces(kStream, {cut}), whole, "cut at " + std::to_string(cut));
}

TEST(SseParser, EveryPairOfSplitPositions) {
    const auto whole = parse_in_pieces(kStream, {});
    for (size_t a = 0; a <= kStream.size(); a += 3)
        for (size_t b = a; b <= kStream.size(); ++b)
            expect_same(parse_in_pieces(kStream, {a, b}), whole,
                        "cuts at " + std::to_string(a) + "," + std::to_string(b));
}

TEST(SseParser, ByteByByte) {
    SseParser parser;
    std::vector<SseEvent> out;
    for (char c : kStream) parser.feed(std::string_view(&c, 1), out);
    expect_same(out, parse_in_pieces(kStream, {}), "byte by byte");
    EXPECT_FALSE(parser.pending());
}

TEST(SseParser, IncompleteEventIsPendingNotDispatched) {
    SseParser parser;
    std::vector<SseEvent> out;
    parser.feed("data: half", out);
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(parser.pending());
    parser.feed("\n", out);
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(parser.pending());
    parser.reset();
    EXPECT_FALSE(parser.pending());
    parser.feed("data: x\n\n", out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, "x");
}

}  // namespace
}  // namespace dspy::http
