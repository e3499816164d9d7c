//! The timers that send signals: the three interval timers of setitimer/alarm (SIGALRM,
//! SIGVTALRM, SIGPROF) and the POSIX timers of timer_create, with their overrun counts.
//! Time is a parameter (monotonic ns); the expiry arithmetic is timerfd's
//! ([`crate::fd::timer::TimerState`]).
//!
//! The CPU-time clocks (`ITIMER_VIRTUAL`, `ITIMER_PROF`, `CLOCK_*_CPUTIME_ID`) run on the
//! VM's uptime, as `clock_gettime` reports them: one program on one vCPU.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use super::info::SigInfo;
use super::{SIGALRM, SIGPROF, SIGVTALRM};
use crate::errno::{self, Errno};
use crate::fd::timer::TimerState;

pub const ITIMER_REAL: usize = 0;
pub const ITIMER_VIRTUAL: usize = 1;
pub const ITIMER_PROF: usize = 2;

pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;

/// How many POSIX timers a program may have at once.
pub const MAX_TIMERS: usize = 1024;

/// Whom a POSIX timer tells when it expires.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notify {
    /// SIGEV_NONE: nobody (timer_gettime shows it).
    None,
    /// SIGEV_SIGNAL: the process.
    Process,
    /// SIGEV_THREAD_ID: one thread (musl's SIGEV_THREAD: its helper thread).
    Thread(u64),
}

#[derive(Clone, Copy, Debug)]
struct PosixTimer {
    notify: Notify,
    /// On CLOCK_REALTIME (or its alarm and TAI forms): absolute times are wall-clock times.
    realtime: bool,
    signo: u32,
    value: u64,
    state: TimerState,
    /// Expirations since its signal was queued, not yet delivered.
    overrun: u32,
    /// The overrun reported with the last signal taken (timer_getoverrun).
    last_overrun: u32,
    /// Its signal waits in a pending queue.
    queued: bool,
}

/// A timer's signal to send now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Expired {
    pub info: SigInfo,
    /// `None`: the process; else the thread with this tid.
    pub thread: Option<u64>,
    /// The POSIX timer it came from.
    pub timer: Option<i32>,
}

#[derive(Debug)]
pub struct Timers {
    itimers: [TimerState; 3],
    posix: Vec<Option<PosixTimer>>,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers::new()
    }
}

/// The signal each interval timer sends.
const ITIMER_SIGNALS: [u32; 3] = [SIGALRM, SIGVTALRM, SIGPROF];

impl Timers {
    pub const fn new() -> Timers {
        const OFF: TimerState = TimerState {
            next: None,
            interval: 0,
            pending: 0,
        };
        Timers {
            itimers: [OFF; 3],
            posix: Vec::new(),
        }
    }

    /// setitimer: arms interval timer `which` to fire `value` ns from `now` (0 disarms) and
    /// then every `interval`; returns the old (interval, remaining).
    pub fn set_itimer(&mut self, which: usize, now: u64, value: u64, interval: u64) -> (u64, u64) {
        let old = self.get_itimer(which, now);
        let first = (value != 0).then(|| now.saturating_add(value));
        self.itimers[which].set(first, interval);
        old
    }

    /// getitimer: (interval, time left), the time left 0 when disarmed.
    pub fn get_itimer(&mut self, which: usize, now: u64) -> (u64, u64) {
        let t = &mut self.itimers[which];
        t.advance(now);
        (t.interval, t.remaining(now))
    }

    /// timer_create: the new timer's id (the lowest free one, from 0).
    pub fn create(
        &mut self,
        notify: Notify,
        signo: u32,
        value: u64,
        realtime: bool,
    ) -> Result<i32, Errno> {
        let timer = PosixTimer {
            notify,
            realtime,
            signo,
            value,
            state: TimerState::default(),
            overrun: 0,
            last_overrun: 0,
            queued: false,
        };
        let id = match self.posix.iter().position(Option::is_none) {
            Some(id) => id,
            None if self.posix.len() < MAX_TIMERS => {
                self.posix.push(None);
                self.posix.len() - 1
            }
            None => return Err(errno::EAGAIN),
        };
        self.posix[id] = Some(timer);
        Ok(id as i32)
    }

    fn timer(&mut self, id: i32) -> Result<&mut PosixTimer, Errno> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.posix.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(errno::EINVAL)
    }

    /// Whether timer `id` runs on the wall clock.
    pub fn realtime(&mut self, id: i32) -> Result<bool, Errno> {
        Ok(self.timer(id)?.realtime)
    }

    /// Sets the `sigev_value` of timer `id` (a timer created without a sigevent carries its
    /// own id, as on Linux).
    pub fn set_value(&mut self, id: i32, value: u64) -> Result<(), Errno> {
        self.timer(id)?.value = value;
        Ok(())
    }

    /// timer_settime: first expiry at `first` (monotonic ns; `None` disarms), then every
    /// `interval`; returns the old (interval, remaining). A signal still pending stays.
    pub fn settime(
        &mut self,
        id: i32,
        now: u64,
        first: Option<u64>,
        interval: u64,
    ) -> Result<(u64, u64), Errno> {
        let t = self.timer(id)?;
        t.state.advance(now);
        let old = (t.state.interval, t.state.remaining(now));
        t.state.set(first, interval);
        t.overrun = 0;
        Ok(old)
    }

    /// timer_gettime: (interval, time left).
    pub fn gettime(&mut self, id: i32, now: u64) -> Result<(u64, u64), Errno> {
        let t = self.timer(id)?;
        t.state.advance(now);
        Ok((t.state.interval, t.state.remaining(now)))
    }

    /// timer_getoverrun: the overrun of the last signal taken.
    pub fn getoverrun(&mut self, id: i32) -> Result<u32, Errno> {
        Ok(self.timer(id)?.last_overrun.min(i32::MAX as u32))
    }

    /// timer_delete; the caller drops its queued signal. Returns its notification.
    pub fn delete(&mut self, id: i32) -> Result<Notify, Errno> {
        let notify = self.timer(id)?.notify;
        self.posix[id as usize] = None;
        Ok(notify)
    }

    /// The timers of a thread that exits go with it (Linux deletes SIGEV_THREAD_ID timers
    /// whose thread is gone when they fire; they can never send anything any more).
    pub fn thread_gone(&mut self, tid: u64) {
        for slot in &mut self.posix {
            if slot.is_some_and(|t| t.notify == Notify::Thread(tid)) {
                if let Some(t) = slot.as_mut() {
                    t.state.set(None, 0);
                }
            }
        }
    }

    /// The signals due at `now`. A POSIX timer whose signal is still queued counts an
    /// overrun instead of sending another.
    pub fn due(&mut self, now: u64) -> Vec<Expired> {
        let mut out = Vec::new();
        for (which, t) in self.itimers.iter_mut().enumerate() {
            if t.next.is_some_and(|n| n <= now) && t.take(now) > 0 {
                out.push(Expired {
                    info: SigInfo::kernel(ITIMER_SIGNALS[which]),
                    thread: None,
                    timer: None,
                });
            }
        }
        for (id, slot) in self.posix.iter_mut().enumerate() {
            let Some(t) = slot.as_mut() else { continue };
            if t.state.next.is_none_or(|n| n > now) && t.state.pending == 0 {
                continue;
            }
            let n = t.state.take(now);
            if n == 0 || t.notify == Notify::None {
                continue;
            }
            let n = n.min(u32::MAX as u64) as u32;
            if t.queued {
                t.overrun = t.overrun.saturating_add(n);
                continue;
            }
            t.overrun = n - 1;
            out.push(Expired {
                info: SigInfo::timer(t.signo, id as i32, 0, t.value),
                thread: match t.notify {
                    Notify::Thread(tid) => Some(tid),
                    _ => None,
                },
                timer: Some(id as i32),
            });
        }
        out
    }

    /// The signal of timer `id` was queued (`true`) or dropped (`false`: ignored, merged).
    pub fn sent(&mut self, id: i32, queued: bool) {
        if let Ok(t) = self.timer(id) {
            t.queued = queued;
            if !queued {
                t.overrun = 0;
            }
        }
    }

    /// A thread took timer `id`'s signal: its overrun count goes into the siginfo.
    pub fn taken(&mut self, id: i32) -> i32 {
        match self.timer(id) {
            Ok(t) => {
                t.queued = false;
                t.last_overrun = t.overrun;
                t.overrun = 0;
                t.last_overrun.min(i32::MAX as u32) as i32
            }
            Err(_) => 0,
        }
    }

    /// The earliest moment a timer expires (the CPU's timer must fire by then).
    pub fn next_deadline(&self) -> Option<u64> {
        let itimers = self.itimers.iter().filter_map(|t| t.next);
        let posix = self
            .posix
            .iter()
            .flatten()
            .filter(|t| t.notify != Notify::None)
            .filter_map(|t| t.state.next);
        itimers.chain(posix).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::info::SI_TIMER;
    use crate::signal::SIGUSR1;

    #[test]
    fn itimers_fire_once_per_expiry_check() {
        let mut t = Timers::new();
        assert_eq!(t.set_itimer(ITIMER_REAL, 0, 100, 50), (0, 0));
        assert!(t.due(99).is_empty());
        assert_eq!(t.next_deadline(), Some(100));
        let fired = t.due(260);
        assert_eq!(fired.len(), 1, "missed periods merge into one SIGALRM");
        assert_eq!(fired[0].info.signo(), SIGALRM);
        assert_eq!(t.get_itimer(ITIMER_REAL, 260), (50, 40));
        assert_eq!(t.set_itimer(ITIMER_REAL, 270, 0, 0), (50, 30));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn posix_timers_count_overruns_while_their_signal_waits() {
        let mut t = Timers::new();
        let id = t.create(Notify::Process, SIGUSR1, 42, false).unwrap();
        assert_eq!(id, 0);
        t.settime(id, 0, Some(10), 10).unwrap();
        let fired = t.due(10);
        assert_eq!(fired.len(), 1);
        let e = fired[0];
        assert_eq!(
            (e.info.code(), e.info.timer_id(), e.timer, e.thread),
            (SI_TIMER, 0, Some(0), None)
        );
        t.sent(id, true);
        assert!(t.due(35).is_empty(), "still queued: 20 and 30 are overruns");
        assert_eq!(t.taken(id), 2);
        assert_eq!(t.getoverrun(id), Ok(2));
        let again = t.due(40);
        assert_eq!(again.len(), 1);
        t.sent(id, true);
        assert_eq!(t.taken(id), 0);
        assert_eq!(t.delete(id), Ok(Notify::Process));
        assert_eq!(t.gettime(id, 50), Err(errno::EINVAL));
        assert_eq!(
            t.create(Notify::None, 0, 0, false),
            Ok(0),
            "the id is reused"
        );
    }

    #[test]
    fn missed_periods_of_one_expiry_are_overruns() {
        let mut t = Timers::new();
        let id = t.create(Notify::Thread(7), SIGUSR1, 0, true).unwrap();
        t.settime(id, 0, Some(10), 10).unwrap();
        let fired = t.due(45);
        assert_eq!(fired[0].thread, Some(7));
        t.sent(id, true);
        assert_eq!(t.taken(id), 3, "10 sent; 20, 30, 40 missed");
        t.thread_gone(7);
        assert_eq!(t.next_deadline(), None);
    }
}
