//! NETLINK_ROUTE requests as a program sends them (any bytes): `answer` returns an answer or
//! an error, never panics, and an answer is whole netlink messages (4-byte aligned).
#![no_main]

use kiln_runtime::net::netlink::{answer, Link};
use libfuzzer_sys::fuzz_target;
use smoltcp::wire::{IpAddress, IpCidr, Ipv4Address, Ipv6Address};

fuzz_target!(|request: &[u8]| {
    let links = [
        Link {
            index: 1,
            name: "lo",
            mac: [0; 6],
            mtu: 65536,
            loopback: true,
        },
        Link {
            index: 2,
            name: "eth0",
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            mtu: 1500,
            loopback: false,
        },
    ];
    let addrs = [
        (
            1,
            IpCidr::new(IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1)), 8),
        ),
        (
            2,
            IpCidr::new(
                IpAddress::Ipv6(Ipv6Address::new(0xfd77, 0, 0, 0, 0, 0, 0, 2)),
                64,
            ),
        ),
    ];
    if let Ok(out) = answer(request, &links, &addrs) {
        assert_eq!(out.len() % 4, 0);
    }
});
