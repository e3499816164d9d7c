#include "tsig.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dns {

namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// RFC 4648 base64 with padding optional; false on any other character.
bool base64_decode(std::string_view text, std::string& out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t pad = 0;
    for (char c : text) {
        if (c == '=') {
            pad++;
            continue;
        }
        int v = base64_value(c);
        if (v < 0 || pad > 0) {
            return false;
        }
        acc = acc << 6 | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return pad <= 2 && bits < 6;
}

} // namespace

bool parse_tsig_key(std::string_view text, TsigKey& out, std::string& error) {
    std::string_view algorithm = "hmac-sha256";
    std::size_t last = text.rfind(':');
    if (last == std::string_view::npos) {
        error = "a TSIG key is [ALGORITHM:]NAME:BASE64SECRET, as for dig -y";
        return false;
    }
    std::string_view secret = text.substr(last + 1);
    std::string_view name = text.substr(0, last);
    std::size_t first = name.find(':');
    if (first != std::string_view::npos) {
        algorithm = name.substr(0, first);
        name = name.substr(first + 1);
    }
    std::string alg_lower;
    for (char c : algorithm) {
        alg_lower += static_cast<char>(ascii_lower(static_cast<std::uint8_t>(c)));
    }
    if (alg_lower == "hmac-sha1") {
        out.hash = HashAlg::sha1;
    } else if (alg_lower == "hmac-sha256") {
        out.hash = HashAlg::sha256;
    } else if (alg_lower == "hmac-sha512") {
        out.hash = HashAlg::sha512;
    } else {
        error = "unsupported TSIG algorithm '" + std::string(algorithm) +
                "' (hmac-sha1, hmac-sha256 or hmac-sha512)";
        return false;
    }
    const char* why = nullptr;
    if (!Name::from_text(alg_lower + ".", nullptr, out.algorithm, why)) {
        error = "bad TSIG algorithm name";
        return false;
    }
    std::string name_text(name);
    if (name_text.empty() || name_text.back() != '.') {
        name_text += '.';
    }
    if (name.empty() || !Name::from_text(name_text, nullptr, out.name, why)) {
        error = "bad TSIG key name '" + std::string(name) + "'" + (why ? ": " : "") +
                (why ? why : "");
        return false;
    }
    if (!base64_decode(secret, out.secret) || out.secret.empty()) {
        error = "the secret of TSIG key " + out.name.to_text() + " is not base64";
        return false;
    }
    return true;
}

bool load_tsig_keys(const char* path, std::vector<TsigKey>& keys, std::string& error) {
    std::FILE* f = std::fopen(path, "r");
    if (f == nullptr) {
        error = std::string(path) + ": cannot read: " + std::strerror(errno);
        return false;
    }
    std::string text;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
    }
    std::fclose(f);
    std::size_t line_no = 0;
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string line = text.substr(at, end - at);
        at = end + 1;
        line_no++;
        std::size_t b = line.find_first_not_of(" \t\r");
        std::size_t e = line.find_last_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#' || line[b] == ';') {
            continue;
        }
        TsigKey key;
        std::string why;
        if (!parse_tsig_key(std::string_view(line).substr(b, e - b + 1), key, why)) {
            error = std::string(path) + ":" + std::to_string(line_no) + ": " + why;
            return false;
        }
        for (const TsigKey& other : keys) {
            if (equal_ci(other.name, key.name)) {
                error = std::string(path) + ":" + std::to_string(line_no) + ": TSIG key " +
                        key.name.to_text() + " is given twice";
                return false;
            }
        }
        keys.push_back(std::move(key));
    }
    return true;
}

} // namespace dns
