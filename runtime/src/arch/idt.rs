//! The IDT: 256 entry stubs, every vector on an IST stack (the program keeps data in the red
//! zone below its `rsp`, which an interrupt on the current stack would overwrite), one common
//! trap path, and the fault report.

use core::fmt::Write;
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::VirtAddr;

use super::gdt;
use crate::sched::policy::Interrupt;

/// Vectors the runtime programs.
pub const VECTOR_TIMER: u8 = 0x20;
pub const VECTOR_PIC_BASE: u8 = 0x30;
pub const VECTOR_SPURIOUS: u8 = 0xff;

/// Registers saved by the entry stubs, lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// 256 stubs of 16 bytes each: push a zero error code where the CPU pushes none, push the
// vector, jump to the common path. The vectors with a CPU error code are 8, 10-14, 17, 21, 29, 30.
core::arch::global_asm!(
    r#"
    .section .text.kiln_traps, "ax"
    .balign 16
    .global kiln_trap_stubs
kiln_trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp kiln_trap_common
    .set vec, vec + 1
    .endr

kiln_trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    mov %rsp, %rbx
    and $-16, %rsp
    /* Kernel code relies on DF and AC clear (the SysV ABI; the program may have been in
       musl's `std; rep movs; cld`); iretq restores the program's own flags. */
    cld
    pushfq
    andq $~0x40000, (%rsp)
    popfq
    call {trap}
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq
    "#,
    trap = sym kiln_trap,
    options(att_syntax)
);

extern "C" {
    static kiln_trap_stubs: [u8; 256 * 16];
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// Builds and loads the IDT.
pub fn init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        let base = core::ptr::addr_of!(kiln_trap_stubs) as u64;
        for vector in 0..=255u8 {
            let ist = match vector {
                14 => gdt::IST_PAGE_FAULT,
                8 => gdt::IST_DOUBLE_FAULT,
                2 | 18 => gdt::IST_NMI_MCE,
                0..=31 => gdt::IST_FAULT,
                _ => gdt::IST_INTERRUPT,
            };
            let addr = VirtAddr::new(base + 16 * vector as u64);
            let entry = match vector {
                0 => &mut idt.divide_error,
                1 => &mut idt.debug,
                2 => &mut idt.non_maskable_interrupt,
                3 => &mut idt.breakpoint,
                4 => &mut idt.overflow,
                5 => &mut idt.bound_range_exceeded,
                6 => &mut idt.invalid_opcode,
                7 => &mut idt.device_not_available,
                9 | 15 | 22..=27 | 31 => continue, // reserved
                16 => &mut idt.x87_floating_point,
                19 => &mut idt.simd_floating_point,
                20 => &mut idt.virtualization,
                28 => &mut idt.hv_injection_exception,
                _ => {
                    // Vectors with error codes (8, 10-14, 17, 18, 21, 29, 30) have typed
                    // entries in the x86_64 crate; set them through the raw-address API below.
                    set_raw(&mut idt, vector, addr, ist);
                    continue;
                }
            };
            // SAFETY: `addr` is one of our stubs, which follow the interrupt calling
            // convention (they end in iretq) and run on the IST stack set here.
            unsafe {
                entry.set_handler_addr(addr).set_stack_index(ist - 1);
            }
        }
        idt
    });
    idt.load();
}

fn set_raw(idt: &mut InterruptDescriptorTable, vector: u8, addr: VirtAddr, ist: u16) {
    // SAFETY: as in `init`: `addr` is our stub for `vector`, and the IST index exists.
    unsafe {
        let opts = match vector {
            8 => idt.double_fault.set_handler_addr(addr),
            10 => idt.invalid_tss.set_handler_addr(addr),
            11 => idt.segment_not_present.set_handler_addr(addr),
            12 => idt.stack_segment_fault.set_handler_addr(addr),
            13 => idt.general_protection_fault.set_handler_addr(addr),
            14 => idt.page_fault.set_handler_addr(addr),
            17 => idt.alignment_check.set_handler_addr(addr),
            18 => idt.machine_check.set_handler_addr(addr),
            21 => idt.cp_protection_exception.set_handler_addr(addr),
            29 => idt.vmm_communication_exception.set_handler_addr(addr),
            30 => idt.security_exception.set_handler_addr(addr),
            v => idt[v].set_handler_addr(addr),
        };
        opts.set_stack_index(ist - 1);
    }
}

/// The common trap handler: interrupts are acknowledged and return; demand-zero page faults
/// in the program's address space are resolved and return; a fault in program code enters
/// the program's handler for its signal if it has one; everything else is fatal.
extern "C" fn kiln_trap(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    match vector {
        14 => {
            let addr = Cr2::read_raw();
            if crate::mm::user::handle_page_fault(addr, frame.error) {
                return;
            }
            fault(frame, Some(addr));
        }
        VECTOR_TIMER => {
            super::apic::eoi();
            crate::sched::thread::on_interrupt(frame, Interrupt::Timer);
        }
        v if (super::irq::VECTOR_DEVICE_BASE
            ..super::irq::VECTOR_DEVICE_BASE + super::irq::DEVICE_VECTORS as u8)
            .contains(&v) =>
        {
            super::irq::handle(v);
            super::apic::eoi();
            crate::sched::thread::on_interrupt(frame, Interrupt::Device);
        }
        VECTOR_SPURIOUS => {}
        v if (VECTOR_PIC_BASE..VECTOR_PIC_BASE + 16).contains(&v) => {
            // Legacy PIC lines are masked; a spurious IRQ 7/15 may still arrive. Ignore.
        }
        v if v >= 32 => {
            super::apic::eoi();
            crate::sched::thread::on_interrupt(frame, Interrupt::Device);
        }
        _ => fault(frame, None),
    }
}

/// A CPU fault: in program code, its signal's handler runs if the program has one and does
/// not block it; otherwise the fault report, then the program ends with 128 + the signal
/// (from the thread's kernel stack). A fault in kernel code ends the VM at once.
fn fault(frame: &mut TrapFrame, fault_addr: Option<u64>) {
    let vector = frame.vector as u8;
    // The runtime's own code faulted: its text is apart from the program's (kiln.ld). Where
    // the stack pointer was does not decide it: a program in ring 0 may move its `rsp` onto
    // a runtime stack (tests/security.rs does), and kernel code may fault on any stack. An
    // NMI, a double fault or a machine check is the machine's, wherever it hit.
    let kernel = crate::mm::paging::is_kernel_text(frame.rip) || matches!(vector, 2 | 8 | 18);
    if !kernel {
        let (sig, code, addr) = fault_siginfo(frame, fault_addr);
        if crate::signal::deliver::fault(frame, sig, code, addr, fault_addr.unwrap_or(0)) {
            return;
        }
    }
    let signal = report(frame, fault_addr, kernel);
    if kernel {
        crate::drivers::exit::exit_vm(crate::drivers::exit::KERNEL_FAULT);
    }
    if !crate::signal::deliver::exit_after_report(frame, 128 + signal) {
        crate::drivers::exit::exit_vm(128 + signal);
    }
}

/// The signal, `si_code` and `si_addr` Linux gives a fault in user code.
fn fault_siginfo(frame: &TrapFrame, fault_addr: Option<u64>) -> (u32, i32, u64) {
    use crate::signal::info::*;
    use crate::signal::{SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP};
    let rip = frame.rip;
    match frame.vector as u8 {
        0 => (SIGFPE, FPE_INTDIV, rip),
        1 => (SIGTRAP, 2 /* TRAP_TRACE */, rip),
        3 => (SIGTRAP, SI_KERNEL, 0),
        6 => (SIGILL, ILL_ILLOPN, rip),
        11 | 12 => (SIGBUS, SI_KERNEL, 0),
        14 => {
            let addr = fault_addr.unwrap_or(0);
            if crate::mm::user::is_past_file_end(addr)
                || crate::mm::user::is_file_page_unavailable(addr)
            {
                (SIGBUS, BUS_ADRERR, addr)
            } else if frame.error & 1 != 0 || crate::mm::user::is_mapped_area(addr) {
                (SIGSEGV, SEGV_ACCERR, addr)
            } else {
                (SIGSEGV, SEGV_MAPERR, addr)
            }
        }
        16 | 19 => (SIGFPE, fpu_exception_code(frame.vector as u8), rip),
        17 => (SIGBUS, BUS_ADRALN, 0),
        _ => (SIGSEGV, SI_KERNEL, 0),
    }
}

/// `si_code` of an x87 (#MF) or SSE (#XM) exception, from the unmasked exception flags that
/// are set (Linux's `fpu__exception_code`).
fn fpu_exception_code(vector: u8) -> i32 {
    use crate::signal::info::*;
    let err = super::context::with_scratch(|fpu| {
        fpu.save();
        let b = fpu.bytes();
        if vector == 16 {
            let cwd = u16::from_ne_bytes([b[0], b[1]]);
            let swd = u16::from_ne_bytes([b[2], b[3]]);
            (swd & !cwd) as u32
        } else {
            let mxcsr = u32::from_ne_bytes([b[24], b[25], b[26], b[27]]);
            !(mxcsr >> 7) & mxcsr
        }
    });
    if err & 0x001 != 0 {
        FPE_FLTINV
    } else if err & 0x004 != 0 {
        FPE_FLTDIV
    } else if err & 0x008 != 0 {
        FPE_FLTOVF
    } else if err & 0x012 != 0 {
        FPE_FLTUND
    } else if err & 0x020 != 0 {
        FPE_FLTRES
    } else {
        0
    }
}

fn fault_name(vector: u8) -> (&'static str, &'static str) {
    match vector {
        0 => ("divide error", "#DE"),
        1 => ("debug", "#DB"),
        2 => ("non-maskable interrupt", "NMI"),
        3 => ("breakpoint", "#BP"),
        4 => ("overflow", "#OF"),
        5 => ("bound range exceeded", "#BR"),
        6 => ("invalid opcode", "#UD"),
        7 => ("device not available", "#NM"),
        8 => ("double fault", "#DF"),
        10 => ("invalid TSS", "#TS"),
        11 => ("segment not present", "#NP"),
        12 => ("stack-segment fault", "#SS"),
        13 => ("general protection fault", "#GP"),
        14 => ("page fault", "#PF"),
        16 => ("x87 floating-point exception", "#MF"),
        17 => ("alignment check", "#AC"),
        18 => ("machine check", "#MC"),
        19 => ("SIMD floating-point exception", "#XM"),
        _ => ("exception", "#??"),
    }
}

/// The Linux signal a fault maps to: the VM exits with 128 + this, as a shell reports a
/// process killed by it.
fn fault_signal(vector: u8) -> i32 {
    match vector {
        0 | 16 | 19 => 8, // SIGFPE
        1 | 3 => 5,       // SIGTRAP
        6 => 4,           // SIGILL
        17 => 7,          // SIGBUS
        _ => 11,          // SIGSEGV
    }
}

/// Prints the fault report; returns the signal the fault is reported as.
fn report(frame: &TrapFrame, fault_addr: Option<u64>, kernel: bool) -> i32 {
    let vector = frame.vector as u8;
    let (name, mnemonic) = fault_name(vector);
    // SAFETY: the program is about to end; whoever held the console lock will never resume
    // (a program fault interrupts no kernel code, a kernel fault ends the VM).
    unsafe { crate::drivers::serial::force_unlock_log() };
    let mut out = crate::drivers::serial::log();
    if kernel {
        let _ = writeln!(
            out,
            "kiln: kernel fault: {} ({}, vector {}) in the Kiln runtime at rip {:#x}, error code {:#x}",
            name, mnemonic, vector, frame.rip, frame.error
        );
        let _ = writeln!(
            out,
            "kiln:   this is a bug in Kiln, not in the program: please report it with this output"
        );
    } else {
        let _ = writeln!(
            out,
            "kiln: fault: {} ({}, vector {}) at rip {:#x}, error code {:#x}",
            name, mnemonic, vector, frame.rip, frame.error
        );
    }
    if let Some(addr) = fault_addr {
        let e = frame.error;
        let access = if e & 0x10 != 0 {
            "instruction fetch"
        } else if e & 0x2 != 0 {
            "write"
        } else {
            "read"
        };
        let cause = if e & 0x1 != 0 {
            "protection violation"
        } else {
            "page not mapped"
        };
        let what = crate::mm::user::describe_address(addr);
        let _ = writeln!(
            out,
            "kiln:   {} of address {:#x}: {} ({})",
            access, addr, cause, what
        );
    }
    let _ = writeln!(
        out,
        "kiln:   rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}",
        frame.rax, frame.rbx, frame.rcx, frame.rdx
    );
    let _ = writeln!(
        out,
        "kiln:   rsi {:016x} rdi {:016x} rbp {:016x} rsp {:016x}",
        frame.rsi, frame.rdi, frame.rbp, frame.rsp
    );
    let _ = writeln!(
        out,
        "kiln:   r8  {:016x} r9  {:016x} r10 {:016x} r11 {:016x}",
        frame.r8, frame.r9, frame.r10, frame.r11
    );
    let _ = writeln!(
        out,
        "kiln:   r12 {:016x} r13 {:016x} r14 {:016x} r15 {:016x}",
        frame.r12, frame.r13, frame.r14, frame.r15
    );
    let _ = writeln!(
        out,
        "kiln:   rflags {:016x} cs {:#x} ss {:#x}",
        frame.rflags, frame.cs, frame.ss
    );
    if vector == 14 && frame.error & 0x10 != 0 {
        // A fetch fault is usually a call through a bad pointer: the caller is on the stack.
        crate::kernel::write_caller(&mut *out, frame.rsp);
    }
    crate::kernel::write_backtrace(&mut *out, frame.rip, frame.rbp);
    // Touching a file view past the end of its file, or one whose page the file system has
    // no memory for, is SIGBUS on Linux.
    let signal = match fault_addr {
        Some(addr) if crate::mm::user::is_past_file_end(addr) => {
            let _ = writeln!(out, "kiln:   past the end of the mapped file: SIGBUS");
            7
        }
        Some(addr) if crate::mm::user::is_file_page_unavailable(addr) => {
            let _ = writeln!(out, "kiln:   no memory for the mapped file's page: SIGBUS");
            7
        }
        _ => fault_signal(vector),
    };
    signal
}
