//! Thread contexts: the kernel-stack switch between threads, the FPU/SSE/AVX state each
//! thread owns, and the return path of a preempted thread.
//!
//! Every switch happens in kernel code on the outgoing thread's kernel stack, by
//! [`switch`]: it pushes the callee-saved registers, saves `rsp`, loads the other thread's
//! `rsp` and pops its registers. A thread interrupted in program code is first redirected
//! (by the timer interrupt) to `kiln_preempt_entry` on its own kernel stack, with its full
//! register frame there; that stub calls the scheduler and, when the thread runs again,
//! restores the frame with `iretq`.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::arch::x86_64::{__cpuid_count, _fxrstor64, _fxsave64, _xrstor64, _xsave64};

core::arch::global_asm!(
    r#"
    .section .text.kiln_switch, "ax"
    /* kiln_switch(save_rsp: *mut u64 (rdi), load_rsp: u64 (rsi)) */
    .global kiln_switch
kiln_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    /* A preempted thread lands here on its kernel stack, rsp at a copy of its TrapFrame. */
    .global kiln_preempt_entry
kiln_preempt_entry:
    mov %rsp, %rdi
    call {preempted}
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
    preempted = sym crate::sched::thread::preempted,
    options(att_syntax)
);

extern "C" {
    /// Saves the callee-saved registers and `rsp` into `*save_rsp`, then resumes the context
    /// whose `rsp` is `load_rsp`.
    pub fn kiln_switch(save_rsp: *mut u64, load_rsp: u64);
    /// See the module comment.
    pub fn kiln_preempt_entry();
}

/// The callee-saved registers [`kiln_switch`] pops, below the return address, on a stack
/// made for a new thread.
pub const SWITCH_FRAME_WORDS: usize = 6;

/// One thread's extended register state (x87, SSE, AVX), saved when it stops running.
pub struct FpuState {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the area is owned by one thread's record and only touched during switches, which
// run with interrupts off on the one CPU.
unsafe impl Send for FpuState {}
// SAFETY: as above.
unsafe impl Sync for FpuState {}

impl core::fmt::Debug for FpuState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FpuState({} bytes)", self.layout.size())
    }
}

fn use_xsave() -> bool {
    crate::arch::cpu::features().xsave
}

impl FpuState {
    /// A zeroed area big enough for the state the CPU has enabled.
    pub fn new() -> Option<FpuState> {
        let size = if use_xsave() {
            __cpuid_count(0xd, 0).ebx as usize
        } else {
            512
        };
        let layout = Layout::from_size_align(size.max(512), 64).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(FpuState { ptr, layout })
    }

    /// Saves the CPU's current extended state here.
    pub fn save(&mut self) {
        // SAFETY: the area is 64-byte aligned and large enough for the enabled features
        // (CPUID.0xD.0:EBX); OSXSAVE is set when xsave is used.
        unsafe {
            if use_xsave() {
                _xsave64(self.ptr, u64::MAX);
            } else {
                _fxsave64(self.ptr);
            }
        }
    }

    /// Loads the extended state saved here.
    pub fn restore(&self) {
        // SAFETY: as in `save`; the area holds a state saved by `save` (or copied from one).
        unsafe {
            if use_xsave() {
                _xrstor64(self.ptr, u64::MAX);
            } else {
                _fxrstor64(self.ptr);
            }
        }
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}
