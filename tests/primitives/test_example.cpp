#include "dspy/primitives/example.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"

namespace dspy {

TEST(Example, InputsAndLabelsSplitByInputKeys) {
    Example e{{"question", "q"}, {"answer", "a"}, {"dspy_uuid", "x"}};
    EXPECT_THROW((void)e.inputs(), ValueError);
    auto ex = e.with_inputs({"question"});
    EXPECT_EQ(ex.inputs().keys(), std::vector<std::string>{"question"});
    EXPECT_EQ(ex.labels().keys(), std::vector<std::string>{"answer"});
    EXPECT_EQ(e.size(), 2u);
    EXPECT_EQ(e.keys(true).size(), 3u);
}

TEST(Example, ReprHidesDspyKeys) {
    Example e = Example{{"question", "q"}, {"dspy_split", "train"}}.with_inputs({"question"});
    EXPECT_EQ(e.repr(), "Example({'question': 'q'}) (input_keys={'question'})");
}

TEST(Example, AtNamesTheMissingKey) {
    Example e{{"a", 1}};
    try {
        (void)e.at("b");
        FAIL();
    } catch (const KeyError& err) {
        EXPECT_NE(std::string(err.what()).find("'b'"), std::string::npos);
    }
    EXPECT_EQ(e.get("b", 5), 5);
}

TEST(Example, RejectsNonObjects) { EXPECT_THROW((void)Example(Json::array()), TypeError); }

}  // namespace dspy
