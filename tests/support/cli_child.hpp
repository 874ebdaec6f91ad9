#pragma once
// Child processes and a tiny blocking HTTP/1.1 client for tests that drive real executables (`dspy`,
// `dspy-mock-lm`). (A separate file from the mock-server helper being moved into tests/support/.)

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dspy::test {

/// A child process with stdout (and optionally stderr) on a pipe; killed (SIGKILL) and reaped when destroyed.
class ChildProcess {
public:
    /// Starts `argv[0]` with `argv`; `env` entries (`NAME=value`) are added to the environment.
    /// `merge_stderr`: stderr goes to the same pipe as stdout.
    explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {}, bool merge_stderr = false);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// The next line of output (without the newline), or nullopt at EOF or after `timeout`.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Everything the child writes until it exits (or `timeout`), after what read_line already returned.
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(60));
    /// Sends a signal.
    void signal(int sig);
    /// Waits for the exit: the exit code, 128 + signal number when killed, -1 after `timeout` (then killed).
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    bool fill(std::chrono::milliseconds timeout);
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buf_;
    bool eof_ = false;
    std::optional<int> status_;
};

/// Runs a command to completion: {exit code, stdout+stderr}.
std::pair<int, std::string> run_command(std::vector<std::string> argv, std::vector<std::string> env = {});

/// dspy-mock-lm on 127.0.0.1, port 0, stopping by itself after 120 s.
class MockServer {
public:
    explicit MockServer(const std::string& path, std::vector<std::string> args = {});
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string v1() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

private:
    ChildProcess child_;
    int port_ = 0;
};

/// One HTTP response.
struct HttpReply {
    int status = 0;                              // 0: no answer (connection failed or closed)
    std::map<std::string, std::string> headers;  // lower-cased names
    std::string body;
};

/// A blocking `Connection: close` request to 127.0.0.1:port.
HttpReply http_request(int port, const std::string& method, const std::string& target, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

}  // namespace dspy::test
