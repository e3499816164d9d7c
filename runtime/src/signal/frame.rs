//! The x86-64 signal frame, byte for byte as Linux builds it: where it goes below the
//! interrupted stack (past the 128-byte red zone, or at the top of the alternate stack), the
//! `struct ucontext` with the registers (`uc_mcontext.gregs[REG_RIP]` and friends for musl's
//! `ucontext_t`), the mask and the stack, the `siginfo_t`, and the FPU/SSE/AVX state in XSAVE
//! format with Linux's `_fpx_sw_bytes` and magic numbers; and the reverse for rt_sigreturn,
//! with the checks that keep a damaged frame from faulting the kernel.
//!
//! ```text
//!  higher addresses
//!    interrupted rsp
//!    red zone (128 bytes, never touched)
//!    XSAVE area, 64-byte aligned (xstate size + 4: FP_XSTATE_MAGIC2 at its end)
//!    siginfo_t              frame + 312
//!    struct ucontext        frame + 8
//!    return address         frame: sa_restorer (musl's __restore_rt); rsp at the handler,
//!                           so rsp + 8 is 16-byte aligned as after a call
//! ```
#![forbid(unsafe_code)]

use super::state::FaultRegs;
use super::SigSet;

/// The registers of a thread stopped in program code, in `struct sigcontext`'s order.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Regs {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
}

impl Regs {
    fn words(&self) -> [u64; 18] {
        [
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.rdi,
            self.rsi,
            self.rbp,
            self.rbx,
            self.rdx,
            self.rax,
            self.rcx,
            self.rsp,
            self.rip,
            self.rflags,
        ]
    }

    fn from_words(w: [u64; 18]) -> Regs {
        Regs {
            r8: w[0],
            r9: w[1],
            r10: w[2],
            r11: w[3],
            r12: w[4],
            r13: w[5],
            r14: w[6],
            r15: w[7],
            rdi: w[8],
            rsi: w[9],
            rbp: w[10],
            rbx: w[11],
            rdx: w[12],
            rax: w[13],
            rcx: w[14],
            rsp: w[15],
            rip: w[16],
            rflags: w[17],
        }
    }
}

/// The part of the stack the program may keep data in below its `rsp` (SysV ABI).
pub const RED_ZONE: u64 = 128;
/// `struct ucontext` (the kernel's: the mask is 8 bytes, musl's `uc_sigmask` starts there).
pub const UCONTEXT_SIZE: usize = 304;
const UC_OFFSET: u64 = 8;
const INFO_OFFSET: u64 = UC_OFFSET + UCONTEXT_SIZE as u64;
/// Return address, ucontext, siginfo.
pub const FRAME_SIZE: u64 = INFO_OFFSET + super::info::SIGINFO_SIZE as u64;

/// `uc_flags`: the FPU area is in XSAVE format with Linux's software bytes.
pub const UC_FP_XSTATE: u64 = 0x1;
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

// Offsets inside struct ucontext.
const UC_FLAGS: usize = 0;
const UC_LINK: usize = 8;
const UC_STACK: usize = 16; // ss_sp, ss_flags (int + pad), ss_size
const UC_MCONTEXT: usize = 40; // struct sigcontext
const MC_SEGMENTS: usize = UC_MCONTEXT + 18 * 8; // cs, gs, fs, ss (u16 each)
const MC_ERR: usize = MC_SEGMENTS + 8;
const MC_TRAPNO: usize = MC_ERR + 8;
const MC_OLDMASK: usize = MC_TRAPNO + 8;
const MC_CR2: usize = MC_OLDMASK + 8;
const MC_FPSTATE: usize = MC_CR2 + 8;
const UC_SIGMASK: usize = UC_MCONTEXT + 256;

/// Where one signal frame goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Layout {
    /// The handler's `rsp`: the return address is here.
    pub frame: u64,
    pub uc: u64,
    pub info: u64,
    /// The FPU area (64-byte aligned, as XSAVE needs).
    pub fpstate: u64,
    /// One past the last byte written.
    pub end: u64,
}

impl Layout {
    /// The frame for a handler whose stack starts below `sp` (the interrupted `rsp` minus
    /// the red zone, or the top of the alternate stack), with `fp_size` bytes of FPU state.
    /// `None` if the addresses wrap.
    pub fn below(sp: u64, fp_size: u64) -> Option<Layout> {
        let fpstate = sp.checked_sub(fp_size)? & !63;
        let frame = (fpstate.checked_sub(FRAME_SIZE)? & !15).checked_sub(8)?;
        Some(Layout {
            frame,
            uc: frame + UC_OFFSET,
            info: frame + INFO_OFFSET,
            fpstate,
            end: fpstate + fp_size,
        })
    }

    /// How many bytes the frame spans.
    pub fn size(&self) -> u64 {
        self.end - self.frame
    }
}

/// Everything a ucontext records.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Context {
    pub regs: Regs,
    /// The mask to restore (the thread's mask before the handler).
    pub mask: SigSet,
    /// `uc_stack`: (ss_sp, ss_flags, ss_size).
    pub stack: (u64, u32, u64),
    pub fault: FaultRegs,
    pub fpstate: u64,
    pub flags: u64,
}

fn put(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// The bytes of `struct ucontext` for `ctx`; `cs` and `ss` are the selectors the program runs
/// with (ring 0's here).
pub fn encode(ctx: &Context, cs: u16, ss: u16) -> [u8; UCONTEXT_SIZE] {
    let mut b = [0u8; UCONTEXT_SIZE];
    put(&mut b, UC_FLAGS, ctx.flags);
    put(&mut b, UC_LINK, 0);
    put(&mut b, UC_STACK, ctx.stack.0);
    b[UC_STACK + 8..UC_STACK + 12].copy_from_slice(&ctx.stack.1.to_ne_bytes());
    put(&mut b, UC_STACK + 16, ctx.stack.2);
    for (i, w) in ctx.regs.words().iter().enumerate() {
        put(&mut b, UC_MCONTEXT + 8 * i, *w);
    }
    b[MC_SEGMENTS..MC_SEGMENTS + 2].copy_from_slice(&cs.to_ne_bytes());
    b[MC_SEGMENTS + 6..MC_SEGMENTS + 8].copy_from_slice(&ss.to_ne_bytes());
    put(&mut b, MC_ERR, ctx.fault.err);
    put(&mut b, MC_TRAPNO, ctx.fault.trapno);
    put(&mut b, MC_OLDMASK, ctx.mask.0);
    put(&mut b, MC_CR2, ctx.fault.cr2);
    put(&mut b, MC_FPSTATE, ctx.fpstate);
    put(&mut b, UC_SIGMASK, ctx.mask.0);
    b
}

/// What rt_sigreturn reads back (the handler may have changed any of it).
pub fn decode(b: &[u8; UCONTEXT_SIZE]) -> Context {
    let mut words = [0u64; 18];
    for (i, w) in words.iter_mut().enumerate() {
        *w = get(b, UC_MCONTEXT + 8 * i);
    }
    let ss_flags = u32::from_ne_bytes([
        b[UC_STACK + 8],
        b[UC_STACK + 9],
        b[UC_STACK + 10],
        b[UC_STACK + 11],
    ]);
    Context {
        regs: Regs::from_words(words),
        mask: SigSet(get(b, UC_SIGMASK)),
        stack: (get(b, UC_STACK), ss_flags, get(b, UC_STACK + 16)),
        fault: FaultRegs {
            err: get(b, MC_ERR),
            trapno: get(b, MC_TRAPNO),
            cr2: get(b, MC_CR2),
        },
        fpstate: get(b, MC_FPSTATE),
        flags: get(b, UC_FLAGS),
    }
}

const CF: u64 = 1 << 0;
const PF: u64 = 1 << 2;
const AF: u64 = 1 << 4;
const ZF: u64 = 1 << 6;
const SF: u64 = 1 << 7;
const TF: u64 = 1 << 8;
const IF: u64 = 1 << 9;
const DF: u64 = 1 << 10;
const OF: u64 = 1 << 11;
const RF: u64 = 1 << 16;
const AC: u64 = 1 << 18;
/// The flags rt_sigreturn takes from the frame (Linux's FIX_EFLAGS); the others (IF above
/// all) stay the kernel's choice.
pub const FIX_EFLAGS: u64 = AC | OF | DF | TF | SF | ZF | AF | PF | CF | RF;

/// The flags a program resumes with after rt_sigreturn: interrupts on, the rest from the
/// frame as Linux allows.
pub fn restored_rflags(saved: u64) -> u64 {
    (saved & FIX_EFLAGS) | IF | 0x2
}

/// The flags a handler starts with: DF clear as the SysV ABI requires at a call, RF and TF
/// clear (Linux's rule).
pub fn handler_rflags(rflags: u64) -> u64 {
    rflags & !(DF | RF | TF)
}

/// True if `addr` is canonical (a return to a non-canonical `rip` or `rsp` would fault in
/// the kernel's iretq).
pub fn canonical(addr: u64) -> bool {
    let top = addr >> 47;
    top == 0 || top == 0x1ffff
}

/// `_fpx_sw_bytes.magic1`, in bytes 464.. of the FPU area.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// Written right after the XSAVE area.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
const SW_BYTES: usize = 464;
const XSAVE_HEADER: usize = 512;
const MXCSR: usize = 24;

/// Fills in the software bytes Linux puts into an XSAVE area in a signal frame (the area is
/// `xstate_size + 4` bytes: MAGIC2 goes last). Programs and libraries check these to find
/// the extended state.
pub fn mark_xstate(area: &mut [u8], xstate_size: usize, xfeatures: u64) {
    area[SW_BYTES..SW_BYTES + 48].fill(0);
    area[SW_BYTES..SW_BYTES + 4].copy_from_slice(&FP_XSTATE_MAGIC1.to_ne_bytes());
    let extended = (xstate_size + 4) as u32;
    area[SW_BYTES + 4..SW_BYTES + 8].copy_from_slice(&extended.to_ne_bytes());
    area[SW_BYTES + 8..SW_BYTES + 16].copy_from_slice(&xfeatures.to_ne_bytes());
    area[SW_BYTES + 16..SW_BYTES + 20].copy_from_slice(&(xstate_size as u32).to_ne_bytes());
    area[xstate_size..xstate_size + 4].copy_from_slice(&FP_XSTATE_MAGIC2.to_ne_bytes());
}

/// How to load the FPU state a frame holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FpRestore {
    /// XRSTOR of the area as it is (its header checked).
    Xrstor,
    /// Only the legacy 512-byte FXSAVE part is valid (no magic): load it, the rest reset.
    Legacy,
}

/// Why a frame's FPU state was refused (rt_sigreturn then ends in SIGSEGV, as on Linux).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BadFpState;

/// Checks the FPU area `area` (at least 512 bytes; `xstate_size + 4` when XSAVE is used)
/// before it is loaded: the bits XRSTOR/FXRSTOR would fault on — MXCSR bits outside
/// `mxcsr_mask`, header state bits outside `xcr0`, compaction, reserved header bytes.
pub fn check_fpstate(
    area: &[u8],
    xsave: Option<(usize, u64)>,
    mxcsr_mask: u32,
) -> Result<FpRestore, BadFpState> {
    let mxcsr = u32::from_ne_bytes([
        area[MXCSR],
        area[MXCSR + 1],
        area[MXCSR + 2],
        area[MXCSR + 3],
    ]);
    if mxcsr & !mxcsr_mask != 0 {
        return Err(BadFpState);
    }
    let Some((xstate_size, xcr0)) = xsave else {
        return Ok(FpRestore::Legacy);
    };
    let word = |at: usize| u32::from_ne_bytes([area[at], area[at + 1], area[at + 2], area[at + 3]]);
    let marked = area.len() >= xstate_size + 4
        && word(SW_BYTES) == FP_XSTATE_MAGIC1
        && word(SW_BYTES + 16) as usize == xstate_size
        && word(xstate_size) == FP_XSTATE_MAGIC2;
    if !marked {
        return Ok(FpRestore::Legacy);
    }
    let xstate_bv = get(area, XSAVE_HEADER);
    let xcomp_bv = get(area, XSAVE_HEADER + 8);
    let reserved = &area[XSAVE_HEADER + 16..XSAVE_HEADER + 64];
    if xstate_bv & !xcr0 != 0 || xcomp_bv != 0 || reserved.iter().any(|&b| b != 0) {
        return Err(BadFpState);
    }
    Ok(FpRestore::Xrstor)
}

/// Turns a legacy-only area (its first 512 bytes valid) into an XSAVE image that restores
/// x87 and SSE from it and resets the rest: the header says only those two are present.
pub fn legacy_to_xsave(area: &mut [u8]) {
    area[XSAVE_HEADER..XSAVE_HEADER + 64].fill(0);
    put(area, XSAVE_HEADER, 0b11);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{c_probe, MUSL};

    /// ucontext_t, mcontext_t and stack_t against musl's headers.
    #[test]
    fn ucontext_matches_musl_header() {
        let text = c_probe(
            "ucontext",
            MUSL,
            r#"#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <ucontext.h>
#define U(f) printf("%s %zu\n", #f, offsetof(ucontext_t, f))
int main(void) {
    U(uc_flags); U(uc_link); U(uc_stack.ss_sp); U(uc_stack.ss_flags); U(uc_stack.ss_size);
    U(uc_mcontext.gregs[REG_R8]); U(uc_mcontext.gregs[REG_RDI]); U(uc_mcontext.gregs[REG_RAX]);
    U(uc_mcontext.gregs[REG_RSP]); U(uc_mcontext.gregs[REG_RIP]); U(uc_mcontext.gregs[REG_EFL]);
    U(uc_mcontext.gregs[REG_CSGSFS]); U(uc_mcontext.gregs[REG_ERR]);
    U(uc_mcontext.gregs[REG_TRAPNO]); U(uc_mcontext.gregs[REG_OLDMASK]);
    U(uc_mcontext.gregs[REG_CR2]); U(uc_mcontext.fpregs); U(uc_sigmask);
    return 0;
}
"#,
            "compiling against musl's headers failed (musl-dev?)",
        );
        let expected = "uc_flags 0\nuc_link 8\nuc_stack.ss_sp 16\nuc_stack.ss_flags 24\n\
            uc_stack.ss_size 32\nuc_mcontext.gregs[REG_R8] 40\nuc_mcontext.gregs[REG_RDI] 104\n\
            uc_mcontext.gregs[REG_RAX] 144\nuc_mcontext.gregs[REG_RSP] 160\n\
            uc_mcontext.gregs[REG_RIP] 168\nuc_mcontext.gregs[REG_EFL] 176\n\
            uc_mcontext.gregs[REG_CSGSFS] 184\nuc_mcontext.gregs[REG_ERR] 192\n\
            uc_mcontext.gregs[REG_TRAPNO] 200\nuc_mcontext.gregs[REG_OLDMASK] 208\n\
            uc_mcontext.gregs[REG_CR2] 216\nuc_mcontext.fpregs 224\nuc_sigmask 296\n";
        assert_eq!(text, expected);
        assert_eq!(
            (
                UC_STACK,
                UC_MCONTEXT,
                MC_SEGMENTS,
                MC_ERR,
                MC_TRAPNO,
                MC_OLDMASK
            ),
            (16, 40, 184, 192, 200, 208)
        );
        assert_eq!((MC_CR2, MC_FPSTATE, UC_SIGMASK), (216, 224, 296));
    }

    #[test]
    fn the_frame_skips_the_red_zone_and_aligns_as_linux() {
        let rsp = 0x7fff_1234_5678;
        let l = Layout::below(rsp - RED_ZONE, 836).unwrap();
        assert!(l.end <= rsp - RED_ZONE, "nothing written in the red zone");
        assert_eq!(l.fpstate % 64, 0);
        assert_eq!((l.frame + 8) % 16, 0, "rsp + 8 aligned, as after a call");
        assert_eq!((l.uc, l.info), (l.frame + 8, l.frame + 312));
        assert!(l.info + 128 <= l.fpstate);
        assert_eq!(Layout::below(100, 836), None);
    }

    #[test]
    fn ucontext_round_trips() {
        let regs = Regs {
            r8: 1,
            rdi: 9,
            rax: 14,
            rsp: 16,
            rip: 17,
            rflags: 0x246,
            ..Regs::default()
        };
        let ctx = Context {
            regs,
            mask: SigSet(0x4002),
            stack: (0x1000, 1, 0x2000),
            fault: FaultRegs {
                err: 4,
                trapno: 14,
                cr2: 0x10,
            },
            fpstate: 0x8000,
            flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
        };
        let b = encode(&ctx, 8, 0x10);
        assert_eq!(get(&b, 40 + 16 * 8), 17, "gregs[REG_RIP]");
        assert_eq!(get(&b, MC_OLDMASK), 0x4002);
        assert_eq!(decode(&b), ctx);
    }

    #[test]
    fn flags_after_sigreturn_and_at_handler_entry() {
        assert_eq!(restored_rflags(0), IF | 0x2, "interrupts stay on");
        assert_eq!(
            restored_rflags(DF | CF | (1 << 14)),
            DF | CF | IF | 0x2,
            "NT is not taken"
        );
        assert_eq!(handler_rflags(0x246 | DF | TF), 0x246);
        assert!(canonical(0x7fff_ffff_ffff) && canonical(0xffff_8000_0000_0000));
        assert!(!canonical(0x8000_0000_0000));
    }

    #[test]
    fn fpstate_checks() {
        let size = 832;
        let mut area = alloc::vec![0u8; size + 4];
        area[MXCSR..MXCSR + 4].copy_from_slice(&0x1f80u32.to_ne_bytes());
        assert_eq!(check_fpstate(&area, None, 0xffff), Ok(FpRestore::Legacy));
        assert_eq!(
            check_fpstate(&area, Some((size, 7)), 0xffff),
            Ok(FpRestore::Legacy),
            "no magic: the legacy part only"
        );
        mark_xstate(&mut area, size, 7);
        put(&mut area, XSAVE_HEADER, 0b111);
        assert_eq!(
            check_fpstate(&area, Some((size, 7)), 0xffff),
            Ok(FpRestore::Xrstor)
        );
        put(&mut area, XSAVE_HEADER, 0b1111);
        assert_eq!(
            check_fpstate(&area, Some((size, 7)), 0xffff),
            Err(BadFpState)
        );
        put(&mut area, XSAVE_HEADER, 0b11);
        area[XSAVE_HEADER + 20] = 1;
        assert_eq!(
            check_fpstate(&area, Some((size, 7)), 0xffff),
            Err(BadFpState)
        );
        area[XSAVE_HEADER + 20] = 0;
        area[MXCSR + 2] = 1;
        assert_eq!(
            check_fpstate(&area, Some((size, 7)), 0xffff),
            Err(BadFpState)
        );
        legacy_to_xsave(&mut area);
        assert_eq!(get(&area, XSAVE_HEADER), 0b11);
    }
}
