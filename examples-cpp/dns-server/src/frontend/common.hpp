// What every front end shares: the command line and loading the zones.
#pragma once

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
};

// Parses the command line. Returns -1 to go on, else the exit status (after --help or a
// usage error, which it has printed).
int parse_options(int argc, char** argv, Options& options);

// Loads every zone (the demo zone if none is given). On failure prints "FILE:LINE: reason"
// and returns false: the server must not start.
bool load_zones(const Options& options, dns::ZoneSet& zones);

// Prints one line per zone: its origin and record count.
void print_zones(const dns::ZoneSet& zones);

} // namespace frontend
