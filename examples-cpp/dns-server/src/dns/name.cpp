#include "name.hpp"

#include <cstring>

namespace dns {

bool Name::append_label(const std::uint8_t* label, std::size_t n) {
    if (n == 0 || n > kMaxLabelLen || len_ + 1 + n > kMaxNameLen) {
        return false;
    }
    std::size_t at = len_ - 1; // overwrite the root's 0
    bytes_[at] = static_cast<std::uint8_t>(n);
    std::memcpy(bytes_ + at + 1, label, n);
    bytes_[at + 1 + n] = 0;
    len_ = static_cast<std::uint8_t>(len_ + 1 + n);
    labels_++;
    return true;
}

bool Name::append_name(const Name& suffix) {
    std::size_t pos = 0;
    while (suffix.bytes_[pos] != 0) {
        std::size_t n = suffix.bytes_[pos];
        if (!append_label(suffix.bytes_ + pos + 1, n)) {
            return false;
        }
        pos += 1 + n;
    }
    return true;
}

void Name::strip_first() {
    if (labels_ == 0) {
        return;
    }
    std::size_t skip = 1 + bytes_[0];
    std::memmove(bytes_, bytes_ + skip, len_ - skip);
    len_ = static_cast<std::uint8_t>(len_ - skip);
    labels_--;
}

Name Name::ancestor(std::size_t n) const {
    Name out = *this;
    for (std::size_t i = 0; i < n; i++) {
        out.strip_first();
    }
    return out;
}

std::string_view Name::first_label() const {
    return {reinterpret_cast<const char*>(bytes_ + 1), bytes_[0]};
}

std::size_t Name::lower_key(std::uint8_t* out) const {
    for (std::size_t i = 0; i < len_; i++) {
        out[i] = ascii_lower(bytes_[i]);
    }
    return len_;
}

std::string Name::to_text() const {
    if (labels_ == 0) {
        return ".";
    }
    std::string out;
    std::size_t pos = 0;
    while (bytes_[pos] != 0) {
        std::size_t n = bytes_[pos];
        for (std::size_t i = 0; i < n; i++) {
            std::uint8_t c = bytes_[pos + 1 + i];
            bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
            if (plain) {
                out += static_cast<char>(c);
            } else {
                char esc[5] = {'\\', static_cast<char>('0' + c / 100),
                               static_cast<char>('0' + c / 10 % 10),
                               static_cast<char>('0' + c % 10), 0};
                out += esc;
            }
        }
        out += '.';
        pos += 1 + n;
    }
    return out;
}

bool Name::from_text(std::string_view text, const Name* origin, Name& out, const char*& error) {
    out = Name();
    if (text == "@") {
        if (origin == nullptr) {
            error = "'@' used but no $ORIGIN is set";
            return false;
        }
        out = *origin;
        return true;
    }
    if (text == ".") {
        return true;
    }
    if (text.empty()) {
        error = "empty domain name";
        return false;
    }
    std::uint8_t label[kMaxLabelLen + 1];
    std::size_t n = 0;
    bool absolute = false;
    for (std::size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        std::uint8_t byte;
        if (c == '\\') {
            if (i + 1 >= text.size()) {
                error = "a domain name ends with a lone backslash";
                return false;
            }
            char d = text[i + 1];
            if (d >= '0' && d <= '9') {
                if (i + 3 >= text.size()) {
                    error = "a \\DDD escape needs three digits";
                    return false;
                }
                int value = 0;
                for (std::size_t k = 1; k <= 3; k++) {
                    char e = text[i + k];
                    if (e < '0' || e > '9') {
                        error = "a \\DDD escape needs three digits";
                        return false;
                    }
                    value = value * 10 + (e - '0');
                }
                if (value > 255) {
                    error = "a \\DDD escape is above 255";
                    return false;
                }
                byte = static_cast<std::uint8_t>(value);
                i += 3;
            } else {
                byte = static_cast<std::uint8_t>(d);
                i += 1;
            }
        } else if (c == '.') {
            if (n == 0) {
                error = "empty label in a domain name";
                return false;
            }
            if (!out.append_label(label, n)) {
                error = "domain name longer than 255 bytes";
                return false;
            }
            n = 0;
            if (i + 1 == text.size()) {
                absolute = true;
            }
            continue;
        } else {
            byte = static_cast<std::uint8_t>(c);
        }
        if (n == kMaxLabelLen) {
            error = "label longer than 63 bytes";
            return false;
        }
        label[n++] = byte;
    }
    if (n > 0 && !out.append_label(label, n)) {
        error = "domain name longer than 255 bytes";
        return false;
    }
    if (!absolute) {
        if (origin == nullptr) {
            error = "relative domain name but no $ORIGIN is set";
            return false;
        }
        if (!out.append_name(*origin)) {
            error = "domain name longer than 255 bytes";
            return false;
        }
    }
    return true;
}

bool equal_ci(const Name& a, const Name& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); i++) {
        if (ascii_lower(a.data()[i]) != ascii_lower(b.data()[i])) {
            return false;
        }
    }
    return true;
}

bool is_subdomain(const Name& name, const Name& parent) {
    if (name.label_count() < parent.label_count()) {
        return false;
    }
    // Skip the extra leading labels of `name`, then the rest must equal `parent`.
    std::size_t pos = 0;
    for (std::size_t i = 0; i < name.label_count() - parent.label_count(); i++) {
        pos += 1 + name.data()[pos];
    }
    if (name.size() - pos != parent.size()) {
        return false;
    }
    for (std::size_t i = 0; i < parent.size(); i++) {
        if (ascii_lower(name.data()[pos + i]) != ascii_lower(parent.data()[i])) {
            return false;
        }
    }
    return true;
}

} // namespace dns
