//! Intel 8254x gigabit Ethernet (the "e1000": 82540EM, 82545EM), the NIC that VirtualBox,
//! VMware, Bochs and QEMU's `-device e1000` offer, as a smoltcp `Device`.
//!
//! - [`regs`]: the register map and the decoding of register values (pure);
//! - [`ring`]: descriptor-ring bookkeeping and the checks on what the device writes back
//!   (pure, unit-tested on the host with a toy device);
//! - `device` (kernel only): PCI discovery, the uncached register window, DMA memory, the
//!   INTx line, and the `Device` implementation.

pub mod regs;
pub mod ring;

#[cfg(target_os = "none")]
mod device;
#[cfg(target_os = "none")]
pub use device::*;
