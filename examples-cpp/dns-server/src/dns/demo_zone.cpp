// The built-in demo zone, served when no zone file is given. zones/kiln.test.zone is the same
// text as a file (the tests check that the two agree).
#include "demo_zone.hpp"

namespace dns {

const char* const kDemoZone = R"ZONE($ORIGIN kiln.test.
$TTL 3600
@       IN  SOA ns1 hostmaster (
                2024060101 ; serial
                7200       ; refresh
                3600       ; retry
                1209600    ; expire
                300 )      ; minimum: negative answers are cached this long
        IN  NS   ns1
        IN  NS   ns2
        IN  MX   10 mail
        IN  MX   20 mail2.example.net.
        IN  TXT  "v=spf1 mx -all"
        IN  A    192.0.2.1
        IN  AAAA 2001:db8::1
        IN  CAA  0 issue "letsencrypt.org"
ns1     IN  A    192.0.2.53
        IN  AAAA 2001:db8::53
ns2     IN  A    192.0.2.54
www     IN  A    192.0.2.80
        IN  AAAA 2001:db8::80
mail    IN  A    192.0.2.25
        IN  AAAA 2001:db8::25
web     IN  CNAME www               ; one hop inside the zone
alias   IN  CNAME web               ; two hops
ftp     IN  CNAME files.example.org. ; leaves the zone
txt     IN  TXT  "hello from Kiln" "a second string; with \"quotes\""
_dns._udp   IN SRV 0 5 53 ns1
_dns._tcp   IN SRV 0 5 53 ns1
        IN  SRV  10 5 53 ns2
ptr     IN  PTR  www
*.wild  IN  A    192.0.2.99
        IN  TXT  "synthesized from *.wild"
deep.a.b    IN A 192.0.2.7          ; a.b and b are empty non-terminals
; a delegated child zone with glue
sub     IN  NS   ns1.sub
        IN  NS   ns.example.net.
ns1.sub IN  A    192.0.2.153
        IN  AAAA 2001:db8::153
)ZONE";

} // namespace dns
