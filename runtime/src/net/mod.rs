//! Networking: one interface (smoltcp over virtio-net or an e1000), its configuration from the
//! command line, DHCPv4, SLAAC, and the socket API the BSD socket syscalls sit on.
//!
//! - [`config`]: `kiln.ip=` and friends, parsed and checked;
//! - [`stack`]: the interface over any smoltcp `Device`, addresses and their announcements;
//! - [`socket`]: TCP/UDP sockets by number, non-blocking, with readiness;
//! - [`gate`]: drops the SYNs for listeners whose backlog is full, before smoltcp sees them;
//! - `global` (kernel only): the one interface over the network device, `poll()` and
//!   `next_wakeup()` for the runtime's wait path.

pub mod config;
pub mod gate;
pub mod socket;
pub mod stack;

#[cfg(test)]
mod loss_tests;

#[cfg(target_os = "none")]
mod global;
#[cfg(target_os = "none")]
pub use global::*;
