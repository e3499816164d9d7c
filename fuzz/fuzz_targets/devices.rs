//! The device-discovery parsers: the MADT (as a table and through the RSDP over arbitrary
//! guest memory), virtio-mmio announcements in the DSDT and on the command line, and the
//! network options. Must never panic.
#![no_main]

use kiln_runtime::boot::{madt, virtio_mmio};
use kiln_runtime::net::config::NetConfig;
use kiln_runtime::process::cmdline::Cmdline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ram: &[u8]| {
    let mem = |phys: u64, len: usize| {
        let at = usize::try_from(phys).ok()?;
        ram.get(at..at.checked_add(len)?)
    };
    if let Ok(m) = madt::parse(ram) {
        for gsi in [0, 5, 23, 24, 47, u32::MAX] {
            let _ = m.route(gsi);
        }
        let _ = m.isa_irq(ram.first().copied().unwrap_or(0));
    }
    let _ = madt::read(0, &mem);
    let _ = virtio_mmio::from_dsdt(ram);
    let text = String::from_utf8_lossy(ram);
    let line = Cmdline::parse(&text);
    for v in line.kernel_params("virtio_mmio.device") {
        let _ = virtio_mmio::parse(v);
    }
    let _ = virtio_mmio::parse(&text);
    let _ = NetConfig::from_options(line.options());
});
