#include "dspy/predict/parallel.hpp"

#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/parallelizer.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

// Python's type(example) as DSPy's error shows it.
std::string py_type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return "<class 'NoneType'>";
        case Json::value_t::boolean: return "<class 'bool'>";
        case Json::value_t::string: return "<class 'str'>";
        case Json::value_t::number_float: return "<class 'float'>";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "<class 'int'>";
        default: return "<class '" + std::string(v.type_name()) + "'>";
    }
}

Prediction call_target(const ExecPair& pair, const Json& inputs) {
    if (auto* m = std::get_if<Module*>(&pair.target)) return (**m)(inputs);
    return std::get<ExecPair::Function>(pair.target)(inputs);
}

}  // namespace

std::string ExecPair::repr() const {
    std::string out = std::holds_alternative<Module*>(target) ? "(<Module>, " : "(<function>, ";
    if (const auto* ex = std::get_if<Example>(&example))
        out += ex->repr();
    else
        out += pyfmt::repr(std::get<Json>(example));
    return out + ")";
}

Parallel::Parallel(Options options) : options_(std::move(options)) {
    auto s = settings();
    if (!options_.num_threads || *options_.num_threads == 0) options_.num_threads = s->num_threads;
    if (!options_.max_errors) options_.max_errors = s->max_errors;
}

ParallelResults Parallel::forward(const std::vector<ExecPair>& exec_pairs, std::optional<int> num_threads) {
    ParallelExecutor executor({.num_threads = num_threads ? num_threads : options_.num_threads,
                               .max_errors = options_.max_errors,
                               .disable_progress_bar = options_.disable_progress_bar,
                               .provide_traceback = options_.provide_traceback,
                               .compare_results = false,
                               .timeout = options_.timeout,
                               .straggler_limit = options_.straggler_limit});
    const bool access_examples = options_.access_examples;
    auto process_pair = [access_examples](const ExecPair& pair) -> Prediction {
        if (const auto* ex = std::get_if<Example>(&pair.example))
            return call_target(pair, access_examples ? ex->inputs().data() : ex->data());
        const Json& value = std::get<Json>(pair.example);
        if (value.is_object()) return call_target(pair, value);
        if (value.is_array()) {
            if (std::holds_alternative<Module*>(pair.target))
                throw ValueError("Invalid example type: <class 'tuple'> for a Module: C++ modules take keyword "
                                 "inputs (a JSON object or an Example); positional arguments need a function target");
            return call_target(pair, value);
        }
        throw ValueError("Invalid example type: " + py_type_name(value) +
                         ", only supported types are Example, dict, list and tuple");
    };
    ParallelResults out;
    out.results = executor.execute(process_pair, exec_pairs);
    if (options_.return_failed_examples) {
        auto failed = executor.failed_indices();
        auto errors = executor.exceptions_map();
        std::lock_guard lk(mu_);
        for (std::size_t idx : failed) {
            if (idx >= exec_pairs.size()) continue;
            const auto& ex = exec_pairs[idx].example;
            if (const auto* e = std::get_if<Example>(&ex))
                failed_examples_.push_back(*e);
            else
                failed_examples_.push_back(std::get<Json>(ex).is_object() ? Example(std::get<Json>(ex))
                                                                          : Example({{"value", std::get<Json>(ex)}}));
            if (auto it = errors.find(idx); it != errors.end() && it->second) exceptions_.push_back(it->second);
        }
        out.failed_examples = failed_examples_;
        out.exceptions = exceptions_;
    }
    return out;
}

std::vector<Example> Parallel::failed_examples() const {
    std::lock_guard lk(mu_);
    return failed_examples_;
}

std::vector<std::exception_ptr> Parallel::exceptions() const {
    std::lock_guard lk(mu_);
    return exceptions_;
}

}  // namespace dspy
