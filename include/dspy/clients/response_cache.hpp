#pragma once
/// @file
/// The LM response cache: a sharded in-memory LRU in front of an SQLite file, plus single-flight deduplication of
/// identical in-flight requests. Keys are the 64-hex SHA-256 strings computed by `dspy::cache_key`
/// (dspy/clients/cache.hpp); values are the provider's response JSON.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dspy/json.hpp"

namespace dspy {

/// `$DSPY_CACHEDIR`, or `~/.dspy_cache` when it is unset or empty. @sa dspy.clients.DISK_CACHE_DIR
[[nodiscard]] std::string default_disk_cache_dir();

/// `$DSPY_CACHE_LIMIT` parsed as an integer, or 3e10 (30 GB) when unset; throws ValueError naming the variable when
/// it is not an integer. @sa dspy.clients.DISK_CACHE_LIMIT
[[nodiscard]] std::int64_t default_disk_cache_limit();

/// Name of our database inside `disk_cache_dir`. It is our own file, so it never touches the shard directories
/// that Python's diskcache keeps in the same directory (their pickled values are not readable from C++ anyway).
inline constexpr std::string_view kDiskCacheFileName = "dspy_cpp_cache.sqlite3";

/// The arguments of `dspy.configure_cache`, as a designated-initialiser struct; defaults are DSPy's.
/// @sa dspy.configure_cache, dspy.clients.cache.Cache.__init__
struct CacheOptions {
    bool enable_disk_cache = true;
    bool enable_memory_cache = true;
    std::string disk_cache_dir = default_disk_cache_dir();
    /// Rows are evicted least-recently-accessed first once the stored bytes exceed this.
    std::int64_t disk_size_limit_bytes = default_disk_cache_limit();
    /// Must be positive when the memory cache is enabled (DSPy raises ValueError otherwise); use INT64_MAX for an
    /// unbounded cache (DSPy: `math.inf`).
    std::int64_t memory_max_entries = 1'000'000;
};

/// Single-flight deduplication: the first caller for a key becomes the leader and performs the request, later
/// identical callers wait for the leader's result. Errors reach every waiter and are never cached. Independent of
/// any coroutine runtime: the LM layer wraps `lead_or_join` into awaitables. Thread-safe.
/// @sa no DSPy equivalent (DSPy calls the provider once per concurrent miss).
class InFlight {
public:
    /// Called exactly once with the leader's value (`error` null) or its error (`value` null). `value` is only
    /// valid during the call. Waiters run on the thread that completes the key, outside any lock.
    using Waiter = std::function<void(const Json* value, std::exception_ptr error)>;

    InFlight();
    /// Fails the waiters of keys still in flight with a DSPyError, so that nobody waits forever.
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

    /// Returns true when the caller is the leader for `key` (then it must call `complete` or `fail` exactly once;
    /// `waiter` is dropped). Otherwise `waiter` is registered and will be called when the leader finishes.
    [[nodiscard]] bool lead_or_join(std::string_view key, Waiter waiter);
    /// The leader's success: every registered waiter receives `value`, and the key is free again.
    void complete(std::string_view key, const Json& value);
    /// The leader's failure: every registered waiter receives `error`, and the key is free again.
    void fail(std::string_view key, std::exception_ptr error);
    /// Blocking convenience: the leader runs `fn` on this thread; followers block until it finishes and get a copy
    /// of its value or rethrow its error.
    Json call(std::string_view key, const std::function<Json()>& fn);
    /// Number of keys currently in flight.
    [[nodiscard]] std::size_t size() const;
    /// Number of callers waiting for `key`'s leader (0 when it is not in flight).
    [[nodiscard]] std::size_t waiting(std::string_view key) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Two-level response cache: memory (LRU) first, then disk (SQLite, shared by processes, crash-safe).
/// If the disk cache cannot be opened (unwritable directory, a file that is not our database), a warning goes to
/// stderr and the cache works memory-only; it never deletes a file it did not create, and a corrupt entry in its
/// own database is deleted and treated as a miss. Thread-safe. Like SQLite itself it does not survive fork(): a
/// child process must not use a cache whose file its parent had open at the time of the fork.
/// @sa dspy.clients.cache.Cache
class Cache {
public:
    /// Throws ValueError when `memory_max_entries` ≤ 0 with the memory cache enabled (DSPy's message) or when
    /// `disk_size_limit_bytes` is negative.
    explicit Cache(CacheOptions options = {});
    /// Commits pending disk writes, then closes the database.
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    /// A deep copy of the cached response stamped like DSPy's (`usage` = {} and `cache_hit` = true when the value
    /// is an object), or nullopt on a miss. A disk hit is promoted to memory. @sa Cache.get
    [[nodiscard]] std::optional<Json> get(std::string_view key) const;
    /// The fast path of `get`: the shared, already-stamped, immutable value (no deep copy), or null on a miss.
    [[nodiscard]] std::shared_ptr<const Json> get_shared(std::string_view key) const;
    /// Stores `value` in memory (unless the memory cache or `enable_memory_cache` is off) and on disk. The disk write
    /// happens on a background thread; `get` in this process sees it at once. Disk errors are swallowed (a warning
    /// is printed once). @sa Cache.put
    void put(std::string_view key, Json value, bool enable_memory_cache = true);
    /// The sync path of the LM layer in one call: a hit returns the stamped copy; on a miss the first caller for
    /// `key` runs `fn`, stores and returns its value unstamped, while concurrent callers for the same key wait and
    /// receive a stamped copy (they made no LM call, so they count no usage). An error from `fn` reaches every
    /// waiter and nothing is stored. @sa dspy.clients.cache.request_cache (which has no single-flight)
    Json get_or_compute(std::string_view key, const std::function<Json()>& fn, bool enable_memory_cache = true);
    /// Whether `key` is in memory or on disk; neither promotes nor refreshes it. @sa Cache.__contains__
    [[nodiscard]] bool contains(std::string_view key) const;
    /// Drops every memory entry; the disk keeps its. @sa Cache.reset_memory_cache
    void reset_memory_cache();
    /// Number of entries in the memory cache.
    [[nodiscard]] std::size_t size() const;
    /// Blocks until every disk write queued so far is committed (the destructor does this too).
    void flush() const;

    /// The options this cache was built with.
    [[nodiscard]] const CacheOptions& options() const noexcept;
    /// Whether the memory layer is in use.
    [[nodiscard]] bool memory_cache_enabled() const noexcept;
    /// Whether the disk layer is in use (false when disabled or when opening it failed).
    [[nodiscard]] bool disk_cache_enabled() const noexcept;
    /// Path of the SQLite file, or empty when the disk layer is off.
    [[nodiscard]] std::string disk_cache_path() const;
    /// The single-flight table that the LM layer uses for this cache's keys.
    [[nodiscard]] InFlight& in_flight() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The process-wide cache, created with the default `CacheOptions` on first use. @sa dspy.cache
[[nodiscard]] std::shared_ptr<Cache> cache();

/// Replaces the process-wide cache (holders of the previous one keep it until they let go). @sa dspy.configure_cache
void configure_cache(CacheOptions options = {});

}  // namespace dspy
