#pragma once
/// @file
/// Entry points from synchronous code: `run` (asyncio.run), `sync_wait`, and `spawn` (asyncio.create_task).

#include <coroutine>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "dspy/async/event_loop.hpp"
#include "dspy/async/task.hpp"

namespace dspy {
namespace detail {

/// A root task driven by a private event loop on the calling thread.
struct RootState {
    EventLoop* loop = nullptr;
    bool done = false;
    std::stop_source stop;
    std::stop_token token = stop.get_token();
};

/// Drives `h` (a root whose on_done_ is already set) on a fresh loop on this thread until it ends, then cancels
/// and drains the tasks it spawned. `new_task`: the root is a new logical task (run) or continues the caller's
/// (sync_wait). The caller's context is restored afterwards.
void drive_root(std::coroutine_handle<> h, TaskPromiseBase& promise, RootState& st, bool new_task);

/// Starts `h` as a detached task on the current loop (inherits the current settings, gets its own task id).
void spawn_detached(std::coroutine_handle<> h, TaskPromiseBase& promise);

template <typename A>
struct IsTask : std::false_type {};
template <typename T>
struct IsTask<Task<T>> : std::true_type {};

template <typename A>
auto await_any(A a) -> Task<std::remove_cvref_t<decltype(get_awaiter(std::declval<A>()).await_resume())>> {
    co_return co_await std::move(a);
}

template <typename T>
decltype(auto) drive(Task<T> task, bool new_task) {
    if (!task.valid()) throw std::logic_error("dspy::run: empty Task (moved from?)");
    RootState st;
    auto h = task.handle();
    drive_root(h, h.promise(), st, new_task);
    if constexpr (std::is_void_v<T>)
        h.promise().result();
    else if constexpr (std::is_reference_v<T>)
        return h.promise().result();
    else
        return T(std::move(h.promise()).result());
}

}  // namespace detail

/// Runs `task` to completion on a new event loop on the calling thread and returns its value (or rethrows).
/// The task is a new logical task that starts with the caller's settings; tasks it spawned are cancelled and
/// drained before returning. May be nested inside a running loop (like nest_asyncio): the outer loop waits.
/// @sa asyncio.run
template <typename T>
decltype(auto) run(Task<T> task) {
    return detail::drive(std::move(task), true);
}

/// Blocks the calling thread, which must not be running an event loop, until `awaitable` completes; the work
/// runs on a private loop on this thread and stays in the caller's logical task.
/// @throws std::logic_error when called from inside a running loop (use co_await there).
/// @sa asyncio.run_coroutine_threadsafe(...).result()
template <typename A>
decltype(auto) sync_wait(A&& awaitable) {
    if (EventLoop::current() != nullptr)
        throw std::logic_error("dspy::sync_wait would block the event loop running on this thread; co_await instead");
    if constexpr (detail::IsTask<std::remove_cvref_t<A>>::value)
        return detail::drive(std::move(awaitable), false);
    else
        return detail::drive(detail::await_any(std::forward<A>(awaitable)), false);
}

/// Starts `task` on the current loop without waiting for it: it runs when the loop gets to it, with the
/// caller's settings at this moment and a task id of its own (so its dspy::context never reaches the caller).
/// An exception it ends with is reported on stderr. `run` cancels what is still running when its main task
/// ends. @throws std::logic_error outside a running loop. @sa asyncio.create_task
template <typename T>
void spawn(Task<T> task) {
    if (!task.valid()) throw std::logic_error("dspy::spawn: empty Task (moved from?)");
    auto h = task.handle();
    detail::spawn_detached(h, h.promise());
    (void)task.release();
}

}  // namespace dspy
