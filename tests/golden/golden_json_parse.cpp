// json_parse.jsonl: JSONAdapter.parse on recorded completions.
#include "dspy/adapters/json_adapter.hpp"
#include "parse_golden.hpp"

namespace dspy::golden {
namespace {
const Registrar json_parse("json_parse", [](const Json& c) {
    static const JSONAdapter adapter;
    return run_parse_case(adapter, c);
});
}  // namespace
}  // namespace dspy::golden
