#include "dspy/primitives/prediction.hpp"

#include <ostream>

#include "utils/pyfmt.hpp"

namespace dspy {

Prediction Prediction::from_completions(std::vector<Json> completions) {
    Prediction p;
    if (!completions.empty()) p.store_ = completions.front();
    if (!p.store_.is_object()) p.store_ = Json::object();
    p.completions_ = std::move(completions);
    return p;
}

std::vector<Json> Prediction::completions_of(std::string_view field) const {
    std::vector<Json> out;
    if (completions_.empty()) {
        out.push_back(get(field));
        return out;
    }
    for (const auto& c : completions_) {
        auto it = c.find(field);
        out.push_back(it == c.end() ? Json() : *it);
    }
    return out;
}

std::string Prediction::repr() const {
    std::string fields;
    bool first = true;
    for (auto it = store_.begin(); it != store_.end(); ++it) {
        if (!first) fields += ",\n    ";
        first = false;
        fields += it.key() + "=" + pyfmt::repr(it.value());
    }
    if (completions_.size() <= 1) return "Prediction(\n    " + fields + "\n)";
    return "Prediction(\n    " + fields + ",\n    completions=Completions(...)\n) (" +
           std::to_string(completions_.size() - 1) + " completions omitted)";
}

std::ostream& operator<<(std::ostream& os, const Prediction& p) { return os << p.repr(); }

}  // namespace dspy
