#include "hmac.hpp"

#include <cstring>

namespace dns {

namespace {

constexpr std::uint32_t kSha256K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

constexpr std::uint64_t kSha512K[80] = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
    0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
    0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
    0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
    0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
    0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
    0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
    0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817};

std::uint32_t rotr32(std::uint32_t x, unsigned n) { return x >> n | x << (32 - n); }
std::uint32_t rotl32(std::uint32_t x, unsigned n) { return x << n | x >> (32 - n); }
std::uint64_t rotr64(std::uint64_t x, unsigned n) { return x >> n | x << (64 - n); }

std::uint32_t be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
           p[3];
}

std::uint64_t be64(const std::uint8_t* p) {
    return std::uint64_t{be32(p)} << 32 | be32(p + 4);
}

} // namespace

std::size_t digest_size(HashAlg alg) {
    switch (alg) {
    case HashAlg::sha1: return 20;
    case HashAlg::sha256: return 32;
    case HashAlg::sha512: return 64;
    }
    return 0;
}

Hash::Hash(HashAlg alg) : alg_(alg) {
    static constexpr std::uint32_t sha1[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
                                              0xC3D2E1F0};
    static constexpr std::uint32_t sha256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                                0xa54ff53a, 0x510e527f, 0x9b05688c,
                                                0x1f83d9ab, 0x5be0cd19};
    static constexpr std::uint64_t sha512[8] = {
        0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
        0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179};
    switch (alg) {
    case HashAlg::sha1: std::memcpy(h32_, sha1, sizeof sha1); break;
    case HashAlg::sha256: std::memcpy(h32_, sha256, sizeof sha256); break;
    case HashAlg::sha512: std::memcpy(h64_, sha512, sizeof sha512); break;
    }
}

void Hash::block(const std::uint8_t* p) {
    if (alg_ == HashAlg::sha1) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; i++) {
            w[i] = be32(p + 4 * i);
        }
        for (int i = 16; i < 80; i++) {
            w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        }
        std::uint32_t a = h32_[0], b = h32_[1], c = h32_[2], d = h32_[3], e = h32_[4];
        for (int i = 0; i < 80; i++) {
            std::uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            std::uint32_t t = rotl32(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rotl32(b, 30);
            b = a;
            a = t;
        }
        h32_[0] += a;
        h32_[1] += b;
        h32_[2] += c;
        h32_[3] += d;
        h32_[4] += e;
    } else if (alg_ == HashAlg::sha256) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; i++) {
            w[i] = be32(p + 4 * i);
        }
        for (int i = 16; i < 64; i++) {
            std::uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t v[8];
        std::memcpy(v, h32_, sizeof v);
        for (int i = 0; i < 64; i++) {
            std::uint32_t s1 = rotr32(v[4], 6) ^ rotr32(v[4], 11) ^ rotr32(v[4], 25);
            std::uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
            std::uint32_t t1 = v[7] + s1 + ch + kSha256K[i] + w[i];
            std::uint32_t s0 = rotr32(v[0], 2) ^ rotr32(v[0], 13) ^ rotr32(v[0], 22);
            std::uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            std::uint32_t t2 = s0 + maj;
            std::memmove(v + 1, v, 7 * sizeof v[0]);
            v[4] += t1;
            v[0] = t1 + t2;
        }
        for (int i = 0; i < 8; i++) {
            h32_[i] += v[i];
        }
    } else {
        std::uint64_t w[80];
        for (int i = 0; i < 16; i++) {
            w[i] = be64(p + 8 * i);
        }
        for (int i = 16; i < 80; i++) {
            std::uint64_t s0 = rotr64(w[i - 15], 1) ^ rotr64(w[i - 15], 8) ^ (w[i - 15] >> 7);
            std::uint64_t s1 = rotr64(w[i - 2], 19) ^ rotr64(w[i - 2], 61) ^ (w[i - 2] >> 6);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint64_t v[8];
        std::memcpy(v, h64_, sizeof v);
        for (int i = 0; i < 80; i++) {
            std::uint64_t s1 = rotr64(v[4], 14) ^ rotr64(v[4], 18) ^ rotr64(v[4], 41);
            std::uint64_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
            std::uint64_t t1 = v[7] + s1 + ch + kSha512K[i] + w[i];
            std::uint64_t s0 = rotr64(v[0], 28) ^ rotr64(v[0], 34) ^ rotr64(v[0], 39);
            std::uint64_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            std::uint64_t t2 = s0 + maj;
            std::memmove(v + 1, v, 7 * sizeof v[0]);
            v[4] += t1;
            v[0] = t1 + t2;
        }
        for (int i = 0; i < 8; i++) {
            h64_[i] += v[i];
        }
    }
}

void Hash::update(const std::uint8_t* p, std::size_t n) {
    total_ += n;
    const std::size_t bs = block_size();
    while (n > 0) {
        std::size_t take = bs - fill_ < n ? bs - fill_ : n;
        std::memcpy(buf_ + fill_, p, take);
        fill_ += take;
        p += take;
        n -= take;
        if (fill_ == bs) {
            block(buf_);
            fill_ = 0;
        }
    }
}

void Hash::finish(std::uint8_t* out) {
    const std::size_t bs = block_size();
    const std::size_t len_bytes = bs == 128 ? 16 : 8;
    const std::uint64_t bits = total_ * 8;
    std::uint8_t pad[128 + 16] = {0x80};
    std::size_t padlen = (fill_ < bs - len_bytes) ? bs - len_bytes - fill_ : 2 * bs - len_bytes - fill_;
    std::uint8_t len[16] = {};
    for (int i = 0; i < 8; i++) {
        len[len_bytes - 1 - static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(bits >> (8 * i));
    }
    update(pad, padlen);
    update(len, len_bytes);
    if (alg_ == HashAlg::sha512) {
        for (int i = 0; i < 8; i++) {
            for (int b = 0; b < 8; b++) {
                out[8 * i + b] = static_cast<std::uint8_t>(h64_[i] >> (56 - 8 * b));
            }
        }
    } else {
        const int words = alg_ == HashAlg::sha1 ? 5 : 8;
        for (int i = 0; i < words; i++) {
            for (int b = 0; b < 4; b++) {
                out[4 * i + b] = static_cast<std::uint8_t>(h32_[i] >> (24 - 8 * b));
            }
        }
    }
}

Hmac::Hmac(HashAlg alg, const std::uint8_t* key, std::size_t key_len)
    : alg_(alg), inner_(alg) {
    const std::size_t bs = inner_.block_size();
    std::uint8_t k[128] = {};
    if (key_len > bs) {
        Hash h(alg);
        h.update(key, key_len);
        h.finish(k);
    } else {
        std::memcpy(k, key, key_len);
    }
    std::uint8_t ipad[128];
    for (std::size_t i = 0; i < bs; i++) {
        ipad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
        opad_key_[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
    }
    inner_.update(ipad, bs);
}

void Hmac::finish(std::uint8_t* out) {
    std::uint8_t inner[kMaxDigest];
    inner_.finish(inner);
    Hash outer(alg_);
    outer.update(opad_key_, outer.block_size());
    outer.update(inner, digest_size(alg_));
    outer.finish(out);
}

bool equal_ct(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < n; i++) {
        diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}

} // namespace dns
