//! The I/O APIC(s): route an interrupt line (GSI) to a vector on this CPU, mask and unmask it.
//! Where they are and which GSIs each serves comes from the MADT (`boot::madt`).

use core::sync::atomic::{AtomicU32, Ordering};

use spin::Once;

use crate::boot::madt::{LineMode, Madt};

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REDIRECTION_BASE: u32 = 0x10;
const MASKED: u32 = 1 << 16;
const LEVEL: u32 = 1 << 15;
const ACTIVE_LOW: u32 = 1 << 13;

static MADT: Once<Madt> = Once::new();

/// How many GSIs keep their redirection entry's low word cached.
const CACHED_GSIS: usize = 64;

/// The low word `route` wrote for each GSI (unmasked; 0: not routed, as a routed entry always
/// has a vector of at least 0x10). Masking and unmasking write it back with the mask bit
/// changed instead of reading the entry first: a level-triggered line is masked and unmasked
/// once per interrupt, and each register access is a trap to the hypervisor.
static LOW: [AtomicU32; CACHED_GSIS] = [const { AtomicU32::new(0) }; CACHED_GSIS];

fn read(base: u64, reg: u32) -> u32 {
    // SAFETY: `base` is an I/O APIC's register window, mapped uncached by `init`; selecting a
    // register and reading the window is the documented access. Kernel code runs with
    // interrupts off (handlers only run while it halts), so no select/access pair interleaves.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *const u32).read_volatile()
    }
}

fn write(base: u64, reg: u32, value: u32) {
    // SAFETY: as in `read`.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *mut u32).write_volatile(value);
    }
}

/// Maps every I/O APIC and masks all its pins.
pub fn init(madt: Madt) {
    let madt = MADT.call_once(|| madt);
    for apic in madt.ioapics() {
        crate::mm::paging::map_mmio(apic.address, 0x20);
        let pins = ((read(apic.address, REG_VERSION) >> 16) & 0xff) + 1;
        for pin in 0..pins {
            write(apic.address, REDIRECTION_BASE + 2 * pin, MASKED);
        }
    }
}

fn pin_of(gsi: u32) -> Option<(u64, u32)> {
    let (apic, pin) = MADT.get()?.route(gsi)?;
    Some((apic.address, pin as u32))
}

/// Delivers `gsi` as `vector` to this CPU (physical destination `apic_id`), unmasked.
/// False when no I/O APIC serves that line.
pub fn route(gsi: u32, vector: u8, mode: LineMode, apic_id: u8) -> bool {
    let Some((base, pin)) = pin_of(gsi) else {
        return false;
    };
    let mut low = vector as u32;
    if mode.level {
        low |= LEVEL;
    }
    if mode.active_low {
        low |= ACTIVE_LOW;
    }
    write(base, REDIRECTION_BASE + 2 * pin + 1, (apic_id as u32) << 24);
    write(base, REDIRECTION_BASE + 2 * pin, low);
    if let Some(cached) = LOW.get(gsi as usize) {
        cached.store(low, Ordering::Relaxed);
    }
    true
}

fn set_mask(gsi: u32, masked: bool) {
    if let Some((base, pin)) = pin_of(gsi) {
        let reg = REDIRECTION_BASE + 2 * pin;
        let low = match LOW.get(gsi as usize).map(|c| c.load(Ordering::Relaxed)) {
            Some(low) if low != 0 => low,
            _ => read(base, reg),
        };
        write(base, reg, if masked { low | MASKED } else { low & !MASKED });
    }
}

pub fn mask(gsi: u32) {
    set_mask(gsi, true);
}

pub fn unmask(gsi: u32) {
    set_mask(gsi, false);
}

/// The legacy ISA IRQ `irq` as a GSI and line mode, after the MADT's overrides.
pub fn isa_irq(irq: u8) -> (u32, LineMode) {
    MADT.get()
        .map_or((irq as u32, LineMode::default()), |m| m.isa_irq(irq))
}
