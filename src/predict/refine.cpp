#include "dspy/predict/refine.hpp"

#include <cmath>
#include <limits>

#include "adapters/format_detail.hpp"
#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/errors.hpp"
#include "dspy/async/run.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"
#include "predict/rollout.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

// `lm.copy(rollout_id=rid, temperature=1.0)`: the same client with its own kwargs, history and callback list.
// Requests go to the original LM's forward/aforward with the already merged kwargs, so caching, retries and
// transport are the original's.
class RolloutLM final : public BaseLM {
public:
    RolloutLM(std::shared_ptr<BaseLM> base, int64_t rollout_id)
        : BaseLM(base->model(), base->model_type(), base->kwargs()), base_(std::move(base)) {
        kwargs_["rollout_id"] = rollout_id;
        kwargs_["temperature"] = 1.0;
        callbacks() = base_->callbacks();
    }
    LMResponse forward(const Messages& messages, const Json& kwargs) override {
        return base_->forward(messages, kwargs);
    }
    Task<LMResponse> aforward(Messages messages, Json kwargs) override {
        LMResponse r = co_await base_->aforward(std::move(messages), std::move(kwargs));
        co_return r;
    }
    bool supports_function_calling() const override { return base_->supports_function_calling(); }
    bool supports_reasoning() const override { return base_->supports_reasoning(); }
    bool supports_response_schema() const override { return base_->supports_response_schema(); }
    std::vector<std::string> supported_params() const override { return base_->supported_params(); }
    Json dump_state() const override {
        Json state = base_->dump_state();
        state["rollout_id"] = kwargs_.at("rollout_id");
        state["temperature"] = kwargs_.at("temperature");
        return state;
    }

private:
    std::shared_ptr<BaseLM> base_;
};

// Refine's WrapperAdapter: adds the `hint_` input with the calling predictor's advice, then runs the real adapter.
class HintAdapter final : public Adapter {
public:
    HintAdapter(std::shared_ptr<const Adapter> inner, Json advice,
                std::vector<std::pair<std::string, Predict*>> names)
        : inner_(std::move(inner)), advice_(std::move(advice)), names_(std::move(names)) {}

    Messages format(const Signature& signature, std::span<const Example> demos, const Json& inputs) const override {
        return inner_->format(signature, demos, inputs);
    }
    Json parse(const Signature& signature, std::string_view completion) const override {
        return inner_->parse(signature, completion);
    }
    std::string format_field_with_value(const Signature& signature, const Json& values) const override {
        return inner_->format_field_with_value(signature, values);
    }
    std::string_view adapter_name() const override { return inner_->adapter_name(); }

protected:
    Task<std::vector<Json>> call(bool sync, BaseLM& lm, Json lm_kwargs, const Signature& signature,
                                 std::span<const Example> demos, const Json& inputs) const override {
        // The predictor being called is the innermost module call (DSPy maps the signature to its name).
        const Module* caller = nullptr;
        if (auto s = settings(); s->caller_modules && !s->caller_modules->empty()) caller = s->caller_modules->back();
        Json hint = "N/A";
        for (const auto& [name, p] : names_)
            if (static_cast<const Module*>(p) == caller) {
                if (auto it = advice_.find(name); it != advice_.end()) hint = *it;
                break;
            }
        Json with_hint = inputs.is_object() ? inputs : Json::object();
        with_hint["hint_"] = std::move(hint);
        Signature hinted = signature.append(Field::input("hint_", {}, "A hint to the module from an earlier run"));
        if (sync) co_return (*inner_)(lm, lm_kwargs, hinted, demos, with_hint);
        std::vector<Json> out = co_await inner_->acall(lm, std::move(lm_kwargs), hinted, demos, std::move(with_hint));
        co_return out;
    }

private:
    std::shared_ptr<const Adapter> inner_;
    Json advice_;
    std::vector<std::pair<std::string, Predict*>> names_;
};

// The LM a predictor would call here: the newest per-call override for it, else its own.
std::shared_ptr<BaseLM> effective_lm(const Predict* p, const Settings& s) {
    if (s.predict_overrides)
        for (const auto& e : s.predict_overrides->entries)
            if (e.predictor == p && e.options.lm) return e.options.lm;
    return p->lm();
}

// `module.get_lm() or settings.lm`.
std::shared_ptr<BaseLM> base_lm(const std::vector<std::pair<std::string, Predict*>>& named, const Settings& s) {
    std::shared_ptr<BaseLM> lm;
    bool first = true;
    for (const auto& [name, p] : named) {
        auto l = effective_lm(p, s);
        if (!first && l != lm)
            throw ValueError("Multiple LMs are being used in the module. There's no unique LM to return.");
        lm = std::move(l);
        first = false;
    }
    if (first) throw ValueError("Multiple LMs are being used in the module. There's no unique LM to return.");
    if (!lm) lm = s.lm;
    if (!lm)
        throw ValueError(
            "No LM is loaded. Please configure the LM using `dspy.configure(lm=dspy.LM(...))`. e.g, "
            "`dspy.configure(lm=dspy.LM('openai/gpt-4o-mini'))`");
    return lm;
}

std::string error_text(std::exception_ptr e) {
    try {
        std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown error";
    }
}

std::string strip_newlines(std::string_view s) {
    while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
    while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return std::string(s);
}

// ("\n" + "\t" * 2).join([""] + text.splitlines())
std::string indent_lines(std::string_view text) {
    std::string out;
    for (auto line : pyfmt::splitlines(text)) {
        out += "\n\t\t";
        out += line;
    }
    return out;
}

// orjson.dumps(v, option=OPT_INDENT_2) for the non-string feedback inputs.
Json as_text(const Json& v) { return v.is_string() ? v : Json(pyfmt::orjson_dumps(v, true)); }

}  // namespace

namespace detail {

int checked_fail_count(std::string_view who, int n, const RewardFn& reward_fn, std::optional<int> fail_count) {
    if (n < 1) throw ValueError(std::string(who) + " needs N >= 1 attempts, got " + std::to_string(n));
    if (!reward_fn) throw ValueError(std::string(who) + " needs a reward function");
    return fail_count && *fail_count != 0 ? *fail_count : n;
}

Task<Prediction> run_attempts(bool sync, const AttemptsSpec& spec, const Json& inputs) {
    auto s = settings();
    auto named = spec.module->named_predictors();
    std::shared_ptr<BaseLM> lm = base_lm(named, *s);
    int64_t start = 0;
    if (auto it = lm->kwargs().find("rollout_id"); it != lm->kwargs().end() && it->is_number_integer())
        start = it->get<int64_t>();
    std::shared_ptr<const Adapter> adapter = s->adapter;
    if (!adapter) adapter = std::make_shared<ChatAdapter>();
    Json module_names = Json::array();
    for (const auto& [name, p] : named) module_names.push_back(name);

    Prediction best;
    bool have_best = false;
    std::vector<TraceEntry> best_trace;
    double best_reward = -std::numeric_limits<double>::infinity();
    Json advice = nullptr;
    int fail_count = spec.fail_count;
    std::exception_ptr last_error;

    for (int idx = 0; idx < spec.n; ++idx) {
        const int64_t rid = start + idx;
        std::exception_ptr error;
        try {
            std::vector<PredictOverrides::Entry> entries;
            auto lm_copy = std::make_shared<RolloutLM>(lm, rid);
            for (const auto& [name, p] : named) entries.push_back(PredictOverrides::Entry{p, PredictCallOptions{.lm = lm_copy}});
            SettingsOverrides attempt;
            attempt.predict_overrides = PredictOverrides::push(std::move(entries));
            if (spec.feedback && advice.is_object() && !advice.empty())
                attempt.adapter = std::make_shared<HintAdapter>(adapter, advice, named);
            SettingsOverrides traced;
            auto trace = std::make_shared<Trace>();
            traced.trace = trace;

            Prediction outputs;
            double reward = 0;
            {
                ContextScope trace_scope = context(traced);
                {
                    ContextScope attempt_scope = context(attempt);
                    if (sync) {
                        outputs = (*spec.module)(inputs);
                    } else {
                        outputs = co_await spec.module->acall(inputs);
                    }
                }
                reward = (*spec.reward_fn)(inputs, outputs);  // not under the attempt's LM or hint adapter
            }
            std::vector<TraceEntry> trace_entries = trace->entries();
            if (reward > best_reward) {
                best_reward = reward;
                best = outputs;
                best_trace = trace_entries;
                have_best = true;
            }
            if (spec.threshold && reward >= *spec.threshold) break;
            if (spec.feedback && idx < spec.n - 1) {
                Json trajectory = Json::array();
                for (const auto& e : trace_entries) {
                    const std::string* name = nullptr;
                    for (const auto& [n, p] : named)
                        if (p == e.predictor) name = &n;
                    if (!name) throw KeyError("a traced predictor that is not part of the refined module");
                    trajectory.push_back(Json{{"module_name", *name}, {"inputs", e.inputs}, {"outputs", e.prediction.data()}});
                }
                Json fb = Json::object();
                fb["program_code"] = *spec.module_code;
                fb["modules_defn"] = Refine::inspect_modules(*spec.module);
                fb["program_inputs"] = as_text(inputs.is_object() ? inputs : Json::object());
                fb["program_trajectory"] = as_text(trajectory);
                fb["program_outputs"] = as_text(outputs.data());
                fb["reward_code"] = *spec.reward_code;
                fb["target_threshold"] = as_text(spec.threshold ? Json(*spec.threshold) : Json(nullptr));
                fb["reward_value"] = as_text(Json(reward));
                fb["module_names"] = as_text(module_names);
                Predict offer_feedback(Refine::offer_feedback_signature());
                Prediction feedback;
                if (sync) {
                    feedback = offer_feedback(fb);
                } else {
                    feedback = co_await offer_feedback.acall(std::move(fb));
                }
                advice = feedback.get("advice");
            }
        } catch (const CancelledError&) {
            throw;
        } catch (...) {
            error = std::current_exception();
        }
        if (error) {
            if (spec.feedback)
                warn("Refine: Attempt failed with rollout id " + std::to_string(rid) + ": " + error_text(error));
            else
                warn("BestOfN: Attempt " + std::to_string(idx + 1) + " failed with rollout id " + std::to_string(rid) +
                     ": " + error_text(error));
            if (idx > fail_count) std::rethrow_exception(error);
            --fail_count;
            last_error = error;
        }
    }
    if (!best_trace.empty()) {
        auto now = settings();
        if (now->trace)
            for (auto& e : best_trace) now->trace->append(std::move(e), now->max_trace_size);
    }
    if (!have_best) {
        if (last_error) std::rethrow_exception(last_error);
        throw ValueError("no attempt produced a reward above -infinity (is the reward function returning NaN?)");
    }
    co_return best;
}

}  // namespace detail

Refine::Refine(Module& module, int N, RewardFn reward_fn, std::optional<double> threshold,
               std::optional<int> fail_count)
    : module_(module),
      n_(N),
      reward_fn_(std::move(reward_fn)),
      threshold_(threshold),
      fail_count_(detail::checked_fail_count("Refine", N, reward_fn_, fail_count)) {
    register_submodule("module", module_);
}

// One spec for both modes, so forward and aforward cannot drift apart.
Task<Prediction> Refine::attempts(bool sync, const Inputs& inputs) {
    detail::AttemptsSpec spec{.module = &module_, .n = n_, .reward_fn = &reward_fn_, .threshold = threshold_,
                              .fail_count = fail_count_, .feedback = true, .module_code = &module_code_,
                              .reward_code = &reward_code_};
    Prediction p = co_await detail::run_attempts(sync, spec, inputs);
    co_return p;
}

Prediction Refine::forward(const Inputs& inputs) { return run_sync(attempts(true, inputs)); }

Task<Prediction> Refine::aforward(Inputs inputs) {
    Prediction p = co_await attempts(false, inputs);
    co_return p;
}

const Signature& Refine::offer_feedback_signature() {
    static const Signature sig = [] {
        const TypeSpec str = TypeSpec::str();
        std::vector<Field> f;
        f.push_back(Field::input("program_code", str, "The code of the program that we are analyzing"));
        f.push_back(Field::input("modules_defn", str, "The definition of each module in the program, including its I/O"));
        f.push_back(Field::input("program_inputs", str, "The inputs to the program that we are analyzing"));
        f.push_back(Field::input("program_trajectory", str,
                                 "The trajectory of the program's execution, showing each module's I/O"));
        f.push_back(Field::input("program_outputs", str, "The outputs of the program that we are analyzing"));
        f.push_back(Field::input("reward_code", str, "The code of the reward function that we are analyzing"));
        f.push_back(Field::input("target_threshold", TypeSpec::parse("float"),
                                 "The target threshold for the reward function"));
        f.push_back(Field::input("reward_value", TypeSpec::parse("float"),
                                 "The reward value assigned to the program's outputs"));
        f.push_back(Field::input("module_names", TypeSpec::parse("list[str]"),
                                 "The names of the modules in the program, for which we seek advice"));
        f.push_back(Field::output("discussion", str, "Discussing blame of where each module went wrong, if it did"));
        f.push_back(Field::output(
            "advice", TypeSpec::parse("dict[str, str]"),
            "For each module, describe very concretely, in this order: the specific scenarios in which it has made "
            "mistakes in the past and what each mistake was, followed by what it should do differently in that kind of"
            "scenario in the future. If the module is not to blame, write N/A."));
        // The class docstring, as Signature reads it (inspect.cleandoc).
        return Signature::from_fields(
            std::move(f),
            "\n    In the discussion, assign blame to each module that contributed to the final reward being below the "
            "threshold, if\n    any. Then, prescribe concrete advice of how the module should act on its future input "
            "when we retry the process, if\n    it were to receive the same or similar inputs. If a module is not to "
            "blame, the advice should be N/A.\n    The module will not see its own history, so it needs to rely on "
            "entirely concrete and actionable advice from you\n    to avoid the same mistake on the same or similar "
            "inputs.\n    ");
    }();
    return sig;
}

std::string Refine::inspect_modules(Module& program) {
    const std::string separator(80, '-');
    std::vector<std::string> output{separator};
    for (const auto& [name, predictor] : program.named_predictors()) {
        const Signature& sig = predictor->signature();
        const auto& fields = sig.fields();
        std::string inputs, outputs;
        detail::append_field_descriptions(inputs, fields, 0, sig.n_inputs());
        detail::append_field_descriptions(outputs, fields, sig.n_inputs(), fields.size());
        output.push_back("Module " + name);
        output.push_back("\n\tInput Fields:");
        output.push_back(indent_lines(inputs));
        output.push_back("\tOutput Fields:");
        output.push_back(indent_lines(outputs));
        output.push_back("\tOriginal Instructions: " + indent_lines(pyfmt::dedent(sig.instructions())));
        output.push_back(separator);
    }
    std::string out;
    for (size_t i = 0; i < output.size(); ++i) {
        if (i) out += '\n';
        out += strip_newlines(output[i]);
    }
    return out;
}

}  // namespace dspy
