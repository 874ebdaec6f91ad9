#include "dspy/clients/response_cache.hpp"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iostream>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "clients/sqlite_store.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

constexpr std::size_t kMaxDiskValueBytes = 900'000'000;

// DSPy stamps every cache hit so that it counts toward neither usage tracking nor cost.
void stamp_cache_hit(Json& value) {
    if (!value.is_object()) return;
    value["usage"] = Json::object();
    value["cache_hit"] = true;
}

// An LRU of shared immutable values. Large caches are split into shards with their own lock so that concurrent
// hits rarely contend; each shard is an exact LRU of its share of the capacity (keys are SHA-256 hex, so shares
// fill evenly). Small caches use one shard and are an exact global LRU.
class MemoryLru {
public:
    explicit MemoryLru(std::int64_t capacity) {
        const auto cap = static_cast<std::uint64_t>(capacity);
        const std::size_t shards = cap >= kShardThreshold ? kShards : 1;
        shards_.reserve(shards);
        for (std::size_t i = 0; i < shards; ++i) {
            auto shard = std::make_unique<Shard>();
            shard->capacity = static_cast<std::size_t>(cap / shards + (i < cap % shards ? 1 : 0));
            shards_.push_back(std::move(shard));
        }
    }

    std::shared_ptr<const Json> get(std::string_view key) {
        Shard& s = shard_for(key);
        std::lock_guard lock(s.mu);
        auto it = s.index.find(key);
        if (it == s.index.end()) return nullptr;
        s.order.splice(s.order.begin(), s.order, it->second);
        return it->second->value;
    }

    bool contains(std::string_view key) {
        Shard& s = shard_for(key);
        std::lock_guard lock(s.mu);
        return s.index.find(key) != s.index.end();
    }

    void put(std::string_view key, std::shared_ptr<const Json> value) {
        Shard& s = shard_for(key);
        std::shared_ptr<const Json> evicted;  // released outside the lock: freeing a big Json takes a while
        std::lock_guard lock(s.mu);
        if (auto it = s.index.find(key); it != s.index.end()) {
            evicted = std::exchange(it->second->value, std::move(value));
            s.order.splice(s.order.begin(), s.order, it->second);
            return;
        }
        if (s.order.size() >= s.capacity && !s.order.empty()) {
            evicted = std::move(s.order.back().value);
            s.index.erase(s.order.back().key);
            s.order.pop_back();
        }
        s.order.push_front(Node{std::string(key), std::move(value)});
        s.index.emplace(s.order.front().key, s.order.begin());
    }

    void clear() {
        for (auto& s : shards_) {
            std::list<Node> dropped;
            std::lock_guard lock(s->mu);
            s->index.clear();
            dropped.swap(s->order);
        }
    }

    std::size_t size() {
        std::size_t n = 0;
        for (auto& s : shards_) {
            std::lock_guard lock(s->mu);
            n += s->order.size();
        }
        return n;
    }

private:
    static constexpr std::size_t kShards = 16;
    static constexpr std::uint64_t kShardThreshold = 4096;

    struct Node {
        std::string key;
        std::shared_ptr<const Json> value;
    };
    struct Shard {
        std::mutex mu;
        std::list<Node> order;  // most recently used first
        std::unordered_map<std::string_view, std::list<Node>::iterator> index;  // views into order's keys
        std::size_t capacity = 0;
    };

    Shard& shard_for(std::string_view key) {
        if (shards_.size() == 1) return *shards_.front();
        // The high bits, so that the shard does not correlate with the bucket (low bits) inside the shard.
        return *shards_[(std::hash<std::string_view>{}(key) >> 56) % shards_.size()];
    }

    std::vector<std::unique_ptr<Shard>> shards_;
};

std::string home_dir() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr && found->pw_dir != nullptr)
        return found->pw_dir;
    return ".";
}

// Python's int(str): surrounding whitespace, an optional sign, digits with single underscores between them.
std::optional<std::int64_t> parse_python_int(std::string_view s) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
    std::int64_t value = 0;
    char prev = '0';
    for (char c : s) {
        if (c == '_') {
            if (prev == '_') return std::nullopt;
        } else if (c >= '0' && c <= '9') {
            if (value > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
            value = value * 10 + (c - '0');
        } else {
            return std::nullopt;
        }
        prev = c;
    }
    return negative ? -value : value;
}

void warn(const std::string& what) { std::cerr << "dspy: warning: " << what << '\n'; }

}  // namespace

std::string default_disk_cache_dir() {
    if (const char* dir = std::getenv("DSPY_CACHEDIR"); dir != nullptr && *dir != '\0') return dir;
    return home_dir() + "/.dspy_cache";
}

std::int64_t default_disk_cache_limit() {
    const char* env = std::getenv("DSPY_CACHE_LIMIT");
    if (env == nullptr) return 30'000'000'000;
    if (auto v = parse_python_int(env)) return *v;
    throw ValueError(std::string("DSPY_CACHE_LIMIT must be an integer number of bytes, but it is '") + env + "'");
}

// ---- InFlight --------------------------------------------------------------------------------------------------

struct InFlight::Impl {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<Waiter>, StringHash, std::equal_to<>> waiting;

    std::vector<Waiter> take(std::string_view key) {
        std::lock_guard lock(mu);
        auto it = waiting.find(key);
        if (it == waiting.end()) return {};
        auto waiters = std::move(it->second);
        waiting.erase(it);
        return waiters;
    }
};

InFlight::InFlight() : impl_(std::make_unique<Impl>()) {}

InFlight::~InFlight() {
    decltype(impl_->waiting) left;
    {
        std::lock_guard lock(impl_->mu);
        left.swap(impl_->waiting);
    }
    for (auto& [key, waiters] : left) {
        auto error = std::make_exception_ptr(
            DSPyError("the request for cache key " + key + " was abandoned: its in-flight table was destroyed"));
        for (auto& w : waiters) {
            try {
                w(nullptr, error);
            } catch (...) {  // a destructor must not throw; the other waiters still need their answer
            }
        }
    }
}

bool InFlight::lead_or_join(std::string_view key, Waiter waiter) {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->waiting.find(key);
    if (it == impl_->waiting.end()) {
        impl_->waiting.emplace(std::string(key), std::vector<Waiter>{});
        return true;
    }
    it->second.push_back(std::move(waiter));
    return false;
}

void InFlight::complete(std::string_view key, const Json& value) {
    // Waiters run outside the lock, so one may start a new request for the same key.
    for (auto& w : impl_->take(key)) {
        try {
            w(&value, nullptr);
        } catch (...) {  // one faulty waiter must not leave the others hanging
        }
    }
}

void InFlight::fail(std::string_view key, std::exception_ptr error) {
    for (auto& w : impl_->take(key)) {
        try {
            w(nullptr, error);
        } catch (...) {
        }
    }
}

Json InFlight::call(std::string_view key, const std::function<Json()>& fn) {
    auto promise = std::make_shared<std::promise<Json>>();
    auto result = promise->get_future();
    Waiter waiter = [promise](const Json* value, std::exception_ptr error) {
        if (error) {
            promise->set_exception(std::move(error));
        } else {
            promise->set_value(*value);
        }
    };
    if (!lead_or_join(key, std::move(waiter))) return result.get();
    Json value;
    try {
        value = fn();
    } catch (...) {
        fail(key, std::current_exception());
        throw;
    }
    complete(key, value);
    return value;
}

std::size_t InFlight::size() const {
    std::lock_guard lock(impl_->mu);
    return impl_->waiting.size();
}

std::size_t InFlight::waiting(std::string_view key) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->waiting.find(key);
    return it == impl_->waiting.end() ? 0 : it->second.size();
}

// ---- Cache -----------------------------------------------------------------------------------------------------

struct Cache::Impl {
    CacheOptions options;
    std::unique_ptr<MemoryLru> memory;
    std::unique_ptr<detail::SqliteStore> disk;
    mutable InFlight in_flight;
};

Cache::Cache(CacheOptions options) : impl_(std::make_unique<Impl>()) {
    if (options.enable_memory_cache && options.memory_max_entries <= 0) {
        throw ValueError("`memory_max_entries` must be a positive number, but received " +
                         std::to_string(options.memory_max_entries));
    }
    if (options.enable_disk_cache && options.disk_size_limit_bytes < 0) {
        throw ValueError("`disk_size_limit_bytes` must be a non-negative number, but received " +
                         std::to_string(options.disk_size_limit_bytes));
    }
    if (options.enable_disk_cache && options.disk_cache_dir.empty()) options.disk_cache_dir = default_disk_cache_dir();
    if (options.enable_memory_cache) impl_->memory = std::make_unique<MemoryLru>(options.memory_max_entries);
    if (options.enable_disk_cache) {
        std::string error;
        impl_->disk = detail::SqliteStore::open(options.disk_cache_dir, options.disk_size_limit_bytes, error);
        if (!impl_->disk) warn("Failed to initialize disk cache, falling back to memory-only cache: " + error);
    }
    impl_->options = std::move(options);
}

Cache::~Cache() = default;  // the store's destructor commits what is queued

std::shared_ptr<const Json> Cache::get_shared(std::string_view key) const {
    if (impl_->memory) {
        if (auto hit = impl_->memory->get(key)) return hit;
    }
    if (!impl_->disk) return nullptr;
    auto text = impl_->disk->get(key);
    if (!text) return nullptr;
    Json value;
    try {
        value = Json::parse(*text);
    } catch (const Json::exception&) {
        impl_->disk->erase(key);  // our own entry, unreadable: DSPy deletes such entries too
        return nullptr;
    }
    stamp_cache_hit(value);
    auto shared = std::make_shared<const Json>(std::move(value));
    if (impl_->memory) impl_->memory->put(key, shared);
    return shared;
}

std::optional<Json> Cache::get(std::string_view key) const {
    auto shared = get_shared(key);
    if (!shared) return std::nullopt;
    return *shared;
}

void Cache::put(std::string_view key, Json value, bool enable_memory_cache) {
    const bool to_memory = impl_->memory && enable_memory_cache;
    if (impl_->disk) {
        try {
            std::string text = value.dump();
            // SQLite refuses values over SQLITE_MAX_LENGTH (1e9 bytes by default), which would fail the whole batch.
            if (text.size() < kMaxDiskValueBytes) impl_->disk->put(key, std::move(text));
        } catch (const Json::exception&) {
            // Not serialisable (invalid UTF-8 in a string): DSPy swallows disk errors as well.
        }
    }
    if (to_memory) {
        // Stored pre-stamped, so that a hit needs no copy at all (get_shared) or just one (get).
        stamp_cache_hit(value);
        impl_->memory->put(key, std::make_shared<const Json>(std::move(value)));
    }
}

Json Cache::get_or_compute(std::string_view key, const std::function<Json()>& fn, bool enable_memory_cache) {
    if (auto hit = get(key)) return std::move(*hit);
    bool led = false;
    Json value = impl_->in_flight.call(key, [&] {
        // A leader that finished between our miss and our lead_or_join has stored its value by now.
        if (auto hit = get(key)) return std::move(*hit);
        led = true;
        Json fresh = fn();
        put(key, fresh, enable_memory_cache);
        return fresh;
    });
    if (!led) stamp_cache_hit(value);
    return value;
}

bool Cache::contains(std::string_view key) const {
    if (impl_->memory && impl_->memory->contains(key)) return true;
    return impl_->disk && impl_->disk->contains(key);
}

void Cache::reset_memory_cache() {
    if (impl_->memory) impl_->memory->clear();
}

std::size_t Cache::size() const { return impl_->memory ? impl_->memory->size() : 0; }

void Cache::flush() const {
    if (impl_->disk) impl_->disk->flush();
}

const CacheOptions& Cache::options() const noexcept { return impl_->options; }
bool Cache::memory_cache_enabled() const noexcept { return impl_->memory != nullptr; }
bool Cache::disk_cache_enabled() const noexcept { return impl_->disk != nullptr; }
std::string Cache::disk_cache_path() const { return impl_->disk ? impl_->disk->path() : std::string(); }
InFlight& Cache::in_flight() const noexcept { return impl_->in_flight; }

// ---- the process-wide cache ------------------------------------------------------------------------------------

namespace {
// A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's lock-bit implementation of the latter is invisible to
// ThreadSanitizer (two threads making their first LM call at once were reported), and an uncontended lock costs
// a few nanoseconds beside an LM call.
struct GlobalCache {
    std::shared_ptr<Cache> current;
    std::mutex init_mu;
};
GlobalCache& global_cache() {
    static GlobalCache g;
    return g;
}
}  // namespace

std::shared_ptr<Cache> cache() {
    auto& g = global_cache();
    std::lock_guard lock(g.init_mu);
    if (!g.current) g.current = std::make_shared<Cache>();
    return g.current;
}

void configure_cache(CacheOptions options) {
    auto fresh = std::make_shared<Cache>(std::move(options));
    auto& g = global_cache();
    std::shared_ptr<Cache> previous;
    {
        std::lock_guard lock(g.init_mu);
        previous = std::exchange(g.current, std::move(fresh));
    }
    // `previous` flushes (if nobody else holds it) here, outside the lock.
}

}  // namespace dspy
