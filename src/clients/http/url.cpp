// URL parsing and header lookup for the HTTP transport; kept out of transport.cpp so that it stays cheap to
// compile and to test.
#include <charconv>

#include "clients/http/transport.hpp"

namespace dspy::http {
namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

[[noreturn]] void bad_url(std::string_view url, const char* why) {
    throw ValueError("invalid URL '" + std::string(url) + "': " + why);
}
}  // namespace

const std::string* find_header(const Headers& headers, std::string_view name) noexcept {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return &v;
    return nullptr;
}

Url parse_url(std::string_view url) {
    Url out;
    std::string_view rest;
    auto starts = [&](std::string_view p) { return url.size() >= p.size() && iequals(url.substr(0, p.size()), p); };
    if (starts("https://")) {
        out.tls = true;
        rest = url.substr(8);
    } else if (starts("http://")) {
        rest = url.substr(7);
    } else {
        bad_url(url, "expected an absolute http:// or https:// URL");
    }
    const size_t auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view target = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (const size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos)
        bad_url(url, "user information in the URL is not supported; send credentials in a header");
    if (authority.empty()) bad_url(url, "missing host");

    std::string_view host, port;
    if (authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) bad_url(url, "unterminated IPv6 literal");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad_url(url, "unexpected characters after the IPv6 literal");
            port = after.substr(1);
        }
    } else {
        const size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (host.empty()) bad_url(url, "missing host");
    out.host = std::string(host);
    const std::uint16_t default_port = out.tls ? 443 : 80;
    out.port = default_port;
    if (!port.empty()) {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535)
            bad_url(url, "the port must be a number from 1 to 65535");
        out.port = static_cast<std::uint16_t>(value);
    }
    out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
    std::string bracketed = authority.front() == '[' ? "[" + out.host + "]" : out.host;
    out.host_header = out.port == default_port ? bracketed : bracketed + ":" + std::to_string(out.port);
    return out;
}

}  // namespace dspy::http
