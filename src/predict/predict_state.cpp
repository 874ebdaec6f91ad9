// Predict's saved state (dump_state / load_state / reset), in the layout Python DSPy 3.3.1 writes and reads.
#include <algorithm>
#include <array>

#include "dspy/clients/lm.hpp"
#include "dspy/predict/predict.hpp"
#include "utils/pyfmt.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"
#include "utils/error_context.hpp"

namespace dspy {

namespace {

// LM settings that would redirect requests; a saved file may only set them when the caller trusts it.
constexpr std::array<std::string_view, 3> kUnsafeLMKeys = {"api_base", "base_url", "model_list"};  // sorted

// dspy.predict.predict._sanitize_lm_state
Json sanitize_lm_state(const Json& lm_state, bool allow_unsafe) {
    if (allow_unsafe) return lm_state;
    std::string dropped;
    Json out = Json::object();
    for (auto it = lm_state.begin(); it != lm_state.end(); ++it) {
        if (std::find(kUnsafeLMKeys.begin(), kUnsafeLMKeys.end(), it.key()) == kUnsafeLMKeys.end())
            out[it.key()] = it.value();
    }
    for (auto k : kUnsafeLMKeys)
        if (lm_state.contains(k)) dropped += (dropped.empty() ? "'" : ", '") + std::string(k) + "'";
    if (!dropped.empty())
        warn("Ignoring unsafe LM config key(s) during state load: [" + dropped +
             "]. Pass allow_unsafe_lm_state=True to preserve these keys for trusted files.");
    return out;
}

}  // namespace

Json Predict::dump_state() {
    Json state = Json::object();
    state["traces"] = traces_;
    state["train"] = train_;
    Json demos = Json::array();
    for (const auto& d : demos_) demos.push_back(d.toDict());
    state["demos"] = std::move(demos);
    state["signature"] = signature_.dump_state();
    state["lm"] = lm_ ? lm_->dump_state() : Json(nullptr);
    return state;
}

Predict::PreparedState Predict::prepare_state(const Json& state, const LoadOptions& options) const {
    if (!state.is_object())
        throw TypeError(std::string("a predictor's saved state must be an object, got ") + state.type_name());
    // Python sets every other key as an attribute first, then reads these in this order; the errors follow it.
    auto sig = state.find("signature");
    if (sig == state.end()) throw KeyError("'signature' (the predictor's saved state has no signature)");
    auto load_signature = [&]() -> Signature {
        try {
            return signature_.load_state(*sig);
        } catch (...) {
            detail::rethrow_with_context("'signature': ");
        }
    };
    PreparedState out{load_signature(), nullptr, demos_, traces_, train_, extra_state_};

    auto lm = state.find("lm");
    if (lm == state.end()) throw KeyError("'lm' (the predictor's saved state has no lm entry; use null for none)");
    if (pyfmt::truthy(*lm)) {
        if (!lm->is_object()) throw TypeError("'lm' must be an LM state object or null, got " + lm->dump());
        try {
            out.lm = LM::load_state(sanitize_lm_state(*lm, options.allow_unsafe_lm_state),
                                    options.allow_unsafe_lm_state);
        } catch (...) {
            detail::rethrow_with_context("'lm': ");
        }
    }
    if (state.contains("extended_signature"))  // legacy, up to and including DSPy 2.5, for ChainOfThought
        throw NotImplementedError("Loading extended_signature is no longer supported in DSPy 2.6+");

    for (auto it = state.begin(); it != state.end(); ++it) {
        const std::string& key = it.key();
        if (key == "signature" || key == "lm") continue;
        if (key == "demos") {
            if (!it->is_array()) throw TypeError("'demos' must be a list of objects, got " + it->dump());
            out.demos.clear();
            out.demos.reserve(it->size());
            for (size_t i = 0; i < it->size(); ++i) {
                const Json& d = (*it)[i];
                if (!d.is_object())
                    throw TypeError("'demos[" + std::to_string(i) + "]' must be an object, got " + d.dump());
                out.demos.emplace_back(d);
            }
        } else if (key == "traces") {
            out.traces = *it;
        } else if (key == "train") {
            out.train = *it;
        } else {
            out.extra[key] = *it;
        }
    }
    return out;
}

void Predict::apply_state(PreparedState&& prepared) noexcept {
    signature_ = std::move(prepared.signature);
    lm_ = std::move(prepared.lm);
    demos_ = std::move(prepared.demos);
    traces_ = std::move(prepared.traces);
    train_ = std::move(prepared.train);
    extra_state_ = std::move(prepared.extra);
}

void Predict::load_state(const Json& state, const LoadOptions& options) { apply_state(prepare_state(state, options)); }

void Predict::reset() {
    lm_.reset();
    traces_ = Json::array();
    train_ = Json::array();
    demos_.clear();
}

}  // namespace dspy
