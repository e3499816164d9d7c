#include "zone.hpp"

#include "wire.hpp"

namespace dns {

namespace {

std::uint64_t hash_key(std::string_view key) {
    std::uint64_t h = 1469598103934665603ull; // FNV-1a
    for (char c : key) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 1099511628211ull;
    }
    return h;
}

std::string_view key_of(const Name& name, std::uint8_t* buf) {
    return {reinterpret_cast<const char*>(buf), name.lower_key(buf)};
}

} // namespace

Zone::Zone(const Name& origin) : origin_(origin) {
    slots_.assign(64, 0);
    find_or_add(origin);
}

std::size_t Zone::find_index(std::string_view key) const {
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        std::uint32_t slot = slots_[i];
        if (slot == 0) {
            return nodes_.size();
        }
        if (keys_[slot - 1] == key) {
            return slot - 1;
        }
    }
}

void Zone::rehash() {
    slots_.assign(slots_.size() * 2, 0);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t n = 0; n < keys_.size(); n++) {
        std::size_t i = hash_key(keys_[n]) & mask;
        while (slots_[i] != 0) {
            i = (i + 1) & mask;
        }
        slots_[i] = static_cast<std::uint32_t>(n + 1);
    }
}

const Node* Zone::find(const Name& name) const {
    std::uint8_t buf[kMaxNameLen];
    std::size_t i = find_index(key_of(name, buf));
    return i < nodes_.size() ? &nodes_[i] : nullptr;
}

Node* Zone::find_or_add(const Name& name) {
    std::uint8_t buf[kMaxNameLen];
    std::string_view key = key_of(name, buf);
    std::size_t i = find_index(key);
    if (i < nodes_.size()) {
        return &nodes_[i];
    }
    if ((nodes_.size() + 1) * 2 > slots_.size()) {
        rehash();
    }
    nodes_.push_back(Node{name, {}, false});
    keys_.emplace_back(key);
    std::size_t mask = slots_.size() - 1;
    std::size_t s = hash_key(key) & mask;
    while (slots_[s] != 0) {
        s = (s + 1) & mask;
    }
    slots_[s] = static_cast<std::uint32_t>(nodes_.size());
    return &nodes_.back();
}

const char* Zone::add(const Name& owner, std::uint16_t type, std::uint32_t ttl,
                      std::string rdata) {
    if (!is_subdomain(owner, origin_)) {
        return "owner name is outside the zone";
    }
    if (type == type::SOA && !equal_ci(owner, origin_)) {
        return "SOA record not at the zone apex";
    }
    if (type == type::CNAME && equal_ci(owner, origin_)) {
        return "CNAME at the zone apex";
    }
    // Empty non-terminals: every name between the owner and the apex exists.
    for (std::size_t up = 1; up < owner.label_count() - origin_.label_count(); up++) {
        find_or_add(owner.ancestor(up));
    }
    Node& node = *find_or_add(owner);
    for (RRset& set : node.sets) {
        if (type == type::CNAME && set.type != type::CNAME) {
            return "CNAME and other data at the same name";
        }
        if (type != type::CNAME && set.type == type::CNAME) {
            return "other data at a name that has a CNAME";
        }
        if (set.type != type) {
            continue;
        }
        if (type == type::CNAME) {
            return "more than one CNAME at the same name";
        }
        if (type == type::SOA) {
            return "more than one SOA record";
        }
        for (const std::string& existing : set.rdata) {
            if (existing == rdata) {
                return nullptr; // a duplicate record is one record (RFC 2181 §5)
            }
        }
        set.rdata.push_back(std::move(rdata));
        return nullptr;
    }
    node.sets.push_back(RRset{type, ttl, {std::move(rdata)}});
    return nullptr;
}

const char* Zone::finish() {
    Node& apex = nodes_[0];
    soa_ = apex.find(type::SOA);
    if (soa_ == nullptr) {
        return "no SOA record at the zone apex";
    }
    if (apex.find(type::NS) == nullptr) {
        return "no NS records at the zone apex";
    }
    const std::string& soa = soa_->rdata[0];
    // The last four bytes of SOA RDATA are MINIMUM.
    std::size_t n = soa.size();
    std::uint32_t minimum = std::uint32_t{static_cast<std::uint8_t>(soa[n - 4])} << 24 |
                            std::uint32_t{static_cast<std::uint8_t>(soa[n - 3])} << 16 |
                            std::uint32_t{static_cast<std::uint8_t>(soa[n - 2])} << 8 |
                            static_cast<std::uint8_t>(soa[n - 1]);
    negative_ttl_ = soa_->ttl < minimum ? soa_->ttl : minimum;
    for (std::size_t i = 1; i < nodes_.size(); i++) {
        nodes_[i].delegation = nodes_[i].find(type::NS) != nullptr;
    }
    return nullptr;
}

std::size_t Zone::record_count() const {
    std::size_t count = 0;
    for (const Node& node : nodes_) {
        for (const RRset& set : node.sets) {
            count += set.rdata.size();
        }
    }
    return count;
}

const Zone* ZoneSet::find(const Name& qname) const {
    const Zone* best = nullptr;
    for (const auto& zone : zones_) {
        if (is_subdomain(qname, zone->origin()) &&
            (best == nullptr || zone->origin().label_count() > best->origin().label_count())) {
            best = zone.get();
        }
    }
    return best;
}

} // namespace dns
