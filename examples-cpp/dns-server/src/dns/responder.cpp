#include "responder.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace dns {

namespace {

constexpr const char* kRcodeNames[24] = {
    "noerror", "formerr", "servfail", "nxdomain", "notimp",  "refused",  "yxdomain", "yxrrset",
    "nxrrset", "notauth", "notzone",  "rcode11",  "rcode12", "rcode13",  "rcode14",  "rcode15",
    "badvers", "rcode17", "rcode18",  "rcode19",  "rcode20", "rcode21",  "rcode22",  "rcode23"};

std::string txt_rdata(const std::string& text) {
    std::string out;
    for (std::size_t at = 0; at < text.size() || at == 0; at += 255) {
        std::string part = text.substr(at, 255);
        out += static_cast<char>(part.size());
        out += part;
        if (text.empty()) {
            break;
        }
    }
    return out;
}

// The domain name at the start of (or `skip` bytes into) a stored RDATA.
bool rdata_name(const std::string& rdata, std::size_t skip, Name& out) {
    Reader r(reinterpret_cast<const std::uint8_t*>(rdata.data()), rdata.size(), skip);
    return r.name(out);
}

void hash_u16(Hmac& h, std::uint16_t v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    h.update(b, 2);
}

void hash_u48(Hmac& h, std::uint64_t v) {
    std::uint8_t b[6];
    for (int i = 0; i < 6; i++) {
        b[i] = static_cast<std::uint8_t>(v >> (40 - 8 * i));
    }
    h.update(b, 6);
}

// RFC 8945 §4.3.3: the TSIG variables, names in canonical (lower-case, uncompressed) form.
void hash_tsig_variables(Hmac& h, const Name& key, const Name& algorithm, std::uint64_t time,
                         std::uint16_t fudge, std::uint16_t error, const std::uint8_t* other,
                         std::uint16_t other_len) {
    std::uint8_t buf[kMaxNameLen];
    h.update(buf, key.lower_key(buf));
    hash_u16(h, cls::ANY);
    hash_u16(h, 0); // TTL, 32 bits
    hash_u16(h, 0);
    h.update(buf, algorithm.lower_key(buf));
    hash_u48(h, time);
    hash_u16(h, fudge);
    hash_u16(h, error);
    hash_u16(h, other_len);
    if (other_len > 0) {
        h.update(other, other_len);
    }
}

Name make_name(const char* text) {
    Name n;
    const char* error = nullptr;
    Name::from_text(text, nullptr, n, error);
    return n;
}

} // namespace

const char* rcode_name(unsigned rcode) { return rcode < 24 ? kRcodeNames[rcode] : "rcode?"; }

Responder::Responder(const ZoneSet& zones, std::string server_id)
    : zones_(zones), server_id_(std::move(server_id)) {}

std::string Responder::stats_line() const {
    char buf[128];
    std::string out;
    std::snprintf(buf, sizeof buf, "queries=%llu udp=%llu tcp=%llu dropped=%llu truncated=%llu",
                  static_cast<unsigned long long>(counters_.queries),
                  static_cast<unsigned long long>(counters_.udp),
                  static_cast<unsigned long long>(counters_.tcp),
                  static_cast<unsigned long long>(counters_.dropped),
                  static_cast<unsigned long long>(counters_.truncated));
    out += buf;
    for (unsigned i = 0; i < 24; i++) {
        if (i <= rcode::REFUSED || i == rcode::BADVERS || counters_.rcode[i] != 0) {
            std::snprintf(buf, sizeof buf, " %s=%llu", rcode_name(i),
                          static_cast<unsigned long long>(counters_.rcode[i]));
            out += buf;
        }
    }
    return out;
}

void Responder::reset() {
    nitems_[0] = nitems_[1] = nitems_[2] = 0;
    aa_ = false;
    referral_ = false;
    cut_ = nullptr;
    tsig_ = false;
    tsig_key_used_ = nullptr;
    tsig_status_ = 0;
    rcode_ = rcode::NOERROR;
}

void Responder::add(Section s, const Name* owner, const RRset* set, std::uint32_t ttl) {
    for (std::size_t i = 0; i < nitems_[s]; i++) {
        if (items_[s][i].set == set && equal_ci(*items_[s][i].owner, *owner)) {
            return; // already there
        }
    }
    if (nitems_[s] < kMaxItems) {
        items_[s][nitems_[s]++] = Item{owner, set, ttl};
    }
}

void Responder::add_soa(const Zone& zone) {
    add(authority, &zone.origin(), &zone.soa(), zone.negative_ttl());
}

void Responder::add_address_records(const Zone& zone, const Name& target) {
    if (!is_subdomain(target, zone.origin())) {
        return; // not ours to vouch for
    }
    const Node* node = zone.find(target);
    if (node == nullptr) {
        return;
    }
    if (const RRset* a = node->find(type::A)) {
        add(additional, &node->owner, a);
    }
    if (const RRset* aaaa = node->find(type::AAAA)) {
        add(additional, &node->owner, aaaa);
    }
}

void Responder::add_additional_for(const Zone& zone, const RRset& set) {
    std::size_t skip;
    switch (set.type) {
    case type::NS: skip = 0; break;
    case type::MX: skip = 2; break;
    case type::SRV: skip = 6; break;
    default: return;
    }
    for (const std::string& rdata : set.rdata) {
        if (rdata_name(rdata, skip, scratch_)) {
            add_address_records(zone, scratch_);
        }
    }
}

void Responder::answer_from_zone(const Zone& zone, const Name& qname, std::uint16_t qtype) {
    aa_ = true;
    chain_[0] = qname;
    const std::size_t apex_labels = zone.origin().label_count();
    for (std::size_t step = 0; step < kMaxChain; step++) {
        const Name& cur = chain_[step];
        // A zone cut above (or at) the name: refer to the child zone. The DS of a child
        // lives in the parent, so a DS query at the cut itself is answered here.
        std::size_t below = cur.label_count() - apex_labels;
        for (std::size_t strip = below; strip-- > 0;) {
            const Node* node = zone.find(cur.ancestor(strip));
            if (node == nullptr) {
                break; // nothing deeper exists either
            }
            if (node->delegation && !(strip == 0 && qtype == type::DS)) {
                add(authority, &node->owner, node->find(type::NS));
                add_additional_for(zone, *node->find(type::NS));
                referral_ = true;
                cut_ = &node->owner;
                if (step == 0) {
                    aa_ = false;
                }
                return;
            }
        }
        const Node* node = zone.find(cur);
        if (node == nullptr) {
            // RFC 4592: the closest encloser's wildcard child, if any, answers for the name.
            std::size_t strip = 1;
            while (zone.find(cur.ancestor(strip)) == nullptr) {
                strip++;
            }
            scratch_ = Name();
            static const std::uint8_t star = '*';
            scratch_.append_label(&star, 1);
            if (!scratch_.append_name(cur.ancestor(strip))) {
                node = nullptr;
            } else {
                node = zone.find(scratch_);
            }
            if (node == nullptr) {
                rcode_ = rcode::NXDOMAIN;
                add_soa(zone);
                return;
            }
        }
        if (qtype == type::ANY) {
            // RFC 8482: one RRset (the one of the lowest type, as Knot DNS does), not all.
            const RRset* first = nullptr;
            for (const RRset& set : node->sets) {
                if (first == nullptr || set.type < first->type) {
                    first = &set;
                }
            }
            if (first == nullptr) {
                add_soa(zone);
            } else {
                add(answer, &cur, first);
                add_additional_for(zone, *first);
            }
            return;
        }
        if (const RRset* set = node->find(qtype)) {
            add(answer, &cur, set);
            add_additional_for(zone, *set);
            return;
        }
        const RRset* cname = node->find(type::CNAME);
        if (cname == nullptr) {
            add_soa(zone); // NODATA
            return;
        }
        add(answer, &cur, cname);
        Name& target = chain_[step + 1];
        if (!rdata_name(cname->rdata[0], 0, target) || !is_subdomain(target, zone.origin())) {
            return; // the chain leaves the zone: the resolver follows it
        }
        bool loop = false;
        for (std::size_t i = 0; i <= step; i++) {
            loop = loop || equal_ci(chain_[i], target);
        }
        if (loop) {
            return;
        }
    }
}

void Responder::answer_chaos(const Name& qname, std::uint16_t qtype) {
    static const Name version_bind = make_name("version.bind.");
    static const Name version_server = make_name("version.server.");
    static const Name id_server = make_name("id.server.");
    static const Name hostname_bind = make_name("hostname.bind.");
    static const Name stats = make_name("stats.kiln.");
    std::string text;
    if (equal_ci(qname, version_bind) || equal_ci(qname, version_server)) {
        text = kVersion;
    } else if (equal_ci(qname, id_server) || equal_ci(qname, hostname_bind)) {
        text = server_id_;
    } else if (equal_ci(qname, stats)) {
        text = stats_line(); // the counters before this query
    } else {
        rcode_ = rcode::REFUSED;
        return;
    }
    aa_ = true;
    if (qtype != type::TXT && qtype != type::ANY) {
        return; // NODATA
    }
    chaos_set_.type = type::TXT;
    chaos_set_.ttl = 0;
    chaos_set_.rdata.assign(1, txt_rdata(text));
    chain_[0] = qname;
    add(answer, &chain_[0], &chaos_set_);
}

void Responder::write_rr(Writer& w, const Name& owner, const RRset& set, std::size_t index,
                         std::uint16_t rclass, std::uint32_t ttl) {
    const std::string& rdata = set.rdata[index];
    const auto* data = reinterpret_cast<const std::uint8_t*>(rdata.data());
    w.name(owner, true);
    w.u16(set.type);
    w.u16(rclass);
    w.u32(ttl);
    std::size_t len_at = w.pos();
    w.u16(0);
    // RFC 3597 §4: only the RFC 1035 types' names are compressed.
    Reader r(data, rdata.size());
    Name name;
    switch (set.type) {
    case type::NS:
    case type::CNAME:
    case type::PTR:
        r.name(name);
        w.name(name, true);
        break;
    case type::MX:
        w.u16(r.u16());
        r.name(name);
        w.name(name, true);
        break;
    case type::SOA:
        r.name(name);
        w.name(name, true);
        r.name(name);
        w.name(name, true);
        w.bytes(data + r.pos(), rdata.size() - r.pos());
        break;
    default:
        w.bytes(data, rdata.size());
        break;
    }
    if (!w.overflow()) {
        w.put_u16_at(len_at, static_cast<std::uint16_t>(w.pos() - len_at - 2));
    }
}

bool Responder::write_sections(Writer& w, std::uint16_t qclass, std::uint16_t counts[3]) {
    bool complete = true;
    for (int s = 0; s < 3; s++) {
        counts[s] = 0;
        for (std::size_t i = 0; i < nitems_[s]; i++) {
            const Item& item = items_[s][i];
            Writer::Mark m = w.mark();
            for (std::size_t k = 0; k < item.set->rdata.size(); k++) {
                write_rr(w, *item.owner, *item.set, k, qclass, item.ttl);
            }
            if (w.overflow()) {
                w.rollback(m);
                // A whole RRset or nothing (RFC 2181 §9). Missing answers or authority mean
                // TC. Glue of a name server inside the delegated zone is the only way to
                // reach it: a referral without some of it has TC (RFC 9471 §3.1). Sibling
                // glue and other additional data may simply be left out. Either way the
                // RRsets after it that fit still go in.
                if (s != additional) {
                    return false;
                }
                if (referral_ && cut_ != nullptr && is_subdomain(*item.owner, *cut_)) {
                    complete = false;
                }
                continue;
            }
            counts[s] = static_cast<std::uint16_t>(counts[s] + item.set->rdata.size());
        }
    }
    return complete;
}

bool Responder::verify_tsig(const std::uint8_t* query) {
    tsig_now_ = clock_ != nullptr ? clock_() : static_cast<std::uint64_t>(std::time(nullptr));
    const TsigKey* key = nullptr;
    for (const TsigKey& k : keys_) {
        if (equal_ci(k.name, tsig_key_) && equal_ci(k.algorithm, tsig_algorithm_)) {
            key = &k;
        }
    }
    if (key == nullptr) {
        tsig_status_ = tsig_error::BADKEY; // RFC 8945 §5.2.1
        return true;
    }
    // §5.2.2.1: a MAC longer than the hash, or shorter than half of it (and 10 bytes), is
    // malformed; a truncated one at least that long is checked as far as it goes.
    const std::size_t full = digest_size(key->hash);
    const std::size_t shortest = full / 2 > 10 ? full / 2 : 10;
    if (tsig_mac_len_ > full || tsig_mac_len_ < shortest) {
        return false;
    }
    // §4.3.1: the query as it was before the TSIG was added (its original ID, ARCOUNT one
    // less), then the TSIG variables.
    Hmac h(key->hash, reinterpret_cast<const std::uint8_t*>(key->secret.data()),
           key->secret.size());
    std::uint8_t header[kHeaderLen];
    std::memcpy(header, query, kHeaderLen);
    std::uint16_t arcount = static_cast<std::uint16_t>((header[10] << 8 | header[11]) - 1);
    header[0] = static_cast<std::uint8_t>(tsig_orig_id_ >> 8);
    header[1] = static_cast<std::uint8_t>(tsig_orig_id_);
    header[10] = static_cast<std::uint8_t>(arcount >> 8);
    header[11] = static_cast<std::uint8_t>(arcount);
    h.update(header, kHeaderLen);
    h.update(query + kHeaderLen, tsig_start_ - kHeaderLen);
    hash_tsig_variables(h, tsig_key_, tsig_algorithm_, tsig_time_, tsig_fudge_,
                        tsig_query_error_, tsig_other_, tsig_other_len_);
    std::uint8_t mac[kMaxDigest];
    h.finish(mac);
    if (!equal_ct(mac, tsig_mac_, tsig_mac_len_)) {
        tsig_status_ = tsig_error::BADSIG; // §5.2.2
        return true;
    }
    tsig_key_used_ = key;
    // §5.2.3: the query's time must be within its fudge of ours; BADTIME answers are signed.
    if (tsig_now_ > tsig_time_ + tsig_fudge_ || tsig_time_ > tsig_now_ + tsig_fudge_) {
        tsig_status_ = tsig_error::BADTIME;
    }
    return true;
}

std::size_t Responder::tsig_size() const {
    std::size_t n = tsig_key_.size() + 10 + tsig_algorithm_.size() + 16;
    if (tsig_key_used_ != nullptr) {
        n += digest_size(tsig_key_used_->hash);
    }
    return tsig_status_ == tsig_error::BADTIME ? n + 6 : n;
}

void Responder::write_tsig(Writer& w, std::uint16_t id) {
    // Time signed: ours, except in unsigned errors and BADTIME, which carry the query's (and
    // BADTIME our time in the other data), as BIND and Knot DNS answer.
    const bool badtime = tsig_status_ == tsig_error::BADTIME;
    const std::uint64_t time =
        tsig_key_used_ != nullptr && !badtime ? tsig_now_ : tsig_time_;
    std::uint8_t other[6];
    const std::uint16_t other_len = badtime ? 6 : 0;
    for (int i = 0; i < 6; i++) {
        other[i] = static_cast<std::uint8_t>(tsig_now_ >> (40 - 8 * i));
    }
    std::uint8_t mac[kMaxDigest];
    std::uint16_t mac_len = 0;
    if (tsig_key_used_ != nullptr) {
        // RFC 8945 §4.3.2: the query's MAC, the answer so far, the TSIG variables.
        const TsigKey& key = *tsig_key_used_;
        Hmac h(key.hash, reinterpret_cast<const std::uint8_t*>(key.secret.data()),
               key.secret.size());
        hash_u16(h, tsig_mac_len_);
        h.update(tsig_mac_, tsig_mac_len_);
        h.update(w.buffer(), w.pos());
        hash_tsig_variables(h, tsig_key_, tsig_algorithm_, time, kTsigFudge, tsig_status_,
                            other, other_len);
        h.finish(mac);
        mac_len = static_cast<std::uint16_t>(digest_size(key.hash));
    }
    w.name(tsig_key_, false); // RFC 8945 §4.2: TSIG names are never compressed
    w.u16(type::TSIG);
    w.u16(cls::ANY);
    w.u32(0);
    std::size_t len_at = w.pos();
    w.u16(0);
    w.name(tsig_algorithm_, false);
    w.u16(static_cast<std::uint16_t>(time >> 32));
    w.u32(static_cast<std::uint32_t>(time));
    w.u16(kTsigFudge);
    w.u16(mac_len);
    w.bytes(mac, mac_len);
    w.u16(id); // original ID
    w.u16(tsig_status_);
    w.u16(other_len);
    w.bytes(other, other_len);
    if (!w.overflow()) {
        w.put_u16_at(len_at, static_cast<std::uint16_t>(w.pos() - len_at - 2));
    }
}

std::size_t Responder::respond(const std::uint8_t* query, std::size_t len, Transport transport,
                               std::uint8_t* out) {
    counters_.queries++;
    (transport == Transport::udp ? counters_.udp : counters_.tcp)++;
    if (len < kHeaderLen) {
        counters_.dropped++;
        return 0;
    }
    Reader r(query, len);
    std::uint16_t id = r.u16();
    std::uint16_t flags = r.u16();
    std::uint16_t qdcount = r.u16();
    std::uint16_t ancount = r.u16();
    std::uint16_t nscount = r.u16();
    std::uint16_t arcount = r.u16();
    if (flags & flag::QR) {
        counters_.dropped++; // never answer a response
        return 0;
    }
    reset();
    unsigned opcode = (flags >> 11) & 0xF;

    // The question.
    Name& qname = chain_[0];
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    if (qdcount == 1) {
        r.name(qname);
        qtype = r.u16();
        qclass = r.u16();
    } else {
        // Not a question this server answers (FORMERR), but read past them: an OPT after
        // them still gets one back (RFC 6891 §7), as RFC 7873 §5.4's cookie probe with no
        // question expects.
        for (std::uint32_t i = 0; i < qdcount && r.ok(); i++) {
            r.name(scratch_);
            r.u32();
        }
    }
    const bool have_question = qdcount == 1 && r.ok();
    // Answer and authority sections (unusual in a query) are skipped; EDNS and TSIG are read.
    bool edns = false;
    bool edns_ok = true;
    bool tsig_ok = true;
    bool do_bit = false;
    unsigned edns_version = 0;
    std::size_t udp_payload = 512;
    {
        const std::uint32_t records = std::uint32_t{ancount} + nscount + arcount;
        for (std::uint32_t i = 0; i < records && r.ok(); i++) {
            const std::size_t rr_start = r.pos();
            r.name(scratch_);
            std::uint16_t rtype = r.u16();
            std::uint16_t rclass = r.u16();
            std::uint32_t ttl = r.u32();
            std::uint16_t rdlen = r.u16();
            const std::uint8_t* rdata = r.bytes(rdlen);
            if (!r.ok()) {
                break;
            }
            if (rtype == type::TSIG) {
                // RFC 8945 §5.1: the last record of the additional section, class ANY, TTL 0;
                // anywhere else, or malformed, FORMERR.
                tsig_ok = !tsig_ && i + 1 == records && i >= std::uint32_t{ancount} + nscount &&
                          rclass == cls::ANY && ttl == 0;
                tsig_ = true;
                tsig_start_ = rr_start;
                tsig_key_ = scratch_;
                Reader t(rdata, rdlen);
                t.name(tsig_algorithm_);
                tsig_time_ = std::uint64_t{t.u16()} << 32;
                tsig_time_ |= t.u32();
                tsig_fudge_ = t.u16();
                tsig_mac_len_ = t.u16();
                tsig_mac_ = t.bytes(tsig_mac_len_);
                tsig_orig_id_ = t.u16();
                tsig_query_error_ = t.u16();
                tsig_other_len_ = t.u16();
                tsig_other_ = t.bytes(tsig_other_len_);
                tsig_ok = tsig_ok && t.ok() && t.remaining() == 0;
                continue;
            }
            if (rtype != type::OPT) {
                continue;
            }
            if (edns || i < std::uint32_t{ancount} + nscount || !scratch_.is_root()) {
                edns_ok = false; // a second OPT, or one out of place (RFC 6891 §6.1.1)
                continue;
            }
            edns = true;
            udp_payload = rclass < 512 ? 512 : rclass;
            edns_version = (ttl >> 16) & 0xFF;
            do_bit = (ttl & 0x8000) != 0;
            // The options must tile the RDATA exactly.
            Reader opts(rdata, rdlen);
            while (opts.ok() && opts.remaining() > 0) {
                opts.u16();
                opts.bytes(opts.u16());
            }
            edns_ok = edns_ok && opts.ok();
        }
    }
    bool parsed = r.ok() && r.remaining() == 0 && edns_ok && tsig_ok;
    // A signed query: its TSIG is checked before anything else is (RFC 8945 §5.2), and the
    // answer carries a TSIG record.
    bool send_tsig = false;
    if (tsig_ && parsed) {
        parsed = verify_tsig(query); // false: a MAC size that is not allowed, FORMERR
        send_tsig = parsed;
    }
    bool well_formed = have_question && parsed;

    std::size_t limit = kMaxMessage;
    if (transport == Transport::udp) {
        limit = edns ? (udp_payload < kMaxUdpPayload ? udp_payload : kMaxUdpPayload) : 512;
    }
    bool send_opt = edns && edns_ok;
    // The TSIG goes after the OPT; room for both is kept from the start.
    std::size_t reserve = (send_opt ? 11 : 0) + (send_tsig ? tsig_size() : 0);

    if (!parsed) {
        rcode_ = opcode != 0 ? rcode::NOTIMP : rcode::FORMERR;
    } else if (send_tsig && tsig_status_ != 0) {
        rcode_ = rcode::NOTAUTH; // BADKEY, BADSIG or BADTIME in the TSIG record
    } else if (opcode != 0) {
        rcode_ = rcode::NOTIMP;
    } else if (!well_formed) {
        rcode_ = rcode::FORMERR;
    } else if (edns_version > 0) {
        rcode_ = rcode::BADVERS;
    } else if (qclass == cls::CH) {
        answer_chaos(qname, qtype);
    } else if (qtype == type::OPT || (qtype >= 128 && qtype <= 250)) {
        rcode_ = rcode::FORMERR; // meta types are not questions
    } else if (qtype == type::AXFR || qtype == type::IXFR) {
        rcode_ = rcode::REFUSED; // no zone transfers
    } else if (qclass != cls::IN && qclass != cls::ANY) {
        rcode_ = rcode::REFUSED;
    } else if (const Zone* zone = zones_.find(qname)) {
        answer_from_zone(*zone, qname, qtype);
    } else {
        rcode_ = rcode::REFUSED;
    }

    // Header, question, sections, OPT, TSIG. Both names of a TSIG can be 255 bytes: with
    // no room for the header, question and TSIG in a UDP answer, it is the header with TC.
    bool echo_question = have_question && (rcode_ != rcode::FORMERR || well_formed);
    bool complete = true;
    if (reserve + kHeaderLen + (echo_question ? qname.size() + 4 : 0) > limit) {
        complete = false;
        echo_question = false;
        send_tsig = false;
        reserve = send_opt ? 11 : 0;
    }
    Writer w(out, limit - reserve);
    w.u16(id);
    w.u16(0); // flags, set below
    w.u16(echo_question ? 1 : 0);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    if (echo_question) {
        w.name(qname, true);
        w.u16(qtype);
        w.u16(qclass);
    }
    std::uint16_t counts[3] = {0, 0, 0};
    if (w.overflow()) {
        complete = false; // cannot happen: the room for the question was checked above
    } else {
        Writer::Mark after_question = w.mark();
        // Zone data is class IN (a query for class ANY gets it too); CHAOS answers are CH.
        complete = write_sections(w, qclass == cls::CH ? cls::CH : cls::IN, counts);
        if (!complete && !referral_) {
            w.rollback(after_question);
            counts[0] = counts[1] = counts[2] = 0;
        }
    }
    w.set_limit(limit);
    if (send_opt) {
        w.u8(0); // root
        w.u16(type::OPT);
        w.u16(static_cast<std::uint16_t>(kMaxUdpPayload));
        w.u8(static_cast<std::uint8_t>(rcode_ >> 4)); // extended rcode
        w.u8(0);                                      // version
        w.u16(do_bit ? 0x8000 : 0);
        w.u16(0);
        counts[2]++;
    }
    // CD means something only to a QUERY (RFC 4035 §3.1.6); RD is copied for every opcode.
    std::uint16_t copied = opcode == 0 ? flag::RD | flag::CD : flag::RD;
    std::uint16_t out_flags = flag::QR | static_cast<std::uint16_t>(opcode << 11) |
                              (flags & copied) | (rcode_ & 0xF);
    if (aa_) {
        out_flags |= flag::AA;
    }
    if (!complete) {
        out_flags |= flag::TC;
        counters_.truncated++;
    }
    w.put_u16_at(2, out_flags);
    w.put_u16_at(6, counts[0]);
    w.put_u16_at(8, counts[1]);
    w.put_u16_at(10, counts[2]);
    if (send_tsig) {
        write_tsig(w, id); // over the answer as it is now: the counts without the TSIG
        w.put_u16_at(10, static_cast<std::uint16_t>(counts[2] + 1));
    }
    counters_.rcode[rcode_ < 24 ? rcode_ : 0]++;
    return w.pos();
}

} // namespace dns
