//! The signal state of the process and of each thread, and Linux's rules over it: how a
//! signal is sent (ignored, merged, queued; which thread is woken to take a process-directed
//! one), how a thread takes the next one, what a mask change does to signals pending for the
//! whole process, sigaltstack's checks, and what a syscall interrupted by a signal returns.
//!
//! The threads are reached through [`Threads`] (the scheduler's table in the kernel, a
//! vector in the tests), so these rules are tested with values.
#![forbid(unsafe_code)]

use super::info::SigInfo;
use super::pending::{Pending, Pushed};
use super::restart::{ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, ERESTART_RESTARTBLOCK};
use super::timers::Timers;
use super::{default_action, DefaultAction, SigSet, NSIG, SIGCONT, SIGKILL, SIGRTMIN, SIGSTOP};
use crate::errno::{self, Errno};

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_UNSUPPORTED: u64 = 0x400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The flags Linux keeps; others (SA_UNSUPPORTED among them) read back cleared, which is how
/// programs probe for flag support.
const KNOWN_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack sigaltstack accepts (x86-64's MINSIGSTKSZ).
pub const MINSIGSTKSZ: u64 = 2048;

/// One entry of the action table: the kernel's `struct sigaction` (handler, flags, restorer,
/// mask).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Action {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: SigSet,
}

impl Action {
    /// From the four words of the program's `struct sigaction`; unknown flags are dropped
    /// and SIGKILL/SIGSTOP cannot be in the mask, as on Linux.
    pub fn from_words(w: [u64; 4]) -> Action {
        Action {
            handler: w[0],
            flags: w[1] & KNOWN_FLAGS,
            restorer: w[2],
            mask: SigSet(w[3]).blockable(),
        }
    }

    pub fn to_words(self) -> [u64; 4] {
        [self.handler, self.flags, self.restorer, self.mask.0]
    }
}

/// What a signal's action means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Disposition {
    Default(DefaultAction),
    Ignore,
    Handler(Action),
}

impl Disposition {
    pub fn of(sig: u32, action: Action) -> Disposition {
        match action.handler {
            SIG_DFL => Disposition::Default(default_action(sig)),
            SIG_IGN => Disposition::Ignore,
            _ => Disposition::Handler(action),
        }
    }

    /// Ignored outright: `SIG_IGN`, or `SIG_DFL` of a signal whose default is to ignore it
    /// (SIGCONT included: continuing happens when it is sent).
    pub fn ignores(self) -> bool {
        matches!(
            self,
            Disposition::Ignore
                | Disposition::Default(DefaultAction::Ignore | DefaultAction::Continue)
        )
    }
}

/// A thread's alternate signal stack (sigaltstack).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// SS_AUTODISARM, as set (SS_DISABLE shows as a zero size).
    pub flags: u32,
}

impl Default for AltStack {
    fn default() -> AltStack {
        AltStack::DISABLED
    }
}

impl AltStack {
    pub const DISABLED: AltStack = AltStack {
        sp: 0,
        size: 0,
        flags: 0,
    };

    /// Whether `rsp` lies on the alternate stack (never while it is auto-disarmed).
    pub fn contains(&self, rsp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.within(rsp)
    }

    fn within(&self, rsp: u64) -> bool {
        rsp > self.sp && rsp - self.sp <= self.size
    }

    /// `ss_flags` as sigaltstack and a signal frame report it for a thread at `rsp`.
    pub fn ss_flags(&self, rsp: u64) -> u32 {
        let mode = if self.size == 0 {
            SS_DISABLE
        } else if self.contains(rsp) {
            SS_ONSTACK
        } else {
            0
        };
        mode | (self.flags & SS_AUTODISARM)
    }

    /// sigaltstack's change, with Linux's checks in Linux's order, for a thread at `rsp`.
    pub fn set(&mut self, sp: u64, flags: u32, size: u64, rsp: u64) -> Result<(), Errno> {
        if self.contains(rsp) {
            return Err(errno::EPERM);
        }
        let mode = flags & !SS_AUTODISARM;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(errno::EINVAL);
        }
        if mode == SS_DISABLE {
            *self = AltStack {
                sp: 0,
                size: 0,
                flags,
            };
            return Ok(());
        }
        if size < MINSIGSTKSZ {
            return Err(errno::ENOMEM);
        }
        *self = AltStack { sp, size, flags };
        Ok(())
    }

    /// Where a handler with SA_ONSTACK starts its frame: the top of the alternate stack if
    /// it is set up and the thread is not on it already, else `None` (the current stack).
    pub fn top_for(&self, rsp: u64) -> Option<u64> {
        (self.size != 0 && !self.contains(rsp)).then(|| self.sp.wrapping_add(self.size))
    }
}

/// How a syscall interrupted by a signal resumes when it is restarted without a handler
/// (Linux's restart block): with the time that was left.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestartBlock {
    /// nanosleep / clock_nanosleep (relative): sleep on to `deadline` (monotonic ns), and
    /// write the time left to `rmtp` if interrupted again.
    Sleep { deadline: u64, rmtp: u64 },
    /// futex wait with a timeout: wait on to `deadline` (monotonic ns).
    Futex {
        uaddr: u64,
        val: u32,
        bitset: u32,
        deadline: u64,
    },
    /// poll/ppoll with a timeout: the same descriptors, to `deadline`.
    Poll { fds: u64, nfds: u64, deadline: u64 },
}

/// What a CPU fault leaves for the signal frame (`uc_mcontext.err`, `trapno`, `cr2`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct FaultRegs {
    pub err: u64,
    pub trapno: u64,
    pub cr2: u64,
}

/// One thread's signal state (it lives in the thread's record).
#[derive(Clone, Debug, Default)]
pub struct ThreadSignals {
    pub blocked: SigSet,
    pub pending: Pending,
    pub altstack: AltStack,
    /// A signal may be deliverable to this thread (Linux's TIF_SIGPENDING): waits end,
    /// and the next return to program code looks.
    pub flagged: bool,
    /// The mask to restore once a handler has run (sigsuspend, ppoll, pselect6 and
    /// epoll_pwait install a temporary one): saved in that handler's frame.
    pub saved_mask: Option<SigSet>,
    /// While in rt_sigtimedwait: the mask before the waited-for signals were unblocked.
    pub real_blocked: Option<SigSet>,
    pub restart: Option<RestartBlock>,
    pub fault: FaultRegs,
}

impl ThreadSignals {
    /// A new thread: the creator's mask, nothing pending, no alternate stack (Linux clears
    /// it for threads).
    pub fn inherit(parent: &ThreadSignals) -> ThreadSignals {
        ThreadSignals {
            blocked: parent.blocked,
            ..ThreadSignals::default()
        }
    }

    /// The signals this thread blocks for the purpose of sending (its mask, and during
    /// sigtimedwait the mask it had before).
    fn blocks(&self, sig: u32) -> bool {
        self.blocked.contains(sig) || self.real_blocked.is_some_and(|m| m.contains(sig))
    }
}

/// The threads, as the signal rules need to see them.
pub trait Threads {
    fn count(&self) -> usize;
    /// The thread running now (the caller).
    fn current(&self) -> usize;
    fn tid(&self, i: usize) -> u64;
    fn signals(&mut self, i: usize) -> &mut ThreadSignals;
}

/// Who a signal is sent to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    /// The process (kill, sigqueue, a timer's SIGEV_SIGNAL): any thread that does not block
    /// it takes it.
    Process,
    /// One thread (tkill, tgkill, a fault, SIGEV_THREAD_ID), by index.
    Thread(usize),
}

/// What sending did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sent {
    /// Dropped: ignored (and not blocked by the target).
    Ignored,
    /// A standard signal already pending: merged.
    Merged,
    /// Pending; `woken` is the thread told to take it (`None`: every thread that could
    /// blocks it for now).
    Queued { woken: Option<usize> },
}

/// The main thread's id: the thread group leader, which process-directed signals prefer.
pub const MAIN_TID: u64 = 1;

/// The process's signal state: the action table, the shared pending set, job control, and
/// the timers that send signals.
#[derive(Debug)]
pub struct ProcessSignals {
    actions: [Action; NSIG as usize],
    pub shared: Pending,
    /// Where the search for a thread to wake for a process-directed signal starts (Linux's
    /// `curr_target`), an index.
    curr_target: usize,
    /// Stopped by a stop signal, until SIGCONT.
    pub stopped: bool,
    pub timers: Timers,
}

impl Default for ProcessSignals {
    fn default() -> ProcessSignals {
        ProcessSignals::new()
    }
}

impl ProcessSignals {
    pub const fn new() -> ProcessSignals {
        ProcessSignals {
            actions: [Action {
                handler: SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: SigSet::EMPTY,
            }; NSIG as usize],
            shared: Pending::new(),
            curr_target: 0,
            stopped: false,
            timers: Timers::new(),
        }
    }

    pub fn action(&self, sig: u32) -> Action {
        self.actions[sig as usize - 1]
    }

    pub fn disposition(&self, sig: u32) -> Disposition {
        Disposition::of(sig, self.action(sig))
    }

    /// rt_sigaction's change (the caller has checked the signal number and that SIGKILL and
    /// SIGSTOP are not being changed). Setting a signal to be ignored drops its pending
    /// instances everywhere, as POSIX requires. Returns the old action.
    pub fn set_action(&mut self, threads: &mut impl Threads, sig: u32, new: Action) -> Action {
        let old = self.action(sig);
        self.actions[sig as usize - 1] = new;
        if Disposition::of(sig, new).ignores() {
            let only = SigSet::of(sig);
            self.shared.discard(only);
            for i in 0..threads.count() {
                threads.signals(i).pending.discard(only);
            }
        }
        old
    }

    /// SA_RESETHAND: the action goes back to SIG_DFL when its handler is entered.
    pub fn reset_to_default(&mut self, sig: u32) {
        self.actions[sig as usize - 1] = Action::default();
    }

    fn main_index(threads: &impl Threads) -> Option<usize> {
        (0..threads.count()).find(|&i| threads.tid(i) == MAIN_TID)
    }

    /// Linux's `wants_signal`: the thread does not block it and is not already told to take
    /// another (unless it is the running one); nobody wants anything while stopped.
    fn wants(&self, threads: &mut impl Threads, i: usize, sig: u32) -> bool {
        let current = threads.current();
        let ts = threads.signals(i);
        if ts.blocks(sig) {
            return false;
        }
        if sig == SIGKILL {
            return true;
        }
        if self.stopped {
            return false;
        }
        i == current || !ts.flagged
    }

    /// Sends `info` (Linux's `send_signal` + `complete_signal`). The caller checked the
    /// signal number. EAGAIN when a real-time signal with information (sigqueue, a timer)
    /// finds the queue full.
    pub fn send(
        &mut self,
        threads: &mut impl Threads,
        target: Target,
        info: SigInfo,
    ) -> Result<Sent, Errno> {
        let sig = info.signo();
        self.job_control(threads, sig);
        let disposition = self.disposition(sig);
        let blocked = match target {
            Target::Thread(i) => threads.signals(i).blocks(sig),
            // The group leader's mask decides, as on Linux (a leader that exited blocks
            // nothing).
            Target::Process => {
                Self::main_index(threads).is_some_and(|m| threads.signals(m).blocks(sig))
            }
        };
        if sig != SIGKILL && !blocked && disposition.ignores() {
            return Ok(Sent::Ignored);
        }
        let queue = match target {
            Target::Thread(i) => &mut threads.signals(i).pending,
            Target::Process => &mut self.shared,
        };
        if sig >= SIGRTMIN && info.code() < 0 && queue.full() {
            return Err(errno::EAGAIN);
        }
        if queue.push(info) == Pushed::Merged {
            return Ok(Sent::Merged);
        }
        let woken = match target {
            Target::Thread(i) => self.wants(threads, i, sig).then_some(i),
            Target::Process => self.choose_target(threads, sig),
        };
        if let Some(t) = woken {
            threads.signals(t).flagged = true;
        }
        Ok(Sent::Queued { woken })
    }

    /// The thread to wake for a process-directed signal: the main thread if it wants it,
    /// else the next thread from `curr_target` on that does.
    fn choose_target(&mut self, threads: &mut impl Threads, sig: u32) -> Option<usize> {
        if let Some(m) = Self::main_index(threads) {
            if self.wants(threads, m, sig) {
                return Some(m);
            }
        }
        let n = threads.count();
        if n == 0 {
            return None;
        }
        let start = self.curr_target % n;
        let found = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.wants(threads, i, sig))?;
        self.curr_target = found;
        Some(found)
    }

    /// Stop signals drop a pending SIGCONT; SIGCONT drops pending stop signals and
    /// continues a stopped process (even when SIGCONT itself is blocked or ignored).
    fn job_control(&mut self, threads: &mut impl Threads, sig: u32) {
        let drop = if SigSet::STOP.contains(sig) {
            SigSet::of(SIGCONT)
        } else if sig == SIGCONT {
            if self.stopped {
                self.stopped = false;
                // Every parked thread resumes (and re-checks what is pending).
                for i in 0..threads.count() {
                    threads.signals(i).flagged = true;
                }
            }
            SigSet::STOP
        } else {
            return;
        };
        self.shared.discard(drop);
        for i in 0..threads.count() {
            threads.signals(i).pending.discard(drop);
        }
    }

    /// Stops the process (a stop signal's default action): every thread parks at its next
    /// return to program code until SIGCONT.
    pub fn stop(&mut self, threads: &mut impl Threads) {
        self.stopped = true;
        for i in 0..threads.count() {
            threads.signals(i).flagged = true;
        }
    }

    /// Takes the next signal thread `i` may take among `allowed` (its own first, then the
    /// process's), and recomputes whether more wait for it.
    pub fn dequeue(
        &mut self,
        threads: &mut impl Threads,
        i: usize,
        allowed: SigSet,
    ) -> Option<SigInfo> {
        let ts = threads.signals(i);
        let info = ts
            .pending
            .take_next(allowed)
            .or_else(|| self.shared.take_next(allowed));
        self.recalc(threads.signals(i));
        info
    }

    /// Whether a signal thread `ts` does not block waits for it (or the process is stopped).
    pub fn deliverable(&self, ts: &ThreadSignals) -> bool {
        self.stopped
            || !ts
                .pending
                .set()
                .union(self.shared.set())
                .minus(ts.blocked)
                .is_empty()
    }

    /// Linux's `recalc_sigpending`.
    pub fn recalc(&self, ts: &mut ThreadSignals) {
        ts.flagged = self.deliverable(ts);
    }

    /// Sets thread `i`'s mask (SIGKILL and SIGSTOP stay unblocked). Process-directed signals
    /// it now blocks are handed to another thread that can take them (Linux's
    /// `retarget_shared_pending`).
    pub fn set_blocked(&mut self, threads: &mut impl Threads, i: usize, mask: SigSet) {
        let mask = mask.blockable();
        let old = threads.signals(i).blocked;
        threads.signals(i).blocked = mask;
        let newly = mask.minus(old).and(self.shared.set());
        let mut handed = SigSet::EMPTY;
        for sig in 1..=NSIG {
            if !newly.contains(sig) || handed.contains(sig) {
                continue;
            }
            let other = (0..threads.count()).find(|&t| t != i && self.wants(threads, t, sig));
            if let Some(t) = other {
                threads.signals(t).flagged = true;
                handed.add(sig);
            }
        }
        self.recalc(threads.signals(i));
    }

    /// A thread is about to exit: process-directed signals it could have taken go to
    /// another thread.
    pub fn thread_exiting(&mut self, threads: &mut impl Threads, i: usize) {
        self.set_blocked(threads, i, SigSet::ALL);
    }

    /// rt_sigpending: what is pending for thread `i` and blocked by it.
    pub fn pending_blocked(&self, ts: &ThreadSignals) -> SigSet {
        ts.pending.set().union(self.shared.set()).and(ts.blocked)
    }
}

/// What the end of a syscall does with its result once it knows whether a handler runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AfterSyscall {
    /// Return this value to the program (EINTR included).
    Return(i64),
    /// Issue the same syscall again (`rip` back to the `syscall` instruction, `rax` the
    /// number): after the handler, or at once if none runs.
    Restart,
    /// Issue `restart_syscall`, which continues with the time left.
    RestartBlock,
}

/// Linux's rules: an interrupted call returns EINTR when a handler runs, except that
/// ERESTARTSYS restarts after a handler with SA_RESTART and ERESTARTNOINTR always restarts;
/// when no handler runs (the signal was ignored meanwhile, or taken by another thread, or
/// the process was stopped and continued) every interrupted call restarts.
/// `handler_flags` is the running handler's `sa_flags`, `None` when none runs.
pub fn restart_outcome(ret: i64, handler_flags: Option<u64>) -> AfterSyscall {
    let eintr = AfterSyscall::Return(-(errno::EINTR.0 as i64));
    let code = Errno((-ret).clamp(0, i32::MAX as i64) as i32);
    match (code, handler_flags) {
        (c, Some(_)) if c == ERESTARTNOHAND || c == ERESTART_RESTARTBLOCK => eintr,
        (c, Some(flags)) if c == ERESTARTSYS && flags & SA_RESTART == 0 => eintr,
        (c, Some(_)) if c == ERESTARTSYS || c == ERESTARTNOINTR => AfterSyscall::Restart,
        (c, None) if c == ERESTART_RESTARTBLOCK => AfterSyscall::RestartBlock,
        (c, None) if c == ERESTARTSYS || c == ERESTARTNOINTR || c == ERESTARTNOHAND => {
            AfterSyscall::Restart
        }
        _ => AfterSyscall::Return(ret),
    }
}

/// The signal numbers SIGKILL and SIGSTOP, whose action cannot change.
pub const fn is_unchangeable(sig: u32) -> bool {
    sig == SIGKILL || sig == SIGSTOP
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::info::{SI_QUEUE, SI_TKILL, SI_USER};
    use crate::signal::*;
    use alloc::vec::Vec;

    struct Table {
        threads: Vec<(u64, ThreadSignals)>,
        current: usize,
    }

    impl Threads for Table {
        fn count(&self) -> usize {
            self.threads.len()
        }
        fn current(&self) -> usize {
            self.current
        }
        fn tid(&self, i: usize) -> u64 {
            self.threads[i].0
        }
        fn signals(&mut self, i: usize) -> &mut ThreadSignals {
            &mut self.threads[i].1
        }
    }

    fn table(n: usize) -> Table {
        Table {
            threads: (0..n)
                .map(|i| (i as u64 + 1, ThreadSignals::default()))
                .collect(),
            current: 0,
        }
    }

    fn kill(sig: u32) -> SigInfo {
        SigInfo::from_sender(sig, SI_USER, 1, 0)
    }

    fn handler() -> Action {
        Action::from_words([0x1000, SA_RESTORER | SA_SIGINFO, 0x2000, 0])
    }

    #[test]
    fn ignored_signals_vanish_unless_blocked() {
        let mut p = ProcessSignals::new();
        let mut t = table(1);
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGCHLD)),
            Ok(Sent::Ignored)
        );
        p.set_action(&mut t, SIGUSR1, Action::from_words([SIG_IGN, 0, 0, 0]));
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGUSR1)),
            Ok(Sent::Ignored)
        );
        // Blocked: kept, since the action may change before it is unblocked.
        p.set_blocked(&mut t, 0, SigSet::of(SIGUSR1));
        assert!(matches!(
            p.send(&mut t, Target::Process, kill(SIGUSR1)),
            Ok(Sent::Queued { .. })
        ));
        assert!(p.shared.set().contains(SIGUSR1));
        // Setting SIG_IGN again drops it (POSIX).
        p.set_action(&mut t, SIGUSR1, Action::from_words([SIG_IGN, 0, 0, 0]));
        assert!(p.shared.set().is_empty());
        // SIGKILL is never ignored.
        assert!(matches!(
            p.send(&mut t, Target::Process, kill(SIGKILL)),
            Ok(Sent::Queued { .. })
        ));
    }

    #[test]
    fn process_signals_prefer_the_main_thread_then_any_that_does_not_block() {
        let mut p = ProcessSignals::new();
        p.set_action(&mut table(0), SIGUSR1, handler());
        let mut t = table(3);
        t.current = 2;
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGUSR1)),
            Ok(Sent::Queued { woken: Some(0) })
        );
        // The main thread blocks it: the next thread that does not is woken.
        let mut p = ProcessSignals::new();
        let mut t = table(3);
        t.threads[0].1.blocked = SigSet::of(SIGUSR2);
        t.threads[1].1.blocked = SigSet::of(SIGUSR2);
        p.set_action(&mut t, SIGUSR2, handler());
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGUSR2)),
            Ok(Sent::Queued { woken: Some(2) })
        );
        // Everyone blocks it: pending for whoever unblocks it first.
        let mut p = ProcessSignals::new();
        let mut t = table(2);
        for (_, ts) in &mut t.threads {
            ts.blocked = SigSet::of(SIGUSR2);
        }
        p.set_action(&mut t, SIGUSR2, handler());
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGUSR2)),
            Ok(Sent::Queued { woken: None })
        );
        p.set_blocked(&mut t, 1, SigSet::EMPTY);
        assert!(t.threads[1].1.flagged, "unblocking makes it deliverable");
        let allowed = SigSet::ALL.minus(t.threads[1].1.blocked);
        let got = p.dequeue(&mut t, 1, allowed);
        assert_eq!(got.map(|i| i.signo()), Some(SIGUSR2));
        assert!(!t.threads[1].1.flagged);
    }

    #[test]
    fn blocking_hands_a_shared_signal_to_another_thread() {
        let mut p = ProcessSignals::new();
        let mut t = table(2);
        p.set_action(&mut t, SIGTERM, handler());
        p.send(&mut t, Target::Process, kill(SIGTERM)).unwrap();
        assert!(t.threads[0].1.flagged && !t.threads[1].1.flagged);
        p.set_blocked(&mut t, 0, SigSet::of(SIGTERM));
        assert!(!t.threads[0].1.flagged);
        assert!(t.threads[1].1.flagged);
    }

    #[test]
    fn thread_signals_and_their_order() {
        let mut p = ProcessSignals::new();
        let mut t = table(2);
        for sig in [SIGUSR1, SIGHUP, 40] {
            p.set_action(&mut t, sig, handler());
        }
        p.send(
            &mut t,
            Target::Thread(1),
            SigInfo::from_sender(SIGUSR1, SI_TKILL, 1, 0),
        )
        .unwrap();
        p.send(&mut t, Target::Process, kill(SIGHUP)).unwrap();
        assert!(t.threads[1].1.flagged);
        // The thread's own signal comes before the process's, even though SIGHUP < SIGUSR1.
        let first = p.dequeue(&mut t, 1, SigSet::ALL).unwrap();
        assert_eq!((first.signo(), first.code()), (SIGUSR1, SI_TKILL));
        assert!(t.threads[1].1.flagged, "SIGHUP still waits");
        assert_eq!(p.dequeue(&mut t, 1, SigSet::ALL).unwrap().signo(), SIGHUP);
        // sigqueue with a full queue: EAGAIN.
        for i in 0..crate::signal::pending::QUEUE_LIMIT {
            p.send(
                &mut t,
                Target::Process,
                SigInfo::from_sender(40, SI_QUEUE, i as u32, 0),
            )
            .unwrap();
        }
        assert_eq!(
            p.send(
                &mut t,
                Target::Process,
                SigInfo::from_sender(40, SI_QUEUE, 0, 0)
            ),
            Err(errno::EAGAIN)
        );
    }

    #[test]
    fn stop_and_continue() {
        let mut p = ProcessSignals::new();
        let mut t = table(2);
        p.send(&mut t, Target::Process, kill(SIGTSTP)).unwrap();
        p.stop(&mut t);
        assert!(p.stopped && t.threads.iter().all(|(_, ts)| ts.flagged));
        p.send(&mut t, Target::Process, kill(SIGTSTP)).unwrap();
        // SIGCONT continues even when ignored by default, and drops pending stops.
        assert_eq!(
            p.send(&mut t, Target::Process, kill(SIGCONT)),
            Ok(Sent::Ignored)
        );
        assert!(!p.stopped);
        assert!(!p.shared.set().contains(SIGTSTP));
    }

    #[test]
    fn restart_rules_follow_linux() {
        let r = |e: Errno| -(e.0 as i64);
        let eintr = AfterSyscall::Return(-4);
        let restart_flags = Some(SA_RESTART);
        let plain = Some(0);
        assert_eq!(restart_outcome(r(ERESTARTSYS), plain), eintr);
        assert_eq!(
            restart_outcome(r(ERESTARTSYS), restart_flags),
            AfterSyscall::Restart
        );
        assert_eq!(restart_outcome(r(ERESTARTSYS), None), AfterSyscall::Restart);
        assert_eq!(restart_outcome(r(ERESTARTNOHAND), restart_flags), eintr);
        assert_eq!(
            restart_outcome(r(ERESTARTNOHAND), None),
            AfterSyscall::Restart
        );
        assert_eq!(
            restart_outcome(r(ERESTART_RESTARTBLOCK), restart_flags),
            eintr
        );
        assert_eq!(
            restart_outcome(r(ERESTART_RESTARTBLOCK), None),
            AfterSyscall::RestartBlock
        );
        assert_eq!(
            restart_outcome(r(ERESTARTNOINTR), plain),
            AfterSyscall::Restart
        );
        assert_eq!(restart_outcome(-11, plain), AfterSyscall::Return(-11));
        assert_eq!(restart_outcome(5, None), AfterSyscall::Return(5));
    }

    #[test]
    fn sigaltstack_checks() {
        let mut s = AltStack::DISABLED;
        assert_eq!(s.ss_flags(0x5000), SS_DISABLE);
        assert_eq!(s.set(0x1000, 0, 100, 0x9000), Err(errno::ENOMEM));
        assert_eq!(s.set(0x1000, 7, 8192, 0x9000), Err(errno::EINVAL));
        s.set(0x1000, 0, 8192, 0x9000).unwrap();
        assert_eq!(s.ss_flags(0x2000), SS_ONSTACK);
        assert_eq!(s.ss_flags(0x9000), 0);
        assert_eq!(s.top_for(0x9000), Some(0x3000));
        assert_eq!(s.top_for(0x2000), None, "on it already: go on below rsp");
        assert_eq!(s.set(0, SS_DISABLE, 0, 0x2000), Err(errno::EPERM));
        s.set(0, SS_DISABLE, 0, 0x9000).unwrap();
        assert_eq!(s.top_for(0x9000), None);
        s.set(0x1000, SS_AUTODISARM, 8192, 0x9000).unwrap();
        assert!(
            !s.contains(0x2000),
            "auto-disarmed stacks never count as in use"
        );
        assert_eq!(s.ss_flags(0x2000), SS_AUTODISARM);
    }

    #[test]
    fn actions_drop_unknown_flags_and_unblockable_mask_bits() {
        let a = Action::from_words([5, SA_SIGINFO | SA_UNSUPPORTED | (1 << 40), 7, u64::MAX]);
        assert_eq!(a.flags, SA_SIGINFO);
        assert!(!a.mask.contains(SIGKILL) && a.mask.contains(SIGTERM));
        assert_eq!(a.to_words()[0], 5);
    }
}
