#pragma once
// The disk layer of dspy::Cache: one SQLite file in WAL mode shared by any number of processes (readers run
// concurrently, one writer at a time, busy_timeout for the rest). Writes go through a bounded queue to one
// background writer thread that commits them in batches; reads consult that queue first, so a get right after a
// put in the same process hits. SQLite's WAL journaling makes a SIGKILL at any point harmless: a transaction is
// either wholly in the file or not at all.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dspy::detail {

class SqliteStore {
public:
    /// Opens (creating if needed) `dir/kDiskCacheFileName`. On failure returns null and puts the reason in `error`;
    /// it refuses, without modifying it, a file that is not a SQLite database or a database that is not ours.
    static std::unique_ptr<SqliteStore> open(const std::string& dir, std::int64_t size_limit_bytes,
                                             std::string& error);
    ~SqliteStore();
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    /// The stored text for `key` (pending writes first), refreshing its access time; nullopt on a miss or error.
    [[nodiscard]] std::optional<std::string> get(std::string_view key);
    /// Whether `key` is stored or pending, without refreshing it.
    [[nodiscard]] bool contains(std::string_view key);
    /// Queues a write; blocks only while the queue is over its bound.
    void put(std::string_view key, std::string value);
    /// Queues the removal of a corrupt entry.
    void erase(std::string_view key);
    /// Blocks until everything queued before the call is committed (or dropped after an error).
    void flush();
    /// The file's path.
    [[nodiscard]] const std::string& path() const noexcept;

private:
    struct Impl;
    explicit SqliteStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace dspy::detail
