#include <dspy/dspy.hpp>
#include <iostream>

int main() {
    auto lm = std::make_shared<dspy::DummyLM>(std::vector<dspy::Json>{{{"answer", "4"}}});
    dspy::Predict predict("question -> answer: int");
    predict.set_lm(lm);
    auto prediction = predict({{"question", "2 + 2?"}});
    std::cout << "answer=" << prediction.at("answer").dump() << "\n";
    return prediction.at("answer") == 4 ? 0 : 1;
}
