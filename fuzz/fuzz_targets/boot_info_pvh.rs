//! `parse_pvh` over arbitrary guest memory: the input is physical memory from address 0, the
//! start info at address 0. Must never panic; what it returns must lie inside the input.
#![no_main]

use kiln_runtime::boot::info::parse_pvh;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ram: &[u8]| {
    let mem = |phys: u64, len: usize| {
        let at = usize::try_from(phys).ok()?;
        ram.get(at..at.checked_add(len)?)
    };
    if let Ok(info) = parse_pvh(0, &mem) {
        assert!(info.cmdline.is_empty() || ram.as_ptr_range().contains(&info.cmdline.as_ptr()));
        assert!(info
            .regions()
            .all(|r| r.start.checked_add(r.len).is_some() && r.len > 0));
    }
});
