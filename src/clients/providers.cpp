#include "clients/providers.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "dspy/utils/exceptions.hpp"
#include "utils/json_fast.hpp"

namespace dspy::providers {
namespace {

std::string env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::string(v) : std::string();
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Keys DSPy keeps in its request dict (and cache key) that are not provider parameters.
bool is_local_key(std::string_view k) {
    return k == "model" || k == "messages" || k == "prompt" || k == "cache" || k == "rollout_id" ||
           k == "num_retries" || k == "api_key" || k == "api_base" || k == "base_url" || k == "_fn_identifier" ||
           k == "headers" || k == "model_type" || k == "timeout";
}

void add_user_headers(const Json& request, WireRequest& out) {
    auto it = request.find("headers");
    if (it == request.end() || !it->is_object()) return;
    for (auto h = it->begin(); h != it->end(); ++h)
        if (h->is_string()) out.headers.emplace_back(h.key(), h->get<std::string>());
}

Json anthropic_tool(const Json& tool) {
    // OpenAI {"type":"function","function":{name, description, parameters}} -> Anthropic {name, description, input_schema}
    const Json& fn = tool.contains("function") ? tool["function"] : tool;
    Json out = {{"name", fn.value("name", "")}};
    if (fn.contains("description")) out["description"] = fn["description"];
    out["input_schema"] = fn.value("parameters", Json{{"type", "object"}, {"properties", Json::object()}});
    return out;
}

WireRequest build_openai(const Endpoint& ep, const Json& request, bool stream) {
    WireRequest out{ep.url, {{"Content-Type", "application/json"}, {"User-Agent", "dspy-cpp/0.1"}}, {}};
    if (!ep.api_key.empty()) out.headers.emplace_back("Authorization", "Bearer " + ep.api_key);
    add_user_headers(request, out);
    // Written straight from the request (the same text as dumping a {"model", "messages", ...} object built from
    // it) so that the messages, the biggest part, are not copied into a second Json first.
    std::string& b = out.body;
    auto messages = request.find("messages");
    b.reserve(128 + (messages != request.end() && messages->is_array() ? messages->size() * 512 : 0));
    b += "{\"model\":";
    json_fast::append_string(b, ep.model);
    b += ",\"messages\":";
    if (messages != request.end())
        json_fast::append_dump(b, *messages);
    else
        b += "[]";
    bool stream_written = false;
    for (auto it = request.begin(); it != request.end(); ++it) {
        if (is_local_key(it.key())) continue;
        const bool stream_key = stream && it.key() == "stream";
        if (it->is_null() && !stream_key) continue;  // litellm drops None-valued parameters
        b += ',';
        json_fast::append_string(b, it.key());
        b += ':';
        if (stream_key)
            b += "true";
        else
            json_fast::append_dump(b, *it);
        stream_written |= stream_key;
    }
    if (stream && !stream_written) b += ",\"stream\":true";
    b += '}';
    return out;
}

WireRequest build_anthropic(const Endpoint& ep, const Json& request, bool stream) {
    Json body = Json::object();
    body["model"] = ep.model;
    std::string system;
    Json messages = Json::array();
    for (const auto& m : request.value("messages", Json::array())) {
        std::string role = m.value("role", "user");
        const Json& content = m.contains("content") ? m["content"] : Json("");
        if (role == "system" || role == "developer") {
            if (!system.empty()) system += "\n\n";
            system += content.is_string() ? content.get<std::string>() : content.dump();
            continue;
        }
        // Anthropic wants strictly alternating turns: merge consecutive turns of one role into content blocks.
        Json block = content.is_string() ? Json::array({Json{{"type", "text"}, {"text", content}}}) : content;
        if (!messages.empty() && messages.back()["role"] == role) {
            for (auto& b : block) messages.back()["content"].push_back(b);
        } else {
            messages.push_back(Json{{"role", role}, {"content", block}});
        }
    }
    // Single text blocks go back to plain strings, which is what most Anthropic-compatible servers expect.
    for (auto& m : messages)
        if (m["content"].size() == 1 && m["content"][0].value("type", "") == "text")
            m["content"] = m["content"][0]["text"];
    if (!system.empty()) body["system"] = system;
    body["messages"] = std::move(messages);
    auto max_tokens = request.find("max_tokens");
    body["max_tokens"] = (max_tokens != request.end() && !max_tokens->is_null()) ? *max_tokens : Json(4096);
    for (auto it = request.begin(); it != request.end(); ++it) {
        const std::string& k = it.key();
        if (is_local_key(k) || it->is_null() || k == "max_tokens" || k == "n") continue;
        if (k == "stop") {
            body["stop_sequences"] = it->is_string() ? Json::array({*it}) : *it;
        } else if (k == "tools") {
            Json tools = Json::array();
            for (const auto& t : *it) tools.push_back(anthropic_tool(t));
            body["tools"] = std::move(tools);
        } else if (k == "response_format" || k == "parallel_tool_calls" || k == "tool_choice") {
            continue;  // no Anthropic equivalent through this path
        } else {
            body[k] = *it;
        }
    }
    if (stream) body["stream"] = true;
    WireRequest out{ep.url,
                    {{"Content-Type", "application/json"},
                     {"User-Agent", "dspy-cpp/0.1"},
                     {"anthropic-version", "2023-06-01"}},
                    {}};
    if (!ep.api_key.empty()) out.headers.emplace_back("x-api-key", ep.api_key);
    add_user_headers(request, out);
    json_fast::append_dump(out.body, body);
    return out;
}

Json parse_body(std::string_view body) {
    Json j = json_fast::parse(body);
    if (j.is_discarded() || !j.is_object()) {
        std::string head(body.substr(0, 200));
        throw LMProviderError("malformed provider reply: the body is not a JSON object: " + head, 0);
    }
    return j;
}

Json normalise_anthropic(const Json& j) {
    if (!j.contains("content") || !j["content"].is_array())
        throw LMProviderError("malformed provider reply: Anthropic reply has no 'content' array: " + j.dump().substr(0, 200), 0);
    std::string text, thinking;
    Json tool_calls = Json::array();
    for (const auto& block : j["content"]) {
        std::string type = block.value("type", "");
        if (type == "text") {
            text += block.value("text", "");
        } else if (type == "thinking") {
            thinking += block.value("thinking", "");
        } else if (type == "tool_use") {
            tool_calls.push_back(Json{{"id", block.value("id", "")},
                                      {"type", "function"},
                                      {"function",
                                       {{"name", block.value("name", "")},
                                        {"arguments", block.value("input", Json::object()).dump()}}}});
        }
    }
    Json message = {{"role", "assistant"}, {"content", text}};
    if (!thinking.empty()) message["reasoning_content"] = thinking;
    if (!tool_calls.empty()) message["tool_calls"] = tool_calls;
    std::string stop = j.value("stop_reason", "end_turn");
    std::string finish = stop == "max_tokens" ? "length" : stop == "tool_use" ? "tool_calls" : "stop";
    Json usage = Json::object();
    if (j.contains("usage") && j["usage"].is_object()) {
        int64_t in = j["usage"].value("input_tokens", int64_t{0});
        int64_t out = j["usage"].value("output_tokens", int64_t{0});
        usage = {{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}};
    }
    Json choice = {{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}};
    return Json{{"id", j.value("id", "")},
                {"model", j.value("model", "")},
                {"choices", Json::array({std::move(choice)})},
                {"usage", std::move(usage)}};
}

}  // namespace

Endpoint resolve_endpoint(const std::string& model, const std::string& api_base, const std::string& api_key) {
    auto slash = model.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == model.size())
        throw ValueError("LM model '" + model +
                         "' must be 'provider/model', e.g. 'openai/gpt-4o-mini' or 'anthropic/claude-3-5-haiku-latest'");
    Endpoint ep;
    ep.provider = model.substr(0, slash);
    ep.model = model.substr(slash + 1);
    ep.wire = ep.provider == "anthropic" ? Wire::AnthropicMessages : Wire::OpenAIChat;
    const std::string P = upper(ep.provider);
    std::string base = api_base;
    if (base.empty()) base = env(P + "_API_BASE");
    if (base.empty()) base = env(P + "_BASE_URL");
    if (base.empty()) {
        if (ep.provider == "openai")
            base = "https://api.openai.com/v1";
        else if (ep.provider == "anthropic")
            base = "https://api.anthropic.com";
        else
            throw ValueError("LM model '" + model + "': no api_base given and neither " + P + "_API_BASE nor " + P +
                             "_BASE_URL is set; pass api_base for an OpenAI-compatible server");
    }
    base = trim_slash(base);
    if (ep.wire == Wire::AnthropicMessages)
        ep.url = ends_with(base, "/v1") ? base + "/messages" : base + "/v1/messages";
    else
        ep.url = ends_with(base, "/chat/completions") ? base : base + "/chat/completions";
    ep.api_key = api_key.empty() ? env(P + "_API_KEY") : api_key;
    return ep;
}

WireRequest build_request(const Endpoint& endpoint, const Json& request, bool stream) {
    return endpoint.wire == Wire::AnthropicMessages ? build_anthropic(endpoint, request, stream)
                                                    : build_openai(endpoint, request, stream);
}

Json normalise_response(const Endpoint& endpoint, std::string_view body) {
    Json j = parse_body(body);
    if (endpoint.wire == Wire::AnthropicMessages) return normalise_anthropic(j);
    if (!j.contains("choices") || !j["choices"].is_array())
        throw LMProviderError("malformed provider reply: OpenAI-compatible reply has no 'choices' array: " + j.dump().substr(0, 200), 0);
    Json out = Json::object();
    out.get_ref<Json::object_t&>().reserve(4);
    out["id"] = j.value("id", "");
    out["model"] = j.value("model", "");
    out["choices"] = std::move(j["choices"]);  // moved, not copied: j is ours
    auto usage = j.find("usage");
    out["usage"] = usage != j.end() && usage->is_object() ? std::move(*usage) : Json::object();
    return out;
}

std::vector<LMOutput> outputs_of(const Json& response) {
    std::vector<LMOutput> outs;
    auto choices = response.find("choices");
    if (choices == response.end() || !choices->is_array()) return outs;
    outs.reserve(choices->size());
    static const Json kNoMessage = Json::object();
    for (const auto& choice : *choices) {
        LMOutput o;
        if (!choice.is_object()) {
            outs.push_back(std::move(o));
            continue;
        }
        auto m = choice.find("message");
        const Json& message = m != choice.end() && m->is_object() ? *m : kNoMessage;
        if (auto c = message.find("content"); c != message.end() && c->is_string())
            o.text = c->get_ref<const std::string&>();
        for (const char* k : {"reasoning_content", "tool_calls"})
            if (auto v = message.find(k); v != message.end() && !v->is_null()) o.extra[k] = *v;
        if (auto lp = choice.find("logprobs"); lp != choice.end() && !lp->is_null()) o.extra["logprobs"] = *lp;
        outs.push_back(std::move(o));
    }
    return outs;
}

std::string error_message(std::string_view body) {
    Json j = Json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
        if (auto e = j.find("error"); e != j.end()) {
            if (e->is_object() && e->contains("message") && (*e)["message"].is_string())
                return (*e)["message"].get<std::string>();
            if (e->is_string()) return e->get<std::string>();
        }
        for (const char* k : {"message", "detail"})
            if (auto m = j.find(k); m != j.end() && m->is_string()) return m->get<std::string>();
    }
    std::string raw(body.substr(0, 500));
    return raw.empty() ? "(empty body)" : raw;
}

}  // namespace dspy::providers
