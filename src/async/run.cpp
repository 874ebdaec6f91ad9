#include "dspy/async/run.hpp"

#include <cstdio>
#include <exception>

namespace dspy::detail {
namespace {

void set_done(void* arg) { static_cast<RootState*>(arg)->done = true; }

std::coroutine_handle<> root_done(void* arg) noexcept {
    auto* st = static_cast<RootState*>(arg);
    if (EventLoop::current() == st->loop)
        st->done = true;
    else
        st->loop->post(&set_done, st);  // the root ended on another thread: tell the loop
    return std::noop_coroutine();
}

struct Detached final : EventLoop::DetachedBase {
    std::coroutine_handle<> h;
    TaskPromiseBase* promise = nullptr;
    EventLoop* loop = nullptr;
    std::stop_source stop;
    std::stop_token token = stop.get_token();
    TaskContext ctx;

    void request_stop() noexcept override { stop.request_stop(); }

    static void start(void* arg) {
        auto* d = static_cast<Detached*>(arg);
        restore_context(std::move(d->ctx));
        d->h.resume();
    }
    static void finish(void* arg) {
        auto* d = static_cast<Detached*>(arg);
        if (d->promise->exception_) {
            try {
                std::rethrow_exception(d->promise->exception_);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "dspy: a spawned task ended with an exception nobody retrieved: %s\n", e.what());
            } catch (...) {
                std::fprintf(stderr, "dspy: a spawned task ended with a non-std exception nobody retrieved\n");
            }
        }
        d->loop->remove_detached(d);
        d->h.destroy();
        delete d;
    }
    static std::coroutine_handle<> done(void* arg) noexcept {
        auto* d = static_cast<Detached*>(arg);
        if (EventLoop::current() == d->loop)
            finish(d);  // destroying the frame here is fine: it is suspended at its final point
        else
            d->loop->post(&finish, d);
        return std::noop_coroutine();
    }
};

void start_root(void* arg) {
    auto* h = static_cast<std::coroutine_handle<>*>(arg);
    h->resume();
}

}  // namespace

void drive_root(std::coroutine_handle<> h, TaskPromiseBase& promise, RootState& st, bool new_task) {
    EventLoop loop;
    st.loop = &loop;
    promise.on_done_ = &root_done;
    promise.on_done_ctx_ = &st;
    promise.stop_ = &st.token;

    TaskContext mine = capture_context();
    TaskContext start = mine;
    if (new_task) start.task_id = new_task_id();
    struct Restore {
        TaskContext saved;
        ~Restore() { restore_context(std::move(saved)); }
    } restore{std::move(mine)};

    // Start the root inside the loop so that it sees the loop as current.
    std::coroutine_handle<> handle = h;
    struct Starter {
        std::coroutine_handle<>* h;
        TaskContext ctx;
        static void run(void* arg) {
            auto* s = static_cast<Starter*>(arg);
            restore_context(std::move(s->ctx));
            start_root(s->h);
        }
    } starter{&handle, std::move(start)};
    loop.post(&Starter::run, &starter);
    loop.run_until(&st.done);

    // Like asyncio.run: cancel what the main task left running and let it unwind.
    if (loop.detached_count() != 0) {
        loop.stop_detached();
        loop.run_until(loop.no_detached_flag());
    }
}

void spawn_detached(std::coroutine_handle<> h, TaskPromiseBase& promise) {
    EventLoop* loop = EventLoop::current();
    if (!loop) throw std::logic_error("dspy::spawn needs a running event loop (call it from inside dspy::run)");
    auto* d = new Detached;
    d->h = h;
    d->promise = &promise;
    d->loop = loop;
    d->ctx = capture_context();
    d->ctx.task_id = new_task_id();
    promise.on_done_ = &Detached::done;
    promise.on_done_ctx_ = d;
    promise.stop_ = &d->token;
    loop->add_detached(d);
    loop->post(&Detached::start, d);
}

}  // namespace dspy::detail
