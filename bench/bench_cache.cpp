// LM response cache: the cost of a hit (memory, fast path, disk) and of a put.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"

namespace {

// A typical chat completion (about 1 kB), the value a cache hit hands back.
dspy::Json sample_response() {
    return {{"id", "chatcmpl-AbCdEf0123456789"},
            {"object", "chat.completion"},
            {"created", 1732480000},
            {"model", "gpt-4o-mini-2024-07-18"},
            {"choices",
             dspy::Json::array({{{"index", 0},
                                 {"message",
                                  {{"role", "assistant"},
                                   {"content",
                                    "[[ ## reasoning ## ]]\nThe chicken crossed the kitchen to reach the other side, "
                                    "where the bread crumbs were.\n\n[[ ## answer ## ]]\nTo get to the crumbs.\n\n"
                                    "[[ ## completed ## ]]"},
                                   {"refusal", nullptr},
                                   {"tool_calls", nullptr}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", "stop"}}})},
            {"usage",
             {{"prompt_tokens", 412},
              {"completion_tokens", 38},
              {"total_tokens", 450},
              {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
              {"completion_tokens_details", {{"reasoning_tokens", 0}, {"audio_tokens", 0}}}}},
            {"system_fingerprint", "fp_0123456789"}};
}

std::string key_for(int i) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", static_cast<unsigned>(i) * 2654435761U);
    return buf;
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "dspy_bench_cache_XXXXXX").string();
        if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

constexpr int kKeys = 1000;

// Precomputed, so that the loops time the cache and not the key formatting.
const std::string& key(int i) {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (int j = 0; j < kKeys; ++j) k.push_back(key_for(j));
        return k;
    }();
    return keys[static_cast<std::size_t>(i % kKeys)];
}

void BM_MemoryHitGet(benchmark::State& state) {
    dspy::Cache cache({.enable_disk_cache = false});
    for (int i = 0; i < kKeys; ++i) cache.put(key(i), sample_response());
    int i = 0;
    for (auto _ : state) {
        auto hit = cache.get(key(i++));
        benchmark::DoNotOptimize(hit);
    }
}
BENCHMARK(BM_MemoryHitGet);

void BM_MemoryHitShared(benchmark::State& state) {
    static dspy::Cache* cache = nullptr;
    if (state.thread_index() == 0) {
        cache = new dspy::Cache({.enable_disk_cache = false});
        for (int i = 0; i < kKeys; ++i) cache->put(key(i), sample_response());
    }
    int i = state.thread_index() * 97;
    for (auto _ : state) {
        auto hit = cache->get_shared(key(i++));
        benchmark::DoNotOptimize(hit);
    }
    if (state.thread_index() == 0) {
        delete cache;
        cache = nullptr;
    }
}
BENCHMARK(BM_MemoryHitShared)->Threads(1)->Threads(2);

void BM_DiskHit(benchmark::State& state) {
    TempDir dir;
    // Memory layer off, so that every get reads the row from SQLite, parses it and stamps it.
    dspy::Cache cache({.enable_memory_cache = false, .disk_cache_dir = dir.path()});
    for (int i = 0; i < kKeys; ++i) cache.put(key(i), sample_response());
    cache.flush();
    int i = 0;
    for (auto _ : state) {
        auto hit = cache.get(key(i++));
        benchmark::DoNotOptimize(hit);
    }
}
BENCHMARK(BM_DiskHit);

void BM_DiskHitPromoted(benchmark::State& state) {
    TempDir dir;
    dspy::Cache cache({.disk_cache_dir = dir.path()});
    for (int i = 0; i < kKeys; ++i) cache.put(key(i), sample_response());
    cache.flush();
    int i = 0;
    for (auto _ : state) {
        if (i % kKeys == 0) {
            state.PauseTiming();
            cache.reset_memory_cache();
            state.ResumeTiming();
        }
        auto hit = cache.get_shared(key(i++));  // a disk hit, promoted to memory
        benchmark::DoNotOptimize(hit);
    }
}
BENCHMARK(BM_DiskHitPromoted);

void BM_PutMemory(benchmark::State& state) {
    dspy::Cache cache({.enable_disk_cache = false, .memory_max_entries = 100'000});
    const auto value = sample_response();
    int i = 0;
    for (auto _ : state) cache.put(key_for(i++), value);
}
BENCHMARK(BM_PutMemory);

void BM_PutMemoryAndDisk(benchmark::State& state) {
    TempDir dir;
    dspy::Cache cache({.disk_cache_dir = dir.path(), .memory_max_entries = 100'000});
    const auto value = sample_response();
    int i = 0;
    for (auto _ : state) cache.put(key_for(i++), value);  // the caller's share; the writer thread commits
    cache.flush();
}
BENCHMARK(BM_PutMemoryAndDisk);

void BM_PutCommitted(benchmark::State& state) {
    TempDir dir;
    dspy::Cache cache({.enable_memory_cache = false, .disk_cache_dir = dir.path()});
    const auto value = sample_response();
    int i = 0;
    for (auto _ : state) {
        cache.put(key_for(i++), value);
        cache.flush();  // one transaction per put: the worst case for the writer
    }
}
BENCHMARK(BM_PutCommitted);

}  // namespace

// The pieces of one LM memory-cache hit (dspy-bench's cache_hit_us): the key of a one-message request, and a
// whole sync LM::forward answered from memory.
const dspy::Messages& probe_messages() {
    static const dspy::Messages msgs = {{"user", "cache-hit probe"}};
    return msgs;
}

void BM_LMRequestKey(benchmark::State& state) {
    dspy::LM lm("openai/mock", {.api_base = "http://127.0.0.1:9"});
    const auto call = lm.build_request(dspy::messages_to_json(probe_messages()));
    for (auto _ : state) {
        auto k = call.key();
        benchmark::DoNotOptimize(k);
    }
}
BENCHMARK(BM_LMRequestKey);

void BM_LMRequestKeyFromParts(benchmark::State& state) {
    dspy::LM lm("openai/mock", {.api_base = "http://127.0.0.1:9"});
    const dspy::Json kwargs = dspy::Json::object();
    for (auto _ : state) {
        auto k = lm.request_key(probe_messages(), kwargs);  // what a cache hit computes: no request Json
        benchmark::DoNotOptimize(k);
    }
}
BENCHMARK(BM_LMRequestKeyFromParts);

void BM_LMBuildRequest(benchmark::State& state) {
    dspy::LM lm("openai/mock", {.api_base = "http://127.0.0.1:9"});
    const dspy::Json kwargs = dspy::Json::object();
    for (auto _ : state) {
        auto call = lm.build_request(dspy::messages_to_json(probe_messages()), kwargs);
        benchmark::DoNotOptimize(call);
    }
}
BENCHMARK(BM_LMBuildRequest);

void BM_LMForwardMemoryHit(benchmark::State& state) {
    dspy::configure_cache({.enable_disk_cache = false});
    dspy::LM lm("openai/mock", {.api_base = "http://127.0.0.1:9"});  // never contacted: every call is a hit
    dspy::cache()->put(lm.build_request(dspy::messages_to_json(probe_messages())).key(), sample_response());
    const dspy::Json kwargs = dspy::Json::object();
    for (auto _ : state) {
        auto r = lm.forward(probe_messages(), kwargs);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_LMForwardMemoryHit);
