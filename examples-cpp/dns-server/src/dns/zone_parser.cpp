#include "zone_parser.hpp"

#include "wire.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace dns {

namespace {

struct Token {
    std::string text; // escapes kept as written; quotes removed
    bool quoted = false;
};

// Thrown inside the parser only; parse_zone turns it into "FILE:LINE: reason".
struct ParseError {
    std::size_t line;
    std::string reason;
};

// Splits the text into entries: one line, or several joined by parentheses.
class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}

    // The next non-empty entry; false at the end of the text.
    bool next(std::vector<Token>& tokens, bool& blank_owner, std::size_t& line) {
        tokens.clear();
        for (;;) {
            if (pos_ >= text_.size()) {
                return false;
            }
            line = line_;
            blank_owner = text_[pos_] == ' ' || text_[pos_] == '\t';
            read_entry(tokens);
            if (!tokens.empty()) {
                return true;
            }
        }
    }

private:
    void read_entry(std::vector<Token>& tokens) {
        int depth = 0;
        std::size_t open_line = line_;
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '\n') {
                pos_++;
                line_++;
                if (depth == 0) {
                    return;
                }
            } else if (c == ' ' || c == '\t' || c == '\r') {
                pos_++;
            } else if (c == ';') {
                while (pos_ < text_.size() && text_[pos_] != '\n') {
                    pos_++;
                }
            } else if (c == '(') {
                if (depth == 0) {
                    open_line = line_;
                }
                depth++;
                pos_++;
            } else if (c == ')') {
                if (depth == 0) {
                    throw ParseError{line_, "')' without a matching '('"};
                }
                depth--;
                pos_++;
            } else if (c == '"') {
                tokens.push_back(quoted());
            } else {
                tokens.push_back(word());
            }
        }
        if (depth != 0) {
            throw ParseError{open_line, "'(' is never closed"};
        }
    }

    Token quoted() {
        std::size_t start_line = line_;
        pos_++; // opening quote
        Token t;
        t.quoted = true;
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '"') {
                pos_++;
                return t;
            }
            if (c == '\n') {
                break;
            }
            if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') {
                t.text += c;
                pos_++;
                c = text_[pos_];
            }
            t.text += c;
            pos_++;
        }
        throw ParseError{start_line, "quoted string is not closed on its line"};
    }

    Token word() {
        Token t;
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
                c == ')' || c == '"') {
                break;
            }
            if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') {
                t.text += c;
                pos_++;
                c = text_[pos_];
            }
            t.text += c;
            pos_++;
        }
        return t;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); i++) {
        if (ascii_lower(static_cast<std::uint8_t>(a[i])) !=
            ascii_lower(static_cast<std::uint8_t>(b[i]))) {
            return false;
        }
    }
    return true;
}

struct TypeName {
    const char* name;
    std::uint16_t type;
};
constexpr TypeName kTypes[] = {
    {"A", type::A},       {"NS", type::NS},   {"CNAME", type::CNAME}, {"SOA", type::SOA},
    {"PTR", type::PTR},   {"HINFO", type::HINFO}, {"MX", type::MX},   {"TXT", type::TXT},
    {"AAAA", type::AAAA}, {"SRV", type::SRV}, {"CAA", type::CAA},
};

bool all_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// A decimal number no larger than `max`.
bool parse_number(std::string_view s, std::uint64_t max, std::uint64_t& out) {
    if (!all_digits(s) || s.size() > 10) {
        return false;
    }
    out = 0;
    for (char c : s) {
        out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return out <= max;
}

// A TTL: seconds, or BIND-style units (1w2d3h4m5s, case-insensitive), at most 2^31 - 1.
bool parse_ttl(std::string_view s, std::uint32_t& out) {
    if (s.empty() || s[0] < '0' || s[0] > '9') {
        return false;
    }
    std::uint64_t total = 0;
    std::uint64_t value = 0;
    bool digits = false;
    bool units = false;
    for (char c : s) {
        if (c >= '0' && c <= '9') {
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
            digits = true;
            if (value > 0x7FFFFFFF) {
                return false;
            }
            continue;
        }
        std::uint64_t scale;
        switch (ascii_lower(static_cast<std::uint8_t>(c))) {
        case 's': scale = 1; break;
        case 'm': scale = 60; break;
        case 'h': scale = 3600; break;
        case 'd': scale = 86400; break;
        case 'w': scale = 604800; break;
        default: return false;
        }
        if (!digits) {
            return false;
        }
        total += value * scale;
        value = 0;
        digits = false;
        units = true;
        if (total > 0x7FFFFFFF) {
            return false;
        }
    }
    if (digits) {
        if (units) {
            return false; // "1h30" is ambiguous
        }
        total += value;
    }
    if (total > 0x7FFFFFFF) {
        return false;
    }
    out = static_cast<std::uint32_t>(total);
    return true;
}

bool is_class(std::string_view s) {
    return iequals(s, "IN") || iequals(s, "CH") || iequals(s, "HS") || iequals(s, "CS") ||
           (s.size() > 5 && iequals(s.substr(0, 5), "CLASS") && all_digits(s.substr(5)));
}

// Unescapes a character-string (\X, \DDD) into bytes.
std::string unescape(const Token& t, std::size_t line) {
    std::string out;
    const std::string& s = t.text;
    for (std::size_t i = 0; i < s.size(); i++) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (i + 1 >= s.size()) {
            throw ParseError{line, "string ends with a lone backslash"};
        }
        if (s[i + 1] >= '0' && s[i + 1] <= '9') {
            std::uint64_t v;
            if (i + 3 >= s.size() || !parse_number(std::string_view(s).substr(i + 1, 3), 255, v)) {
                throw ParseError{line, "a \\DDD escape needs three digits, at most 255"};
            }
            out += static_cast<char>(v);
            i += 3;
        } else {
            out += s[i + 1];
            i += 1;
        }
    }
    return out;
}

class Parser {
public:
    Parser(std::string_view text, const Name* origin) : lexer_(text) {
        if (origin != nullptr) {
            origin_ = *origin;
            have_origin_ = true;
        }
    }

    struct Record {
        Name owner;
        std::uint16_t type;
        std::uint32_t ttl;
        std::string rdata;
        std::size_t line;
    };

    std::vector<Record> run() {
        std::vector<Token> tokens;
        bool blank_owner = false;
        while (lexer_.next(tokens, blank_owner, line_)) {
            entry(tokens, blank_owner);
        }
        return std::move(records_);
    }

    std::size_t last_line() const { return line_; }

private:
    [[noreturn]] void fail(std::string reason) { throw ParseError{line_, std::move(reason)}; }

    Name name(const Token& t) {
        if (t.quoted) {
            fail("a domain name cannot be quoted: \"" + t.text + "\"");
        }
        Name out;
        const char* error = nullptr;
        if (!Name::from_text(t.text, have_origin_ ? &origin_ : nullptr, out, error)) {
            fail(std::string(error) + ": " + t.text);
        }
        return out;
    }

    std::uint64_t number(const Token& t, std::uint64_t max, const char* what) {
        std::uint64_t v;
        if (t.quoted || !parse_number(t.text, max, v)) {
            fail(std::string("bad ") + what + " '" + t.text + "' (a number up to " +
                 std::to_string(max) + ")");
        }
        return v;
    }

    std::uint32_t ttl(const Token& t, const char* what) {
        std::uint32_t v;
        if (t.quoted || !parse_ttl(t.text, v)) {
            fail(std::string("bad ") + what + " '" + t.text + "'");
        }
        return v;
    }

    void entry(const std::vector<Token>& tok, bool blank_owner) {
        if (!blank_owner && !tok[0].quoted && tok[0].text[0] == '$') {
            directive(tok);
            return;
        }
        std::size_t i = 0;
        Name owner;
        if (blank_owner) {
            if (!have_last_owner_) {
                fail("a record without an owner name and no previous record");
            }
            owner = last_owner_;
        } else {
            owner = name(tok[i++]);
        }
        std::uint32_t rec_ttl = 0;
        bool have_ttl = false;
        for (int k = 0; k < 2 && i < tok.size() && !tok[i].quoted; k++) {
            if (is_class(tok[i].text)) {
                if (!iequals(tok[i].text, "IN") && !iequals(tok[i].text, "CLASS1")) {
                    fail("class " + tok[i].text + " is not supported (only IN)");
                }
                i++;
            } else if (!have_ttl && tok[i].text[0] >= '0' && tok[i].text[0] <= '9') {
                rec_ttl = ttl(tok[i], "TTL");
                have_ttl = true;
                i++;
            } else {
                break;
            }
        }
        if (i >= tok.size()) {
            fail("record has no type");
        }
        std::uint16_t rtype = type_of(tok[i++]);
        if (!have_ttl) {
            if (have_default_ttl_) {
                rec_ttl = default_ttl_;
            } else if (have_last_ttl_) {
                rec_ttl = last_ttl_;
            } else if (rtype != type::SOA) {
                fail("no TTL given and no $TTL set before this record");
            }
        }
        std::string rdata;
        rdata.reserve(64);
        parse_rdata(rtype, tok, i, rdata);
        if (!have_ttl && rtype == type::SOA && !have_default_ttl_ && !have_last_ttl_) {
            // RFC 1035 zones without $TTL: the SOA MINIMUM is the default.
            std::size_t n = rdata.size();
            rec_ttl = std::uint32_t{static_cast<std::uint8_t>(rdata[n - 4])} << 24 |
                      std::uint32_t{static_cast<std::uint8_t>(rdata[n - 3])} << 16 |
                      std::uint32_t{static_cast<std::uint8_t>(rdata[n - 2])} << 8 |
                      static_cast<std::uint8_t>(rdata[n - 1]);
        }
        if (rdata.size() > 65535) {
            fail("record data longer than 65535 bytes");
        }
        last_owner_ = owner;
        have_last_owner_ = true;
        last_ttl_ = rec_ttl;
        have_last_ttl_ = true;
        records_.push_back(Record{owner, rtype, rec_ttl, std::move(rdata), line_});
    }

    void directive(const std::vector<Token>& tok) {
        const std::string& d = tok[0].text;
        if (iequals(d, "$ORIGIN")) {
            if (tok.size() != 2) {
                fail("$ORIGIN takes one domain name");
            }
            origin_ = name(tok[1]);
            have_origin_ = true;
        } else if (iequals(d, "$TTL")) {
            if (tok.size() != 2) {
                fail("$TTL takes one TTL");
            }
            default_ttl_ = ttl(tok[1], "$TTL");
            have_default_ttl_ = true;
        } else if (iequals(d, "$INCLUDE")) {
            fail("$INCLUDE is not supported: give each zone file on the command line");
        } else {
            fail("unknown directive " + d);
        }
    }

    std::uint16_t type_of(const Token& t) {
        for (const TypeName& tn : kTypes) {
            if (iequals(t.text, tn.name)) {
                return tn.type;
            }
        }
        if (t.text.size() > 4 && iequals(std::string_view(t.text).substr(0, 4), "TYPE")) {
            std::uint64_t v;
            if (parse_number(std::string_view(t.text).substr(4), 65535, v)) {
                auto n = static_cast<std::uint16_t>(v);
                if (n == type::OPT || (n >= 128 && n <= 255) || n == 0) {
                    fail("type " + t.text + " cannot appear in a zone");
                }
                return n;
            }
        }
        fail("unknown or unsupported record type '" + t.text + "'");
    }

    static void put16(std::string& out, std::uint64_t v) {
        out += static_cast<char>(v >> 8);
        out += static_cast<char>(v);
    }
    static void put32(std::string& out, std::uint64_t v) {
        for (int s = 24; s >= 0; s -= 8) {
            out += static_cast<char>(v >> s);
        }
    }
    static void put_name(std::string& out, const Name& n) {
        out.append(reinterpret_cast<const char*>(n.data()), n.size());
    }
    void put_string(std::string& out, const Token& t) {
        std::string s = unescape(t, line_);
        if (s.size() > 255) {
            fail("character string longer than 255 bytes");
        }
        out += static_cast<char>(s.size());
        out += s;
    }

    void expect_count(const std::vector<Token>& tok, std::size_t i, std::size_t n,
                      const char* type_name, const char* form) {
        if (tok.size() - i != n) {
            fail(std::string(type_name) + " takes " + form);
        }
    }

    void parse_rdata(std::uint16_t t, const std::vector<Token>& tok, std::size_t i,
                     std::string& out) {
        if (i < tok.size() && !tok[i].quoted && tok[i].text == "\\#") {
            generic(tok, i + 1, out);
            check_generic(t, out);
            return;
        }
        switch (t) {
        case type::A:
        case type::AAAA: {
            expect_count(tok, i, 1, t == type::A ? "A" : "AAAA", "one address");
            unsigned char addr[16];
            int family = t == type::A ? AF_INET : AF_INET6;
            if (tok[i].quoted || inet_pton(family, tok[i].text.c_str(), addr) != 1) {
                fail(std::string("bad ") + (t == type::A ? "IPv4" : "IPv6") + " address '" +
                     tok[i].text + "'");
            }
            out.append(reinterpret_cast<const char*>(addr), t == type::A ? 4 : 16);
            break;
        }
        case type::NS:
        case type::CNAME:
        case type::PTR:
            expect_count(tok, i, 1, t == type::NS ? "NS" : t == type::CNAME ? "CNAME" : "PTR",
                         "one domain name");
            put_name(out, name(tok[i]));
            break;
        case type::MX:
            expect_count(tok, i, 2, "MX", "a preference and a domain name");
            put16(out, number(tok[i], 65535, "MX preference"));
            put_name(out, name(tok[i + 1]));
            break;
        case type::SOA:
            expect_count(tok, i, 7, "SOA",
                         "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM");
            put_name(out, name(tok[i]));
            put_name(out, name(tok[i + 1]));
            put32(out, number(tok[i + 2], 0xFFFFFFFF, "SOA serial"));
            for (std::size_t k = 3; k < 7; k++) {
                put32(out, ttl(tok[i + k], "SOA timer"));
            }
            break;
        case type::TXT:
            if (i >= tok.size()) {
                fail("TXT takes at least one string");
            }
            for (; i < tok.size(); i++) {
                put_string(out, tok[i]);
            }
            break;
        case type::HINFO:
            expect_count(tok, i, 2, "HINFO", "two strings (CPU and OS)");
            put_string(out, tok[i]);
            put_string(out, tok[i + 1]);
            break;
        case type::SRV:
            expect_count(tok, i, 4, "SRV", "PRIORITY WEIGHT PORT TARGET");
            put16(out, number(tok[i], 65535, "SRV priority"));
            put16(out, number(tok[i + 1], 65535, "SRV weight"));
            put16(out, number(tok[i + 2], 65535, "SRV port"));
            put_name(out, name(tok[i + 3]));
            break;
        case type::CAA: {
            expect_count(tok, i, 3, "CAA", "FLAGS TAG VALUE");
            out += static_cast<char>(number(tok[i], 255, "CAA flags"));
            const std::string& tag = tok[i + 1].text;
            if (tok[i + 1].quoted || tag.empty() || tag.size() > 15) {
                fail("bad CAA tag '" + tag + "' (1 to 15 letters and digits)");
            }
            for (char c : tag) {
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9');
                if (!alnum) {
                    fail("bad CAA tag '" + tag + "' (1 to 15 letters and digits)");
                }
            }
            out += static_cast<char>(tag.size());
            out += tag;
            out += unescape(tok[i + 2], line_);
            break;
        }
        default:
            fail("type " + std::to_string(t) + " needs the generic form \\# LENGTH HEX");
        }
    }

    // RFC 3597 §5 lets a known type be written in the generic form; its data must still be
    // that type's, since the server reads it (SOA's MINIMUM, the names it compresses).
    void check_generic(std::uint16_t t, const std::string& data) {
        Reader r(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
        Name name;
        const char* form = nullptr;
        switch (t) {
        case type::A:
            r.bytes(4);
            form = "4 bytes";
            break;
        case type::AAAA:
            r.bytes(16);
            form = "16 bytes";
            break;
        case type::NS:
        case type::CNAME:
        case type::PTR:
            r.name(name);
            form = "one domain name";
            break;
        case type::MX:
            r.u16();
            r.name(name);
            form = "a preference and a domain name";
            break;
        case type::SRV:
            r.bytes(6);
            r.name(name);
            form = "priority, weight, port and a domain name";
            break;
        case type::SOA:
            r.name(name);
            r.name(name);
            r.bytes(20);
            form = "two domain names and five 32-bit numbers";
            break;
        default:
            return;
        }
        if (!r.ok() || r.remaining() != 0) {
            const char* type_name = "known";
            for (const TypeName& tn : kTypes) {
                if (tn.type == t) {
                    type_name = tn.name;
                }
            }
            fail(std::string("the \\# data of type ") + type_name + " must be " + form);
        }
    }

    void generic(const std::vector<Token>& tok, std::size_t i, std::string& out) {
        if (i >= tok.size()) {
            fail("\\# needs a length");
        }
        std::uint64_t len = number(tok[i++], 65535, "\\# length");
        std::string hex;
        for (; i < tok.size(); i++) {
            hex += tok[i].text;
        }
        if (hex.size() != len * 2) {
            fail("\\# length " + std::to_string(len) + " does not match its hex data");
        }
        for (std::size_t k = 0; k < hex.size(); k += 2) {
            int v = 0;
            for (std::size_t j = 0; j < 2; j++) {
                char c = hex[k + j];
                int d = (c >= '0' && c <= '9')   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
                if (d < 0) {
                    fail("bad hex digit in \\# data");
                }
                v = v * 16 + d;
            }
            out += static_cast<char>(v);
        }
    }

    Lexer lexer_;
    std::size_t line_ = 1;
    Name origin_;
    bool have_origin_ = false;
    Name last_owner_;
    bool have_last_owner_ = false;
    std::uint32_t default_ttl_ = 0;
    bool have_default_ttl_ = false;
    std::uint32_t last_ttl_ = 0;
    bool have_last_ttl_ = false;
    std::vector<Record> records_;
};

std::string located(std::string_view file, std::size_t line, const std::string& reason) {
    std::string out(file);
    out += ':';
    out += std::to_string(line);
    out += ": ";
    out += reason;
    return out;
}

} // namespace

std::unique_ptr<Zone> parse_zone(std::string_view text, std::string_view filename,
                                 const Name* origin, std::string& error) {
    Parser parser(text, origin);
    std::vector<Parser::Record> records;
    try {
        records = parser.run();
    } catch (const ParseError& e) {
        error = located(filename, e.line, e.reason);
        return nullptr;
    }
    const Parser::Record* soa = nullptr;
    for (const auto& r : records) {
        if (r.type == type::SOA) {
            soa = &r;
            break;
        }
    }
    if (soa == nullptr) {
        error = located(filename, parser.last_line(), "the zone has no SOA record");
        return nullptr;
    }
    Name apex = origin != nullptr ? *origin : soa->owner;
    auto zone = std::make_unique<Zone>(apex);
    for (auto& r : records) {
        if (const char* why = zone->add(r.owner, r.type, r.ttl, std::move(r.rdata))) {
            error = located(filename, r.line, std::string(why) + ": " + r.owner.to_text() +
                                                  " (zone " + apex.to_text() + ")");
            return nullptr;
        }
    }
    if (const char* why = zone->finish()) {
        error = located(filename, soa->line, std::string(why) + " (zone " + apex.to_text() + ")");
        return nullptr;
    }
    return zone;
}

std::unique_ptr<Zone> load_zone_file(const char* path, const Name* origin, std::string& error) {
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr) {
        error = std::string(path) + ": cannot read: " + std::strerror(errno);
        return nullptr;
    }
    std::string text;
    char buf[16384];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
    }
    bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) {
        error = std::string(path) + ": cannot read: I/O error";
        return nullptr;
    }
    return parse_zone(text, path, origin, error);
}

} // namespace dns
