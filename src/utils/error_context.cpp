#include "utils/error_context.hpp"

#include <string>

#include "dspy/utils/exceptions.hpp"

namespace dspy::detail {

void rethrow_with_context(std::string_view prefix, std::string_view suffix) {
    auto wrap = [&](const std::exception& e) { return std::string(prefix) + e.what() + std::string(suffix); };
    // Most derived kinds first: these are the kinds state loading raises.
    try {
        throw;
    } catch (const KeyError& e) {
        throw KeyError(wrap(e));
    } catch (const NotImplementedError& e) {
        throw NotImplementedError(wrap(e));
    } catch (const SignatureError& e) {
        throw SignatureError(wrap(e));
    } catch (const ValueError& e) {
        throw ValueError(wrap(e));
    } catch (const TypeError& e) {
        throw TypeError(wrap(e));
    } catch (const LMConfigurationError& e) {
        throw LMConfigurationError(wrap(e));
    }
}

}  // namespace dspy::detail
