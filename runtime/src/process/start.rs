//! Starting the program as Linux would: the initial stack (argc, argv, envp, auxv) on the
//! program's main stack, then a jump to musl's `_start` with the registers cleared.

use alloc::string::String;
use alloc::vec::Vec;

use super::cmdline::Cmdline;
use super::stack::{build_initial_stack, AuxEntry, StackSpec};
use super::stack::{AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_GID, AT_HWCAP, AT_HWCAP2};
use super::stack::{AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_SECURE, AT_UID};
use crate::arch::cpu::Features;
use crate::mm::layout::PAGE_SIZE;

extern "C" {
    /// musl's entry point (crt1.o), linked into the image.
    fn _start() -> !;
    /// The ELF header, which the linker script places at the start of the first segment.
    static __ehdr_start: [u8; 64];
}

/// How much of the stack's top is mapped up front for the strings and vectors.
const INITIAL_STACK_BYTES: u64 = 64 * 1024;

pub fn start(cmdline: &Cmdline<'_>, stack_top: u64, features: &Features) -> ! {
    // SAFETY: __ehdr_start is the loaded ELF header (the first PT_LOAD covers it).
    let ehdr = unsafe { &*core::ptr::addr_of!(__ehdr_start) };
    let base = ehdr.as_ptr() as u64;
    let phoff = u64::from_le_bytes(ehdr[32..40].try_into().unwrap_or([0; 8]));
    let phentsize = u16::from_le_bytes([ehdr[54], ehdr[55]]) as u64;
    let phnum = u16::from_le_bytes([ehdr[56], ehdr[57]]) as u64;

    let argv0 = cmdline
        .option("argv0")
        .filter(|s| !s.is_empty())
        .unwrap_or("app");
    let mut args: Vec<String> = Vec::new();
    args.push(String::from(argv0));
    args.extend(cmdline.args().map(|a| String::from(&*a)));
    let mut env: Vec<String> = cmdline.env().map(|e| String::from(&*e)).collect();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(String::from("PATH=/bin:/usr/bin"));
    }
    let argv: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    let envp: Vec<&[u8]> = env.iter().map(|s| s.as_bytes()).collect();

    let auxv = [
        AuxEntry::new(AT_PHDR, base + phoff),
        AuxEntry::new(AT_PHENT, phentsize),
        AuxEntry::new(AT_PHNUM, phnum),
        AuxEntry::new(AT_PAGESZ, PAGE_SIZE),
        AuxEntry::new(AT_ENTRY, _start as *const () as usize as u64),
        AuxEntry::new(AT_UID, 0),
        AuxEntry::new(AT_EUID, 0),
        AuxEntry::new(AT_GID, 0),
        AuxEntry::new(AT_EGID, 0),
        AuxEntry::new(AT_HWCAP, features.hwcap as u64),
        AuxEntry::new(AT_HWCAP2, features.hwcap2 as u64),
        AuxEntry::new(AT_CLKTCK, 100),
        AuxEntry::new(AT_SECURE, 0),
    ];
    let mut random = [0u8; 16];
    crate::kernel::fill_random(&mut random);
    // musl copies AT_RANDOM's first 8 bytes into the stack canary and zeroes its second
    // byte; zeroing the first too gives the canary a NUL low byte, as glibc's has, so a
    // string overflow (strcpy and friends) cannot reproduce it.
    random[0] = 0;
    let spec = StackSpec {
        argv: &argv,
        envp: &envp,
        auxv: &auxv,
        random,
        platform: b"x86_64",
        execfn: argv0.as_bytes(),
    };

    let bottom = stack_top - INITIAL_STACK_BYTES;
    crate::mm::user::prefault(bottom, stack_top);
    // SAFETY: [bottom, stack_top) was just mapped writable and belongs to the main stack,
    // which nothing uses yet.
    let buf =
        unsafe { core::slice::from_raw_parts_mut(bottom as *mut u8, INITIAL_STACK_BYTES as usize) };
    let rsp = match build_initial_stack(buf, stack_top, &spec) {
        Ok(rsp) => rsp,
        Err(e) => {
            kinfo!("cannot start the program: {}", e);
            crate::drivers::exit::exit_vm(126);
        }
    };

    if cmdline.has("boottime") {
        let now = crate::arch::cpu::rdtsc();
        let entry = crate::boot::entry::boot_tsc();
        kinfo!(
            "boot time: {} us from the image's first instruction to main (reset to entry {} us)",
            crate::time::ticks_to_ns(now - entry) / 1000,
            crate::time::ticks_to_ns(entry) / 1000
        );
        let mut prev = entry;
        for (i, name) in crate::kernel::STAGE_NAMES.iter().enumerate() {
            let t = crate::kernel::STAGES[i].load(core::sync::atomic::Ordering::Relaxed);
            kinfo!(
                "  {:<14} {:>6} us",
                name,
                crate::time::ticks_to_ns(t - prev) / 1000
            );
            prev = t;
        }
    }
    // SAFETY: the stack is built as Linux's ABI requires for _start; interrupts are enabled
    // for the program; general registers are cleared so nothing of the kernel leaks.
    unsafe {
        core::arch::asm!(
            "mov rsp, {rsp}",
            "xor ebp, ebp",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",
            "xor esi, esi",
            "xor edi, edi",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r11d, r11d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "sti",
            "jmp r15",
            rsp = in(reg) rsp,
            in("r15") _start as *const () as usize,
            options(noreturn)
        )
    }
}
