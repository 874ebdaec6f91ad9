#include "support/cli_child.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace dspy::test {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env, bool merge_stderr) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    for (auto& e : env) env_s.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    if (merge_stderr) posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    out_ = fds[0];
}

ChildProcess::~ChildProcess() {
    if (!status_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        int st = 0;
        waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) close(out_);
}

bool ChildProcess::fill(std::chrono::milliseconds timeout) {
    if (eof_) return false;
    pollfd p{out_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return false;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buf_.append(buf, static_cast<size_t>(n));
    return true;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto nl = buf_.find('\n'); nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
}

std::string ChildProcess::read_all(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        fill(left);
    }
    return std::exchange(buf_, std::string());
}

void ChildProcess::signal(int sig) {
    if (!status_) kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    if (status_) return *status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return *status_;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &st, 0);
            status_ = -1;
            return -1;
        }
        // Drain output meanwhile (so a chatty child never blocks on a full pipe); this is also the wait.
        if (!fill(std::chrono::milliseconds(20)) && eof_) {
            pollfd none{-1, 0, 0};
            poll(&none, 0, 10);
        }
    }
}

std::pair<int, std::string> run_command(std::vector<std::string> argv, std::vector<std::string> env) {
    ChildProcess c(std::move(argv), std::move(env), true);
    std::string out = c.read_all();
    int code = c.wait();
    return {code, out};
}

MockServer::MockServer(const std::string& path, std::vector<std::string> args)
    : child_([&] {
          std::vector<std::string> a = {path, "--port", "0", "--exit-after-s", "120"};
          a.insert(a.end(), args.begin(), args.end());
          return a;
      }()) {
    auto line = child_.read_line(std::chrono::seconds(20));
    if (!line || line->rfind("listening on", 0) != 0)
        throw std::runtime_error("dspy-mock-lm did not start: '" + line.value_or("") + "'");
    port_ = std::stoi(line->substr(line->rfind(':') + 1));
}

HttpReply http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
    HttpReply reply;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return reply;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return reply;
    }
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST")
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    size_t off = 0;
    while (off < req.size()) {
        ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may answer (413) and close before reading everything
        off += static_cast<size_t>(n);
    }
    std::string raw;
    char buf[8192];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0) break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return reply;
    reply.status = std::stoi(raw.substr(9, 3));
    size_t pos = raw.find("\r\n") + 2;
    while (pos < head_end) {
        size_t eol = raw.find("\r\n", pos);
        std::string line = raw.substr(pos, eol - pos);
        if (auto colon = line.find(':'); colon != std::string::npos) {
            std::string k = line.substr(0, colon);
            for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            size_t v = colon + 1;
            while (v < line.size() && line[v] == ' ') ++v;
            reply.headers[k] = line.substr(v);
        }
        pos = eol + 2;
    }
    reply.body = raw.substr(head_end + 4);
    return reply;
}

}  // namespace dspy::test
