// react_trajectory.jsonl: the text ReAct puts into its `trajectory` input.
#include "dspy/predict/react.hpp"
#include "golden.hpp"

namespace dspy::golden {
namespace {
const Registrar react_trajectory("react_trajectory", [](const Json& c) {
    static const ReAct react(Signature("question -> answer"), {});
    const Json& expected = c.at("expected");
    if (expected.contains("error")) {
        try {
            (void)react.format_trajectory(c.at("trajectory"));
        } catch (const std::exception& e) {
            std::string kind = error_kind(e);
            if (kind == expected.at("error").get<std::string>()) return Outcome::pass();
            return Outcome::fail("expected " + expected.at("error").get<std::string>() + ", got " + kind + ": " +
                                 e.what());
        }
        return Outcome::fail("expected " + expected.at("error").get<std::string>() + ", but formatting succeeded");
    }
    std::string got = react.format_trajectory(c.at("trajectory"));
    if (auto d = first_difference(expected.at("formatted").get<std::string>(), got); !d.empty())
        return Outcome::fail(d);
    return Outcome::pass();
});
}  // namespace
}  // namespace dspy::golden
