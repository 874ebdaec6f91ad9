// when_all over a pack and over a vector: results in order, concurrency, exceptions, empty inputs.
#include "dspy/async/when_all.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"

using namespace std::chrono_literals;

namespace {

dspy::Task<int> value_after(int v, std::chrono::milliseconds d) {
    co_await dspy::sleep(d);
    co_return v;
}

dspy::Task<std::string> text() { co_return "x"; }

dspy::Task<void> nothing(int& counter) {
    ++counter;
    co_return;
}

dspy::Task<int> fails_after(std::chrono::milliseconds d) {
    co_await dspy::sleep(d);
    throw dspy::ValueError("child failed");
}

dspy::Task<std::tuple<int, std::string, std::monostate>> pack(int& counter) {
    co_return co_await dspy::when_all(value_after(1, 5ms), text(), nothing(counter));
}

dspy::Task<std::vector<int>> many(int n) {
    std::vector<dspy::Task<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(value_after(i, std::chrono::milliseconds(i % 3)));
    co_return co_await dspy::when_all(std::move(tasks));
}

dspy::Task<int> with_failure(int& finished) {
    std::vector<dspy::Task<int>> tasks;
    tasks.push_back(value_after(1, 1ms));
    tasks.push_back(fails_after(2ms));
    tasks.push_back(value_after(3, 20ms));
    try {
        (void)co_await dspy::when_all(std::move(tasks));
    } catch (const dspy::ValueError&) {
        finished = 1;
    }
    co_return finished;
}

dspy::Task<std::size_t> empty_vector() {
    std::vector<dspy::Task<int>> none;
    auto out = co_await dspy::when_all(std::move(none));
    co_return out.size();
}

dspy::Task<int> void_vector() {
    int counter = 0;
    std::vector<dspy::Task<void>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(nothing(counter));
    co_await dspy::when_all(std::move(tasks));
    co_return counter;
}

dspy::Task<bool> runs_concurrently() {
    // Ten 30 ms sleeps overlap, so they all complete before a sibling's single 200 ms sleep: an ordering,
    // not a timing, check.
    std::vector<dspy::Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(value_after(i, 30ms));
    auto [all, late] = co_await dspy::when_all(dspy::when_all(std::move(tasks)), value_after(-1, 200ms));
    co_return all.size() == 10 && late == -1;
}

}  // namespace

TEST(WhenAll, PackReturnsTupleInOrder) {
    int counter = 0;
    auto [a, b, c] = dspy::run(pack(counter));
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, "x");
    (void)c;
    EXPECT_EQ(counter, 1);
}

TEST(WhenAll, VectorOfTenThousand) {
    auto out = dspy::run(many(10000));
    ASSERT_EQ(out.size(), 10000u);
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], i);
}

TEST(WhenAll, RethrowsAfterAllChildrenFinish) {
    int finished = 0;
    EXPECT_EQ(dspy::run(with_failure(finished)), 1);
}

TEST(WhenAll, EmptyAndVoid) {
    EXPECT_EQ(dspy::run(empty_vector()), 0u);
    EXPECT_EQ(dspy::run(void_vector()), 10);
}

TEST(WhenAll, Nested) { EXPECT_TRUE(dspy::run(runs_concurrently())); }
