#pragma once
// `dspy serve`: an HTTP JSON API for one program (POST /v1/predict[?stream=true], GET /healthz, GET /v1/program).
// Beast/Asio stay inside serve.cpp: HTTP runs on its own I/O thread, the program runs on a dspy event loop on
// the calling thread, and each request crosses over as one spawned task.

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "program.hpp"

namespace dspy::cli {

/// Options of `dspy serve`.
struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8000;                    // 0: any free port
    std::optional<std::string> token{};  // when set, requests need `Authorization: Bearer TOKEN` (not /healthz)
    int max_in_flight = 64;              // predictions running at once; more get 429 + Retry-After
    size_t max_body_bytes = 1 << 20;     // larger bodies get 413
    double timeout_s = 60;               // a prediction running longer is cancelled: 504
    double read_timeout_s = 30;          // a connection idle (or sending its request) longer is closed
    std::FILE* log = stderr;             // one line per failed request; null: quiet
    /// Called once the server accepts connections, with the bound host and port.
    std::function<void(const std::string& host, int port)> on_listening{};
    /// Set (e.g. by a SIGINT/SIGTERM handler) to stop: no new connections, running predictions finish.
    const std::atomic<bool>* stop = nullptr;
};

/// Serves until `options.stop` is set. @throws std::runtime_error when the address cannot be bound.
void serve(LoadedProgram& program, const ServeOptions& options);

}  // namespace dspy::cli
