// Twin of "Using Built-in Modules Asynchronously" (dspy.ai/tutorials/async): `await predict.acall(...)`.
//
//   dspy.configure(lm=dspy.LM("openai/gpt-4o-mini"))
//   predict = dspy.Predict("question->answer")
//   async def main():
//       output = await predict.acall(question="why did a chicken cross the kitchen?")
//       print(output)
//   asyncio.run(main())
#include <exception>
#include <iostream>
#include <memory>
#include <vector>

#include "dspy/dspy.hpp"
#include "seed_lm.hpp"

namespace {

dspy::Task<void> amain(dspy::Predict& predict) {
    // Use acall() for async execution
    dspy::Prediction output = co_await predict.acall("question", "why did a chicken cross the kitchen?");
    std::cout << output << '\n';
}

}  // namespace

int main() {
    try {
        auto offline = std::make_shared<dspy::DummyLM>(
            std::vector<dspy::Json>{{{"answer", "To get to the other side, where the snacks were."}}});
        dspy::configure({.lm = seeds::seed_lm(offline)});
        dspy::Predict predict("question->answer");

        dspy::run(amain(predict));
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
