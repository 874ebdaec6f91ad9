#pragma once
// tools/dspy-mock-lm as a child process for tests: started on an ephemeral port with the given flags, stopped
// (SIGTERM, reaped) on destruction at the latest. Shared by the LM HTTP, mock-server, CLI and streaming tests.

#include <sys/types.h>

#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy::test {

/// Path of the dspy-mock-lm binary of this build, or nullptr when it is not part of the build (skip then).
const char* mock_lm_path();

/// One running dspy-mock-lm. The constructor adds `--port 0 --exit-after-s N` (so a crashed test cannot leak the
/// server for long), waits for its `listening on 127.0.0.1:PORT` line and throws std::runtime_error when it does
/// not come. A server that refuses its arguments exits at once: port() is then 0 and wait_exit() gives its code.
class MockLmServer {
public:
    explicit MockLmServer(std::vector<std::string> args = {}, int exit_after_s = 120);
    ~MockLmServer();
    MockLmServer(const MockLmServer&) = delete;
    MockLmServer& operator=(const MockLmServer&) = delete;

    /// The port it listens on (0 if it exited before listening).
    [[nodiscard]] int port() const { return port_; }
    /// `http://127.0.0.1:PORT` (or `https://` with scheme "https").
    [[nodiscard]] std::string base_url(const char* scheme = "http") const;
    /// `http://127.0.0.1:PORT/v1`, what an LM takes as api_base.
    [[nodiscard]] std::string v1_url() const { return base_url() + "/v1"; }
    /// The server's `GET /stats` counters (lm_requests, streamed, in_flight, ...).
    [[nodiscard]] Json stats() const;
    /// SIGTERM and reap; returns the exit code (-1 when killed by a signal or already reaped without one).
    int stop();
    /// Waits for a server that exits by itself (bad arguments); returns its exit code.
    int wait_exit();

private:
    int reap();
    pid_t pid_ = -1;
    int port_ = 0;
    int status_ = -1;
};

}  // namespace dspy::test
