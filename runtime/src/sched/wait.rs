//! Event sources and the one way a syscall waits (ended early by a signal, unless the wait
//! is one that must finish).

use alloc::vec::Vec;
use spin::Mutex;

use crate::time;

/// Something that makes progress on its own schedule: it is polled before every readiness
/// check, and tells when it next needs polling even if no interrupt comes.
pub trait EventSource: Sync {
    /// Does pending work (received frames, protocol timers). True when that may have
    /// changed what some waiter is waiting for.
    fn poll(&self, now_ns: u64) -> bool;
    /// The monotonic time at which `poll` must run again, if any.
    fn next_wakeup(&self, now_ns: u64) -> Option<u64>;
}

static SOURCES: Mutex<Vec<&'static dyn EventSource>> = Mutex::new(Vec::new());

/// Adds an event source (at boot, by the drivers that have one).
pub fn register(source: &'static dyn EventSource) {
    SOURCES.lock().push(source);
}

fn sources() -> Vec<&'static dyn EventSource> {
    SOURCES.lock().clone()
}

/// Runs every event source once. When one made progress, every waiting thread re-checks
/// before the CPU halts: the change may be what another thread waits for.
pub fn poll_sources() {
    let now = time::monotonic_ns();
    let mut changed = false;
    for s in sources() {
        changed |= s.poll(now);
    }
    if changed {
        super::thread::progress();
    }
}

/// A wait ended by a signal: the call returns EINTR, or is restarted, as the end of the
/// syscall decides ([`crate::signal::state::restart_outcome`]). With `?` in a handler it
/// becomes `ERESTARTSYS` (restart under SA_RESTART), what most blocking calls return.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interrupted;

impl From<Interrupted> for crate::errno::Errno {
    fn from(_: Interrupted) -> crate::errno::Errno {
        crate::signal::restart::ERESTARTSYS
    }
}

/// Calls `attempt` until it returns `Some`, waiting in between; gives up with `Ok(None)` at
/// `deadline_ns` (monotonic), if any, and with `Err(Interrupted)` as soon as a signal the
/// thread does not block is pending for it (after an attempt: a call that can complete
/// does). `wake_at(now)` names a time at which to look again even if no interrupt comes: the
/// next expiry of a timerfd being waited on, or a polling interval for conditions no
/// interrupt announces (the console UART's receive side).
pub fn block_until<T>(
    deadline_ns: Option<u64>,
    wake_at: impl Fn(u64) -> Option<u64>,
    attempt: impl FnMut() -> Option<T>,
) -> Result<Option<T>, Interrupted> {
    wait_loop(true, deadline_ns, wake_at, attempt)
}

/// As [`block_until`], but signals do not end the wait (Linux's uninterruptible sleep): for
/// waits that must finish, such as a stopped program waiting for SIGCONT.
pub fn block_until_uninterruptible<T>(
    deadline_ns: Option<u64>,
    wake_at: impl Fn(u64) -> Option<u64>,
    attempt: impl FnMut() -> Option<T>,
) -> Option<T> {
    wait_loop(false, deadline_ns, wake_at, attempt).unwrap_or(None)
}

fn wait_loop<T>(
    interruptible: bool,
    deadline_ns: Option<u64>,
    wake_at: impl Fn(u64) -> Option<u64>,
    mut attempt: impl FnMut() -> Option<T>,
) -> Result<Option<T>, Interrupted> {
    // The common case first: the call can proceed without touching any device (a console
    // write, a pipe with data). Only when it cannot do the sources run.
    if let Some(v) = attempt() {
        return Ok(Some(v));
    }
    loop {
        poll_sources();
        if let Some(v) = attempt() {
            super::thread::done_waiting();
            return Ok(Some(v));
        }
        if interruptible && super::thread::signal_flagged() {
            super::thread::done_waiting();
            return Err(Interrupted);
        }
        let now = time::monotonic_ns();
        if deadline_ns.is_some_and(|d| now >= d) {
            super::thread::done_waiting();
            return Ok(None);
        }
        let wake = sources()
            .iter()
            .filter_map(|s| s.next_wakeup(now))
            .chain(deadline_ns)
            .chain(wake_at(now))
            .min();
        if wake.is_some_and(|at| at <= now) {
            continue;
        }
        super::thread::wait(wake);
    }
}
