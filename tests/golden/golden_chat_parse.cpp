// chat_parse.jsonl: ChatAdapter.parse on recorded completions.
#include "dspy/adapters/chat_adapter.hpp"
#include "parse_golden.hpp"

namespace dspy::golden {
namespace {
const Registrar chat_parse("chat_parse", [](const Json& c) {
    static const ChatAdapter adapter;
    return run_parse_case(adapter, c);
});
}  // namespace
}  // namespace dspy::golden
