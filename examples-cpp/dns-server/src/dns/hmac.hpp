// HMAC (RFC 2104) over SHA-1, SHA-256 and SHA-512 (FIPS 180-4), for TSIG (RFC 8945). Small
// and self-contained so the core needs no crypto library; checked against RFC 4231's and
// RFC 2202's test vectors (tests/responder_test.cpp). Incremental: start, any number of
// update calls, finish. Nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dns {

enum class HashAlg { sha1, sha256, sha512 };

constexpr std::size_t kMaxDigest = 64;

// The digest length of `alg` in bytes (20, 32, 64).
std::size_t digest_size(HashAlg alg);

class Hash {
public:
    explicit Hash(HashAlg alg);
    void update(const std::uint8_t* p, std::size_t n);
    // Writes digest_size() bytes to `out`; the object is then spent.
    void finish(std::uint8_t* out);
    std::size_t block_size() const { return alg_ == HashAlg::sha512 ? 128 : 64; }

private:
    void block(const std::uint8_t* p);

    HashAlg alg_;
    std::uint32_t h32_[8] = {};
    std::uint64_t h64_[8] = {};
    std::uint8_t buf_[128] = {};
    std::size_t fill_ = 0;
    std::uint64_t total_ = 0; // bytes
};

class Hmac {
public:
    Hmac(HashAlg alg, const std::uint8_t* key, std::size_t key_len);
    void update(const std::uint8_t* p, std::size_t n) { inner_.update(p, n); }
    // Writes digest_size(alg) bytes to `out`.
    void finish(std::uint8_t* out);

private:
    HashAlg alg_;
    Hash inner_;
    std::uint8_t opad_key_[128] = {};
};

// Constant-time comparison of n bytes.
bool equal_ct(const std::uint8_t* a, const std::uint8_t* b, std::size_t n);

} // namespace dns
