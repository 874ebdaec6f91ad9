// json_format.jsonl: JSONAdapter.format (the plain prompt) for the same kinds of cases as chat_format.
#include "dspy/adapters/json_adapter.hpp"
#include "format_cases.hpp"

namespace dspy::golden {
namespace {
const Registrar json_format("json_format", [](const Json& c) {
    if (c.value("adapter", std::string()) != "JSONAdapter") return Outcome::fail("not a JSONAdapter case");
    static const JSONAdapter adapter;
    return run_format_case(c, adapter);
});
}  // namespace
}  // namespace dspy::golden
