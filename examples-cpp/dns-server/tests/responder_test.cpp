// Host unit tests of the responder: hand-made queries in, the response's wire bytes checked
// field by field. Run by `ctest` in a native build and by tests/dns.rs
// (responder_unit_tests_pass). usage: responder-test [ZONES_DIR]; exit status 0 when every
// check holds, else 1 with one line per failed check.
#include "dns/hmac.hpp"
#include "dns/responder.hpp"
#include "dns/tsig.hpp"
#include "dns/zone_parser.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;
int checks = 0;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        checks++;                                                                             \
        if (!(cond)) {                                                                        \
            failures++;                                                                       \
            std::printf("FAILED %s:%d: %s (in %s)\n", __FILE__, __LINE__, #cond, current);    \
        }                                                                                     \
    } while (0)

const char* current = "";

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& m, unsigned v) {
    m.push_back(static_cast<std::uint8_t>(v >> 8));
    m.push_back(static_cast<std::uint8_t>(v));
}

void put32(Bytes& m, std::uint32_t v) {
    put16(m, v >> 16);
    put16(m, v & 0xFFFF);
}

void put_name(Bytes& m, const char* text) {
    dns::Name n;
    const char* error = nullptr;
    dns::Name::from_text(text, nullptr, n, error);
    m.insert(m.end(), n.data(), n.data() + n.size());
}

// A header: id 0x1234, `flags`, and the four counts.
Bytes header(unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) {
    Bytes m;
    put16(m, 0x1234);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
    return m;
}

void question(Bytes& m, const char* name, unsigned qtype) {
    put_name(m, name);
    put16(m, qtype);
    put16(m, dns::cls::IN);
}

void opt(Bytes& m, unsigned payload) {
    m.push_back(0);
    put16(m, dns::type::OPT);
    put16(m, payload);
    put32(m, 0);
    put16(m, 0);
}

constexpr std::uint64_t kTimeSigned = 0x0000'6543'2101ull;

// A TSIG record (RFC 8945 §4.2) with a 32-byte MAC of zeros.
void tsig(Bytes& m, const char* key, const char* algorithm, unsigned cls = dns::cls::ANY) {
    put_name(m, key);
    put16(m, dns::type::TSIG);
    put16(m, cls);
    put32(m, 0);
    Bytes rdata;
    put_name(rdata, algorithm);
    put16(rdata, static_cast<unsigned>(kTimeSigned >> 32));
    put32(rdata, static_cast<std::uint32_t>(kTimeSigned));
    put16(rdata, 300);
    put16(rdata, 32);
    rdata.insert(rdata.end(), 32, 0);
    put16(rdata, 0x1234);
    put16(rdata, 0);
    put16(rdata, 0);
    put16(m, static_cast<unsigned>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
}

struct Record {
    std::string owner; // presentation form, as stored
    std::uint16_t type;
    std::uint16_t cls;
    std::uint32_t ttl;
    Bytes rdata;
};

struct Response {
    std::size_t len = 0;
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t counts[4] = {};
    std::vector<Record> sections[3];
    bool parsed = false;

    unsigned rcode() const { return flags & 0xF; }
    bool has(std::uint16_t flag) const { return (flags & flag) != 0; }
};

Response parse(const std::uint8_t* msg, std::size_t len) {
    Response out;
    out.len = len;
    dns::Reader r(msg, len);
    out.id = r.u16();
    out.flags = r.u16();
    for (auto& c : out.counts) {
        c = r.u16();
    }
    dns::Name name;
    for (unsigned i = 0; i < out.counts[0]; i++) {
        r.name(name);
        r.u32();
    }
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < out.counts[s + 1]; i++) {
            Record rec;
            r.name(name);
            rec.owner = name.to_text();
            rec.type = r.u16();
            rec.cls = r.u16();
            rec.ttl = r.u32();
            std::uint16_t rdlen = r.u16();
            const std::uint8_t* p = r.bytes(rdlen);
            if (p != nullptr) {
                rec.rdata.assign(p, p + rdlen);
            }
            out.sections[s].push_back(rec);
        }
    }
    out.parsed = r.ok() && r.remaining() == 0;
    return out;
}

std::uint8_t out_buf[dns::Responder::kMaxMessage];

Response ask(dns::Responder& responder, const Bytes& query, dns::Transport transport) {
    std::size_t n = responder.respond(query.data(), query.size(), transport, out_buf);
    Response r = parse(out_buf, n);
    if (transport == dns::Transport::udp) {
        CHECK(n <= 1232);
    }
    CHECK(r.parsed);
    return r;
}

std::size_t count(const Response& r, int section, std::uint16_t type) {
    std::size_t n = 0;
    for (const Record& rec : r.sections[section]) {
        n += rec.type == type;
    }
    return n;
}

std::string server(int i) {
    return "ns" + std::to_string(i) + "-a-name-server-that-has-a-rather-long-name.wide.glue.test.";
}

bool has_record(const Response& r, int section, const std::string& owner, std::uint16_t type) {
    for (const Record& rec : r.sections[section]) {
        if (rec.owner == owner && rec.type == type) {
            return true;
        }
    }
    return false;
}

// RFC 9471: a referral whose in-domain glue does not all fit has TC, and every glue RRset
// that fits is in it; sibling glue that does not fit is left out without TC.
void referral_glue(dns::Responder& responder) {
    current = "referral to wide.glue.test. in 512 bytes";
    Bytes q = header(0, 1, 0, 0, 0);
    question(q, "host.wide.glue.test.", dns::type::A);
    Response r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR);
    CHECK(!r.has(dns::flag::AA));
    CHECK(r.has(dns::flag::TC));
    CHECK(r.len <= 512);
    CHECK(r.counts[1] == 0);
    CHECK(count(r, 1, dns::type::NS) == 5);
    // The A records of all five servers fit, the AAAA records of the first three: ns4's
    // AAAA does not fit, and ns5's A after it still does.
    for (int i = 1; i <= 5; i++) {
        CHECK(has_record(r, 2, server(i), dns::type::A));
        CHECK(has_record(r, 2, server(i), dns::type::AAAA) == (i <= 3));
    }
    CHECK(r.counts[3] == 8);

    current = "referral to wide.glue.test. over TCP";
    r = ask(responder, q, dns::Transport::tcp);
    CHECK(!r.has(dns::flag::TC));
    CHECK(count(r, 2, dns::type::A) == 5 && count(r, 2, dns::type::AAAA) == 5);

    current = "referral to wide.glue.test. with EDNS 1232";
    Bytes qe = header(0, 1, 0, 0, 1);
    question(qe, "host.wide.glue.test.", dns::type::A);
    opt(qe, 1232);
    r = ask(responder, qe, dns::Transport::udp);
    CHECK(!r.has(dns::flag::TC));
    CHECK(count(r, 2, dns::type::A) == 5 && count(r, 2, dns::type::AAAA) == 5);
    CHECK(count(r, 2, dns::type::OPT) == 1);

    current = "referral to sibling.glue.test. (sibling glue) in 512 bytes";
    q = header(0, 1, 0, 0, 0);
    question(q, "host.sibling.glue.test.", dns::type::A);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR);
    CHECK(!r.has(dns::flag::TC));
    CHECK(count(r, 1, dns::type::NS) == 5);
    CHECK(count(r, 2, dns::type::A) == 5);
    CHECK(count(r, 2, dns::type::AAAA) == 3);
}

// RFC 6891 §7: FORMERR for a query without exactly one question still carries an OPT when
// the query had a valid one (RFC 7873 §5.4's cookie probe has no question).
void formerr_with_opt(dns::Responder& responder) {
    for (unsigned qd : {0u, 2u}) {
        current = qd == 0 ? "QDCOUNT 0 with an OPT" : "QDCOUNT 2 with an OPT";
        Bytes q = header(0, qd, 0, 0, 1);
        for (unsigned i = 0; i < qd; i++) {
            question(q, "www.glue.test.", dns::type::A);
        }
        opt(q, 4096);
        for (dns::Transport t : {dns::Transport::udp, dns::Transport::tcp}) {
            Response r = ask(responder, q, t);
            CHECK(r.id == 0x1234);
            CHECK(r.rcode() == dns::rcode::FORMERR);
            CHECK(r.counts[0] == 0);
            CHECK(r.counts[3] == 1);
            CHECK(count(r, 2, dns::type::OPT) == 1);
            CHECK(r.counts[3] == 1 && r.sections[2][0].owner == "." &&
                  r.sections[2][0].cls == 1232);
        }
    }
    current = "QDCOUNT 0 without an OPT";
    Response r = ask(responder, header(0, 0, 0, 0, 0), dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR);
    CHECK(r.counts[3] == 0);
}

// RFC 4035 §3.1.6: CD is copied into answers to QUERY only.
void cd_only_for_query(dns::Responder& responder) {
    const unsigned rd_cd = dns::flag::RD | dns::flag::CD;
    for (unsigned opcode : {1u, 2u, 4u, 5u, 15u}) {
        current = "CD in a query of another opcode";
        Bytes q = header(opcode << 11 | rd_cd, 1, 0, 0, 0);
        question(q, "www.glue.test.", dns::type::A);
        Response r = ask(responder, q, dns::Transport::udp);
        CHECK(r.rcode() == dns::rcode::NOTIMP);
        CHECK(((r.flags >> 11) & 0xF) == opcode);
        CHECK(!r.has(dns::flag::CD));
        CHECK(r.has(dns::flag::RD));
    }
    current = "CD in a QUERY";
    Bytes q = header(rd_cd, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    Response r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR);
    CHECK(r.has(dns::flag::CD) && r.has(dns::flag::RD));
}

// The TSIG record of a BADKEY answer: the query's key and algorithm, its time signed, no
// MAC, the query's id, error 17.
void check_badkey_tsig(const Record& rec, const char* key, const char* algorithm) {
    CHECK(rec.owner == key);
    CHECK(rec.type == dns::type::TSIG);
    CHECK(rec.cls == dns::cls::ANY);
    CHECK(rec.ttl == 0);
    Bytes expected;
    put_name(expected, algorithm);
    put16(expected, static_cast<unsigned>(kTimeSigned >> 32));
    put32(expected, static_cast<std::uint32_t>(kTimeSigned));
    put16(expected, 300);  // fudge
    put16(expected, 0);    // MAC size
    put16(expected, 0x1234); // original ID
    put16(expected, dns::tsig_error::BADKEY);
    put16(expected, 0); // other len
    CHECK(rec.rdata == expected);
}

// RFC 8945 §5.2: a key the server does not know gets NOTAUTH with an unsigned TSIG whose
// error is BADKEY; a TSIG out of place is FORMERR (§5.1).
void tsig_unknown_key(dns::Responder& responder) {
    current = "TSIG with an unknown key";
    Bytes q = header(dns::flag::RD, 1, 0, 0, 1);
    question(q, "www.glue.test.", dns::type::A);
    tsig(q, "unknown-key.", "hmac-sha256.");
    for (dns::Transport t : {dns::Transport::udp, dns::Transport::tcp}) {
        Response r = ask(responder, q, t);
        CHECK(r.rcode() == dns::rcode::NOTAUTH);
        CHECK(!r.has(dns::flag::AA));
        CHECK(r.counts[0] == 1 && r.counts[1] == 0 && r.counts[2] == 0);
        CHECK(r.counts[3] == 1);
        if (r.counts[3] == 1) {
            check_badkey_tsig(r.sections[2][0], "unknown-key.", "hmac-sha256.");
        }
    }

    current = "TSIG with an unknown key, and EDNS";
    q = header(0, 1, 0, 0, 2);
    question(q, "www.glue.test.", dns::type::A);
    opt(q, 1232);
    tsig(q, "Other.Key.", "hmac-sha512.");
    Response r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOTAUTH);
    CHECK(r.counts[3] == 2);
    if (r.counts[3] == 2) {
        CHECK(r.sections[2][0].type == dns::type::OPT);
        check_badkey_tsig(r.sections[2][1], "Other.Key.", "hmac-sha512.");
    }

    current = "TSIG before the OPT (not the last record)";
    q = header(0, 1, 0, 0, 2);
    question(q, "www.glue.test.", dns::type::A);
    tsig(q, "unknown-key.", "hmac-sha256.");
    opt(q, 1232);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR);
    CHECK(count(r, 2, dns::type::TSIG) == 0);

    current = "TSIG of class IN";
    q = header(0, 1, 0, 0, 1);
    question(q, "www.glue.test.", dns::type::A);
    tsig(q, "unknown-key.", "hmac-sha256.", dns::cls::IN);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR);
    CHECK(count(r, 2, dns::type::TSIG) == 0);

    current = "TSIG in the answer section";
    q = header(0, 1, 1, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    tsig(q, "unknown-key.", "hmac-sha256.");
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR);

    current = "TSIG with RDATA cut short";
    q = header(0, 1, 0, 0, 1);
    question(q, "www.glue.test.", dns::type::A);
    std::size_t at = q.size();
    tsig(q, "unknown-key.", "hmac-sha256.");
    q[at + 13 + 8 + 1]--; // RDLEN (after the 13-byte name, type, class, TTL) one less...
    q.pop_back();         // ...and the RDATA loses its last byte
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR);

    current = "no TSIG";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR && r.counts[1] == 1 && r.counts[3] == 0);
}

std::string hex(const std::uint8_t* p, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; i++) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string hmac_hex(dns::HashAlg alg, const std::string& key, const std::string& data) {
    dns::Hmac h(alg, reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
    // In two pieces, to go through the incremental path.
    h.update(reinterpret_cast<const std::uint8_t*>(data.data()), data.size() / 2);
    h.update(reinterpret_cast<const std::uint8_t*>(data.data()) + data.size() / 2,
             data.size() - data.size() / 2);
    std::uint8_t out[dns::kMaxDigest];
    h.finish(out);
    return hex(out, dns::digest_size(alg));
}

// RFC 2202 (HMAC-SHA-1) and RFC 4231 (HMAC-SHA-256, -512) test cases 2 and 6.
void hmac_vectors() {
    current = "HMAC test vectors";
    const std::string jefe = "Jefe", what = "what do ya want for nothing?";
    CHECK(hmac_hex(dns::HashAlg::sha1, jefe, what) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    CHECK(hmac_hex(dns::HashAlg::sha256, jefe, what) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hmac_hex(dns::HashAlg::sha512, jefe, what) ==
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    const std::string big = "Test Using Larger Than Block-Size Key - Hash Key First";
    CHECK(hmac_hex(dns::HashAlg::sha1, std::string(80, '\xaa'), big) ==
          "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    CHECK(hmac_hex(dns::HashAlg::sha256, std::string(131, '\xaa'), big) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    CHECK(hmac_hex(dns::HashAlg::sha512, std::string(131, '\xaa'), big) ==
          "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
          "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
}

void key_parsing() {
    current = "parse_tsig_key";
    dns::TsigKey key;
    std::string error;
    CHECK(dns::parse_tsig_key("hmac-sha512:Transfer.Key:c2VjcmV0", key, error));
    CHECK(key.name.to_text() == "Transfer.Key." && key.algorithm.to_text() == "hmac-sha512.");
    CHECK(key.hash == dns::HashAlg::sha512 && key.secret == "secret");
    CHECK(dns::parse_tsig_key("name.:c2VjcmV0", key, error)); // hmac-sha256 by default
    CHECK(key.hash == dns::HashAlg::sha256 && key.algorithm.to_text() == "hmac-sha256.");
    CHECK(!dns::parse_tsig_key("hmac-md5:name:c2VjcmV0", key, error));
    CHECK(error.find("unsupported TSIG algorithm 'hmac-md5'") != std::string::npos);
    CHECK(!dns::parse_tsig_key("hmac-sha1:name:not*base64", key, error));
    CHECK(error.find("not base64") != std::string::npos);
    CHECK(!dns::parse_tsig_key("just-a-name", key, error));
}

const std::string kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::uint64_t kNow = kTimeSigned + 100; // within the fudge of 300

std::uint64_t fixed_clock() { return kNow; }
std::uint64_t late_clock() { return kTimeSigned + 301; }

void hash_name(dns::Hmac& h, const char* text) {
    Bytes b;
    put_name(b, text);
    for (auto& c : b) {
        c = dns::ascii_lower(c);
    }
    h.update(b.data(), b.size());
}

void hash_bytes(dns::Hmac& h, const Bytes& b) { h.update(b.data(), b.size()); }

// Appends a TSIG signed with `secret` (RFC 8945 §4.3.1) to `m`, a message whose ARCOUNT does
// not count it yet; `mac_len` cuts the MAC short. Returns the MAC.
Bytes sign(Bytes& m, const char* key, const char* algorithm, dns::HashAlg alg,
           const std::string& secret, std::size_t mac_len = 0) {
    dns::Hmac h(alg, reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size());
    hash_bytes(h, m);
    hash_name(h, key);
    Bytes vars;
    put16(vars, dns::cls::ANY);
    put32(vars, 0);
    hash_bytes(h, vars);
    hash_name(h, algorithm);
    vars.clear();
    put16(vars, static_cast<unsigned>(kTimeSigned >> 32));
    put32(vars, static_cast<std::uint32_t>(kTimeSigned));
    put16(vars, 300); // fudge
    put16(vars, 0);   // error
    put16(vars, 0);   // other len
    hash_bytes(h, vars);
    std::uint8_t mac[dns::kMaxDigest];
    h.finish(mac);
    if (mac_len == 0) {
        mac_len = dns::digest_size(alg);
    }
    put_name(m, key);
    put16(m, dns::type::TSIG);
    put16(m, dns::cls::ANY);
    put32(m, 0);
    Bytes rdata;
    put_name(rdata, algorithm);
    put16(rdata, static_cast<unsigned>(kTimeSigned >> 32));
    put32(rdata, static_cast<std::uint32_t>(kTimeSigned));
    put16(rdata, 300);
    put16(rdata, static_cast<unsigned>(mac_len));
    rdata.insert(rdata.end(), mac, mac + mac_len);
    put16(rdata, static_cast<unsigned>(m[0] << 8 | m[1]));
    put16(rdata, 0);
    put16(rdata, 0);
    put16(m, static_cast<unsigned>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
    unsigned ar = static_cast<unsigned>(m[10] << 8 | m[11]) + 1;
    m[10] = static_cast<std::uint8_t>(ar >> 8);
    m[11] = static_cast<std::uint8_t>(ar);
    return Bytes(mac, mac + mac_len);
}

// Checks that the answer in out_buf (`r`) ends with a TSIG signed with `secret` over the
// query's MAC, the answer and the TSIG variables (RFC 8945 §4.3.2); returns its error.
unsigned check_signed(const Response& r, const Bytes& query_mac, const char* key,
                      const char* algorithm, dns::HashAlg alg, const std::string& secret,
                      std::uint64_t expect_time) {
    CHECK(!r.sections[2].empty() && r.sections[2].back().type == dns::type::TSIG);
    if (r.sections[2].empty() || r.sections[2].back().type != dns::type::TSIG) {
        return 0xFFFF;
    }
    const Record& t = r.sections[2].back();
    CHECK(t.owner == key);
    dns::Reader rd(t.rdata.data(), t.rdata.size());
    dns::Name alg_name;
    rd.name(alg_name);
    std::uint64_t time = std::uint64_t{rd.u16()} << 32;
    time |= rd.u32();
    std::uint16_t fudge = rd.u16();
    std::uint16_t mac_len = rd.u16();
    const std::uint8_t* mac = rd.bytes(mac_len);
    std::uint16_t orig_id = rd.u16();
    std::uint16_t error = rd.u16();
    std::uint16_t other_len = rd.u16();
    const std::uint8_t* other = rd.bytes(other_len);
    CHECK(rd.ok() && rd.remaining() == 0);
    CHECK(alg_name.to_text() == algorithm);
    CHECK(time == expect_time);
    CHECK(fudge == 300 && orig_id == 0x1234);
    CHECK(mac_len == dns::digest_size(alg));
    if (!rd.ok() || mac_len != dns::digest_size(alg)) {
        return error;
    }
    const std::size_t tsig_len = t.owner.size() + 1 + 10 + t.rdata.size();
    Bytes answer(out_buf, out_buf + r.len - tsig_len);
    answer[11] = static_cast<std::uint8_t>(answer[11] - 1); // ARCOUNT without the TSIG
    dns::Hmac h(alg, reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size());
    Bytes len;
    put16(len, static_cast<unsigned>(query_mac.size()));
    hash_bytes(h, len);
    hash_bytes(h, query_mac);
    hash_bytes(h, answer);
    hash_name(h, key);
    Bytes vars;
    put16(vars, dns::cls::ANY);
    put32(vars, 0);
    hash_bytes(h, vars);
    hash_name(h, algorithm);
    vars.clear();
    put16(vars, static_cast<unsigned>(time >> 32));
    put32(vars, static_cast<std::uint32_t>(time));
    put16(vars, fudge);
    put16(vars, error);
    put16(vars, other_len);
    vars.insert(vars.end(), other, other + other_len);
    hash_bytes(h, vars);
    std::uint8_t expected[dns::kMaxDigest];
    h.finish(expected);
    CHECK(hex(expected, mac_len) == hex(mac, mac_len));
    return error;
}

// RFC 8945 with configured keys: signed answers to signed queries (hmac-sha1, -sha256,
// -sha512), BADSIG (unsigned), BADTIME (signed, our time in the other data), MAC sizes.
void tsig_known_keys(const dns::ZoneSet& zones) {
    dns::Responder responder(zones);
    std::vector<dns::TsigKey> keys;
    std::string error;
    for (const char* spec : {"hmac-sha256:k256.:", "hmac-sha512:k512.example.:",
                             "hmac-sha1:k1.:"}) {
        dns::TsigKey key;
        // base64 of kSecret
        CHECK(dns::parse_tsig_key(std::string(spec) +
                                      "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                                  key, error));
        CHECK(key.secret == kSecret);
        keys.push_back(key);
    }
    responder.set_tsig_keys(keys);
    responder.set_clock(fixed_clock);

    struct Alg {
        const char* key;
        const char* name;
        dns::HashAlg hash;
    };
    for (const Alg& a : {Alg{"k256.", "hmac-sha256.", dns::HashAlg::sha256},
                         Alg{"k512.example.", "hmac-sha512.", dns::HashAlg::sha512},
                         Alg{"k1.", "hmac-sha1.", dns::HashAlg::sha1}}) {
        for (dns::Transport t : {dns::Transport::udp, dns::Transport::tcp}) {
            current = "a query signed with a known key";
            Bytes q = header(dns::flag::RD, 1, 0, 0, 0);
            question(q, "www.glue.test.", dns::type::A);
            Bytes mac = sign(q, a.key, a.name, a.hash, kSecret);
            Response r = ask(responder, q, t);
            CHECK(r.rcode() == dns::rcode::NOERROR && r.has(dns::flag::AA));
            CHECK(r.counts[1] == 1 && r.counts[3] == 1);
            CHECK(check_signed(r, mac, a.key, a.name, a.hash, kSecret, kNow) == 0);
        }
    }

    current = "signed, with EDNS, an NXDOMAIN";
    Bytes q = header(0, 1, 0, 0, 1);
    question(q, "nope.glue.test.", dns::type::A);
    opt(q, 1232);
    Bytes mac = sign(q, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret);
    Response r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NXDOMAIN && r.counts[2] == 1 && r.counts[3] == 2);
    CHECK(r.counts[3] == 2 && r.sections[2][0].type == dns::type::OPT);
    CHECK(check_signed(r, mac, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret, kNow) ==
          0);

    current = "signed, a referral truncated to 512 bytes";
    q = header(0, 1, 0, 0, 0);
    question(q, "host.wide.glue.test.", dns::type::A);
    mac = sign(q, "k512.example.", "hmac-sha512.", dns::HashAlg::sha512, kSecret);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.len <= 512 && r.has(dns::flag::TC) && count(r, 1, dns::type::NS) == 5);
    CHECK(check_signed(r, mac, "k512.example.", "hmac-sha512.", dns::HashAlg::sha512, kSecret,
                       kNow) == 0);

    current = "a key name in another case";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    mac = sign(q, "K256.", "HMAC-SHA256.", dns::HashAlg::sha256, kSecret);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR);
    CHECK(check_signed(r, mac, "K256.", "HMAC-SHA256.", dns::HashAlg::sha256, kSecret, kNow) ==
          0);

    current = "a wrong secret: BADSIG, unsigned";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    sign(q, "k256.", "hmac-sha256.", dns::HashAlg::sha256, "not the secret");
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOTAUTH && r.counts[1] == 0 && r.counts[3] == 1);
    if (r.counts[3] == 1) {
        const Bytes& rd = r.sections[2][0].rdata;
        // algorithm (13), time (6), fudge, MAC size 0, original ID, error BADSIG, other len 0
        CHECK(rd.size() == 13 + 6 + 2 + 2 + 2 + 2 + 2);
        CHECK(rd.size() == 29 && rd[21] == 0 && rd[22] == 0 && rd[25] == 0 && rd[26] == 16);
    }

    current = "a changed message: BADSIG";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    sign(q, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret);
    q[12 + 1] = 'W'; // "www" -> "Www" after signing
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOTAUTH);
    CHECK(r.counts[3] == 1 && r.sections[2][0].rdata.size() == 29 &&
          r.sections[2][0].rdata[26] == dns::tsig_error::BADSIG);

    current = "a known key name with another algorithm: BADKEY";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    sign(q, "k256.", "hmac-sha512.", dns::HashAlg::sha512, kSecret);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOTAUTH);
    CHECK(r.counts[3] == 1 && r.sections[2][0].rdata[26] == dns::tsig_error::BADKEY);

    current = "a MAC cut to 16 of 32 bytes is checked that far";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    mac = sign(q, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret, 16);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOERROR);
    CHECK(check_signed(r, mac, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret, kNow) ==
          0);

    current = "a MAC of 15 bytes (under half of SHA-256's): FORMERR";
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    sign(q, "k256.", "hmac-sha256.", dns::HashAlg::sha256, kSecret, 15);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::FORMERR && r.counts[3] == 0);

    current = "a query 301 s old: BADTIME, signed, our time in the other data";
    responder.set_clock(late_clock);
    q = header(0, 1, 0, 0, 0);
    question(q, "www.glue.test.", dns::type::A);
    mac = sign(q, "k1.", "hmac-sha1.", dns::HashAlg::sha1, kSecret);
    r = ask(responder, q, dns::Transport::udp);
    CHECK(r.rcode() == dns::rcode::NOTAUTH && r.counts[1] == 0);
    CHECK(check_signed(r, mac, "k1.", "hmac-sha1.", dns::HashAlg::sha1, kSecret,
                       kTimeSigned) == dns::tsig_error::BADTIME);
    if (!r.sections[2].empty()) {
        const Bytes& rd = r.sections[2].back().rdata;
        Bytes now;
        put16(now, static_cast<unsigned>(late_clock() >> 32));
        put32(now, static_cast<std::uint32_t>(late_clock()));
        CHECK(rd.size() > 6 && Bytes(rd.end() - 6, rd.end()) == now);
    }
}

} // namespace

int main(int argc, char** argv) {
    std::string dir = argc > 1 ? argv[1] : DNS_ZONES_DIR;
    std::string error;
    auto zone = dns::load_zone_file((dir + "/glue.test.zone").c_str(), nullptr, error);
    if (!zone) {
        std::printf("responder-test: %s\n", error.c_str());
        return 1;
    }
    dns::ZoneSet zones;
    zones.add(std::move(zone));
    dns::Responder responder(zones);
    referral_glue(responder);
    formerr_with_opt(responder);
    cd_only_for_query(responder);
    tsig_unknown_key(responder);
    hmac_vectors();
    key_parsing();
    tsig_known_keys(zones);
    std::printf("responder-test: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
