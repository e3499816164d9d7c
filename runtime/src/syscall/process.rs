//! The process: exit, identity, limits, signals (recorded, not delivered), futexes for one
//! thread, scheduling queries, TLS (arch_prctl) and entropy.
#![forbid(unsafe_code)]

use spin::Mutex;
use x86_64::registers::model_specific::{FsBase, GsBase};
use x86_64::VirtAddr;

use crate::errno::{self, Errno, SysResult};
use crate::mm::user::{self, read_u64s, write_u64s};

/// The one process: pid 1; its main thread is tid 1.
pub const PID: u64 = 1;

fn out<'a>(ptr: u64, len: usize) -> Result<&'a mut [u8], Errno> {
    user::bytes_mut(ptr, len as u64)
}

fn input<'a>(ptr: u64, len: usize) -> Result<&'a [u8], Errno> {
    user::bytes(ptr, len as u64)
}

/// exit_group: the program is done; what it wrote to the network is delivered first
/// (`net::linger_at_exit`).
pub fn exit_group(a: &[u64; 6]) -> SysResult {
    crate::net::linger_at_exit();
    crate::drivers::exit::exit_vm((a[0] & 0xff) as i32)
}

/// exit: this thread is done; the last one to go ends the VM.
pub fn exit(a: &[u64; 6]) -> SysResult {
    let tid = crate::sched::thread::current_tid();
    PRCTL.lock().thread_exited(tid);
    // The main thread stays listed (as a zombie leader on Linux) while others run.
    if tid != PID && crate::sched::thread::count() > 1 {
        super::file::task_exited(tid);
    }
    crate::sched::thread::exit_thread((a[0] & 0xff) as i32)
}

pub fn getpid(_: &[u64; 6]) -> SysResult {
    Ok(PID)
}

pub fn gettid(_: &[u64; 6]) -> SysResult {
    Ok(crate::sched::thread::current_tid())
}

/// clone, for threads: the flags musl's pthread_create passes (and the subsets other
/// threading code uses). Anything that would make a new process — no CLONE_VM or no
/// CLONE_THREAD — is refused: one program per VM.
pub fn clone(frame: &crate::syscall::Frame) -> SysResult {
    const CLONE_VM: u64 = 0x100;
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_THREAD: u64 = 0x10000;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_SETTLS: u64 = 0x80000;
    const CLONE_PARENT_SETTID: u64 = 0x100000;
    const CLONE_CHILD_CLEARTID: u64 = 0x200000;
    const CLONE_DETACHED: u64 = 0x400000;
    const CLONE_CHILD_SETTID: u64 = 0x1000000;
    const SUPPORTED: u64 = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED
        | CLONE_CHILD_SETTID;
    // clone(flags, stack, parent_tid, child_tid, tls) on x86-64.
    let [flags, stack, ptid, ctid, tls, _] = frame.args;
    let needed = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
    if flags & needed != needed || flags & !(SUPPORTED | 0xff) != 0 {
        static ONCE: spin::Once<()> = spin::Once::new();
        ONCE.call_once(|| {
            kinfo!("clone without CLONE_VM|CLONE_THREAD (fork, a new process) -> ENOSYS: one program per VM")
        });
        return Err(errno::ENOSYS);
    }
    if stack == 0 {
        return Err(errno::EINVAL);
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        check_range_u32(ptid)?;
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        check_range_u32(ctid)?;
    }
    let tls = (flags & CLONE_SETTLS != 0).then_some(tls);
    let clear = if flags & CLONE_CHILD_CLEARTID != 0 {
        ctid
    } else {
        0
    };
    let parent = crate::sched::thread::current_tid();
    let tid = crate::sched::thread::spawn(frame, stack, tls, clear).ok_or(errno::EAGAIN)?;
    PRCTL.lock().thread_started(parent, tid);
    super::file::task_started(tid);
    if flags & CLONE_PARENT_SETTID != 0 {
        user::write_u32(ptid, tid as u32)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        user::write_u32(ctid, tid as u32)?;
    }
    Ok(tid)
}

fn check_range_u32(ptr: u64) -> Result<(), Errno> {
    user::bytes_mut(ptr, 4).map(|_| ())
}

pub fn getppid(_: &[u64; 6]) -> SysResult {
    Ok(0)
}

/// Everything runs as root (uid/gid 0), as in a container's init.
pub fn getuid(_: &[u64; 6]) -> SysResult {
    Ok(0)
}

pub fn set_tid_address(a: &[u64; 6]) -> SysResult {
    crate::sched::thread::set_clear_tid(a[0]);
    Ok(crate::sched::thread::current_tid())
}

pub fn set_robust_list(a: &[u64; 6]) -> SysResult {
    // struct robust_list_head is 24 bytes. The list is not walked at thread exit: musl uses
    // it only for robust mutexes (PTHREAD_MUTEX_ROBUST), whose owner-died recovery Kiln
    // does not provide.
    if a[1] != 24 {
        return Err(errno::EINVAL);
    }
    Ok(0)
}

/// What prctl recorded (see [`crate::process::prctl`]).
static PRCTL: Mutex<crate::process::prctl::State> = Mutex::new(crate::process::prctl::State::new());

/// prctl(2): thread names and the recorded per-process and per-thread attributes, with
/// Linux's checks; `EINVAL` for options Linux does not know or Kiln cannot honour.
pub fn prctl(a: &[u64; 6]) -> SysResult {
    use crate::process::prctl::Action;
    use crate::sched::thread;
    let tid = thread::current_tid();
    let action = PRCTL.lock().apply(tid, a[0], [a[1], a[2], a[3], a[4]])?;
    match action {
        Action::Return(v) => Ok(v),
        Action::PutInt(ptr, v) => user::write_u32(ptr, v as u32).map(|_| 0),
        Action::SetName(ptr) => {
            // Linux copies at most 15 bytes, stopping at a NUL.
            let name = match user::cstr(ptr, 14) {
                Ok(name) => name,
                Err(e) if e == errno::ENAMETOOLONG => input(ptr, 15)?,
                Err(e) => return Err(e),
            };
            thread::set_name(tid, name);
            Ok(0)
        }
        Action::GetName(ptr) => {
            let name = thread::name_of(tid).unwrap_or([0; 16]);
            out(ptr, 16)?.copy_from_slice(&name);
            Ok(0)
        }
        Action::PutTidAddress(ptr) => write_u64s(ptr, &[thread::clear_tid()]).map(|_| 0),
    }
}

pub fn arch_prctl(a: &[u64; 6]) -> SysResult {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    let canonical = |v: u64| VirtAddr::try_new(v).map_err(|_| errno::EPERM);
    match a[0] {
        ARCH_SET_FS => FsBase::write(canonical(a[1])?),
        ARCH_SET_GS => GsBase::write(canonical(a[1])?),
        ARCH_GET_FS => write_u64s(a[1], &[FsBase::read().as_u64()])?,
        ARCH_GET_GS => write_u64s(a[1], &[GsBase::read().as_u64()])?,
        _ => return Err(errno::EINVAL),
    }
    Ok(0)
}

pub fn uname(a: &[u64; 6]) -> SysResult {
    let buf = out(a[0], 6 * 65)?;
    buf.fill(0);
    let fields: [&[u8]; 6] = [
        b"Kiln",
        b"kiln",
        concat!(env!("CARGO_PKG_VERSION"), "-kiln").as_bytes(),
        b"#1",
        b"x86_64",
        b"(none)",
    ];
    for (i, f) in fields.iter().enumerate() {
        buf[i * 65..i * 65 + f.len()].copy_from_slice(f);
    }
    Ok(0)
}

pub fn getrandom(a: &[u64; 6]) -> SysResult {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    if a[2] & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 {
        return Err(errno::EINVAL);
    }
    let len = a[1].min(i32::MAX as u64) as usize;
    crate::kernel::fill_random(out(a[0], len)?);
    Ok(len as u64)
}

const NSIG: usize = 64;
const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
const SIG_IGN: u64 = 1;

/// Signal dispositions and the mask, recorded so programs that install handlers start; no
/// signal is ever delivered to a handler yet.
struct Signals {
    actions: [[u64; 4]; NSIG],
    mask: u64,
    altstack: [u64; 3],
}

static SIGNALS: Mutex<Signals> = Mutex::new(Signals {
    actions: [[0; 4]; NSIG],
    mask: 0,
    altstack: [0, 2, 0], // SS_DISABLE
});

pub fn rt_sigaction(a: &[u64; 6]) -> SysResult {
    let sig = a[0];
    if a[3] != 8 || sig == 0 || sig as usize > NSIG {
        return Err(errno::EINVAL);
    }
    let new = if a[1] != 0 {
        Some(read_u64s::<4>(a[1])?)
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(errno::EINVAL);
    }
    let mut s = SIGNALS.lock();
    let slot = &mut s.actions[sig as usize - 1];
    if a[2] != 0 {
        write_u64s(a[2], &slot[..])?;
    }
    if let Some(new) = new {
        *slot = new;
    }
    Ok(0)
}

pub fn rt_sigprocmask(a: &[u64; 6]) -> SysResult {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if a[3] != 8 {
        return Err(errno::EINVAL);
    }
    let mut s = SIGNALS.lock();
    let old = s.mask;
    if a[1] != 0 {
        let [set] = read_u64s::<1>(a[1])?;
        let unblockable = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
        s.mask = match a[0] {
            SIG_BLOCK => old | set,
            SIG_UNBLOCK => old & !set,
            SIG_SETMASK => set,
            _ => return Err(errno::EINVAL),
        } & !unblockable;
    }
    if a[2] != 0 {
        write_u64s(a[2], &[old])?;
    }
    Ok(0)
}

pub fn sigaltstack(a: &[u64; 6]) -> SysResult {
    let mut s = SIGNALS.lock();
    if a[1] != 0 {
        write_u64s(a[1], &s.altstack)?;
    }
    if a[0] != 0 {
        let [sp, flags, size] = read_u64s::<3>(a[0])?;
        const SS_DISABLE: u64 = 2;
        const MINSIGSTKSZ: u64 = 2048;
        let flags = flags & 0xffff_ffff;
        if flags & !SS_DISABLE != 0 {
            return Err(errno::EINVAL);
        }
        if flags & SS_DISABLE == 0 && size < MINSIGSTKSZ {
            return Err(errno::ENOMEM);
        }
        s.altstack = [sp, flags, size];
    }
    Ok(0)
}

fn signal_name(sig: u64) -> &'static str {
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
    NAMES
        .get(sig as usize - 1)
        .copied()
        .unwrap_or("a real-time signal")
}

/// A signal sent to ourselves (abort() raises SIGABRT): ignored signals are dropped;
/// anything else ends the VM as the default action would end a process, with a backtrace of
/// the caller. Handlers are not run yet, and the line says so.
fn raise(sig: u64) -> SysResult {
    if sig == 0 {
        return Ok(0);
    }
    if sig as usize > NSIG {
        return Err(errno::EINVAL);
    }
    const SIGCHLD: u64 = 17;
    const SIGCONT: u64 = 18;
    const SIGURG: u64 = 23;
    const SIGWINCH: u64 = 28;
    let handler = SIGNALS.lock().actions[sig as usize - 1][0];
    if handler == SIG_IGN || (handler == 0 && matches!(sig, SIGCHLD | SIGCONT | SIGURG | SIGWINCH))
    {
        return Ok(0);
    }
    let note = if handler != 0 {
        " (its handler was not run: signal delivery is not supported yet)"
    } else {
        ""
    };
    kinfo!("killed by signal {} ({}){}", signal_name(sig), sig, note);
    crate::kernel::backtrace_of_caller();
    crate::drivers::exit::exit_vm(128 + sig as i32)
}

/// SIGPIPE for a write to a pipe or socket nobody reads: ends the program unless it ignores
/// the signal (then the write just fails with EPIPE).
pub fn raise_sigpipe() {
    const SIGPIPE: u64 = 13;
    let handler = SIGNALS.lock().actions[SIGPIPE as usize - 1][0];
    if handler != 0 && handler != SIG_IGN {
        // A handler cannot run yet; the write fails with EPIPE as it would after it ran.
        static ONCE: spin::Once<()> = spin::Once::new();
        ONCE.call_once(|| {
            kinfo!("SIGPIPE has a handler, which is not run (no signal delivery yet)")
        });
        return;
    }
    let _ = raise(SIGPIPE);
}

pub fn kill(a: &[u64; 6]) -> SysResult {
    match a[0] as i64 {
        -1..=1 => raise(a[1]),
        _ => Err(errno::ESRCH),
    }
}

/// A signal to one of our threads: signals are not delivered to handlers, so a fatal one
/// ends the whole VM whichever thread it targets.
pub fn tkill(a: &[u64; 6]) -> SysResult {
    if !crate::sched::thread::exists(a[0]) {
        return Err(errno::ESRCH);
    }
    raise(a[1])
}

pub fn tgkill(a: &[u64; 6]) -> SysResult {
    if a[0] != PID {
        return Err(errno::ESRCH);
    }
    tkill(&[a[1], a[2], 0, 0, 0, 0])
}

/// futex(2): WAIT and WAIT_BITSET (relative and absolute timeouts, either clock), WAKE and
/// WAKE_BITSET, REQUEUE and CMP_REQUEUE; the PRIVATE flag changes nothing (one process).
pub fn futex(a: &[u64; 6]) -> SysResult {
    use crate::sched::futex as f;
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_REQUEUE: u64 = 3;
    const FUTEX_CMP_REQUEUE: u64 = 4;
    const FUTEX_WAIT_BITSET: u64 = 9;
    const FUTEX_WAKE_BITSET: u64 = 10;
    const FUTEX_CLOCK_REALTIME: u64 = 256;
    const FUTEX_CMD_MASK: u64 = !(128 | FUTEX_CLOCK_REALTIME);
    let (uaddr, op, val) = (a[0], a[1] & FUTEX_CMD_MASK, a[2] as u32);
    if uaddr % 4 != 0 {
        return Err(errno::EINVAL);
    }
    match op {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if op == FUTEX_WAIT {
                u32::MAX
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Err(errno::EINVAL);
            }
            let deadline = if a[3] == 0 {
                None
            } else {
                let [sec, nsec] = read_u64s::<2>(a[3])?;
                if (sec as i64) < 0 || nsec >= 1_000_000_000 {
                    return Err(errno::EINVAL);
                }
                let t = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
                let now = crate::time::monotonic_ns();
                // FUTEX_WAIT takes a relative timeout; FUTEX_WAIT_BITSET an absolute one.
                Some(if op == FUTEX_WAIT {
                    now.saturating_add(t)
                } else if a[1] & FUTEX_CLOCK_REALTIME != 0 {
                    now.saturating_add(t.saturating_sub(crate::time::realtime_ns()))
                } else {
                    t
                })
            };
            if user::read_u32(uaddr)? != val {
                return Err(errno::EAGAIN);
            }
            if deadline.is_none() && crate::sched::thread::count() == 1 {
                kinfo!(
                    "deadlock: futex wait at {:#x} with no other thread to wake it",
                    uaddr
                );
                crate::kernel::backtrace_of_caller();
                crate::drivers::exit::exit_vm(134);
            }
            let woken = f::enqueue(uaddr, bitset);
            let done = crate::sched::block_until(
                deadline,
                |_| None,
                || {
                    woken
                        .load(core::sync::atomic::Ordering::Acquire)
                        .then_some(())
                },
            );
            match done {
                Some(()) => Ok(0),
                None if f::dequeue(&woken) => Ok(0),
                None => Err(errno::ETIMEDOUT),
            }
        }
        FUTEX_WAKE => Ok(f::wake(uaddr, val, u32::MAX) as u64),
        FUTEX_WAKE_BITSET => {
            if a[5] as u32 == 0 {
                return Err(errno::EINVAL);
            }
            Ok(f::wake(uaddr, val, a[5] as u32) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if op == FUTEX_CMP_REQUEUE && user::read_u32(uaddr)? != a[5] as u32 {
                return Err(errno::EAGAIN);
            }
            let moved = a[3].min(u32::MAX as u64) as u32;
            Ok(f::requeue(uaddr, val, a[4], moved) as u64)
        }
        _ => Err(errno::ENOSYS),
    }
}

pub fn sched_yield(_: &[u64; 6]) -> SysResult {
    crate::sched::thread::yield_now();
    Ok(0)
}

pub fn sched_getaffinity(a: &[u64; 6]) -> SysResult {
    if a[0] != 0 && a[0] != PID {
        return Err(errno::ESRCH);
    }
    if a[1] < 8 || !a[1].is_multiple_of(8) {
        return Err(errno::EINVAL);
    }
    write_u64s(a[2], &[1])?;
    Ok(8)
}

pub fn sched_setaffinity(a: &[u64; 6]) -> SysResult {
    if a[0] != 0 && a[0] != PID {
        return Err(errno::ESRCH);
    }
    let bytes = input(a[2], a[1].min(128) as usize)?;
    if bytes.first().is_some_and(|b| b & 1 != 0) {
        Ok(0)
    } else {
        Err(errno::EINVAL)
    }
}

const RLIM_INFINITY: u64 = u64::MAX;
const RLIMIT_NLIMITS: usize = 16;

static RLIMITS: Mutex<[[u64; 2]; RLIMIT_NLIMITS]> = Mutex::new({
    let mut l = [[RLIM_INFINITY; 2]; RLIMIT_NLIMITS];
    l[3] = [crate::mm::layout::MAIN_STACK_SIZE, RLIM_INFINITY]; // RLIMIT_STACK
    l[4] = [0, RLIM_INFINITY]; // RLIMIT_CORE
    l[7] = [1024, 1024]; // RLIMIT_NOFILE
    l
});

pub fn prlimit64(a: &[u64; 6]) -> SysResult {
    if a[0] != 0 && a[0] != PID {
        return Err(errno::ESRCH);
    }
    let resource = a[1] as usize;
    if resource >= RLIMIT_NLIMITS {
        return Err(errno::EINVAL);
    }
    let new = if a[2] != 0 {
        Some(read_u64s::<2>(a[2])?)
    } else {
        None
    };
    let mut limits = RLIMITS.lock();
    if a[3] != 0 {
        write_u64s(a[3], &limits[resource])?;
    }
    if let Some([cur, max]) = new {
        if cur > max {
            return Err(errno::EINVAL);
        }
        limits[resource] = [cur, max];
    }
    Ok(0)
}

pub fn getrlimit(a: &[u64; 6]) -> SysResult {
    prlimit64(&[0, a[0], 0, a[1], 0, 0])
}

pub fn setrlimit(a: &[u64; 6]) -> SysResult {
    prlimit64(&[0, a[0], a[1], 0, 0, 0])
}

pub fn sysinfo(a: &[u64; 6]) -> SysResult {
    let (total, free) = crate::mm::user::memory_stats();
    let buf = out(a[0], 112)?;
    buf.fill(0);
    let uptime = crate::time::monotonic_ns() / 1_000_000_000;
    buf[0..8].copy_from_slice(&uptime.to_ne_bytes());
    buf[32..40].copy_from_slice(&total.to_ne_bytes());
    buf[40..48].copy_from_slice(&free.to_ne_bytes());
    buf[80..82].copy_from_slice(&1u16.to_ne_bytes()); // procs
    buf[104..108].copy_from_slice(&1u32.to_ne_bytes()); // mem_unit
    Ok(0)
}
