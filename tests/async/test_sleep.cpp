// sleep, with_timeout and with_cancellation: waits observe the task's stop token.
#include "dspy/async/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <thread>

#include "dspy/async/run.hpp"
#include "dspy/async/thread_pool.hpp"
#include "dspy/async/when_all.hpp"

using namespace std::chrono_literals;

namespace {

dspy::Task<int> slow(int v, std::chrono::milliseconds d) {
    co_await dspy::sleep(d);
    co_return v;
}

dspy::Task<int> fast_enough() { co_return co_await dspy::with_timeout(slow(5, 1ms), 10s); }

dspy::Task<int> too_slow() { co_return co_await dspy::with_timeout(slow(5, 1h), 10ms); }

dspy::Task<bool> child_sees_cancellation(bool& child_cancelled) {
    auto child = [](bool& flag) -> dspy::Task<void> {
        try {
            co_await dspy::sleep(1h);
        } catch (const dspy::CancelledError&) {
            flag = true;
            throw;
        }
    };
    auto t = child(child_cancelled);
    try {
        co_await dspy::with_timeout(std::move(t), 5ms);
    } catch (const dspy::TimeoutError&) {
        co_return true;
    }
    co_return false;
}

dspy::Task<bool> external_stop(std::stop_source& src) {
    std::thread stopper([&src] {
        std::this_thread::sleep_for(5ms);
        src.request_stop();  // from a foreign thread
    });
    bool cancelled = false;
    try {
        (void)co_await dspy::with_cancellation(slow(1, 1h), src.get_token());
    } catch (const dspy::CancelledError&) {
        cancelled = true;
    }
    stopper.join();
    co_return cancelled;
}

dspy::Task<bool> stop_token_visible() {
    auto inner = []() -> dspy::Task<bool> {
        auto tok = co_await dspy::get_stop_token();
        co_return tok.stop_possible();
    };
    bool outside = co_await inner();  // run() gives every root a stop token
    std::stop_source src;
    bool inside = co_await dspy::with_cancellation(inner(), src.get_token());
    co_return outside && inside;
}

dspy::Task<int> timeout_cancels_all_children() {
    std::vector<dspy::Task<int>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(slow(i, 1h));
    try {
        (void)co_await dspy::with_timeout(dspy::when_all(std::move(tasks)), 5ms);
    } catch (const dspy::TimeoutError&) {
        co_return 1;
    }
    co_return 0;
}

dspy::Task<void> sleep_on_worker(dspy::ThreadPool& pool) {
    co_await pool.schedule();
    co_await dspy::sleep(1ms);  // no loop on a worker
}

}  // namespace

TEST(Sleep, WithTimeoutReturnsValueInTime) { EXPECT_EQ(dspy::run(fast_enough()), 5); }

TEST(Sleep, WithTimeoutThrowsTimeoutError) { EXPECT_THROW(dspy::run(too_slow()), dspy::TimeoutError); }

TEST(Sleep, TimeoutCancelsTheChildsWait) {
    bool child_cancelled = false;
    EXPECT_TRUE(dspy::run(child_sees_cancellation(child_cancelled)));
    EXPECT_TRUE(child_cancelled);
}

TEST(Sleep, StopFromAnotherThreadCancels) {
    std::stop_source src;
    EXPECT_TRUE(dspy::run(external_stop(src)));
}

TEST(Sleep, GetStopToken) { EXPECT_TRUE(dspy::run(stop_token_visible())); }

TEST(Sleep, TimeoutReachesEveryWhenAllChild) { EXPECT_EQ(dspy::run(timeout_cancels_all_children()), 1); }

TEST(Sleep, NeedsALoop) {
    dspy::ThreadPool pool(1);
    EXPECT_THROW(dspy::run(sleep_on_worker(pool)), std::logic_error);
}
