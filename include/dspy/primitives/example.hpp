#pragma once
/// @file
/// Example: a dict of field values with an optional set of input keys.

#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

/// A training or demo example: ordered field values plus which of them are inputs. @sa dspy.Example
class Example {
public:
    Example() : store_(Json::object()) {}
    /// From a JSON object (its key order is kept). @throws TypeError if `store` is not an object.
    explicit Example(Json store);
    /// `Example({{"question", "q"}, {"answer", "a"}})`.
    Example(std::initializer_list<std::pair<const std::string, Json>> items);

    /// The value of `key`. @throws KeyError naming the key when absent.
    [[nodiscard]] const Json& at(std::string_view key) const;
    /// Inserts or replaces a value. @sa Example.__setitem__
    Json& operator[](const std::string& key) { return store_[key]; }
    /// The value or `fallback`. @sa Example.get
    [[nodiscard]] Json get(std::string_view key, Json fallback = nullptr) const;
    [[nodiscard]] bool contains(std::string_view key) const { return store_.contains(key); }
    /// Keys in order, hiding `dspy_*` keys unless asked. @sa Example.keys
    [[nodiscard]] std::vector<std::string> keys(bool include_dspy = false) const;
    /// Number of keys, not counting `dspy_*`. @sa Example.__len__
    [[nodiscard]] size_t size() const;

    /// A copy whose inputs are `keys`. @sa Example.with_inputs
    [[nodiscard]] Example with_inputs(std::vector<std::string> keys) const;
    /// Only the input keys. @throws ValueError when with_inputs was never called. @sa Example.inputs
    [[nodiscard]] Example inputs() const;
    /// Only the non-input keys. @sa Example.labels
    [[nodiscard]] Example labels() const;
    /// A copy with some values replaced. @sa Example.copy
    [[nodiscard]] Example copy(const Json& overrides = Json::object()) const;
    /// A copy without these keys. @sa Example.without
    [[nodiscard]] Example without(const std::vector<std::string>& keys) const;
    /// All values as one JSON object. @sa Example.toDict
    [[nodiscard]] const Json& toDict() const { return store_; }
    /// The underlying ordered store.
    [[nodiscard]] const Json& data() const { return store_; }
    [[nodiscard]] Json& data() { return store_; }
    /// The input keys, if set.
    [[nodiscard]] const std::optional<std::set<std::string>>& input_keys() const { return input_keys_; }

    friend bool operator==(const Example& a, const Example& b) { return a.store_ == b.store_; }
    /// `Example({'question': 'q'}) (input_keys={'question'})`, hiding `dspy_*`. @sa Example.__repr__
    [[nodiscard]] std::string repr() const;

protected:
    Json store_;
    std::optional<std::set<std::string>> input_keys_;
};

std::ostream& operator<<(std::ostream& os, const Example& e);

}  // namespace dspy
