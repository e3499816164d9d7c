//! Clocks and sleeping.
#![forbid(unsafe_code)]

use crate::errno::{self, Errno, SysResult};
use crate::mm::user;
use crate::time;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const TIMER_ABSTIME: u64 = 1;
const NS: u64 = 1_000_000_000;

fn now(clock: u64) -> Result<u64, Errno> {
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Ok(time::realtime_ns()),
        // One program on one vCPU: the VM's uptime is its CPU time, as near as we can tell.
        CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_PROCESS_CPUTIME_ID
        | CLOCK_THREAD_CPUTIME_ID => Ok(time::monotonic_ns()),
        _ => Err(errno::EINVAL),
    }
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

pub fn clock_getres(a: &[u64; 6]) -> SysResult {
    now(a[0])?;
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

/// Sleeps until the deadline on `clock`'s timeline. A signal ends it early: a relative sleep
/// then writes the time left to `rmtp` (if not NULL) and fails with EINTR once a handler ran
/// (SA_RESTART does not matter) or continues for the time left when none ran; an absolute
/// one fails with EINTR or restarts with the same deadline.
fn sleep(clock: u64, deadline_or_len: u64, absolute: bool, rmtp: u64) -> SysResult {
    let start = now(clock)?;
    let len = if absolute {
        deadline_or_len.saturating_sub(start)
    } else {
        deadline_or_len
    };
    let deadline = time::monotonic_ns().saturating_add(len);
    if absolute {
        return match time::sleep_until(deadline) {
            Ok(()) => Ok(0),
            Err(_) => Err(crate::signal::restart::ERESTARTNOHAND),
        };
    }
    sleep_to(deadline, rmtp)
}

/// A relative sleep to `deadline` (monotonic ns), also how restart_syscall continues one.
pub fn sleep_to(deadline: u64, rmtp: u64) -> SysResult {
    match time::sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(_) => {
            if rmtp != 0 {
                let left = deadline.saturating_sub(time::monotonic_ns());
                write_pair(rmtp, left / NS, left % NS)?;
            }
            Err(super::signal::interrupted_with(
                crate::signal::state::RestartBlock::Sleep { deadline, rmtp },
            ))
        }
    }
}

pub fn nanosleep(a: &[u64; 6]) -> SysResult {
    let len = read_timespec(a[0])?;
    sleep(CLOCK_MONOTONIC, len, false, a[1])
}

pub fn clock_nanosleep(a: &[u64; 6]) -> SysResult {
    if a[0] == CLOCK_THREAD_CPUTIME_ID {
        return Err(errno::EINVAL);
    }
    let t = read_timespec(a[2])?;
    sleep(a[0], t, a[1] & TIMER_ABSTIME != 0, a[3])
}
