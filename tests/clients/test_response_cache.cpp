#include "dspy/clients/response_cache.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dspy/utils/exceptions.hpp"

namespace fs = std::filesystem;
using dspy::Cache;
using dspy::CacheOptions;
using dspy::Json;

namespace {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "dspy_cache_test_XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::string db() const { return (fs::path(path_) / dspy::kDiskCacheFileName).string(); }

private:
    std::string path_;
};

// A response shaped like what a provider returns.
Json response(const std::string& text, std::size_t padding = 0) {
    Json r = {{"id", "chatcmpl-1"},
              {"model", "gpt-4o-mini"},
              {"choices", Json::array({{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", text}}},
                                        {"finish_reason", "stop"}}})},
              {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 2}, {"total_tokens", 12}}}};
    if (padding > 0) r["padding"] = std::string(padding, 'x');
    return r;
}

std::string text_of(const Json& r) { return r["choices"][0]["message"]["content"].get<std::string>(); }

CacheOptions memory_only(std::int64_t entries = 1000) {
    return {.enable_disk_cache = false, .disk_cache_dir = "", .memory_max_entries = entries};
}

CacheOptions disk_only(const TempDir& dir, std::int64_t limit = 1'000'000'000) {
    return {.enable_disk_cache = true,
            .enable_memory_cache = false,
            .disk_cache_dir = dir.path(),
            .disk_size_limit_bytes = limit};
}

CacheOptions both(const TempDir& dir) { return {.disk_cache_dir = dir.path(), .disk_size_limit_bytes = 1'000'000'000}; }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// One-value query on a database file, through SQLite directly.
std::string sql_value(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string out;  // empty when the statement returns no row
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        out = "<cannot open>";
    } else {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
            if (sqlite3_step(stmt) == SQLITE_ROW) {
                const auto* t = sqlite3_column_text(stmt, 0);
                out = t != nullptr ? reinterpret_cast<const char*>(t) : "<null>";
            }
        } else {
            out = std::string("<error: ") + sqlite3_errmsg(db) + ">";
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(db);
    return out;
}

class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr) {
            setenv(name, value, 1);
        } else {
            unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            setenv(name_, old_->c_str(), 1);
        } else {
            unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

// ---- options ---------------------------------------------------------------------------------------------------

TEST(ResponseCacheOptions, MemoryMaxEntriesMustBePositive) {
    try {
        Cache c(memory_only(0));
        FAIL() << "no ValueError";
    } catch (const dspy::ValueError& e) {
        EXPECT_STREQ(e.what(), "`memory_max_entries` must be a positive number, but received 0");
    }
    EXPECT_THROW(Cache{memory_only(-3)}, dspy::ValueError);
    // DSPy only checks it when the memory layer is on.
    Cache off({.enable_disk_cache = false, .enable_memory_cache = false, .memory_max_entries = 0});
    EXPECT_FALSE(off.memory_cache_enabled());
    off.put("k", response("a"));
    EXPECT_FALSE(off.get("k"));
}

TEST(ResponseCacheOptions, NegativeDiskLimitIsRejected) {
    TempDir dir;
    const CacheOptions bad{.disk_cache_dir = dir.path(), .disk_size_limit_bytes = -1};
    EXPECT_THROW(Cache{bad}, dspy::ValueError);
}

TEST(ResponseCacheOptions, DefaultsComeFromTheEnvironment) {
    {
        ScopedEnv dir("DSPY_CACHEDIR", "/some/where");
        EXPECT_EQ(dspy::default_disk_cache_dir(), "/some/where");
        EXPECT_EQ(CacheOptions{}.disk_cache_dir, "/some/where");
    }
    {
        ScopedEnv dir("DSPY_CACHEDIR", "");
        ScopedEnv home("HOME", "/home/someone");
        EXPECT_EQ(dspy::default_disk_cache_dir(), "/home/someone/.dspy_cache");
    }
    {
        ScopedEnv limit("DSPY_CACHE_LIMIT", nullptr);
        EXPECT_EQ(dspy::default_disk_cache_limit(), 30'000'000'000);
        EXPECT_EQ(CacheOptions{}.memory_max_entries, 1'000'000);
        EXPECT_TRUE(CacheOptions{}.enable_disk_cache);
        EXPECT_TRUE(CacheOptions{}.enable_memory_cache);
    }
    {
        ScopedEnv limit("DSPY_CACHE_LIMIT", " 1_000_000 ");
        EXPECT_EQ(dspy::default_disk_cache_limit(), 1'000'000);
    }
    {
        ScopedEnv limit("DSPY_CACHE_LIMIT", "3e10");  // Python's int("3e10") fails too
        EXPECT_THROW((void)dspy::default_disk_cache_limit(), dspy::ValueError);
    }
}

// ---- memory layer ----------------------------------------------------------------------------------------------

TEST(ResponseCacheMemory, EvictsLeastRecentlyUsed) {
    Cache c(memory_only(3));
    c.put("a", response("A"));
    c.put("b", response("B"));
    c.put("c", response("C"));
    ASSERT_TRUE(c.get("a"));  // a is now the most recent, b the least
    c.put("d", response("D"));
    EXPECT_EQ(c.size(), 3U);
    EXPECT_FALSE(c.contains("b"));
    EXPECT_TRUE(c.contains("a"));
    EXPECT_TRUE(c.contains("c"));
    EXPECT_TRUE(c.contains("d"));
    c.put("c", response("C2"));  // an overwrite refreshes too: a is now the least recent
    c.put("e", response("E"));
    EXPECT_FALSE(c.contains("a"));
    EXPECT_EQ(text_of(*c.get("c")), "C2");
    EXPECT_EQ(c.size(), 3U);
}

TEST(ResponseCacheMemory, ShardedCapacityIsExact) {
    Cache c(memory_only(5000));
    for (int i = 0; i < 20000; ++i) c.put("key" + std::to_string(i), Json(i));
    EXPECT_EQ(c.size(), 5000U);
    EXPECT_TRUE(c.contains("key19999"));
    EXPECT_FALSE(c.contains("key0"));
    c.reset_memory_cache();
    EXPECT_EQ(c.size(), 0U);
    EXPECT_FALSE(c.get("key19999"));
}

TEST(ResponseCacheMemory, HitsAreStampedLikeDSPy) {
    Cache c(memory_only());
    EXPECT_FALSE(c.get("k"));
    EXPECT_EQ(c.get_shared("k"), nullptr);
    c.put("k", response("hello"));
    auto hit = c.get("k");
    ASSERT_TRUE(hit);
    EXPECT_EQ((*hit)["usage"], Json::object());
    EXPECT_EQ((*hit)["cache_hit"], true);
    EXPECT_EQ(text_of(*hit), "hello");
    auto shared = c.get_shared("k");
    ASSERT_NE(shared, nullptr);
    EXPECT_EQ(*shared, *hit);
    EXPECT_EQ(c.get_shared("k"), shared);  // the fast path shares, it does not copy
    // Key order is kept: usage stays where the provider put it.
    std::vector<std::string> keys;
    for (const auto& item : hit->items()) keys.push_back(item.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "model", "choices", "usage", "cache_hit"}));
    // Non-object values have nothing to stamp.
    c.put("s", Json("plain"));
    EXPECT_EQ(*c.get("s"), Json("plain"));
}

TEST(ResponseCacheMemory, MemoryOnlyModeNeverTouchesDisk) {
    TempDir dir;
    {
        Cache c({.enable_disk_cache = false, .disk_cache_dir = dir.path()});
        EXPECT_FALSE(c.disk_cache_enabled());
        EXPECT_EQ(c.disk_cache_path(), "");
        c.put("k", response("a"));
        EXPECT_TRUE(c.get("k"));
    }
    EXPECT_FALSE(fs::exists(dir.db()));
    Cache again({.enable_disk_cache = false, .disk_cache_dir = dir.path()});
    EXPECT_FALSE(again.get("k"));
}

TEST(ResponseCacheMemory, ConcurrentMixedUse) {
    Cache c(memory_only(10'000));
    std::vector<std::thread> threads;
    std::atomic<int> misses{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::string key = "k" + std::to_string((i * 7 + t) % 500);
                if (auto v = c.get_shared(key)) {
                    if (!v->is_object() || !v->value("cache_hit", false)) misses++;
                } else {
                    c.put(key, response(key));
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(misses.load(), 0);
    EXPECT_EQ(c.size(), 500U);
}

// ---- disk layer ------------------------------------------------------------------------------------------------

TEST(ResponseCacheDisk, PersistsAcrossInstances) {
    TempDir dir;
    {
        Cache c(both(dir));
        ASSERT_TRUE(c.disk_cache_enabled());
        EXPECT_EQ(c.disk_cache_path(), dir.db());
        c.put("k1", response("one"));
        c.put("k2", response("two"));
    }  // the destructor commits
    Cache c(both(dir));
    EXPECT_EQ(c.size(), 0U);
    EXPECT_TRUE(c.contains("k1"));
    EXPECT_EQ(c.size(), 0U);  // contains does not promote
    auto hit = c.get("k1");
    ASSERT_TRUE(hit);
    EXPECT_EQ(text_of(*hit), "one");
    EXPECT_EQ((*hit)["usage"], Json::object());
    EXPECT_EQ((*hit)["cache_hit"], true);
    EXPECT_EQ(c.size(), 1U);  // promoted
    c.reset_memory_cache();
    EXPECT_EQ(text_of(*c.get("k2")), "two");
    EXPECT_FALSE(c.get("k3"));
    // The disk keeps the provider's response as it was, usage included.
    EXPECT_EQ(sql_value(dir.db(), "SELECT json_extract(value, '$.usage.total_tokens') FROM responses WHERE key='k1'"),
              "12");
}

TEST(ResponseCacheDisk, DiskOnlyModeHitsRightAfterPut) {
    TempDir dir;
    Cache c(disk_only(dir));
    EXPECT_FALSE(c.memory_cache_enabled());
    for (int i = 0; i < 200; ++i) {
        c.put("k" + std::to_string(i), response(std::to_string(i)));
        auto hit = c.get("k" + std::to_string(i));  // served from the write queue or the file
        ASSERT_TRUE(hit) << i;
        EXPECT_EQ(text_of(*hit), std::to_string(i));
        EXPECT_EQ((*hit)["cache_hit"], true);
    }
    EXPECT_EQ(c.size(), 0U);
    c.flush();
    EXPECT_EQ(sql_value(dir.db(), "SELECT count(*) FROM responses"), "200");
}

TEST(ResponseCacheDisk, PutWithoutMemoryGoesToDiskOnly) {
    TempDir dir;
    Cache c(both(dir));
    c.put("k", response("a"), /*enable_memory_cache=*/false);
    EXPECT_EQ(c.size(), 0U);
    EXPECT_TRUE(c.get("k"));
    EXPECT_EQ(c.size(), 1U);  // a later hit is promoted, as in DSPy
}

TEST(ResponseCacheDisk, FloatsAndIntsRoundTrip) {
    TempDir dir;
    Json value = {{"a", 1}, {"b", 1.0}, {"c", 0.1}, {"d", "é\n\"x\""}, {"z", nullptr}};
    {
        Cache c(disk_only(dir));
        c.put("k", value);
    }
    Cache c(disk_only(dir));
    auto hit = c.get("k");
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->dump(), R"({"a":1,"b":1.0,"c":0.1,"d":"é\n\"x\"","z":null,"usage":{},"cache_hit":true})");
}

TEST(ResponseCacheDisk, SizeLimitEvictsLeastRecentlyAccessed) {
    TempDir dir;
    const std::int64_t limit = 20'000;
    Cache c(disk_only(dir, limit));
    auto key = [](int i) { return "key" + std::to_string(i); };
    for (int i = 0; i < 10; ++i) {
        c.put(key(i), response(key(i), 900));
        c.flush();
    }
    ASSERT_TRUE(c.get(key(0)));  // key0 is now more recent than key1..key9
    c.flush();
    for (int i = 10; i < 30; ++i) {
        c.put(key(i), response(key(i), 900));
        c.flush();
    }
    const auto total = std::stoll(sql_value(dir.db(), "SELECT total_size FROM stats"));
    EXPECT_LE(total, limit);
    EXPECT_GT(total, limit / 2);
    EXPECT_EQ(sql_value(dir.db(), "SELECT total_size FROM stats"), sql_value(dir.db(), "SELECT sum(size) FROM responses"));
    EXPECT_FALSE(c.contains(key(1)));
    EXPECT_TRUE(c.contains(key(29)));
    EXPECT_TRUE(c.contains(key(28)));
    for (int i = 1; i < 10; ++i) EXPECT_FALSE(c.contains(key(i))) << i;
    EXPECT_EQ(sql_value(dir.db(), "PRAGMA integrity_check"), "ok");
}

TEST(ResponseCacheDisk, RefreshedEntrySurvivesEviction) {
    TempDir dir;
    auto key = [](int i) { return "key" + std::to_string(i); };
    const auto entry = static_cast<std::int64_t>(key(10).size() + response(key(10), 900).dump().size());
    // The 19th entry passes the limit; eviction goes down to 90% of it, i.e. 16 entries: key1..key3 go.
    Cache c(disk_only(dir, 18 * entry + entry / 2));
    for (int i = 0; i < 10; ++i) {
        c.put(key(i), response(key(i), 900));
        c.flush();
    }
    ASSERT_TRUE(c.get(key(0)));
    c.flush();
    for (int i = 10; i < 20; ++i) {
        c.put(key(i), response(key(i), 900));
        c.flush();
    }
    EXPECT_TRUE(c.contains(key(0)));
    for (int i = 1; i <= 3; ++i) EXPECT_FALSE(c.contains(key(i))) << i;
    for (int i = 4; i < 20; ++i) EXPECT_TRUE(c.contains(key(i))) << i;
    EXPECT_EQ(sql_value(dir.db(), "SELECT count(*) FROM responses"), "17");
}

TEST(ResponseCacheDisk, CorruptEntryIsDeletedAndMisses) {
    TempDir dir;
    {
        Cache c(disk_only(dir));
        c.put("good", response("g"));
        c.put("bad", response("b"));
    }
    EXPECT_EQ(sql_value(dir.db(), "UPDATE responses SET value = '{not json' WHERE key = 'bad' RETURNING 1"), "1");
    Cache c(both(dir));
    EXPECT_FALSE(c.get("bad"));
    c.flush();
    EXPECT_FALSE(c.contains("bad"));
    EXPECT_TRUE(c.get("good"));
}

// ---- failure to open the disk layer ----------------------------------------------------------------------------

TEST(ResponseCacheDiskFallback, UnwritableDirectoryFallsBackToMemory) {
    TempDir dir;
    std::vector<std::string> unusable = {"/proc/self"};  // exists, but nobody (not even root) can create files there
    {
        std::ofstream(fs::path(dir.path()) / "file") << "x";
        unusable.push_back((fs::path(dir.path()) / "file" / "sub").string());  // parent is a regular file
    }
    const std::string readonly = (fs::path(dir.path()) / "ro").string();
    fs::create_directory(readonly);
    fs::permissions(readonly, fs::perms::owner_read | fs::perms::owner_exec);
    if (geteuid() != 0) unusable.push_back(readonly);  // root ignores permission bits
    for (const auto& path : unusable) {
        testing::internal::CaptureStderr();
        Cache c({.disk_cache_dir = path});
        const std::string err = testing::internal::GetCapturedStderr();
        EXPECT_FALSE(c.disk_cache_enabled()) << path;
        EXPECT_TRUE(c.memory_cache_enabled());
        EXPECT_NE(err.find("Failed to initialize disk cache, falling back to memory-only cache"), std::string::npos)
            << err;
        c.put("k", response("a"));
        EXPECT_TRUE(c.get("k"));
    }
}

TEST(ResponseCacheDiskFallback, GarbageFileIsLeftAlone) {
    TempDir dir;
    std::string garbage;
    for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 251));
    std::ofstream(dir.db(), std::ios::binary) << garbage;
    testing::internal::CaptureStderr();
    {
        Cache c(both(dir));
        const std::string err = testing::internal::GetCapturedStderr();
        EXPECT_FALSE(c.disk_cache_enabled());
        EXPECT_NE(err.find("falling back to memory-only cache"), std::string::npos) << err;
        EXPECT_NE(err.find(dir.db()), std::string::npos) << err;
        c.put("k", response("a"));
        EXPECT_TRUE(c.get("k"));
    }
    EXPECT_EQ(read_file(dir.db()), garbage);
}

TEST(ResponseCacheDiskFallback, ForeignDatabaseIsLeftAlone) {
    TempDir dir;
    EXPECT_EQ(sql_value(dir.db(), "CREATE TABLE users(name TEXT)"), "");
    const std::string before = read_file(dir.db());
    ASSERT_FALSE(before.empty());
    testing::internal::CaptureStderr();
    Cache c(both(dir));
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(c.disk_cache_enabled());
    EXPECT_NE(err.find("did not create"), std::string::npos) << err;
    EXPECT_EQ(read_file(dir.db()), before);
}

TEST(ResponseCacheDiskFallback, DamagedPagesNeverCrash) {
    TempDir dir;
    {
        Cache c(disk_only(dir));
        for (int i = 0; i < 200; ++i) c.put("k" + std::to_string(i), response(std::to_string(i), 500));
    }
    const auto size = fs::file_size(dir.db());
    ASSERT_GT(size, 3 * 4096U);
    {
        std::fstream f(dir.db(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096 + 100);  // past the header page: b-tree pages
        const std::string junk(3 * 4096, '\x5a');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    testing::internal::CaptureStderr();
    {
        Cache c(both(dir));
        for (int i = 0; i < 200; ++i) (void)c.get("k" + std::to_string(i));  // hit or miss, but no crash
        c.put("new", response("n"));
        EXPECT_TRUE(c.get("new"));
    }
    (void)testing::internal::GetCapturedStderr();  // a warning or none, depending on which pages were hit
    EXPECT_TRUE(fs::exists(dir.db()));  // damaged or not, the file is never deleted
}

// ---- several processes -----------------------------------------------------------------------------------------

namespace {
// Runs `body` in a forked child and returns its exit status; the child never returns into the test framework.
template <class F>
pid_t spawn(F body) {
    const pid_t pid = fork();
    if (pid == 0) {
        int code = 1;
        try {
            code = body();
        } catch (...) {
        }
        _exit(code);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

TEST(ResponseCacheProcesses, ConcurrentWritersShareTheFile) {
    TempDir dir;
    Cache(both(dir)).flush();  // create the file first, so that the two processes only race on writes
    const pid_t child = spawn([&] {
        Cache c(both(dir));
        for (int i = 0; i < 300; ++i) c.put("child" + std::to_string(i), response("c" + std::to_string(i)));
        return 0;
    });
    {
        Cache c(both(dir));
        for (int i = 0; i < 300; ++i) c.put("parent" + std::to_string(i), response("p" + std::to_string(i)));
    }
    ASSERT_EQ(wait_exit(child), 0);
    {
        Cache c(disk_only(dir));
        for (int i = 0; i < 300; ++i) {
            auto a = c.get("child" + std::to_string(i));
            auto b = c.get("parent" + std::to_string(i));
            ASSERT_TRUE(a && b) << i;
            EXPECT_EQ(text_of(*a), "c" + std::to_string(i));
            EXPECT_EQ(text_of(*b), "p" + std::to_string(i));
        }
    }  // closed before forking: SQLite connections (and our writer thread) must not cross a fork
    // A fresh process also sees what both wrote.
    const pid_t reader = spawn([&] {
        Cache c2(disk_only(dir));
        return c2.get("parent299") && c2.get("child0") ? 0 : 3;
    });
    EXPECT_EQ(wait_exit(reader), 0);
}

TEST(ResponseCacheProcesses, SimultaneousFirstOpen) {
    TempDir dir;
    const std::string sub = (fs::path(dir.path()) / "fresh").string();  // nothing exists yet
    std::vector<pid_t> children;
    for (int p = 0; p < 4; ++p) {
        children.push_back(spawn([&, p] {
            Cache c({.enable_memory_cache = false, .disk_cache_dir = sub});
            if (!c.disk_cache_enabled()) return 4;
            for (int i = 0; i < 50; ++i) c.put(std::to_string(p) + "-" + std::to_string(i), Json(i));
            return 0;
        }));
    }
    for (pid_t child : children) EXPECT_EQ(wait_exit(child), 0);
    EXPECT_EQ(sql_value((fs::path(sub) / dspy::kDiskCacheFileName).string(), "SELECT count(*) FROM responses"), "200");
}

TEST(ResponseCacheProcesses, KillNineWhileWritingNeverCorrupts) {
    TempDir dir;
    for (int round = 0; round < 3; ++round) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        const std::string prefix = "r" + std::to_string(round) + "-";
        const pid_t child = spawn([&] {
            close(fds[0]);
            Cache c(disk_only(dir));
            for (int i = 0;; ++i) {
                // A burst of big values, so that the kill usually lands inside a transaction.
                for (int j = 0; j < 8; ++j) {
                    c.put(prefix + std::to_string(i) + "-" + std::to_string(j),
                          response(std::to_string(i), 20'000 + j));
                }
                c.flush();
                if (write(fds[1], &i, sizeof i) != sizeof i) return 2;  // i is committed
            }
        });
        close(fds[1]);
        int last = -1;
        int value = 0;
        while (last < 20 + round * 10 && read(fds[0], &value, sizeof value) == sizeof value) last = value;
        kill(child, SIGKILL);
        EXPECT_EQ(wait_exit(child), 128 + SIGKILL);
        while (read(fds[0], &value, sizeof value) == sizeof value) last = value;  // reported before dying
        close(fds[0]);
        ASSERT_GE(last, 20);

        EXPECT_EQ(sql_value(dir.db(), "PRAGMA integrity_check"), "ok");
        Cache c(disk_only(dir));
        ASSERT_TRUE(c.disk_cache_enabled());
        for (int i = 0; i <= last; ++i) {
            for (int j = 0; j < 8; ++j) {
                auto hit = c.get(prefix + std::to_string(i) + "-" + std::to_string(j));
                ASSERT_TRUE(hit) << "round " << round << " entry " << i << "-" << j << " of " << last;
                EXPECT_EQ(text_of(*hit), std::to_string(i));
                EXPECT_EQ((*hit)["padding"].get<std::string>().size(), static_cast<std::size_t>(20'000 + j));
            }
        }
        EXPECT_EQ(sql_value(dir.db(), "SELECT total_size = (SELECT sum(size) FROM responses) FROM stats"), "1");
    }
}

// ---- single-flight ---------------------------------------------------------------------------------------------

namespace {
// Lets the leader wait until every other thread is queued behind it (bounded, so a bug fails instead of hanging).
void wait_for_waiters(const dspy::InFlight& in_flight, std::string_view key, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (in_flight.waiting(key) < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
}
}  // namespace

TEST(ResponseCacheInFlight, FiftyThreadsOneLeader) {
    Cache c(memory_only());
    constexpr int kThreads = 50;
    std::atomic<int> calls{0};
    std::vector<Json> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            results[t] = c.get_or_compute("key", [&] {
                calls++;
                wait_for_waiters(c.in_flight(), "key", kThreads - 1);
                return response("shared");
            });
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(calls.load(), 1);
    int stamped = 0;
    for (const auto& r : results) {
        EXPECT_EQ(text_of(r), "shared");
        if (r.contains("cache_hit")) stamped++;
    }
    EXPECT_EQ(stamped, kThreads - 1);  // only the leader sees the provider's usage
    EXPECT_EQ(c.in_flight().size(), 0U);
    EXPECT_TRUE(c.contains("key"));
    // Later calls are plain hits.
    EXPECT_EQ(c.get_or_compute("key", [&]() -> Json { throw std::logic_error("not called"); })["cache_hit"], true);
}

TEST(ResponseCacheInFlight, ErrorReachesEveryWaiterAndIsNotCached) {
    Cache c(memory_only());
    constexpr int kThreads = 50;
    std::atomic<int> calls{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            try {
                (void)c.get_or_compute("key", [&]() -> Json {
                    calls++;
                    wait_for_waiters(c.in_flight(), "key", kThreads - 1);
                    throw dspy::ValueError("provider said no");
                });
            } catch (const dspy::ValueError& e) {
                if (std::string(e.what()) == "provider said no") errors++;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(errors.load(), kThreads);
    EXPECT_FALSE(c.contains("key"));
    EXPECT_EQ(c.in_flight().size(), 0U);
    // The key is free again: the next caller leads a fresh call.
    EXPECT_EQ(text_of(c.get_or_compute("key", [] { return response("ok"); })), "ok");
}

TEST(ResponseCacheInFlight, CallbackApi) {
    dspy::InFlight f;
    std::vector<std::string> seen;
    auto waiter = [&](const Json* v, std::exception_ptr e) {
        if (v != nullptr) seen.push_back(v->get<std::string>());
        if (e) seen.push_back("error");
    };
    EXPECT_TRUE(f.lead_or_join("a", waiter));
    EXPECT_FALSE(f.lead_or_join("a", waiter));
    EXPECT_FALSE(f.lead_or_join("a", waiter));
    EXPECT_TRUE(f.lead_or_join("b", waiter));  // other keys are independent
    EXPECT_EQ(f.size(), 2U);
    EXPECT_EQ(f.waiting("a"), 2U);
    f.complete("a", Json("A"));
    EXPECT_EQ(seen, (std::vector<std::string>{"A", "A"}));
    EXPECT_TRUE(f.lead_or_join("a", waiter));  // free again
    EXPECT_FALSE(f.lead_or_join("b", waiter));
    f.fail("b", std::make_exception_ptr(std::runtime_error("x")));
    EXPECT_EQ(seen.back(), "error");
    EXPECT_EQ(f.size(), 1U);
}

TEST(ResponseCacheInFlight, DestructionFailsAbandonedWaiters) {
    std::exception_ptr got;
    {
        dspy::InFlight f;
        ASSERT_TRUE(f.lead_or_join("k", nullptr));
        ASSERT_FALSE(f.lead_or_join("k", [&](const Json*, std::exception_ptr e) { got = e; }));
    }
    ASSERT_TRUE(got);
    EXPECT_THROW(std::rethrow_exception(got), dspy::DSPyError);
}

// ---- the process-wide cache ------------------------------------------------------------------------------------

TEST(ResponseCacheGlobal, ConfigureCacheReplacesTheInstance) {
    dspy::configure_cache(memory_only(10));
    auto first = dspy::cache();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(dspy::cache(), first);
    EXPECT_EQ(first->options().memory_max_entries, 10);
    first->put("k", response("a"));

    dspy::configure_cache(memory_only(20));
    auto second = dspy::cache();
    EXPECT_NE(second, first);
    EXPECT_EQ(second->options().memory_max_entries, 20);
    EXPECT_FALSE(second->get("k"));
    EXPECT_TRUE(first->get("k"));  // holders of the old cache keep a working one
    EXPECT_THROW(dspy::configure_cache(memory_only(0)), dspy::ValueError);
    EXPECT_EQ(dspy::cache(), second);  // a failed configure leaves the cache as it was
}
