// The in-process HTTP(S) test server (see test_server.hpp); no tests here.
#include "clients/http/test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace {
// SSL_write on the server's raw socket uses write(), which raises SIGPIPE when a test's client has already hung
// up (the client side, Asio, sends with MSG_NOSIGNAL); a test server must survive that.
const bool kIgnoreSigpipe = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
}();
}  // namespace

namespace dspy::testing {

struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string in;  // bytes read but not consumed
    bool closed = false;
    int responses = 0;
};

namespace {
bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool send_all(Conn& c, std::string_view data) {
    while (!data.empty() && !c.closed) {
        long n = c.ssl ? SSL_write(c.ssl, data.data(), static_cast<int>(data.size()))
                       : ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            c.closed = true;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return !c.closed;
}

// Reads more bytes into c.in; false on EOF or error.
bool read_more(Conn& c) {
    char buf[16384];
    long n = c.ssl ? SSL_read(c.ssl, buf, sizeof buf) : ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    c.in.append(buf, static_cast<size_t>(n));
    return true;
}

bool read_request(Conn& c, ServerRequest& r) {
    size_t end;
    while ((end = c.in.find("\r\n\r\n")) == std::string::npos)
        if (!read_more(c)) return false;
    std::string_view head(c.in.data(), end);
    size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    r.method = std::string(line.substr(0, sp1));
    r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    r.headers.clear();
    size_t content_length = 0;
    while (line_end != std::string_view::npos && line_end < head.size()) {
        size_t next = head.find("\r\n", line_end + 2);
        std::string_view h = head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos
                                                                                       : next - line_end - 2);
        size_t colon = h.find(':');
        std::string name(h.substr(0, colon)), value(h.substr(colon + 1));
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (iequal(name, "content-length")) content_length = std::stoul(value);
        r.headers.emplace_back(std::move(name), std::move(value));
        line_end = next;
    }
    c.in.erase(0, end + 4);
    while (c.in.size() < content_length)
        if (!read_more(c)) return false;
    r.body = c.in.substr(0, content_length);
    c.in.erase(0, content_length);
    return true;
}

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 404: return "Not Found";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        default: return "Status";
    }
}

std::string head(int status, const ServerHeaders& headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    return out;
}

// True when the peer has closed (readable with 0 bytes) or errored; waits up to `ms`.
bool peer_gone(Conn& c, int ms) {
    pollfd p{c.fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char b;
    long n = ::recv(c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}
}  // namespace

std::string ServerRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequal(k, name)) return v;
    return {};
}

void Exchange::respond(int status, std::string_view body, const ServerHeaders& headers, bool close) {
    std::string out = head(status, headers);
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    out += body;
    send_all(conn_, out);
    ++conn_.responses;
    if (close) conn_.closed = true;
}

void Exchange::write_raw(std::string_view bytes) { send_all(conn_, bytes); }

void Exchange::chunked_head(int status, const ServerHeaders& headers) {
    send_all(conn_, head(status, headers) + "Transfer-Encoding: chunked\r\n\r\n");
}

void Exchange::chunk(std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    send_all(conn_, std::string(size) + std::string(data) + "\r\n");
}

void Exchange::end_chunks() {
    send_all(conn_, "0\r\n\r\n");
    ++conn_.responses;
}

void Exchange::sleep(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!server_.stopping_ && std::chrono::steady_clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (peer_gone(conn_, static_cast<int>(std::min<long>(left.count(), 20)) + 1)) {
            conn_.closed = true;
            return;
        }
    }
}

void Exchange::stall() {
    while (!server_.stopping_ && !conn_.closed)
        if (peer_gone(conn_, 20)) conn_.closed = true;
}

void Exchange::drop() { conn_.closed = true; }

TestServer::TestServer(Handler handler, ServerOptions options)
    : handler_(std::move(handler)), options_(std::move(options)) {
    if (options_.tls) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        tls_ctx_ = std::shared_ptr<void>(ctx, [](void* p) { SSL_CTX_free(static_cast<SSL_CTX*>(p)); });
        BIO* cb = BIO_new_mem_buf(options_.cert_pem.data(), static_cast<int>(options_.cert_pem.size()));
        X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
        BIO_free(cb);
        BIO* kb = BIO_new_mem_buf(options_.key_pem.data(), static_cast<int>(options_.key_pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
        BIO_free(kb);
        if (!cert || !key || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
            throw std::runtime_error("test server: bad certificate or key");
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 256) != 0)
        throw std::runtime_error("test server: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

TestServer::~TestServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    {
        std::lock_guard lock(mutex_);
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

std::string TestServer::url(std::string_view path) const {
    return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           std::string(path);
}

bool TestServer::wait_open(int n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return open_.load() == n; });
}

void TestServer::accept_loop() {
    while (!stopping_) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) {
            if (stopping_) return;
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int index = ++connections_;
        std::lock_guard lock(mutex_);
        fds_.push_back(fd);
        int now = ++open_;
        int prev = max_open_.load();
        while (now > prev && !max_open_.compare_exchange_weak(prev, now)) {
        }
        threads_.emplace_back([this, fd, index] { serve(fd, index); });
        cv_.notify_all();
    }
}

void TestServer::serve(int fd, int index) {
    Conn c;
    c.fd = fd;
    if (tls_ctx_) {
        c.ssl = SSL_new(static_cast<SSL_CTX*>(tls_ctx_.get()));
        SSL_set_fd(c.ssl, fd);
        if (SSL_accept(c.ssl) != 1) c.closed = true;  // e.g. the client rejected our certificate
    }
    ServerRequest r;
    r.connection = index;
    while (!c.closed && !stopping_ && read_request(c, r)) {
        ++r.nth_on_connection;
        ++requests_;
        Exchange ex(r, c, *this);
        handler_(ex);
        if (options_.close_after > 0 && c.responses >= options_.close_after) break;
    }
    if (c.ssl) SSL_free(c.ssl);
    std::lock_guard lock(mutex_);
    std::erase(fds_, fd);
    ::close(fd);
    --open_;
    cv_.notify_all();
}

SelfSignedCert make_self_signed_cert(const std::string& subject_alt_name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("dspy-cpp test"), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, subject_alt_name.c_str()},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
        if (!ext) throw std::runtime_error("make_self_signed_cert: bad extension");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, key, EVP_sha256());
    auto to_string = [](BIO* bio) {
        char* data = nullptr;
        long n = BIO_get_mem_data(bio, &data);
        std::string s(data, static_cast<size_t>(n));
        BIO_free(bio);
        return s;
    };
    BIO* cb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    BIO* kb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
    SelfSignedCert out{to_string(cb), to_string(kb)};
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

}  // namespace dspy::testing
