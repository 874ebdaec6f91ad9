// Built-in tools: the calculator evaluates arithmetic like Python without executing anything; search and lookup
// read a JSONL corpus.
#include "builtin_tools.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"
#include "tools/dspy/cli_test_util.hpp"

namespace dspy::cli {
namespace {

TEST(CliCalculator, ArithmeticLikePython) {
    EXPECT_EQ(calculate("2+2"), Json(4));
    EXPECT_EQ(calculate("7/2"), Json(3.5));
    EXPECT_EQ(calculate("7//2"), Json(3));
    EXPECT_EQ(calculate("-7//2"), Json(-4));
    EXPECT_EQ(calculate("-3 % 5"), Json(2));
    EXPECT_EQ(calculate("2**10"), Json(1024));
    EXPECT_EQ(calculate("2**3**2"), Json(512));
    EXPECT_EQ(calculate("-2**2"), Json(-4));
    EXPECT_EQ(calculate("(1 + 2) * 3 - 4 / 2"), Json(7.0));
    EXPECT_EQ(calculate("sqrt(16) + abs(-3)"), Json(7.0));
    EXPECT_EQ(calculate("max(3, 9, 4) * 1_000"), Json(9000));
    EXPECT_EQ(calculate("1.5e3"), Json(1500.0));
}

TEST(CliCalculator, RejectsAnythingElseWithThePosition) {
    for (const char* bad : {"2+", "__import__('os').system('ls')", "1/0", "open('x')", "(1+2", "2 3", ""}) {
        try {
            (void)calculate(bad);
            ADD_FAILURE() << bad << " evaluated";
        } catch (const ValueError& e) {
            EXPECT_NE(std::string(e.what()).find("calculator: "), std::string::npos) << e.what();
        }
    }
    try {
        (void)calculate("1/0");
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "calculator: division by zero at position 3 in '1/0'");
    }
    std::string deep(1000, '(');
    EXPECT_THROW((void)calculate(deep), ValueError);
}

TEST(CliCorpus, SearchRanksByOverlapAndLookupMatchesTitles) {
    dspy::test::TempDir dir;
    dspy::test::write_file(dir / "c.jsonl", R"({"title": "Moon", "text": "The Moon orbits the Earth."}
{"title": "Mars", "text": "Mars is the fourth planet from the Sun."}

{"title": "Earth", "text": "Earth is the third planet from the Sun and has one moon."}
)");
    auto c = Corpus::load(dir / "c.jsonl");
    EXPECT_EQ(c->size(), 3u);
    auto hits = c->search("Which planet is fourth from the Sun?", 2);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0], "Mars | Mars is the fourth planet from the Sun.");
    EXPECT_TRUE(c->search("zebra", 3).empty());
    EXPECT_EQ(c->lookup(" earth "), "Earth is the third planet from the Sun and has one moon.");
    EXPECT_FALSE(c->lookup("Venus"));

    dspy::test::write_file(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"title\": 3}\n");
    try {
        (void)Corpus::load(dir / "bad.jsonl");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2:"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace dspy::cli
