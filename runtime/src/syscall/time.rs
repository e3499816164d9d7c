//! Clocks, sleeping and CPU-time accounting (getrusage, times).
#![forbid(unsafe_code)]

use crate::errno::{self, Errno, SysResult};
use crate::mm::user;
use crate::sched::cputime::{self, Times};
use crate::sched::thread;
use crate::time;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const CLOCK_TAI: u64 = 11;
const TIMER_ABSTIME: u64 = 1;
const NS: u64 = 1_000_000_000;

/// What a clock id names. Negative ids are Linux's CPU-time clocks of a process or thread
/// (`clock_getcpuclockid`, `pthread_getcpuclockid`): `~pid << 3 | per-thread << 2 | which`,
/// pid 0 meaning the caller.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Clock {
    Realtime,
    Monotonic,
    /// The process's CPU time; `user_only` for the `CPUCLOCK_VIRT` flavour.
    Process {
        user_only: bool,
    },
    /// Thread `tid`'s CPU time.
    Thread {
        tid: u64,
        user_only: bool,
    },
}

fn clock_of(id: u64) -> Result<Clock, Errno> {
    let id = id as i32;
    if id < 0 {
        // Linux's CPUCLOCK_WHICH: 0 PROF (user + system), 1 VIRT (user), 2 SCHED (runtime).
        let which = id & 3;
        if which == 3 {
            return Err(errno::EINVAL);
        }
        let user_only = which == 1;
        let pid = !(id >> 3) as u64;
        return if id & 4 != 0 {
            let tid = if pid == 0 { thread::current_tid() } else { pid };
            if !thread::exists(tid) {
                return Err(errno::EINVAL);
            }
            Ok(Clock::Thread { tid, user_only })
        } else if pid == 0 || pid == super::process::PID {
            Ok(Clock::Process { user_only })
        } else {
            Err(errno::EINVAL)
        };
    }
    match id as u64 {
        // TAI is the wall clock plus the leap-second offset, which (as on a Linux system whose
        // time daemon never set one) is 0.
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => Ok(Clock::Realtime),
        // The VM never suspends: boot time is monotonic time. The alarm clocks (8, 9) wake a
        // suspended machine through an RTC alarm; without one Linux refuses them, as here.
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(Clock::Monotonic)
        }
        CLOCK_PROCESS_CPUTIME_ID => Ok(Clock::Process { user_only: false }),
        CLOCK_THREAD_CPUTIME_ID => Ok(Clock::Thread {
            tid: thread::current_tid(),
            user_only: false,
        }),
        _ => Err(errno::EINVAL),
    }
}

fn cpu_ns(t: Times, user_only: bool) -> u64 {
    if user_only {
        t.user_ns
    } else {
        t.total_ns()
    }
}

fn read_clock(clock: Clock) -> Result<u64, Errno> {
    match clock {
        Clock::Realtime => Ok(time::realtime_ns()),
        Clock::Monotonic => Ok(time::monotonic_ns()),
        Clock::Process { user_only } => Ok(cpu_ns(thread::process_usage().times, user_only)),
        Clock::Thread { tid, user_only } => thread::usage_of(tid)
            .map(|u| cpu_ns(u.times, user_only))
            .ok_or(errno::EINVAL),
    }
}

fn now(clock: u64) -> Result<u64, Errno> {
    read_clock(clock_of(clock)?)
}

fn write_pair(ptr: u64, a: u64, b: u64) -> Result<(), Errno> {
    user::write_u64s(ptr, &[a, b])
}

fn read_timespec(ptr: u64) -> Result<u64, Errno> {
    let [sec, nsec] = user::read_u64s::<2>(ptr)?;
    let (sec, nsec) = (sec as i64, nsec as i64);
    if sec < 0 || !(0..NS as i64).contains(&nsec) {
        return Err(errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NS).saturating_add(nsec as u64))
}

pub fn clock_gettime(a: &[u64; 6]) -> SysResult {
    let t = now(a[0])?;
    write_pair(a[1], t / NS, t % NS)?;
    Ok(0)
}

/// Every clock ticks in nanoseconds: the TSC behind them all is read at each call (the
/// coarse clocks too, which on Linux have the timer tick's resolution).
pub fn clock_getres(a: &[u64; 6]) -> SysResult {
    clock_of(a[0])?;
    if a[1] != 0 {
        write_pair(a[1], 0, 1)?;
    }
    Ok(0)
}

pub fn gettimeofday(a: &[u64; 6]) -> SysResult {
    if a[0] != 0 {
        let t = time::realtime_ns();
        write_pair(a[0], t / NS, t % NS / 1000)?;
    }
    Ok(0)
}

pub fn time(a: &[u64; 6]) -> SysResult {
    let secs = time::realtime_ns() / NS;
    if a[0] != 0 {
        user::write_u64s(a[0], &[secs])?;
    }
    Ok(secs)
}

/// How often a sleep on the process's CPU clock looks at it: only other threads move it.
const CPU_CLOCK_POLL_NS: u64 = 1_000_000;

/// Sleeps until the deadline on `clock`'s timeline. Nothing can interrupt the sleep (signals
/// are not delivered), so the remaining time is always zero.
fn sleep(clock: u64, deadline_or_len: u64, absolute: bool) -> SysResult {
    let clock = clock_of(clock)?;
    let start = read_clock(clock)?;
    let target = if absolute {
        deadline_or_len
    } else {
        start.saturating_add(deadline_or_len)
    };
    match clock {
        Clock::Realtime | Clock::Monotonic => {
            time::sleep_until(time::monotonic_ns().saturating_add(target.saturating_sub(start)));
        }
        // Linux lets a thread sleep until the process has used this much CPU (the other
        // threads use it meanwhile); a thread's own clock cannot advance while it sleeps.
        Clock::Process { .. } => {
            crate::sched::block_until(
                None,
                |now| Some(now.saturating_add(CPU_CLOCK_POLL_NS)),
                || (read_clock(clock).unwrap_or(u64::MAX) >= target).then_some(()),
            );
        }
        Clock::Thread { .. } => return Err(errno::EINVAL),
    }
    Ok(0)
}

pub fn nanosleep(a: &[u64; 6]) -> SysResult {
    let len = read_timespec(a[0])?;
    sleep(CLOCK_MONOTONIC, len, false)
}

pub fn clock_nanosleep(a: &[u64; 6]) -> SysResult {
    if matches!(clock_of(a[0])?, Clock::Thread { .. }) {
        return Err(errno::EINVAL);
    }
    let t = read_timespec(a[2])?;
    sleep(a[0], t, a[1] & TIMER_ABSTIME != 0)
}

// ---- CPU-time accounting ----

const RUSAGE_SELF: i64 = 0;
const RUSAGE_CHILDREN: i64 = -1;
const RUSAGE_THREAD: i64 = 1;

/// getrusage(2): the process's or the calling thread's CPU time (user: program code; system:
/// the runtime's syscall handlers), its largest resident set, minor faults and context
/// switches. There are no children: `RUSAGE_CHILDREN` is all zeros.
pub fn getrusage(a: &[u64; 6]) -> SysResult {
    let usage = match a[0] as i64 {
        RUSAGE_SELF => Some(thread::process_usage()),
        RUSAGE_THREAD => thread::usage_of(thread::current_tid()),
        RUSAGE_CHILDREN => None,
        _ => return Err(errno::EINVAL),
    };
    // struct rusage: ru_utime, ru_stime (timevals), then 14 longs from ru_maxrss (KiB).
    let mut words = [0u64; 18];
    if let Some(u) = usage {
        words[0..2].copy_from_slice(&cputime::timeval(u.times.user_ns));
        words[2..4].copy_from_slice(&cputime::timeval(u.times.sys_ns));
        // Linux reports the process's maxrss for RUSAGE_THREAD too.
        words[4] = user::max_resident_bytes() / 1024;
        words[8] = u.times.minor_faults;
        words[16] = u.voluntary;
        words[17] = u.involuntary;
    }
    user::write_u64s(a[1], &words)?;
    Ok(0)
}

/// times(2): the process's CPU time in clock ticks (`_SC_CLK_TCK` = 100 per second), no
/// children; returns the uptime in ticks (Linux counts from a point before boot; only
/// differences between two calls mean anything).
pub fn times(a: &[u64; 6]) -> SysResult {
    let u = thread::process_usage().times;
    if a[0] != 0 {
        user::write_u64s(
            a[0],
            &[
                cputime::clock_ticks(u.user_ns),
                cputime::clock_ticks(u.sys_ns),
                0,
                0,
            ],
        )?;
    }
    Ok(cputime::clock_ticks(time::monotonic_ns()))
}
