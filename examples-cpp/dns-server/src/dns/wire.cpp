#include "wire.hpp"

#include <cstring>

namespace dns {

std::uint8_t Reader::u8() {
    const std::uint8_t* p = bytes(1);
    return p ? p[0] : 0;
}

std::uint16_t Reader::u16() {
    const std::uint8_t* p = bytes(2);
    return p ? static_cast<std::uint16_t>(p[0] << 8 | p[1]) : 0;
}

std::uint32_t Reader::u32() {
    const std::uint8_t* p = bytes(4);
    return p ? (std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                std::uint32_t{p[2]} << 8 | p[3])
             : 0;
}

const std::uint8_t* Reader::bytes(std::size_t n) {
    if (!ok_ || n > len_ - pos_) {
        ok_ = false;
        return nullptr;
    }
    const std::uint8_t* p = msg_ + pos_;
    pos_ += n;
    return p;
}

bool Reader::name(Name& out) {
    out = Name();
    if (!ok_) {
        return false;
    }
    std::size_t cur = pos_;
    std::size_t bound = pos_; // every pointer must point before this
    bool jumped = false;
    for (;;) {
        if (cur >= len_) {
            ok_ = false;
            return false;
        }
        std::uint8_t b = msg_[cur];
        if (b == 0) {
            if (!jumped) {
                pos_ = cur + 1;
            }
            return true;
        }
        if ((b & 0xC0) == 0xC0) {
            if (cur + 1 >= len_) {
                ok_ = false;
                return false;
            }
            std::size_t target = std::size_t{b & 0x3Fu} << 8 | msg_[cur + 1];
            if (target >= bound) {
                ok_ = false; // forward pointer or loop
                return false;
            }
            if (!jumped) {
                pos_ = cur + 2;
                jumped = true;
            }
            bound = target;
            cur = target;
            continue;
        }
        if ((b & 0xC0) != 0) {
            ok_ = false; // extended (0x40) and reserved (0x80) label types
            return false;
        }
        if (cur + 1 + b > len_ || !out.append_label(msg_ + cur + 1, b)) {
            ok_ = false;
            return false;
        }
        cur += 1 + b;
    }
}

bool Writer::room(std::size_t n) {
    if (overflow_ || pos_ > limit_ || n > limit_ - pos_) {
        overflow_ = true;
        return false;
    }
    return true;
}

void Writer::u8(std::uint8_t v) {
    if (room(1)) {
        buf_[pos_++] = v;
    }
}

void Writer::u16(std::uint16_t v) {
    if (room(2)) {
        buf_[pos_++] = static_cast<std::uint8_t>(v >> 8);
        buf_[pos_++] = static_cast<std::uint8_t>(v);
    }
}

void Writer::u32(std::uint32_t v) {
    if (room(4)) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            buf_[pos_++] = static_cast<std::uint8_t>(v >> shift);
        }
    }
}

void Writer::bytes(const std::uint8_t* p, std::size_t n) {
    if (room(n)) {
        std::memcpy(buf_ + pos_, p, n);
        pos_ += n;
    }
}

void Writer::put_u16_at(std::size_t at, std::uint16_t v) {
    buf_[at] = static_cast<std::uint8_t>(v >> 8);
    buf_[at + 1] = static_cast<std::uint8_t>(v);
}

bool Writer::suffix_at(std::size_t off, const Name& n, std::size_t from) const {
    const std::uint8_t* w = n.data();
    std::size_t guard = 0;
    for (;;) {
        std::uint8_t b = buf_[off];
        while ((b & 0xC0) == 0xC0) { // only our own, valid, backward pointers are here
            off = std::size_t{b & 0x3Fu} << 8 | buf_[off + 1];
            b = buf_[off];
            if (++guard > 128) {
                return false;
            }
        }
        if (b != w[from]) {
            return false;
        }
        if (b == 0) {
            return true;
        }
        for (std::size_t i = 1; i <= b; i++) {
            if (ascii_lower(buf_[off + i]) != ascii_lower(w[from + i])) {
                return false;
            }
        }
        off += 1 + b;
        from += 1 + b;
    }
}

void Writer::name(const Name& n, bool compress) {
    const std::uint8_t* w = n.data();
    // Find the longest suffix already in the message.
    std::size_t match_from = n.size() - 1; // the root: nothing to reuse
    std::size_t match_off = 0;
    bool found = false;
    if (compress) {
        for (std::size_t from = 0; w[from] != 0 && !found; from += 1 + w[from]) {
            for (std::size_t i = 0; i < ncomp_; i++) {
                if (suffix_at(comp_[i], n, from)) {
                    match_from = from;
                    match_off = comp_[i];
                    found = true;
                    break;
                }
            }
        }
    }
    std::size_t need = match_from + (found ? 2 : 1);
    if (!room(need)) {
        return;
    }
    for (std::size_t from = 0; from < match_from; from += 1 + w[from]) {
        if (compress && pos_ < 0x4000 && ncomp_ < kMaxCompress) {
            comp_[ncomp_++] = static_cast<std::uint16_t>(pos_);
        }
        std::memcpy(buf_ + pos_, w + from, 1 + w[from]);
        pos_ += 1 + w[from];
    }
    if (found) {
        buf_[pos_++] = static_cast<std::uint8_t>(0xC0 | match_off >> 8);
        buf_[pos_++] = static_cast<std::uint8_t>(match_off);
    } else {
        buf_[pos_++] = 0;
    }
}

} // namespace dns
