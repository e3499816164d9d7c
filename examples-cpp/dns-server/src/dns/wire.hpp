// DNS wire format: constants, a bounds-checked reader and a writer with name compression.
// Nothing here allocates; the writer works in a caller-provided buffer.
#pragma once

#include "name.hpp"

#include <cstddef>
#include <cstdint>

namespace dns {

namespace type {
constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15,
                        TXT = 16, AAAA = 28, SRV = 33, OPT = 41, DS = 43, TSIG = 250, IXFR = 251,
                        AXFR = 252, MAILB = 253, MAILA = 254, ANY = 255, CAA = 257;
}
namespace cls {
constexpr std::uint16_t IN = 1, CH = 3, NONE = 254, ANY = 255;
}
namespace rcode {
constexpr std::uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                        REFUSED = 5, NOTAUTH = 9, BADVERS = 16;
}
// TSIG's own error field (RFC 8945 §3): not an rcode of the header.
namespace tsig_error {
constexpr std::uint16_t BADSIG = 16, BADKEY = 17, BADTIME = 18, BADTRUNC = 22;
}
namespace flag {
constexpr std::uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080,
                        AD = 0x0020, CD = 0x0010;
}
constexpr std::size_t kHeaderLen = 12;

// Reads big-endian fields and names from one message; every read is bounds-checked and a
// failed read leaves the reader failed (later reads return 0).
class Reader {
public:
    Reader(const std::uint8_t* msg, std::size_t len, std::size_t pos = 0)
        : msg_(msg), len_(len), pos_(pos) {}

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    // Skips n bytes; returns a pointer to them (nullptr on failure).
    const std::uint8_t* bytes(std::size_t n);
    // Reads a possibly compressed name. Pointers must go strictly backwards, each before the
    // previous target, so a compression loop cannot occur; the result is at most 255 bytes.
    bool name(Name& out);

    bool ok() const { return ok_; }
    std::size_t pos() const { return pos_; }
    std::size_t remaining() const { return ok_ ? len_ - pos_ : 0; }
    void fail() { ok_ = false; }

private:
    const std::uint8_t* msg_;
    std::size_t len_;
    std::size_t pos_;
    bool ok_ = true;
};

// Writes a message into a fixed buffer up to `limit` bytes. Writes past the limit set
// `overflow` (and write nothing); mark()/rollback() undo a partly written record set.
class Writer {
public:
    static constexpr std::size_t kMaxCompress = 96;

    Writer(std::uint8_t* buf, std::size_t limit) : buf_(buf), limit_(limit) {}

    struct Mark {
        std::size_t pos;
        std::size_t ncomp;
    };
    Mark mark() const { return {pos_, ncomp_}; }
    void rollback(Mark m) {
        pos_ = m.pos;
        ncomp_ = m.ncomp;
        overflow_ = false;
    }

    void u8(std::uint8_t v);
    void u16(std::uint16_t v);
    void u32(std::uint32_t v);
    void bytes(const std::uint8_t* p, std::size_t n);
    // Writes a name, reusing an earlier occurrence of its longest suffix when `compress`
    // (case-insensitive match, as BIND and Knot do).
    void name(const Name& n, bool compress);
    void put_u16_at(std::size_t at, std::uint16_t v);

    std::size_t pos() const { return pos_; }
    std::size_t limit() const { return limit_; }
    void set_limit(std::size_t limit) { limit_ = limit; }
    bool overflow() const { return overflow_; }
    std::uint8_t* buffer() { return buf_; }

private:
    bool room(std::size_t n);
    // True if the name stored at message offset `off` equals the labels of `n` starting at
    // wire offset `from`.
    bool suffix_at(std::size_t off, const Name& n, std::size_t from) const;

    std::uint8_t* buf_;
    std::size_t limit_;
    std::size_t pos_ = 0;
    bool overflow_ = false;
    std::uint16_t comp_[kMaxCompress] = {};
    std::size_t ncomp_ = 0;
};

} // namespace dns
