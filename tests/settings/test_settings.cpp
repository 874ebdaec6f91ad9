// Settings: configure ownership (DSPy's messages), context snapshot semantics, and propagation across tasks
// and threads (modelled on folly's coro RequestContextTest and DSPy's tests/utils/test_settings.py).
#include "dspy/settings/settings.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/thread_pool.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/base_lm.hpp"

using namespace std::chrono_literals;

namespace {

class FakeLM : public dspy::BaseLM {
public:
    explicit FakeLM(std::string model) : BaseLM(std::move(model)) {}
    dspy::LMResponse forward(const dspy::Messages&, const dspy::Json&) override {
        return {{dspy::LMOutput{model_, dspy::Json::object()}}};
    }
};

class Settings : public ::testing::Test {
protected:
    void SetUp() override { dspy::detail::reset_settings_for_testing(); }
    void TearDown() override { dspy::detail::reset_settings_for_testing(); }
};

int num_threads() { return dspy::settings()->num_threads; }

std::string marker() { return dspy::settings()->get("marker", "none").get<std::string>(); }

dspy::SettingsOverrides with_marker(const std::string& m) {
    dspy::SettingsOverrides o;
    o.extra = dspy::Json{{"marker", m}};
    return o;
}

// ---- coroutine helpers (no braced lists or lambdas inside co_await expressions: g++-12 rules) ----------

dspy::Task<void> configure_in_task(int n) {
    dspy::configure({.num_threads = n});
    co_return;
}

void sync_helper_configure() { dspy::configure({.num_threads = 5}); }

dspy::Task<void> configure_via_sync_helper() {
    sync_helper_configure();
    co_return;
}

dspy::Task<int> context_in_task() {
    auto scope = dspy::context({.num_threads = 9});
    co_await dspy::sleep(1ms);
    co_return num_threads();
}

dspy::Task<std::string> configure_owner_scenario() {
    std::string log;
    co_await configure_in_task(2);  // the root task owns configure now
    dspy::configure({.num_threads = 3});  // the same task again: fine
    log += std::to_string(num_threads());
    std::vector<dspy::Task<void>> others;
    others.push_back(configure_in_task(4));
    try {
        co_await dspy::when_all(std::move(others));
    } catch (const std::runtime_error& e) {
        log += std::string("|") + e.what();
    }
    std::vector<dspy::Task<void>> via_helper;
    via_helper.push_back(configure_via_sync_helper());
    try {
        co_await dspy::when_all(std::move(via_helper));
    } catch (const std::runtime_error& e) {
        log += std::string("|") + (std::string(e.what()).rfind("dspy.configure(...) can only be called from the same async", 0) == 0 ? "helper" : "other");
    }
    std::vector<dspy::Task<int>> ctx;
    ctx.push_back(context_in_task());
    auto v = co_await dspy::when_all(std::move(ctx));
    log += "|" + std::to_string(v[0]) + "|" + std::to_string(num_threads());
    co_return log;
}

dspy::Task<int> hop_there_and_back(dspy::ThreadPool& pool) {
    auto scope = dspy::context({.num_threads = 21});
    dspy::EventLoop* loop = dspy::EventLoop::current();
    co_await pool.schedule();
    int on_worker = num_threads();
    co_await loop->schedule();
    int back = num_threads();
    co_return on_worker * 100 + back;
}

// A task woken by another task that runs under a different context keeps its own.
struct Event {
    std::coroutine_handle<> waiter;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiter = h; }
    void await_resume() const noexcept {}
};

dspy::Task<std::string> waits(Event& ev) {
    auto scope = dspy::context(with_marker("waiter"));
    co_await ev;
    co_return marker();
}

dspy::Task<std::string> wakes(Event& ev) {
    auto scope = dspy::context(with_marker("waker"));
    co_await dspy::sleep(1ms);
    dspy::resume_inline(ev.waiter);  // runs the waiter inline, from inside our context
    co_return marker();
}

dspy::Task<std::string> wakes_by_post(Event& ev) {
    auto scope = dspy::context(with_marker("waker"));
    co_await dspy::sleep(1ms);
    dspy::EventLoop::current()->post(ev.waiter);  // asyncio's way: the waiter runs later, on the loop
    co_return marker();
}

dspy::Task<std::string> wake_scenario() {
    Event ev;
    auto [a, b] = co_await dspy::when_all(waits(ev), wakes(ev));
    Event ev2;
    auto [c, d] = co_await dspy::when_all(waits(ev2), wakes_by_post(ev2));
    co_return a + "," + b + "," + c + "," + d + "," + marker();
}

// when_all children inherit the parent's context at fork; their overrides reach neither parent nor siblings.
dspy::Task<std::string> child(std::string own, int delay_ms) {
    std::string seen_at_start = marker();
    auto scope = dspy::context(with_marker(own));
    co_await dspy::sleep(std::chrono::milliseconds(delay_ms));
    co_return seen_at_start + ">" + marker();
}

dspy::Task<std::string> leaky_child() {
    // An unbalanced override (no scope) would leak in Python if awaited directly; a when_all child is a task.
    auto* leaked = new dspy::ContextScope(dspy::context(with_marker("leak")));
    co_await dspy::sleep(1ms);
    delete leaked;
    co_return marker();
}

dspy::Task<std::string> fork_scenario() {
    auto scope = dspy::context(with_marker("parent"));
    auto [a, b] = co_await dspy::when_all(child("a", 3), child("b", 1));
    std::string after = marker();
    co_return a + "," + b + "," + after;
}

std::unique_ptr<dspy::ContextScope> g_kept_scope;

dspy::Task<void> leave_override_behind() {
    // Leaves an override behind on purpose (the scope outlives the task).
    g_kept_scope = std::make_unique<dspy::ContextScope>(dspy::context(with_marker("inner")));
    co_return;
}

dspy::Task<std::string> directly_awaited_child_cannot_change_parent() {
    auto scope = dspy::context(with_marker("parent"));
    co_await leave_override_behind();
    co_return marker();
}

// A spawned task starts with the spawner's snapshot at spawn time; its own overrides stay inside it.
dspy::Task<void> spawned(std::string& seen, std::string& seen_after_override) {
    seen = marker();
    auto scope = dspy::context(with_marker("spawned"));
    co_await dspy::sleep(1ms);
    seen_after_override = marker();
}

dspy::Task<std::string> spawn_scenario(std::string& seen, std::string& seen_after_override) {
    {
        auto scope = dspy::context(with_marker("spawner"));
        dspy::spawn(spawned(seen, seen_after_override));
    }
    co_await dspy::sleep(20ms);
    co_return marker();
}

// DSPy's test_dspy_context_with_async_task_group: four tasks, each with its own LM and trace.
dspy::Task<std::string> per_task_lm(std::shared_ptr<FakeLM> lm) {
    auto scope = dspy::context({.lm = lm, .trace = std::make_shared<dspy::Trace>()});
    co_await dspy::sleep(std::chrono::milliseconds(1));
    auto s = dspy::settings();
    auto out = (*s->lm)(dspy::Messages{});
    dspy::TraceEntry entry;
    entry.inputs = dspy::Json{{"question", "q"}};
    entry.prediction = dspy::Prediction(dspy::Json{{"answer", out[0].text}});
    s->trace->append(std::move(entry), s->max_trace_size);
    co_await dspy::sleep(std::chrono::milliseconds(1));
    auto after = dspy::settings();
    co_return after->lm->model() + ":" + std::to_string(after->trace->size()) + ":" +
        after->trace->entries()[0].prediction.at("answer").get<std::string>();
}

dspy::Task<std::vector<std::string>> task_group(std::vector<std::shared_ptr<FakeLM>> lms) {
    auto scope = dspy::context({.lm = std::make_shared<FakeLM>("outer")});
    std::vector<dspy::Task<std::string>> tasks;
    for (auto& lm : lms) tasks.push_back(per_task_lm(lm));
    auto out = co_await dspy::when_all(std::move(tasks));
    out.push_back(dspy::settings()->lm->model());
    co_return out;
}

}  // namespace

TEST_F(Settings, BasicConfigure) {
    auto lm = std::make_shared<FakeLM>("m");
    dspy::configure({.lm = lm, .num_threads = 4});
    EXPECT_EQ(dspy::settings()->lm, lm);
    EXPECT_EQ(num_threads(), 4);
    EXPECT_EQ(dspy::settings()->async_max_workers, 8);
    EXPECT_EQ(dspy::settings()->get("num_threads"), 4);
    EXPECT_TRUE(dspy::settings()->contains("lm"));
    EXPECT_FALSE(dspy::settings()->contains("nope"));
    EXPECT_EQ(dspy::settings()->get("nope", 1), 1);
}

TEST_F(Settings, ConfigureFromAnotherThreadIsRefused) {
    dspy::configure({.num_threads = 2});
    std::string message;
    std::thread t([&] {
        try {
            dspy::configure({.num_threads = 3});
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
    });
    t.join();
    EXPECT_EQ(message, "dspy.settings can only be changed by the thread that initially configured it.");
    EXPECT_EQ(num_threads(), 2);
}

TEST_F(Settings, ConfigureOwnerTask) {
    EXPECT_EQ(dspy::run(configure_owner_scenario()),
              "3|dspy.configure(...) can only be called from the same async task that called it first. Please "
              "use `dspy.context(...)` in other async tasks instead.|helper|9|3");
}

TEST_F(Settings, ConfigureOutsideTasksAfterATaskOwnsIt) {
    // Calls outside any task skip the task check (DSPy: asyncio.current_task() is None).
    dspy::run(configure_in_task(2));
    dspy::configure({.num_threads = 6});
    EXPECT_EQ(num_threads(), 6);
    EXPECT_THROW(dspy::run(configure_in_task(3)), std::runtime_error);  // a new task is another task
}

TEST_F(Settings, ContextOverridesAndRestores) {
    dspy::configure({.num_threads = 3});
    {
        auto scope = dspy::context({.num_threads = 5, .extra = dspy::Json{{"k", 1}}});
        EXPECT_EQ(num_threads(), 5);
        EXPECT_EQ(dspy::settings()->get("k"), 1);
        {
            auto inner = dspy::context({.max_errors = 1});
            EXPECT_EQ(num_threads(), 5);  // nested contexts stack
            EXPECT_EQ(dspy::settings()->max_errors, 1);
        }
        EXPECT_EQ(dspy::settings()->max_errors, 10);
    }
    EXPECT_EQ(num_threads(), 3);
    EXPECT_EQ(dspy::settings()->get("k"), nullptr);
}

TEST_F(Settings, ConfigureInsideContextIsNotVisibleInside) {
    dspy::configure({.num_threads = 3});
    {
        auto scope = dspy::context({.max_errors = 2});
        dspy::configure({.num_threads = 7});
        EXPECT_EQ(num_threads(), 3);  // DSPy §7.3: the block holds a snapshot of everything
    }
    EXPECT_EQ(num_threads(), 7);
}

TEST_F(Settings, ContextsInPlainThreadsAreIsolated) {
    dspy::configure({.num_threads = 3});
    std::vector<std::thread> threads;
    std::vector<int> seen(4);
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([i, &seen] {
            auto scope = dspy::context({.num_threads = 10 + i});
            std::this_thread::sleep_for(1ms);
            seen[static_cast<std::size_t>(i)] = num_threads();
        });
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 10 + i);
    EXPECT_EQ(num_threads(), 3);
}

TEST_F(Settings, PlainThreadsSeeOnlyGlobals) {
    auto scope = dspy::context({.num_threads = 11});
    int seen = 0;
    std::thread t([&] { seen = num_threads(); });
    t.join();
    EXPECT_EQ(seen, 8);
}

TEST_F(Settings, TaskKeepsContextWhenResumedOnAnotherThread) {
    dspy::ThreadPool pool(1);
    EXPECT_EQ(dspy::run(hop_there_and_back(pool)), 2121);
    EXPECT_EQ(num_threads(), 8);
}

TEST_F(Settings, TaskWokenFromAnotherContextKeepsItsOwn) {
    EXPECT_EQ(dspy::run(wake_scenario()), "waiter,waker,waiter,waker,none");
}

TEST_F(Settings, WhenAllChildrenInheritAtForkAndNeverLeak) {
    EXPECT_EQ(dspy::run(fork_scenario()), "parent>a,parent>b,parent");
}

TEST_F(Settings, ChildLeakIsContained) {
    EXPECT_EQ(dspy::run(dspy::when_all(leaky_child(), leaky_child())), std::make_tuple(std::string("none"), std::string("none")));
    EXPECT_EQ(dspy::run(directly_awaited_child_cannot_change_parent()), "parent");
    EXPECT_EQ(marker(), "none");
    g_kept_scope.reset();
}

TEST_F(Settings, RunStartsWithTheCallersContext) {
    auto scope = dspy::context(with_marker("caller"));
    auto t = []() -> dspy::Task<std::string> { co_return marker(); };
    EXPECT_EQ(dspy::run(t()), "caller");
    EXPECT_EQ(marker(), "caller");
}

TEST_F(Settings, SpawnInheritsAtSpawnTime) {
    std::string seen, seen_after;
    EXPECT_EQ(dspy::run(spawn_scenario(seen, seen_after)), "none");
    EXPECT_EQ(seen, "spawner");
    EXPECT_EQ(seen_after, "spawned");
}

TEST_F(Settings, AsyncTaskGroupEachWithItsOwnLM) {
    std::vector<std::shared_ptr<FakeLM>> lms;
    for (int i = 0; i < 4; ++i) lms.push_back(std::make_shared<FakeLM>("lm-" + std::to_string(i)));
    auto out = dspy::run(task_group(lms));
    ASSERT_EQ(out.size(), 5u);
    for (int i = 0; i < 4; ++i) {
        const std::string m = "lm-" + std::to_string(i);
        EXPECT_EQ(out[static_cast<std::size_t>(i)], m + ":1:" + m);
    }
    EXPECT_EQ(out[4], "outer");
    EXPECT_EQ(dspy::settings()->lm, nullptr);
    EXPECT_EQ(dspy::settings()->trace->size(), 0u);  // the global trace is untouched
}

TEST_F(Settings, TraceCapAndDisable) {
    auto trace = std::make_shared<dspy::Trace>();
    for (int i = 0; i < 5; ++i) trace->append(dspy::TraceEntry{nullptr, i, {}}, 3);
    ASSERT_EQ(trace->size(), 3u);
    EXPECT_EQ(trace->entries()[0].inputs, 2);
    trace->append(dspy::TraceEntry{}, 0);
    EXPECT_EQ(trace->size(), 3u);
    auto scope = dspy::context({.trace = std::shared_ptr<dspy::Trace>()});
    EXPECT_EQ(dspy::settings()->trace, nullptr);
}

// record() keeps a one-completion prediction once and rebuilds it: entries() must give back what was recorded.
TEST_F(Settings, TraceRecordGivesBackWhatWasRecorded) {
    auto trace = std::make_shared<dspy::Trace>();
    dspy::Prediction one = dspy::Prediction::from_completions({dspy::Json{{"answer", "4"}, {"note", "x"}}});
    one.set_lm_usage(dspy::Json{{"openai/m", {{"total_tokens", 7}}}});
    dspy::Prediction two = dspy::Prediction::from_completions({dspy::Json{{"answer", "a"}}, dspy::Json{{"answer", "b"}}});
    dspy::Prediction edited = dspy::Prediction::from_completions({dspy::Json{{"answer", "old"}}});
    edited["answer"] = "new";  // fields no longer equal the one completion
    const dspy::Json inputs = {{"question", "2+2?"}};
    trace->record(nullptr, inputs, one, 10);
    trace->record(nullptr, inputs, two, 10);
    trace->record(nullptr, inputs, edited, 10);
    auto e = trace->entries();
    ASSERT_EQ(e.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(e[i].inputs, inputs);
    EXPECT_EQ(e[0].prediction.data(), one.data());
    EXPECT_EQ(e[0].prediction.completions(), one.completions());
    EXPECT_EQ(e[0].prediction.get_lm_usage(), one.get_lm_usage());
    EXPECT_EQ(e[1].prediction.data(), two.data());
    EXPECT_EQ(e[1].prediction.completions(), two.completions());
    EXPECT_EQ(e[2].prediction.data(), edited.data());
    EXPECT_EQ(e[2].prediction.completions(), edited.completions());
    trace->record(nullptr, inputs, one, 2);  // full: DSPy pops one, then appends
    ASSERT_EQ(trace->size(), 3u);
    EXPECT_EQ(trace->entries()[0].prediction.completions(), two.completions());
    EXPECT_EQ(trace->entries()[2].prediction.completions(), one.completions());
    trace->record(nullptr, inputs, one, 0);
    EXPECT_EQ(trace->size(), 3u);
}

TEST_F(Settings, BadExtraIsRejected) {
    EXPECT_THROW(dspy::configure({.extra = dspy::Json::array()}), dspy::TypeError);
}
