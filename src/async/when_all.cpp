#include "dspy/async/when_all.hpp"

namespace dspy::detail {

std::coroutine_handle<> WhenAllCounter::child_done(void* ctx) noexcept {
    auto* c = static_cast<WhenAllCounter*>(ctx);
    if (c->count.fetch_sub(1, std::memory_order_acq_rel) == 1) return c->parent;
    return std::noop_coroutine();
}

bool start_children(WhenAllCounter& counter, std::coroutine_handle<> parent, TaskPromiseBase* const* promises,
                    const std::coroutine_handle<>* handles, std::size_t n, const std::stop_token* stop) {
    counter.parent = parent;
    // One extra count held by the parent until every child has been started (cppcoro's trick).
    counter.count.store(n + 1, std::memory_order_relaxed);
    TaskContext parent_ctx = capture_context();
    for (std::size_t i = 0; i < n; ++i) {
        TaskPromiseBase* p = promises[i];
        p->on_done_ = &WhenAllCounter::child_done;
        p->on_done_ctx_ = &counter;
        p->stop_ = stop;
        restore_context(TaskContext{parent_ctx.settings, new_task_id()});
        handles[i].resume();
    }
    restore_context(std::move(parent_ctx));
    return counter.count.fetch_sub(1, std::memory_order_acq_rel) != 1;
}

}  // namespace dspy::detail
