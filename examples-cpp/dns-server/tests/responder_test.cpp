// Host unit tests of the responder: hand-made queries in, the response's wire bytes checked
// field by field. Run by `ctest` in a native build and by tests/dns.rs
// (responder_unit_tests_pass). usage: responder-test [ZONES_DIR]; exit status 0 when every
// check holds, else 1 with one line per failed check.
#include "dns/responder.hpp"
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
    std::printf("responder-test: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
