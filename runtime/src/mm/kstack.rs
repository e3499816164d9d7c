//! Kernel stacks for threads: slots in the [`super::layout::KERNEL_STACKS`] area after the IST
//! stacks, each with an unmapped guard page below it, reused after a thread exits.

use alloc::vec::Vec;
use spin::Mutex;

use super::layout::{KERNEL_STACKS, PAGE_SIZE};
use super::{frames, paging};

/// Each thread's kernel stack: syscalls and preemption run on it.
pub const THREAD_KSTACK_SIZE: u64 = 32 * 1024;
/// The first slots belong to the IST stacks (`kernel.rs`).
const FIRST_SLOT: u64 = 8;
const SLOT: u64 = THREAD_KSTACK_SIZE + PAGE_SIZE;

struct Slots {
    next: u64,
    free: Vec<u64>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    next: FIRST_SLOT,
    free: Vec::new(),
});

/// A kernel stack: `(bottom, top)`. None when memory runs out.
pub fn alloc() -> Option<(u64, u64)> {
    let slot = {
        let mut s = SLOTS.lock();
        s.free.pop().unwrap_or_else(|| {
            s.next += 1;
            s.next - 1
        })
    };
    let bottom = KERNEL_STACKS + slot * SLOT + PAGE_SIZE;
    for page in (bottom..bottom + THREAD_KSTACK_SIZE).step_by(PAGE_SIZE as usize) {
        let frame = frames::alloc_zeroed()?;
        let flags = x86_64::structures::paging::PageTableFlags::PRESENT
            | x86_64::structures::paging::PageTableFlags::WRITABLE
            | x86_64::structures::paging::PageTableFlags::NO_EXECUTE;
        if paging::map_page(page, frame, flags).is_err() {
            // SAFETY: the frame was just allocated and never mapped.
            unsafe { frames::FRAMES.lock().free(frame) };
            return None;
        }
    }
    Some((bottom, bottom + THREAD_KSTACK_SIZE))
}

/// Unmaps a stack from [`alloc`] and frees its frames. It must not be the running stack.
pub fn free(bottom: u64) {
    for page in (bottom..bottom + THREAD_KSTACK_SIZE).step_by(PAGE_SIZE as usize) {
        if let Some(frame) = paging::unmap_page(page) {
            // SAFETY: the frame backed a kernel stack nobody runs on any more.
            unsafe { frames::FRAMES.lock().free(frame) };
        }
    }
    SLOTS
        .lock()
        .free
        .push((bottom - KERNEL_STACKS - PAGE_SIZE) / SLOT);
}
