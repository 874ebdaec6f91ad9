#pragma once
/// @file
/// Module: the base of every DSPy program (Predict, ChainOfThought, ReAct and user modules).

#include <filesystem>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "dspy/async/task.hpp"
#include "dspy/json.hpp"
#include "dspy/predict/parallel.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/inspect_history.hpp"
#include "dspy/primitives/prediction.hpp"

namespace dspy {

class Predict;

/// The inputs of a module call: a JSON object of field values, e.g. `{{"question", "Why?"}}`.
using Inputs = Json;

/// Options of `Module::load` / `load_state`. @sa BaseModule.load(allow_pickle=..., allow_unsafe_lm_state=...)
struct LoadOptions {
    /// Keep `api_base`/`base_url`/`model_list` and custom LM classes from the file (off by default: a saved file
    /// must not redirect where requests go).
    bool allow_unsafe_lm_state = false;
};

/// Options of Module::batch (Parallel's). @sa Module.batch keyword arguments
struct BatchOptions {
    std::optional<int> num_threads{};       ///< default: settings().num_threads
    std::optional<int> max_errors{};        ///< default: settings().max_errors
    bool return_failed_examples = false;
    std::optional<bool> provide_traceback{};
    bool disable_progress_bar = false;
    double timeout = 120;                   ///< seconds before a straggler is resubmitted; 0 disables
    int straggler_limit = 3;
};

/// Options of Module::abatch.
struct AbatchOptions {
    std::size_t max_concurrency = 64;       ///< calls in flight at once (all on the awaiting thread)
    std::optional<int> max_errors{};        ///< default: settings().max_errors
    bool return_failed_examples = false;
    std::optional<bool> provide_traceback{};
    bool disable_progress_bar = false;      ///< drawn only when stdout is a terminal
};

/// A composable program. Subclasses implement `forward`; built-ins share one algorithm for sync and async.
/// Sub-modules are registered by name so that named_predictors/save/load can find them.
/// @sa dspy.Module
class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// Runs the module synchronously: callbacks, history and usage tracking around `forward`. @sa Module.__call__
    Prediction operator()(const Inputs& inputs);
    /// Keyword-style call: `module("question", q, "context", c)` (no braced list, so it reads the same in
    /// `co_await` under g++-12).
    template <typename V, typename... Rest>
    Prediction operator()(std::string_view key, V&& value, Rest&&... rest) {
        return (*this)(make_inputs(key, std::forward<V>(value), std::forward<Rest>(rest)...));
    }
    /// Runs the module asynchronously: the same steps around `aforward`. @sa Module.acall
    Task<Prediction> acall(Inputs inputs);
    /// Keyword-style async call: `co_await module.acall("question", q)`.
    template <typename V, typename... Rest>
    Task<Prediction> acall(std::string_view key, V&& value, Rest&&... rest) {
        return acall(make_inputs(key, std::forward<V>(value), std::forward<Rest>(rest)...));
    }

    /// Runs this module over the examples' inputs on worker threads (a Parallel), results in input order.
    /// @sa Module.batch
    ParallelResults batch(const std::vector<Example>& examples, const BatchOptions& options = {});
    /// The async twin of batch, which DSPy does not have: every call is an `acall` child task on the awaiting
    /// thread's event loop (no worker threads), at most `max_concurrency` in flight, each with the caller's
    /// settings and its own usage tracker copy. Results come in input order; failures, max_errors and
    /// return_failed_examples behave as in batch. `co_await program.abatch(examples, {.max_concurrency = 64})`.
    /// @sa Module.batch, asyncio.gather with a Semaphore
    Task<ParallelResults> abatch(std::vector<Example> examples, AbatchOptions options = {});

    /// The module's logic, synchronously. Default: drives `aforward` to completion on this thread.
    /// @sa Module.forward
    virtual Prediction forward(const Inputs& inputs);
    /// The module's logic, asynchronously. Default: runs `forward` on an asyncify worker under the caller's
    /// settings. A module must override at least one of the two. @sa Module.aforward
    virtual Task<Prediction> aforward(Inputs inputs);

    /// Builds inputs from alternating names and values: `make_inputs("question", q, "k", 3)`.
    template <typename V, typename... Rest>
    static Inputs make_inputs(std::string_view key, V&& value, Rest&&... rest) {
        static_assert(sizeof...(Rest) % 2 == 0, "keyword-style calls take name, value pairs");
        Inputs in = Json::object();
        add_inputs(in, key, std::forward<V>(value), std::forward<Rest>(rest)...);
        return in;
    }

    /// LM calls made while this module was running (shared with the LM's own history), oldest first.
    /// @sa Module.history
    [[nodiscard]] std::vector<Json> history() const;
    /// The same entries, shared with the LM's history rather than copied. @sa Module.history
    [[nodiscard]] std::vector<HistoryEntry> history_entries() const;
    /// Prints the last `n` LM calls made under this module. @sa Module.inspect_history
    std::string inspect_history(int n = 1) const;
    /// Appends one LM history entry (called by BaseLM for every module in `caller_modules`).
    void record_history(const HistoryEntry& entry, size_t max_size);
    /// This module's own callbacks, run after the global ones. @sa Module.callbacks
    std::vector<std::shared_ptr<BaseCallback>>& callbacks() { return callbacks_; }

    /// Makes `child` reachable as `name` (in registration order, like Python attributes).
    void register_submodule(std::string name, Module& child);
    /// Registered children in order.
    [[nodiscard]] const std::vector<std::pair<std::string, Module*>>& submodules() const { return submodules_; }

    /// Every Predict reachable from here with its path (`self`, `predict`, `gen.predict`, `extract.predict`).
    /// @sa BaseModule.named_predictors
    [[nodiscard]] std::vector<std::pair<std::string, Predict*>> named_predictors();
    /// @sa BaseModule.predictors
    [[nodiscard]] std::vector<Predict*> predictors();

    /// `{path: predictor state}`; a lone Predict is flat. @sa BaseModule.dump_state
    [[nodiscard]] virtual Json dump_state();
    /// Loads all predictors or none (validated on copies first). @throws KeyError, NotImplementedError,
    /// ValueError naming the path or key at fault. @sa BaseModule.load_state
    virtual void load_state(const Json& state, const LoadOptions& options = {});
    /// Writes the JSON Python DSPy writes (orjson, 2-space indent, metadata last). @sa BaseModule.save
    void save(const std::filesystem::path& path);
    /// Reads a file written by Python DSPy or by us. @sa BaseModule.load
    void load(const std::filesystem::path& path, const LoadOptions& options = {});

protected:
    /// Predict marks itself a parameter (so a lone Predict is saved flat). @sa dspy.primitives.Parameter
    [[nodiscard]] virtual bool is_parameter() const { return false; }

private:
    static void add_inputs(Inputs&) {}
    template <typename V, typename... Rest>
    static void add_inputs(Inputs& in, std::string_view key, V&& value, Rest&&... rest) {
        in[std::string(key)] = Json(std::forward<V>(value));
        if constexpr (sizeof...(Rest) > 0) add_inputs(in, std::forward<Rest>(rest)...);
    }
    friend class ModuleCall;
    void collect_predictors(const std::string& prefix, std::vector<std::pair<std::string, Predict*>>& out,
                            std::vector<const Module*>& seen);
    std::vector<std::pair<std::string, Module*>> submodules_;
    mutable std::mutex history_mu_;
    std::deque<HistoryEntry> history_;  // trimmed at the front once full: a deque keeps that O(1)
    std::vector<std::shared_ptr<BaseCallback>> callbacks_;
};

}  // namespace dspy
