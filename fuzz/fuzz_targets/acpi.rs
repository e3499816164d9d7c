//! `power_off` and `power_button` over arbitrary guest memory (physical memory from address
//! 0, the RSDP at 0), and `s5_sleep_type` and `ged` over arbitrary AML. Must never panic.
#![no_main]

use kiln_runtime::boot::acpi::{ged, power_button, power_off, s5_sleep_type};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ram: &[u8]| {
    let mem = |phys: u64, len: usize| {
        let at = usize::try_from(phys).ok()?;
        ram.get(at..at.checked_add(len)?)
    };
    let _ = power_off(0, &mem);
    let _ = power_button(0, &mem);
    let _ = s5_sleep_type(ram);
    let _ = ged(ram);
});
