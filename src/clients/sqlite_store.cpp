#include "clients/sqlite_store.hpp"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dspy/clients/response_cache.hpp"

namespace dspy::detail {
namespace {

constexpr int kApplicationId = 0x44535059;  // "DSPY": marks the file as ours
constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 10'000;  // diskcache's timeout=10
// Bound on queued writes: past it, put() waits for the writer (back-pressure instead of unbounded memory).
constexpr std::size_t kMaxPendingBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxPendingOps = 16'384;
constexpr std::size_t kEvictChunk = 256;

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS responses(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at REAL NOT NULL,
  accessed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS responses_accessed_at ON responses(accessed_at);
CREATE TABLE IF NOT EXISTS stats(id INTEGER PRIMARY KEY CHECK (id = 0), total_size INTEGER NOT NULL);
INSERT OR IGNORE INTO stats(id, total_size) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS responses_size_ins AFTER INSERT ON responses
  BEGIN UPDATE stats SET total_size = total_size + NEW.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS responses_size_del AFTER DELETE ON responses
  BEGIN UPDATE stats SET total_size = total_size - OLD.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS responses_size_upd AFTER UPDATE OF size ON responses
  BEGIN UPDATE stats SET total_size = total_size - OLD.size + NEW.size WHERE id = 0; END;
)sql";

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// A queued write: a value to upsert, or nullopt to delete the row.
struct Op {
    std::optional<std::string> value;
    double at = 0;
};
using OpMap = std::unordered_map<std::string, Op, StringHash, std::equal_to<>>;
using TouchMap = std::unordered_map<std::string, double, StringHash, std::equal_to<>>;

std::string sqlite_error(sqlite3* db, int rc) {
    return db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

bool exec(sqlite3* db, const char* sql, std::string& error) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc == SQLITE_OK) return true;
    error = msg != nullptr ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return false;
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql, std::string& error) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        error = sqlite3_errmsg(db);
        sqlite3_finalize(stmt);
        return nullptr;
    }
    return stmt;
}

// Runs a one-row query and returns its first column as text (nullopt with `error` set on failure).
std::optional<std::string> query_text(sqlite3* db, const char* sql, std::string& error) {
    sqlite3_stmt* stmt = prepare(db, sql, error);
    if (stmt == nullptr) return std::nullopt;
    std::optional<std::string> out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const auto* text = sqlite3_column_text(stmt, 0);
        out.emplace(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    } else {
        error = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    return out;
}

sqlite3* open_connection(const std::string& path, std::string& error) {
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        error = "cannot open '" + path + "': " + sqlite_error(db, rc);
        sqlite3_close_v2(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    return db;
}

void warn(std::string_view what) { std::cerr << "dspy: warning: disk cache: " << what << '\n'; }

}  // namespace

struct SqliteStore::Impl {
    std::string path;
    std::int64_t limit = 0;

    // The reader connection serves get/contains from any thread, one at a time; in WAL mode it never waits for the
    // writer. The writer connection belongs to the writer thread once open() returns.
    std::mutex read_mu;
    sqlite3* rdb = nullptr;
    sqlite3_stmt* select = nullptr;
    sqlite3_stmt* exists = nullptr;

    sqlite3* wdb = nullptr;
    sqlite3_stmt* upsert = nullptr;
    sqlite3_stmt* remove = nullptr;
    sqlite3_stmt* touch = nullptr;
    sqlite3_stmt* total = nullptr;
    sqlite3_stmt* oldest = nullptr;
    sqlite3_stmt* remove_rowid = nullptr;

    std::mutex mu;
    std::condition_variable work_cv, space_cv, done_cv;
    OpMap pending;  // queued, newest op per key
    OpMap writing;  // the batch being committed: read-only while the writer works on it
    TouchMap touches;
    std::size_t pending_bytes = 0;
    std::uint64_t submitted = 0;
    std::uint64_t committed = 0;
    bool stop = false;
    std::thread writer;

    std::atomic<bool> warned_write{false};
    std::atomic<bool> warned_read{false};

    ~Impl() {
        for (auto* s : {select, exists, upsert, remove, touch, total, oldest, remove_rowid}) sqlite3_finalize(s);
        sqlite3_close_v2(rdb);
        sqlite3_close_v2(wdb);
    }

    void warn_write_once(const std::string& what) {
        if (!warned_write.exchange(true)) warn("write failed, entries not persisted: " + what + " (" + path + ")");
    }
    void warn_read_once(const std::string& what) {
        if (!warned_read.exchange(true)) warn("read failed, treated as a miss: " + what + " (" + path + ")");
    }

    bool step_done(sqlite3_stmt* stmt, std::string& error) {
        const int rc = sqlite3_step(stmt);
        const bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
        if (!ok) error = sqlite3_errmsg(wdb);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return ok;
    }

    // Evicts least-recently-accessed rows down to 90% of the limit once the total passes it, so that a cache at
    // capacity pays for eviction once per 10% of churn instead of on every batch.
    bool evict_if_needed(std::string& error) {
        std::int64_t total_size = 0;
        if (sqlite3_step(total) == SQLITE_ROW) total_size = sqlite3_column_int64(total, 0);
        sqlite3_reset(total);
        if (total_size <= limit) return true;
        const std::int64_t target = limit - limit / 10;
        std::vector<std::pair<std::int64_t, std::int64_t>> victims;  // rowid, size
        while (total_size > target) {
            victims.clear();
            sqlite3_bind_int64(oldest, 1, static_cast<std::int64_t>(kEvictChunk));
            while (sqlite3_step(oldest) == SQLITE_ROW) {
                victims.emplace_back(sqlite3_column_int64(oldest, 0), sqlite3_column_int64(oldest, 1));
            }
            sqlite3_reset(oldest);
            if (victims.empty()) break;
            for (const auto& [rowid, size] : victims) {
                if (total_size <= target) break;
                sqlite3_bind_int64(remove_rowid, 1, rowid);
                if (!step_done(remove_rowid, error)) return false;
                total_size -= size;
            }
        }
        return true;
    }

    void write_batch(const OpMap& ops, const TouchMap& touched) {
        std::string error;
        if (!exec(wdb, "BEGIN IMMEDIATE", error)) {
            warn_write_once(error);
            return;
        }
        bool ok = true;
        for (const auto& [key, op] : ops) {
            if (!ok) break;
            if (op.value) {
                const auto& value = *op.value;
                sqlite3_bind_text(upsert, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
                sqlite3_bind_text(upsert, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
                sqlite3_bind_int64(upsert, 3, static_cast<std::int64_t>(key.size() + value.size()));
                sqlite3_bind_double(upsert, 4, op.at);
                ok = step_done(upsert, error);
            } else {
                sqlite3_bind_text(remove, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
                ok = step_done(remove, error);
            }
        }
        for (const auto& [key, at] : touched) {
            if (!ok) break;
            sqlite3_bind_double(touch, 1, at);
            sqlite3_bind_text(touch, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
            ok = step_done(touch, error);
        }
        if (ok) ok = evict_if_needed(error);
        if (ok && exec(wdb, "COMMIT", error)) return;
        std::string ignored;
        exec(wdb, "ROLLBACK", ignored);
        warn_write_once(error);
    }

    void run() {
        std::unique_lock lock(mu);
        for (;;) {
            work_cv.wait(lock, [&] { return stop || !pending.empty() || !touches.empty(); });
            if (pending.empty() && touches.empty()) break;  // stop requested and nothing left
            writing.swap(pending);
            TouchMap touched;
            touched.swap(touches);
            pending_bytes = 0;
            const std::uint64_t batch = submitted;
            space_cv.notify_all();
            lock.unlock();
            write_batch(writing, touched);
            lock.lock();
            writing.clear();  // only now: until the commit, readers find these values here
            committed = batch;
            done_cv.notify_all();
        }
    }

    // Looks `key` up in the queued writes; returns true when found (then `out` holds the value, or nullopt for a
    // queued deletion).
    bool find_queued(std::string_view key, std::optional<std::string>& out) {
        std::lock_guard lock(mu);
        for (const OpMap* map : {&pending, &writing}) {
            if (auto it = map->find(key); it != map->end()) {
                out = it->second.value;
                return true;
            }
        }
        return false;
    }

    void enqueue(std::string_view key, Op op) {
        std::unique_lock lock(mu);
        space_cv.wait(lock,
                      [&] { return stop || (pending_bytes < kMaxPendingBytes && pending.size() < kMaxPendingOps); });
        auto [it, inserted] = pending.try_emplace(std::string(key));
        if (!inserted && it->second.value) pending_bytes -= it->second.value->size();
        pending_bytes += key.size() + (op.value ? op.value->size() : 0);
        it->second = std::move(op);
        touches.erase(it->first);
        ++submitted;
        lock.unlock();
        work_cv.notify_one();
    }
};

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& dir, std::int64_t size_limit_bytes,
                                               std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        error = "cannot create directory '" + dir + "': " + ec.message();
        return nullptr;
    }
    if (!fs::is_directory(dir, ec)) {
        error = "'" + dir + "' is not a directory";
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->path = (fs::path(dir) / kDiskCacheFileName).string();
    impl->limit = size_limit_bytes;
    auto fail = [&](const std::string& why) {
        error = "'" + impl->path + "' " + why;
        return nullptr;
    };

    impl->wdb = open_connection(impl->path, error);
    if (impl->wdb == nullptr) return nullptr;
    sqlite3* db = impl->wdb;

    // Identify the file before changing anything in it: a user's own database or a damaged file stays untouched.
    std::string why;
    const auto app_id = query_text(db, "PRAGMA application_id", why);
    if (!app_id) return fail("cannot be used as a cache: " + why);
    const auto version = query_text(db, "PRAGMA user_version", why);
    if (!version) return fail("cannot be used as a cache: " + why);
    if (std::stoll(*app_id) != kApplicationId) {
        if (std::stoll(*app_id) != 0) return fail("is a SQLite database of another application; not touching it");
        const auto objects = query_text(db, "SELECT count(*) FROM sqlite_master", why);
        if (!objects) return fail("cannot be used as a cache: " + why);
        if (std::stoll(*objects) != 0) return fail("is a SQLite database that dspy-cpp did not create; not touching it");
    } else if (std::stoll(*version) > kSchemaVersion) {
        return fail("was written by a newer dspy-cpp (schema " + *version + ")");
    }

    const auto mode = query_text(db, "PRAGMA journal_mode=WAL", why);
    if (!mode) return fail("cannot switch to WAL mode: " + why);
    if (*mode != "wal") return fail("cannot switch to WAL mode (journal_mode is " + *mode + ")");
    if (!exec(db, "PRAGMA synchronous=NORMAL", why)) return fail(why);
    if (!exec(db, "BEGIN IMMEDIATE", why)) return fail("cannot be written: " + why);
    const std::string init = std::string(kSchemaSql) + "PRAGMA application_id=" + std::to_string(kApplicationId) +
                             ";PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";";
    if (!exec(db, init.c_str(), why) || !exec(db, "COMMIT", why)) {
        std::string ignored;
        exec(db, "ROLLBACK", ignored);
        return fail("cannot be initialised: " + why);
    }

    impl->upsert = prepare(db,
                           "INSERT INTO responses(key, value, size, created_at, accessed_at) VALUES (?1, ?2, ?3, ?4, ?4) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size, "
                           "created_at = excluded.created_at, accessed_at = excluded.accessed_at",
                           why);
    impl->remove = prepare(db, "DELETE FROM responses WHERE key = ?1", why);
    impl->touch = prepare(db, "UPDATE responses SET accessed_at = ?1 WHERE key = ?2", why);
    impl->total = prepare(db, "SELECT total_size FROM stats WHERE id = 0", why);
    impl->oldest = prepare(db, "SELECT rowid, size FROM responses ORDER BY accessed_at, rowid LIMIT ?1", why);
    impl->remove_rowid = prepare(db, "DELETE FROM responses WHERE rowid = ?1", why);
    if (!impl->upsert || !impl->remove || !impl->touch || !impl->total || !impl->oldest || !impl->remove_rowid) {
        return fail("cannot be used as a cache: " + why);
    }

    impl->rdb = open_connection(impl->path, error);
    if (impl->rdb == nullptr) return nullptr;
    impl->select = prepare(impl->rdb, "SELECT value FROM responses WHERE key = ?1", why);
    impl->exists = prepare(impl->rdb, "SELECT 1 FROM responses WHERE key = ?1", why);
    if (!impl->select || !impl->exists) return fail("cannot be read: " + why);

    Impl* raw = impl.get();
    impl->writer = std::thread([raw] { raw->run(); });
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stop = true;
    }
    impl_->work_cv.notify_all();
    impl_->space_cv.notify_all();
    if (impl_->writer.joinable()) impl_->writer.join();
}

std::optional<std::string> SqliteStore::get(std::string_view key) {
    std::optional<std::string> out;
    if (impl_->find_queued(key, out)) return out;
    {
        std::lock_guard lock(impl_->read_mu);
        sqlite3_stmt* stmt = impl_->select;
        sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
            out.emplace(data != nullptr ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
        } else if (rc != SQLITE_DONE) {
            impl_->warn_read_once(sqlite3_errmsg(impl_->rdb));
        }
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
    if (out) {
        // Refreshing the access time is a write: leave it to the writer thread.
        {
            std::lock_guard lock(impl_->mu);
            impl_->touches.insert_or_assign(std::string(key), now_seconds());
            ++impl_->submitted;  // so that flush() also waits for the refresh
        }
        impl_->work_cv.notify_one();
    }
    return out;
}

bool SqliteStore::contains(std::string_view key) {
    std::optional<std::string> queued;
    if (impl_->find_queued(key, queued)) return queued.has_value();
    std::lock_guard lock(impl_->read_mu);
    sqlite3_stmt* stmt = impl_->exists;
    sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) impl_->warn_read_once(sqlite3_errmsg(impl_->rdb));
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW;
}

void SqliteStore::put(std::string_view key, std::string value) { impl_->enqueue(key, Op{std::move(value), now_seconds()}); }

void SqliteStore::erase(std::string_view key) { impl_->enqueue(key, Op{std::nullopt, now_seconds()}); }

void SqliteStore::flush() {
    std::unique_lock lock(impl_->mu);
    const std::uint64_t target = impl_->submitted;
    impl_->done_cv.wait(lock, [&] { return impl_->committed >= target; });
}

const std::string& SqliteStore::path() const noexcept { return impl_->path; }

}  // namespace dspy::detail
