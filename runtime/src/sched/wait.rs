//! Event sources and the one way a syscall waits.

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

/// Calls `attempt` until it returns `Some`, waiting in between; gives up with `None` at
/// `deadline_ns` (monotonic), if any. `wake_at(now)` names a time at which to look again
/// even if no interrupt comes: the next expiry of a timerfd being waited on, or a polling
/// interval for conditions no interrupt announces (the console UART's receive side).
pub fn block_until<T>(
    deadline_ns: Option<u64>,
    wake_at: impl Fn(u64) -> Option<u64>,
    mut attempt: impl FnMut() -> Option<T>,
) -> Option<T> {
    // The common case first: the call can proceed without touching any device (a console
    // write, a pipe with data). Only when it cannot do the sources run.
    if let Some(v) = attempt() {
        return Some(v);
    }
    loop {
        poll_sources();
        if let Some(v) = attempt() {
            super::thread::done_waiting();
            return Some(v);
        }
        let now = time::monotonic_ns();
        if deadline_ns.is_some_and(|d| now >= d) {
            super::thread::done_waiting();
            return None;
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
