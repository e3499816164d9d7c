//! virtio-rng (PCI and MMIO) through `virtio-drivers`' entropy device, as a seed source of
//! the kernel's CSPRNG (`crate::entropy`).
//!
//! The pool asks for a seed at boot and at every reseed; each request is synchronous (the
//! crate posts one buffer and spins until the device returns it: QEMU's `rng-random` backend
//! answers at once). The device's interrupt is never used: the line stays masked at the
//! I/O APIC, notifications are suppressed, and the interrupt status is acknowledged after
//! every request so a line shared with another device does not stay asserted.

use alloc::boxed::Box;
use alloc::vec::Vec;

use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::DeviceType;

use super::hal::KilnHal;
use super::transport::AnyTransport;
use crate::boot::virtio_mmio::MmioDevice;
use crate::entropy::{SeedSource, SEED_LEN};

/// Requests per seed before giving up (a device may return fewer bytes than asked).
const TRIES: usize = 8;

pub struct VirtioRng {
    device: VirtIORng<KilnHal, AnyTransport>,
    /// The request buffer: on the kernel heap, which devices can reach (identity-mapped).
    buf: Box<[u8; SEED_LEN]>,
    /// Replies longer than the buffer (dropped; logged once).
    bad_lengths: u64,
}

impl core::fmt::Debug for VirtioRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VirtioRng")
    }
}

impl SeedSource for VirtioRng {
    fn name(&self) -> &'static str {
        "virtio-rng"
    }

    fn fill_seed(&mut self, seed: &mut [u8; SEED_LEN]) -> bool {
        let mut got = 0;
        for _ in 0..TRIES {
            let want = SEED_LEN - got;
            let reply = self.device.request_entropy(&mut self.buf[..want]);
            self.device.ack_interrupt();
            match reply {
                // The device says how many bytes it wrote: check before use.
                Ok(n) if n <= want => {
                    seed[got..got + n].copy_from_slice(&self.buf[..n]);
                    got += n;
                }
                Ok(n) => {
                    if self.bad_lengths == 0 {
                        kinfo!("virtio-rng: the device reported {} bytes for a {}-byte buffer; ignored", n, want);
                    }
                    self.bad_lengths += 1;
                    return false;
                }
                Err(e) => {
                    kinfo!("virtio-rng: request failed: {}", e);
                    return false;
                }
            }
            if got == SEED_LEN {
                return true;
            }
        }
        false
    }
}

/// Every virtio-rng device (PCI bus 0, and the virtio-mmio windows `mmio`), started, as seed
/// sources.
pub fn sources(mmio: &[MmioDevice]) -> Vec<Box<dyn SeedSource>> {
    let mut out: Vec<Box<dyn SeedSource>> = Vec::new();
    for found in super::find(DeviceType::EntropySource, mmio) {
        let what = found.what;
        match VirtIORng::<KilnHal, _>::new(found.transport) {
            Ok(mut device) => {
                device.disable_interrupts();
                out.push(Box::new(VirtioRng {
                    device,
                    buf: Box::new([0; SEED_LEN]),
                    bad_lengths: 0,
                }));
            }
            Err(e) => kinfo!("virtio-rng: the device ({}) failed to start: {}", what, e),
        }
    }
    out
}
