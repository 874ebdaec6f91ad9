#pragma once
/// @file
/// `when_all`: run several tasks concurrently and wait for all of them. Each child is a new logical task that
/// starts with the parent's settings snapshot (so a child's dspy::context reaches neither the parent nor its
/// siblings) and shares the parent's stop token. Model: cppcoro when_all / when_all_counter.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "dspy/async/task.hpp"

namespace dspy {
namespace detail {

/// Counts finished children; the last one resumes the parent.
struct WhenAllCounter {
    std::atomic<std::size_t> count{0};
    std::coroutine_handle<> parent;
    static std::coroutine_handle<> child_done(void* ctx) noexcept;
};

/// Starts every child (each with the parent's snapshot and a new task id). Returns false when all of them
/// already finished, so the parent need not suspend.
bool start_children(WhenAllCounter& counter, std::coroutine_handle<> parent, TaskPromiseBase* const* promises,
                    const std::coroutine_handle<>* handles, std::size_t n, const std::stop_token* stop);

template <typename... Ts>
class WhenAllPack {
public:
    explicit WhenAllPack(Task<Ts>&... tasks) noexcept
        : promises_{&tasks.handle().promise()...}, handles_{std::coroutine_handle<>(tasks.handle())...} {}
    bool await_ready() const noexcept { return sizeof...(Ts) == 0; }
    void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
    bool await_suspend(std::coroutine_handle<> h) {
        return start_children(counter_, h, promises_, handles_, sizeof...(Ts), stop_);
    }
    void await_resume() const noexcept {}

private:
    TaskPromiseBase* promises_[sizeof...(Ts) == 0 ? 1 : sizeof...(Ts)];
    std::coroutine_handle<> handles_[sizeof...(Ts) == 0 ? 1 : sizeof...(Ts)];
    const std::stop_token* stop_ = nullptr;
    WhenAllCounter counter_;
};

template <typename T>
class WhenAllRange {
public:
    explicit WhenAllRange(std::vector<Task<T>>& tasks) {
        promises_.reserve(tasks.size());
        handles_.reserve(tasks.size());
        for (auto& t : tasks) {
            promises_.push_back(&t.handle().promise());
            handles_.push_back(t.handle());
        }
    }
    bool await_ready() const noexcept { return handles_.empty(); }
    void bind_stop(const std::stop_token* t) noexcept { stop_ = t; }
    bool await_suspend(std::coroutine_handle<> h) {
        return start_children(counter_, h, promises_.data(), handles_.data(), handles_.size(), stop_);
    }
    void await_resume() const noexcept {}

private:
    std::vector<TaskPromiseBase*> promises_;
    std::vector<std::coroutine_handle<>> handles_;
    const std::stop_token* stop_ = nullptr;
    WhenAllCounter counter_;
};

template <typename T>
using NonVoid = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
NonVoid<T> take_result(Task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        t.handle().promise().result();
        return {};
    } else {
        return std::move(t.handle().promise()).result();
    }
}

template <typename T>
void check_task(const Task<T>& t) {
    if (!t.valid()) throw std::logic_error("dspy::when_all: empty Task (moved from?)");
}

inline void rethrow_first(std::initializer_list<TaskPromiseBase*> promises) {
    for (auto* p : promises)
        if (p->exception_) std::rethrow_exception(p->exception_);
}

}  // namespace detail

/// Runs the tasks concurrently; returns their values in order (std::monostate for void tasks). Waits for all
/// of them, then rethrows the first failure in argument order. @sa asyncio.gather
template <typename... Ts>
Task<std::tuple<detail::NonVoid<Ts>...>> when_all(Task<Ts>... tasks) {
    (detail::check_task(tasks), ...);
    detail::WhenAllPack<Ts...> awaiter(tasks...);
    co_await awaiter;
    detail::rethrow_first({static_cast<detail::TaskPromiseBase*>(&tasks.handle().promise())...});
    co_return std::tuple<detail::NonVoid<Ts>...>(detail::take_result(tasks)...);
}

/// Runs every task of the vector concurrently; returns the values in order. Waits for all of them, then
/// rethrows the first failure by index. @sa asyncio.gather(*tasks)
template <typename T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(std::vector<Task<T>> tasks) {
    for (auto& t : tasks) detail::check_task(t);
    detail::WhenAllRange<T> awaiter(tasks);
    co_await awaiter;
    for (auto& t : tasks)
        if (t.handle().promise().exception_) std::rethrow_exception(t.handle().promise().exception_);
    if constexpr (std::is_void_v<T>) {
        co_return;
    } else {
        std::vector<T> out;
        out.reserve(tasks.size());
        for (auto& t : tasks) out.push_back(std::move(t.handle().promise()).result());
        co_return out;
    }
}

}  // namespace dspy
