// TSIG keys (RFC 8945): a key's name, algorithm and secret, and the text form the server
// reads them in, which is dig's and kdig's -y argument: [ALGORITHM:]NAME:BASE64SECRET with
// ALGORITHM hmac-sha1, hmac-sha256 (the default) or hmac-sha512.
#pragma once

#include "hmac.hpp"
#include "name.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace dns {

struct TsigKey {
    Name name;
    Name algorithm; // hmac-sha256. etc., as the wire carries it
    HashAlg hash = HashAlg::sha256;
    std::string secret; // the decoded bytes
};

// Parses "[ALGORITHM:]NAME:BASE64SECRET". On failure returns false and sets `error`.
bool parse_tsig_key(std::string_view text, TsigKey& out, std::string& error);

// Reads a key file: one key per line in parse_tsig_key's form; blank lines and lines
// starting with '#' or ';' are skipped. On failure returns false with "FILE:LINE: reason"
// (or "FILE: cannot read: ...") in `error`.
bool load_tsig_keys(const char* path, std::vector<TsigKey>& keys, std::string& error);

} // namespace dns
