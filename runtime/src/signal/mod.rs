//! Signals, as Linux has them: a process-wide table of actions and a shared pending set,
//! per-thread masks, pending sets and alternate stacks, default actions, `siginfo_t`, the
//! x86-64 signal frame, interval and POSIX timers, and the rules that decide which thread
//! takes a signal and what a blocking call interrupted by one returns.
//!
//! Everything here but [`deliver`] is pure and tested on the host: state machines that take
//! the threads, the time and the program's bytes as values. [`deliver`] (kernel only) applies
//! them at the three places a thread returns to program code — the end of a syscall, the
//! return from an interrupt or a preemption, and a CPU fault in program code — by writing a
//! signal frame below the program's stack (past its red zone) and entering its handler.
//!
//! Signal numbers are 1..=64 as on Linux x86-64 (`SIGRTMIN` is 32 for the kernel; musl
//! reserves 32-34 for itself and shows `SIGRTMIN` as 35).
#![forbid(unsafe_code)]

pub mod frame;
pub mod info;
pub mod pending;
pub mod state;
pub mod timers;

#[cfg(target_os = "none")]
pub mod deliver;

/// The number of signals (Linux's `_NSIG`).
pub const NSIG: u32 = 64;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// The first real-time signal as the kernel counts (musl's `SIGRTMIN` is 35).
pub const SIGRTMIN: u32 = 32;

/// A set of signals: bit `n - 1` for signal `n`, as the kernel's 64-bit `sigset_t`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub const ALL: SigSet = SigSet(u64::MAX);
    /// SIGKILL and SIGSTOP: never blocked, caught or ignored.
    pub const UNBLOCKABLE: SigSet = SigSet((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
    /// The signals a CPU fault raises: taken before any other pending one, as Linux does.
    pub const SYNCHRONOUS: SigSet = SigSet(
        (1 << (SIGSEGV - 1))
            | (1 << (SIGBUS - 1))
            | (1 << (SIGILL - 1))
            | (1 << (SIGTRAP - 1))
            | (1 << (SIGFPE - 1))
            | (1 << (SIGSYS - 1)),
    );
    /// The stop signals (job control).
    pub const STOP: SigSet = SigSet(
        (1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1)),
    );

    /// The set holding only `sig` (1..=64).
    pub const fn of(sig: u32) -> SigSet {
        SigSet(1 << (sig - 1))
    }

    pub const fn contains(self, sig: u32) -> bool {
        sig >= 1 && sig <= NSIG && self.0 & (1 << (sig - 1)) != 0
    }

    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    pub const fn minus(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    pub const fn and(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn add(&mut self, sig: u32) {
        *self = self.union(SigSet::of(sig));
    }

    pub fn remove(&mut self, sig: u32) {
        *self = self.minus(SigSet::of(sig));
    }

    /// The lowest-numbered signal in the set.
    pub fn lowest(self) -> Option<u32> {
        (self.0 != 0).then(|| self.0.trailing_zeros() + 1)
    }

    /// The set a program may block: SIGKILL and SIGSTOP taken out.
    pub const fn blockable(self) -> SigSet {
        self.minus(SigSet::UNBLOCKABLE)
    }
}

/// True for a valid signal number (1..=64).
pub const fn valid(sig: u64) -> bool {
    sig >= 1 && sig <= NSIG as u64
}

/// What happens to a signal nobody handles (`SIG_DFL`), per signal(7).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    /// The program ends, with the shell's status 128 + n.
    Terminate,
    /// The program ends as for Terminate, and Linux would dump core: Kiln prints a report.
    Core,
    Ignore,
    /// Job control: the program stops until SIGCONT.
    Stop,
    /// SIGCONT: a stopped program continues (and the signal is otherwise ignored).
    Continue,
}

pub const fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// The signal's name (`SIGTERM`), or `None` for a real-time signal.
pub const fn name(sig: u32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    if sig >= 1 && sig <= 31 {
        Some(NAMES[sig as usize - 1])
    } else {
        None
    }
}

/// The kernel-internal results by which a blocking call interrupted by a signal asks to be
/// restarted (Linux's `ERESTART*`, never seen by a program): what the end of the syscall
/// turns them into depends on whether a handler runs and its `SA_RESTART` (see
/// [`state::restart_outcome`]).
pub mod restart {
    use crate::errno::Errno;
    /// Restart if no handler runs or it has SA_RESTART; else EINTR (read, write, accept...).
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Always restart (never seen as EINTR).
    pub const ERESTARTNOINTR: Errno = Errno(513);
    /// Restart only if no handler runs; else EINTR (poll, select, sigsuspend, pause).
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// As ERESTARTNOHAND, restarting through `restart_syscall` with the remaining time
    /// (nanosleep, timed futex waits).
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);

    /// True for the four internal codes.
    pub fn is_restart(e: Errno) -> bool {
        matches!(e.0, 512 | 513 | 514 | 516)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{c_probe, MUSL};

    #[test]
    fn sets() {
        let mut s = SigSet::EMPTY;
        s.add(SIGINT);
        s.add(64);
        assert!(s.contains(SIGINT) && s.contains(64) && !s.contains(SIGTERM));
        assert_eq!(s.lowest(), Some(SIGINT));
        s.remove(SIGINT);
        assert_eq!(s.lowest(), Some(64));
        assert!(!SigSet::ALL.blockable().contains(SIGKILL));
        assert!(!SigSet::ALL.blockable().contains(SIGSTOP));
        assert!(!s.contains(0) && !s.contains(65));
    }

    #[test]
    fn defaults_and_names_follow_signal_7() {
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(SIGSEGV), DefaultAction::Core);
        assert_eq!(default_action(SIGQUIT), DefaultAction::Core);
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGWINCH), DefaultAction::Ignore);
        assert_eq!(default_action(SIGCONT), DefaultAction::Continue);
        assert_eq!(default_action(SIGTSTP), DefaultAction::Stop);
        assert_eq!(default_action(40), DefaultAction::Terminate);
        assert_eq!(name(SIGTERM), Some("SIGTERM"));
        assert_eq!(name(SIGSYS), Some("SIGSYS"));
        assert_eq!(name(32), None);
    }

    /// The signal numbers and `SA_*`/`SI_*` constants against musl's headers.
    #[test]
    fn numbers_match_musl_headers() {
        let text = c_probe(
            "signums",
            MUSL,
            r#"#include <stdio.h>
#include <signal.h>
#define P(x) printf("%s %d\n", #x, (int)(x))
int main(void) {
    P(SIGHUP); P(SIGINT); P(SIGQUIT); P(SIGILL); P(SIGTRAP); P(SIGABRT); P(SIGBUS);
    P(SIGFPE); P(SIGKILL); P(SIGUSR1); P(SIGSEGV); P(SIGUSR2); P(SIGPIPE); P(SIGALRM);
    P(SIGTERM); P(SIGSTKFLT); P(SIGCHLD); P(SIGCONT); P(SIGSTOP); P(SIGTSTP); P(SIGTTIN);
    P(SIGTTOU); P(SIGURG); P(SIGXCPU); P(SIGXFSZ); P(SIGVTALRM); P(SIGPROF); P(SIGWINCH);
    P(SIGIO); P(SIGPWR); P(SIGSYS); P(_NSIG - 1);
    return 0;
}
"#,
            "compiling against musl's headers failed (musl-dev?)",
        );
        let mut expected = alloc::string::String::new();
        for sig in 1..=31 {
            expected.push_str(&alloc::format!("{} {}\n", name(sig).unwrap(), sig));
        }
        expected.push_str("_NSIG - 1 64\n");
        assert_eq!(text, expected);
    }
}
