// Costs of the async runtime's hot paths: an await that carries the settings context, when_all fan-out,
// context() enter/exit, an asyncify round trip.
#include <benchmark/benchmark.h>

#include <vector>

#include "dspy/async/run.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/asyncify.hpp"

namespace {

dspy::Task<int> leaf(int x) { co_return x + 1; }

// Suspends and resumes on the same thread through the context-restoring wrapper.
dspy::Task<void> await_loop(benchmark::State& state) {
    auto scope = dspy::context({.num_threads = 3});  // a real snapshot, so the capture copies a shared_ptr
    int acc = 0;
    for (auto _ : state) {
        acc = co_await leaf(acc);
        benchmark::DoNotOptimize(acc);
    }
}

void BM_AwaitTaskWithContextRestore(benchmark::State& state) { dspy::run(await_loop(state)); }
BENCHMARK(BM_AwaitTaskWithContextRestore);

dspy::Task<std::size_t> fan_out(int n) {
    std::vector<dspy::Task<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(leaf(i));
    auto out = co_await dspy::when_all(std::move(tasks));
    co_return out.size();
}

void BM_WhenAll10000(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(dspy::run(fan_out(10000)));
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_WhenAll10000)->Unit(benchmark::kMicrosecond);

void BM_ContextEnterExit(benchmark::State& state) {
    dspy::SettingsOverrides o;
    o.num_threads = 4;
    for (auto _ : state) {
        auto scope = dspy::context(o);
        benchmark::DoNotOptimize(&scope);
    }
}
BENCHMARK(BM_ContextEnterExit);

void BM_SettingsRead(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(dspy::settings()->num_threads);
}
BENCHMARK(BM_SettingsRead);

int plus_one(int x) { return x + 1; }

dspy::Task<void> asyncify_loop(benchmark::State& state) {
    auto f = dspy::asyncify(plus_one);
    int acc = 0;
    for (auto _ : state) {
        acc = co_await f(acc);
        benchmark::DoNotOptimize(acc);
    }
}

void BM_AsyncifyRoundTrip(benchmark::State& state) { dspy::run(asyncify_loop(state)); }
BENCHMARK(BM_AsyncifyRoundTrip)->Unit(benchmark::kMicrosecond);

}  // namespace
