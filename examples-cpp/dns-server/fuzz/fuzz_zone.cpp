// libFuzzer target: any text as a master file, with and without an initial $ORIGIN. A zone
// that loads is then asked for its apex SOA, which must be answered.
#include "dns/responder.hpp"
#include "dns/zone_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    dns::Name origin;
    const char* why = nullptr;
    dns::Name::from_text("fuzz.test.", nullptr, origin, why);
    const dns::Name* starts[] = {nullptr, &origin};
    for (const dns::Name* start : starts) {
        std::string error;
        auto zone = dns::parse_zone(text, "fuzz.zone", start, error);
        if (!zone) {
            if (error.rfind("fuzz.zone:", 0) != 0) {
                std::abort(); // every error names the file and line
            }
            continue;
        }
        // Ask for the SOA of the apex.
        std::uint8_t query[300] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        const dns::Name& apex = zone->origin();
        std::size_t at = 12;
        for (std::size_t i = 0; i < apex.size(); i++) {
            query[at++] = apex.data()[i];
        }
        query[at++] = 0;
        query[at++] = dns::type::SOA;
        query[at++] = 0;
        query[at++] = dns::cls::IN;
        dns::ZoneSet zones;
        zones.add(std::move(zone));
        dns::Responder responder(zones);
        static std::uint8_t out[dns::Responder::kMaxMessage];
        std::size_t n = responder.respond(query, at, dns::Transport::tcp, out);
        if (n < 12 || (out[3] & 0xF) != dns::rcode::NOERROR || out[7] != 1) {
            std::abort(); // one SOA record in the answer
        }
    }
    return 0;
}
