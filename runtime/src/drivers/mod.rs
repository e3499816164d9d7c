//! Device drivers: the 16550 serial console and the ways a VM ends.

#[macro_use]
pub mod serial;
pub mod exit;
