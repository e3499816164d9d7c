//! Delivering signals (kernel only): what happens when a thread goes back to program code
//! with a signal it does not block — at the end of a syscall ([`on_syscall_return`]), after
//! an interrupt or a preemption ([`on_trap_return`], on the thread's kernel stack), and for a
//! CPU fault in program code ([`fault`]) — and rt_sigreturn ([`sigreturn`]).
//!
//! Each pending signal is taken in Linux's order and acted on: ignored, the program stopped
//! or ended (status 128 + n), or its handler entered: a frame ([`super::frame`]) goes below
//! the interrupted stack, past the red zone (or onto the alternate stack), the FPU state is
//! saved into it and reset for the handler, the mask grows by the action's, and the saved
//! registers become the handler's entry. A syscall the signal interrupted is restarted or
//! fails with EINTR as [`super::state::restart_outcome`] says. Interrupt handlers never take
//! signal decisions: they only redirect the thread here (`sched::thread::on_interrupt`).

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use super::frame::{self, Context, Layout, Regs, RED_ZONE, UCONTEXT_SIZE};
use super::info::{SigInfo, SI_KERNEL, SI_TIMER};
use super::restart;
use super::state::{
    restart_outcome, Action, AfterSyscall, Disposition, FaultRegs, ProcessSignals, Sent, Target,
    Threads, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTORER, SS_AUTODISARM,
};
use super::{name, DefaultAction, SigSet, SIGKILL, SIGSEGV};
use crate::arch::context;
use crate::arch::idt::TrapFrame;
use crate::errno::{Errno, SysResult};
use crate::mm::user;
use crate::sched::thread::{self, with_signals, SignalThreads};
use crate::syscall::numbers::nr;
use crate::syscall::Frame;

/// The selectors the program runs with (ring 0): what iretq returns to and what a signal
/// frame records.
const CODE_SELECTOR: u16 = 0x08;
const DATA_SELECTOR: u16 = 0x10;

/// The earliest expiry of a signal timer (u64::MAX: none), for the interrupt path.
static NEXT_TIMER: AtomicU64 = AtomicU64::new(u64::MAX);
/// Set after the report of a program fault nobody handles: the exit status, taken on the
/// faulting thread's kernel stack (0: none).
static FATAL: AtomicI32 = AtomicI32::new(0);
/// Counts signals sent, for signalfd's readiness under edge-triggered epoll.
static SENT: AtomicU64 = AtomicU64::new(0);

/// True when a thread interrupted in program code must go through the kernel stub for
/// signal work even if the scheduler has no reason to switch.
pub fn work_due(now: u64) -> bool {
    NEXT_TIMER.load(Ordering::Relaxed) <= now
        || FATAL.load(Ordering::Relaxed) != 0
        || crate::drivers::hostctl::pending()
        || crate::drivers::power_button::pending()
}

/// How many signals have been sent so far (signalfd's activity counter).
pub fn sent_count() -> u64 {
    SENT.load(Ordering::Relaxed)
}

/// Sends `info` to `target` (the caller checked the number), and lets waiting threads
/// re-check: one of them may be the target, or wait for it in signalfd or sigtimedwait.
pub fn send(target: Target, info: SigInfo) -> Result<Sent, Errno> {
    let sent = with_signals(|p, t| p.send(t, target, info))?;
    if matches!(sent, Sent::Queued { .. }) {
        SENT.fetch_add(1, Ordering::Relaxed);
        thread::progress();
    }
    Ok(sent)
}

/// Sends `info` to the thread with id `tid`; ESRCH if there is none.
pub fn send_to_thread(tid: u64, info: SigInfo) -> Result<Sent, Errno> {
    let target = with_signals(|_, t| t.index_of(tid)).ok_or(crate::errno::ESRCH)?;
    send(Target::Thread(target), info)
}

/// True if the program has a handler installed for some signal.
pub fn any_handler() -> bool {
    with_signals(|p, _| {
        (1..=super::NSIG).any(|sig| matches!(p.disposition(sig), Disposition::Handler(_)))
    })
}

/// Takes a pending signal among `set` for the running thread, whether it blocks it or not
/// (signalfd, sigtimedwait), with a timer's overrun filled in.
pub fn take(set: SigSet) -> Option<SigInfo> {
    with_signals(|p, t| {
        let i = t.current();
        let info = p.dequeue(t, i, set)?;
        Some(fill_overrun(p, info))
    })
}

fn fill_overrun(p: &mut ProcessSignals, mut info: SigInfo) -> SigInfo {
    if info.code() == SI_TIMER {
        info.set_overrun(p.timers.taken(info.timer_id()));
    }
    info
}

/// The signal timers changed: the interrupt path and the waits must see the new earliest
/// expiry, and the CPU's timer must fire by then.
pub fn timers_changed() {
    with_signals(|p, _| {
        NEXT_TIMER.store(
            p.timers.next_deadline().unwrap_or(u64::MAX),
            Ordering::Relaxed,
        )
    });
    thread::rearm();
}

/// Sends the signals of the timers due at `now`; true if any was sent.
fn fire_timers(now: u64) -> bool {
    let woke = with_signals(|p, t| {
        let mut woke = false;
        for e in p.timers.due(now) {
            let target = match e.thread {
                None => Target::Process,
                Some(tid) => match t.index_of(tid) {
                    Some(i) => Target::Thread(i),
                    None => continue,
                },
            };
            let r = p.send(t, target, e.info);
            let queued = matches!(r, Ok(Sent::Queued { .. }));
            if let Some(id) = e.timer {
                p.timers.sent(id, queued);
            }
            woke |= queued;
        }
        NEXT_TIMER.store(
            p.timers.next_deadline().unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        woke
    });
    if woke {
        SENT.fetch_add(1, Ordering::Relaxed);
        thread::progress();
    }
    woke
}

/// Signal work that came due while a thread ran program code, done on its kernel stack:
/// the exit after a fault report, timers, messages from the host.
pub fn generate() {
    let fatal = FATAL.load(Ordering::Relaxed);
    if fatal != 0 {
        crate::syscall::process::exit_program(fatal);
    }
    let now = crate::time::monotonic_ns();
    if NEXT_TIMER.load(Ordering::Relaxed) <= now {
        fire_timers(now);
    }
    crate::drivers::hostctl::poll();
    crate::drivers::power_button::poll();
}

/// The signal timers as an event source: waits poll them and wake for their expiry.
struct TimerSource;

impl crate::sched::EventSource for TimerSource {
    fn poll(&self, now_ns: u64) -> bool {
        NEXT_TIMER.load(Ordering::Relaxed) <= now_ns && fire_timers(now_ns)
    }

    fn next_wakeup(&self, _now_ns: u64) -> Option<u64> {
        let at = NEXT_TIMER.load(Ordering::Relaxed);
        (at != u64::MAX).then_some(at)
    }
}

static TIMER_SOURCE: TimerSource = TimerSource;

/// Registers the signal timers with the wait path (at boot).
pub fn init() {
    crate::sched::register(&TIMER_SOURCE);
}

/// A program fault nobody handles was reported: the faulting thread ends the program with
/// `status` from its kernel stack (where the exit may wait: the network's last words, the
/// disks' sync). False if `frame` is not program code (the caller exits at once).
pub fn exit_after_report(frame: &mut TrapFrame, status: i32) -> bool {
    FATAL.store(status, Ordering::Relaxed);
    thread::redirect_for_signal(frame)
}

/// A CPU fault in program code that raises `sig` (`code`, `addr` for the siginfo; `cr2` for
/// the frame): when the program handles `sig` and does not block it, the signal is queued
/// for the faulting thread and the trap returns through the kernel stub, which enters the
/// handler. False otherwise: blocked, ignored or default, the fault report follows and the
/// program ends, as Linux's forced signals do.
pub fn fault(frame: &mut TrapFrame, sig: u32, code: i32, addr: u64, cr2: u64) -> bool {
    let queued = with_signals(|p, t| {
        let i = t.current();
        if t.own().blocked.contains(sig) || !matches!(p.disposition(sig), Disposition::Handler(_)) {
            return false;
        }
        t.own().fault = FaultRegs {
            err: frame.error,
            trapno: frame.vector,
            cr2,
        };
        p.send(t, Target::Thread(i), SigInfo::fault(sig, code, addr))
            .is_ok()
    });
    queued && thread::redirect_for_signal(frame)
}

/// A syscall being finished, for the restart rules.
#[derive(Clone, Copy, Debug)]
struct Syscall {
    nr: u64,
    ret: i64,
}

/// The end of every syscall: returns the value for `rax`, after entering the handlers of
/// pending signals (`frame` then returns into the first one) or restarting the call.
pub fn on_syscall_return(frame: &mut Frame, ret: i64) -> i64 {
    let restartable = ret < 0 && restart::is_restart(Errno((-ret).min(i32::MAX as i64) as i32));
    if !restartable && !thread::signal_flagged() {
        return ret;
    }
    let mut regs = from_syscall(frame, ret);
    deliver(&mut regs, Some(Syscall { nr: frame.nr, ret }));
    frame.args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
    frame.r15 = regs.r15;
    frame.r14 = regs.r14;
    frame.r13 = regs.r13;
    frame.r12 = regs.r12;
    frame.rbx = regs.rbx;
    frame.rbp = regs.rbp;
    frame.rflags = regs.rflags;
    frame.rip = regs.rip;
    frame.rsp = regs.rsp;
    regs.rax as i64
}

fn from_syscall(frame: &Frame, ret: i64) -> Regs {
    let [rdi, rsi, rdx, r10, r8, r9] = frame.args;
    Regs {
        r8,
        r9,
        r10,
        // The syscall instruction left the return address in rcx and the flags in r11, as
        // Linux's saved registers show them.
        r11: frame.rflags,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rdi,
        rsi,
        rbp: frame.rbp,
        rbx: frame.rbx,
        rdx,
        rax: ret as u64,
        rcx: frame.rip,
        rsp: frame.rsp,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// After an interrupt, a preemption or a fault (on the kernel stack, from the stub): enters
/// the handlers of pending signals by changing `frame`, which the stub then returns to.
pub fn on_trap_return(frame: &mut TrapFrame) {
    if FATAL.load(Ordering::Relaxed) != 0 {
        crate::syscall::process::exit_program(FATAL.load(Ordering::Relaxed));
    }
    if !thread::signal_flagged() {
        return;
    }
    let mut regs = from_trap(frame);
    deliver(&mut regs, None);
    to_trap(frame, &regs);
}

fn from_trap(f: &TrapFrame) -> Regs {
    Regs {
        r8: f.r8,
        r9: f.r9,
        r10: f.r10,
        r11: f.r11,
        r12: f.r12,
        r13: f.r13,
        r14: f.r14,
        r15: f.r15,
        rdi: f.rdi,
        rsi: f.rsi,
        rbp: f.rbp,
        rbx: f.rbx,
        rdx: f.rdx,
        rax: f.rax,
        rcx: f.rcx,
        rsp: f.rsp,
        rip: f.rip,
        rflags: f.rflags,
    }
}

fn to_trap(f: &mut TrapFrame, r: &Regs) {
    f.r8 = r.r8;
    f.r9 = r.r9;
    f.r10 = r.r10;
    f.r11 = r.r11;
    f.r12 = r.r12;
    f.r13 = r.r13;
    f.r14 = r.r14;
    f.r15 = r.r15;
    f.rdi = r.rdi;
    f.rsi = r.rsi;
    f.rbp = r.rbp;
    f.rbx = r.rbx;
    f.rdx = r.rdx;
    f.rax = r.rax;
    f.rcx = r.rcx;
    f.rsp = r.rsp;
    f.rip = r.rip;
    f.rflags = r.rflags;
    f.cs = CODE_SELECTOR as u64;
    f.ss = DATA_SELECTOR as u64;
}

/// What the next pending signal asks for.
enum Step {
    Nothing,
    /// Stopped: wait for SIGCONT.
    Stopped,
    Skip,
    Stop,
    Die {
        sig: u32,
        core: bool,
    },
    Handle(SigInfo, Action),
}

fn next_step(p: &mut ProcessSignals, t: &mut SignalThreads<'_>) -> Step {
    let i = t.current();
    let kill_pending = t
        .own()
        .pending
        .set()
        .union(p.shared.set())
        .contains(SIGKILL);
    if p.stopped && !kill_pending {
        return Step::Stopped;
    }
    let allowed = SigSet::ALL.minus(t.own().blocked);
    let Some(info) = p.dequeue(t, i, allowed) else {
        return Step::Nothing;
    };
    let info = fill_overrun(p, info);
    let sig = info.signo();
    match p.disposition(sig) {
        Disposition::Ignore
        | Disposition::Default(DefaultAction::Ignore | DefaultAction::Continue) => Step::Skip,
        Disposition::Default(DefaultAction::Stop) => Step::Stop,
        Disposition::Default(DefaultAction::Terminate) => Step::Die { sig, core: false },
        Disposition::Default(DefaultAction::Core) => Step::Die { sig, core: true },
        Disposition::Handler(action) => {
            if action.flags & SA_RESETHAND != 0 {
                p.reset_to_default(sig);
            }
            Step::Handle(info, action)
        }
    }
}

/// Acts on every signal the thread may take now, changing `regs` (the state it returns to).
fn deliver(regs: &mut Regs, mut syscall: Option<Syscall>) {
    let mut handled = false;
    loop {
        match with_signals(next_step) {
            Step::Nothing => break,
            Step::Skip => {}
            Step::Stopped => park(),
            Step::Stop => {
                with_signals(|p, t| p.stop(t));
                park();
            }
            Step::Die { sig, core } => die(sig, core, regs),
            Step::Handle(info, action) => {
                if let Some(sc) = syscall.take() {
                    finish_syscall(regs, sc, Some(action.flags));
                }
                match setup_frame(regs, &info, &action) {
                    Ok(()) => handled = true,
                    Err(why) => {
                        kinfo!(
                            "{}: its handler cannot run: {} (rsp {:#x})",
                            signal_name(info.signo()),
                            why,
                            regs.rsp
                        );
                        force_sigsegv(info.signo());
                    }
                }
            }
        }
    }
    if let Some(sc) = syscall {
        finish_syscall(regs, sc, None);
    }
    if !handled {
        // sigsuspend, ppoll, pselect6, epoll_pwait: no handler ran, so their mask goes now.
        with_signals(|p, t| {
            if let Some(mask) = t.own().saved_mask.take() {
                let i = t.current();
                p.set_blocked(t, i, mask);
            }
        });
    }
}

/// The syscall's result, once it is known whether a handler runs.
fn finish_syscall(regs: &mut Regs, sc: Syscall, handler_flags: Option<u64>) {
    match restart_outcome(sc.ret, handler_flags) {
        AfterSyscall::Return(v) => {
            regs.rax = v as u64;
            if sc.ret == -(restart::ERESTART_RESTARTBLOCK.0 as i64) {
                with_signals(|_, t| t.own().restart = None);
            }
        }
        AfterSyscall::Restart => {
            // Back to the `syscall` instruction (2 bytes), with the number in rax and the
            // arguments untouched in their registers.
            regs.rax = sc.nr;
            regs.rip -= 2;
        }
        AfterSyscall::RestartBlock => {
            regs.rax = nr::restart_syscall as u64;
            regs.rip -= 2;
        }
    }
}

/// Waits while the program is stopped (until SIGCONT or SIGKILL).
fn park() {
    crate::sched::block_until_uninterruptible(
        None,
        |_| None,
        || {
            with_signals(|p, t| {
                let kill = t
                    .own()
                    .pending
                    .set()
                    .union(p.shared.set())
                    .contains(SIGKILL);
                (!p.stopped || kill).then_some(())
            })
        },
    );
}

/// Linux's `force_sigsegv`: the handler of `sig` could not be entered; SIGSEGV is raised
/// for the thread, with the default action if it was SIGSEGV's own handler that failed.
fn force_sigsegv(sig: u32) {
    with_signals(|p, t| {
        if sig == SIGSEGV {
            p.reset_to_default(SIGSEGV);
        }
        let i = t.current();
        let mask = t.own().blocked.minus(SigSet::of(SIGSEGV));
        p.set_blocked(t, i, mask);
        let _ = p.send(t, Target::Thread(i), SigInfo::kernel(SIGSEGV));
    });
}

fn signal_name(sig: u32) -> alloc::string::String {
    match name(sig) {
        Some(n) => alloc::string::String::from(n),
        None => alloc::format!("SIGRT{}", sig - super::SIGRTMIN),
    }
}

/// A signal's default action ends the program: status 128 + n, as a shell shows a process
/// killed by it; for the signals that would dump core, a backtrace of where it was.
fn die(sig: u32, core: bool, regs: &Regs) -> ! {
    kinfo!("killed by signal {} ({})", signal_name(sig), sig);
    if core {
        let mut console = crate::drivers::serial::log();
        crate::kernel::write_backtrace(&mut *console, regs.rip, regs.rbp);
    }
    crate::syscall::process::exit_program(128 + sig as i32)
}

/// Why a handler's frame could not be written.
#[derive(Clone, Copy, Debug)]
enum FrameError {
    NoRestorer,
    NoRoom,
    AltStackOverflow,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FrameError::NoRestorer => "its action has no SA_RESTORER (x86-64 needs one)",
            FrameError::NoRoom => {
                "no writable room for its frame below the stack (a stack overflow needs \
                 sigaltstack and SA_ONSTACK)"
            }
            FrameError::AltStackOverflow => "its frame does not fit on the alternate stack",
        })
    }
}

/// Builds the handler's frame on the program's stack and points `regs` at the handler.
fn setup_frame(regs: &mut Regs, info: &SigInfo, action: &Action) -> Result<(), FrameError> {
    if action.flags & SA_RESTORER == 0 {
        return Err(FrameError::NoRestorer);
    }
    let sig = info.signo();
    let xstate = context::xstate();
    let fp_size = xstate.map_or(512, |(size, _)| size + 4);
    let (alt, blocked, saved, fault) = with_signals(|_, t| {
        let ts = t.own();
        (ts.altstack, ts.blocked, ts.saved_mask, ts.fault)
    });
    let switch = if action.flags & SA_ONSTACK != 0 {
        alt.top_for(regs.rsp)
    } else {
        None
    };
    let on_alt = switch.is_some() || alt.contains(regs.rsp);
    let sp = switch.unwrap_or(regs.rsp.wrapping_sub(RED_ZONE));
    let layout = Layout::below(sp, fp_size as u64).ok_or(FrameError::NoRoom)?;
    if on_alt && !(layout.frame > alt.sp && layout.end <= alt.sp + alt.size) {
        return Err(FrameError::AltStackOverflow);
    }
    user::check_range(layout.frame, layout.size(), true).map_err(|_| FrameError::NoRoom)?;

    // The FPU state goes into the frame as XSAVE saves it, then the handler gets a fresh one.
    let fp = user::bytes_mut(layout.fpstate, fp_size as u64).map_err(|_| FrameError::NoRoom)?;
    context::with_scratch(|scratch| {
        scratch.save();
        let n = fp.len().min(scratch.bytes().len());
        fp[..n].copy_from_slice(&scratch.bytes()[..n]);
    });
    if let Some((size, xcr0)) = xstate {
        frame::mark_xstate(fp, size, xcr0);
    }
    let mut flags = frame::UC_SIGCONTEXT_SS | frame::UC_STRICT_RESTORE_SS;
    if xstate.is_some() {
        flags |= frame::UC_FP_XSTATE;
    }
    let ctx = Context {
        regs: *regs,
        mask: saved.unwrap_or(blocked),
        stack: (alt.sp, alt.ss_flags(regs.rsp), alt.size),
        fault,
        fpstate: layout.fpstate,
        flags,
    };
    let uc = frame::encode(&ctx, CODE_SELECTOR, DATA_SELECTOR);
    user::write_u64s(layout.frame, &[action.restorer]).map_err(|_| FrameError::NoRoom)?;
    user::bytes_mut(layout.uc, UCONTEXT_SIZE as u64)
        .map_err(|_| FrameError::NoRoom)?
        .copy_from_slice(&uc);
    user::bytes_mut(layout.info, info.bytes().len() as u64)
        .map_err(|_| FrameError::NoRoom)?
        .copy_from_slice(info.bytes());
    context::load_init_state();

    with_signals(|p, t| {
        let i = t.current();
        let ts = t.own();
        ts.saved_mask = None;
        if ts.altstack.flags & SS_AUTODISARM != 0 {
            ts.altstack = super::state::AltStack::DISABLED;
        }
        let mut mask = ts.blocked.union(action.mask);
        if action.flags & SA_NODEFER == 0 {
            mask.add(sig);
        }
        p.set_blocked(t, i, mask);
    });
    regs.rsp = layout.frame;
    regs.rip = action.handler;
    regs.rdi = sig as u64;
    regs.rsi = layout.info;
    regs.rdx = layout.uc;
    regs.rax = 0;
    regs.rflags = frame::handler_rflags(regs.rflags);
    Ok(())
}

/// rt_sigreturn: the handler returned (`rsp` points at its ucontext, the return address
/// having been popped); the mask, the alternate stack, the FPU state and every register come
/// back from the frame, and the program resumes where the signal interrupted it — through
/// iretq, as it may have been stopped anywhere. A frame that cannot be read or loaded raises
/// SIGSEGV, as on Linux.
pub fn sigreturn(frame: &Frame) -> ! {
    let mut regs = match restore(frame.rsp) {
        Ok(regs) => regs,
        Err(()) => {
            kinfo!(
                "rt_sigreturn: bad signal frame at {:#x}: SIGSEGV",
                frame.rsp
            );
            force_sigsegv(0);
            from_syscall(frame, 0)
        }
    };
    deliver(&mut regs, None);
    let out = TrapFrame {
        r15: regs.r15,
        r14: regs.r14,
        r13: regs.r13,
        r12: regs.r12,
        r11: regs.r11,
        r10: regs.r10,
        r9: regs.r9,
        r8: regs.r8,
        rbp: regs.rbp,
        rdi: regs.rdi,
        rsi: regs.rsi,
        rdx: regs.rdx,
        rcx: regs.rcx,
        rbx: regs.rbx,
        rax: regs.rax,
        vector: 0,
        error: 0,
        rip: regs.rip,
        cs: CODE_SELECTOR as u64,
        rflags: regs.rflags,
        rsp: regs.rsp,
        ss: DATA_SELECTOR as u64,
    };
    context::return_to_program(&out)
}

fn restore(uc_addr: u64) -> Result<Regs, ()> {
    let raw = user::bytes(uc_addr, UCONTEXT_SIZE as u64).map_err(|_| ())?;
    let mut bytes = [0u8; UCONTEXT_SIZE];
    bytes.copy_from_slice(raw);
    let ctx = frame::decode(&bytes);
    with_signals(|p, t| {
        let i = t.current();
        p.set_blocked(t, i, ctx.mask);
        // As Linux, a failure to restore the alternate stack (EPERM while on it) is ignored.
        let _ = t
            .own()
            .altstack
            .set(ctx.stack.0, ctx.stack.1, ctx.stack.2, uc_addr);
    });
    restore_fpu(ctx.fpstate)?;
    if !frame::canonical(ctx.regs.rip) || !frame::canonical(ctx.regs.rsp) {
        return Err(());
    }
    let mut regs = ctx.regs;
    regs.rflags = frame::restored_rflags(ctx.regs.rflags);
    Ok(regs)
}

/// Loads the FPU state a frame holds (after checking what XRSTOR/FXRSTOR would fault on);
/// no area at all resets it, as Linux does.
fn restore_fpu(at: u64) -> Result<(), ()> {
    if at == 0 {
        context::load_init_state();
        return Ok(());
    }
    let xstate = context::xstate();
    let size = xstate.map_or(512, |(size, _)| size + 4);
    // An area without Linux's magic may be legacy-only (512 bytes): read what is there.
    let len = match user::bytes(at, size as u64) {
        Ok(_) => size,
        Err(_) => 512,
    };
    // Copied into the kernel's 64-byte aligned area before loading, so the program's copy
    // may be anywhere.
    let area = user::bytes(at, len as u64).map_err(|_| ())?;
    let plan = frame::check_fpstate(area, xstate, context::mxcsr_mask()).map_err(|_| ())?;
    context::with_scratch(|scratch| {
        let dst = scratch.bytes_mut();
        dst.fill(0);
        let n = area.len().min(dst.len());
        dst[..n].copy_from_slice(&area[..n]);
        if xstate.is_some() && plan == frame::FpRestore::Legacy {
            frame::legacy_to_xsave(dst);
        }
        scratch.restore();
    });
    Ok(())
}

/// Reaches the current thread's signal state (`with_signals` for the running thread).
pub fn with_own<R>(f: impl FnOnce(&mut ProcessSignals, &mut SignalThreads<'_>, usize) -> R) -> R {
    with_signals(|p, t| {
        let i = t.current();
        f(p, t, i)
    })
}

/// sigprocmask's change of the running thread's mask.
pub fn set_mask(mask: SigSet) {
    with_own(|p, t, i| p.set_blocked(t, i, mask));
}

/// For syscalls that take a temporary mask (ppoll, pselect6, epoll_pwait, sigsuspend):
/// installs `mask` and remembers the old one, which goes back when the call returns, or
/// once a handler it was interrupted for has run.
pub fn install_temporary_mask(mask: SigSet) {
    with_own(|p, t, i| {
        let ts = t.own();
        if ts.saved_mask.is_none() {
            ts.saved_mask = Some(ts.blocked);
        }
        p.set_blocked(t, i, mask);
    });
}

/// Ends a temporary mask: at once unless the call ends with `result` EINTR for a signal (then
/// the mask stays until the handler has run, and its frame restores the old one).
pub fn end_temporary_mask(result: &SysResult) {
    let interrupted =
        matches!(result, Err(e) if restart::is_restart(*e) || *e == crate::errno::EINTR);
    if interrupted {
        return;
    }
    with_own(|p, t, i| {
        if let Some(mask) = t.own().saved_mask.take() {
            p.set_blocked(t, i, mask);
        }
    });
}

/// A signal sent to the whole program from outside (the host, through `kiln run` or the
/// power button): as the kernel sends it, `SI_KERNEL`.
pub fn from_host(sig: u32) {
    if super::valid(sig as u64) {
        let _ = send(Target::Process, SigInfo::kernel(sig));
    }
}

const _: () = assert!(SI_KERNEL == 0x80);
