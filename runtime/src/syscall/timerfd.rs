//! timerfd: timers as file descriptors (timerfd_create, timerfd_settime, timerfd_gettime),
//! which event loops wait on with poll or epoll. The arithmetic is [`crate::fd::timer`].
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use core::any::Any;
use spin::Mutex;

use super::fs::{desc, install, next_ino};
use crate::errno::{self, Errno, SysResult};
use crate::fd::timer::TimerState;
use crate::fd::{Events, File, OpenFile, Stat, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::mm::user;
use crate::time;

const NS: u64 = 1_000_000_000;
const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_BOOTTIME: u64 = 7;
const TFD_TIMER_ABSTIME: u64 = 1;

#[derive(Debug)]
pub struct TimerFd {
    state: Mutex<(TimerState, u64)>, // (timer, activity)
    realtime: bool,
    ino: u64,
}

impl File for TimerFd {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(errno::EINVAL);
        }
        let mut s = self.state.lock();
        let n = s.0.take(time::monotonic_ns());
        if n == 0 {
            return Err(errno::EAGAIN);
        }
        s.1 += 1;
        buf[..8].copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(0, self.ino))
    }

    fn poll(&self) -> Events {
        if self.state.lock().0.ready(time::monotonic_ns()) {
            Events::IN
        } else {
            Events::NONE
        }
    }

    fn activity(&self) -> u64 {
        // Each expiry is new readiness for edge-triggered epoll.
        let mut s = self.state.lock();
        s.0.advance(time::monotonic_ns());
        s.1 + s.0.pending
    }

    fn next_event_ns(&self) -> Option<u64> {
        let s = self.state.lock();
        if s.0.pending > 0 {
            return None; // already readable
        }
        s.0.next
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub fn timerfd_create(a: &[u64; 6]) -> SysResult {
    let realtime = match a[0] {
        CLOCK_REALTIME => true,
        CLOCK_MONOTONIC | CLOCK_BOOTTIME => false,
        _ => return Err(errno::EINVAL),
    };
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(errno::EINVAL);
    }
    let t = TimerFd {
        state: Mutex::new((TimerState::default(), 0)),
        realtime,
        ino: next_ino(),
    };
    install(Arc::new(t), O_RDWR | flags)
}

fn timer_of(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let d = desc(fd)?;
    if d.file.as_any().downcast_ref::<TimerFd>().is_none() {
        return Err(errno::EINVAL);
    }
    Ok(d)
}

/// `struct itimerspec { timespec it_interval; timespec it_value; }` as ns.
fn read_itimerspec(ptr: u64) -> Result<(u64, u64), Errno> {
    let [isec, insec, vsec, vnsec] = user::read_u64s::<4>(ptr)?;
    let ns = |sec: u64, nsec: u64| {
        if (sec as i64) < 0 || nsec >= NS {
            Err(errno::EINVAL)
        } else {
            Ok(sec.saturating_mul(NS).saturating_add(nsec))
        }
    };
    Ok((ns(isec, insec)?, ns(vsec, vnsec)?))
}

fn write_itimerspec(ptr: u64, interval: u64, value: u64) -> Result<(), Errno> {
    user::write_u64s(ptr, &[interval / NS, interval % NS, value / NS, value % NS])
}

pub fn timerfd_settime(a: &[u64; 6]) -> SysResult {
    let d = timer_of(a[0])?;
    let t = d
        .file
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(errno::EINVAL)?;
    if a[1] & !(TFD_TIMER_ABSTIME | 2/* TFD_TIMER_CANCEL_ON_SET */) != 0 {
        return Err(errno::EINVAL);
    }
    let (interval, value) = read_itimerspec(a[2])?;
    let now = time::monotonic_ns();
    let mut s = t.state.lock();
    if a[3] != 0 {
        write_itimerspec(a[3], s.0.interval, s.0.remaining(now))?;
    }
    let first = if value == 0 {
        None
    } else if a[1] & TFD_TIMER_ABSTIME != 0 {
        // An absolute time on the timer's clock, moved onto the monotonic clock.
        Some(if t.realtime {
            now.saturating_add(value.saturating_sub(time::realtime_ns()))
        } else {
            value
        })
    } else {
        Some(now.saturating_add(value))
    };
    s.0.set(first, interval);
    s.1 += 1;
    Ok(0)
}

pub fn timerfd_gettime(a: &[u64; 6]) -> SysResult {
    let d = timer_of(a[0])?;
    let t = d
        .file
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(errno::EINVAL)?;
    let mut s = t.state.lock();
    let now = time::monotonic_ns();
    s.0.advance(now);
    write_itimerspec(a[1], s.0.interval, s.0.remaining(now))?;
    Ok(0)
}
