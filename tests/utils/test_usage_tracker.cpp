#include "dspy/utils/usage_tracker.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace dspy {

TEST(UsageTracker, MergesNestedUsageLikeDspy) {
    UsageTracker t;
    t.add_usage("openai/gpt-4o-mini",
                {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"details", {{"cached", nullptr}, {"audio", 1}}}});
    t.add_usage("openai/gpt-4o-mini", {{"prompt_tokens", 3}, {"completion_tokens", nullptr}, {"details", {{"cached", 2}}}});
    t.add_usage("openai/gpt-4o-mini", Json::object());  // ignored
    t.add_usage("anthropic/claude", {{"total_tokens", 7}});
    Json total = t.get_total_tokens();
    EXPECT_EQ(total["openai/gpt-4o-mini"]["prompt_tokens"], 13);
    EXPECT_EQ(total["openai/gpt-4o-mini"]["completion_tokens"], 5);
    EXPECT_EQ(total["openai/gpt-4o-mini"]["details"]["cached"], 2);
    EXPECT_EQ(total["openai/gpt-4o-mini"]["details"]["audio"], 1);
    EXPECT_EQ(total["anthropic/claude"]["total_tokens"], 7);
    EXPECT_EQ(total.begin().key(), "openai/gpt-4o-mini");
}

TEST(UsageTracker, ConcurrentAddsAreAllCounted) {
    UsageTracker t;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            for (int k = 0; k < 250; ++k) t.add_usage("m", {{"total_tokens", 1}});
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(t.get_total_tokens()["m"]["total_tokens"], 1000);
}

}  // namespace dspy
