#include "metrics.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <vector>

namespace dspy::cli {
namespace {

std::string as_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::vector<std::string> tokens(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;) out.push_back(std::move(w));
    return out;
}

double one(std::string_view metric, const std::string& pred, const std::string& gold) {
    const std::string p = normalize_text(pred), g = normalize_text(gold);
    if (metric == "exact_match") return p == g ? 1.0 : 0.0;
    if (metric == "contains") return p.find(g) != std::string::npos ? 1.0 : 0.0;
    // f1
    auto pt = tokens(p), gt = tokens(g);
    std::map<std::string, int> counts;
    for (const auto& t : gt) ++counts[t];
    int same = 0;
    for (const auto& t : pt)
        if (auto it = counts.find(t); it != counts.end() && it->second > 0) {
            --it->second;
            ++same;
        }
    if (same == 0) return 0.0;
    const double precision = static_cast<double>(same) / static_cast<double>(pt.size());
    const double recall = static_cast<double>(same) / static_cast<double>(gt.size());
    return 2 * precision * recall / (precision + recall);
}

}  // namespace

std::string metric_names() { return "exact_match, contains, f1"; }

bool is_metric(std::string_view name) { return name == "exact_match" || name == "contains" || name == "f1"; }

std::string normalize_text(std::string_view s) {
    std::string lowered;
    lowered.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && std::ispunct(u)) continue;
        lowered += static_cast<char>(u < 0x80 ? std::tolower(u) : u);
    }
    std::string out;
    for (const auto& w : tokens(lowered)) {
        if (w == "a" || w == "an" || w == "the") continue;
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

double score(std::string_view metric, const Json& predicted, const Json& gold) {
    const std::string pred = as_text(predicted);
    if (gold.is_array()) {
        double best = 0.0;
        for (const auto& g : gold) best = std::max(best, one(metric, pred, as_text(g)));
        return best;
    }
    return one(metric, pred, as_text(gold));
}

}  // namespace dspy::cli
