// Domain names in wire form (RFC 1035 §3.1): a fixed 255-byte buffer, no allocation.
// Comparison is case-insensitive (ASCII only, RFC 4343); the stored bytes keep their case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dns {

constexpr std::size_t kMaxNameLen = 255; // wire bytes, including the root label
constexpr std::size_t kMaxLabelLen = 63;

inline std::uint8_t ascii_lower(std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

class Name {
public:
    Name() = default; // the root name "."

    // The wire bytes: labels, each with its length byte, ending with the 0 of the root.
    const std::uint8_t* data() const { return bytes_; }
    std::size_t size() const { return len_; }
    std::size_t label_count() const { return labels_; } // the root label not counted
    bool is_root() const { return labels_ == 0; }

    // Appends one label (1..63 bytes) in front of the root; false if the name would exceed
    // 255 bytes or the label is empty or too long.
    bool append_label(const std::uint8_t* label, std::size_t n);
    // Appends every label of `suffix` (used to make a relative name absolute).
    bool append_name(const Name& suffix);

    // Removes the first label (no-op on the root).
    void strip_first();
    // The name without its first `n` labels.
    Name ancestor(std::size_t n) const;

    // The first label's bytes (without the length byte); empty for the root.
    std::string_view first_label() const;

    // Writes the lower-cased wire bytes into `out` (kMaxNameLen bytes); returns the length.
    std::size_t lower_key(std::uint8_t* out) const;

    // Presentation form with a trailing dot; bytes outside [-_0-9A-Za-z*] are escaped \DDD.
    std::string to_text() const;

    // Parses presentation form: `\DDD` and `\X` escapes, a trailing dot makes it absolute,
    // otherwise `origin` is appended (nullptr: relative names are an error). "@" is the
    // origin. On failure returns false and sets `error`.
    static bool from_text(std::string_view text, const Name* origin, Name& out,
                          const char*& error);

private:
    std::uint8_t bytes_[kMaxNameLen] = {0};
    std::uint8_t len_ = 1;
    std::uint8_t labels_ = 0;
};

// Case-insensitive equality of two names.
bool equal_ci(const Name& a, const Name& b);
// True if `name` is `parent` or below it (case-insensitive).
bool is_subdomain(const Name& name, const Name& parent);

} // namespace dns
