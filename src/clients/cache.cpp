#include "dspy/clients/cache.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

void append_canonical(std::string& out, const Json& request, std::span<const std::string> ignored) {
    if (!request.is_object())
        throw TypeError(std::string("a cache key needs a request object, got ") + request.type_name());
    // Skipping the ignored keys while writing avoids copying the request (the messages are most of it).
    std::vector<Json::const_iterator> items;
    items.reserve(request.size());
    for (auto it = request.begin(); it != request.end(); ++it)
        if (std::find(ignored.begin(), ignored.end(), it.key()) == ignored.end()) items.push_back(it);
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.key() < b.key(); });
    out += '{';
    bool first = true;
    for (const auto& it : items) {
        if (!first) out += ',';
        first = false;
        pyfmt::append_json_string(out, it.key());
        out += ':';
        pyfmt::append_orjson(out, it.value(), false, true);
    }
    out += '}';
}

}  // namespace

std::string canonical_request_json(const Json& request, std::span<const std::string> ignored) {
    std::string out;
    append_canonical(out, request, ignored);
    return out;
}

std::string sha256_hex(std::string_view data) {
    // Fetching the algorithm and allocating a context cost about as much as hashing a short prompt, so both are
    // done once (the context once per thread).
    static EVP_MD* const md_type = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    struct CtxFree {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!md_type || !ctx || EVP_DigestInit_ex(ctx.get(), md_type, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
        throw DSPyError("SHA-256 is unavailable from OpenSSL (EVP_MD_fetch/EVP_Digest failed)");
    static constexpr char hexdigits[] = "0123456789abcdef";
    std::string out(static_cast<size_t>(len) * 2, '0');
    for (unsigned int i = 0; i < len; ++i) {
        out[2 * i] = hexdigits[md[i] >> 4];
        out[2 * i + 1] = hexdigits[md[i] & 0x0f];
    }
    return out;
}

std::string cache_key(const Json& request, std::span<const std::string> ignored) {
    return sha256_hex(canonical_request_json(request, ignored));
}

}  // namespace dspy
