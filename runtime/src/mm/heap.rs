//! The kernel heap: a fixed, physically contiguous block handed to `linked_list_allocator`.
//! The program's heap is separate (its brk and mmap areas live in `user`), so a heap overflow
//! in the program cannot reach the runtime's allocations by walking off the end of a block.
//!
//! With the `debug-checks` feature (the test suite's debug kernel) every block gets red zones
//! checked at free and is poisoned when freed ([`super::heap_guard`]), and every entry asserts
//! that kernel code runs with DF and AC clear.

use core::alloc::{GlobalAlloc, Layout};
use linked_list_allocator::LockedHeap;

use super::frames::FRAMES;
use super::heap_guard;
use super::layout::PAGE_SIZE;
use crate::arch::cpu;

struct KernelHeap(LockedHeap);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(LockedHeap::empty());

const GUARDED: bool = cfg!(feature = "debug-checks");

// SAFETY: every method forwards to `LockedHeap`'s own GlobalAlloc with a layout derived from
// the caller's; in the guarded mode the caller's block lies `offset` bytes into an outer block
// of `guarded(layout).outer`, which `dealloc` reconstructs from the same layout.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        cpu::debug_assert_kernel_flags();
        if !GUARDED {
            // SAFETY: forwarded unchanged (the caller's contract).
            return unsafe { self.0.alloc(layout) };
        }
        let Some(g) = heap_guard::guarded(layout) else {
            return core::ptr::null_mut();
        };
        // SAFETY: `g.outer` has a non-zero size (it includes two zones).
        let outer = unsafe { self.0.alloc(g.outer) };
        if outer.is_null() {
            return outer;
        }
        // SAFETY: the outer block is `g.outer.size()` bytes, just allocated and ours.
        let bytes = unsafe { core::slice::from_raw_parts_mut(outer, g.outer.size()) };
        heap_guard::paint(bytes, g, layout.size());
        // SAFETY: `offset` is inside the outer block (it is the front zone's size).
        unsafe { outer.add(g.offset) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        cpu::debug_assert_kernel_flags();
        if !GUARDED {
            // SAFETY: forwarded unchanged (the caller's contract).
            return unsafe { self.0.dealloc(ptr, layout) };
        }
        let g = heap_guard::guarded(layout).expect("a layout that was allocated");
        // SAFETY: `ptr` came from `alloc` with this layout, so the outer block starts
        // `offset` bytes before it and is `g.outer.size()` bytes long.
        let outer = unsafe { ptr.sub(g.offset) };
        // SAFETY: as above; the block is still allocated until the dealloc below.
        let bytes = unsafe { core::slice::from_raw_parts_mut(outer, g.outer.size()) };
        if let Err(bad) = heap_guard::check_and_poison(bytes, g, layout.size()) {
            panic!(
                "kernel heap corrupted: block {:p} of {} bytes overwritten at offset {} (found {:#04x})",
                ptr,
                layout.size(),
                bad.at,
                bad.found
            );
        }
        // SAFETY: the outer block was allocated with `g.outer`.
        unsafe { self.0.dealloc(outer, g.outer) }
    }
}

/// Gives the heap `bytes` (rounded to pages) of RAM. Returns the size actually given.
pub fn init(bytes: u64) -> u64 {
    let pages = bytes.div_ceil(PAGE_SIZE);
    let start = FRAMES
        .lock()
        .alloc_contiguous(pages)
        .expect("no memory for the kernel heap");
    // SAFETY: the block is unused, identity-mapped RW RAM that the heap owns from now on.
    unsafe {
        HEAP.0
            .lock()
            .init(start as *mut u8, (pages * PAGE_SIZE) as usize)
    };
    pages * PAGE_SIZE
}

/// Bytes in use and free in the kernel heap.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.0.lock();
    (heap.used(), heap.free())
}
