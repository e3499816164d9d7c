//! Device drivers: the 16550 serial console, the ways a VM ends, PCI configuration space,
//! and virtio devices (network) through `virtio-drivers`.

#[macro_use]
pub mod serial;
pub mod exit;
pub mod pci;
pub mod virtio;
