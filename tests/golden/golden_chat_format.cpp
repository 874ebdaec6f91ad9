// chat_format.jsonl: ChatAdapter.format for signatures, demos, history, ChainOfThought and ReAct signatures.
#include "dspy/adapters/chat_adapter.hpp"
#include "format_cases.hpp"

namespace dspy::golden {
namespace {
const Registrar chat_format("chat_format", [](const Json& c) {
    if (c.value("adapter", std::string()) != "ChatAdapter") return Outcome::fail("not a ChatAdapter case");
    static const ChatAdapter adapter;
    return run_format_case(c, adapter);
});
}  // namespace
}  // namespace dspy::golden
