//! Just enough `NETLINK_ROUTE` for `getifaddrs` (musl's, and so `if_nameindex` and the event
//! API's `os_net_addresses`): `RTM_GETLINK` and `RTM_GETADDR` dump requests, answered with
//! one `RTM_NEWLINK` per interface (`lo` index 1, eth0 index 2) or one `RTM_NEWADDR` per
//! address, then `NLMSG_DONE`. Other requests get `NLMSG_ERROR` with `EOPNOTSUPP`.
//!
//! Pure: the request is checked bytes, the answer a byte vector (host-tested below).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use smoltcp::phy::Device;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use super::socket::Net;
use crate::errno::Errno;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_MULTI: u16 = 2;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFA_ADDRESS: u16 = 1;
const IFA_LABEL: u16 = 3;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_MULTICAST: u32 = 0x1000;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;

/// One interface as `RTM_NEWLINK` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: &'static str,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub loopback: bool,
}

/// The interfaces and their addresses (interface index, address with prefix).
pub fn interfaces<D: Device>(net: &Net<D>) -> (Vec<Link>, Vec<(u32, IpCidr)>) {
    let mut links = alloc::vec![Link {
        index: 1,
        name: super::loopback::IFNAME,
        mac: [0; 6],
        mtu: 65536,
        loopback: true,
    }];
    let mut addrs: Vec<(u32, IpCidr)> = net.lo_addresses().iter().map(|a| (1, *a)).collect();
    if let Some(eth) = net.eth_ref() {
        let mac = match eth.iface.hardware_addr() {
            HardwareAddress::Ethernet(e) => e.0,
            _ => [0; 6],
        };
        links.push(Link {
            index: 2,
            name: super::stack::IFNAME,
            mac,
            mtu: 1500,
            loopback: false,
        });
        addrs.extend(eth.addresses().iter().map(|a| (2, *a)));
    }
    (links, addrs)
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn align4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Starts a message; [`finish`] writes its length.
fn header(out: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) -> usize {
    let start = out.len();
    push_u32(out, 0);
    push_u16(out, kind);
    push_u16(out, flags);
    push_u32(out, seq);
    push_u32(out, 0); // from the kernel: port 0
    start
}

fn finish(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

fn attr(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    push_u16(out, (4 + data.len()) as u16);
    push_u16(out, kind);
    out.extend_from_slice(data);
    align4(out);
}

fn link_message(out: &mut Vec<u8>, seq: u32, link: &Link) {
    let start = header(out, RTM_NEWLINK, NLM_F_MULTI, seq);
    // struct ifinfomsg: family, pad, type, index, flags, change.
    out.extend_from_slice(&[AF_UNSPEC, 0]);
    push_u16(
        out,
        if link.loopback {
            ARPHRD_LOOPBACK
        } else {
            ARPHRD_ETHER
        },
    );
    push_u32(out, link.index);
    let flags = if link.loopback {
        IFF_UP | IFF_LOOPBACK | IFF_RUNNING
    } else {
        IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST
    };
    push_u32(out, flags);
    push_u32(out, 0);
    let mut name = Vec::from(link.name.as_bytes());
    name.push(0);
    attr(out, IFLA_IFNAME, &name);
    attr(out, IFLA_ADDRESS, &link.mac);
    attr(out, IFLA_MTU, &link.mtu.to_ne_bytes());
    finish(out, start);
}

fn addr_message(out: &mut Vec<u8>, seq: u32, index: u32, name: &str, cidr: &IpCidr) {
    let start = header(out, RTM_NEWADDR, NLM_F_MULTI, seq);
    let (family, bytes): (u8, Vec<u8>) = match cidr.address() {
        IpAddress::Ipv4(a) => (AF_INET, a.octets().to_vec()),
        IpAddress::Ipv6(a) => (AF_INET6, a.octets().to_vec()),
    };
    let scope = match cidr.address() {
        a if super::loopback::routes_to_lo(&a) => RT_SCOPE_HOST,
        IpAddress::Ipv6(a) if a.is_unicast_link_local() => RT_SCOPE_LINK,
        _ => RT_SCOPE_UNIVERSE,
    };
    // struct ifaddrmsg: family, prefixlen, flags, scope, index.
    out.extend_from_slice(&[family, cidr.prefix_len(), 0, scope]);
    push_u32(out, index);
    attr(out, IFA_ADDRESS, &bytes);
    if family == AF_INET {
        let mut label = Vec::from(name.as_bytes());
        label.push(0);
        attr(out, IFA_LABEL, &label);
    }
    finish(out, start);
}

fn done(out: &mut Vec<u8>, seq: u32) {
    let start = header(out, NLMSG_DONE, NLM_F_MULTI, seq);
    push_u32(out, 0);
    finish(out, start);
}

fn error(out: &mut Vec<u8>, request: &[u8], seq: u32, e: Errno) {
    let start = header(out, NLMSG_ERROR, 0, seq);
    push_u32(out, (-e.0) as u32);
    out.extend_from_slice(&request[..16]);
    finish(out, start);
}

/// Answers the request messages in `request` (one `send`) about `links` and `addrs`.
/// `EINVAL` when the bytes are not a netlink message.
pub fn answer(request: &[u8], links: &[Link], addrs: &[(u32, IpCidr)]) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut at = 0;
    // A last message whose length is not a multiple of 4 moves `at` past the end.
    while let Some(msg) = request.get(at..).filter(|m| m.len() >= 16) {
        let len = u32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]) as usize;
        if len < 16 || len > msg.len() {
            return Err(Errno::EINVAL);
        }
        let kind = u16::from_ne_bytes([msg[4], msg[5]]);
        let flags = u16::from_ne_bytes([msg[6], msg[7]]);
        let seq = u32::from_ne_bytes([msg[8], msg[9], msg[10], msg[11]]);
        // rtgenmsg / ifinfomsg / ifaddrmsg all start with the family.
        let family = msg
            .get(16)
            .copied()
            .filter(|_| len > 16)
            .unwrap_or(AF_UNSPEC);
        let wants = |a: &IpCidr| {
            matches!(
                (family, a),
                (AF_UNSPEC, _) | (AF_INET, IpCidr::Ipv4(_)) | (AF_INET6, IpCidr::Ipv6(_))
            )
        };
        match kind {
            RTM_GETLINK if flags & NLM_F_DUMP == NLM_F_DUMP => {
                for l in links {
                    link_message(&mut out, seq, l);
                }
                done(&mut out, seq);
            }
            RTM_GETADDR if flags & NLM_F_DUMP == NLM_F_DUMP => {
                for (index, a) in addrs.iter().filter(|(_, a)| wants(a)) {
                    let name = links
                        .iter()
                        .find(|l| l.index == *index)
                        .map_or("", |l| l.name);
                    addr_message(&mut out, seq, *index, name, a);
                }
                done(&mut out, seq);
            }
            _ => error(&mut out, msg, seq, Errno::EOPNOTSUPP),
        }
        at += (len + 3) & !3;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// musl's request: nlmsghdr + rtgenmsg (family), 20 bytes.
    fn request(kind: u16, seq: u32, family: u8) -> Vec<u8> {
        let mut r = Vec::new();
        push_u32(&mut r, 20);
        push_u16(&mut r, kind);
        push_u16(&mut r, NLM_F_DUMP | 1);
        push_u32(&mut r, seq);
        push_u32(&mut r, 0);
        r.extend_from_slice(&[family, 0, 0, 0]);
        r
    }

    /// A last message of 17 bytes (its padded length runs past the end of the request) is
    /// answered, and the request ends there (found by fuzz/fuzz_targets/netlink.rs: the
    /// offset passed the end and the next length check underflowed).
    #[test]
    fn a_last_message_shorter_than_its_padding_ends_the_request() {
        let (links, addrs) = lo();
        let mut r = request(RTM_GETLINK, 9, AF_UNSPEC);
        r[0] = 17;
        r.truncate(17);
        let out = answer(&r, &links, &addrs).expect("an answer");
        let kinds: Vec<u16> = messages(&out).iter().map(|m| m.0).collect();
        assert_eq!(kinds, [RTM_NEWLINK, NLMSG_DONE]);
    }

    /// (type, seq, body) of each message.
    fn messages(bytes: &[u8]) -> Vec<(u16, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let m = &bytes[at..];
            let len = u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize;
            let kind = u16::from_ne_bytes([m[4], m[5]]);
            let seq = u32::from_ne_bytes([m[8], m[9], m[10], m[11]]);
            out.push((kind, seq, m[16..len].to_vec()));
            at += (len + 3) & !3;
        }
        out
    }

    fn lo() -> (Vec<Link>, Vec<(u32, IpCidr)>) {
        let links = alloc::vec![Link {
            index: 1,
            name: "lo",
            mac: [0; 6],
            mtu: 65536,
            loopback: true
        }];
        let addrs = alloc::vec![
            (1, IpCidr::new("127.0.0.1".parse().unwrap(), 8)),
            (1, IpCidr::new("::1".parse().unwrap(), 128)),
        ];
        (links, addrs)
    }

    #[test]
    fn link_dump_names_lo_and_ends_with_done() {
        let (links, addrs) = lo();
        let out = answer(&request(RTM_GETLINK, 1, AF_UNSPEC), &links, &addrs).unwrap();
        let m = messages(&out);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].0, m[0].1), (RTM_NEWLINK, 1));
        let body = &m[0].2;
        assert_eq!(
            u32::from_ne_bytes(body[4..8].try_into().unwrap()),
            1,
            "index"
        );
        // The first attribute: IFLA_IFNAME "lo\0".
        assert_eq!(&body[16..23], &[7, 0, 3, 0, b'l', b'o', 0]);
        assert_eq!((m[1].0, m[1].1), (NLMSG_DONE, 1));
    }

    #[test]
    fn address_dump_filters_by_family() {
        let (links, addrs) = lo();
        let all = messages(&answer(&request(RTM_GETADDR, 2, AF_UNSPEC), &links, &addrs).unwrap());
        assert_eq!(all.len(), 3);
        assert_eq!(&all[0].2[..4], &[AF_INET, 8, 0, RT_SCOPE_HOST]);
        assert_eq!(&all[0].2[12..16], &[127, 0, 0, 1]);
        assert_eq!(&all[1].2[..4], &[AF_INET6, 128, 0, RT_SCOPE_HOST]);
        let v6 = messages(&answer(&request(RTM_GETADDR, 3, AF_INET6), &links, &addrs).unwrap());
        assert_eq!(v6.len(), 2);
        assert_eq!(v6[0].2[0], AF_INET6);
    }

    #[test]
    fn other_requests_get_an_error_and_garbage_is_einval() {
        let (links, addrs) = lo();
        let m = messages(&answer(&request(RTM_NEWLINK, 4, 0), &links, &addrs).unwrap());
        assert_eq!(m[0].0, NLMSG_ERROR);
        assert_eq!(
            i32::from_ne_bytes(m[0].2[..4].try_into().unwrap()),
            -Errno::EOPNOTSUPP.0
        );
        assert_eq!(answer(&[200, 0, 0, 0], &links, &addrs), Ok(Vec::new()));
        let mut bad = request(RTM_GETLINK, 5, 0);
        bad[0] = 99;
        assert_eq!(answer(&bad, &links, &addrs), Err(Errno::EINVAL));
    }
}
