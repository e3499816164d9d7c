//! virtio devices through the `virtio-drivers` crate: its `Hal` over the runtime's frame
//! allocator, discovery over PCI and the command line's virtio-mmio windows, the network
//! device as a smoltcp `Device`, and the entropy device as a seed source.

pub mod hal;
pub mod legacy_pci;
pub mod net;
pub mod rng;
pub mod transport;

use alloc::vec::Vec;
use core::ptr::NonNull;

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

use crate::boot::madt::LineMode;
use crate::boot::virtio_mmio::{self, MmioDevice};
use crate::process::cmdline::Cmdline;
use legacy_pci::LegacyPciTransport;
use transport::AnyTransport;

/// A discovered device: its transport and the interrupt line it raises.
pub struct Found {
    pub transport: AnyTransport,
    pub gsi: u32,
    pub mode: LineMode,
    pub what: &'static str,
}

impl core::fmt::Debug for Found {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (gsi {})", self.what, self.gsi)
    }
}

/// Every virtio-mmio window: the command line's `virtio_mmio.device=` words (Firecracker;
/// QEMU's microvm without ACPI), then those of `acpi` (the DSDT's) at other addresses.
pub fn mmio_windows(cmdline: &Cmdline<'_>, acpi: &[MmioDevice]) -> Vec<MmioDevice> {
    let mut mmio = Vec::new();
    for value in cmdline.kernel_params("virtio_mmio.device") {
        match virtio_mmio::parse(value) {
            Ok(d) => mmio.push(d),
            Err(e) => kinfo!("net: virtio_mmio.device={} ignored ({:?})", value, e),
        }
    }
    for d in acpi {
        if !mmio.iter().any(|m: &MmioDevice| m.base == d.base) {
            mmio.push(*d);
        }
    }
    mmio
}

/// Every virtio device of type `kind`: on PCI bus 0 when there is one, and in the
/// virtio-mmio windows the command line announced.
pub fn find(kind: DeviceType, mmio: &[MmioDevice]) -> Vec<Found> {
    let mut found = Vec::new();
    if super::pci::present() {
        let mut root = super::pci::root();
        let candidates: Vec<_> = super::pci::functions(&root)
            .filter(|(_, info)| virtio_device_type(info) == Some(kind))
            .map(|(df, _)| df)
            .collect();
        for df in candidates {
            super::pci::assign_bars(&mut root, df);
            super::pci::enable(&mut root, df);
            let Some((line, isa)) = super::pci::intx_line(df) else {
                kinfo!(
                    "net: virtio device at pci {:02x}:{:02x}.{} has no interrupt line; skipped",
                    df.bus,
                    df.device,
                    df.function
                );
                continue;
            };
            // The modern interface when the device has it, else the legacy one (I/O BAR 0).
            let transport: AnyTransport = match PciTransport::new::<hal::KilnHal, _>(&mut root, df)
            {
                Ok(t) => SomeTransport::from(t).into(),
                Err(e) => match LegacyPciTransport::new(&mut root, df, kind) {
                    Some(t) => t.into(),
                    None => {
                        kinfo!("net: virtio pci device unusable: {}", e);
                        continue;
                    }
                },
            };
            // PCI INTx is level-triggered; an ISA IRQ number goes through the MADT's
            // overrides.
            let gsi = if isa {
                crate::arch::ioapic::isa_irq(line as u8).0
            } else {
                line
            };
            found.push(Found {
                what: if matches!(transport, AnyTransport::LegacyPci(_)) {
                    "legacy pci"
                } else {
                    "pci"
                },
                transport,
                gsi,
                mode: LineMode {
                    level: true,
                    active_low: false,
                },
            });
        }
    }
    for dev in mmio {
        if dev.size < 0x100 || dev.size > 1 << 20 {
            kinfo!(
                "net: virtio_mmio window {:#x} of {} bytes ignored",
                dev.base,
                dev.size
            );
            continue;
        }
        crate::mm::paging::map_mmio(dev.base, dev.size);
        let Some(header) = NonNull::new(dev.base as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: the window was announced by the hypervisor as a virtio-mmio register block
        // of `size` bytes, is mapped uncached, and nothing else uses it.
        match unsafe { MmioTransport::new(header, dev.size as usize) } {
            Ok(t) if t.device_type() == kind => found.push(Found {
                transport: SomeTransport::from(t).into(),
                gsi: dev.irq,
                // QEMU and Firecracker drive a virtio-mmio line as a level until the
                // interrupt is acknowledged.
                mode: LineMode {
                    level: true,
                    active_low: false,
                },
                what: "mmio",
            }),
            Ok(_) => {}
            // An empty transport slot (device ID 0) is not an error.
            Err(virtio_drivers::transport::mmio::MmioError::InvalidDeviceID(_)) => {}
            Err(e) => kinfo!("net: virtio_mmio window {:#x}: {}", dev.base, e),
        }
    }
    found
}
