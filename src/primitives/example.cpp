#include "dspy/primitives/example.hpp"

#include <ostream>

#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {
bool is_dspy_key(std::string_view k) { return k.substr(0, 5) == "dspy_"; }
}  // namespace

Example::Example(Json store) : store_(std::move(store)) {
    if (store_.is_null()) store_ = Json::object();
    if (!store_.is_object()) throw TypeError("Example expects a JSON object, got " + std::string(store_.type_name()));
}

Example::Example(std::initializer_list<std::pair<const std::string, Json>> items) : store_(Json::object()) {
    for (const auto& [k, v] : items) store_[k] = v;
}

const Json& Example::at(std::string_view key) const {
    auto it = store_.find(key);
    if (it == store_.end()) throw KeyError("'" + std::string(key) + "' is not a field of this example");
    return *it;
}

Json Example::get(std::string_view key, Json fallback) const {
    auto it = store_.find(key);
    return it == store_.end() ? std::move(fallback) : *it;
}

std::vector<std::string> Example::keys(bool include_dspy) const {
    std::vector<std::string> out;
    for (auto it = store_.begin(); it != store_.end(); ++it)
        if (include_dspy || !is_dspy_key(it.key())) out.push_back(it.key());
    return out;
}

size_t Example::size() const { return keys(false).size(); }

Example Example::with_inputs(std::vector<std::string> keys) const {
    Example e = *this;
    e.input_keys_ = std::set<std::string>(keys.begin(), keys.end());
    return e;
}

Example Example::inputs() const {
    if (!input_keys_)
        throw ValueError("Inputs have not been set for this example. Use `example.with_inputs()` to set them.");
    Example e;
    for (auto it = store_.begin(); it != store_.end(); ++it)
        if (input_keys_->count(it.key())) e.store_[it.key()] = it.value();
    e.input_keys_ = input_keys_;
    return e;
}

Example Example::labels() const {
    Example e;
    for (auto it = store_.begin(); it != store_.end(); ++it)
        if (!input_keys_ || !input_keys_->count(it.key())) e.store_[it.key()] = it.value();
    return e;
}

Example Example::copy(const Json& overrides) const {
    Example e = *this;
    if (overrides.is_object())
        for (auto it = overrides.begin(); it != overrides.end(); ++it) e.store_[it.key()] = it.value();
    return e;
}

Example Example::without(const std::vector<std::string>& keys) const {
    Example e = *this;
    for (const auto& k : keys) e.store_.erase(k);
    return e;
}

std::string Example::repr() const {
    Json visible = Json::object();
    for (auto it = store_.begin(); it != store_.end(); ++it)
        if (!is_dspy_key(it.key())) visible[it.key()] = it.value();
    std::string out = "Example(" + pyfmt::repr(visible) + ") (input_keys=";
    if (!input_keys_) {
        out += "None";
    } else if (input_keys_->empty()) {
        out += "set()";
    } else {
        out += '{';
        bool first = true;
        for (const auto& k : *input_keys_) {
            if (!first) out += ", ";
            first = false;
            out += pyfmt::repr_str(k);
        }
        out += '}';
    }
    return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Example& e) { return os << e.repr(); }

}  // namespace dspy
