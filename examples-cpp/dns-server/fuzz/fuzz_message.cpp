// libFuzzer target: any bytes as a query, over UDP and TCP, to a responder serving the demo
// zone. Checks that the response is a well-formed message within the transport's limit.
#include "dns/demo_zone.hpp"
#include "dns/responder.hpp"
#include "dns/zone_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

dns::Responder& responder() {
    static dns::ZoneSet zones = [] {
        dns::ZoneSet set;
        std::string error;
        set.add(dns::parse_zone(dns::kDemoZone, "demo", nullptr, error));
        return set;
    }();
    static dns::Responder r(zones);
    return r;
}

void check_response(const std::uint8_t* msg, std::size_t len, std::size_t limit) {
    if (len == 0) {
        return;
    }
    if (len < dns::kHeaderLen || len > limit) {
        std::abort();
    }
    dns::Reader r(msg, len);
    r.u16();
    std::uint16_t flags = r.u16();
    if (!(flags & dns::flag::QR)) {
        std::abort();
    }
    std::uint32_t counts[4];
    for (auto& c : counts) {
        c = r.u16();
    }
    dns::Name name;
    for (std::uint32_t i = 0; i < counts[0]; i++) {
        r.name(name);
        r.u32();
    }
    for (std::uint32_t i = 0; i < counts[1] + counts[2] + counts[3]; i++) {
        r.name(name);
        r.u16();
        r.u16();
        r.u32();
        r.bytes(r.u16());
    }
    if (!r.ok() || r.remaining() != 0) {
        std::abort(); // our own response must parse exactly
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::uint8_t out[dns::Responder::kMaxMessage];
    std::size_t n = responder().respond(data, size, dns::Transport::udp, out);
    check_response(out, n, dns::Responder::kMaxUdpPayload);
    n = responder().respond(data, size, dns::Transport::tcp, out);
    check_response(out, n, dns::Responder::kMaxMessage);
    return 0;
}
