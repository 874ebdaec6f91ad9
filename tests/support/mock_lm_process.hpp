#pragma once
// tools/dspy-mock-lm as a child process on an ephemeral port, for tests that need real loopback HTTP: started with
// `--port 0 --exit-after-s 120` plus the given flags, stopped with SIGTERM when the object goes away.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "clients/lm_http.hpp"
#include "dspy/json.hpp"

extern char** environ;

namespace dspy::test_support {

#ifdef DSPY_MOCK_LM_PATH
inline constexpr const char* kMockLMPath = DSPY_MOCK_LM_PATH;
#else
inline constexpr const char* kMockLMPath = nullptr;
#endif

class MockLMProcess {
public:
    explicit MockLMProcess(std::vector<std::string> args) {
        if (!kMockLMPath) throw std::runtime_error("dspy-mock-lm is not built");
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        std::vector<std::string> argv_s = {kMockLMPath, "--port", "0", "--exit-after-s", "120"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        int rc = posix_spawn(&pid_, kMockLMPath, &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::runtime_error(std::string("cannot start dspy-mock-lm: ") + std::strerror(rc));
        }
        std::string line;
        pollfd p{fds[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
            char buf[256];
            ssize_t n = read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<size_t>(n));
        }
        close(fds[0]);
        auto colon = line.rfind(':');
        if (line.rfind("listening on", 0) != 0 || colon == std::string::npos)
            throw std::runtime_error("dspy-mock-lm did not start: '" + line + "'");
        port_ = std::stoi(line.substr(colon + 1));
    }
    ~MockLMProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int st = 0;
            waitpid(pid_, &st, 0);
        }
    }
    MockLMProcess(const MockLMProcess&) = delete;
    MockLMProcess& operator=(const MockLMProcess&) = delete;

    [[nodiscard]] std::string base(const char* scheme = "http") const {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
    }
    [[nodiscard]] std::string v1() const { return base() + "/v1"; }
    [[nodiscard]] Json stats() const {
        auto resp = detail::lm_http_client().request({"GET", base() + "/stats", {}, {}});
        return Json::parse(resp.body);
    }
    [[nodiscard]] int lm_requests() const { return stats().at("lm_requests").get<int>(); }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace dspy::test_support
