#pragma once
/// @file
/// Module: the base of every DSPy program (Predict, ChainOfThought, ReAct and user modules).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "dspy/json.hpp"
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

/// A composable program. Subclasses implement `forward`; built-ins share one algorithm for sync and async.
/// Sub-modules are registered by name so that named_predictors/save/load can find them.
/// @sa dspy.Module
class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// Runs the module. @sa Module.__call__
    Prediction operator()(const Inputs& inputs);
    /// The module's logic. @sa Module.forward
    virtual Prediction forward(const Inputs& inputs);

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
    void collect_predictors(const std::string& prefix, std::vector<std::pair<std::string, Predict*>>& out,
                            std::vector<const Module*>& seen);
    std::vector<std::pair<std::string, Module*>> submodules_;
};

}  // namespace dspy
