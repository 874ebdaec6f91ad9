#pragma once
// Collects the messages of dspy::warn while in scope (DSPy's tests use pytest's caplog for the same).

#include <mutex>
#include <string>
#include <vector>

#include "dspy/utils/warnings.hpp"

namespace dspy::test_support {

class CaptureWarnings {
public:
    CaptureWarnings() {
        previous_ = set_warning_handler([this](std::string_view m) {
            std::lock_guard lk(mu_);
            messages_.emplace_back(m);
        });
    }
    ~CaptureWarnings() { set_warning_handler(std::move(previous_)); }
    CaptureWarnings(const CaptureWarnings&) = delete;
    CaptureWarnings& operator=(const CaptureWarnings&) = delete;

    std::vector<std::string> messages() const {
        std::lock_guard lk(mu_);
        return messages_;
    }
    /// All messages, one per line (caplog.text).
    std::string text() const {
        std::string out;
        for (const auto& m : messages()) out += m + "\n";
        return out;
    }

private:
    mutable std::mutex mu_;
    std::vector<std::string> messages_;
    WarningHandler previous_;
};

}  // namespace dspy::test_support
