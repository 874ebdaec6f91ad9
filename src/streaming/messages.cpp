#include "dspy/streaming/messages.hpp"

#include "dspy/adapters/types/tool.hpp"
#include "dspy/settings/settings.hpp"

namespace dspy {

Json StreamResponse::to_json() const {
    return Json{{"predict_name", predict_name},
                {"signature_field_name", signature_field_name},
                {"chunk", chunk},
                {"is_last_chunk", is_last_chunk}};
}

std::optional<std::string> StatusMessageProvider::tool_start_status_message(const Tool& instance, const Json&) {
    return "Calling tool " + instance.name() + "...";
}
std::optional<std::string> StatusMessageProvider::tool_end_status_message(const Json*) {
    return std::string("Tool calling finished! Querying the LLM with tool calling results...");
}
std::optional<std::string> StatusMessageProvider::module_start_status_message(const Module&, const Json&) {
    return std::nullopt;
}
std::optional<std::string> StatusMessageProvider::module_end_status_message(const Json*) { return std::nullopt; }
std::optional<std::string> StatusMessageProvider::lm_start_status_message(const BaseLM&, const Json&) {
    return std::nullopt;
}
std::optional<std::string> StatusMessageProvider::lm_end_status_message(const Json*) { return std::nullopt; }

namespace {
// The sink of the stream this call belongs to (settings follow the task, so concurrent streams never mix).
void send_status(std::optional<std::string> text) {
    if (!text || text->empty()) return;
    if (auto sink = settings()->send_stream) sink->send(StatusMessage{std::move(*text)});
}
bool streaming() { return settings()->send_stream != nullptr; }
}  // namespace

StatusStreamingCallback::StatusStreamingCallback(std::shared_ptr<StatusMessageProvider> provider)
    : provider_(provider ? std::move(provider) : std::make_shared<StatusMessageProvider>()) {}

void StatusStreamingCallback::on_tool_start(const std::string&, const Tool& instance, const Json& inputs) {
    if (!streaming() || instance.name() == "finish") return;
    send_status(provider_->tool_start_status_message(instance, inputs));
}

void StatusStreamingCallback::on_tool_end(const std::string&, const Json* outputs, std::exception_ptr) {
    if (!streaming() || (outputs && outputs->is_string() && outputs->get_ref<const std::string&>() == "Completed."))
        return;
    send_status(provider_->tool_end_status_message(outputs));
}

void StatusStreamingCallback::on_lm_start(const std::string&, const BaseLM& instance, const Json& inputs) {
    if (!streaming()) return;
    send_status(provider_->lm_start_status_message(instance, inputs));
}

void StatusStreamingCallback::on_lm_end(const std::string&, const Json* outputs, std::exception_ptr) {
    if (!streaming()) return;
    send_status(provider_->lm_end_status_message(outputs));
}

void StatusStreamingCallback::on_module_start(const std::string&, const Module& instance, const Json& inputs) {
    if (!streaming()) return;
    send_status(provider_->module_start_status_message(instance, inputs));
}

void StatusStreamingCallback::on_module_end(const std::string&, const Json* outputs, std::exception_ptr) {
    if (!streaming()) return;
    send_status(provider_->module_end_status_message(outputs));
}

}  // namespace dspy
