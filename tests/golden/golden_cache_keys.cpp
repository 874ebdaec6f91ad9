// cache_keys.jsonl: the canonical JSON and SHA-256 key of requests, and the request dspy.LM builds for a call.
#include "dspy/clients/cache.hpp"
#include "dspy/clients/lm.hpp"
#include "golden.hpp"

namespace dspy::golden {
namespace {

Outcome compare_key(const Json& request, const std::vector<std::string>& ignored, const Json& expected) {
    std::string hashed = canonical_request_json(request, ignored);
    if (auto d = first_difference(expected.at("hashed_json").get<std::string>(), hashed); !d.empty())
        return Outcome::fail("hashed_json " + d);
    std::string key = cache_key(request, ignored);
    if (key != expected.at("key").get<std::string>())
        return Outcome::fail("key: expected " + expected.at("key").get<std::string>() + ", got " + key);
    return Outcome::pass();
}

Outcome run_request(const Json& c) {
    std::vector<std::string> ignored = c.at("ignored").get<std::vector<std::string>>();
    return compare_key(c.at("request"), ignored, c.at("expected"));
}

Outcome run_lm_call(const Json& c) {
    const Json& expected = c.at("expected");
    Json call = c.at("call");
    bool async_call = call.value("async", false);
    call.erase("async");
    LMCallRequest r;
    try {
        auto lm = LM::from_kwargs(c.at("lm"));
        if (call.contains("messages")) {
            Json messages = call["messages"];
            call.erase("messages");
            r = lm->build_request(messages, call, async_call);
        } else {
            std::string prompt = call.at("prompt").get<std::string>();
            call.erase("prompt");
            r = lm->build_prompt_request(prompt, call, async_call);
        }
    } catch (const std::exception& e) {
        if (expected.contains("error")) {
            std::string kind = error_kind(e);
            return kind == expected["error"].get<std::string>()
                       ? Outcome::pass()
                       : Outcome::fail("expected " + expected["error"].get<std::string>() + ", got " + kind + ": " +
                                       e.what());
        }
        throw;
    }
    if (expected.contains("error"))
        return Outcome::fail("expected " + expected["error"].get<std::string>() + ", got a request");
    if (auto d = json_difference(expected.at("request"), r.request, /*ordered=*/true); !d.empty())
        return Outcome::fail("request " + d);
    if (auto d = json_difference(expected.at("ignored"), Json(r.ignored), true); !d.empty())
        return Outcome::fail("ignored " + d);
    return compare_key(r.request, r.ignored, expected);
}

const Registrar cache_keys("cache_keys", [](const Json& c) -> Outcome {
    const std::string kind = c.at("kind").get<std::string>();
    if (kind == "request") return run_request(c);
    if (kind == "lm_call") return run_lm_call(c);
    return Outcome::fail("unknown case kind '" + kind + "'");
});

}  // namespace
}  // namespace dspy::golden
