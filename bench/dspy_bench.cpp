// dspy-bench: end-to-end throughput of Predict("question -> answer") against an OpenAI-compatible server (usually
// tools/dspy-mock-lm), plus micro-figures for the adapter and the cache-hit path. Prints one JSON line.
//
//   dspy-bench --start-mock build/default/tools/dspy-mock-lm/dspy-mock-lm --latency-ms 0 --n 20000 --concurrency 64
//   dspy-bench --api-base http://127.0.0.1:8000/v1 --n 5120 --concurrency 256 [--threads 8] [--cache on]
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/clients/response_cache.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
    std::string api_base;
    std::string start_mock;
    int latency_ms = 0;
    int n = 1000;
    int concurrency = 64;
    int threads = 0;
    bool cache = false;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "dspy-bench: " << why
              << "\nusage: dspy-bench (--api-base URL | --start-mock PATH [--latency-ms L]) [--n N] [--concurrency C] "
                 "[--threads T] [--cache on|off]\n";
    std::exit(2);
}

int to_int(const std::string& flag, const char* v) {
    char* end = nullptr;
    long x = std::strtol(v, &end, 10);
    if (!*v || *end || x < 0 || x > 100'000'000) usage("bad value for " + flag + ": '" + v + "'");
    return static_cast<int>(x);
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string f = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) usage(f + " needs a value");
            return argv[++i];
        };
        if (f == "--api-base") a.api_base = next();
        else if (f == "--start-mock") a.start_mock = next();
        else if (f == "--latency-ms") a.latency_ms = to_int(f, next());
        else if (f == "--n") a.n = to_int(f, next());
        else if (f == "--concurrency") a.concurrency = to_int(f, next());
        else if (f == "--threads") a.threads = to_int(f, next());
        else if (f == "--cache") {
            std::string v = next();
            if (v != "on" && v != "off") usage("--cache takes on or off, got '" + v + "'");
            a.cache = v == "on";
        } else usage("unknown argument '" + f + "'");
    }
    if (a.api_base.empty() == a.start_mock.empty()) usage("give exactly one of --api-base and --start-mock");
    if (a.n < 1 || a.concurrency < 1) usage("--n and --concurrency must be positive");
    return a;
}

pid_t start_mock(const Args& a, std::string& base) {
    int fds[2];
    if (pipe(fds) != 0) usage("pipe failed");
    std::vector<std::string> s = {a.start_mock, "--port", "0", "--exit-after-s", "900", "--latency-ms",
                                  std::to_string(a.latency_ms)};
    std::vector<char*> argv;
    for (auto& x : s) argv.push_back(x.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, a.start_mock.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) usage("cannot start " + a.start_mock + ": " + std::strerror(rc));
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
        char buf[256];
        ssize_t k = read(fds[0], buf, sizeof buf);
        if (k <= 0) break;
        line.append(buf, static_cast<size_t>(k));
    }
    close(fds[0]);
    auto colon = line.rfind(':');
    if (colon == std::string::npos) usage("the mock did not start: '" + line + "'");
    base = "http://127.0.0.1:" + std::to_string(std::stoi(line.substr(colon + 1))) + "/v1";
    return pid;
}

// The machine's 1-minute load average, printed so that figures taken on a busy machine can be recognised.
double load_avg() {
    double l[1] = {0};
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

// The allocator this process runs with (linked, or LD_PRELOADed): the CPU figures depend on it.
const char* malloc_name() {
    if (dlsym(RTLD_DEFAULT, "tc_malloc")) return "tcmalloc";
    if (dlsym(RTLD_DEFAULT, "mi_malloc")) return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
    return "glibc";
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU time of this thread: the micro-figures below run on one thread, and on a shared (loaded) machine its CPU time
// is what the code costs, while wall time also counts the time other processes held the core.
double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

std::string question(const Args& a, int i) {
    return "What is fact number " + std::to_string(a.cache ? i % 16 : i) + " about the moon?";
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse_args(argc, argv);
    pid_t mock = -1;
    std::string base = a.api_base;
    if (!a.start_mock.empty()) mock = start_mock(a, base);

    dspy::configure_cache({.enable_disk_cache = false});
    auto lm = std::make_shared<dspy::LM>("openai/mock", dspy::LMOptions{.cache = a.cache, .api_base = base});
    dspy::configure({.lm = lm});
    dspy::Predict predict("question -> answer");

    std::vector<double> lat_ms(static_cast<size_t>(a.n), 0.0);
    std::atomic<int> errors{0};
    std::atomic<int> next{0};
    std::mutex err_mu;
    std::string first_error;
    auto note_error = [&](const std::exception& e) {
        if (errors.fetch_add(1) == 0) {
            std::lock_guard lk(err_mu);
            first_error = e.what();
        }
    };

    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    if (a.threads > 0) {
        std::vector<std::thread> pool;
        for (int t = 0; t < a.threads; ++t)
            pool.emplace_back([&] {
                for (int i = next++; i < a.n; i = next++) {
                    auto s = Clock::now();
                    try {
                        (void)predict("question", question(a, i));
                    } catch (const std::exception& e) {
                        note_error(e);
                    }
                    lat_ms[static_cast<size_t>(i)] =
                        std::chrono::duration<double, std::milli>(Clock::now() - s).count();
                }
            });
        for (auto& t : pool) t.join();
    } else {
        dspy::run([&]() -> dspy::Task<void> {
            auto worker = [&]() -> dspy::Task<void> {
                for (int i = next++; i < a.n; i = next++) {
                    auto s = Clock::now();
                    try {
                        (void)co_await predict.acall("question", question(a, i));
                    } catch (const std::exception& e) {
                        note_error(e);
                    }
                    lat_ms[static_cast<size_t>(i)] =
                        std::chrono::duration<double, std::milli>(Clock::now() - s).count();
                }
            };
            std::vector<dspy::Task<void>> workers;
            for (int w = 0; w < a.concurrency; ++w) workers.push_back(worker());
            co_await dspy::when_all(std::move(workers));
        }());
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;

    std::sort(lat_ms.begin(), lat_ms.end());
    auto pct = [&](double p) { return lat_ms[std::min(lat_ms.size() - 1, static_cast<size_t>(p * lat_ms.size()))]; };

    // Adapter format + parse of a typical request, in a tight loop.
    dspy::ChatAdapter adapter;
    dspy::Signature sig("question -> answer");
    const dspy::Json inputs = {{"question", "What is the capital of France?"}};
    const std::string completion = "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]";
    const int fp_iters = 20000;
    auto f0 = Clock::now();
    const double fc0 = thread_cpu_us();
    size_t sink = 0;
    for (int i = 0; i < fp_iters; ++i) {
        auto msgs = adapter.format(sig, {}, inputs);
        auto parsed = adapter.parse(sig, completion);
        sink += msgs.size() + parsed.size();
    }
    const double format_parse_us = std::chrono::duration<double, std::micro>(Clock::now() - f0).count() / fp_iters;
    const double format_parse_cpu_us = (thread_cpu_us() - fc0) / fp_iters;

    // An LM call answered by the memory cache.
    double cache_hit_us = -1, cache_hit_cpu_us = -1;
    try {
        dspy::LM cached("openai/mock", {.api_base = base});
        const dspy::Messages msgs = {{"user", "cache-hit probe"}};
        (void)cached.forward(msgs, dspy::Json::object());
        const int hit_iters = 20000;
        auto h0 = Clock::now();
        const double hc0 = thread_cpu_us();
        for (int i = 0; i < hit_iters; ++i) sink += cached.forward(msgs, dspy::Json::object()).outputs.size();
        cache_hit_us = std::chrono::duration<double, std::micro>(Clock::now() - h0).count() / hit_iters;
        cache_hit_cpu_us = (thread_cpu_us() - hc0) / hit_iters;
    } catch (const std::exception& e) {
        note_error(e);
    }

    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "{\"mode\":\"%s\",\"n\":%d,\"concurrency\":%d,\"threads\":%d,\"cache\":%s,\"calls_per_s\":%.1f,"
        "\"cpu_us_per_call\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"peak_rss_mb\":%.1f,\"errors\":%d,"
        "\"format_parse_us\":%.2f,\"cache_hit_us\":%.2f,\"format_parse_cpu_us\":%.2f,\"cache_hit_cpu_us\":%.2f,"
        "\"malloc\":\"%s\",\"load_avg_1m\":%.2f,\"sink\":%zu}\n",
        a.threads > 0 ? "sync" : "async", a.n, a.threads > 0 ? 0 : a.concurrency, a.threads, a.cache ? "true" : "false",
        a.n / wall, cpu * 1e6 / a.n, pct(0.5), pct(0.9), pct(0.99), static_cast<double>(ru.ru_maxrss) / 1024.0,
        errors.load(), format_parse_us, cache_hit_us, format_parse_cpu_us, cache_hit_cpu_us, malloc_name(), load_avg(), sink % 2);
    if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
    if (mock > 0) {
        kill(mock, SIGTERM);
        int st = 0;
        waitpid(mock, &st, 0);
    }
    return errors.load() == 0 ? 0 : 1;
}
