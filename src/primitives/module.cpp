#include "dspy/primitives/module.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <unistd.h>

#include "dspy/async/run.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/asyncify.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/inspect_history.hpp"
#include "dspy/utils/parallelizer.hpp"
#include "dspy/utils/usage_tracker.hpp"

namespace dspy {

// What Module.__call__ / acall do around forward / aforward: callbacks, the caller_modules stack (for history)
// and, for the outermost tracked call, a usage tracker whose totals end up on the Prediction.
class ModuleCall {
public:
    ModuleCall(Module& m, const Inputs& inputs) : cb_(detail::CallbackKind::Module, &m.callbacks_) {
        if (cb_.active()) cb_.start(&m, Json{{"args", Json::array()}, {"kwargs", inputs}});
        auto s = settings();
        auto callers = std::make_shared<std::vector<Module*>>();
        if (s->caller_modules) *callers = *s->caller_modules;
        callers->push_back(&m);
        SettingsOverrides o;
        o.caller_modules = std::shared_ptr<const std::vector<Module*>>(std::move(callers));
        // DSPy sets ACTIVE_CALL_ID after the start hooks, so forward's own calls (and threads it forks) see it.
        if (cb_.active()) o.active_call_id = cb_.call_id();
        if (s->track_usage && !s->usage_tracker) {
            tracker_ = std::make_shared<UsageTracker>();
            o.usage_tracker = tracker_;
        }
        scope_.emplace(context(o));
    }
    void finish(Prediction& p) {
        scope_.reset();
        if (tracker_) p.set_lm_usage(tracker_->get_total_tokens());
        if (cb_.active()) cb_.end(p.data());
    }
    void fail(std::exception_ptr e) {
        scope_.reset();
        cb_.fail(std::move(e));
    }

private:
    detail::CallbackScope cb_;
    std::shared_ptr<UsageTracker> tracker_;
    std::optional<ContextScope> scope_;
};

namespace {
// A module overriding neither forward nor aforward would bounce between the two defaults (across asyncify
// workers, even); the flag lives on the thread that runs the default forward, where aforward's body starts.
thread_local const Module* tl_in_default_forward = nullptr;

NotImplementedError neither_implemented() {
    return NotImplementedError(
        "This module implements neither forward() nor aforward(); override at least one of them.");
}
}  // namespace

Prediction Module::operator()(const Inputs& inputs) {
    ModuleCall call(*this, inputs);
    try {
        Prediction p = forward(inputs);
        call.finish(p);
        return p;
    } catch (...) {
        call.fail(std::current_exception());
        throw;
    }
}

Task<Prediction> Module::acall(Inputs inputs) {
    ModuleCall call(*this, inputs);
    std::exception_ptr error;
    Prediction p;
    try {
        p = co_await aforward(std::move(inputs));
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        call.fail(error);
        std::rethrow_exception(error);
    }
    call.finish(p);
    co_return p;
}

Prediction Module::forward(const Inputs& inputs) {
    if (tl_in_default_forward == this) throw neither_implemented();
    const Module* outer = tl_in_default_forward;
    tl_in_default_forward = this;
    struct Reset {
        const Module* outer;
        ~Reset() { tl_in_default_forward = outer; }
    } reset{outer};
    return run_sync(aforward(inputs));
}

Task<Prediction> Module::aforward(Inputs inputs) {
    if (tl_in_default_forward == this) throw neither_implemented();
    auto forward_on_worker = asyncify([this](const Inputs& in) { return forward(in); });
    co_return co_await forward_on_worker(std::move(inputs));
}

void Module::register_submodule(std::string name, Module& child) {
    if (&child == this) throw ValueError("a module cannot be its own submodule ('" + name + "')");
    for (auto& [n, m] : submodules_)
        if (n == name) {
            m = &child;
            return;
        }
    submodules_.emplace_back(std::move(name), &child);
}

void Module::collect_predictors(const std::string& prefix, std::vector<std::pair<std::string, Predict*>>& out,
                                std::vector<const Module*>& seen) {
    for (auto& [name, child] : submodules_) {
        if (std::find(seen.begin(), seen.end(), child) != seen.end()) continue;  // dedup by identity, as DSPy does
        seen.push_back(child);
        std::string path = prefix.empty() ? name : prefix + "." + name;
        if (child->is_parameter()) out.emplace_back(path, static_cast<Predict*>(child));
        child->collect_predictors(path, out, seen);
    }
}

std::vector<std::pair<std::string, Predict*>> Module::named_predictors() {
    std::vector<std::pair<std::string, Predict*>> out;
    std::vector<const Module*> seen{this};
    if (is_parameter()) out.emplace_back("self", static_cast<Predict*>(this));
    collect_predictors("", out, seen);
    return out;
}

std::vector<Predict*> Module::predictors() {
    std::vector<Predict*> out;
    for (auto& [_, p] : named_predictors()) out.push_back(p);
    return out;
}

std::vector<Json> Module::history() const {
    std::vector<Json> out;
    for (const auto& e : history_entries()) out.push_back(*e);
    return out;
}

std::vector<HistoryEntry> Module::history_entries() const {
    std::lock_guard lk(history_mu_);
    return {history_.begin(), history_.end()};
}

void Module::record_history(const HistoryEntry& entry, size_t max_size) {
    std::lock_guard lk(history_mu_);
    if (max_size == 0) return;
    while (history_.size() >= max_size) history_.pop_front();
    history_.push_back(entry);
}

std::string Module::inspect_history(int n) const {
    std::string text = format_history(history_entries(), n, isatty(STDOUT_FILENO) != 0);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return text;
}

ParallelResults Module::batch(const std::vector<Example>& examples, const BatchOptions& options) {
    std::vector<ExecPair> exec_pairs;
    exec_pairs.reserve(examples.size());
    for (const auto& ex : examples) exec_pairs.emplace_back(*this, ex.inputs());
    Parallel parallel({.num_threads = options.num_threads,
                       .max_errors = options.max_errors,
                       .access_examples = true,
                       .return_failed_examples = options.return_failed_examples,
                       .provide_traceback = options.provide_traceback,
                       .disable_progress_bar = options.disable_progress_bar,
                       .timeout = options.timeout,
                       .straggler_limit = options.straggler_limit});
    return parallel.forward(exec_pairs);
}

Task<ParallelResults> Module::abatch(std::vector<Example> examples, AbatchOptions options) {
    auto s = settings();
    detail::GatherOptions g;
    g.max_concurrency = options.max_concurrency;
    g.max_errors = options.max_errors.value_or(s->max_errors);
    g.provide_traceback = options.provide_traceback.value_or(s->provide_traceback);
    g.show_progress = !options.disable_progress_bar;
    std::vector<Example> inputs;
    inputs.reserve(examples.size());
    for (const auto& ex : examples) inputs.push_back(ex.inputs());
    ParallelResults out;
    out.results.resize(inputs.size());
    auto job = [this, &inputs, &out](std::size_t i) -> Task<double> {
        auto call = acall(inputs[i].data());
        auto p = co_await std::move(call);
        out.results[i].emplace(std::move(p));
        co_return 0.0;
    };
    auto describe = [&inputs](std::size_t i) { return "(<Module>, " + inputs[i].repr() + ")"; };
    std::vector<std::exception_ptr> errors;
    auto gathered = detail::bounded_gather(inputs.size(), g, job, describe, errors);
    co_await std::move(gathered);
    if (options.return_failed_examples)
        for (std::size_t i = 0; i < errors.size(); ++i)
            if (errors[i]) {
                out.failed_examples.push_back(inputs[i]);
                out.exceptions.push_back(errors[i]);
            }
    co_return out;
}

}  // namespace dspy
