#include "dspy/utils/dummies.hpp"

#include <algorithm>
#include <cctype>

#include "dspy/adapters/chat_adapter.hpp"

namespace dspy {

namespace {
const ChatAdapter& default_adapter() {
    static const ChatAdapter a;
    return a;
}

// The answer fields become output fields of a throwaway signature so the adapter can render them.
Signature answer_signature(const Json& fields) {
    std::vector<Field> out;
    for (auto it = fields.begin(); it != fields.end(); ++it) out.push_back(Field::output(it.key()));
    return Signature::from_fields(std::move(out));
}
// The `[[ ## name ## ]]` header a message starts with (DSPy's `field_pattern.match`), or "".
std::string leading_header(const std::string& s) {
    if (s.rfind("[[ ## ", 0) != 0) return {};
    size_t i = 6;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' ||
                            static_cast<unsigned char>(s[i]) >= 0x80))
        ++i;
    if (i == 6 || s.compare(i, 6, " ## ]]") != 0) return {};
    return s.substr(0, i + 6);
}
}  // namespace

DummyLM::DummyLM(std::vector<Json> answers, Options options)
    : BaseLM("dummy", "chat", Json{{"temperature", 0.0}, {"max_tokens", 1000}, {"cache", true}}),
      answers_(std::move(answers)),
      options_(std::move(options)) {}

DummyLM::DummyLM(ByInput, std::vector<std::pair<std::string, Json>> by_input, Options options)
    : BaseLM("dummy", "chat", Json{{"temperature", 0.0}, {"max_tokens", 1000}, {"cache", true}}),
      by_input_(std::move(by_input)),
      by_input_mode_(true),
      options_(std::move(options)) {}

std::string DummyLM::render(const Json& fields) const {
    const Adapter& a = options_.adapter ? *options_.adapter : default_adapter();
    return a.format_field_with_value(answer_signature(fields), fields);
}

// DSPy's `_use_example`: output fields are the headers that appear fewer times than the most frequent one (the
// inputs appear in every turn); answer with the demo whose user turn contains the final turn's first section.
std::string DummyLM::use_example(const Messages& messages) const {
    std::vector<std::pair<std::string, int>> counts;
    for (const auto& m : messages) {
        if (auto f = leading_header(m.content); !f.empty()) {
            auto it = std::find_if(counts.begin(), counts.end(), [&](auto& p) { return p.first == f; });
            if (it == counts.end())
                counts.emplace_back(f, 1);
            else
                ++it->second;
        }
    }
    int max_count = 0;
    for (auto& [_, c] : counts) max_count = std::max(max_count, c);
    std::vector<std::string> output_fields;
    for (auto& [f, c] : counts)
        if (c != max_count) output_fields.push_back(f);
    if (messages.empty()) return {};
    const std::string& last = messages.back().content;
    std::string final_input = last.substr(0, last.find("\n\n"));
    for (size_t i = messages.size() - 1; i >= 1; --i) {
        const auto& input = messages[i - 1].content;
        const auto& output = messages[i].content;
        bool has_field = std::any_of(output_fields.begin(), output_fields.end(),
                                     [&](const std::string& f) { return output.find(f) != std::string::npos; });
        if (has_field && input.find(final_input) != std::string::npos) return output;
    }
    return {};
}

std::vector<LMOutput> DummyLM::forward(const Messages& messages, const Json& kwargs) {
    int64_t n = 1;
    if (auto it = kwargs.find("n"); it != kwargs.end() && it->is_number_integer()) n = std::max<int64_t>(1, *it);
    std::vector<LMOutput> outputs;
    for (int64_t i = 0; i < n; ++i) {
        LMOutput out;
        if (options_.follow_examples) {
            out.text = use_example(messages);
        } else if (by_input_mode_) {
            out.text = "No more responses";
            const std::string& last = messages.empty() ? std::string() : messages.back().content;
            for (const auto& [key, fields] : by_input_)
                if (last.find(key) != std::string::npos) {
                    out.text = render(fields);
                    break;
                }
        } else {
            Json fields;
            {
                std::lock_guard lk(mu_);
                fields = next_ < answers_.size() ? answers_[next_++] : Json{{"answer", "No more responses"}};
            }
            out.text = render(fields);
        }
        outputs.push_back(std::move(out));
    }
    return outputs;
}

}  // namespace dspy
