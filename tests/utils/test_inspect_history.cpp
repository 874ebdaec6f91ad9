#include "dspy/utils/inspect_history.hpp"

#include <gtest/gtest.h>

namespace dspy {

TEST(InspectHistory, PrintsLikePrettyPrintHistoryWithoutColours) {
    std::vector<Json> history = {
        {{"messages", Json::array({{{"role", "system"}, {"content", "sys  "}}, {{"role", "user"}, {"content", "q"}}})},
         {"outputs", Json::array({"  [[ ## answer ## ]]\nParis", "other"})},
         {"timestamp", "2026-01-01T00:00:00"}}};
    std::string expected =
        "\n\n\n\n"
        "[2026-01-01T00:00:00]\n\n"
        "System message:\n\n"
        "sys\n"
        "\n\n"
        "User message:\n\n"
        "q\n"
        "\n\n"
        "Response:\n\n"
        "[[ ## answer ## ]]\nParis\n\n"
        " \t (and 1 other completions)\n"
        "\n\n\n\n";
    EXPECT_EQ(format_history(history, 1, false), expected);
}

TEST(InspectHistory, ColoursAndLastN) {
    std::vector<Json> history = {{{"messages", Json::array({{{"role", "user"}, {"content", "a"}}})},
                                  {"outputs", Json::array({"x"})}},
                                 {{"messages", Json::array({{{"role", "user"}, {"content", "b"}}})},
                                  {"outputs", Json::array({"y"})}}};
    std::string s = format_history(history, 1, true);
    EXPECT_EQ(s.find("\nb\n") != std::string::npos, true);
    EXPECT_EQ(s.find("\na\n"), std::string::npos);
    EXPECT_NE(s.find("\x1b[31mUser message:\x1b[0m"), std::string::npos);
    EXPECT_NE(s.find("\x1b[32my\x1b[0m"), std::string::npos);
    EXPECT_NE(s.find("[Unknown time]"), std::string::npos);
}

}  // namespace dspy
