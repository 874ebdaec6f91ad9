#include "dspy/utils/usage_tracker.hpp"

namespace dspy {

UsageTracker::UsageTracker(const UsageTracker& other) {
    std::lock_guard lk(other.mu_);
    usage_ = other.usage_;
}

Json UsageTracker::merge_usage_entries(const Json& a, const Json& b) {
    if (a.is_null() || a.empty()) return b.is_null() ? Json::object() : b;
    if (b.is_null() || b.empty()) return a;
    Json result = b;
    for (auto it = a.begin(); it != a.end(); ++it) {
        const Json& v = *it;
        Json current = result.contains(it.key()) ? result[it.key()] : Json();
        if (v.is_object() || current.is_object()) {
            result[it.key()] = merge_usage_entries(current, v);
        } else if (!current.is_null() || !v.is_null()) {
            const Json& x = current.is_null() ? Json(0) : current;
            const Json& y = v.is_null() ? Json(0) : v;
            if (x.is_number_float() || y.is_number_float())
                result[it.key()] = x.get<double>() + y.get<double>();
            else if (x.is_number() && y.is_number())
                result[it.key()] = x.get<int64_t>() + y.get<int64_t>();
            else
                result[it.key()] = v;  // non-numeric leaves: keep the newer value rather than fail
        }
    }
    return result;
}

void UsageTracker::add_usage(const std::string& lm, const Json& usage_entry) {
    if (!usage_entry.is_object() || usage_entry.empty()) return;
    std::lock_guard lk(mu_);
    for (auto& [name, entries] : usage_)
        if (name == lm) {
            entries.push_back(usage_entry);
            return;
        }
    usage_.emplace_back(lm, std::vector<Json>{usage_entry});
}

Json UsageTracker::get_total_tokens() const {
    std::lock_guard lk(mu_);
    Json out = Json::object();
    for (const auto& [lm, entries] : usage_) {
        Json total = Json::object();
        for (const auto& e : entries) total = merge_usage_entries(total, e);
        out[lm] = std::move(total);
    }
    return out;
}

}  // namespace dspy
