// saved_program.jsonl: the exact JSON `program.save("x.json")` writes, and what `program.load(file)` restores.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/types/tool.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/predict/react.hpp"
#include "golden.hpp"
#include "utils/pyfmt.hpp"

namespace dspy::golden {
namespace {

// Our metadata.dependency_versions; the fixtures record them as null.
const Json kVersions = {{"python", "3.11"}, {"dspy", "3.3.1"}, {"cloudpickle", "3.1"}};

/// A user-defined module: children registered in the given order, like Python attributes.
class CustomModule : public Module {
public:
    void add(std::string name, std::unique_ptr<Module> child) {
        register_submodule(std::move(name), *child);
        children_.push_back(std::move(child));
    }

private:
    std::vector<std::unique_ptr<Module>> children_;
};

std::unique_ptr<Module> build_program(const Json& spec) {
    const std::string kind = spec.at("module").get<std::string>();
    if (kind == "Predict") return std::make_unique<Predict>(build_signature(spec.at("signature")));
    if (kind == "ChainOfThought") return std::make_unique<ChainOfThought>(build_signature(spec.at("signature")));
    if (kind == "ReAct") {
        std::vector<Tool> tools;
        for (const auto& t : spec.at("tools")) tools.push_back(Tool::from_json(t));
        return std::make_unique<ReAct>(build_signature(spec.at("signature")), std::move(tools),
                                       spec.value("max_iters", 20));
    }
    if (kind == "Module") {
        auto m = std::make_unique<CustomModule>();
        for (const auto& child : spec.at("children"))
            m->add(child.at(0).get<std::string>(), build_program(child.at(1)));
        return m;
    }
    throw std::runtime_error("unknown module kind '" + kind + "'");
}

Predict& predictor_at(Module& program, const std::string& path) {
    for (auto& [p, predictor] : program.named_predictors())
        if (p == path) return *predictor;
    throw std::runtime_error("the program has no predictor at path '" + path + "'");
}

void apply_changes(Module& program, const Json& changes) {
    if (changes.is_null()) return;
    if (auto it = changes.find("set_instructions"); it != changes.end())
        for (const auto& [path, text] : it->items()) {
            Predict& p = predictor_at(program, path);
            p.set_signature(p.signature().with_instructions(text.get<std::string>()));
        }
    if (auto it = changes.find("set_demos"); it != changes.end())
        for (const auto& [path, demos] : it->items()) {
            Predict& p = predictor_at(program, path);
            p.demos().clear();
            for (const auto& d : demos) p.demos().emplace_back(d);
        }
    if (auto it = changes.find("set_lm"); it != changes.end())
        for (const auto& [path, kwargs] : it->items()) predictor_at(program, path).set_lm(LM::from_kwargs(kwargs));
}

std::filesystem::path temp_file(const std::string& id) {
    static std::atomic<int> counter{0};
    return std::filesystem::temp_directory_path() /
           ("dspy_golden_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + id + ".json");
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

// The expected file text with our dependency versions where the fixture has null.
std::string with_our_versions(std::string text) {
    size_t at = text.rfind("\"dependency_versions\": {");
    if (at == std::string::npos) return text;
    for (const auto& [key, value] : kVersions.items()) {
        std::string from = "\"" + key + "\": null", to = "\"" + key + "\": \"" + value.get<std::string>() + "\"";
        if (size_t pos = text.find(from, at); pos != std::string::npos) text.replace(pos, from.size(), to);
    }
    return text;
}

Outcome expect_error(const Json& expected, const std::function<void()>& action) {
    const std::string want = expected.at("error").get<std::string>();
    try {
        action();
    } catch (const std::exception& e) {
        std::string kind = error_kind(e);
        return kind == want ? Outcome::pass() : Outcome::fail("expected " + want + ", got " + kind + ": " + e.what());
    }
    return Outcome::fail("expected " + want + ", but it succeeded");
}

Outcome run_save(const Json& c) {
    auto program = build_program(c.at("program"));
    apply_changes(*program, c.value("changes", Json()));
    const Json& expected = c.at("expected");
    auto path = temp_file(c.at("id").get<std::string>());
    if (expected.contains("error")) return expect_error(expected, [&] { program->save(path); });
    program->save(path);
    std::string text = slurp(path);
    std::filesystem::remove(path);
    if (auto d = first_difference(with_our_versions(expected.at("saved_text").get<std::string>()), text); !d.empty())
        return Outcome::fail("saved text " + d);
    Json want = expected.at("saved");
    want["metadata"]["dependency_versions"] = kVersions;
    if (auto d = json_difference(want, Json::parse(text), /*ordered=*/true); !d.empty())
        return Outcome::fail("saved JSON " + d);
    return Outcome::pass();
}

Outcome run_load(const Json& c) {
    auto program = build_program(c.at("program"));
    auto path = temp_file(c.at("id").get<std::string>());
    {
        std::ofstream out(path, std::ios::binary);
        out << pyfmt::orjson_dumps(c.at("saved"), true) << '\n';
    }
    struct Cleanup {
        std::filesystem::path p;
        ~Cleanup() { std::filesystem::remove(p); }
    } cleanup{path};
    const Json& expected = c.at("expected");
    if (expected.contains("error")) return expect_error(expected, [&] { program->load(path); });
    program->load(path);

    const Json& want = expected.at("predictors");
    auto predictors = program->named_predictors();
    if (predictors.size() != want.size())
        return Outcome::fail("expected " + std::to_string(want.size()) + " predictors, got " +
                             std::to_string(predictors.size()));
    const ChatAdapter adapter;
    for (size_t i = 0; i < predictors.size(); ++i) {
        const auto& [path_i, p] = predictors[i];
        const Json& w = want[i];
        const std::string where = "predictor " + path_i + ": ";
        if (w.at("path") != path_i) return Outcome::fail("predictor " + std::to_string(i) + " path: expected " +
                                                         w.at("path").dump() + ", got " + path_i);
        if (auto d = first_difference(w.at("instructions").get<std::string>(), p->signature().instructions());
            !d.empty())
            return Outcome::fail(where + "instructions " + d);
        Json fields = Json::array();
        for (const auto& f : p->signature().fields())
            fields.push_back(Json{{"name", f.name}, {"prefix", f.prefix}, {"desc", f.desc}});
        Json demos = Json::array();
        for (const auto& d : p->demos()) demos.push_back(d.toDict());
        Json lm = p->lm() ? p->lm()->dump_state() : Json(nullptr);
        for (auto [what, got] : {std::pair<const char*, const Json*>{"fields", &fields}, {"demos", &demos},
                                 {"traces", &p->traces()}, {"train", &p->train()}, {"lm", &lm}})
            if (auto d = json_difference(w.at(what), *got, /*ordered=*/true); !d.empty())
                return Outcome::fail(where + what + " " + d);
        if (auto d = first_difference(w.at("system_message").get<std::string>(),
                                      adapter.format_system_message(p->signature()));
            !d.empty())
            return Outcome::fail(where + "system message " + d);
    }
    return Outcome::pass();
}

const Registrar saved_program("saved_program", [](const Json& c) -> Outcome {
    const std::string direction = c.at("direction").get<std::string>();
    if (direction == "save") return run_save(c);
    if (direction == "load") return run_load(c);
    return Outcome::fail("unknown direction '" + direction + "'");
});

}  // namespace
}  // namespace dspy::golden
