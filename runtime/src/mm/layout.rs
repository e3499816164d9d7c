//! The virtual address map, and the per-boot randomized placement of the program's brk heap,
//! mmap area and main stack. Identity-mapped RAM sits below [`KERNEL_STACKS`].
//!
//! ```text
//!  0x7fff_ffff_0000  APP_TOP (one unmapped page below the end of the 47-bit lower half)
//!                    main stack: top in (STACK_TOP_MAX - 4 TiB, STACK_TOP_MAX], 8 MiB, guard page below
//!  0x6c00_0000_0000  ┐ mmap top in [MMAP_TOP_MIN, MMAP_TOP_MIN + 4 TiB): mappings grow down from it
//!  0x6800_0000_0000  ┘ (at least 22 TiB of room down to MMAP_FLOOR)
//!  0x5200_0000_0000  MMAP_FLOOR
//!                    brk heap: base in [APP_BASE, APP_BASE + 1 TiB), grows up by at most 64 GiB
//!  0x5000_0000_0000  APP_BASE
//!  0x4000_0000_0000  KERNEL_STACKS: IST and thread kernel stacks, each above an unmapped guard page
//!                    identity-mapped RAM, the image at 0x200000, page 0 unmapped
//! ```
//!
//! Randomness is page-granular: the brk base gets [`BRK_RANDOM_BITS`], the mmap top
//! [`MMAP_RANDOM_BITS`], the stack top [`STACK_RANDOM_BITS`] bits, each drawn independently.
//! The windows cannot overlap whatever the random values, so the computation cannot fail.
#![forbid(unsafe_code)]

use super::vmspace::Range;

pub const PAGE_SIZE: u64 = 4096;

/// The runtime's own stacks, each above an unmapped guard page, in slots of
/// `KERNEL_STACK_SIZE + PAGE_SIZE`: the IST stacks first, then the threads' kernel stacks
/// (`mm/kstack.rs`).
pub const KERNEL_STACKS: u64 = 0x4000_0000_0000;
pub const KERNEL_STACK_SIZE: u64 = 32 * 1024;
/// How many IST stacks the runtime has (one per IST slot of the TSS that it uses).
pub const KERNEL_STACK_COUNT: usize = 5;

/// The program's address space: brk heap first, then the mmap area, the main stack on top.
pub const APP_BASE: u64 = 0x5000_0000_0000;
/// How far brk may grow (address space only: pages are mapped when touched).
pub const BRK_MAX: u64 = 64 << 30;
/// The lowest address the mmap area (the program's `VmSpace`) covers.
pub const MMAP_FLOOR: u64 = APP_BASE + (2 << 40);
/// The lowest top of the mmap area (where top-down placement starts).
pub const MMAP_TOP_MIN: u64 = 0x6800_0000_0000;
pub const APP_TOP: u64 = 0x7fff_ffff_0000;
/// The highest top of the main stack; one unmapped page stays above it.
pub const STACK_TOP_MAX: u64 = APP_TOP - PAGE_SIZE;
/// The main thread's stack, like Linux's default `ulimit -s`.
pub const MAIN_STACK_SIZE: u64 = 8 << 20;

/// Bits of page-granular randomness in the brk base (a 1 TiB window).
pub const BRK_RANDOM_BITS: u32 = 28;
/// Bits of page-granular randomness in the mmap top (a 4 TiB window).
pub const MMAP_RANDOM_BITS: u32 = 30;
/// Bits of page-granular randomness in the stack top (a 4 TiB window).
pub const STACK_RANDOM_BITS: u32 = 30;

/// Where this boot puts the program's brk heap, mmap area and main stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppLayout {
    /// The initial break (start of the brk heap).
    pub brk_base: u64,
    /// mmap without a usable hint places mappings top-down from here.
    pub mmap_top: u64,
    /// The top of the main stack (exclusive; the initial `rsp` lies below it).
    pub stack_top: u64,
}

const fn pages(random: u64, bits: u32) -> u64 {
    (random & ((1 << bits) - 1)) * PAGE_SIZE
}

impl AppLayout {
    /// The layout for three random words (only their low bits are used), one per region.
    pub const fn new(brk_random: u64, mmap_random: u64, stack_random: u64) -> AppLayout {
        AppLayout {
            brk_base: APP_BASE + pages(brk_random, BRK_RANDOM_BITS),
            mmap_top: MMAP_TOP_MIN + pages(mmap_random, MMAP_RANDOM_BITS),
            stack_top: STACK_TOP_MAX - pages(stack_random, STACK_RANDOM_BITS),
        }
    }

    /// The main stack's pages.
    pub const fn stack(&self) -> Range {
        Range::new(self.stack_top - MAIN_STACK_SIZE, self.stack_top)
    }

    /// The unmapped page under the main stack: running past the stack faults here.
    pub const fn stack_guard(&self) -> Range {
        let bottom = self.stack_top - MAIN_STACK_SIZE;
        Range::new(bottom - PAGE_SIZE, bottom)
    }

    /// The addresses brk may hand out.
    pub const fn brk_area(&self) -> Range {
        Range::new(self.brk_base, self.brk_base + BRK_MAX)
    }

    /// The range the program's mappings (and its stack) are managed in.
    pub const fn mmap_area(&self) -> Range {
        Range::new(MMAP_FLOOR, APP_TOP)
    }
}

/// The bottom of IST stack `i` (0-based); the page below it is its guard page.
pub const fn kernel_stack_base(i: usize) -> u64 {
    KERNEL_STACKS + i as u64 * (KERNEL_STACK_SIZE + PAGE_SIZE) + PAGE_SIZE
}

/// What part of the runtime's stack area `addr` is in, for fault reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelStackPart {
    /// The guard page under the stack in slot `n` (0-based).
    Guard(usize),
    /// The stack in slot `n` itself.
    Stack(usize),
}

impl KernelStackPart {
    /// True for the IST stacks' slots (the rest hold threads' kernel stacks).
    pub const fn is_ist(self) -> bool {
        match self {
            KernelStackPart::Guard(n) | KernelStackPart::Stack(n) => n < KERNEL_STACK_COUNT,
        }
    }
}

/// The slot and part of the runtime's stack area (`[KERNEL_STACKS, APP_BASE)`) `addr` is in.
pub const fn kernel_stack_part(addr: u64) -> Option<KernelStackPart> {
    if addr < KERNEL_STACKS || addr >= APP_BASE {
        return None;
    }
    let slot = (addr - KERNEL_STACKS) / (KERNEL_STACK_SIZE + PAGE_SIZE);
    let n = slot as usize;
    if addr < kernel_stack_base(n) {
        Some(KernelStackPart::Guard(n))
    } else {
        Some(KernelStackPart::Stack(n))
    }
}

pub const fn page_align_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

pub const fn page_align_up(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aligned(x: u64) -> bool {
        x.is_multiple_of(PAGE_SIZE)
    }

    fn check(l: &AppLayout) {
        assert!(
            aligned(l.brk_base) && aligned(l.mmap_top) && aligned(l.stack_top),
            "{l:x?}"
        );
        // Bottom to top, without overlap: brk area < mmap floor <= mmap top < guard < stack.
        assert!(l.brk_area().start >= APP_BASE, "{l:x?}");
        assert!(l.brk_area().end <= MMAP_FLOOR, "{l:x?}");
        assert!(
            l.mmap_top > MMAP_FLOOR + (16 << 40),
            "{l:x?}: under 16 TiB for mmap"
        );
        assert!(l.mmap_top <= l.stack_guard().start, "{l:x?}");
        assert_eq!(l.stack_guard().end, l.stack().start);
        assert!(
            l.stack().end <= STACK_TOP_MAX && STACK_TOP_MAX < APP_TOP,
            "{l:x?}"
        );
        // The stack lies inside the managed mmap area; everything is in the lower half.
        assert!(l.mmap_area().start <= l.stack_guard().start && l.stack_top <= l.mmap_area().end);
        const { assert!(APP_TOP < 1 << 47) };
        // The runtime's stacks stay below the program.
        const { assert!(kernel_stack_base(KERNEL_STACK_COUNT) <= APP_BASE) };
    }

    #[test]
    fn extremes_do_not_overlap() {
        for r in [0, u64::MAX, 1, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa] {
            check(&AppLayout::new(r, r, r));
            check(&AppLayout::new(r, !r, r));
            check(&AppLayout::new(!r, r, !r));
        }
    }

    #[test]
    fn every_random_bit_moves_its_region() {
        let base = AppLayout::new(0, 0, 0);
        for bit in 0..BRK_RANDOM_BITS {
            let l = AppLayout::new(1 << bit, 0, 0);
            assert_eq!(l.brk_base - base.brk_base, PAGE_SIZE << bit);
            assert_eq!((l.mmap_top, l.stack_top), (base.mmap_top, base.stack_top));
        }
        for bit in 0..MMAP_RANDOM_BITS {
            let l = AppLayout::new(0, 1 << bit, 0);
            assert_eq!(l.mmap_top - base.mmap_top, PAGE_SIZE << bit);
        }
        for bit in 0..STACK_RANDOM_BITS {
            let l = AppLayout::new(0, 0, 1 << bit);
            assert_eq!(base.stack_top - l.stack_top, PAGE_SIZE << bit);
        }
        // Bits above the documented counts are ignored.
        assert_eq!(AppLayout::new(1 << BRK_RANDOM_BITS, 0, 0), base);
        assert_eq!(AppLayout::new(0, 1 << MMAP_RANDOM_BITS, 0), base);
        assert_eq!(AppLayout::new(0, 0, 1 << STACK_RANDOM_BITS), base);
    }

    #[test]
    fn at_least_28_bits_for_mmap_and_stack() {
        const { assert!(MMAP_RANDOM_BITS >= 28 && STACK_RANDOM_BITS >= 28) };
    }

    #[test]
    fn kernel_stack_parts() {
        assert_eq!(kernel_stack_part(KERNEL_STACKS - 1), None);
        assert_eq!(
            kernel_stack_part(KERNEL_STACKS),
            Some(KernelStackPart::Guard(0))
        );
        assert_eq!(
            kernel_stack_part(kernel_stack_base(0)),
            Some(KernelStackPart::Stack(0))
        );
        assert_eq!(
            kernel_stack_part(kernel_stack_base(2) - 8),
            Some(KernelStackPart::Guard(2))
        );
        assert_eq!(
            kernel_stack_part(kernel_stack_base(4) + KERNEL_STACK_SIZE - 8),
            Some(KernelStackPart::Stack(4))
        );
        let thread = kernel_stack_part(kernel_stack_base(4) + KERNEL_STACK_SIZE);
        assert_eq!(thread, Some(KernelStackPart::Guard(5)));
        assert!(!thread.unwrap().is_ist() && KernelStackPart::Stack(4).is_ist());
        assert_eq!(kernel_stack_part(APP_BASE), None);
    }
}
