// Answering: one query message in, one response message out, for every front end. It keeps
// the counters and allocates nothing per query (the response goes into the caller's buffer).
#pragma once

#include "name.hpp"
#include "tsig.hpp"
#include "wire.hpp"
#include "zone.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dns {

enum class Transport { udp, tcp };

struct Counters {
    std::uint64_t queries = 0;   // messages received
    std::uint64_t udp = 0;       // of which over UDP
    std::uint64_t tcp = 0;       // of which over TCP
    std::uint64_t dropped = 0;   // not answered: shorter than a header, or a response
    std::uint64_t truncated = 0; // answered with TC set
    std::uint64_t rcode[24] = {};
};

const char* rcode_name(unsigned rcode);

class Responder {
public:
    // The largest UDP payload this server sends with EDNS (the DNS flag day 2020 value).
    static constexpr std::size_t kMaxUdpPayload = 1232;
    // Responses are at most this long (TCP's 2-byte length); `out` must have this much room.
    static constexpr std::size_t kMaxMessage = 65535;

    explicit Responder(const ZoneSet& zones, std::string server_id = "kiln");

    // The TSIG keys signed queries are checked with (RFC 8945); none by default, and then
    // every signed query gets NOTAUTH/BADKEY.
    void set_tsig_keys(std::vector<TsigKey> keys) { keys_ = std::move(keys); }
    // The clock TSIG's time checks use: seconds since 1970 (default: time()).
    void set_clock(std::uint64_t (*now)()) { clock_ = now; }
    // TSIG's allowed clock difference, in our answers' TSIG records (RFC 8945 §10: 300 s).
    static constexpr std::uint16_t kTsigFudge = 300;

    // Answers one message. Returns the response's length in `out`, or 0: send nothing.
    std::size_t respond(const std::uint8_t* query, std::size_t len, Transport transport,
                        std::uint8_t* out);

    const Counters& counters() const { return counters_; }
    // One line: "queries=… udp=… tcp=… dropped=… truncated=… noerror=… …".
    std::string stats_line() const;

    static constexpr const char* kVersion = "kiln-dns 0.1";

private:
    static constexpr std::size_t kMaxItems = 48;
    static constexpr std::size_t kMaxChain = 12;
    enum Section { answer = 0, authority = 1, additional = 2 };
    struct Item {
        const Name* owner;
        const RRset* set;
        std::uint32_t ttl;
    };

    void reset();
    void add(Section s, const Name* owner, const RRset* set, std::uint32_t ttl);
    void add(Section s, const Name* owner, const RRset* set) { add(s, owner, set, set->ttl); }
    void add_address_records(const Zone& zone, const Name& target);
    void add_additional_for(const Zone& zone, const RRset& set);
    void add_soa(const Zone& zone);
    void answer_from_zone(const Zone& zone, const Name& qname, std::uint16_t qtype);
    void answer_chaos(const Name& qname, std::uint16_t qtype);
    // Writes the sections; false if the answer or authority did not fit, or (in a referral)
    // glue for a name server inside the delegated zone: TC.
    bool write_sections(Writer& w, std::uint16_t qclass, std::uint16_t counts[3]);
    // Checks the query's TSIG (tsig_ set): the key, the MAC over `query`, the time. Sets
    // tsig_key_used_ and tsig_status_ (0 or BADKEY, BADSIG, BADTIME); false when the MAC's
    // size is not allowed (FORMERR, RFC 8945 §5.2.2.1).
    bool verify_tsig(const std::uint8_t* query);
    // Appends the TSIG record to the answer in `w` (whose header counts do not include it
    // yet): signed with the query's key (RFC 8945 §5.3), or, after BADKEY or BADSIG,
    // unsigned with an empty MAC (§5.3.2).
    void write_tsig(Writer& w, std::uint16_t id);
    // Size of the record write_tsig appends.
    std::size_t tsig_size() const;
    void write_rr(Writer& w, const Name& owner, const RRset& set, std::size_t index,
                  std::uint16_t rclass, std::uint32_t ttl);

    const ZoneSet& zones_;
    std::string server_id_;
    Counters counters_;

    // Per-query scratch state, reused.
    Item items_[3][kMaxItems];
    std::size_t nitems_[3] = {};
    Name chain_[kMaxChain + 1];
    Name scratch_;
    bool aa_ = false;
    bool referral_ = false;
    const Name* cut_ = nullptr; // the delegation of a referral
    std::vector<TsigKey> keys_;
    std::uint64_t (*clock_)() = nullptr;
    // The query's TSIG record (RFC 8945 §4.2), when it had one.
    bool tsig_ = false;
    Name tsig_key_;
    Name tsig_algorithm_;
    std::uint64_t tsig_time_ = 0; // 48 bits: seconds since 1970
    std::uint16_t tsig_fudge_ = 0;
    std::uint16_t tsig_orig_id_ = 0;
    std::uint16_t tsig_query_error_ = 0;
    const std::uint8_t* tsig_mac_ = nullptr; // inside the query
    std::uint16_t tsig_mac_len_ = 0;
    const std::uint8_t* tsig_other_ = nullptr;
    std::uint16_t tsig_other_len_ = 0;
    std::size_t tsig_start_ = 0; // offset of the TSIG record in the query
    const TsigKey* tsig_key_used_ = nullptr;
    std::uint16_t tsig_status_ = 0;
    std::uint64_t tsig_now_ = 0;
    std::uint16_t rcode_ = 0;
    RRset chaos_set_;
};

} // namespace dns
