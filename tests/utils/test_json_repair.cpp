// json_repair::loads / json_loads / literal_eval against outputs recorded from python json_repair 0.61.7 and
// Python 3.11's json and ast modules.
#include "utils/json_repair.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace dspy::json_repair {
namespace {

// dump() tells 42 from 42.0 and keeps key order, so equal dumps mean equal Python values.
std::string typed(const Json& v) { return v.dump(); }

// Each line: [input, what json_repair.loads(input) returned in Python].
constexpr const char* kRecorded = R"JSONL(
["True", ""]
["None", ""]
["hello", ""]
["true", true]
["null", null]
["42", 42]
[" 7 ", 7]
["42.0", 42.0]
["1e-3", 0.001]
["[1,2", [1, 2]]
["{a: 1}", {"a": 1}]
["['a','b']", ["a", "b"]]
["1,000", ""]
["a, b, c", ""]
["", ""]
["{\"answer\": \"first\"} {\"answer\": \"second\"}", {"answer": "second"}]
["Here you go: {\"answer\": \"Paris\"} -- done.", {"answer": "Paris"}]
["I think {maybe} the result is {\"answer\": \"Paris\"}", {"answer": "Paris"}]
["[\"Paris\"]", ["Paris"]]
["{\"verdict\": True}", {"verdict": true}]
["Sure! ```json\n{\"answer\": \"x\"}\n```", {"answer": "x"}]
["{'answer': 'Paris'}", {"answer": "Paris"}]
["{\"answer\": \"Paris\", \"confidence\": 0.8", {"answer": "Paris", "confidence": 0.8}]
["{\"answer\": \"line1\nline2\"}", {"answer": "line1\nline2"}]
["[1, 2, 3,]", [1, 2, 3]]
["{\"a\": 1,}", {"a": 1}]
["{\"a\": [1, 2}", {"a": [1, 2]}]
["{\"key\": value with spaces, \"k2\": 2}", {"key": "value with spaces", "k2": 2}]
["[a, b, c]", ["a", "b", "c"]]
["// comment\n{\"a\": 1}", {"a": 1}]
["{\"a\": 1 /* c */}", {"a": 1}]
["(1, 2)", [1, 2]]
["[1, 2] [3, 4]", [3, 4]]
["{\"a\": \"x\\ny\"}", {"a": "x\ny"}]
["{\"a\": \"\\u00e9\"}", {"a": "\u00e9"}]
["{\"a\": -1.5e3, \"b\": .5, \"c\": 1_000}", {"a": -1500.0, "b": 0.5, "c": 1000}]
["\u201chello\u201d", ""]
["{\u201ca\u201d: \u201cb\u201d}", {"a": "b"}]
["{\"a\": \"he said \"hi\" ok\"}", {"a": "he said \"hi\" ok"}]
["{\"a\": None, \"b\": False}", {"a": "None", "b": false}]
["{\"a\": \"caf\u00e9 \u2014 \u65e5\"}", {"a": "caf\u00e9 \u2014 \u65e5"}]
)JSONL";

TEST(JsonRepair, MatchesRecordedPythonResults) {
    std::istringstream in(kRecorded);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        Json row = Json::parse(line);
        std::string input = row[0].get<std::string>();
        EXPECT_EQ(typed(loads(input)), typed(row[1])) << "input: " << input;
        ++n;
    }
    EXPECT_GT(n, 30);
}

TEST(JsonRepair, BareWordsGiveTheEmptyStringSentinel) {
    for (const char* w : {"True", "False", "None", "hello", "Paris", "forty-two"}) {
        Json v = loads(w);
        ASSERT_TRUE(v.is_string()) << w;
        EXPECT_EQ(v.get<std::string>(), "") << w;
    }
}

TEST(JsonRepair, KeepsIntAndFloatApart) {
    EXPECT_TRUE(loads("42").is_number_integer());
    EXPECT_TRUE(loads("42.0").is_number_float());
    EXPECT_TRUE(loads("[1, 2.5]")[0].is_number_integer());
    EXPECT_TRUE(loads("[1, 2.5]")[1].is_number_float());
}

TEST(JsonRepair, DeepNestingFailsCleanlyInsteadOfCrashing) {
    std::string deep(100000, '[');
    EXPECT_THROW((void)loads(deep), std::exception);
    std::string deep_obj;
    for (int i = 0; i < 100000; ++i) deep_obj += "{\"a\":";
    EXPECT_THROW((void)loads(deep_obj), std::exception);
}

TEST(JsonRepair, GarbageNeverHangs) {
    for (const char* s : {"}{", "][", "{{}}", "{:", "[,,,]", "\"\"\"", "{\"a\" \"b\" \"c\"}", "```json", "```json\n{",
                          "/*", "#", "(", "((", "{[}]", "\\", "{\"a\": \"\\", "{'a': 'b\", \"c\": 1}"}) {
        EXPECT_NO_THROW((void)loads(s)) << s;
    }
}

TEST(JsonLoads, FollowsPythonJsonModule) {
    EXPECT_EQ(typed(*json_loads(" {\"a\": [1, 2.0, true, null]} ")), R"({"a":[1,2.0,true,null]})");
    EXPECT_FALSE(json_loads("{\"a\": 1,}"));            // trailing comma
    EXPECT_FALSE(json_loads("\"line\nbreak\""));        // raw control character
    EXPECT_FALSE(json_loads("{'a': 1}"));               // single quotes
    EXPECT_FALSE(json_loads("01"));                     // extra data
    EXPECT_TRUE(json_loads("NaN")->is_number_float());  // Python accepts NaN / Infinity
    EXPECT_EQ(json_loads("\"\\ud83d\\ude00\"")->get<std::string>(), "\xF0\x9F\x98\x80");
    EXPECT_EQ(typed(*json_loads("{\"a\": 1, \"a\": 2}")), R"({"a":2})");  // last value wins
}

TEST(JsonRawDecode, DecodesAPrefix) {
    auto r = json_raw_decode("{\"a\": 1} trailing");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->second, 8u);
    EXPECT_FALSE(json_raw_decode(" {\"a\": 1}"));  // no leading whitespace, like raw_decode
}

TEST(LiteralEval, PythonLiterals) {
    EXPECT_EQ(typed(*literal_eval("True")), "true");
    EXPECT_EQ(typed(*literal_eval("None")), "null");
    EXPECT_EQ(typed(*literal_eval("-17")), "-17");
    EXPECT_EQ(typed(*literal_eval("1_000")), "1000");
    EXPECT_EQ(typed(*literal_eval("0x10")), "16");
    EXPECT_EQ(typed(*literal_eval("2.5e3")), "2500.0");
    EXPECT_EQ(typed(*literal_eval("1,000")), "[1,0]");  // a bare tuple
    EXPECT_EQ(typed(*literal_eval("(1,)")), "[1]");
    EXPECT_EQ(typed(*literal_eval("(1)")), "1");
    EXPECT_EQ(typed(*literal_eval("{'a': [1, (2, 3)], 'b': None}")), R"({"a":[1,[2,3]],"b":null})");
    EXPECT_EQ(typed(*literal_eval("'a' \"b\"")), R"("ab")");
    EXPECT_EQ(typed(*literal_eval("'\\x41\\u00e9\\n'")), "\"A\xC3\xA9\\n\"");
    EXPECT_EQ(typed(*literal_eval("r'\\n'")), R"("\\n")");
    EXPECT_EQ(typed(*literal_eval("[1,\n 2]  # note")), "[1,2]");
}

TEST(LiteralEval, RejectsWhatPythonRejects) {
    for (const char* s : {"hello", "a, b, c", "forty-two", "--1", "007", "1 + 2", "x = 1", "1\n2", "'open", "f'x'",
                          "b'x'", "1j", "{1: 2}", "Paris"}) {
        EXPECT_FALSE(literal_eval(s)) << s;
    }
}

}  // namespace
}  // namespace dspy::json_repair
