// ThreadPool: schedule() moves a task onto a worker; submit() runs functions with the submitter's settings.
#include "dspy/async/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <thread>

#include "dspy/async/run.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/settings/settings.hpp"

namespace {

dspy::Task<bool> hop(dspy::ThreadPool& pool) {
    const auto loop_thread = std::this_thread::get_id();
    co_await pool.schedule();
    const bool on_worker = std::this_thread::get_id() != loop_thread && dspy::EventLoop::current() == nullptr;
    co_return on_worker;
}

dspy::Task<int> hop_and_back(dspy::ThreadPool& pool) {
    dspy::EventLoop* loop = dspy::EventLoop::current();
    const auto loop_thread = std::this_thread::get_id();
    co_await pool.schedule();
    co_await loop->schedule();
    co_return std::this_thread::get_id() == loop_thread ? 1 : 0;
}

dspy::Task<int> square_on_worker(dspy::ThreadPool& pool, int x) {
    co_await pool.schedule();
    co_return x * x;
}

dspy::Task<int> many_on_workers(dspy::ThreadPool& pool) {
    std::vector<dspy::Task<int>> tasks;
    for (int i = 0; i < 100; ++i) tasks.push_back(square_on_worker(pool, i));
    auto out = co_await dspy::when_all(std::move(tasks));
    int sum = 0;
    for (int v : out) sum += v;
    co_return sum;
}

}  // namespace

TEST(ThreadPool, ScheduleResumesOnAWorker) {
    dspy::ThreadPool pool(2);
    EXPECT_TRUE(dspy::run(hop(pool)));
    EXPECT_EQ(dspy::run(hop_and_back(pool)), 1);
}

TEST(ThreadPool, ManyTasksOnWorkers) {
    dspy::ThreadPool pool(4);
    int expect = 0;
    for (int i = 0; i < 100; ++i) expect += i * i;
    EXPECT_EQ(dspy::run(many_on_workers(pool)), expect);
}

TEST(ThreadPool, SubmitRunsAllJobsAndMoveOnlyCallables) {
    std::atomic<int> count{0};
    {
        dspy::ThreadPool pool(3);
        for (int i = 0; i < 50; ++i) pool.submit([&count] { count.fetch_add(1); });
        auto p = std::make_unique<int>(4);
        pool.submit([&count, p = std::move(p)] { count.fetch_add(*p); });
    }  // the destructor runs what is queued
    EXPECT_EQ(count.load(), 54);
}

TEST(ThreadPool, SubmitCarriesTheSubmittersSettings) {
    dspy::detail::reset_settings_for_testing();
    dspy::ThreadPool pool(1);
    std::atomic<int> seen{0}, after{0};
    std::latch done(2);
    {
        auto scope = dspy::context({.num_threads = 3});
        pool.submit([&] {
            seen = dspy::settings()->num_threads;
            done.count_down();
        });
    }
    pool.submit([&] {
        after = dspy::settings()->num_threads;  // the worker went back to its own (global) settings
        done.count_down();
    });
    done.wait();
    EXPECT_EQ(seen.load(), 3);
    EXPECT_EQ(after.load(), 8);
}

TEST(ThreadPool, ElasticGrowsUnderLoad) {
    std::latch all(4);  // declared first: the pool joins its workers (still inside wait()) before it goes
    dspy::ThreadPool pool(0, 4);
    EXPECT_EQ(pool.size(), 0u);
    for (int i = 0; i < 4; ++i)
        pool.submit([&all] {
            all.count_down();
            all.wait();  // needs four workers at once
        });
    all.wait();
    EXPECT_EQ(pool.size(), 4u);
}
