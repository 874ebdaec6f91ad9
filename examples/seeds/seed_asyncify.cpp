// Twin of `dspy.asyncify(program)` (dspy.ai/api/utils/asyncify): a synchronous program becomes awaitable. Each
// call runs the program on a worker thread with the caller's settings, so two calls proceed concurrently.
//
//   program = dspy.ChainOfThought("question -> answer")
//   aprogram = dspy.asyncify(program)
//   a, b = await asyncio.gather(aprogram(question=q1), aprogram(question=q2))
//   print(a); print(b)
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dspy/dspy.hpp"
#include "seed_lm.hpp"

namespace {

dspy::Task<void> amain(dspy::ChainOfThought& program) {
    auto aprogram = dspy::asyncify(program);  // sync program -> Task, on a worker, caller's settings

    dspy::Inputs first = dspy::Module::make_inputs("question", "Why did a chicken cross the kitchen?");
    dspy::Inputs second = dspy::Module::make_inputs("question", "What is the capital of France?");
    auto results = co_await dspy::when_all(aprogram(first), aprogram(second));
    auto& [a, b] = results;
    std::cout << a << '\n' << b << '\n';
}

}  // namespace

int main() {
    try {
        // The two calls run concurrently, so the offline LM answers by question rather than in order.
        auto offline = std::make_shared<dspy::DummyLM>(
            dspy::DummyLM::ByInput{},
            std::vector<std::pair<std::string, dspy::Json>>{
                {"chicken",
                 {{"reasoning", "Chickens head for food, and the kitchen floor had crumbs on the far side."},
                  {"answer", "To get to the crumbs on the other side."}}},
                {"France", {{"reasoning", "France's capital and largest city is Paris."}, {"answer", "Paris"}}}});
        dspy::configure({.lm = seeds::seed_lm(offline)});
        dspy::ChainOfThought program("question -> answer");

        dspy::run(amain(program));
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
