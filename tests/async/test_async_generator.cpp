// AsyncGenerator: co_yield with awaits in between, early exit, exceptions.
#include "dspy/async/async_generator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"

using namespace std::chrono_literals;

namespace {

dspy::AsyncGenerator<std::string> chunks(int n) {
    for (int i = 0; i < n; ++i) {
        co_await dspy::sleep(1ms);
        co_yield std::to_string(i);
    }
}

dspy::AsyncGenerator<int> failing() {
    co_yield 1;
    throw dspy::ValueError("stream broke");
}

dspy::Task<std::string> collect(int n) {
    auto gen = chunks(n);
    std::string out;
    while (auto item = co_await gen.next()) out += *item;
    co_return out;
}

dspy::Task<std::string> first_only() {
    auto gen = chunks(100);
    auto item = co_await gen.next();
    co_return *item;  // the rest is abandoned when gen is destroyed
}

dspy::Task<int> collect_failing() {
    auto gen = failing();
    int got = 0;
    try {
        while (auto item = co_await gen.next()) got += *item;
    } catch (const dspy::ValueError&) {
        got += 100;
    }
    co_return got;
}

}  // namespace

TEST(AsyncGenerator, YieldsInOrder) {
    EXPECT_EQ(dspy::run(collect(5)), "01234");
    EXPECT_EQ(dspy::run(collect(0)), "");
}

TEST(AsyncGenerator, EarlyExitDestroysTheRest) { EXPECT_EQ(dspy::run(first_only()), "0"); }

TEST(AsyncGenerator, ExceptionReachesTheConsumer) { EXPECT_EQ(dspy::run(collect_failing()), 101); }
