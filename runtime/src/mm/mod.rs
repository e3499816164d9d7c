//! Memory: physical frames, the page tables and their protections, the kernel heap, and the
//! program's address space (brk, anonymous mappings, demand-zero pages, guard pages).
//!
//! Physical memory is identity-mapped (RAM as RW+NX 2 MiB pages; the image and the first
//! 2 MiB as 4 KiB pages: text R+X, rodata R+NX, data/bss RW+NX, page 0 unmapped). Everything
//! the program gets — its stack, brk heap and mmap areas — lives in a separate virtual range
//! above [`layout::APP_BASE`], placed at random each boot ([`layout::AppLayout`]) and mapped
//! on first touch. The runtime's own stacks live at [`layout::KERNEL_STACKS`], each with an
//! unmapped guard page below it; the boot stack's guard page is left out of the image map.

pub mod filemap;
pub mod heap_guard;
pub mod layout;
pub mod vmspace;

#[cfg(target_os = "none")]
pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod kstack;
#[cfg(target_os = "none")]
pub mod paging;
#[cfg(target_os = "none")]
pub mod user;
