#pragma once
// The built-in tools a program file can give a ReAct module by name:
//   calculator  safe arithmetic (+ - * / // % **, parentheses, sqrt/abs/round/floor/ceil/log/exp/min/max)
//   search      top-k passages of a JSONL corpus ({"title", "text"} per line) by word overlap
//   lookup      the text of the corpus document with that exact title (case-insensitive)

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/json.hpp"

namespace dspy::cli {

/// Whether `name` is a built-in tool.
bool is_builtin_tool(std::string_view name);
/// `"calculator", "search", "lookup"`, for messages.
std::string builtin_tool_names();

/// Evaluates an arithmetic expression without executing anything: numbers, + - * / // % ** (right-assoc),
/// unary +/-, parentheses and the functions above. Integers stay integers where Python's would.
/// @throws dspy::ValueError naming the position and what was expected.
Json calculate(std::string_view expression);

/// A JSONL corpus: one `{"title"?, "text"}` object per line.
class Corpus {
public:
    /// @throws std::runtime_error naming the file and line of a bad entry.
    static std::shared_ptr<const Corpus> load(const std::filesystem::path& path);
    /// Up to `k` passages ("title | text") ranked by how many query words they contain (ties: file order).
    [[nodiscard]] std::vector<std::string> search(std::string_view query, size_t k) const;
    /// The text of the document titled `title` (case-insensitive), if any.
    [[nodiscard]] std::optional<std::string> lookup(std::string_view title) const;
    [[nodiscard]] size_t size() const { return docs_.size(); }

private:
    struct Doc {
        std::string title, text;
        std::vector<std::string> words;  // lower-cased, sorted, unique
    };
    std::vector<Doc> docs_;
};

/// Builds the tool named by `spec` (`{"name", "corpus"?, "k"?}`); relative corpus paths resolve against
/// `base_dir`. @throws ProgramError naming `label` and the key at fault.
Tool make_builtin_tool(const Json& spec, const std::filesystem::path& base_dir, const std::string& label);

}  // namespace dspy::cli
