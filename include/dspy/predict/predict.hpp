#pragma once
/// @file
/// Predict: one LM call through the adapter for a signature.

#include <memory>
#include <optional>
#include <vector>

#include "dspy/clients/base_lm.hpp"
#include "dspy/primitives/example.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/signatures/signature.hpp"

namespace dspy {

class Predict;

/// What one call of a predictor may replace, DSPy's privileged keyword arguments (`signature=`, `demos=`,
/// `config=`, `lm=`). Unset members keep the predictor's own. Name it before a `co_await` (g++-12):
/// `PredictCallOptions opts{.lm = other}; co_await predict.acall(inputs, opts);`
/// The Json-valued ones may also be given as reserved input keys: `predict("question", q, "config", cfg)`
/// (`"config"` an object merged over the predictor's, `"demos"` a list of objects, `"signature"` a string
/// signature); `"lm"` there may only name an LM object, so a string gives DSPy's error.
/// @sa Predict._forward_preprocess
struct PredictCallOptions {
    std::shared_ptr<BaseLM> lm{};            ///< wins over the predictor's LM and the settings' LM
    std::optional<Json> config{};            ///< merged over the predictor's config, key by key
    std::optional<std::vector<Example>> demos{};  ///< replaces the predictor's demos
    std::optional<Signature> signature{};    ///< replaces the predictor's signature
};

/// The per-predictor overrides in force in a settings scope (`Settings::predict_overrides`), newest first; for
/// each option the newest entry for the predictor that sets it wins.
struct PredictOverrides {
    struct Entry {
        const Predict* predictor = nullptr;
        PredictCallOptions options;
    };
    std::vector<Entry> entries;
    /// `entries` in front of the ones currently in force (a new scope for `context({.predict_overrides = ...})`).
    [[nodiscard]] static std::shared_ptr<const PredictOverrides> push(std::vector<Entry> entries);
    /// Installs `options` for the calls of `predictor` in this task until the returned scope ends.
    [[nodiscard]] static ContextScope scope_for(const Predict& predictor, const PredictCallOptions& options);
};

/// The basic predictor: formats demos and inputs, calls the LM, parses the outputs. @sa dspy.Predict
class Predict : public Module {
public:
    /// `config` holds default LM parameters for this predictor (temperature, n, ...). @sa Predict.__init__
    explicit Predict(Signature signature, Json config = Json::object());

    Prediction forward(const Inputs& inputs) override;
    Task<Prediction> aforward(Inputs inputs) override;

    using Module::operator();
    using Module::acall;
    /// One call with some of the predictor's parts replaced (DSPy's `predict(question=q, lm=lm2, config={...})`).
    /// @sa Predict.__call__
    Prediction operator()(const Inputs& inputs, const PredictCallOptions& options);
    /// The async twin. @sa Predict.acall
    Task<Prediction> acall(Inputs inputs, PredictCallOptions options);

    [[nodiscard]] const Signature& signature() const { return signature_; }
    void set_signature(Signature s) { signature_ = std::move(s); }
    /// Few-shot demos, in prompt order. @sa Predict.demos
    [[nodiscard]] std::vector<Example>& demos() { return demos_; }
    [[nodiscard]] const std::vector<Example>& demos() const { return demos_; }
    /// This predictor's own LM (null: use the settings' LM). @sa Predict.lm
    [[nodiscard]] const std::shared_ptr<BaseLM>& lm() const { return lm_; }
    void set_lm(std::shared_ptr<BaseLM> lm) { lm_ = std::move(lm); }
    [[nodiscard]] const Json& config() const { return config_; }
    [[nodiscard]] Json& config() { return config_; }

    /// `{"traces", "train", "demos", "signature", "lm"}`. @sa Predict.dump_state
    [[nodiscard]] Json dump_state() override;
    /// @sa Predict.load_state
    void load_state(const Json& state, const LoadOptions& options = {}) override;
    /// Drops lm, traces, train and demos. @sa Predict.reset
    void reset();

    /// Saved traces, kept as loaded. @sa Predict.traces
    [[nodiscard]] const Json& traces() const { return traces_; }
    /// Saved training examples, kept as loaded. @sa Predict.train
    [[nodiscard]] const Json& train() const { return train_; }
    /// Keys of a loaded state that Predict does not interpret (Python sets them as attributes); not saved again.
    [[nodiscard]] const Json& extra_state() const { return extra_state_; }

    /// A loaded state, validated and built but not yet installed. @sa Predict.load_state
    struct PreparedState {
        Signature signature;
        std::shared_ptr<BaseLM> lm;
        std::vector<Example> demos;
        Json traces;
        Json train;
        Json extra;
    };
    /// The first, fallible half of load_state: checks `state` and builds everything without touching this
    /// predictor, so a module can load all its predictors or none. @throws KeyError, TypeError, ValueError,
    /// NotImplementedError naming the key at fault.
    [[nodiscard]] PreparedState prepare_state(const Json& state, const LoadOptions& options = {}) const;
    /// The second half of load_state: installs a prepared state (cannot fail).
    void apply_state(PreparedState&& prepared) noexcept;

protected:
    [[nodiscard]] bool is_parameter() const override { return true; }

private:
    /// The one algorithm behind forward and aforward (DSPy's twins differ only in the awaited LM call).
    Task<Prediction> run_predict(bool sync, const Inputs& inputs);
    Signature signature_;
    Json config_;
    std::shared_ptr<BaseLM> lm_;
    std::vector<Example> demos_;
    Json traces_ = Json::array();
    Json train_ = Json::array();
    Json extra_state_ = Json::object();
};

}  // namespace dspy
