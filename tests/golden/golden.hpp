#pragma once
// The golden runner's plumbing: each fixture file (signatures.jsonl, chat_format.jsonl, ...) has one suite,
// registered by its file stem from its own .cpp, so suites can be written independently.

#include <functional>
#include <string>
#include <string_view>

#include "dspy/json.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy::golden {

/// The result of one case: ok, or the first difference in words.
struct Outcome {
    bool ok = true;
    std::string diff;
    static Outcome pass() { return {}; }
    static Outcome fail(std::string why) { return {false, std::move(why)}; }
};

using Runner = std::function<Outcome(const Json& test_case)>;

/// Registers the runner for `<stem>.jsonl`.
void register_suite(const std::string& stem, Runner runner);
struct Registrar {
    Registrar(const char* stem, Runner runner) { register_suite(stem, std::move(runner)); }
};

/// "at byte N (line L): expected «...» got «...»", or "" when equal.
std::string first_difference(std::string_view expected, std::string_view actual);

/// Compares JSON values the fixtures' way: ints and floats are different kinds; object key order is ignored
/// unless `ordered`. Returns "" when equal, else the path and both values.
std::string json_difference(const Json& expected, const Json& actual, bool ordered = false,
                            const std::string& path = "$");

/// Builds a signature from a fixture's spec: `{"string", "instructions"?}` or `{"instructions"?, "fields": [...]}`.
Signature build_signature(const Json& spec);

/// Maps a thrown exception to the Python error class name the fixtures use (best effort: kind only).
std::string error_kind(const std::exception& e);

}  // namespace dspy::golden
