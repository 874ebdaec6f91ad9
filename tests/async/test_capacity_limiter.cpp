// CapacityLimiter: an async semaphore with a resizable total, FIFO waiters and cancellable waits.
#include "dspy/async/capacity_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"

using namespace std::chrono_literals;

namespace {

struct Stats {
    int running = 0;
    int max_running = 0;
};

dspy::Task<void> guarded(dspy::CapacityLimiter& l, Stats& s) {
    auto permit = co_await l.acquire();
    ++s.running;
    s.max_running = std::max(s.max_running, s.running);
    co_await dspy::sleep(2ms);
    --s.running;
}

dspy::Task<int> run_many(dspy::CapacityLimiter& l, int n) {
    Stats s;
    std::vector<dspy::Task<void>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(guarded(l, s));
    co_await dspy::when_all(std::move(tasks));
    co_return s.max_running;
}

dspy::Task<void> grow_later(dspy::CapacityLimiter& l) {
    co_await dspy::sleep(1ms);
    l.set_total_tokens(5);
}

dspy::Task<int> resized(dspy::CapacityLimiter& l) {
    Stats s;
    std::vector<dspy::Task<void>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(guarded(l, s));
    co_await dspy::when_all(dspy::when_all(std::move(tasks)), grow_later(l));
    co_return s.max_running;
}

dspy::Task<bool> cancelled_wait(dspy::CapacityLimiter& l) {
    auto held = co_await l.acquire();
    bool cancelled = false;
    auto waiter = [](dspy::CapacityLimiter& lim) -> dspy::Task<void> { auto p = co_await lim.acquire(); };
    try {
        co_await dspy::with_timeout(waiter(l), 5ms);
    } catch (const dspy::TimeoutError&) {
        cancelled = true;
    }
    co_return cancelled && l.waiting() == 0 && l.borrowed_tokens() == 1;
}

}  // namespace

TEST(CapacityLimiter, CountsTokens) {
    dspy::CapacityLimiter l(2);
    EXPECT_EQ(l.total_tokens(), 2u);
    EXPECT_TRUE(l.try_acquire());
    EXPECT_TRUE(l.try_acquire());
    EXPECT_FALSE(l.try_acquire());
    EXPECT_EQ(l.available_tokens(), 0u);
    l.release();
    EXPECT_EQ(l.borrowed_tokens(), 1u);
    l.release();
    EXPECT_THROW(dspy::CapacityLimiter(0), dspy::ValueError);
    EXPECT_THROW(l.set_total_tokens(0), dspy::ValueError);
}

TEST(CapacityLimiter, BoundsConcurrency) {
    dspy::CapacityLimiter l(3);
    int max_running = dspy::run(run_many(l, 20));
    EXPECT_LE(max_running, 3);
    EXPECT_GE(max_running, 1);
    EXPECT_EQ(l.borrowed_tokens(), 0u);
}

TEST(CapacityLimiter, GrowingWakesWaiters) {
    dspy::CapacityLimiter l(1);
    int max_running = dspy::run(resized(l));
    EXPECT_LE(max_running, 5);
    EXPECT_EQ(l.total_tokens(), 5u);
}

TEST(CapacityLimiter, CancelledWaitLeavesTheQueue) {
    dspy::CapacityLimiter l(1);
    EXPECT_TRUE(dspy::run(cancelled_wait(l)));
    EXPECT_EQ(l.borrowed_tokens(), 0u);
}
