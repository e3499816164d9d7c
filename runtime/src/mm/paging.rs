//! The page tables: built once at boot to replace the loader-time identity map, then edited
//! for MMIO, kernel stacks and the program's pages. Uses the `x86_64` crate's mapper over an
//! identity mapping (physical offset 0).

use spin::Mutex;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, TranslateResult, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageSize, PageTable, PageTableFlags as F,
    PhysFrame, Size2MiB, Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use super::frames;
use super::layout::PAGE_SIZE;

static MAPPER: Mutex<Option<OffsetPageTable<'static>>> = Mutex::new(None);

/// Hands page-table frames to the mapper from [`frames`], zeroed.
struct TableFrames;

// SAFETY: every frame returned is unused RAM owned from now on by the page tables.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        frames::alloc_zeroed().map(|f| PhysFrame::containing_address(PhysAddr::new(f)))
    }
}

extern "C" {
    static __kiln_image_start: u8;
    static __kiln_rodata_end: u8;
    static __kiln_text_start: u8;
    static __kiln_text_end: u8;
    static __kiln_data_start: u8;
    static __kiln_data_end: u8;
    static __kiln_syms_start: u8;
    static __kiln_image_end: u8;
    /// The page below the boot stack (`boot/entry.rs`).
    static kiln_boot_stack_guard: u8;
    static kiln_boot_stack_top: u8;
    static __kiln_kernel_text_start: u8;
    static __kiln_kernel_text_end: u8;
}

/// Whether `rip` lies in the runtime's own code (the linker script keeps it apart from the
/// program's, musl's and libc++'s).
pub fn is_kernel_text(rip: u64) -> bool {
    let start = core::ptr::addr_of!(__kiln_kernel_text_start) as u64;
    let end = core::ptr::addr_of!(__kiln_kernel_text_end) as u64;
    (start..end).contains(&rip)
}

/// Whether `rsp` lies on a stack the runtime owns: the boot stack, an IST stack or a thread's
/// kernel stack (or their guard pages). Program code that moved its stack pointer there (an
/// attack, or a wild write) gets no signal frame pushed onto it: its fault is reported and
/// ends the program.
pub fn is_runtime_stack(rsp: u64) -> bool {
    let boot = boot_stack_guard().start..=core::ptr::addr_of!(kiln_boot_stack_top) as u64;
    boot.contains(&rsp) || (super::layout::KERNEL_STACKS..super::layout::APP_BASE).contains(&rsp)
}

/// The guard page below the boot stack, which the real page tables leave unmapped.
pub fn boot_stack_guard() -> super::vmspace::Range {
    // Taking the address of an extern static reads nothing, so needs no unsafe.
    let start = core::ptr::addr_of!(kiln_boot_stack_guard) as u64;
    super::vmspace::Range::new(start, start + PAGE_SIZE)
}

/// The image's section boundaries, from the linker script.
#[derive(Debug, Clone, Copy)]
pub struct ImageLayout {
    pub start: u64,
    pub text: (u64, u64),
    pub data: (u64, u64),
    pub syms_start: u64,
    pub end: u64,
}

pub fn image_layout() -> ImageLayout {
    // SAFETY: only the addresses of linker-script symbols are taken.
    unsafe {
        let a = |s: &u8| s as *const u8 as u64;
        let _ = a(&__kiln_rodata_end);
        ImageLayout {
            start: a(&__kiln_image_start),
            text: (a(&__kiln_text_start), a(&__kiln_text_end)),
            data: (a(&__kiln_data_start), a(&__kiln_data_end)),
            syms_start: a(&__kiln_syms_start),
            end: a(&__kiln_image_end),
        }
    }
}

const RAM: F = F::PRESENT.union(F::WRITABLE).union(F::NO_EXECUTE);
const PARENT: F = F::PRESENT.union(F::WRITABLE);

/// Protections of a 4 KiB page of the first 2 MiB or of the image; `None` = unmapped.
fn image_page_flags(img: &ImageLayout, addr: u64) -> Option<F> {
    if addr == 0 {
        return None; // NULL dereferences fault
    }
    if boot_stack_guard().contains(addr) {
        return None; // the boot stack overflows into a fault
    }
    if addr < img.start || addr >= img.end {
        return Some(RAM);
    }
    if addr >= img.text.0 && addr < img.text.1 {
        Some(F::PRESENT) // R+X
    } else if addr >= img.data.0 && addr < img.syms_start {
        Some(RAM) // RW+NX
    } else {
        Some(F::PRESENT | F::NO_EXECUTE) // headers, rodata, symbols: R+NX
    }
}

/// Builds the real page tables over `ram` (physical ranges to identity-map) and switches to
/// them.
pub fn init(ram: &[(u64, u64)]) {
    let img = image_layout();
    let pml4_phys = frames::alloc_zeroed().expect("no memory for page tables");
    // SAFETY: the new PML4 is a zeroed frame we own, reachable through the boot identity map
    // (which covers the low 4 GiB, where the first frames come from).
    let pml4 = unsafe { &mut *(pml4_phys as *mut PageTable) };
    // SAFETY: physical memory is identity-mapped (offset 0) in both the boot tables and the
    // ones being built, which is what OffsetPageTable requires.
    let mut mapper = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(0)) };
    let top = ram.iter().map(|r| r.1).max().unwrap_or(0);
    let chunk = Size2MiB::SIZE;
    let chunks = top.div_ceil(chunk);
    let image_chunks = (img.start / chunk, img.end.div_ceil(chunk));
    for c in 0..chunks {
        let base = c * chunk;
        let fine = c == 0 || (c >= image_chunks.0 && c < image_chunks.1);
        if !fine && !ram.iter().any(|&(s, e)| s < base + chunk && e > base) {
            continue;
        }
        if fine {
            for addr in (base..base + chunk).step_by(PAGE_SIZE as usize) {
                if let Some(flags) = image_page_flags(&img, addr) {
                    map_4k(&mut mapper, addr, addr, flags).expect("mapping the image");
                }
            }
        } else {
            let page = Page::<Size2MiB>::containing_address(VirtAddr::new(base));
            let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(base));
            // SAFETY: identity-mapping RAM; nothing else is mapped at this address.
            unsafe {
                mapper
                    .map_to_with_table_flags(
                        page,
                        frame,
                        RAM | F::HUGE_PAGE,
                        PARENT,
                        &mut TableFrames,
                    )
                    .expect("mapping RAM")
                    .ignore();
            }
        }
    }
    // SAFETY: the new tables map everything the kernel uses (image, RAM, boot stack) at the
    // same addresses as the boot tables, so execution continues seamlessly; the one page they
    // leave out of the image is the boot stack's guard, which nothing uses.
    unsafe {
        Cr3::write(
            PhysFrame::containing_address(PhysAddr::new(pml4_phys)),
            Cr3Flags::empty(),
        )
    };
    *MAPPER.lock() = Some(mapper);
}

fn map_4k(
    mapper: &mut OffsetPageTable<'static>,
    virt: u64,
    phys: u64,
    flags: F,
) -> Result<(), MapToError<Size4KiB>> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
    // SAFETY: callers map either identity RAM/MMIO or frames they own at addresses they own.
    unsafe {
        mapper
            .map_to_with_table_flags(page, frame, flags, PARENT, &mut TableFrames)?
            .flush()
    };
    Ok(())
}

fn with_mapper<R>(f: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    let mut guard = MAPPER.lock();
    f(guard.as_mut().expect("paging not initialized"))
}

/// Identity-maps device memory, uncached and non-executable.
pub fn map_mmio(phys: u64, len: u64) {
    let flags = F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::NO_CACHE | F::WRITE_THROUGH;
    with_mapper(|m| {
        let start = phys & !(PAGE_SIZE - 1);
        for addr in (start..phys + len).step_by(PAGE_SIZE as usize) {
            match map_4k(m, addr, addr, flags) {
                Ok(()) | Err(MapToError::PageAlreadyMapped(_)) => {}
                Err(e) => panic!("mapping MMIO at {addr:#x}: {e:?}"),
            }
        }
    })
}

/// Why a page could not be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// The page is mapped already.
    AlreadyMapped,
    /// No frame for a page table.
    OutOfMemory,
}

/// Maps one 4 KiB page to `frame`.
pub fn map_page(virt: u64, frame: u64, flags: F) -> Result<(), MapError> {
    with_mapper(|m| {
        map_4k(m, virt, frame, flags).map_err(|e| match e {
            MapToError::FrameAllocationFailed => MapError::OutOfMemory,
            _ => MapError::AlreadyMapped,
        })
    })
}

/// Unmaps one 4 KiB page and returns the frame it mapped, if any (also a page hidden with
/// [`hide_page`]).
pub fn unmap_page(virt: u64) -> Option<u64> {
    with_mapper(|m| {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        let (frame, flush) = match m.unmap(page) {
            Ok(unmapped) => unmapped,
            Err(UnmapError::PageNotMapped) => {
                // A hidden page: its entry still names the frame but is not present. Make it
                // present (it stays inaccessible: nothing runs before it is unmapped) to
                // unmap it; an unused entry fails here and means nothing was mapped.
                // SAFETY: only the flags of the caller's own page change.
                unsafe { m.update_flags(page, F::PRESENT | F::NO_EXECUTE) }
                    .ok()?
                    .ignore();
                m.unmap(page).ok()?
            }
            Err(_) => return None,
        };
        flush.flush();
        Some(frame.start_address().as_u64())
    })
}

/// Makes a mapped 4 KiB page inaccessible (not present) but keeps its frame, so its contents
/// come back when [`set_flags`] makes it accessible again (`mprotect(PROT_NONE)` and back);
/// false if it is not mapped.
pub fn hide_page(virt: u64) -> bool {
    set_flags(virt, F::NO_EXECUTE)
}

/// Changes the protections of a mapped 4 KiB page; false if it is not mapped.
pub fn set_flags(virt: u64, flags: F) -> bool {
    with_mapper(|m| {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        // SAFETY: changing protections of a page the caller owns.
        match unsafe { m.update_flags(page, flags) } {
            Ok(flush) => {
                flush.flush();
                true
            }
            Err(_) => false,
        }
    })
}

/// The flags of the page mapping `virt`, if mapped (for fault reports and pointer checks).
pub fn flags_of(virt: u64) -> Option<F> {
    let guard = MAPPER.try_lock()?;
    let m = guard.as_ref()?;
    match m.translate(VirtAddr::new(virt)) {
        TranslateResult::Mapped { flags, .. } => Some(flags),
        _ => None,
    }
}

/// Allocates a kernel stack of `size` bytes at `virt` (which must have an unmapped page
/// below it) and returns its top.
pub fn map_kernel_stack(virt: u64, size: u64) -> u64 {
    for addr in (virt..virt + size).step_by(PAGE_SIZE as usize) {
        let frame = frames::alloc_zeroed().expect("no memory for kernel stacks");
        map_page(addr, frame, RAM).expect("mapping a kernel stack");
    }
    virt + size
}
