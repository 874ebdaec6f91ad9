#include "dspy/clients/base_lm.hpp"

#include "dspy/settings/settings.hpp"

namespace dspy {

Json messages_to_json(const Messages& messages) {
    Json out = Json::array();
    for (const auto& m : messages) out.push_back(Json{{"role", m.role}, {"content", m.content}});
    return out;
}

BaseLM::BaseLM(std::string model, std::string model_type, Json kwargs)
    : model_(std::move(model)), model_type_(std::move(model_type)), kwargs_(std::move(kwargs)) {
    if (kwargs_.is_null()) kwargs_ = Json::object();
}

std::vector<LMOutput> BaseLM::operator()(const Messages& messages, const Json& kwargs) {
    Json merged = kwargs_;
    if (kwargs.is_object())
        for (auto it = kwargs.begin(); it != kwargs.end(); ++it) merged[it.key()] = it.value();
    auto outputs = forward(messages, merged);
    auto s = settings();
    if (!s->disable_history && s->max_history_size > 0) {
        Json entry = {{"messages", messages_to_json(messages)}, {"kwargs", kwargs}, {"model", model_}};
        Json outs = Json::array();
        for (const auto& o : outputs) outs.push_back(o.text);
        entry["outputs"] = std::move(outs);
        std::lock_guard lk(history_mu_);
        if (history_.size() >= static_cast<size_t>(s->max_history_size)) history_.erase(history_.begin());
        history_.push_back(std::move(entry));
    }
    return outputs;
}

Json BaseLM::dump_state() const {
    Json state = {{"model", model_}, {"model_type", model_type_}};
    for (auto it = kwargs_.begin(); it != kwargs_.end(); ++it)
        if (it.key() != "api_key") state[it.key()] = it.value();
    return state;
}

std::vector<Json> BaseLM::history() const {
    std::lock_guard lk(history_mu_);
    return history_;
}

}  // namespace dspy
