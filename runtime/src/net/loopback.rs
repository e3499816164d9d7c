//! The loopback interface `lo`: a second smoltcp `Interface` over smoltcp's `Loopback` device
//! (medium IP, no link layer) with 127.0.0.1/8 and ::1/128, present with or without a NIC.
//!
//! It has its own `SocketSet`: smoltcp's egress dispatches every socket of a set through the
//! interface being polled and routes by that interface's table, so a set shared with eth0
//! would send 127.0.0.1 to eth0's default gateway. The socket layer (`net::socket`) picks the
//! interface by destination ([`routes_to_lo`]) and puts each smoltcp socket in one set.
//!
//! No interrupt announces its traffic: every frame on it was sent by the guest itself, so
//! [`Lo::poll`] runs the interface until its queue is empty, and the wait path's poll (which
//! every blocking call runs before it halts) is what delivers it.
#![forbid(unsafe_code)]

use alloc::vec;

use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv6Address};

/// The interface's name in messages.
pub const IFNAME: &str = "lo";

/// At most this many polls per [`Lo::poll`]; a transfer still going after them is picked up
/// by the next poll, which [`Lo::poll_delay`] then asks for at once.
const MAX_ROUNDS: usize = 256;

/// True when `addr` is reached through `lo`: 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
pub fn routes_to_lo(addr: &IpAddress) -> bool {
    match addr {
        IpAddress::Ipv4(a) => a.is_loopback(),
        IpAddress::Ipv6(a) => {
            a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The loopback interface and its sockets.
pub struct Lo {
    pub(super) device: Loopback,
    pub(super) iface: Interface,
    pub(super) sockets: SocketSet<'static>,
    /// The last poll stopped at `MAX_ROUNDS` with frames still moving.
    busy: bool,
}

impl core::fmt::Debug for Lo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Lo({:?})", self.iface.ip_addrs())
    }
}

impl Lo {
    /// `lo` with 127.0.0.1/8 and ::1/128. `seed` randomizes sequence numbers.
    pub fn new(now: Instant, seed: u64) -> Lo {
        let mut device = Loopback::new(Medium::Ip);
        let mut c = Config::new(HardwareAddress::Ip);
        c.random_seed = seed;
        let mut iface = Interface::new(c, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::LOCALHOST), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        // Every frame on `lo` was sent by the guest to a loopback destination: take them all,
        // so all of 127.0.0.0/8 answers, as on Linux.
        iface.set_any_ip(true);
        Lo {
            device,
            iface,
            sockets: SocketSet::new(vec![]),
            busy: false,
        }
    }

    /// Moves every frame the sockets have to send through the device and into the sockets
    /// they are for, until nothing moves. True when some socket's state may have changed.
    pub fn poll(&mut self, now: Instant) -> bool {
        let mut changed = false;
        self.busy = true;
        for _ in 0..MAX_ROUNDS {
            // Ingress first, egress last: a round that moved nothing left the queue empty.
            match self.iface.poll(now, &mut self.device, &mut self.sockets) {
                PollResult::None => {
                    self.busy = false;
                    break;
                }
                PollResult::SocketStateChanged => changed = true,
            }
        }
        changed
    }

    /// When `poll` must run next without new sends: TCP timers (retransmission, delayed
    /// ACK, TIME-WAIT), or at once after a poll that stopped early.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        if self.busy {
            return Some(Duration::ZERO);
        }
        self.iface.poll_delay(now, &self.sockets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_destinations() {
        for a in ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"] {
            assert!(routes_to_lo(&a.parse().unwrap()), "{a}");
        }
        for a in ["10.0.2.15", "0.0.0.0", "::", "fd77::2", "::ffff:10.0.0.1"] {
            assert!(!routes_to_lo(&a.parse().unwrap()), "{a}");
        }
    }
}
