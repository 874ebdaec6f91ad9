#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {
std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        out += v[i];
    }
    return out;
}

std::string adapter_parse_message(const std::string& adapter, const std::vector<std::string>& outputs,
                                  const std::string& response, const std::optional<std::string>& message,
                                  const std::optional<std::vector<std::string>>& parsed) {
    std::string m;
    if (message) m += *message + "\n\n";
    m += "Adapter " + adapter + " failed to parse the LM response. \n\n";
    m += "LM Response: " + response + " \n\n";
    m += "Expected to find output fields in the LM response: [" + join(outputs) + "] \n\n";
    if (parsed) m += "Actual output fields parsed from the LM response: [" + join(*parsed) + "] \n\n";
    return m;
}
}  // namespace

AdapterParseError::AdapterParseError(std::string adapter_name, std::string signature,
                                     std::vector<std::string> output_fields, std::string lm_response,
                                     std::optional<std::string> message,
                                     std::optional<std::vector<std::string>> parsed_fields)
    : DSPyError(adapter_parse_message(adapter_name, output_fields, lm_response, message, parsed_fields)),
      adapter_name_(std::move(adapter_name)),
      signature_(std::move(signature)),
      lm_response_(std::move(lm_response)),
      parsed_(std::move(parsed_fields)) {}

}  // namespace dspy
