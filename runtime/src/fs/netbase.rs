//! `/etc/services` and `/etc/protocols`: the well-known port and protocol numbers (IANA's
//! assignments), in the format and with the names and aliases of Debian's `netbase` files,
//! for musl's `getservbyname`/`getservbyport` (which read `/etc/services`) and for programs
//! that read `/etc/protocols` themselves (musl's `getprotobyname` has a built-in table).
//!
//! A compact table, not netbase's whole files taken at build time: an image must not depend
//! on the build host's files (netbase may be absent or differ), and the 127 service entries
//! here (every service a server commonly names, with each transport netbase lists) are
//! 2.3 KB where netbase's file is 12.8 KB of mostly historic protocols. All 57 of netbase's
//! protocol entries are kept. The tests below check that every line here is one of Debian's
//! own, and `tests/programs/netdb.c` compares lookups in the guest with Linux's.

/// The lines of `/etc/services` (name, port/protocol, aliases), sorted by port.
pub const SERVICES: &[&str] = &[
    "tcpmux\t1/tcp\n",
    "echo\t7/tcp\n",
    "echo\t7/udp\n",
    "discard\t9/tcp\tsink null\n",
    "discard\t9/udp\tsink null\n",
    "daytime\t13/tcp\n",
    "daytime\t13/udp\n",
    "qotd\t17/tcp\tquote\n",
    "chargen\t19/tcp\tttytst source\n",
    "chargen\t19/udp\tttytst source\n",
    "ftp-data\t20/tcp\n",
    "ftp\t21/tcp\n",
    "ssh\t22/tcp\n",
    "telnet\t23/tcp\n",
    "smtp\t25/tcp\tmail\n",
    "time\t37/tcp\ttimserver\n",
    "time\t37/udp\ttimserver\n",
    "whois\t43/tcp\tnicname\n",
    "tacacs\t49/tcp\n",
    "tacacs\t49/udp\n",
    "domain\t53/tcp\n",
    "domain\t53/udp\n",
    "bootps\t67/udp\n",
    "bootpc\t68/udp\n",
    "tftp\t69/udp\n",
    "gopher\t70/tcp\n",
    "finger\t79/tcp\n",
    "http\t80/tcp\twww\n",
    "kerberos\t88/tcp\tkerberos5 krb5 kerberos-sec\n",
    "kerberos\t88/udp\tkerberos5 krb5 kerberos-sec\n",
    "pop3\t110/tcp\tpop-3\n",
    "sunrpc\t111/tcp\tportmapper\n",
    "sunrpc\t111/udp\tportmapper\n",
    "auth\t113/tcp\tauthentication tap ident\n",
    "nntp\t119/tcp\treadnews untp\n",
    "ntp\t123/udp\n",
    "epmap\t135/tcp\tloc-srv\n",
    "netbios-ns\t137/udp\n",
    "netbios-dgm\t138/udp\n",
    "netbios-ssn\t139/tcp\n",
    "imap2\t143/tcp\timap\n",
    "snmp\t161/tcp\n",
    "snmp\t161/udp\n",
    "snmp-trap\t162/tcp\tsnmptrap\n",
    "snmp-trap\t162/udp\tsnmptrap\n",
    "bgp\t179/tcp\n",
    "ldap\t389/tcp\n",
    "ldap\t389/udp\n",
    "https\t443/tcp\n",
    "https\t443/udp\n",
    "microsoft-ds\t445/tcp\n",
    "kpasswd\t464/tcp\n",
    "kpasswd\t464/udp\n",
    "submissions\t465/tcp\tssmtp smtps urd\n",
    "isakmp\t500/udp\n",
    "shell\t514/tcp\tcmd syslog\n",
    "syslog\t514/udp\n",
    "printer\t515/tcp\tspooler\n",
    "talk\t517/udp\n",
    "ntalk\t518/udp\n",
    "route\t520/udp\trouter routed\n",
    "uucp\t540/tcp\tuucpd\n",
    "dhcpv6-client\t546/udp\n",
    "dhcpv6-server\t547/udp\n",
    "rtsp\t554/tcp\n",
    "rtsp\t554/udp\n",
    "nntps\t563/tcp\tsnntp\n",
    "submission\t587/tcp\n",
    "ipp\t631/tcp\n",
    "ldaps\t636/tcp\n",
    "ldaps\t636/udp\n",
    "domain-s\t853/tcp\n",
    "domain-s\t853/udp\n",
    "rsync\t873/tcp\n",
    "ftps-data\t989/tcp\n",
    "ftps\t990/tcp\n",
    "telnets\t992/tcp\n",
    "imaps\t993/tcp\n",
    "pop3s\t995/tcp\n",
    "socks\t1080/tcp\n",
    "openvpn\t1194/tcp\n",
    "openvpn\t1194/udp\n",
    "ms-sql-s\t1433/tcp\n",
    "ms-sql-m\t1434/udp\n",
    "radius\t1812/tcp\n",
    "radius\t1812/udp\n",
    "radius-acct\t1813/tcp\tradacct\n",
    "radius-acct\t1813/udp\tradacct\n",
    "nfs\t2049/tcp\n",
    "nfs\t2049/udp\n",
    "cvspserver\t2401/tcp\n",
    "gpsd\t2947/tcp\n",
    "iscsi-target\t3260/tcp\n",
    "mysql\t3306/tcp\n",
    "ms-wbt-server\t3389/tcp\n",
    "distcc\t3632/tcp\n",
    "svn\t3690/tcp\tsubversion\n",
    "sieve\t4190/tcp\n",
    "epmd\t4369/tcp\n",
    "ntske\t4460/tcp\n",
    "ipsec-nat-t\t4500/udp\n",
    "munin\t4949/tcp\tlrrd\n",
    "sip\t5060/tcp\n",
    "sip\t5060/udp\n",
    "sip-tls\t5061/tcp\n",
    "sip-tls\t5061/udp\n",
    "xmpp-client\t5222/tcp\tjabber-client\n",
    "xmpp-server\t5269/tcp\tjabber-server\n",
    "mdns\t5353/udp\n",
    "postgresql\t5432/tcp\tpostgres\n",
    "nrpe\t5666/tcp\n",
    "amqps\t5671/tcp\n",
    "amqp\t5672/tcp\n",
    "amqp\t5672/sctp\n",
    "x11\t6000/tcp\tx11-0\n",
    "redis\t6379/tcp\n",
    "syslog-tls\t6514/tcp\n",
    "ircd\t6667/tcp\n",
    "babel\t6696/udp\n",
    "ircs-u\t6697/tcp\n",
    "http-alt\t8080/tcp\twebcache\n",
    "puppet\t8140/tcp\n",
    "git\t9418/tcp\n",
    "webmin\t10000/tcp\n",
    "zabbix-agent\t10050/tcp\n",
    "zabbix-trapper\t10051/tcp\n",
    "hkp\t11371/tcp\n",
];

/// The lines of `/etc/protocols` (name, number, aliases), sorted by number.
pub const PROTOCOLS: &[&str] = &[
    "ip\t0\tIP\n",
    "hopopt\t0\tHOPOPT\n",
    "icmp\t1\tICMP\n",
    "igmp\t2\tIGMP\n",
    "ggp\t3\tGGP\n",
    "ipencap\t4\tIP-ENCAP\n",
    "st\t5\tST\n",
    "tcp\t6\tTCP\n",
    "egp\t8\tEGP\n",
    "igp\t9\tIGP\n",
    "pup\t12\tPUP\n",
    "udp\t17\tUDP\n",
    "hmp\t20\tHMP\n",
    "xns-idp\t22\tXNS-IDP\n",
    "rdp\t27\tRDP\n",
    "iso-tp4\t29\tISO-TP4\n",
    "dccp\t33\tDCCP\n",
    "xtp\t36\tXTP\n",
    "ddp\t37\tDDP\n",
    "idpr-cmtp\t38\tIDPR-CMTP\n",
    "ipv6\t41\tIPv6\n",
    "ipv6-route\t43\tIPv6-Route\n",
    "ipv6-frag\t44\tIPv6-Frag\n",
    "idrp\t45\tIDRP\n",
    "rsvp\t46\tRSVP\n",
    "gre\t47\tGRE\n",
    "esp\t50\tIPSEC-ESP\n",
    "ah\t51\tIPSEC-AH\n",
    "skip\t57\tSKIP\n",
    "ipv6-icmp\t58\tIPv6-ICMP\n",
    "ipv6-nonxt\t59\tIPv6-NoNxt\n",
    "ipv6-opts\t60\tIPv6-Opts\n",
    "rspf\t73\tRSPF CPHB\n",
    "vmtp\t81\tVMTP\n",
    "eigrp\t88\tEIGRP\n",
    "ospf\t89\tOSPFIGP\n",
    "ax.25\t93\tAX.25\n",
    "ipip\t94\tIPIP\n",
    "etherip\t97\tETHERIP\n",
    "encap\t98\tENCAP\n",
    "pim\t103\tPIM\n",
    "ipcomp\t108\tIPCOMP\n",
    "vrrp\t112\tVRRP\n",
    "l2tp\t115\tL2TP\n",
    "isis\t124\tISIS\n",
    "sctp\t132\tSCTP\n",
    "fc\t133\tFC\n",
    "mobility-header\t135\tMobility-Header\n",
    "udplite\t136\tUDPLite\n",
    "mpls-in-ip\t137\tMPLS-in-IP\n",
    "manet\t138\n",
    "hip\t139\tHIP\n",
    "shim6\t140\tShim6\n",
    "wesp\t141\tWESP\n",
    "rohc\t142\tROHC\n",
    "ethernet\t143\tEthernet\n",
    "mptcp\t262\tMPTCP\n",
];

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// A file of Debian's netbase package as its lines' fields (comments and blanks
    /// dropped). netbase is in `kiln doctor`'s package list, so CI always has it.
    fn debian(path: &str) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e}: install Debian's netbase (`./kiln doctor --install`)")
        });
        text.lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|f| !f.is_empty())
            .collect()
    }

    fn fields(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn every_line_is_debian_netbases() {
        for (path, ours) in [("/etc/services", SERVICES), ("/etc/protocols", PROTOCOLS)] {
            let theirs = debian(path);
            for line in ours {
                assert!(line.ends_with('\n') && !line.contains('#'), "{line:?}");
                let f = fields(line);
                assert!(theirs.contains(&f), "{path} has no line {f:?}");
            }
        }
        // All of netbase's protocols are here.
        assert_eq!(PROTOCOLS.len(), debian("/etc/protocols").len());
    }

    #[test]
    fn the_common_services_are_there_on_both_transports_netbase_lists() {
        let has = |name: &str, port: &str| {
            SERVICES
                .iter()
                .any(|l| fields(l)[0] == name && fields(l)[1] == port)
        };
        for (name, port) in [
            ("http", "80/tcp"),
            ("https", "443/tcp"),
            ("https", "443/udp"),
            ("domain", "53/udp"),
            ("domain", "53/tcp"),
            ("ssh", "22/tcp"),
            ("smtp", "25/tcp"),
            ("ntp", "123/udp"),
            ("postgresql", "5432/tcp"),
            ("mysql", "3306/tcp"),
            ("redis", "6379/tcp"),
            ("http-alt", "8080/tcp"),
        ] {
            assert!(has(name, port), "{name} {port}");
        }
    }
}
