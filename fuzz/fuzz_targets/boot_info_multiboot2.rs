//! `parse_multiboot2` over arbitrary guest memory: the input is physical memory from address
//! 0, the boot information at address 0. Must never panic.
#![no_main]

use kiln_runtime::boot::info::parse_multiboot2;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ram: &[u8]| {
    let mem = |phys: u64, len: usize| {
        let at = usize::try_from(phys).ok()?;
        ram.get(at..at.checked_add(len)?)
    };
    if let Ok(info) = parse_multiboot2(0, &mem) {
        assert!(info
            .regions()
            .all(|r| r.start.checked_add(r.len).is_some() && r.len > 0));
        if let Some(rsdp) = info.rsdp {
            assert!(rsdp < ram.len() as u64);
        }
    }
});
