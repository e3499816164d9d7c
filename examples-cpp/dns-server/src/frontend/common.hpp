// What every front end shares: the command line and loading the zones.
#pragma once

#include "dns/tsig.hpp"
#include "dns/zone.hpp"

#include <string>
#include <vector>

namespace frontend {

struct Options {
    unsigned port = 53;
    std::vector<std::string> addresses; // empty: "::" (dual-stack), else 0.0.0.0
    std::string id = "kiln";            // CHAOS id.server / hostname.bind
    bool check = false;                 // load the zones, print them, exit
    bool print_demo_zone = false;
    bool quiet = false;                 // no start-up lines
    std::vector<std::string> zones;     // FILE or ORIGIN=FILE
    std::string key_file;               // --tsig-keys FILE: TSIG keys, or none
};

// Parses the command line. Returns -1 to go on, else the exit status (after --help or a
// usage error, which it has printed).
int parse_options(int argc, char** argv, Options& options);

// Loads every zone (the demo zone if none is given). On failure prints "FILE:LINE: reason"
// and returns false: the server must not start.
bool load_zones(const Options& options, dns::ZoneSet& zones);

// Loads the TSIG keys of --tsig-keys (none without it). On failure prints "FILE:LINE:
// reason" and returns false: the server must not start.
bool load_keys(const Options& options, std::vector<dns::TsigKey>& keys);

// SIGHUP: loads the zone files again into a fresh set and, only if every one loads, puts it
// in place of `zones` (a query never sees a half-loaded set: both front ends answer between
// reloads). On failure prints "dns-server: SIGHUP: FILE:LINE: reason; still serving the
// zones loaded before" and keeps `zones`. Returns whether the new zones are in place.
bool reload_zones(const Options& options, dns::ZoneSet& zones);

// Prints one line per zone: its origin and record count.
void print_zones(const dns::ZoneSet& zones);

// The port a client on the host uses to reach our `port` over `proto` ("udp" or "tcp"), from
// KILN_PUBLISHED=HOST:GUEST[/udp],... (set by `kiln run -p`; TCP when no /udp): the HOST of
// the first entry whose GUEST is `port`, or 0 when the variable is absent or names none.
unsigned published_port(const char* published, unsigned port, const char* proto);

// Prints the start-up line with the dig command that queries this server: from the host
// through `kiln run -p` when KILN_PUBLISHED forwards our port, else directly.
void print_listening(const Options& options, const dns::ZoneSet& zones);

// Prints the counters line to stderr ("dns-server: stopped; queries=..."), as at exit.
void print_stopped(const std::string& stats_line);

} // namespace frontend
