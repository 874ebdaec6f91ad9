#pragma once
/// @file
/// ReAct: an agent loop that picks tools step by step, then extracts the signature's outputs.

#include <string>
#include <string_view>
#include <vector>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/async/task.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

/// "Reasoning and Acting": each step a `react` predictor chooses `next_thought`, `next_tool_name` and
/// `next_tool_args`; the tool's result is appended to the trajectory; after `finish` (or `max_iters` steps) an
/// `extract` ChainOfThought produces the signature's outputs from the trajectory. Submodules: `react`, `extract`.
/// @sa dspy.ReAct
class ReAct : public Module {
public:
    /// Tools are keyed by name (a later tool replaces an earlier one of the same name, keeping its place) and a
    /// `finish` tool is added last. @sa ReAct.__init__
    ReAct(const Signature& signature, std::vector<Tool> tools, int max_iters = 20);

    /// Runs the loop. `inputs` may carry `max_iters` to override the default for this call. Returns the
    /// trajectory (a JSON object `thought_i, tool_name_i, tool_args_i, observation_i`) and the extracted fields.
    /// Tools are called synchronously (an async tool needs `allow_tool_async_sync_conversion`; otherwise its
    /// error becomes the observation). @sa ReAct.forward
    Prediction forward(const Inputs& inputs) override;
    /// The same loop with `acall` on the predictors and the tools. @sa ReAct.aforward
    Task<Prediction> aforward(Inputs inputs) override;

    /// The step predictor (`question, trajectory -> next_thought, next_tool_name, next_tool_args`).
    [[nodiscard]] Predict& react() { return react_; }
    /// The extraction module (ChainOfThought over inputs + trajectory -> outputs).
    [[nodiscard]] ChainOfThought& extract() { return extract_; }
    /// The original signature. @sa ReAct.signature
    [[nodiscard]] const Signature& signature() const { return signature_; }
    /// The tools in instruction order, `finish` included. @sa ReAct.tools
    [[nodiscard]] const std::vector<Tool>& tools() const { return tools_; }
    /// The tool of that name, or nullptr.
    [[nodiscard]] const Tool* tool(std::string_view name) const;
    /// @sa ReAct.max_iters
    [[nodiscard]] int max_iters() const { return max_iters_; }

    /// The text put into the `trajectory` input: the configured adapter's user-message rendering of the
    /// trajectory as untyped fields (ChatAdapter's when none, or when it is not a ChatAdapter).
    /// @throws TypeError for an observation list holding numbers, booleans or null. @sa ReAct._format_trajectory
    [[nodiscard]] virtual std::string format_trajectory(const Json& trajectory) const;
    /// Drops the oldest tool call (the first 4 keys) so the prompt fits the context window.
    /// @throws ContextWindowExceededError when only one tool call is left. @sa ReAct.truncate_trajectory
    virtual void truncate_trajectory(Json& trajectory) const;

    /// The step signature DSPy builds for `signature` and the tools (`finish` included, in order).
    static Signature make_react_signature(const Signature& signature, const std::vector<Tool>& tools);
    /// The extraction signature: the signature's fields plus a `trajectory` input, original instructions.
    static Signature make_extract_signature(const Signature& signature);
    /// `tools` keyed by name with DSPy's `finish` tool added for this signature's outputs.
    static std::vector<Tool> with_finish_tool(const Signature& signature, std::vector<Tool> tools);

protected:
    /// Calls `module` with the inputs and the formatted trajectory, up to 3 times; after each
    /// ContextWindowExceededError it warns and truncates. @throws ContextWindowExceededError "... even after 3
    /// attempts ..." with the last error nested, or truncate_trajectory's own error.
    /// @sa ReAct._call_with_potential_trajectory_truncation
    Task<Prediction> call_with_potential_trajectory_truncation(bool sync, Module& module, Json& trajectory,
                                                               const Json& input_args);

private:
    /// The one algorithm behind forward (`sync`: plain calls, driven by run_sync) and aforward (awaited calls).
    Task<Prediction> run_react(bool sync, const Inputs& inputs);

    Signature signature_;
    int max_iters_;
    std::vector<Tool> tools_;
    Predict react_;
    ChainOfThought extract_;
};

}  // namespace dspy
