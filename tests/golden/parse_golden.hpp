#pragma once
// Shared runner for chat_parse.jsonl and json_parse.jsonl: parse the completion with the case's adapter and
// compare the fields as typed JSON (42 != 42.0), or the error kind (pydantic's ValidationError and ValueError
// both map to dspy::ValueError).

#include <string>

#include "dspy/adapters/base.hpp"
#include "dspy/utils/exceptions.hpp"
#include "golden.hpp"

namespace dspy::golden {

inline Outcome run_parse_case(const Adapter& adapter, const Json& c) {
    const Json& spec = c.contains("effective_signature") ? c.at("effective_signature") : c.at("signature");
    Signature sig = build_signature(spec);
    const std::string completion = c.at("completion").get<std::string>();
    const Json& expected = c.at("expected");
    if (expected.contains("error")) {
        std::string want = expected.at("error").get<std::string>();
        if (want == "ValidationError") want = "ValueError";
        try {
            Json got = adapter.parse(sig, completion);
            return Outcome::fail("expected " + want + ", parsed " + got.dump());
        } catch (const std::exception& e) {
            std::string kind = error_kind(e);
            if (kind != want) return Outcome::fail("expected " + want + ", got " + kind + ": " + e.what());
            return Outcome::pass();
        }
    }
    Json got = adapter.parse(sig, completion);
    if (auto d = json_difference(expected.at("fields"), got); !d.empty()) return Outcome::fail(d);
    return Outcome::pass();
}

}  // namespace dspy::golden
