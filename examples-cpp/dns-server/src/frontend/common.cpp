#include "common.hpp"

#include "dns/demo_zone.hpp"
#include "dns/zone_parser.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace frontend {

namespace {

const char* const kUsage =
    "usage: dns-server [-p PORT] [-a ADDRESS]... [--id TEXT] [--tsig-keys FILE] [--check]\n"
    "                  [--quiet] [--print-demo-zone] [ZONEFILE | ORIGIN=ZONEFILE]...\n"
    "An authoritative DNS server. Without zone files it serves the demo zone kiln.test.\n"
    "  -p, --port PORT      UDP and TCP port (default 53)\n"
    "  -a, --address ADDR   address to listen on, repeatable (default :: dual-stack)\n"
    "  --id TEXT            answer to CHAOS TXT id.server (default kiln)\n"
    "  --tsig-keys FILE     TSIG keys, one a line as dig -y takes them:\n"
    "                       [hmac-sha1|hmac-sha256|hmac-sha512:]NAME:BASE64SECRET\n"
    "  --check              load the zones, print them and exit\n"
    "  --quiet              print nothing at start-up\n"
    "  --print-demo-zone    print the built-in zone kiln.test. and exit\n"
    "Counters: dig @SERVER -p PORT CH TXT stats.kiln (also printed at exit).\n";

int usage_error(const char* what, const char* arg) {
    std::fprintf(stderr, "dns-server: %s%s%s; see dns-server --help\n", what, arg ? ": " : "",
                 arg ? arg : "");
    return 2;
}

} // namespace

int parse_options(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                return nullptr;
            }
            (void)name;
            return argv[++i];
        };
        if (std::strcmp(a, "-h") == 0 || std::strcmp(a, "--help") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (std::strcmp(a, "-p") == 0 || std::strcmp(a, "--port") == 0) {
            const char* v = value(a);
            char* end = nullptr;
            unsigned long port = v ? std::strtoul(v, &end, 10) : 0;
            if (v == nullptr || *v == '\0' || *end != '\0' || port == 0 || port > 65535) {
                return usage_error("-p needs a port number from 1 to 65535", v);
            }
            o.port = static_cast<unsigned>(port);
        } else if (std::strcmp(a, "-a") == 0 || std::strcmp(a, "--address") == 0) {
            const char* v = value(a);
            if (v == nullptr) {
                return usage_error("-a needs an IPv4 or IPv6 address", nullptr);
            }
            o.addresses.emplace_back(v);
        } else if (std::strcmp(a, "--id") == 0) {
            const char* v = value(a);
            if (v == nullptr) {
                return usage_error("--id needs a text", nullptr);
            }
            o.id = v;
        } else if (std::strcmp(a, "--tsig-keys") == 0) {
            const char* v = value(a);
            if (v == nullptr) {
                return usage_error("--tsig-keys needs a key file", nullptr);
            }
            o.key_file = v;
        } else if (std::strcmp(a, "--check") == 0) {
            o.check = true;
        } else if (std::strcmp(a, "--quiet") == 0) {
            o.quiet = true;
        } else if (std::strcmp(a, "--print-demo-zone") == 0) {
            o.print_demo_zone = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else {
            o.zones.emplace_back(a);
        }
    }
    if (o.print_demo_zone) {
        std::fputs(dns::kDemoZone, stdout);
        return 0;
    }
    return -1;
}

namespace {

// Loads every zone into `zones`; on failure returns false with the reason in `error`.
bool load_zones_into(const Options& o, dns::ZoneSet& zones, std::string& error) {
    if (o.zones.empty()) {
        auto zone = dns::parse_zone(dns::kDemoZone, "<built-in kiln.test.>", nullptr, error);
        if (!zone) {
            return false;
        }
        zones.add(std::move(zone));
        return true;
    }
    for (const std::string& arg : o.zones) {
        std::string path = arg;
        dns::Name origin;
        bool have_origin = false;
        std::size_t eq = arg.find('=');
        if (eq != std::string::npos) {
            const char* why = nullptr;
            std::string text = arg.substr(0, eq);
            if (text.empty() || text.back() != '.') {
                text += '.';
            }
            if (!dns::Name::from_text(text, nullptr, origin, why)) {
                error = "bad zone origin in " + arg + ": " + why;
                return false;
            }
            have_origin = true;
            path = arg.substr(eq + 1);
        }
        auto zone = dns::load_zone_file(path.c_str(), have_origin ? &origin : nullptr, error);
        if (!zone) {
            return false;
        }
        for (const auto& other : zones.zones()) {
            if (dns::equal_ci(other->origin(), zone->origin())) {
                error = path + ": zone " + zone->origin().to_text() + " is given twice";
                return false;
            }
        }
        zones.add(std::move(zone));
    }
    return true;
}

} // namespace

bool load_zones(const Options& o, dns::ZoneSet& zones) {
    std::string error;
    if (!load_zones_into(o, zones, error)) {
        std::fprintf(stderr, "dns-server: %s\n", error.c_str());
        return false;
    }
    return true;
}

bool load_keys(const Options& o, std::vector<dns::TsigKey>& keys) {
    if (o.key_file.empty()) {
        return true;
    }
    std::string error;
    if (!dns::load_tsig_keys(o.key_file.c_str(), keys, error)) {
        std::fprintf(stderr, "dns-server: %s\n", error.c_str());
        return false;
    }
    if (!o.quiet || o.check) {
        std::printf("dns-server: %zu TSIG key%s from %s\n", keys.size(),
                    keys.size() == 1 ? "" : "s", o.key_file.c_str());
    }
    return true;
}

bool reload_zones(const Options& o, dns::ZoneSet& zones) {
    dns::ZoneSet fresh;
    std::string error;
    if (!load_zones_into(o, fresh, error)) {
        std::fprintf(stderr, "dns-server: SIGHUP: %s; still serving the zones loaded before\n",
                     error.c_str());
        return false;
    }
    zones = std::move(fresh);
    for (const auto& zone : zones.zones()) {
        std::fprintf(stderr, "dns-server: SIGHUP: reloaded zone %s: %zu records\n",
                     zone->origin().to_text().c_str(), zone->record_count());
    }
    return true;
}

void print_zones(const dns::ZoneSet& zones) {
    for (const auto& zone : zones.zones()) {
        std::printf("dns-server: zone %s: %zu records, %zu names\n",
                    zone->origin().to_text().c_str(), zone->record_count(),
                    zone->node_count());
    }
}

unsigned published_port(const char* published, unsigned port, const char* proto) {
    if (published == nullptr) {
        return 0;
    }
    const bool want_udp = std::strcmp(proto, "udp") == 0;
    for (const char* at = published; *at != '\0';) {
        const char* end = std::strchr(at, ',');
        std::string entry(at, end ? static_cast<std::size_t>(end - at) : std::strlen(at));
        at = end ? end + 1 : at + entry.size();
        bool udp = false;
        std::size_t slash = entry.find('/');
        if (slash != std::string::npos) {
            udp = entry.compare(slash + 1, std::string::npos, "udp") == 0;
            entry.resize(slash);
        }
        std::size_t colon = entry.find(':');
        if (colon == std::string::npos || udp != want_udp) {
            continue;
        }
        char* rest = nullptr;
        unsigned long host = std::strtoul(entry.c_str(), &rest, 10);
        if (rest != entry.c_str() + colon) {
            continue;
        }
        const char* guest_text = entry.c_str() + colon + 1;
        unsigned long guest = std::strtoul(guest_text, &rest, 10);
        if (*guest_text != '\0' && *rest == '\0' && guest == port && host > 0 && host <= 65535) {
            return static_cast<unsigned>(host);
        }
    }
    return 0;
}

void print_listening(const Options& options, const dns::ZoneSet& zones) {
    std::string name = "www." + zones.zones()[0]->origin().to_text();
    if (name.size() > 1 && name.back() == '.') {
        name.pop_back();
    }
    const char* published = std::getenv("KILN_PUBLISHED");
    unsigned udp = published_port(published, options.port, "udp");
    unsigned tcp = published_port(published, options.port, "tcp");
    if (udp != 0 || tcp != 0) {
        // Run by `kiln run -p`: the host reaches us on its own port(s), through loopback.
        std::printf("dns-server: listening on port %u (UDP and TCP); from the host try: "
                    "dig @127.0.0.1 -p %u %s%s\n",
                    options.port, udp != 0 ? udp : tcp, name.c_str(), udp != 0 ? "" : " +tcp");
        if (udp != 0 && tcp != 0 && tcp != udp) {
            std::printf("dns-server: over TCP: dig @127.0.0.1 -p %u +tcp %s\n", tcp,
                        name.c_str());
        }
    } else {
        std::printf("dns-server: listening on port %u (UDP and TCP); try: dig @%s -p %u %s\n",
                    options.port,
                    options.addresses.empty() ? "127.0.0.1" : options.addresses[0].c_str(),
                    options.port, name.c_str());
    }
    std::fflush(stdout);
}

void print_stopped(const std::string& stats_line) {
    std::fprintf(stderr, "dns-server: stopped; %s\n", stats_line.c_str());
}

} // namespace frontend
