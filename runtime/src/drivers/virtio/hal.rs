//! `virtio-drivers`' `Hal` over the runtime's memory: RAM is identity-mapped, so a buffer's
//! physical address is its address, and DMA memory is contiguous frames.

use core::ptr::NonNull;

use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

use crate::mm::frames::FRAMES;
use crate::mm::layout::KERNEL_STACKS;

#[derive(Debug)]
pub struct KilnHal;

/// The physical address of an identity-mapped kernel buffer. Buffers elsewhere (the program's
/// memory, the runtime's stacks) cannot be handed to a device: a bug in the driver, not input.
fn identity(addr: usize, len: usize) -> PhysAddr {
    let end = addr as u64 + len as u64;
    assert!(
        addr != 0 && end <= KERNEL_STACKS,
        "DMA buffer {addr:#x} is not identity-mapped RAM"
    );
    addr as PhysAddr
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned, identity-mapped frames that nobody else
// owns until `dma_dealloc`; `share` hands out the physical address of identity-mapped memory.
unsafe impl Hal for KilnHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(frame) = FRAMES.lock().alloc_contiguous(pages as u64) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: fresh frames, identity-mapped RAM owned by nobody else.
        unsafe { core::ptr::write_bytes(frame as *mut u8, 0, pages * PAGE_SIZE) };
        // A frame is never 0 (page 0 is kept out of the allocator).
        (
            frame,
            NonNull::new(frame as *mut u8).unwrap_or(NonNull::dangling()),
        )
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        let mut frames = FRAMES.lock();
        for i in 0..pages as u64 {
            // SAFETY: the caller returns frames `dma_alloc` gave out and no longer uses them.
            unsafe { frames.free(paddr + i * PAGE_SIZE as u64) };
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        crate::mm::paging::map_mmio(paddr, size as u64);
        NonNull::new(paddr as *mut u8).expect("a BAR at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        identity(buffer.as_ptr() as *mut u8 as usize, buffer.len())
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
