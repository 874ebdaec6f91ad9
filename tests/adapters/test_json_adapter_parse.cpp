// JSONAdapter::parse: repaired JSON objects, the balanced-brace fallback, unwrapped value errors.
#include <gtest/gtest.h>

#include <string>

#include "dspy/adapters/json_adapter.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

std::string parse_json(std::string_view sig, std::string_view completion) {
    return JSONAdapter().parse(Signature(sig), completion).dump();
}

TEST(JSONAdapterParse, PlainFencedAndProse) {
    EXPECT_EQ(parse_json("q -> answer, score: float", R"({"score": 0.9, "answer": "Paris"})"),
              R"({"answer":"Paris","score":0.9})");
    EXPECT_EQ(parse_json("q -> answer, score: float", "Sure! ```json\n{\"answer\": \"x\", \"score\": \"0.7\", \"extra\": 1}\n```"),
              R"({"answer":"x","score":0.7})");
    EXPECT_EQ(parse_json("q -> answer", R"(I think {maybe} the result is {"answer": "Paris"})"), R"({"answer":"Paris"})");
    EXPECT_EQ(parse_json("q -> answer", R"({"answer": "first"} {"answer": "second"})"), R"({"answer":"second"})");
    EXPECT_EQ(parse_json("q -> answer", "{answer: 'Paris'}"), R"({"answer":"Paris"})");
}

TEST(JSONAdapterParse, NotAnObject) {
    for (const char* s : {"Paris", R"(["Paris"])", ""}) {
        try {
            (void)parse_json("q -> answer", s);
            FAIL() << s;
        } catch (const AdapterParseError& e) {
            std::string m = e.what();
            EXPECT_EQ(m.substr(0, m.find('\n')), "LM response cannot be serialized to a JSON object.") << s;
        }
    }
}

TEST(JSONAdapterParse, ValueErrorsAreNotWrapped) {
    EXPECT_THROW(parse_json("q -> answer: int", R"({"answer": 3.5})"), ValueError);
    try {
        (void)parse_json("q -> answer: int", R"({"answer": 3.5})");
    } catch (const AdapterParseError&) {
        FAIL() << "wrapped";
    } catch (const ValueError&) {
    }
}

TEST(JSONAdapterParse, MissingFieldAndTypes) {
    EXPECT_THROW(parse_json("q -> answer, score: float", R"({"answer": "x"})"), AdapterParseError);
    EXPECT_EQ(parse_json("q -> answer", R"({"answer": null})"), R"({"answer":"None"})");
    EXPECT_EQ(parse_json("q -> answer: Optional[int]", R"({})"), R"({"answer":null})");
    EXPECT_EQ(parse_json("q -> verdict: bool", R"({"verdict": True})"), R"({"verdict":true})");
    EXPECT_EQ(parse_json("q -> n: int", R"({"n": 3.0})"), R"({"n":3})");
}

}  // namespace
}  // namespace dspy
