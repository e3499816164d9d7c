//! The signal syscalls: actions, masks and pending sets, waiting for a signal (sigsuspend,
//! pause, sigtimedwait, signalfd), sending one (kill, tkill, tgkill, the sigqueueinfo pair),
//! the alternate stack, the timers that send signals (alarm, setitimer, timer_create and
//! friends), and restart_syscall. The rules are [`crate::signal`]'s; this is their C ABI.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use core::any::Any;
use spin::Mutex;

use super::fs::{desc, install, next_ino};
use crate::errno::{self, Errno, SysResult};
use crate::fd::{Events, File, OpenFile, Stat, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::mm::user::{self, read_u64s, write_u64s};
use crate::signal::deliver::{self, with_own};
use crate::signal::info::{SigInfo, SIGINFO_SIZE, SI_TKILL, SI_USER};
use crate::signal::restart::{ERESTARTNOHAND, ERESTART_RESTARTBLOCK};
use crate::signal::state::{is_unchangeable, Action, RestartBlock, Target, Threads};
use crate::signal::timers::{
    Notify, ITIMER_REAL, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID,
};
use crate::signal::{SigSet, SIGALRM, SIGPIPE};
use crate::time;

/// The one process: pid 1 (and its process group).
const PID: u64 = 1;
/// The only `sigsetsize` the kernel takes: 64 signals.
const SIGSET_SIZE: u64 = 8;
const NS: u64 = 1_000_000_000;

/// A signal number argument: 1..=64.
fn signal_arg(v: u64) -> Result<u32, Errno> {
    if crate::signal::valid(v) {
        Ok(v as u32)
    } else {
        Err(errno::EINVAL)
    }
}

/// A signal number that may be 0 (the existence check of kill and friends).
fn signal_or_zero(v: u64) -> Result<u32, Errno> {
    if v == 0 {
        Ok(0)
    } else {
        signal_arg(v)
    }
}

fn read_set(ptr: u64) -> Result<SigSet, Errno> {
    let [set] = read_u64s::<1>(ptr)?;
    Ok(SigSet(set))
}

// ---- actions, masks, pending ----

pub fn rt_sigaction(a: &[u64; 6]) -> SysResult {
    if a[3] != SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let sig = signal_arg(a[0])?;
    // Read before anything is written: the new and the old action may share memory.
    let new = if a[1] != 0 {
        Some(Action::from_words(read_u64s::<4>(a[1])?))
    } else {
        None
    };
    if new.is_some() && is_unchangeable(sig) {
        return Err(errno::EINVAL);
    }
    let old = with_own(|p, t, _| {
        let old = p.action(sig);
        if let Some(new) = new {
            p.set_action(t, sig, new);
        }
        old
    });
    if a[2] != 0 {
        write_u64s(a[2], &old.to_words())?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(a: &[u64; 6]) -> SysResult {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if a[3] != SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let set = if a[1] != 0 {
        Some(read_set(a[1])?)
    } else {
        None
    };
    let old = with_own(|_, t, _| t.own().blocked);
    if let Some(set) = set {
        let mask = match a[0] {
            SIG_BLOCK => old.union(set),
            SIG_UNBLOCK => old.minus(set),
            SIG_SETMASK => set,
            _ => return Err(errno::EINVAL),
        };
        deliver::set_mask(mask);
    }
    if a[2] != 0 {
        write_u64s(a[2], &[old.0])?;
    }
    Ok(0)
}

pub fn rt_sigpending(a: &[u64; 6]) -> SysResult {
    if a[1] > SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let set = with_own(|p, t, _| p.pending_blocked(t.own()));
    user::bytes_mut(a[0], a[1])?.copy_from_slice(&set.0.to_ne_bytes()[..a[1] as usize]);
    Ok(0)
}

// ---- waiting for a signal ----

/// Waits until a signal the thread does not block arrives; the call then fails with EINTR
/// once its handler has run (or is restarted if none ran).
fn wait_for_any_signal() -> SysResult {
    let _ = crate::sched::block_until(None, |_| None, || None::<()>);
    Err(ERESTARTNOHAND)
}

pub fn rt_sigsuspend(a: &[u64; 6]) -> SysResult {
    if a[1] != SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let mask = read_set(a[0])?;
    deliver::install_temporary_mask(mask);
    wait_for_any_signal()
}

pub fn pause(_: &[u64; 6]) -> SysResult {
    wait_for_any_signal()
}

fn write_info(ptr: u64, info: &SigInfo) -> Result<(), Errno> {
    if ptr != 0 {
        user::bytes_mut(ptr, SIGINFO_SIZE as u64)?.copy_from_slice(info.bytes());
    }
    Ok(())
}

fn read_timespec(ptr: u64) -> Result<u64, Errno> {
    let [sec, nsec] = read_u64s::<2>(ptr)?;
    if (sec as i64) < 0 || nsec >= NS {
        return Err(errno::EINVAL);
    }
    Ok(sec.saturating_mul(NS).saturating_add(nsec))
}

pub fn rt_sigtimedwait(a: &[u64; 6]) -> SysResult {
    if a[3] != SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let set = read_set(a[0])?.blockable();
    let timeout = if a[2] != 0 {
        Some(read_timespec(a[2])?)
    } else {
        None
    };
    if let Some(info) = deliver::take(set) {
        write_info(a[1], &info)?;
        return Ok(info.signo() as u64);
    }
    if timeout == Some(0) {
        return Err(errno::EAGAIN);
    }
    // While waiting, the signals waited for are unblocked, so a process-directed one picks
    // this thread; the mask comes back afterwards (Linux's real_blocked).
    with_own(|p, t, i| {
        let ts = t.own();
        ts.real_blocked = Some(ts.blocked);
        let mask = ts.blocked.minus(set);
        p.set_blocked(t, i, mask);
    });
    let deadline = timeout.map(|ns| time::monotonic_ns().saturating_add(ns));
    let r = crate::sched::block_until(deadline, |_| None, || deliver::take(set));
    with_own(|p, t, i| {
        if let Some(mask) = t.own().real_blocked.take() {
            p.set_blocked(t, i, mask);
        }
    });
    match r {
        Ok(Some(info)) => {
            write_info(a[1], &info)?;
            Ok(info.signo() as u64)
        }
        Ok(None) => Err(errno::EAGAIN),
        Err(_) => Err(errno::EINTR),
    }
}

// ---- sending ----

pub fn kill(a: &[u64; 6]) -> SysResult {
    // pid 1 is the program and 0 its process group; -1 means every process but the caller
    // (and init), of which there is none, and other groups do not exist.
    match a[0] as i64 as i32 {
        1 | 0 => {}
        _ => return Err(errno::ESRCH),
    }
    let sig = signal_or_zero(a[1])?;
    if sig == 0 {
        return Ok(0);
    }
    deliver::send(
        Target::Process,
        SigInfo::from_sender(sig, SI_USER, PID as u32, 0),
    )?;
    Ok(0)
}

fn thread_arg(v: u64) -> Result<u64, Errno> {
    let tid = v as i64 as i32;
    if tid <= 0 {
        return Err(errno::EINVAL);
    }
    if !crate::sched::thread::exists(tid as u64) {
        return Err(errno::ESRCH);
    }
    Ok(tid as u64)
}

pub fn tkill(a: &[u64; 6]) -> SysResult {
    let tid = thread_arg(a[0])?;
    let sig = signal_or_zero(a[1])?;
    if sig == 0 {
        return Ok(0);
    }
    deliver::send_to_thread(tid, SigInfo::from_sender(sig, SI_TKILL, PID as u32, 0))?;
    Ok(0)
}

pub fn tgkill(a: &[u64; 6]) -> SysResult {
    if a[0] as i64 as i32 <= 0 || a[1] as i64 as i32 <= 0 {
        return Err(errno::EINVAL);
    }
    if a[0] != PID {
        return Err(errno::ESRCH);
    }
    tkill(&[a[1], a[2], 0, 0, 0, 0])
}

fn read_siginfo(ptr: u64, sig: u32) -> Result<SigInfo, Errno> {
    let raw = user::bytes(ptr, SIGINFO_SIZE as u64)?;
    let mut bytes = [0u8; SIGINFO_SIZE];
    bytes.copy_from_slice(raw);
    Ok(SigInfo::from_program(sig, &bytes))
}

pub fn rt_sigqueueinfo(a: &[u64; 6]) -> SysResult {
    let sig = a[1];
    let info = read_siginfo(a[2], sig as u32)?;
    if a[0] != PID {
        return Err(errno::ESRCH);
    }
    let sig = signal_or_zero(sig)?;
    if sig == 0 {
        return Ok(0);
    }
    deliver::send(Target::Process, info)?;
    Ok(0)
}

pub fn rt_tgsigqueueinfo(a: &[u64; 6]) -> SysResult {
    if a[0] as i64 as i32 <= 0 || a[1] as i64 as i32 <= 0 {
        return Err(errno::EINVAL);
    }
    let info = read_siginfo(a[3], a[2] as u32)?;
    if a[0] != PID {
        return Err(errno::ESRCH);
    }
    let tid = thread_arg(a[1])?;
    // Only the thread itself may claim to be the kernel or kill/tgkill (Linux's rule).
    let code = info.code();
    if (code >= 0 || code == SI_TKILL) && tid != crate::sched::thread::current_tid() {
        return Err(errno::EPERM);
    }
    let sig = signal_or_zero(a[2])?;
    if sig == 0 {
        return Ok(0);
    }
    deliver::send_to_thread(tid, info)?;
    Ok(0)
}

/// SIGPIPE for a write to a pipe or socket nobody reads (the write fails with EPIPE; the
/// signal's default action ends the program with status 141, as on Linux; a handler runs
/// before the write returns; ignored, only the EPIPE remains). Like Linux's
/// `send_sig(SIGPIPE, current, 0)` it is the writing thread's (a thread that blocks it keeps
/// it pending, another thread does not take it), from the process itself (`SI_USER`).
pub fn raise_sigpipe() {
    let own = with_own(|_, _, i| i);
    let _ = deliver::send(
        Target::Thread(own),
        SigInfo::from_sender(SIGPIPE, SI_USER, PID as u32, 0),
    );
}

// ---- the alternate stack ----

pub fn sigaltstack(a: &[u64; 6]) -> SysResult {
    let rsp = super::caller_rsp();
    let new = if a[0] != 0 {
        Some(read_u64s::<3>(a[0])?)
    } else {
        None
    };
    let old = with_own(|_, t, _| t.own().altstack);
    if let Some([sp, flags, size]) = new {
        with_own(|_, t, _| t.own().altstack.set(sp, flags as u32, size, rsp))?;
    }
    if a[1] != 0 {
        write_u64s(a[1], &[old.sp, old.ss_flags(rsp) as u64, old.size])?;
    }
    Ok(0)
}

// ---- restarting ----

/// restart_syscall: continues the call a signal interrupted, with the time it had left.
pub fn restart_syscall(_: &[u64; 6]) -> SysResult {
    match with_own(|_, t, _| t.own().restart.take()) {
        None => Err(errno::EINTR),
        Some(RestartBlock::Sleep { deadline, rmtp }) => super::time::sleep_to(deadline, rmtp),
        Some(RestartBlock::Futex {
            uaddr,
            val,
            bitset,
            deadline,
        }) => super::process::futex_wait(uaddr, val, bitset, Some(deadline)),
        Some(RestartBlock::Poll {
            fds,
            nfds,
            deadline,
        }) => super::poll::poll_until(fds, nfds, deadline),
    }
}

/// Records how to continue an interrupted call and says so: `ERESTART_RESTARTBLOCK`.
pub fn interrupted_with(block: RestartBlock) -> Errno {
    with_own(|_, t, _| t.own().restart = Some(block));
    ERESTART_RESTARTBLOCK
}

// ---- signalfd ----

/// A descriptor that reads the signals of its mask that are pending for the reading thread
/// (usually blocked, so they wait there instead of being delivered).
#[derive(Debug)]
pub struct SignalFd {
    mask: Mutex<SigSet>,
    ino: u64,
}

impl File for SignalFd {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < SIGINFO_SIZE {
            return Err(errno::EINVAL);
        }
        let mask = *self.mask.lock();
        let mut n = 0;
        for slot in buf.chunks_exact_mut(SIGINFO_SIZE) {
            let Some(info) = deliver::take(mask) else {
                break;
            };
            slot.copy_from_slice(&info.to_signalfd());
            n += SIGINFO_SIZE;
        }
        if n == 0 {
            Err(errno::EAGAIN)
        } else {
            Ok(n)
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(0, self.ino))
    }

    fn poll(&self) -> Events {
        let mask = *self.mask.lock();
        let pending = with_own(|p, t, _| t.own().pending.set().union(p.shared.set()));
        if pending.and(mask).is_empty() {
            Events::NONE
        } else {
            Events::IN
        }
    }

    fn activity(&self) -> u64 {
        deliver::sent_count()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub fn signalfd4(a: &[u64; 6]) -> SysResult {
    let flags = a[3] as u32;
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 || a[2] != SIGSET_SIZE {
        return Err(errno::EINVAL);
    }
    let mask = read_set(a[1])?.blockable();
    if a[0] as i64 as i32 == -1 {
        let file = SignalFd {
            mask: Mutex::new(mask),
            ino: next_ino(),
        };
        return install(Arc::new(file), O_RDWR | flags);
    }
    let d = desc(a[0])?;
    let sfd = d
        .file
        .as_any()
        .downcast_ref::<SignalFd>()
        .ok_or(errno::EINVAL)?;
    *sfd.mask.lock() = mask;
    Ok(a[0])
}

pub fn signalfd(a: &[u64; 6]) -> SysResult {
    signalfd4(&[a[0], a[1], a[2], 0, 0, 0])
}

// ---- interval timers ----

fn read_timeval_pair(ptr: u64) -> Result<(u64, u64), Errno> {
    let [isec, iusec, vsec, vusec] = read_u64s::<4>(ptr)?;
    let ns = |sec: u64, usec: u64| {
        if (sec as i64) < 0 || usec >= 1_000_000 {
            Err(errno::EINVAL)
        } else {
            Ok(sec.saturating_mul(NS).saturating_add(usec * 1000))
        }
    };
    Ok((ns(isec, iusec)?, ns(vsec, vusec)?))
}

/// `struct itimerval` from (interval, remaining) ns; an armed timer never shows 0 left.
fn write_timeval_pair(ptr: u64, interval: u64, remaining: u64, armed: bool) -> Result<(), Errno> {
    let remaining = if armed && remaining < 1000 {
        1000
    } else {
        remaining
    };
    let us = |ns: u64| [ns / NS, ns % NS / 1000];
    let [a, b] = us(interval);
    let [c, d] = us(remaining);
    write_u64s(ptr, &[a, b, c, d])
}

fn itimer_arg(which: u64) -> Result<usize, Errno> {
    match which {
        0..=2 => Ok(which as usize),
        _ => Err(errno::EINVAL),
    }
}

/// Arms interval timer `which`; returns the old (interval, remaining).
fn set_itimer(which: usize, value: u64, interval: u64) -> (u64, u64) {
    let now = time::monotonic_ns();
    // A disarmed timer has no interval either, as on Linux.
    let interval = if value == 0 { 0 } else { interval };
    let old = with_own(|p, _, _| p.timers.set_itimer(which, now, value, interval));
    deliver::timers_changed();
    old
}

pub fn setitimer(a: &[u64; 6]) -> SysResult {
    let which = itimer_arg(a[0])?;
    // A NULL new value disarms (Linux accepts it).
    let (interval, value) = if a[1] != 0 {
        read_timeval_pair(a[1])?
    } else {
        (0, 0)
    };
    if a[2] != 0 {
        user::bytes_mut(a[2], 32)?;
    }
    let (old_interval, old_left) = set_itimer(which, value, interval);
    if a[2] != 0 {
        write_timeval_pair(a[2], old_interval, old_left, old_left > 0)?;
    }
    Ok(0)
}

pub fn getitimer(a: &[u64; 6]) -> SysResult {
    let which = itimer_arg(a[0])?;
    let now = time::monotonic_ns();
    let (interval, left) = with_own(|p, _, _| p.timers.get_itimer(which, now));
    write_timeval_pair(a[1], interval, left, left > 0)?;
    Ok(0)
}

/// alarm(2): SIGALRM in `seconds` (0 cancels); the seconds the previous alarm had left,
/// rounded as Linux does.
pub fn alarm(a: &[u64; 6]) -> SysResult {
    let secs = a[0] & 0xffff_ffff;
    let (_, left) = set_itimer(ITIMER_REAL, secs.saturating_mul(NS), 0);
    let (s, us) = (left / NS, left % NS / 1000);
    Ok(if (s == 0 && us > 0) || us >= 500_000 {
        s + 1
    } else {
        s
    })
}

// ---- POSIX timers ----

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CLOCK_TAI: i32 = 11;
const TIMER_ABSTIME: u64 = 1;

pub fn timer_create(a: &[u64; 6]) -> SysResult {
    let realtime = match a[0] as i64 as i32 {
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI => true,
        CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => false,
        // The CPU-time clocks run on the VM's uptime (one program on one vCPU).
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => false,
        // MONOTONIC_RAW and the coarse clocks have no timers on Linux either.
        4..=6 => return Err(errno::EOPNOTSUPP),
        _ => return Err(errno::EINVAL),
    };
    let (notify, signo, value) = if a[1] == 0 {
        (Notify::Process, SIGALRM, None)
    } else {
        // struct sigevent: sigev_value, sigev_signo, sigev_notify, sigev_notify_thread_id.
        let raw = user::bytes(a[1], 20)?;
        let value = u64::from_ne_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
        let int = |at: usize| i32::from_ne_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let (signo, how, tid) = (int(8), int(12), int(16));
        let signo_ok = || signal_arg(signo as i64 as u64);
        let notify = match how {
            SIGEV_NONE => Notify::None,
            // SIGEV_THREAD is the C library's (musl makes a thread and asks for
            // SIGEV_THREAD_ID); the kernel treats it as SIGEV_SIGNAL, as Linux does.
            SIGEV_SIGNAL | SIGEV_THREAD => {
                signo_ok()?;
                Notify::Process
            }
            SIGEV_THREAD_ID => {
                signo_ok()?;
                if tid <= 0 || !crate::sched::thread::exists(tid as u64) {
                    return Err(errno::EINVAL);
                }
                Notify::Thread(tid as u64)
            }
            _ => return Err(errno::EINVAL),
        };
        let signo = if notify == Notify::None {
            0
        } else {
            signo as u32
        };
        (notify, signo, Some(value))
    };
    user::bytes_mut(a[2], 4)?;
    let id = with_own(|p, _, _| {
        let id = p
            .timers
            .create(notify, signo, value.unwrap_or(0), realtime)?;
        if value.is_none() {
            // No sigevent: sigev_value is the timer's id.
            p.timers.set_value(id, id as u64)?;
        }
        Ok::<i32, Errno>(id)
    })?;
    user::write_u32(a[2], id as u32)?;
    Ok(0)
}

fn timer_arg(v: u64) -> i32 {
    v as i64 as i32
}

fn read_itimerspec(ptr: u64) -> Result<(u64, u64), Errno> {
    let [isec, insec, vsec, vnsec] = read_u64s::<4>(ptr)?;
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
    write_u64s(ptr, &[interval / NS, interval % NS, value / NS, value % NS])
}

pub fn timer_settime(a: &[u64; 6]) -> SysResult {
    let id = timer_arg(a[0]);
    if a[1] & !TIMER_ABSTIME != 0 {
        return Err(errno::EINVAL);
    }
    let (interval, value) = read_itimerspec(a[2])?;
    if a[3] != 0 {
        user::bytes_mut(a[3], 32)?;
    }
    let now = time::monotonic_ns();
    let old = with_own(|p, _, _| {
        let realtime = p.timers.realtime(id)?;
        let first = if value == 0 {
            None
        } else if a[1] & TIMER_ABSTIME != 0 {
            // An absolute time on the timer's clock, moved onto the monotonic clock.
            Some(if realtime {
                now.saturating_add(value.saturating_sub(time::realtime_ns()))
            } else {
                value
            })
        } else {
            Some(now.saturating_add(value))
        };
        p.timers.settime(id, now, first, interval)
    })?;
    deliver::timers_changed();
    if a[3] != 0 {
        write_itimerspec(a[3], old.0, old.1)?;
    }
    Ok(0)
}

pub fn timer_gettime(a: &[u64; 6]) -> SysResult {
    let id = timer_arg(a[0]);
    let now = time::monotonic_ns();
    let (interval, left) = with_own(|p, _, _| p.timers.gettime(id, now))?;
    write_itimerspec(a[1], interval, left)?;
    Ok(0)
}

pub fn timer_getoverrun(a: &[u64; 6]) -> SysResult {
    let id = timer_arg(a[0]);
    with_own(|p, _, _| p.timers.getoverrun(id)).map(u64::from)
}

pub fn timer_delete(a: &[u64; 6]) -> SysResult {
    let id = timer_arg(a[0]);
    with_own(|p, t, _| {
        p.timers.delete(id)?;
        // Its signal, if still pending, goes with it.
        let mine = |i: &SigInfo| i.code() == crate::signal::info::SI_TIMER && i.timer_id() == id;
        p.shared.remove_where(mine);
        for k in 0..t.count() {
            t.signals(k).pending.remove_where(mine);
        }
        Ok::<(), Errno>(())
    })?;
    deliver::timers_changed();
    Ok(0)
}
