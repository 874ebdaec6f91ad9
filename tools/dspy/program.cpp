#include "program.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "builtin_tools.hpp"
#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/predict/react.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy::cli {
namespace {

// `"hot"`, `12`, `null`, `an object`: what a bad value looked like, kept short.
std::string shown(const Json& v) {
    if (v.is_object()) return "an object";
    if (v.is_array()) return "an array";
    std::string s = v.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

[[noreturn]] void bad(const std::string& label, const std::string& key, const std::string& expected, const Json& got) {
    throw ProgramError(label + ": \"" + key + "\" must be " + expected + ", got " + shown(got));
}

const std::string& need_string(const std::string& label, const std::string& key, const Json& v) {
    if (!v.is_string()) bad(label, key, "a string", v);
    return v.get_ref<const std::string&>();
}

int64_t need_int(const std::string& label, const std::string& key, const Json& v, int64_t min) {
    if (!v.is_number_integer() || v.get<int64_t>() < min)
        bad(label, key, min == 0 ? "a non-negative integer" : "a positive integer", v);
    return v.get<int64_t>();
}

// Wraps our LM so a batch or a server can report calls, cache hits and tokens without reading history.
class StatsLM final : public BaseLM {
public:
    StatsLM(std::shared_ptr<BaseLM> inner, std::shared_ptr<CallStats> stats)
        : BaseLM(inner->model(), inner->model_type(), inner->kwargs()), inner_(std::move(inner)),
          stats_(std::move(stats)) {}

    LMResponse forward(const Messages& messages, const Json& kwargs) override {
        LMResponse r;
        try {
            r = inner_->forward(messages, kwargs);
        } catch (...) {
            stats_->errors.fetch_add(1, std::memory_order_relaxed);
            throw;
        }
        count(r);
        return r;
    }
    Task<LMResponse> aforward(Messages messages, Json kwargs) override {
        LMResponse r;
        try {
            r = co_await inner_->aforward(std::move(messages), std::move(kwargs));
        } catch (...) {
            stats_->errors.fetch_add(1, std::memory_order_relaxed);
            throw;
        }
        count(r);
        co_return r;
    }
    [[nodiscard]] bool supports_function_calling() const override { return inner_->supports_function_calling(); }
    [[nodiscard]] bool supports_reasoning() const override { return inner_->supports_reasoning(); }
    [[nodiscard]] bool supports_response_schema() const override { return inner_->supports_response_schema(); }
    [[nodiscard]] std::vector<std::string> supported_params() const override { return inner_->supported_params(); }
    [[nodiscard]] Json dump_state() const override { return inner_->dump_state(); }

private:
    void count(const LMResponse& r) {
        stats_->calls.fetch_add(1, std::memory_order_relaxed);
        if (r.cache_hit) {
            stats_->cache_hits.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        auto tokens = [&](const char* a, const char* b) -> int64_t {
            for (const char* k : {a, b})
                if (auto it = r.usage.find(k); it != r.usage.end() && it->is_number_integer()) return it->get<int64_t>();
            return 0;
        };
        stats_->prompt_tokens.fetch_add(tokens("prompt_tokens", "input_tokens"), std::memory_order_relaxed);
        stats_->completion_tokens.fetch_add(tokens("completion_tokens", "output_tokens"), std::memory_order_relaxed);
    }
    std::shared_ptr<BaseLM> inner_;
    std::shared_ptr<CallStats> stats_;
};

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

}  // namespace

ProgramSpec parse_program(const Json& j, const std::string& label, const std::filesystem::path& base_dir) {
    if (!j.is_object()) throw ProgramError(label + ": a program must be a JSON object, got " + shown(j));
    ProgramSpec spec;
    spec.label = label;
    spec.base_dir = base_dir;
    static const std::vector<std::string> known = {"module", "signature", "instructions", "lm",   "adapter",
                                                   "tools",  "max_iters", "state",        "name", "description"};
    for (auto it = j.begin(); it != j.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            throw ProgramError(label + ": unknown key \"" + it.key() +
                               "\" (known: module, signature, instructions, lm, adapter, tools, max_iters, state)");

    if (auto it = j.find("module"); it != j.end()) {
        spec.module = need_string(label, "module", *it);
        if (spec.module != "Predict" && spec.module != "ChainOfThought" && spec.module != "ReAct")
            bad(label, "module", "one of \"Predict\", \"ChainOfThought\", \"ReAct\"", *it);
    }
    auto sig = j.find("signature");
    if (sig == j.end()) throw ProgramError(label + ": \"signature\" is required, e.g. \"question -> answer\"");
    spec.signature = need_string(label, "signature", *sig);
    if (auto it = j.find("instructions"); it != j.end() && !it->is_null())
        spec.instructions = need_string(label, "instructions", *it);

    auto lm = j.find("lm");
    if (lm == j.end() || !lm->is_object())
        throw ProgramError(label + ": \"lm\" must be an object with at least \"model\", got " +
                           (lm == j.end() ? std::string("nothing") : shown(*lm)));
    spec.lm = *lm;
    for (auto it = spec.lm.begin(); it != spec.lm.end(); ++it) {
        const std::string key = "lm." + it.key();
        const Json& v = it.value();
        const std::string& k = it.key();
        if (k == "model" || k == "model_type" || k == "api_base" || k == "api_key") {
            need_string(label, key, v);
        } else if (k == "temperature" || k == "top_p") {
            if (!v.is_number()) bad(label, key, "a number", v);
        } else if (k == "max_tokens") {
            need_int(label, key, v, 1);
        } else if (k == "num_retries") {
            need_int(label, key, v, 0);
        } else if (k == "cache") {
            if (!v.is_boolean()) bad(label, key, "true or false", v);
        }
    }
    if (!spec.lm.contains("model")) throw ProgramError(label + ": \"lm.model\" is required, e.g. \"openai/gpt-4o-mini\"");

    if (auto it = j.find("adapter"); it != j.end()) {
        spec.adapter = need_string(label, "adapter", *it);
        if (spec.adapter != "chat" && spec.adapter != "json") bad(label, "adapter", "\"chat\" or \"json\"", *it);
    }
    if (auto it = j.find("tools"); it != j.end()) {
        if (!it->is_array()) bad(label, "tools", "an array of tool names", *it);
        for (size_t i = 0; i < it->size(); ++i) {
            const Json& t = (*it)[i];
            const std::string key = "tools[" + std::to_string(i) + "]";
            Json entry;
            if (t.is_string()) {
                entry = Json{{"name", t}};
            } else if (t.is_object() && t.contains("name")) {
                need_string(label, key + ".name", t.at("name"));
                entry = t;
            } else {
                bad(label, key, "a tool name or an object with \"name\"", t);
            }
            const std::string& name = entry.at("name").get_ref<const std::string&>();
            if (!is_builtin_tool(name))
                bad(label, key + ".name", "one of " + builtin_tool_names(), entry.at("name"));
            spec.tools.push_back(std::move(entry));
        }
        if (!spec.tools.empty() && spec.module != "ReAct")
            throw ProgramError(label + ": \"tools\" needs \"module\": \"ReAct\", got module \"" + spec.module + "\"");
    }
    if (auto it = j.find("max_iters"); it != j.end()) spec.max_iters = static_cast<int>(need_int(label, "max_iters", *it, 1));
    if (auto it = j.find("state"); it != j.end() && !it->is_null()) {
        std::filesystem::path p = need_string(label, "state", *it);
        spec.state = p.is_absolute() ? p : base_dir / p;
    }
    return spec;
}

ProgramSpec read_program(const std::filesystem::path& path) {
    const std::string label = path.filename().string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ProgramError(path.string() + ": cannot open the program file");
    std::stringstream ss;
    ss << in.rdbuf();
    Json j;
    try {
        j = Json::parse(ss.str());
    } catch (const Json::parse_error& e) {
        throw ProgramError(label + ": not valid JSON: " + e.what());
    }
    return parse_program(j, label, path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
}

std::vector<std::string> LoadedProgram::input_names() const {
    std::vector<std::string> out;
    for (const auto& f : signature.inputs()) out.push_back(f.name);
    return out;
}

std::vector<std::string> LoadedProgram::output_names() const {
    std::vector<std::string> out;
    if (spec.module == "ChainOfThought") out.emplace_back("reasoning");
    for (const auto& f : signature.outputs()) out.push_back(f.name);
    return out;
}

Json LoadedProgram::describe() const {
    Json lm_info = Json::object();
    for (auto it = spec.lm.begin(); it != spec.lm.end(); ++it)
        if (it.key() != "api_key") lm_info[it.key()] = it.value();
    lm_info["model"] = lm->model();
    Json tool_names = Json::array();
    for (const auto& t : spec.tools) tool_names.push_back(t.at("name"));
    return Json{{"module", spec.module},
                {"signature", spec.signature},
                {"instructions", signature.instructions()},
                {"inputs", input_names()},
                {"outputs", output_names()},
                {"adapter", spec.adapter},
                {"lm", std::move(lm_info)},
                {"tools", std::move(tool_names)}};
}

Json LoadedProgram::select_inputs(const Json& row) const {
    if (!row.is_object()) throw ProgramError("the inputs must be a JSON object, got " + shown(row));
    Json in = Json::object();
    for (const auto& f : signature.inputs()) {
        auto it = row.find(f.name);
        if (it == row.end()) throw ProgramError("missing input field \"" + f.name + "\"");
        in[f.name] = *it;
    }
    return in;
}

LoadedProgram load_program(const ProgramSpec& spec, const LMOverrides& overrides) {
    LoadedProgram p;
    p.spec = spec;
    const std::string& label = spec.label;
    try {
        p.signature = Signature(spec.signature, spec.instructions);
    } catch (const std::exception& e) {
        throw ProgramError(label + ": \"signature\" is not a valid signature: " + e.what());
    }

    Json kwargs = spec.lm;
    std::optional<std::string> model = overrides.model, api_base = overrides.api_base;
    if (overrides.use_env) {
        if (!model) {
            if (auto m = env_or_empty("DSPY_LM"); !m.empty()) model = m;
        }
        if (!api_base) {
            if (auto b = env_or_empty("DSPY_API_BASE"); !b.empty()) api_base = b;
        }
    }
    if (model) kwargs["model"] = *model;
    if (api_base) kwargs["api_base"] = *api_base;
    if (overrides.no_cache) kwargs["cache"] = false;
    std::shared_ptr<BaseLM> inner;
    try {
        inner = LM::from_kwargs(kwargs);
    } catch (const std::exception& e) {
        throw ProgramError(label + ": \"lm\": " + e.what());
    }
    p.lm = std::make_shared<StatsLM>(std::move(inner), p.stats);
    if (spec.adapter == "json")
        p.adapter = std::make_shared<JSONAdapter>();
    else
        p.adapter = std::make_shared<ChatAdapter>();

    if (spec.module == "Predict") {
        p.module = std::make_unique<Predict>(p.signature);
    } else if (spec.module == "ChainOfThought") {
        p.module = std::make_unique<ChainOfThought>(p.signature);
    } else {
        for (const auto& t : spec.tools) p.tools.push_back(make_builtin_tool(t, spec.base_dir, label));
        p.module = std::make_unique<ReAct>(p.signature, p.tools, spec.max_iters);
    }
    if (spec.state) {
        if (!std::filesystem::exists(*spec.state))
            throw ProgramError(label + ": \"state\": no such file " + spec.state->string());
        try {
            p.module->load(*spec.state);
        } catch (const std::exception& e) {
            throw ProgramError(label + ": \"state\" " + spec.state->string() + " does not load: " + e.what());
        }
    }
    // The program's LM serves every predictor (a loaded state may carry its own; ours is the one we count).
    for (Predict* pr : p.module->predictors()) pr->set_lm(p.lm);
    return p;
}

}  // namespace dspy::cli
