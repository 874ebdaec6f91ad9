// Twin of "Creating Custom Async DSPy Modules" (dspy.ai/tutorials/async): a module that implements only
// `aforward`, chaining two ChainOfThought calls.
//
//   class MyModule(dspy.Module):
//       def __init__(self):
//           self.predict1 = dspy.ChainOfThought("question->answer")
//           self.predict2 = dspy.ChainOfThought("answer->simplified_answer")
//       async def aforward(self, question, **kwargs):
//           answer = await self.predict1.acall(question=question)
//           return await self.predict2.acall(answer=answer)
//
//   result = await MyModule().acall(question="Why did a chicken cross the kitchen?"); print(result)
#include <exception>
#include <iostream>
#include <memory>
#include <vector>

#include "dspy/dspy.hpp"
#include "seed_lm.hpp"

namespace {

class MyModule : public dspy::Module {
public:
    MyModule() {
        register_submodule("predict1", predict1_);
        register_submodule("predict2", predict2_);
    }

    dspy::Task<dspy::Prediction> aforward(dspy::Inputs inputs) override {
        // Execute predictions sequentially but asynchronously. (Python passes the whole first Prediction as
        // `answer`; its `answer` field is what the second step needs.)
        dspy::Prediction answer = co_await predict1_.acall("question", inputs.at("question"));
        co_return co_await predict2_.acall("answer", answer.at("answer"));
    }

private:
    dspy::ChainOfThought predict1_{"question->answer"};
    dspy::ChainOfThought predict2_{"answer->simplified_answer"};
};

dspy::Task<void> amain() {
    MyModule mod;
    dspy::Prediction result = co_await mod.acall("question", "Why did a chicken cross the kitchen?");
    std::cout << result << '\n';
}

}  // namespace

int main() {
    try {
        auto offline = std::make_shared<dspy::DummyLM>(std::vector<dspy::Json>{
            {{"reasoning", "Chickens go where the food is, and kitchens are full of crumbs and scraps."},
             {"answer", "The chicken crossed the kitchen to reach the food scraps on the other side."}},
            {{"reasoning", "The answer says the chicken wanted the food; the simple version keeps just that."},
             {"simplified_answer", "To get the food."}}});
        dspy::configure({.lm = seeds::seed_lm(offline)});

        dspy::run(amain());
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
