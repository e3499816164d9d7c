// RFC 1035 §5 master files: $ORIGIN, $TTL, SOA NS A AAAA CNAME MX TXT SRV PTR CAA HINFO and
// RFC 3597 generic records (TYPEnnn \# len hex), parentheses, comments, quoted strings,
// \X and \DDD escapes, relative names, `@`, omitted owners, TTL units (1h30m), class IN.
#pragma once

#include "zone.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace dns {

// Parses `text` (the contents of `filename`) into a finished zone. `origin` is the initial
// $ORIGIN (nullptr: none; the zone's apex is then the owner of its SOA record). On failure
// returns nullptr and sets `error` to "FILE:LINE: reason".
std::unique_ptr<Zone> parse_zone(std::string_view text, std::string_view filename,
                                 const Name* origin, std::string& error);

// Reads and parses a zone file; errors as for parse_zone (or "FILE: cannot read: …").
std::unique_ptr<Zone> load_zone_file(const char* path, const Name* origin, std::string& error);

} // namespace dns
