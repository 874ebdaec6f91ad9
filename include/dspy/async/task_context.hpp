#pragma once
/// @file
/// The per-task execution context (settings snapshot + task identity) that the runtime carries across awaits.
/// Internal plumbing: the one thread_local lives in src/settings/settings.cpp and is reached only through these
/// out-of-line functions, because compilers may cache a thread-local's address across a suspension point.

#include <cstdint>
#include <memory>

namespace dspy {

struct Settings;

namespace detail {

/// What follows a logical task: its settings snapshot (null = follow the global settings) and its task id
/// (0 = not inside a task). @sa contextvars.Context, asyncio.current_task
struct TaskContext {
    std::shared_ptr<const Settings> settings;
    std::uint64_t task_id = 0;
};

/// A copy of the calling thread's current context.
[[nodiscard]] TaskContext capture_context() noexcept;
/// Installs `ctx` as the calling thread's current context.
void restore_context(TaskContext&& ctx) noexcept;
/// Installs `ctx` and returns the context that was current.
[[nodiscard]] TaskContext exchange_context(TaskContext&& ctx) noexcept;
/// Clears the calling thread's context (global settings, no task); what worker threads and loops go back to.
void reset_context() noexcept;
/// A fresh task id (never 0).
[[nodiscard]] std::uint64_t new_task_id() noexcept;
/// The current task id (0 outside any task).
[[nodiscard]] std::uint64_t current_task_id() noexcept;

}  // namespace detail
}  // namespace dspy
