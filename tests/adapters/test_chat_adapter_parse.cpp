// ChatAdapter::parse: `[[ ## name ## ]]` sections, DSPy's header quirks, and its errors.
#include <gtest/gtest.h>

#include <string>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

std::string parse(std::string_view sig, std::string_view completion) {
    return ChatAdapter().parse(Signature(sig), completion).dump();
}

TEST(ChatAdapterParse, SectionsInSignatureOrder) {
    EXPECT_EQ(parse("q -> answer, confidence: float",
                    "[[ ## confidence ## ]]\n0.9\n\n[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]\nbye"),
              R"({"answer":"Paris","confidence":0.9})");
}

TEST(ChatAdapterParse, HeaderQuirks) {
    EXPECT_EQ(parse("q -> answer", "  [[ ## answer ## ]] Paris"), R"({"answer":"]] Paris"})");
    EXPECT_EQ(parse("q -> answer", "[[ ## answer ## ]]: Paris"), R"({"answer":": Paris"})");
    EXPECT_EQ(parse("q -> answer", "[[ ## answer ## ]] Paris\nFrance"), R"({"answer":"Paris\nFrance"})");
    EXPECT_EQ(parse("q -> answer", "[[ ## answer ## ]]\nfirst\n[[ ## answer ## ]]\nsecond"),
              R"({"answer":"first"})");
    EXPECT_EQ(parse("q -> answer", "[[ ## answer ## ]]\r\nParis\r\n"), R"({"answer":"Paris"})");
    EXPECT_EQ(parse("q -> answer", "[[ ## answer ## ]]\xE2\x80\xA8Paris\x0c" "France"),
              R"({"answer":"Paris\nFrance"})");
    EXPECT_EQ(parse("q -> r\xC3\xA9sum\xC3\xA9", "[[ ## r\xC3\xA9sum\xC3\xA9 ## ]]\nok"), "{\"r\xC3\xA9sum\xC3\xA9\":\"ok\"}");
    // A multi-byte leading space: the slice offset counts code points, as Python does.
    EXPECT_EQ(parse("q -> answer", "\xE3\x80\x80[[ ## answer ## ]] x"), R"({"answer":"] x"})");
}

TEST(ChatAdapterParse, MissingFieldErrorListsWhatWasParsed) {
    try {
        (void)parse("q -> answer, confidence: float", "[[ ## answer ## ]]\nParis");
        FAIL() << "no error";
    } catch (const AdapterParseError& e) {
        std::string m = e.what();
        EXPECT_EQ(m.substr(0, m.find('\n')), "Adapter ChatAdapter failed to parse the LM response. ");
        EXPECT_NE(m.find("Expected to find output fields in the LM response: [answer, confidence] \n\n"),
                  std::string::npos);
        EXPECT_NE(m.find("Actual output fields parsed from the LM response: [answer] \n\n"), std::string::npos);
        ASSERT_TRUE(e.parsed_fields());
        EXPECT_EQ(e.adapter_name(), "ChatAdapter");
    }
}

TEST(ChatAdapterParse, FieldErrorNamesFieldAndValue) {
    try {
        (void)parse("q -> answer, score: float", "[[ ## answer ## ]]\nx\n\n[[ ## score ## ]]\nhigh\n");
        FAIL() << "no error";
    } catch (const AdapterParseError& e) {
        std::string m = e.what();
        EXPECT_EQ(m.substr(0, m.find('\n')),
                  "Failed to parse field score with value high from the LM response. Error message: 1 validation "
                  "error for float");
        EXPECT_EQ(e.field(), "score");
    }
}

TEST(ChatAdapterParse, EmptyAndHeaderless) {
    EXPECT_THROW(parse("q -> answer", ""), AdapterParseError);
    EXPECT_THROW(parse("q -> answer", "[[##answer##]]\nParis"), AdapterParseError);
    EXPECT_THROW(parse("q -> answer", "[[ ## Answer ## ]]\nParis"), AdapterParseError);
    EXPECT_EQ(parse("q -> answer, extra: Optional[int]", "[[ ## answer ## ]]\na"), R"({"answer":"a","extra":null})");
}

}  // namespace
}  // namespace dspy
