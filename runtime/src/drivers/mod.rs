//! Device drivers: the 16550 serial console, the ways a VM ends, the host channel on COM2,
//! the ACPI power button, PCI configuration space, virtio devices (network, entropy) through
//! `virtio-drivers`, and the Intel e1000 NIC.
//!
//! Only the pure halves of drivers (register decoding, descriptor rings) compile for the host,
//! for unit tests; everything that touches hardware is kernel-only.

#[cfg(target_os = "none")]
#[macro_use]
pub mod serial;
pub mod e1000;
#[cfg(target_os = "none")]
pub mod exit;
pub mod hostctl;
#[cfg(target_os = "none")]
pub mod nic;
#[cfg(target_os = "none")]
pub mod pci;
#[cfg(target_os = "none")]
pub mod power_button;
#[cfg(target_os = "none")]
pub mod virtio;
