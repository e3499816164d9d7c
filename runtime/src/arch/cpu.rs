//! CPU features, the extended (FPU/SSE/AVX) state, and hardware entropy.

use core::arch::x86_64::{__cpuid, __cpuid_count};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// The features the runtime looks at, read once at boot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub rdrand: bool,
    pub rdseed: bool,
    pub xsave: bool,
    pub avx: bool,
    pub fsgsbase: bool,
    pub hwcap: u32,
    pub hwcap2: u32,
}

/// The CPU's features, detected once.
pub fn features() -> Features {
    static CACHED: spin::Once<Features> = spin::Once::new();
    *CACHED.call_once(detect)
}

fn detect() -> Features {
    // CPUID is always available on x86-64.
    let l1 = __cpuid(1);
    let max = __cpuid(0).eax;
    let l7_ebx = if max >= 7 { __cpuid_count(7, 0).ebx } else { 0 };
    Features {
        rdrand: l1.ecx & (1 << 30) != 0,
        rdseed: l7_ebx & (1 << 18) != 0,
        xsave: l1.ecx & (1 << 26) != 0,
        avx: l1.ecx & (1 << 28) != 0,
        fsgsbase: l7_ebx & 1 != 0,
        // Linux reports CPUID.1:EDX as AT_HWCAP on x86.
        hwcap: l1.edx,
        hwcap2: 0,
    }
}

/// Enables x87/SSE for the program (and AVX through XSAVE where present): the runtime itself
/// is built without SSE, so it never touches this state.
pub fn enable_extended_state(f: &Features) {
    // SAFETY: setting MP and clearing EM/TS selects native FPU handling; OSFXSR and
    // OSXMMEXCPT enable SSE and its exceptions. These are the documented steps and no code
    // has used the FPU yet.
    unsafe {
        let mut cr0 = Cr0::read();
        cr0.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        cr0.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
        Cr0::write(cr0);
        let mut cr4 = Cr4::read();
        cr4.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
        if f.xsave {
            cr4.insert(Cr4Flags::OSXSAVE);
        }
        Cr4::write(cr4);
        core::arch::asm!("fninit", options(nomem, nostack));
        if f.xsave {
            // x87 | SSE, plus AVX if the CPU supports saving it.
            let supported = __cpuid_count(0xd, 0).eax as u64;
            let xcr0 = supported & 0b111;
            core::arch::asm!("xsetbv", in("ecx") 0, in("eax") xcr0 as u32,
                in("edx") (xcr0 >> 32) as u32, options(nomem, nostack));
        }
    }
}

/// One 64-bit value from RDSEED, else RDRAND, retrying a few times as Intel recommends.
pub fn hw_random(f: &Features) -> Option<u64> {
    for _ in 0..32 {
        let (mut v, mut ok): (u64, u8);
        if f.rdseed {
            // SAFETY: RDSEED is supported (CPUID.7.EBX[18]); it only writes its operands.
            unsafe {
                core::arch::asm!("rdseed {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok,
                    options(nomem, nostack))
            };
            if ok != 0 {
                return Some(v);
            }
        }
        if f.rdrand {
            // SAFETY: RDRAND is supported (CPUID.1.ECX[30]); it only writes its operands.
            unsafe {
                core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok,
                    options(nomem, nostack))
            };
            if ok != 0 {
                return Some(v);
            }
        }
        if !f.rdseed && !f.rdrand {
            return None;
        }
    }
    None
}

/// RDSEED/RDRAND as a seed source for the kernel's CSPRNG.
#[derive(Debug, Clone, Copy)]
pub struct CpuRandom(pub Features);

impl crate::entropy::SeedSource for CpuRandom {
    fn name(&self) -> &'static str {
        "rdseed/rdrand"
    }

    fn fill_seed(&mut self, seed: &mut [u8; crate::entropy::SEED_LEN]) -> bool {
        for chunk in seed.chunks_exact_mut(8) {
            match hw_random(&self.0) {
                Some(v) => chunk.copy_from_slice(&v.to_le_bytes()),
                None => return false,
            }
        }
        true
    }
}

/// 32 bytes from the jitter of the time-stamp counter: the seed of last resort when there is
/// no hardware entropy source. Predictable (the boot says so loudly).
pub fn tsc_seed() -> [u8; crate::entropy::SEED_LEN] {
    let mut seed = [0u8; crate::entropy::SEED_LEN];
    let mut prev = rdtsc();
    for (i, byte) in seed.iter_mut().enumerate() {
        let mut acc = 0u64;
        for _ in 0..8 {
            let now = rdtsc();
            acc = acc.rotate_left(7) ^ now.wrapping_sub(prev) ^ now;
            prev = now;
        }
        *byte = (acc ^ (acc >> 8) ^ (acc >> 16) ^ (acc >> 32) ^ i as u64) as u8;
    }
    seed
}

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects and CR4.TSD is clear in ring 0 anyway.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Halts until the next interrupt, with interrupts enabled only for the halt itself
/// (`sti; hlt` is atomic: an interrupt pending at `sti` still wakes the `hlt`).
#[inline]
pub fn halt_until_interrupt() {
    // SAFETY: interrupt handlers run on IST stacks and return here; kernel code holds no lock
    // that a handler takes while it halts.
    unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}

/// RFLAGS.IF: maskable interrupts enabled.
pub const RFLAGS_IF: u64 = 1 << 9;
/// The RFLAGS bits kernel code must run with clear: DF (the SysV ABI requires it at every
/// call; string instructions copy backwards with it set) and AC (alignment checking; kernel
/// code never wants it). Every path into kernel code clears them: the syscall entry through
/// FMASK, the trap stubs, and the preemption redirect.
pub const RFLAGS_KERNEL_CLEAR: u64 = (1 << 10) | (1 << 18);

/// Reads RFLAGS.
#[inline]
pub fn rflags() -> u64 {
    x86_64::registers::rflags::read_raw()
}

/// In builds with the `debug-checks` feature (or debug assertions): stops with a kernel fault
/// if kernel code runs with a flag it relies on set (see [`RFLAGS_KERNEL_CLEAR`]). Called at
/// the scheduler's and the kernel heap's entry points.
#[inline]
pub fn debug_assert_kernel_flags() {
    if cfg!(any(feature = "debug-checks", debug_assertions)) {
        let flags = rflags();
        if flags & RFLAGS_KERNEL_CLEAR != 0 {
            panic!("kernel code entered with rflags {flags:#x} (DF or AC set)");
        }
    }
}

/// Writes to address 0, which is never mapped: a page fault in kernel code, on purpose
/// (`/proc/sysrq-trigger`'s `c`). Does not return.
pub fn null_write() -> ! {
    // SAFETY: page 0 is never mapped, so the write faults before it changes anything; the
    // fault handler ends the VM with the kernel-fault report.
    unsafe { core::ptr::write_volatile(core::ptr::null_mut::<u64>(), 0) };
    unreachable!("a write to address 0 returned");
}
