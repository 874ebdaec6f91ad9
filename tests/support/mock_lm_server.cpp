#include "support/mock_lm_server.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "clients/http/transport.hpp"
#include "clients/lm_http.hpp"

extern char** environ;

namespace dspy::test {

Json MockLmServer::stats() const {
    auto resp = detail::lm_http_client().request({"GET", base_url() + "/stats", {}, {}});
    return Json::parse(resp.body);
}

const char* mock_lm_path() {
#ifdef DSPY_MOCK_LM_PATH
    return DSPY_MOCK_LM_PATH;
#else
    return nullptr;
#endif
}

MockLmServer::MockLmServer(std::vector<std::string> args, int exit_after_s) {
    const char* path = mock_lm_path();
    if (!path) throw std::runtime_error("dspy-mock-lm is not part of this build");
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
    std::vector<std::string> argv_s = {path, "--port", "0", "--exit-after-s", std::to_string(exit_after_s)};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    int rc = posix_spawn(&pid_, path, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        pid_ = -1;
        throw std::runtime_error(std::string("cannot start ") + path + ": " + std::strerror(rc));
    }
    // "listening on 127.0.0.1:PORT\n", or EOF when the server refused its arguments.
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
        char buf[256];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) == 0) port_ = std::atoi(line.c_str() + prefix.size());
}

MockLmServer::~MockLmServer() { stop(); }

std::string MockLmServer::base_url(const char* scheme) const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
}

int MockLmServer::reap() {
    int st = 0;
    if (waitpid(pid_, &st, 0) == pid_ && WIFEXITED(st)) status_ = WEXITSTATUS(st);
    pid_ = -1;
    return status_;
}

int MockLmServer::stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    return reap();
}

int MockLmServer::wait_exit() { return pid_ > 0 ? reap() : status_; }

}  // namespace dspy::test
