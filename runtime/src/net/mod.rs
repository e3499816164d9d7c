//! Networking: eth0 (smoltcp over virtio-net or an e1000) and the loopback interface `lo`,
//! eth0's configuration from the command line, DHCPv4, SLAAC, and the socket API the BSD
//! socket syscalls sit on.
//!
//! - [`config`]: `kiln.ip=` and friends, parsed and checked;
//! - [`stack`]: eth0 over any smoltcp `Device`, addresses and their announcements;
//! - [`loopback`]: `lo`, 127.0.0.1/8 and ::1, over smoltcp's loopback device;
//! - [`netlink`]: the `NETLINK_ROUTE` dumps `getifaddrs` reads (interfaces, addresses);
//! - [`socket`]: both interfaces ([`socket::Net`]) and TCP/UDP sockets by number over them,
//!   routed by destination, non-blocking, with readiness;
//! - [`gate`]: drops the SYNs for listeners whose backlog is full, before smoltcp sees them;
//! - `global` (kernel only): the network over the NIC (if any) and `lo`, `poll()` and
//!   `next_wakeup()` for the runtime's wait path.

pub mod config;
pub mod gate;
pub mod loopback;
pub mod netlink;
pub mod socket;
pub mod stack;

#[cfg(test)]
mod loss_tests;
#[cfg(test)]
mod option_tests;

#[cfg(target_os = "none")]
mod global;
#[cfg(target_os = "none")]
pub use global::*;
