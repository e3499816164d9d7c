//! The Linux x86-64 syscall ABI, entered by the `syscall` instruction executed in ring 0.
//!
//! musl issues `syscall` inline exactly as on Linux: number in `rax`, arguments in `rdi`,
//! `rsi`, `rdx`, `r10`, `r8`, `r9`, result in `rax`, `rcx`/`r11` clobbered. The CPU saves
//! `rip` in `rcx` and `rflags` in `r11`, masks IF/DF/TF/AC (so kernel code runs with
//! interrupts off), and stays in ring 0 on the caller's stack. The entry stub skips the red
//! zone before pushing anything, calls [`dispatch`], and returns with `jmp *%rcx` after
//! restoring the flags. [`table`] maps numbers to handlers, grouped by family in the sibling
//! modules; each returns `Result<u64, Errno>`. An unknown or unsupported number returns
//! `-ENOSYS` and prints one line naming the syscall, once.

pub mod numbers;

#[cfg(target_os = "none")]
pub mod file;
#[cfg(target_os = "none")]
pub mod fs;
#[cfg(target_os = "none")]
pub mod mm;
#[cfg(target_os = "none")]
pub mod net;
#[cfg(target_os = "none")]
pub mod poll;
#[cfg(target_os = "none")]
pub mod process;
#[cfg(target_os = "none")]
pub mod table;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod timerfd;
#[cfg(target_os = "none")]
pub mod unix;

#[cfg(target_os = "none")]
pub use entry::{caller, init, kiln_syscall_return, set_kernel_stack, unsupported, Frame};

#[cfg(target_os = "none")]
mod entry {
    use core::sync::atomic::{AtomicU64, Ordering};
    use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
    use x86_64::registers::rflags::RFlags;
    use x86_64::VirtAddr;

    use super::numbers;
    use super::table;
    use crate::errno::{to_ret, Errno};

    /// What the entry stub pushed on the thread's kernel stack: the number, the six
    /// arguments, the caller's callee-saved registers, flags, return address and stack.
    /// Everything the caller had at the `syscall` instruction is here, so a new thread can
    /// start as a copy (clone) and a fault report can name the caller.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Frame {
        pub nr: u64,
        pub args: [u64; 6],
        pub r15: u64,
        pub r14: u64,
        pub r13: u64,
        pub r12: u64,
        pub rbx: u64,
        pub rbp: u64,
        pub rflags: u64,
        pub rip: u64,
        pub rsp: u64,
    }

    const _: () = assert!(core::mem::size_of::<Frame>() == 128);

    /// The top of the running thread's kernel stack, where the entry stub switches to.
    #[no_mangle]
    static kiln_kernel_rsp: AtomicU64 = AtomicU64::new(0);
    /// Scratch for the caller's `rsp` while the stub switches stacks (interrupts are off and
    /// there is one CPU, so one slot serves).
    #[no_mangle]
    static kiln_user_rsp: AtomicU64 = AtomicU64::new(0);

    /// Sets the kernel stack the next syscall runs on (at every thread switch).
    pub fn set_kernel_stack(top: u64) {
        kiln_kernel_rsp.store(top, Ordering::Relaxed);
    }

    /// The caller of the syscall in progress (rip, rbp), for backtraces of fatal conditions
    /// found inside a syscall (abort, deadlock).
    static CALLER: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

    pub fn caller() -> (u64, u64) {
        (
            CALLER[0].load(Ordering::Relaxed),
            CALLER[1].load(Ordering::Relaxed),
        )
    }

    // The caller's stack is never touched: its red zone stays intact, and a thread that
    // unmapped its own stack (musl's __unmapself) can still make its final exit call.
    core::arch::global_asm!(
        r#"
        .section .text.kiln_syscall, "ax"
        .global kiln_syscall_entry
    kiln_syscall_entry:
        mov %rsp, kiln_user_rsp(%rip)
        mov kiln_kernel_rsp(%rip), %rsp
        push kiln_user_rsp(%rip)
        push %rcx               /* return rip */
        push %r11               /* caller's rflags */
        push %rbp
        push %rbx
        push %r12
        push %r13
        push %r14
        push %r15
        push %r9
        push %r8
        push %r10
        push %rdx
        push %rsi
        push %rdi
        push %rax               /* the Frame is now at rsp (16-byte aligned) */
        mov %rsp, %rdi
        call {dispatch}

        /* Also where a new thread starts (rax = 0, rsp at its copy of the Frame). */
        .global kiln_syscall_return
    kiln_syscall_return:
        add $8, %rsp            /* nr */
        pop %rdi
        pop %rsi
        pop %rdx
        pop %r10
        pop %r8
        pop %r9
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        pop %rbp
        pop %r11
        pop %rcx
        push %r11
        popfq                   /* still on the kernel stack: the caller's red zone is safe */
        pop %rsp                /* the caller's stack */
        jmp *%rcx
        "#,
        dispatch = sym dispatch,
        options(att_syntax)
    );

    extern "C" {
        fn kiln_syscall_entry();
        /// See the stub above.
        pub fn kiln_syscall_return();
    }

    /// Points LSTAR at the entry stub; STAR's kernel selectors are the GDT's code/data.
    pub fn init() {
        // SAFETY: the stub follows the syscall convention described above; the selectors are
        // the GDT's kernel code (0x08) and data (0x10); the mask keeps interrupts, direction,
        // trap and alignment-check flags clear inside the kernel.
        unsafe {
            Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
            LStar::write(VirtAddr::new(kiln_syscall_entry as *const () as u64));
            Star::write_raw(0x08, 0x08);
            SFMask::write(
                RFlags::INTERRUPT_FLAG
                    | RFlags::DIRECTION_FLAG
                    | RFlags::TRAP_FLAG
                    | RFlags::ALIGNMENT_CHECK,
            );
        }
    }

    /// One bit per syscall number already reported as unsupported.
    static REPORTED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

    extern "C" fn dispatch(frame: &mut Frame) -> i64 {
        use crate::sched::cputime::RUNNING;
        RUNNING.lock().enter_kernel(crate::time::monotonic_ns());
        let ret = handle(frame);
        RUNNING.lock().leave_kernel(crate::time::monotonic_ns());
        ret
    }

    fn handle(frame: &mut Frame) -> i64 {
        let nr = frame.nr as usize;
        CALLER[0].store(frame.rip, Ordering::Relaxed);
        CALLER[1].store(frame.rbp, Ordering::Relaxed);
        if nr == numbers::nr::clone {
            // The one call that needs the caller's whole register frame.
            return to_ret(super::process::clone(frame));
        }
        match table::handler(nr) {
            Some(h) => to_ret(h(&frame.args)),
            None => {
                unsupported(nr);
                -(Errno::ENOSYS.0 as i64)
            }
        }
    }

    /// Logs an unsupported syscall the first time it is made.
    pub fn unsupported(nr: usize) {
        let (word, bit) = (nr / 64, nr % 64);
        let first = match REPORTED.get(word) {
            Some(w) => w.fetch_or(1 << bit, Ordering::Relaxed) & (1 << bit) == 0,
            None => true,
        };
        if first {
            match numbers::name(nr) {
                Some(name) => kinfo!("unsupported syscall {} ({}) -> ENOSYS", name, nr),
                None => kinfo!("unknown syscall {} -> ENOSYS", nr),
            }
        }
    }
}
