// signatures.jsonl: build each signature and compare instructions, the `a, b -> c` string and every field's
// name, io, rendered type, raw description and prefix; error cases must fail to build.
#include "dspy/signatures/signature.hpp"
#include "dspy/utils/exceptions.hpp"
#include "golden.hpp"

namespace dspy::golden {
namespace {

Outcome run(const Json& c) {
    const Json& expected = c.at("expected");
    if (expected.value("error", false)) {
        try {
            Signature s = build_signature(c.at("signature"));
            return Outcome::fail("expected " + expected.value("error_type", std::string("an error")) +
                                 " but built '" + s.signature_string() + "'");
        } catch (const SignatureError&) {
            return Outcome::pass();
        }
    }
    Signature s = build_signature(c.at("signature"));
    if (auto d = first_difference(expected.at("instructions").get<std::string>(), s.instructions()); !d.empty())
        return Outcome::fail("instructions: " + d);
    if (auto d = first_difference(expected.at("signature").get<std::string>(), s.signature_string()); !d.empty())
        return Outcome::fail("signature: " + d);
    const Json& fields = expected.at("fields");
    if (fields.size() != s.fields().size())
        return Outcome::fail("expected " + std::to_string(fields.size()) + " fields, got " +
                             std::to_string(s.fields().size()) + " (" + s.signature_string() + ")");
    for (size_t i = 0; i < fields.size(); ++i) {
        const Json& e = fields[i];
        const Field& f = s.fields()[i];
        std::string where = "fields[" + std::to_string(i) + "] ";
        auto check = [&](const char* what, const std::string& want, const std::string& got) -> std::string {
            auto d = first_difference(want, got);
            return d.empty() ? d : where + what + ": " + d;
        };
        for (auto d : {check("name", e.at("name").get<std::string>(), f.name),
                       check("io", e.at("io").get<std::string>(), f.is_input ? "input" : "output"),
                       check("type", e.at("type").get<std::string>(), f.type.render()),
                       check("desc", e.at("desc").get<std::string>(), f.desc),
                       check("prefix", e.at("prefix").get<std::string>(), f.prefix)})
            if (!d.empty()) return Outcome::fail(d);
    }
    return Outcome::pass();
}

const Registrar signatures("signatures", run);

}  // namespace
}  // namespace dspy::golden
