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

    /* kiln_return_to_program(frame: *const TrapFrame (rdi)): loads every register the frame
       holds and returns to it with iretq; whatever the kernel stack held below is dropped. */
    .global kiln_return_to_program
kiln_return_to_program:
    mov %rdi, %rsp
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
    /// Returns to the program with every register as `frame` says (rt_sigreturn: a signal
    /// handler may have changed any of them, and a thread interrupted anywhere in program
    /// code needs all of them back, `rcx` and `r11` included, which the syscall return path
    /// cannot give).
    pub fn kiln_return_to_program(frame: *const crate::arch::idt::TrapFrame) -> !;
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

impl FpuState {
    /// The saved state's bytes (XSAVE or FXSAVE layout), for signal frames.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is an allocation of `layout.size()` bytes owned by this object.
        unsafe { core::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

/// Resumes program code with every register as `frame` says (after rt_sigreturn), through
/// iretq. Safe for any values: the selectors are forced to ring 0's, interrupts on, and a
/// non-canonical `rip` or `rsp` (which would fault in the kernel's iretq) is refused with a
/// kernel fault report before anything is loaded; program code at a bad address faults in
/// program code, which the fault path handles.
pub fn return_to_program(frame: &crate::arch::idt::TrapFrame) -> ! {
    let canonical = |a: u64| matches!(a >> 47, 0 | 0x1ffff);
    assert!(
        canonical(frame.rip) && canonical(frame.rsp),
        "return to a non-canonical program address (rip {:#x}, rsp {:#x})",
        frame.rip,
        frame.rsp
    );
    let mut out = *frame;
    out.cs = 0x08;
    out.ss = 0x10;
    out.rflags |= crate::arch::cpu::RFLAGS_IF;
    // SAFETY: `out` lives on the running thread's kernel stack, whose contents nobody needs
    // after this (the next kernel entry starts at its top); it is a complete state for
    // program code: canonical rip and rsp, ring-0 selectors, interrupts enabled.
    unsafe { kiln_return_to_program(&out) }
}

/// The XSAVE area's size (standard format, the features enabled in XCR0) and XCR0, or
/// `None` when the CPU has only FXSAVE (512 bytes).
pub fn xstate() -> Option<(usize, u64)> {
    use_xsave().then(|| {
        let leaf = __cpuid_count(0xd, 0);
        // SAFETY: XGETBV with ECX = 0 reads XCR0; OSXSAVE is set when xsave is used.
        let xcr0 = unsafe { core::arch::x86_64::_xgetbv(0) };
        (leaf.ebx as usize, xcr0)
    })
}

/// The MXCSR bits the CPU supports (FXSAVE's MXCSR_MASK, 0xffbf when it reports none): a
/// value with others set would fault in FXRSTOR/XRSTOR.
pub fn mxcsr_mask() -> u32 {
    static MASK: spin::Once<u32> = spin::Once::new();
    *MASK.call_once(|| {
        let Some(mut probe) = FpuState::new() else {
            return 0xffbf;
        };
        probe.save();
        let b = probe.bytes();
        match u32::from_ne_bytes([b[28], b[29], b[30], b[31]]) {
            0 => 0xffbf,
            mask => mask,
        }
    })
}

/// Runs `f` on the kernel's one scratch FPU area, where signal frames are built and read
/// (one CPU, kernel code with interrupts off: never two users at once).
pub fn with_scratch<R>(f: impl FnOnce(&mut FpuState) -> R) -> R {
    static SCRATCH: spin::Mutex<Option<FpuState>> = spin::Mutex::new(None);
    let mut guard = SCRATCH.lock();
    let area = guard.get_or_insert_with(|| {
        FpuState::new().expect("no memory for the FPU scratch area of signal frames")
    });
    f(area)
}

/// Loads the FPU/SSE/AVX state a program starts with (x87 control word 0x37f, MXCSR
/// 0x1f80, every register zero): a signal handler's, as on Linux.
pub fn load_init_state() {
    static INIT: spin::Once<Option<FpuState>> = spin::Once::new();
    let init = INIT.call_once(|| {
        let mut area = FpuState::new()?;
        let b = area.bytes_mut();
        b.fill(0);
        b[0..2].copy_from_slice(&0x37fu16.to_ne_bytes());
        b[24..28].copy_from_slice(&0x1f80u32.to_ne_bytes());
        Some(area)
    });
    if let Some(init) = init {
        init.restore();
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}
