// dspy-mock-lm: prompt analysis and deterministic answers (no networking here, so it stays cheap to compile
// and the server's hot path is plain string scanning).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mocklm {

/// How the prompt asks to be answered.
enum class Format { Chat, Json, Plain };

/// One requested output field, as named and typed in the prompt (views into the request's text).
struct OutputField {
  std::string_view name;
  std::string_view type;  // DSPy's annotation name, e.g. "str", "list[int]", "Literal['a', 'b']"
};

/// One `--rules` entry: the first rule whose `match` strings all occur in the last user message decides the answer.
struct Rule {
  std::vector<std::string> match;  // all must occur; none (or only empty strings) matches everything
  bool has_content = false;   // raw "content" wins over "fields"
  std::string content;
  nlohmann::json fields;      // object: field name -> value (strings used verbatim in ChatAdapter format)
  int status = 0;             // non-zero: answer with this HTTP error status instead
};

/// What one request asks for.
struct Analysis {
  Format format = Format::Plain;
  std::vector<OutputField> fields;
  std::string_view question;  // first input value of the last user message (or the message itself)
  const Rule* rule = nullptr;
};

/// Reads a rules file; throws std::runtime_error naming the file and the bad entry.
std::vector<Rule> load_rules(const std::string& path);

/// Finds format, output fields, the question and the matching rule. `json_hint` is set when the request carried a
/// response_format (structured outputs), so a prompt without DSPy markers still gets a JSON object.
void analyze(std::string_view system, std::string_view last_user, bool json_hint, const std::vector<Rule>& rules,
             Analysis& out);

/// Appends the answer text for choice `choice` (0-based; later choices vary their str fields) to `out`.
void render(const Analysis& analysis, int choice, std::string& out);

/// Appends `s` JSON-escaped (without quotes) to `out`; UTF-8 passes through unchanged.
void append_json_escaped(std::string_view s, std::string& out);

}  // namespace mocklm
