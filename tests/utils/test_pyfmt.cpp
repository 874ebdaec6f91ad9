#include "utils/pyfmt.hpp"

#include <gtest/gtest.h>

namespace dspy::pyfmt {

TEST(PyFmt, FloatReprMatchesPython) {
    EXPECT_EQ(float_repr(3.0), "3.0");
    EXPECT_EQ(float_repr(0.1), "0.1");
    EXPECT_EQ(float_repr(1e20), "1e+20");
    EXPECT_EQ(float_repr(1e16), "1e+16");
    EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(float_repr(1e-7), "1e-07");
    EXPECT_EQ(float_repr(0.0001), "0.0001");
    EXPECT_EQ(float_repr(0.00001), "1e-05");
    EXPECT_EQ(float_repr(-0.0), "-0.0");
    EXPECT_EQ(float_repr(2.5e-05), "2.5e-05");
    EXPECT_EQ(float_repr(123.456), "123.456");
}

TEST(PyFmt, OrjsonFloatMatchesOrjson) {
    EXPECT_EQ(orjson_float(0.1), "0.1");
    EXPECT_EQ(orjson_float(1.0), "1.0");
    EXPECT_EQ(orjson_float(1e20), "1e20");
    EXPECT_EQ(orjson_float(1e-7), "1e-7");
    EXPECT_EQ(orjson_float(1e16), "1e16");
    EXPECT_EQ(orjson_float(1e15), "1000000000000000.0");
    EXPECT_EQ(orjson_float(1.5e-9), "1.5e-9");
    EXPECT_EQ(orjson_float(0.00001), "0.00001");
}

TEST(PyFmt, JsonDumpsUsesPythonSeparatorsAndEscapes) {
    Json v = Json::parse(R"({"k": [1, 2.5, null, true], "s": "é\"\n\u0001"})");
    EXPECT_EQ(json_dumps(v), "{\"k\": [1, 2.5, null, true], \"s\": \"é\\\"\\n\\u0001\"}");
    EXPECT_EQ(json_dumps(Json::parse(R"({"a": {"b": []}})"), 2), "{\n  \"a\": {\n    \"b\": []\n  }\n}");
}

TEST(PyFmt, OrjsonSortsKeysByCodePoint) {
    Json v = Json::parse(R"({"b": 1, "a": {"z": 1.0, "Z": 1e20}})");
    EXPECT_EQ(orjson_dumps(v, false, true), R"({"a":{"Z":1e20,"z":1.0},"b":1})");
}

TEST(PyFmt, ReprChoosesQuotesLikePython) {
    EXPECT_EQ(repr(Json::parse(R"({"type": "string", "x": [true, null, 1.0]})")),
              "{'type': 'string', 'x': [True, None, 1.0]}");
    EXPECT_EQ(repr_str("it's"), "\"it's\"");
    EXPECT_EQ(repr_str("a'b\"c"), "'a\\'b\"c'");
    EXPECT_EQ(repr_str("tab\there"), "'tab\\there'");
}

TEST(PyFmt, CleandocAndDedent) {
    EXPECT_EQ(cleandoc("\n   First line.\n      indented\n    second\n\n"), "First line.\n   indented\n second");
    EXPECT_EQ(cleandoc("  Summary.\n\n    Body line.\n      more"), "Summary.\n\nBody line.\n  more");
    EXPECT_EQ(dedent("    a\n      b\n"), "a\n  b\n");
}

TEST(PyFmt, SplitlinesAndStripFollowPython) {
    auto lines = splitlines("a\r\nb\rc\u2028d\n");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[3], "d");
    EXPECT_EQ(strip("\u00a0 x \t\n"), "x");
}

}  // namespace dspy::pyfmt
