#include "dspy/utils/warnings.hpp"

#include <gtest/gtest.h>

#include "support/capture_warnings.hpp"

namespace dspy {
namespace {

TEST(Warnings, HandlerReceivesMessagesAndIsRestored) {
    {
        test_support::CaptureWarnings outer;
        {
            test_support::CaptureWarnings inner;
            warn("inner message");
            EXPECT_EQ(inner.messages(), std::vector<std::string>{"inner message"});
        }
        warn("outer message");
        EXPECT_EQ(outer.messages(), std::vector<std::string>{"outer message"});
    }
    std::vector<std::string> seen;
    auto previous = set_warning_handler([&](std::string_view m) { seen.emplace_back(m); });
    EXPECT_FALSE(previous);  // the default sink is the empty handler
    warn("x");
    set_warning_handler(nullptr);
    EXPECT_EQ(seen, std::vector<std::string>{"x"});
}

TEST(Warnings, DefaultSinkWritesToStderrWithDspysPrefix) {
    ::testing::internal::CaptureStderr();
    warn("something odd");
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "dspy WARNING: something odd\n");
}

}  // namespace
}  // namespace dspy
