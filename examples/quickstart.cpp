// The quick-start job: a ChainOfThought-style Predict answers one question with DummyLM (offline), and we print
// the prompt that was sent and the prediction that came back.
#include <iostream>

#include "dspy/dspy.hpp"

int main() {
    auto lm = std::make_shared<dspy::DummyLM>(std::vector<dspy::Json>{
        {{"reasoning", "A chicken crossing a kitchen is most likely after food it has spotted on the other side."},
         {"answer", "To reach the crumbs by the oven."}}});
    dspy::configure({.lm = lm});

    dspy::ChainOfThought qa("question -> answer");
    dspy::Prediction prediction = qa({{"question", "Why did the chicken cross the kitchen?"}});

    std::cout << "=== prompt sent to the LM ===\n";
    const std::vector<dspy::Json> history = lm->history();
    for (const auto& m : history.back()["messages"])
        std::cout << "--- " << m["role"].get<std::string>() << " ---\n" << m["content"].get<std::string>() << "\n";
    std::cout << "\n=== prediction ===\n" << prediction << "\n";
    return 0;
}
