#include "dspy/primitives/module.hpp"

#include <algorithm>

#include "dspy/predict/predict.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

Prediction Module::operator()(const Inputs& inputs) { return forward(inputs); }

Prediction Module::forward(const Inputs&) {
    throw NotImplementedError("This module implements neither forward() nor aforward(); override one of them.");
}

void Module::register_submodule(std::string name, Module& child) {
    if (&child == this) throw ValueError("a module cannot be its own submodule ('" + name + "')");
    for (auto& [n, m] : submodules_)
        if (n == name) {
            m = &child;
            return;
        }
    submodules_.emplace_back(std::move(name), &child);
}

void Module::collect_predictors(const std::string& prefix, std::vector<std::pair<std::string, Predict*>>& out,
                                std::vector<const Module*>& seen) {
    for (auto& [name, child] : submodules_) {
        if (std::find(seen.begin(), seen.end(), child) != seen.end()) continue;  // dedup by identity, as DSPy does
        seen.push_back(child);
        std::string path = prefix.empty() ? name : prefix + "." + name;
        if (child->is_parameter()) out.emplace_back(path, static_cast<Predict*>(child));
        child->collect_predictors(path, out, seen);
    }
}

std::vector<std::pair<std::string, Predict*>> Module::named_predictors() {
    std::vector<std::pair<std::string, Predict*>> out;
    std::vector<const Module*> seen{this};
    if (is_parameter()) out.emplace_back("self", static_cast<Predict*>(this));
    collect_predictors("", out, seen);
    return out;
}

std::vector<Predict*> Module::predictors() {
    std::vector<Predict*> out;
    for (auto& [_, p] : named_predictors()) out.push_back(p);
    return out;
}

}  // namespace dspy
