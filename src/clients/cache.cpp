#include "dspy/clients/cache.hpp"

#include <openssl/evp.h>

#include <memory>

#include "clients/cache_members.hpp"
#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

void append_canonical(std::string& out, const Json& request, std::span<const std::string> ignored) {
    if (!request.is_object())
        throw TypeError(std::string("a cache key needs a request object, got ") + request.type_name());
    // Skipping the ignored keys while writing avoids copying the request (the messages are most of it).
    pyfmt::append_orjson_sorted_without(out, request, ignored);
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

namespace {

// The canonical text only lives until it is hashed: a per-thread buffer keeps its capacity between calls, except
// after an unusually large request (that memory is handed back). `write` must not compute a key itself.
template <class Write>
std::string hash_canonical(Write&& write) {
    constexpr size_t kKeepCapacity = 64 * 1024;
    thread_local std::string text;
    text.clear();
    write(text);
    std::string key = sha256_hex(text);
    if (text.capacity() > kKeepCapacity) std::string().swap(text);
    return key;
}

}  // namespace

std::string cache_key(const Json& request, std::span<const std::string> ignored) {
    return hash_canonical([&](std::string& text) { append_canonical(text, request, ignored); });
}

namespace detail {

std::string cache_key_of_members(std::span<pyfmt::OrjsonMember> members) {
    return hash_canonical([&](std::string& text) { pyfmt::append_orjson_sorted(text, members); });
}

}  // namespace detail

}  // namespace dspy
