//! The kernel heap: a fixed, physically contiguous block handed to `linked_list_allocator`.
//! The program's heap is separate (its brk and mmap areas live in `user`), so a heap overflow
//! in the program cannot reach the runtime's allocations by walking off the end of a block.

use linked_list_allocator::LockedHeap;

use super::frames::FRAMES;
use super::layout::PAGE_SIZE;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Gives the heap `bytes` (rounded to pages) of RAM. Returns the size actually given.
pub fn init(bytes: u64) -> u64 {
    let pages = bytes.div_ceil(PAGE_SIZE);
    let start = FRAMES
        .lock()
        .alloc_contiguous(pages)
        .expect("no memory for the kernel heap");
    // SAFETY: the block is unused, identity-mapped RW RAM that the heap owns from now on.
    unsafe {
        HEAP.lock()
            .init(start as *mut u8, (pages * PAGE_SIZE) as usize)
    };
    pages * PAGE_SIZE
}

/// Bytes in use and free in the kernel heap.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.used(), heap.free())
}
