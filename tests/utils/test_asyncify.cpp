// asyncify: runs on a worker with the caller's settings, one global limiter following async_max_workers,
// cancellation abandons, exceptions propagate. @sa DSPy tests/utils/test_asyncify.py
#include "dspy/utils/asyncify.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"

using namespace std::chrono_literals;

namespace {

class Asyncify : public ::testing::Test {
protected:
    void SetUp() override { dspy::detail::reset_settings_for_testing(); }
    void TearDown() override { dspy::detail::reset_settings_for_testing(); }
};

int triple(int x) { return 3 * x; }

// Jobs wait until `target` of them run at once (proving that much concurrency) and record the maximum.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    int max_running = 0;
    int target;
    bool open = false;
    explicit Gate(int t) : target(t) {}
    int operator()() {
        std::unique_lock lk(mu);
        ++running;
        max_running = std::max(max_running, running);
        if (running >= target) open = true;
        cv.notify_all();
        cv.wait_for(lk, 10s, [&] { return open; });
        --running;
        return 0;
    }
};

dspy::Task<int> run_gated(Gate& gate, int n) {
    auto agate = dspy::asyncify(gate);
    std::vector<dspy::Task<int>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(agate());
    auto out = co_await dspy::when_all(std::move(tasks));
    co_return static_cast<int>(out.size());
}

dspy::Task<int> run_gated_with_workers(Gate& gate, int n, int workers) {
    auto scope = dspy::context({.async_max_workers = workers});
    co_return co_await run_gated(gate, n);
}

dspy::Task<bool> runs_on_worker() {
    auto here = std::this_thread::get_id();
    auto aid = dspy::asyncify([] { return std::this_thread::get_id(); });
    auto there = co_await aid();
    co_return there != here && std::this_thread::get_id() == here;
}

dspy::Task<std::string> inherits_context() {
    auto scope = dspy::context({.extra = dspy::Json{{"who", "caller"}}});
    auto read = dspy::asyncify([] { return dspy::settings()->get("who", "none").get<std::string>(); });
    co_return co_await read();
}

dspy::Task<int> value_and_args() {
    auto atriple = dspy::asyncify(triple);
    int a = co_await atriple(4);
    auto concat = dspy::asyncify([](const std::string& s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) out += s;
        return out;
    });
    std::string b = co_await concat(std::string("ab"), 2);
    co_return a + static_cast<int>(b.size());
}

dspy::Task<int> propagates() {
    auto boom = dspy::asyncify([]() -> int { throw dspy::ValueError("boom"); });
    try {
        (void)co_await boom();
    } catch (const dspy::ValueError& e) {
        co_return std::string(e.what()) == "boom" ? 1 : 2;
    }
    co_return 0;
}

struct Blocker {
    std::mutex mu;
    std::condition_variable cv;
    bool started = false;
    bool release = false;
    bool finished = false;
    void operator()() {
        std::unique_lock lk(mu);
        started = true;
        cv.notify_all();
        cv.wait_for(lk, 10s, [&] { return release; });
        finished = true;
    }
};

dspy::Task<bool> abandon(Blocker& b) {
    auto ablock = dspy::asyncify(b);
    try {
        co_await dspy::with_timeout(ablock(), 5ms);
    } catch (const dspy::TimeoutError&) {
        co_return true;  // returned while the worker is still blocked
    }
    co_return false;
}

class Doubler : public dspy::Module {
public:
    dspy::Prediction forward(const dspy::Inputs& in) override {
        return dspy::Prediction(dspy::Json{{"y", in.at("x").get<int>() * 2}});
    }
};

dspy::Task<int> module_call(Doubler& m) {
    auto am = dspy::asyncify(m);
    dspy::Inputs in1 = {{"x", 2}};
    dspy::Inputs in2 = {{"x", 5}};
    auto [a, b] = co_await dspy::when_all(am(in1), am(in2));
    co_return a.at("y").get<int>() + b.at("y").get<int>();
}

}  // namespace

TEST_F(Asyncify, LimiterIsOneGlobalFollowingSettings) {
    auto& l = dspy::get_async_limiter();
    EXPECT_EQ(l.total_tokens(), 8u);
    {
        auto scope = dspy::context({.async_max_workers = 16});
        EXPECT_EQ(&dspy::get_async_limiter(), &l);
        EXPECT_EQ(l.total_tokens(), 16u);
    }
    EXPECT_EQ(dspy::get_async_limiter().total_tokens(), 8u);
}

TEST_F(Asyncify, RunsOnAWorkerAndComesBack) { EXPECT_TRUE(dspy::run(runs_on_worker())); }

TEST_F(Asyncify, InheritsTheCallersContext) { EXPECT_EQ(dspy::run(inherits_context()), "caller"); }

TEST_F(Asyncify, ValuesArgumentsAndExceptions) {
    EXPECT_EQ(dspy::run(value_and_args()), 16);
    EXPECT_EQ(dspy::run(propagates()), 1);
}

TEST_F(Asyncify, WorksWithAModule) {
    Doubler m;
    EXPECT_EQ(dspy::run(module_call(m)), 14);
}

TEST_F(Asyncify, CapacityHonouredAndResized) {
    // (C, N) as in DSPy's test_asyncify: never more than C at once, and C reached.
    for (auto [c, n] : {std::pair{4, 10}, std::pair{8, 15}, std::pair{2, 5}}) {
        Gate gate(c);
        EXPECT_EQ(dspy::run(run_gated_with_workers(gate, n, c)), n);
        EXPECT_EQ(gate.max_running, c) << "capacity " << c;
    }
    Gate gate(8);  // default capacity
    EXPECT_EQ(dspy::run(run_gated(gate, 12)), 12);
    EXPECT_EQ(gate.max_running, 8);
}

TEST_F(Asyncify, CancellationAbandonsButKeepsThePermit) {
    dspy::configure({.async_max_workers = 1});
    Blocker b;
    EXPECT_TRUE(dspy::run(abandon(b)));
    {
        std::unique_lock lk(b.mu);
        EXPECT_TRUE(b.started);
        EXPECT_FALSE(b.finished);
    }
    EXPECT_EQ(dspy::get_async_limiter().borrowed_tokens(), 1u);  // held until the worker really ends
    {
        std::lock_guard lk(b.mu);
        b.release = true;
    }
    b.cv.notify_all();
    for (int i = 0; i < 1000 && dspy::get_async_limiter().borrowed_tokens() != 0; ++i)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(dspy::get_async_limiter().borrowed_tokens(), 0u);
}
