//! Readiness: poll/ppoll, select/pselect6, and epoll, over [`crate::fd`]'s `File::poll`.
//! Waiting goes through [`crate::sched::block_until`], so a blocked call halts the CPU until
//! an interrupt or its timeout. A signal ends every one of these waits with EINTR once its
//! handler ran, whatever SA_RESTART says (Linux's rule); the `p` forms install their signal
//! mask for the wait.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::fs::{desc, install, next_ino, wake_for};
use crate::errno::{self, Errno, SysResult};
use crate::fd::epoll::{Epoll, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD};
use crate::fd::{Events, OpenFile, O_CLOEXEC, O_RDWR};
use crate::mm::user::{self, bytes as user_bytes, bytes_mut as user_bytes_mut};
use crate::time;

const NS: u64 = 1_000_000_000;

/// A deadline from a relative timeout in ns (`None`: wait forever).
fn deadline_after(ns: Option<u64>) -> Option<u64> {
    ns.map(|ns| time::monotonic_ns().saturating_add(ns))
}

/// A `struct timespec` timeout (NULL: forever).
fn timespec_timeout(ptr: u64) -> Result<Option<u64>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let [sec, nsec] = user::read_u64s::<2>(ptr)?;
    if (sec as i64) < 0 || nsec >= NS {
        return Err(errno::EINVAL);
    }
    Ok(Some(sec.saturating_mul(NS).saturating_add(nsec)))
}

/// The earliest time any of `descs` needs a look without an interrupt.
fn earliest_wake(descs: &[Option<Arc<OpenFile>>], now: u64) -> Option<u64> {
    descs
        .iter()
        .flatten()
        .filter_map(|d| wake_for(&*d.file, now))
        .min()
}

/// Waits until `check` finds something (returns it) or the timeout passes (returns
/// `empty`); `Err` when a signal ended the wait. A zero timeout checks once.
fn wait<T>(
    timeout_ns: Option<u64>,
    wake_at: impl Fn(u64) -> Option<u64>,
    empty: T,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, crate::sched::Interrupted> {
    if timeout_ns == Some(0) {
        crate::sched::poll_sources();
        return Ok(check().unwrap_or(empty));
    }
    Ok(crate::sched::block_until(deadline_after(timeout_ns), wake_at, check)?.unwrap_or(empty))
}

/// Runs `call` with the signal mask at `mask_ptr` (`size` bytes) installed, if given (the
/// ppoll, pselect6 and epoll_pwait argument); the old mask comes back at the end, or after
/// the handler when a signal interrupted the call.
fn with_sigmask(mask_ptr: u64, size: u64, call: impl FnOnce() -> SysResult) -> SysResult {
    if mask_ptr == 0 {
        return call();
    }
    if size != 8 {
        return Err(errno::EINVAL);
    }
    let [mask] = user::read_u64s::<1>(mask_ptr)?;
    crate::signal::deliver::install_temporary_mask(crate::signal::SigSet(mask));
    let r = call();
    crate::signal::deliver::end_temporary_mask(&r);
    r
}

// ---- poll ----

/// How a poll interrupted by a signal ends when no handler runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PollRestart {
    /// poll: with the time left (restart_syscall).
    TimeLeft,
    /// ppoll: the same call again.
    Again,
}

fn do_poll(fds_ptr: u64, nfds: u64, timeout_ns: Option<u64>, restart: PollRestart) -> SysResult {
    const POLLNVAL: i16 = 0x20;
    if nfds > crate::fd::table::MAX_FDS as u64 {
        return Err(errno::EINVAL);
    }
    // struct pollfd { int fd; short events; short revents; }
    let raw = user_bytes_mut(fds_ptr, nfds * 8)?;
    let entries: Vec<(i32, i16)> = raw
        .chunks_exact(8)
        .map(|p| {
            (
                i32::from_ne_bytes([p[0], p[1], p[2], p[3]]),
                i16::from_ne_bytes([p[4], p[5]]),
            )
        })
        .collect();
    let descs: Vec<Option<Arc<OpenFile>>> = entries
        .iter()
        .map(|&(fd, _)| if fd < 0 { None } else { desc(fd as u64).ok() })
        .collect();
    let revents = |report_all: bool| -> Option<Vec<i16>> {
        let mut out = Vec::with_capacity(entries.len());
        let mut ready = 0;
        for (&(fd, events), d) in entries.iter().zip(&descs) {
            let r = match d {
                _ if fd < 0 => 0,
                None => POLLNVAL,
                Some(d) => {
                    let wanted = Events(events as u16 as u32) | Events::ERR | Events::HUP;
                    d.file.poll().and(wanted).0 as i16
                }
            };
            if r != 0 {
                ready += 1;
            }
            out.push(r);
        }
        (ready > 0 || report_all).then_some(out)
    };
    let wake = |now| earliest_wake(&descs, now);
    let deadline = deadline_after(timeout_ns);
    let Ok(result) = wait(timeout_ns, wake, None, || revents(false).map(Some)) else {
        return Err(match (restart, deadline) {
            (PollRestart::TimeLeft, Some(deadline)) => {
                super::signal::interrupted_with(crate::signal::state::RestartBlock::Poll {
                    fds: fds_ptr,
                    nfds,
                    deadline,
                })
            }
            _ => crate::signal::restart::ERESTARTNOHAND,
        });
    };
    let result = result.or_else(|| revents(true)).unwrap_or_default();
    let mut count = 0;
    for (slot, r) in raw.chunks_exact_mut(8).zip(&result) {
        slot[6..8].copy_from_slice(&r.to_ne_bytes());
        if *r != 0 {
            count += 1;
        }
    }
    Ok(count)
}

pub fn poll(a: &[u64; 6]) -> SysResult {
    let ms = a[2] as i32;
    let timeout = if ms < 0 {
        None
    } else {
        Some(ms as u64 * 1_000_000)
    };
    do_poll(a[0], a[1], timeout, PollRestart::TimeLeft)
}

/// poll continued by restart_syscall after a signal no handler took: to `deadline`.
pub fn poll_until(fds: u64, nfds: u64, deadline: u64) -> SysResult {
    let left = deadline.saturating_sub(time::monotonic_ns());
    do_poll(fds, nfds, Some(left), PollRestart::TimeLeft)
}

pub fn ppoll(a: &[u64; 6]) -> SysResult {
    let timeout = timespec_timeout(a[2])?;
    with_sigmask(a[3], a[4], || {
        do_poll(a[0], a[1], timeout, PollRestart::Again)
    })
}

// ---- select ----

const FD_SETSIZE: u64 = 1024;

fn read_set(ptr: u64, nfds: u64) -> Result<Option<Vec<u64>>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let words = nfds.div_ceil(64);
    Ok(Some(user::read_u64s_vec(ptr, words as usize)?))
}

fn do_select(nfds: u64, sets: [u64; 3], timeout_ns: Option<u64>) -> SysResult {
    if nfds > FD_SETSIZE {
        return Err(errno::EINVAL);
    }
    let inputs = [
        read_set(sets[0], nfds)?,
        read_set(sets[1], nfds)?,
        read_set(sets[2], nfds)?,
    ];
    let wanted_of = [
        Events::IN | Events::HUP | Events::ERR,
        Events::OUT | Events::ERR,
        Events::PRI,
    ];
    let mut descs: Vec<Option<Arc<OpenFile>>> = Vec::new();
    for fd in 0..nfds {
        let (w, b) = ((fd / 64) as usize, fd % 64);
        let asked = inputs
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s[w] & (1 << b) != 0));
        descs.push(if asked {
            Some(desc(fd).map_err(|_| errno::EBADF)?)
        } else {
            None
        });
    }
    let check = || -> Option<([Vec<u64>; 3], u64)> {
        let mut out = [
            alloc::vec![0u64; nfds.div_ceil(64) as usize],
            alloc::vec![0u64; nfds.div_ceil(64) as usize],
            alloc::vec![0u64; nfds.div_ceil(64) as usize],
        ];
        let mut count = 0;
        for (fd, d) in descs.iter().enumerate() {
            let Some(d) = d else { continue };
            let level = d.file.poll();
            let (w, b) = (fd / 64, fd % 64);
            for k in 0..3 {
                if inputs[k].as_ref().is_some_and(|s| s[w] & (1 << b) != 0)
                    && level.intersects(wanted_of[k])
                {
                    out[k][w] |= 1 << b;
                    count += 1;
                }
            }
        }
        (count > 0).then_some((out, count))
    };
    let wake = |now| earliest_wake(&descs, now);
    let empty = || {
        let zero = alloc::vec![0u64; nfds.div_ceil(64) as usize];
        ([zero.clone(), zero.clone(), zero], 0)
    };
    let (out, count) = wait(timeout_ns, wake, empty(), check)
        .map_err(|_| crate::signal::restart::ERESTARTNOHAND)?;
    for k in 0..3 {
        if sets[k] != 0 {
            user::write_u64s(sets[k], &out[k])?;
        }
    }
    Ok(count)
}

pub fn select(a: &[u64; 6]) -> SysResult {
    let timeout = if a[4] == 0 {
        None
    } else {
        let [sec, usec] = user::read_u64s::<2>(a[4])?;
        if (sec as i64) < 0 || (usec as i64) < 0 {
            return Err(errno::EINVAL);
        }
        Some(
            sec.saturating_mul(NS)
                .saturating_add(usec.saturating_mul(1000)),
        )
    };
    let r = do_select(a[0], [a[1], a[2], a[3]], timeout);
    if a[4] != 0 {
        // Linux writes back the time left; nothing interrupts a wait, so it ran out or the
        // call returned early with time to spare: report zero, which callers accept.
        user::write_u64s(a[4], &[0, 0])?;
    }
    r
}

pub fn pselect6(a: &[u64; 6]) -> SysResult {
    let timeout = timespec_timeout(a[4])?;
    // The sixth argument: { const sigset_t *ss; size_t ss_len; }.
    let (mask, len) = if a[5] != 0 {
        let [mask, len] = user::read_u64s::<2>(a[5])?;
        (mask, len)
    } else {
        (0, 0)
    };
    with_sigmask(mask, len, || do_select(a[0], [a[1], a[2], a[3]], timeout))
}

// ---- epoll ----

/// The epoll instance `fd` names; EINVAL if it is something else.
fn epoll_of(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let d = desc(fd)?;
    if d.file.as_any().downcast_ref::<Epoll>().is_none() {
        return Err(errno::EINVAL);
    }
    Ok(d)
}

pub fn epoll_create1(a: &[u64; 6]) -> SysResult {
    let flags = a[0] as u32;
    if flags & !O_CLOEXEC != 0 {
        return Err(errno::EINVAL);
    }
    install(Arc::new(Epoll::new(next_ino())), O_RDWR | flags)
}

pub fn epoll_create(a: &[u64; 6]) -> SysResult {
    if a[0] as i32 <= 0 {
        return Err(errno::EINVAL);
    }
    epoll_create1(&[0; 6])
}

pub fn epoll_ctl(a: &[u64; 6]) -> SysResult {
    let this = epoll_of(a[0])?;
    let epoll = this
        .file
        .as_any()
        .downcast_ref::<Epoll>()
        .ok_or(errno::EINVAL)?;
    let target = desc(a[2])?;
    let op = a[1] as u32;
    // struct epoll_event { uint32_t events; uint64_t data; } __attribute__((packed))
    let (events, data) = if op == EPOLL_CTL_DEL {
        (0, 0)
    } else if op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD {
        let raw = user_bytes(a[3], 12)?;
        let events = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let data = u64::from_ne_bytes(raw[4..12].try_into().unwrap_or([0; 8]));
        (events, data)
    } else {
        return Err(errno::EINVAL);
    };
    epoll.ctl(&this, op, a[2] as i32, &target, events, data)?;
    Ok(0)
}

fn do_epoll_wait(epfd: u64, events_ptr: u64, max: u64, timeout_ns: Option<u64>) -> SysResult {
    let max = max as i32;
    if max <= 0 || max as u64 > (i32::MAX as u64) / 12 {
        return Err(errno::EINVAL);
    }
    let out = user_bytes_mut(events_ptr, max as u64 * 12)?;
    let this = epoll_of(epfd)?;
    let epoll = this
        .file
        .as_any()
        .downcast_ref::<Epoll>()
        .ok_or(errno::EINVAL)?;
    let wake = |now| epoll.earliest(|f| wake_for(f, now));
    // epoll_wait is never restarted: EINTR even when no handler ran (Linux's ep_poll).
    let ready = wait(timeout_ns, wake, Vec::new(), || {
        let r = epoll.collect(max as usize);
        (!r.is_empty()).then_some(r)
    })
    .map_err(|_| errno::EINTR)?;
    for (slot, r) in out.chunks_exact_mut(12).zip(&ready) {
        slot[..4].copy_from_slice(&r.events.to_ne_bytes());
        slot[4..].copy_from_slice(&r.data.to_ne_bytes());
    }
    Ok(ready.len() as u64)
}

pub fn epoll_wait(a: &[u64; 6]) -> SysResult {
    let ms = a[3] as i32;
    do_epoll_wait(
        a[0],
        a[1],
        a[2],
        if ms < 0 {
            None
        } else {
            Some(ms as u64 * 1_000_000)
        },
    )
}

pub fn epoll_pwait(a: &[u64; 6]) -> SysResult {
    with_sigmask(a[4], a[5], || epoll_wait(a))
}

pub fn epoll_pwait2(a: &[u64; 6]) -> SysResult {
    let timeout = timespec_timeout(a[3])?;
    with_sigmask(a[4], a[5], || do_epoll_wait(a[0], a[1], a[2], timeout))
}
