// json_fast must give exactly nlohmann's results: these tests compare the two on hand-picked and random texts.
#include "utils/json_fast.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace dspy::json_fast {
namespace {

// Equal values with equal types at every node (nlohmann's == calls 1 and 1u equal).
bool same_tree(const Json& a, const Json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        auto ib = b.begin();
        for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib)
            if (ia.key() != ib.key() || !same_tree(ia.value(), ib.value())) return false;
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (!same_tree(a[i], b[i])) return false;
        return true;
    }
    return a == b || (a.is_number_float() && a.dump() == b.dump());
}

void expect_same_parse(const std::string& text) {
    const Json expected = Json::parse(text, nullptr, false);
    const Json got = parse(text);
    ASSERT_EQ(got.is_discarded(), expected.is_discarded()) << "text: " << text;
    if (!expected.is_discarded()) {
        EXPECT_TRUE(same_tree(got, expected)) << "text: " << text << "\ngot: " << got.dump();
    }
}

TEST(JsonFast, ParsesLikeNlohmann) {
    const std::vector<std::string> texts = {
        R"({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"[[ ## answer ## ]]\nParis"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":66,"completion_tokens":16}})",
        " \t\r\n{ \"a\" : [ 1 , -2 , 3.5 , true , false , null , { } , [ ] ] } \n",
        R"("plain")", "0", "-0", "0.0", "-0.0", "1E5", "1e-5", "2.5E+3", "123456789012", "-9223372036854775808",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "-9223372036854775809", "1e400", "-1e400", "1e-400", "0.1", "3.141592653589793238462643383279",
        R"({"a":1,"b":2,"a":3})", R"({"k":{"k":{"k":[[],[{}]]}}})",
        R"("esc: \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20ac \ud83d\ude00 \u0000")", R"("\u00E9\uD83D\uDE00")",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"",
        // malformed, each must be rejected as nlohmann rejects it
        "", "   ", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "tru", "nul", "[1,]", "[1 2]", R"({"a":1,})",
        R"({"a" 1})", R"({a:1})", "[1]x", "{} {}", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\x")",
        R"("\u12")", R"("\u12G4")", "\"unterminated", "\"tab\there\"", "\"nl\nhere\"", "\"\xc0\x80\"",
        "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"", "\"\xf4\x90\x80\x80\"", "[", "{",
        "]", "nulls", "[true,false,nullx]", std::string("\"a\0b\"", 5), std::string("[1]\0", 4),
        std::string(300, '[') + std::string(300, ']'), std::string(300, '[') + std::string(299, ']'),
    };
    for (const auto& t : texts) expect_same_parse(t);
}

// A random value with strings mixing ASCII, escapes and multi-byte characters, and every number type.
Json random_value(std::mt19937& rng, int depth) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    static const std::vector<std::string> pieces = {"a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f",
                                                    "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                                    "[[ ## answer ## ]]", "{", "}"};
    auto random_string = [&] {
        std::string s;
        for (int i = pick(12); i > 0; --i) s += pieces[static_cast<size_t>(pick(static_cast<int>(pieces.size())))];
        return s;
    };
    switch (depth > 3 ? pick(6) : pick(8)) {
        case 0: return nullptr;
        case 1: return pick(2) == 0;
        case 2: return static_cast<std::int64_t>(rng()) - static_cast<std::int64_t>(rng()) * 4096;
        case 3: return static_cast<std::uint64_t>(rng()) * 1000003ull;
        case 4: return std::ldexp(static_cast<double>(rng()) / 3.0, pick(80) - 40);
        case 5: return random_string();
        case 6: {
            Json a = Json::array();
            for (int i = pick(5); i > 0; --i) a.push_back(random_value(rng, depth + 1));
            return a;
        }
        default: {
            Json o = Json::object();
            for (int i = pick(5); i > 0; --i) o[random_string()] = random_value(rng, depth + 1);
            return o;
        }
    }
}

TEST(JsonFast, RandomDocumentsAndTheirMutationsParseLikeNlohmann) {
    std::mt19937 rng(20261125);
    for (int round = 0; round < 3000; ++round) {
        const Json v = random_value(rng, 0);
        const std::string text = round % 2 ? v.dump() : v.dump(2);
        expect_same_parse(text);
        // One to three random byte edits: most break the text, some keep it valid.
        std::string bad = text;
        for (int e = 1 + static_cast<int>(rng() % 3); e > 0 && !bad.empty(); --e) {
            const size_t at = rng() % bad.size();
            static const char kBytes[] = "\"\\{}[],:0-.eE \xc3\xa9\x80\xff\x01ntfu";
            switch (rng() % 3) {
                case 0: bad[at] = kBytes[rng() % (sizeof kBytes - 1)]; break;
                case 1: bad.erase(at, 1); break;
                default: bad.insert(at, 1, kBytes[rng() % (sizeof kBytes - 1)]);
            }
        }
        expect_same_parse(bad);
        if (HasFatalFailure()) return;
    }
}

TEST(JsonFast, DumpsLikeNlohmann) {
    std::mt19937 rng(7);
    for (int round = 0; round < 3000; ++round) {
        const Json v = random_value(rng, 0);
        std::string out = "prefix:";
        append_dump(out, v);
        ASSERT_EQ(out, "prefix:" + v.dump());
    }
    std::string s;
    append_string(s, "caf\xc3\xa9 \"q\"\n");
    EXPECT_EQ(s, Json("caf\xc3\xa9 \"q\"\n").dump());
}

TEST(JsonFast, InvalidUtf8IsNlohmannsError) {
    for (const std::string bad : {"ok \xff", "\xc0\x80", "\xed\xa0\x80", "caf\xc3"}) {
        const Json v = {{"messages", Json::array({Json{{"content", bad}}})}};
        std::string expected, got;
        try {
            (void)v.dump();
        } catch (const Json::type_error& e) {
            expected = e.what();
        }
        try {
            std::string out;
            append_dump(out, v);
        } catch (const Json::type_error& e) {
            got = e.what();
        }
        EXPECT_FALSE(expected.empty());
        EXPECT_EQ(got, expected);
    }
}

}  // namespace
}  // namespace dspy::json_fast
