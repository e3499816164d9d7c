//! Device interrupts: a small table of vectors, each bound to one I/O APIC line.
//!
//! Handlers do no device work: the interrupt only marks its line pending (and masks it when
//! level-triggered, so a line that stays asserted cannot storm). The driver, in the runtime's
//! wait path, takes the pending mark, acknowledges its device, and re-arms the line — the
//! split Linux calls a threaded interrupt with `IRQF_ONESHOT`. Device registers are thus only
//! touched by kernel code, never from interrupt context.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::{apic, ioapic};
use crate::boot::madt::LineMode;

/// The first vector for device interrupts, and how many there are.
pub const VECTOR_DEVICE_BASE: u8 = 0x40;
pub const DEVICE_VECTORS: usize = 16;

const FREE: u32 = u32::MAX;

struct Slot {
    gsi: AtomicU32,
    level: AtomicBool,
    pending: AtomicBool,
    /// The TSC when the line last fired (for drivers that need to know when: the RTC's
    /// second edges).
    stamp: AtomicU64,
}

static SLOTS: [Slot; DEVICE_VECTORS] = [const {
    Slot {
        gsi: AtomicU32::new(FREE),
        level: AtomicBool::new(false),
        pending: AtomicBool::new(false),
        stamp: AtomicU64::new(0),
    }
}; DEVICE_VECTORS];

/// A registered interrupt line.
#[derive(Debug)]
pub struct Irq {
    slot: usize,
}

/// Binds `gsi` to a free vector and unmasks it. Lines already bound share their vector.
pub fn register(gsi: u32, mode: LineMode) -> Option<Irq> {
    if let Some(slot) = SLOTS
        .iter()
        .position(|s| s.gsi.load(Ordering::Relaxed) == gsi)
    {
        return Some(Irq { slot });
    }
    let slot = SLOTS
        .iter()
        .position(|s| s.gsi.load(Ordering::Relaxed) == FREE)?;
    SLOTS[slot].gsi.store(gsi, Ordering::Relaxed);
    SLOTS[slot].level.store(mode.level, Ordering::Relaxed);
    let vector = VECTOR_DEVICE_BASE + slot as u8;
    if !ioapic::route(gsi, vector, mode, apic::id()) {
        SLOTS[slot].gsi.store(FREE, Ordering::Relaxed);
        return None;
    }
    Some(Irq { slot })
}

/// Called by the trap path for a device vector, before the EOI.
pub fn handle(vector: u8) {
    let Some(slot) = SLOTS.get(vector.wrapping_sub(VECTOR_DEVICE_BASE) as usize) else {
        return;
    };
    let gsi = slot.gsi.load(Ordering::Relaxed);
    if gsi == FREE {
        return;
    }
    if slot.level.load(Ordering::Relaxed) {
        ioapic::mask(gsi);
    }
    slot.stamp.store(super::cpu::rdtsc(), Ordering::Relaxed);
    slot.pending.store(true, Ordering::Release);
}

impl Irq {
    pub fn gsi(&self) -> u32 {
        SLOTS[self.slot].gsi.load(Ordering::Relaxed)
    }

    /// True if the line fired since the last [`Irq::take_pending`] (without taking it).
    pub fn is_pending(&self) -> bool {
        SLOTS[self.slot].pending.load(Ordering::Acquire)
    }

    /// True (once) if the line fired since the last call.
    pub fn take_pending(&self) -> bool {
        SLOTS[self.slot].pending.swap(false, Ordering::Acquire)
    }

    /// The TSC at which the line fired, once, if it fired since the last call.
    pub fn take_pending_stamp(&self) -> Option<u64> {
        self.take_pending()
            .then(|| SLOTS[self.slot].stamp.load(Ordering::Relaxed))
    }

    /// Unmasks a level-triggered line after its device was acknowledged; if the device still
    /// asserts it, the interrupt arrives again.
    pub fn rearm(&self) {
        if SLOTS[self.slot].level.load(Ordering::Relaxed) {
            ioapic::unmask(self.gsi());
        }
    }
}
