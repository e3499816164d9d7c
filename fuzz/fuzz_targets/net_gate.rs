//! The SYN gate over frames from the wire: `syn_destination` and `blocked` read any bytes
//! without panicking, and a frame found to be a SYN is one (a TCP segment with SYN, no ACK).
#![no_main]

use kiln_runtime::net::gate::{blocked, syn_destination};
use libfuzzer_sys::fuzz_target;
use smoltcp::wire::{IpAddress, IpListenEndpoint, Ipv4Address};

fuzz_target!(|frame: &[u8]| {
    let found = syn_destination(frame);
    let full = [
        IpListenEndpoint {
            addr: None,
            port: 80,
        },
        IpListenEndpoint {
            addr: Some(IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 15))),
            port: 53,
        },
    ];
    let is_blocked = blocked(frame, &full);
    // Only a SYN can be blocked.
    assert!(!is_blocked || found.is_some());
});
