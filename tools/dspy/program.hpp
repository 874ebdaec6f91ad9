#pragma once
// Program files: the JSON description of a DSPy program that `dspy run/batch/serve` load.
//
//   {"module": "ChainOfThought", "signature": "question -> answer", "instructions": "...",
//    "lm": {"model": "openai/gpt-4o-mini", "temperature": 0.0, "max_tokens": 1000, "cache": true},
//    "adapter": "chat", "tools": ["calculator", {"name": "search", "corpus": "corpus.jsonl"}],
//    "max_iters": 8, "state": "saved.json"}

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dspy/adapters/base.hpp"
#include "dspy/adapters/types/tool.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/json.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy::cli {

/// A bad program file (or command-line override): the message names the file, the key and what was expected.
class ProgramError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A validated program file.
struct ProgramSpec {
    std::string label = "program.json";   // the file name used in messages
    std::filesystem::path base_dir = "."; // relative paths (state, corpus) resolve against the file's directory
    std::string module = "Predict";       // Predict | ChainOfThought | ReAct
    std::string signature;
    std::string instructions;             // empty: DSPy's default instructions
    Json lm = Json::object();             // LM keyword arguments (model, temperature, ...), api_key included
    std::string adapter = "chat";         // chat | json
    Json tools = Json::array();           // [{"name": ..., options...}]
    int max_iters = 20;
    std::optional<std::filesystem::path> state;
};

/// Parses and validates a program description. @throws ProgramError naming the key at fault.
ProgramSpec parse_program(const Json& j, const std::string& label = "program.json",
                          const std::filesystem::path& base_dir = ".");
/// Reads and validates a program file. @throws ProgramError (unreadable file, bad JSON, bad key).
ProgramSpec read_program(const std::filesystem::path& path);

/// Command-line and environment overrides of the program's LM.
struct LMOverrides {
    std::optional<std::string> model{};     // --lm, else $DSPY_LM
    std::optional<std::string> api_base{};  // --api-base, else $DSPY_API_BASE
    bool no_cache = false;                  // --no-cache
    bool use_env = true;                    // read DSPY_LM / DSPY_API_BASE
};

/// What the LM of a program did: calls, cache hits and tokens (thread-safe counters).
struct CallStats {
    std::atomic<int64_t> calls{0};
    std::atomic<int64_t> cache_hits{0};
    std::atomic<int64_t> errors{0};
    std::atomic<int64_t> prompt_tokens{0};
    std::atomic<int64_t> completion_tokens{0};
};

/// A loaded program: the module, its LM (wrapped to count calls) and adapter, ready to install with `scope()`.
struct LoadedProgram {
    ProgramSpec spec;
    Signature signature{"question -> answer"};
    std::unique_ptr<Module> module;
    std::shared_ptr<BaseLM> lm;
    std::shared_ptr<const Adapter> adapter;
    std::shared_ptr<CallStats> stats = std::make_shared<CallStats>();
    std::vector<Tool> tools;

    /// The signature's input and output field names, in order.
    [[nodiscard]] std::vector<std::string> input_names() const;
    [[nodiscard]] std::vector<std::string> output_names() const;
    /// `{"module", "signature", "instructions", "inputs", "outputs", "adapter", "lm": {"model", ...}, "tools"}`;
    /// never the API key.
    [[nodiscard]] Json describe() const;
    /// Builds a module call's inputs from a JSON row: the signature's input fields (a missing one is an error
    /// naming it); other keys are ignored. @throws ProgramError.
    [[nodiscard]] Json select_inputs(const Json& row) const;
};

/// Builds the module, LM, adapter and tools of `spec` and loads its state. @throws ProgramError, or the
/// library's error (naming the state file) when the state does not load.
LoadedProgram load_program(const ProgramSpec& spec, const LMOverrides& overrides = {});

}  // namespace dspy::cli
