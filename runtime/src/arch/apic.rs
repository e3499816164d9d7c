//! The local APIC (xAPIC, memory-mapped) as the one-shot wake-up timer, and the legacy 8259
//! PICs, remapped out of the exception range and masked.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::idt::{VECTOR_PIC_BASE, VECTOR_SPURIOUS, VECTOR_TIMER};

const IA32_APIC_BASE: u32 = 0x1b;
const REG_ID: usize = 0x20;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;
const LVT_MASKED: u32 = 1 << 16;

/// The APIC's MMIO base (identity-mapped, uncached); 0 until `init`.
static BASE: AtomicU64 = AtomicU64::new(0);

fn reg(offset: usize) -> *mut u32 {
    (BASE.load(Ordering::Relaxed) as usize + offset) as *mut u32
}

fn read(offset: usize) -> u32 {
    // SAFETY: `BASE` maps the APIC page (uncached) once `init` ran; registers are 32-bit.
    unsafe { reg(offset).read_volatile() }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { reg(offset).write_volatile(value) }
}

/// Remaps and masks the 8259s, maps and enables the local APIC with its timer masked.
pub fn init() {
    // SAFETY: the standard ICW1-4 sequence on the 8259 ports, then a full mask.
    unsafe {
        let mut cmd1 = Port::<u8>::new(0x20);
        let mut data1 = Port::<u8>::new(0x21);
        let mut cmd2 = Port::<u8>::new(0xa0);
        let mut data2 = Port::<u8>::new(0xa1);
        cmd1.write(0x11);
        cmd2.write(0x11);
        data1.write(VECTOR_PIC_BASE);
        data2.write(VECTOR_PIC_BASE + 8);
        data1.write(4);
        data2.write(2);
        data1.write(1);
        data2.write(1);
        data1.write(0xff);
        data2.write(0xff);
    }
    // SAFETY: IA32_APIC_BASE exists on every x86-64 CPU; reading it has no side effects.
    let base = unsafe { Msr::new(IA32_APIC_BASE).read() } & 0xf_ffff_f000;
    crate::mm::paging::map_mmio(base, 4096);
    BASE.store(base, Ordering::Relaxed);
    write(REG_SVR, 0x100 | VECTOR_SPURIOUS as u32);
    write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    write(REG_LVT_TIMER, LVT_MASKED | VECTOR_TIMER as u32);
}

/// Counts down from the maximum with the timer masked; used to calibrate it.
pub fn start_free_running() {
    write(REG_LVT_TIMER, LVT_MASKED | VECTOR_TIMER as u32);
    write(REG_TIMER_INITIAL, u32::MAX);
}

pub fn current_count() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Fires the timer interrupt once after `ticks` timer ticks (0 disarms it).
pub fn arm_oneshot(ticks: u32) {
    write(REG_LVT_TIMER, VECTOR_TIMER as u32);
    write(REG_TIMER_INITIAL, ticks);
}

/// This CPU's local APIC ID (the destination for routed interrupts).
pub fn id() -> u8 {
    (read(REG_ID) >> 24) as u8
}

pub fn eoi() {
    if BASE.load(Ordering::Relaxed) != 0 {
        write(REG_EOI, 0);
    }
}
