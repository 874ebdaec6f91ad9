// run / sync_wait / spawn and the event loop's cross-thread post.
#include "dspy/async/run.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "dspy/async/sleep.hpp"
#include "dspy/async/thread_pool.hpp"

using namespace std::chrono_literals;

namespace {

dspy::Task<bool> has_loop() { co_return dspy::EventLoop::current() != nullptr; }

dspy::Task<int> three() { co_return 3; }

dspy::Task<int> nested_run() {
    // A sync entry point called inside a task (nest_asyncio style) runs its own loop; the outer one waits.
    dspy::EventLoop* outer = dspy::EventLoop::current();
    int inner = dspy::run(three());
    co_return inner + (dspy::EventLoop::current() == outer ? 0 : 100);
}

struct PostAwaiter {
    std::thread* worker;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        dspy::EventLoop* loop = dspy::EventLoop::current();
        *worker = std::thread([loop, h] { loop->post(h); });  // a foreign thread hands the continuation back
    }
    std::thread::id await_resume() const noexcept { return std::this_thread::get_id(); }
};

dspy::Task<bool> resumed_on_loop_thread() {
    std::thread worker;
    const auto me = std::this_thread::get_id();
    PostAwaiter aw{&worker};
    const auto there = co_await aw;
    worker.join();
    co_return there == me;
}

dspy::Task<void> record(std::vector<int>& out, int v) {
    co_await dspy::sleep(1ms);
    out.push_back(v);
}

dspy::Task<int> spawner(std::vector<int>& out) {
    dspy::spawn(record(out, 1));
    dspy::spawn(record(out, 2));
    co_await dspy::sleep(50ms);
    co_return static_cast<int>(out.size());
}

dspy::Task<void> sleeps_forever(bool& cancelled) {
    try {
        co_await dspy::sleep(1h);
    } catch (const dspy::CancelledError&) {
        cancelled = true;
        throw;
    }
}

dspy::Task<void> leaves_a_task_behind(bool& cancelled) {
    dspy::spawn(sleeps_forever(cancelled));
    co_return;
}

dspy::Task<int> plain() { co_return 11; }

dspy::Task<int> sync_wait_inside() { co_return dspy::sync_wait(plain()); }

}  // namespace

TEST(Run, RunsOnCallingThreadWithALoop) {
    EXPECT_EQ(dspy::EventLoop::current(), nullptr);
    EXPECT_TRUE(dspy::run(has_loop()));
    EXPECT_EQ(dspy::EventLoop::current(), nullptr);
}

TEST(Run, ForeignThreadPostsResumeOnTheLoopThread) { EXPECT_TRUE(dspy::run(resumed_on_loop_thread())); }

TEST(Run, SpawnedTasksRunConcurrently) {
    std::vector<int> out;
    EXPECT_EQ(dspy::run(spawner(out)), 2);
}

TEST(Run, RunCancelsWhatSpawnedTasksLeftRunning) {
    bool cancelled = false;
    dspy::run(leaves_a_task_behind(cancelled));
    EXPECT_TRUE(cancelled);
}

TEST(Run, SpawnOutsideALoopIsAnError) { EXPECT_THROW(dspy::spawn(plain()), std::logic_error); }

TEST(Run, SyncWaitBlocksANonLoopThread) {
    int v = 0;
    std::thread t([&] { v = dspy::sync_wait(plain()); });
    t.join();
    EXPECT_EQ(v, 11);
    EXPECT_NO_THROW(dspy::sync_wait(dspy::sleep(1ms)));
}

TEST(Run, SyncWaitInsideALoopIsAnError) {
    EXPECT_THROW(dspy::run(sync_wait_inside()), std::logic_error);
}

TEST(Run, NestedRunInsideATask) { EXPECT_EQ(dspy::run(nested_run()), 3); }
