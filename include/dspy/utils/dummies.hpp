#pragma once
/// @file
/// DummyLM: a scripted LM for tests and offline examples; its answers still go through the adapter.

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dspy/clients/base_lm.hpp"

namespace dspy {

class Adapter;

/// Options of DummyLM's constructors.
struct DummyLMOptions {
    /// Answer with the demo outputs found in the prompt whose inputs match the final user message.
    bool follow_examples = false;
    /// Whose field format the answers use; ChatAdapter when null.
    std::shared_ptr<const Adapter> adapter = nullptr;
};

/// Answers with scripted field values, written the way the adapter expects (ChatAdapter's `[[ ## f ## ]]`
/// sections by default). @sa dspy.utils.dummies.DummyLM
class DummyLM : public BaseLM {
public:
    using Options = DummyLMOptions;

    /// Answers in order, one per completion; when they run out, `{"answer": "No more responses"}`.
    explicit DummyLM(std::vector<Json> answers, Options options = {});
    /// Tag selecting the answers-by-input constructor (a list of pairs would otherwise read like a list of answers).
    struct ByInput {};
    /// Answers chosen by a key that occurs in the last message (first match in order); otherwise the
    /// completion is the text "No more responses". `DummyLM(DummyLM::ByInput{}, {{"France", {{"answer", "Paris"}}}})`
    DummyLM(ByInput, std::vector<std::pair<std::string, Json>> by_input, Options options = {});

    std::vector<LMOutput> forward(const Messages& messages, const Json& kwargs) override;

private:
    std::string render(const Json& fields) const;
    std::string use_example(const Messages& messages) const;

    std::vector<Json> answers_;
    std::vector<std::pair<std::string, Json>> by_input_;
    bool by_input_mode_ = false;
    Options options_;
    std::mutex mu_;
    size_t next_ = 0;
};

}  // namespace dspy
