#pragma once
// The LM every seed example runs with: the real `openai/gpt-4o-mini` when OPENAI_API_KEY is set (as in the
// Python snippets), otherwise the scripted LM the example supplies, so the examples run offline and in CI.

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "dspy/clients/lm.hpp"

namespace seeds {

/// Whether the examples talk to the real model.
inline bool online() {
    const char* key = std::getenv("OPENAI_API_KEY");
    return key != nullptr && *key != '\0';
}

/// `openai/gpt-4o-mini` (with OPENAI_BASE_URL as api_base when set) when online, else `offline`.
inline std::shared_ptr<dspy::BaseLM> seed_lm(std::shared_ptr<dspy::BaseLM> offline) {
    if (!online()) return offline;
    dspy::LMOptions options;
    if (const char* base = std::getenv("OPENAI_BASE_URL"); base != nullptr && *base != '\0')
        options.api_base = std::string(base);
    return std::make_shared<dspy::LM>("openai/gpt-4o-mini", std::move(options));
}

}  // namespace seeds
