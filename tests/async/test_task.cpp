// Task basics: laziness, values, references, exceptions, move-only ownership, symmetric transfer depth.
#include "dspy/async/task.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "dspy/async/run.hpp"
#include "dspy/utils/exceptions.hpp"

namespace {

dspy::Task<int> forty_two() { co_return 42; }

dspy::Task<int> add_one(int x) {
    int v = co_await forty_two();
    co_return v + x;
}

dspy::Task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

dspy::Task<int> throws_value_error() {
    throw dspy::ValueError("bad value");
    co_return 0;
}

dspy::Task<int> catches() {
    try {
        (void)co_await throws_value_error();
    } catch (const dspy::ValueError& e) {
        co_return static_cast<int>(std::string(e.what()).size());
    }
    co_return -1;
}

int global_value = 7;
dspy::Task<int&> ref_task() { co_return global_value; }

dspy::Task<std::unique_ptr<int>> move_only() { co_return std::make_unique<int>(5); }

dspy::Task<int> chain(int depth) {
    if (depth == 0) co_return 0;
    int v = co_await chain(depth - 1);
    co_return v + 1;
}

dspy::Task<int> await_lvalue() {
    auto t = forty_two();
    int& v = co_await t;  // lvalue await yields a reference into the task
    co_return v;
}

}  // namespace

TEST(Task, IsLazyUntilRun) {
    bool flag = false;
    auto t = set_flag(flag);
    EXPECT_FALSE(flag);
    EXPECT_TRUE(t.valid());
    EXPECT_FALSE(t.done());
    dspy::run(std::move(t));
    EXPECT_TRUE(flag);
}

TEST(Task, ReturnsValuesThroughAwaits) {
    EXPECT_EQ(dspy::run(forty_two()), 42);
    EXPECT_EQ(dspy::run(add_one(1)), 43);
}

TEST(Task, PropagatesExceptions) {
    EXPECT_THROW(dspy::run(throws_value_error()), dspy::ValueError);
    EXPECT_EQ(dspy::run(catches()), 9);
}

TEST(Task, ReferenceAndMoveOnlyResults) {
    int& r = dspy::run(ref_task());
    EXPECT_EQ(&r, &global_value);
    auto p = dspy::run(move_only());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 5);
    EXPECT_EQ(dspy::run(await_lvalue()), 42);
}

TEST(Task, DeepChainsUseSymmetricTransfer) {
#if defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
    GTEST_SKIP() << "g++ with AddressSanitizer does not turn symmetric transfer into a tail call";
#endif
    // Without symmetric transfer 100000 nested resumes would overflow the stack.
    EXPECT_EQ(dspy::run(chain(100000)), 100000);
}

TEST(Task, MovedFromTaskIsEmpty) {
    auto a = forty_two();
    auto b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_THROW(dspy::run(std::move(a)), std::logic_error);
    EXPECT_EQ(dspy::run(std::move(b)), 42);
}

TEST(Task, DestroyingAnUnstartedTaskRunsNothing) {
    bool flag = false;
    { auto t = set_flag(flag); }
    EXPECT_FALSE(flag);
}
