//! The virtual address map. Identity-mapped RAM sits below [`KERNEL_STACKS`].
#![forbid(unsafe_code)]

pub const PAGE_SIZE: u64 = 4096;

/// The runtime's own stacks (IST stacks), each below an unmapped guard page's worth of gap.
pub const KERNEL_STACKS: u64 = 0x4000_0000_0000;
pub const KERNEL_STACK_SIZE: u64 = 32 * 1024;

/// The program's address space: brk heap first, then the mmap area, the main stack on top.
pub const APP_BASE: u64 = 0x5000_0000_0000;
/// How far brk may grow (address space only: pages are mapped when touched).
pub const BRK_MAX: u64 = 64 << 30;
pub const MMAP_BASE: u64 = APP_BASE + BRK_MAX + (1 << 30);
pub const APP_TOP: u64 = 0x7fff_ffff_0000;
/// The main thread's stack, like Linux's default `ulimit -s`.
pub const MAIN_STACK_SIZE: u64 = 8 << 20;

pub const fn page_align_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

pub const fn page_align_up(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}
