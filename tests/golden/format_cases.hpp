#pragma once
// Shared runner of chat_format.jsonl and json_format.jsonl: build the effective signature the case's module
// uses, check it against the recorded one, format, and compare the messages byte for byte.

#include <memory>
#include <string>
#include <vector>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/types/tool.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/react.hpp"
#include "golden.hpp"

namespace dspy::golden {

inline std::string signature_difference(const Json& expected, const Signature& actual) {
    if (auto d = first_difference(expected.at("instructions").get<std::string>(), actual.instructions()); !d.empty())
        return "instructions " + d;
    const auto& exp_fields = expected.at("fields");
    const auto& fields = actual.fields();
    if (exp_fields.size() != fields.size())
        return "expected " + std::to_string(exp_fields.size()) + " fields, got " + std::to_string(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
        const Json& e = exp_fields[i];
        const Field& f = fields[i];
        std::string io = i < actual.n_inputs() ? "input" : "output";
        auto check = [&](const char* what, const std::string& want, const std::string& got) -> std::string {
            if (want == got) return {};
            return "field " + std::to_string(i) + " (" + f.name + ") " + what + ": expected «" + want + "» got «" + got +
                   "»";
        };
        for (auto d : {check("name", e.at("name"), f.name), check("io", e.at("io"), io),
                       check("type", e.at("type"), f.type.render()), check("desc", e.at("desc"), f.desc),
                       check("prefix", e.at("prefix"), f.prefix)})
            if (!d.empty()) return d;
    }
    return {};
}

inline Outcome run_format_case(const Json& c, const ChatAdapter& adapter) {
    Signature signature = build_signature(c.at("signature"));
    std::vector<Tool> tools;
    if (auto t = c.find("tools"); t != c.end()) {
        for (const auto& spec : *t) {
            Tool tool = Tool::from_json(spec);
            if (auto d = first_difference(spec.at("rendered").get<std::string>(), tool.str()); !d.empty())
                return Outcome::fail("str(tool " + tool.name() + ") " + d);
            tools.push_back(std::move(tool));
        }
    }
    const std::string module = c.value("module", std::string("Predict"));
    Signature effective = signature;
    std::unique_ptr<ReAct> react;
    if (module == "ChainOfThought") {
        ChainOfThought cot(signature);
        effective = cot.predict().signature();
    } else if (module == "ReAct.react" || module == "ReAct.extract") {
        react = std::make_unique<ReAct>(signature, tools);
        effective = module == "ReAct.react" ? react->react().signature() : react->extract().predict().signature();
    } else if (module != "Predict") {
        return Outcome::fail("unknown module " + module);
    }
    if (auto e = c.find("effective_signature"); e != c.end())
        if (auto d = signature_difference(*e, effective); !d.empty()) return Outcome::fail("effective signature: " + d);

    std::vector<Example> demos;
    for (const auto& d : c.at("demos")) demos.emplace_back(d);
    const Json& expected = c.at("expected");
    if (expected.contains("error")) {
        try {
            (void)adapter.format(effective, demos, c.at("inputs"));
        } catch (const std::exception& e) {
            std::string kind = error_kind(e);
            if (kind == expected.at("error").get<std::string>()) return Outcome::pass();
            return Outcome::fail("expected " + expected.at("error").get<std::string>() + ", got " + kind + ": " +
                                 e.what());
        }
        return Outcome::fail("expected " + expected.at("error").get<std::string>() + ", but format succeeded");
    }
    Messages messages = adapter.format(effective, demos, c.at("inputs"));
    const Json& want = expected.at("messages");
    if (want.size() != messages.size())
        return Outcome::fail("expected " + std::to_string(want.size()) + " messages, got " +
                             std::to_string(messages.size()));
    for (size_t i = 0; i < messages.size(); ++i) {
        if (want[i].at("role") != messages[i].role)
            return Outcome::fail("message " + std::to_string(i) + ": expected role " + want[i].at("role").dump() +
                                 ", got " + messages[i].role);
        if (auto d = first_difference(want[i].at("content").get<std::string>(), messages[i].content); !d.empty())
            return Outcome::fail("message " + std::to_string(i) + " (" + messages[i].role + ") " + d);
    }
    return Outcome::pass();
}

}  // namespace dspy::golden
