// Twin of "Using Async Tools in Synchronous Contexts" (dspy.ai/tutorials/async): calling an async tool from
// synchronous code once `allow_tool_async_sync_conversion` is on.
//
//   async def async_tool(x: int) -> int:
//       """An async tool that doubles a number."""
//       await asyncio.sleep(0.1)
//       return x * 2
//   tool = dspy.Tool(async_tool)
//   with dspy.context(allow_tool_async_sync_conversion=True):
//       result = tool(x=5); print(result)  # 10
//   dspy.configure(allow_tool_async_sync_conversion=True)
//   result = tool(x=5); print(result)  # 10
#include <chrono>
#include <exception>
#include <iostream>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/dspy.hpp"

namespace {

dspy::Task<int> async_tool(int x) {
    co_await dspy::sleep(std::chrono::milliseconds(100));
    co_return x * 2;
}

}  // namespace

int main() {
    try {
        dspy::Tool tool(async_tool,
                        {.name = "async_tool", .desc = "An async tool that doubles a number.", .args = {"x"}});

        // Option 1: Use context manager for temporary conversion
        {
            auto scope = dspy::context({.allow_tool_async_sync_conversion = true});
            dspy::Json result = tool("x", 5);  // Works in sync context
            std::cout << result << '\n';       // 10
        }

        // Option 2: Configure globally
        dspy::configure({.allow_tool_async_sync_conversion = true});
        dspy::Json result = tool("x", 5);  // Now works everywhere
        std::cout << result << '\n';       // 10
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
