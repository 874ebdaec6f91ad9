// Twin of "Working with Async Tools" (dspy.ai/tutorials/async): a Tool built from a coroutine function and run
// with `acall`.
//
//   async def foo(x):
//       await asyncio.sleep(0.1)
//       print(f"I get: {x}")
//   tool = dspy.Tool(foo)
//   async def main():
//       await tool.acall(x=2)
//   asyncio.run(main())
#include <chrono>
#include <exception>
#include <iostream>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/dspy.hpp"

namespace {

dspy::Task<void> foo(int x) {
    // Simulate an async operation
    co_await dspy::sleep(std::chrono::milliseconds(100));
    std::cout << "I get: " << x << '\n';
}

dspy::Task<void> amain(const dspy::Tool& tool) {
    // Execute the tool asynchronously
    co_await tool.acall("x", 2);
}

}  // namespace

int main() {
    try {
        // Create a tool from the async function (C++ has no parameter names at run time, so we name them).
        dspy::Tool tool(foo, {.name = "foo", .args = {"x"}});

        dspy::run(amain(tool));
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
