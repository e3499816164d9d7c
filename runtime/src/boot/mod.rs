//! Boot: the PVH note and multiboot2 header, the 32-bit entry into long mode, and the parsing
//! of what the loader hands over.

pub mod acpi;
pub mod info;
pub mod madt;
pub mod virtio_mmio;

#[cfg(target_os = "none")]
pub mod entry;
