//! Kiln's runtime: the kernel half of a Kiln image.
//!
//! One C or C++ program, musl, libc++ and this crate are linked into one ELF that a
//! hypervisor boots straight into the program: one program per VM, ring 0, one address space.
//! The program's C library issues the `syscall` instruction as it would on Linux; this crate
//! answers it. Layers, bottom to top (see `docs/ARCHITECTURE.md`):
//!
//! - [`boot`]: PVH and multiboot2 entry, long mode, boot information;
//! - [`arch`]: GDT/TSS, IDT with every vector on an IST stack, fault reports, CPU features;
//! - [`mm`]: physical frames, page tables with per-section protections, the kernel heap, and
//!   the program's address space (brk, anonymous mmap, demand-zero pages, guard pages);
//! - [`time`] and [`drivers`]: clocks and timers, the serial console, exiting the VM, PCI and
//!   virtio devices, the e1000 NIC;
//! - [`net`]: the network interface (smoltcp over virtio-net or an e1000), DHCP/SLAAC/static
//!   addresses, and the socket API under the BSD socket syscalls;
//! - [`entropy`]: the ChaCha20 CSPRNG behind getrandom, /dev/urandom, AT_RANDOM and the
//!   randomized layout, seeded from pluggable hardware sources (RDSEED/RDRAND, virtio-rng);
//! - [`process`]: the initial stack (argc, argv, envp, auxv) and the jump into musl's `_start`;
//! - [`syscall`]: the Linux x86-64 syscall ABI — one table, handlers grouped by family, each
//!   returning `Result<_, Errno>`; anything unsupported is `-ENOSYS` plus one console line.
//!
//! Rules: the pure modules (boot-info parsing, the command line, the initial stack, address
//! space bookkeeping and layout, the entropy pool, the symbol table, errno) compile for the host and are unit-tested there;
//! hardware access lives in `boot`, `arch`, `drivers` and small marked parts of `mm` and
//! `time`. Kernel code is built without SSE and without a red zone; the program's code uses
//! both, so every interrupt runs on an IST stack and the syscall entry skips the red zone.
//! Interrupts are off whenever kernel code runs, except while it halts waiting for one.
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

// First, so its console macros are visible to every module below. Its hardware modules are
// kernel-only; the pure halves of drivers compile on the host for their tests.
#[macro_use]
pub mod drivers;

pub mod errno;
pub mod fd;
pub mod fs;
pub mod symbols;

pub mod boot;
pub mod entropy;
pub mod mm;
pub mod net;
pub mod process;

#[cfg(target_os = "none")]
pub mod arch;
pub mod syscall;
pub mod time;

pub mod sched;
pub mod signal;

#[cfg(test)]
mod testutil;

#[cfg(target_os = "none")]
mod kernel;
