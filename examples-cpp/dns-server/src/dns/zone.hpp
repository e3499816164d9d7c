// The zone store: nodes (names) holding RRsets, found by case-insensitive exact match
// through an open-addressing hash index, so a lookup allocates nothing.
#pragma once

#include "name.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

struct RRset {
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    std::vector<std::string> rdata; // each in uncompressed wire form
};

struct Node {
    Name owner; // as written in the zone file
    std::vector<RRset> sets;
    bool delegation = false; // has NS and is not the apex: a zone cut
    const RRset* find(std::uint16_t type) const {
        for (const RRset& s : sets) {
            if (s.type == type) {
                return &s;
            }
        }
        return nullptr;
    }
};

class Zone {
public:
    explicit Zone(const Name& origin);

    const Name& origin() const { return origin_; }

    // Adds one record; duplicates are dropped, an RRset keeps the TTL of its first record.
    // Returns nullptr, or why the record is refused (outside the zone, CNAME and other data).
    const char* add(const Name& owner, std::uint16_t type, std::uint32_t ttl, std::string rdata);
    // Checks the zone as a whole (SOA and NS at the apex) and marks delegations; nullptr if
    // the zone is usable.
    const char* finish();

    // The node with exactly this name (case-insensitive), or nullptr. Names that only have
    // descendants (empty non-terminals) exist as nodes without RRsets.
    const Node* find(const Name& name) const;
    const Node& apex() const { return nodes_[0]; }
    const RRset& soa() const { return *soa_; } // valid after finish() succeeded
    // TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
    std::uint32_t negative_ttl() const { return negative_ttl_; }
    std::size_t node_count() const { return nodes_.size(); }
    std::size_t record_count() const;

private:
    Node* find_or_add(const Name& name);
    std::size_t find_index(std::string_view key) const; // returns nodes_.size() if absent
    void rehash();

    Name origin_;
    std::vector<Node> nodes_;
    std::vector<std::string> keys_;     // lower-cased wire names, parallel to nodes_
    std::vector<std::uint32_t> slots_;  // node index + 1; 0 = empty
    const RRset* soa_ = nullptr;
    std::uint32_t negative_ttl_ = 0;
};

// All zones served; a query goes to the zone with the longest matching origin.
class ZoneSet {
public:
    void add(std::unique_ptr<Zone> zone) { zones_.push_back(std::move(zone)); }
    const Zone* find(const Name& qname) const;
    const std::vector<std::unique_ptr<Zone>>& zones() const { return zones_; }

private:
    std::vector<std::unique_ptr<Zone>> zones_;
};

} // namespace dns
