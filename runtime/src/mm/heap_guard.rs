//! Red zones and poison for the debug kernel heap (feature `debug-checks`): every block is
//! allocated with a painted zone before and after it; freeing checks both zones (a write past
//! either end of a block is found at its `free`, naming the block) and fills the block with
//! poison, so a use after free reads a pattern that faults or shows, never stale data.
//!
//! Pure arithmetic over byte slices, so it is unit-tested on the host; `heap.rs` applies it.
#![forbid(unsafe_code)]

use core::alloc::Layout;

/// What a red zone is painted with.
pub const RED_ZONE_BYTE: u8 = 0xab;
/// What a freed block is filled with (a pointer read from it is non-canonical).
pub const POISON_BYTE: u8 = 0xdd;
/// The smallest red zone on each side.
const MIN_ZONE: usize = 16;

/// Where the program-visible block sits inside its guarded allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guarded {
    /// The allocation asked of the real heap.
    pub outer: Layout,
    /// The block's offset in it (the size of the front zone).
    pub offset: usize,
}

/// The guarded allocation for `inner`; `None` if the sizes overflow.
pub fn guarded(inner: Layout) -> Option<Guarded> {
    let zone = inner.align().max(MIN_ZONE);
    let size = inner.size().checked_add(zone.checked_mul(2)?)?;
    let outer = Layout::from_size_align(size, inner.align()).ok()?;
    Some(Guarded {
        outer,
        offset: zone,
    })
}

/// Paints both zones of a fresh outer block.
pub fn paint(outer: &mut [u8], g: Guarded, inner_size: usize) {
    outer[..g.offset].fill(RED_ZONE_BYTE);
    outer[g.offset + inner_size..].fill(RED_ZONE_BYTE);
}

/// A red zone found overwritten at free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overrun {
    /// Offset from the block's start of the first bad byte (negative: before the block).
    pub at: isize,
    pub found: u8,
}

/// Checks both zones of a block about to be freed, then poisons the whole outer block.
pub fn check_and_poison(outer: &mut [u8], g: Guarded, inner_size: usize) -> Result<(), Overrun> {
    let front = outer[..g.offset]
        .iter()
        .position(|&b| b != RED_ZONE_BYTE)
        .map(|i| i as isize - g.offset as isize);
    let back_start = g.offset + inner_size;
    let back = outer[back_start..]
        .iter()
        .position(|&b| b != RED_ZONE_BYTE)
        .map(|i| (inner_size + i) as isize);
    let bad = front.or(back).map(|at| Overrun {
        at,
        found: outer[(at + g.offset as isize) as usize],
    });
    outer.fill(POISON_BYTE);
    bad.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(size: usize, align: usize) -> (Vec<u8>, Guarded) {
        let g = guarded(Layout::from_size_align(size, align).unwrap()).unwrap();
        let mut outer = vec![0u8; g.outer.size()];
        paint(&mut outer, g, size);
        (outer, g)
    }

    #[test]
    fn zones_are_at_least_the_alignment_so_the_block_stays_aligned() {
        let g = guarded(Layout::from_size_align(10, 64).unwrap()).unwrap();
        assert_eq!(g.offset, 64);
        assert_eq!(g.outer.size(), 10 + 128);
        assert_eq!(g.outer.align(), 64);
        assert_eq!(
            guarded(Layout::from_size_align(1, 1).unwrap())
                .unwrap()
                .offset,
            16
        );
        assert!(guarded(Layout::from_size_align(isize::MAX as usize - 8, 1).unwrap()).is_none());
    }

    #[test]
    fn an_untouched_block_frees_cleanly_and_is_poisoned() {
        let (mut outer, g) = block(24, 8);
        outer[g.offset..g.offset + 24].fill(0x11);
        assert_eq!(check_and_poison(&mut outer, g, 24), Ok(()));
        assert!(outer.iter().all(|&b| b == POISON_BYTE));
    }

    #[test]
    fn writes_past_either_end_are_found() {
        let (mut outer, g) = block(24, 8);
        outer[g.offset + 24] = 0; // one byte past the end
        assert_eq!(
            check_and_poison(&mut outer, g, 24),
            Err(Overrun { at: 24, found: 0 })
        );
        let (mut outer, g) = block(24, 8);
        outer[g.offset - 3] = 7; // three bytes before the start
        assert_eq!(
            check_and_poison(&mut outer, g, 24),
            Err(Overrun { at: -3, found: 7 })
        );
    }
}
