//! Threads on the one vCPU: records, the round-robin switch, preemption, clone and exit.
//!
//! A thread is a kernel stack (syscalls and preemption run there), a saved kernel `rsp`, its
//! FS base (musl's thread pointer) and its extended register state. Switches happen only in
//! kernel code: when a thread waits ([`wait`]), yields, exits, or is preempted — the timer
//! interrupt redirects a thread running program code to `kiln_preempt_entry` on its own
//! kernel stack, which calls [`preempted`].
//!
//! Waiting is cooperative re-checking: a waiting thread stays in the rotation and re-checks
//! its condition each time it is switched to. When every thread has re-checked without
//! progress since the last one did, the CPU halts until an interrupt or the earliest of their
//! deadlines. No wait queues, no lost wake-ups; the cost is O(threads) checks per wake-up.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::registers::model_specific::FsBase;
use x86_64::VirtAddr;

use crate::arch::context::{kiln_preempt_entry, kiln_switch, FpuState, SWITCH_FRAME_WORDS};
use crate::arch::cpu;
use crate::arch::idt::TrapFrame;
use crate::mm::kstack;
use crate::sched::cputime::{self, Times};
use crate::syscall::Frame;

/// How long a thread runs before another ready one gets the CPU.
pub const TIME_SLICE_NS: u64 = 4_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Running or able to run.
    Ready,
    /// Re-checking a condition; may be woken by a deadline.
    Waiting { wake_at: Option<u64> },
    /// Gone; its kernel stack is freed by the next switch.
    Exited,
}

struct Thread {
    tid: u64,
    /// Saved kernel `rsp` while not running.
    rsp: u64,
    kstack: (u64, u64),
    fs_base: u64,
    fpu: FpuState,
    state: State,
    /// CLONE_CHILD_CLEARTID / set_tid_address: zeroed and futex-woken at exit.
    clear_tid: u64,
    /// CPU time used while switched out (the running thread's is in [`cputime::RUNNING`]).
    clock: cputime::Saved,
    /// The thread's name (`comm`: PR_SET_NAME, `/proc/self/task/TID/comm`), NUL-padded.
    name: [u8; 16],
    /// Context switches: waits that gave up the CPU, and preemptions or yields.
    voluntary: u64,
    involuntary: u64,
}

// Boxed records: a switched-out thread's saved `rsp` slot is written through a raw pointer
// while the vector may grow, so each record must not move.
#[allow(clippy::vec_box)]
struct Sched {
    threads: Vec<Box<Thread>>,
    current: usize,
    /// Consecutive fruitless re-checks since some thread last made progress.
    idle_streak: usize,
    /// When the running thread's slice ends.
    slice_end: u64,
    /// Exited threads whose kernel stacks can be freed once we are off them.
    dead: Vec<Box<Thread>>,
    /// CPU time of the threads that have exited (part of the process's).
    exited: Times,
}

static SCHED: Mutex<Option<Sched>> = Mutex::new(None);
static NEXT_TID: AtomicU64 = AtomicU64::new(2);

/// Makes the running program the main thread (tid 1) with its own kernel stack.
pub fn init() {
    let kstack = kstack::alloc().expect("no memory for the main thread's kernel stack");
    crate::syscall::set_kernel_stack(kstack.1);
    let main = Box::new(Thread {
        tid: 1,
        rsp: 0,
        kstack,
        fs_base: 0,
        fpu: FpuState::new().expect("no memory for FPU state"),
        state: State::Ready,
        clear_tid: 0,
        clock: cputime::Saved::default(),
        name: [0; 16],
        voluntary: 0,
        involuntary: 0,
    });
    *SCHED.lock() = Some(Sched {
        threads: alloc::vec![main],
        current: 0,
        idle_streak: 0,
        slice_end: u64::MAX,
        dead: Vec::new(),
        exited: Times::ZERO,
    });
    *cputime::RUNNING.lock() = cputime::Meter::new(crate::time::monotonic_ns());
}

fn with<R>(f: impl FnOnce(&mut Sched) -> R) -> R {
    f(SCHED.lock().as_mut().expect("scheduler not initialized"))
}

/// The running thread's id (1 before threads exist).
pub fn current_tid() -> u64 {
    SCHED
        .lock()
        .as_ref()
        .map_or(1, |s| s.threads[s.current].tid)
}

/// Number of live threads.
pub fn count() -> usize {
    SCHED.lock().as_ref().map_or(1, |s| {
        s.threads
            .iter()
            .filter(|t| t.state != State::Exited)
            .count()
    })
}

pub fn exists(tid: u64) -> bool {
    with(|s| {
        s.threads
            .iter()
            .any(|t| t.tid == tid && t.state != State::Exited)
    })
}

/// A thread's CPU time, context switches and name, for getrusage, the CPU-time clocks and
/// `/proc/self/task`.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub times: Times,
    pub voluntary: u64,
    pub involuntary: u64,
}

/// What thread `tid` has used so far (the running one up to now); `None` if it does not exist.
pub fn usage_of(tid: u64) -> Option<Usage> {
    let now = crate::time::monotonic_ns();
    with(|s| {
        let i = s
            .threads
            .iter()
            .position(|t| t.tid == tid && t.state != State::Exited)?;
        let t = &s.threads[i];
        let times = if i == s.current {
            cputime::RUNNING.lock().peek(now)
        } else {
            t.clock.times
        };
        Some(Usage {
            times,
            voluntary: t.voluntary,
            involuntary: t.involuntary,
        })
    })
}

/// The whole program's use: every thread's, the exited ones' included.
pub fn process_usage() -> Usage {
    let now = crate::time::monotonic_ns();
    with(|s| {
        let running = cputime::RUNNING.lock().peek(now);
        let mut u = Usage {
            times: s.exited,
            voluntary: 0,
            involuntary: 0,
        };
        for (i, t) in s.threads.iter().enumerate() {
            let times = if i == s.current {
                running
            } else {
                t.clock.times
            };
            u.times = u.times.plus(times);
            u.voluntary += t.voluntary;
            u.involuntary += t.involuntary;
        }
        u
    })
}

/// The ids of the live threads, ascending.
pub fn tids() -> Vec<u64> {
    with(|s| {
        let mut v: Vec<u64> = s
            .threads
            .iter()
            .filter(|t| t.state != State::Exited)
            .map(|t| t.tid)
            .collect();
        v.sort_unstable();
        v
    })
}

/// Thread `tid`'s name (up to 15 bytes, NUL-padded); `None` if it does not exist.
pub fn name_of(tid: u64) -> Option<[u8; 16]> {
    with(|s| {
        s.threads
            .iter()
            .find(|t| t.tid == tid && t.state != State::Exited)
            .map(|t| t.name)
    })
}

/// Names thread `tid` (the first 15 bytes of `name`, up to a NUL); false if it does not exist.
pub fn set_name(tid: u64, name: &[u8]) -> bool {
    let len = name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name.len())
        .min(15);
    with(|s| {
        match s
            .threads
            .iter_mut()
            .find(|t| t.tid == tid && t.state != State::Exited)
        {
            Some(t) => {
                t.name = [0; 16];
                t.name[..len].copy_from_slice(&name[..len]);
                true
            }
            None => false,
        }
    })
}

/// The running thread's clear-on-exit word (PR_GET_TID_ADDRESS).
pub fn clear_tid() -> u64 {
    with(|s| s.threads[s.current].clear_tid)
}

pub fn set_clear_tid(addr: u64) {
    with(|s| {
        let cur = s.current;
        s.threads[cur].clear_tid = addr;
    });
}

/// Switches from the running thread to thread index `next` (interrupts are off).
fn switch_to(mut guard: spin::MutexGuard<'_, Option<Sched>>, next: usize) {
    let s = guard.as_mut().expect("scheduler");
    let cur = s.current;
    if next == cur {
        return;
    }
    if s.threads[next].state == State::Ready {
        // A thread that is not waiting is about to run program code, which may satisfy any
        // waiter's condition: every waiter must re-check before the CPU may halt.
        s.idle_streak = 0;
    }
    s.threads[cur].fs_base = FsBase::read().as_u64();
    s.threads[cur].fpu.save();
    let now = crate::time::monotonic_ns();
    switch_clock(s, cur, next, now);
    let save: *mut u64 = &mut s.threads[cur].rsp;
    let t = &s.threads[next];
    let load = t.rsp;
    crate::syscall::set_kernel_stack(t.kstack.1);
    FsBase::write(VirtAddr::new(t.fs_base));
    t.fpu.restore();
    s.current = next;
    s.slice_end = now.saturating_add(TIME_SLICE_NS);
    drop(guard);
    // SAFETY: `save` points into the outgoing thread's boxed record, which lives until that
    // thread is reaped (never while it is switched out mid-call); `load` is a context saved
    // by kiln_switch or built by `spawn`. Interrupts are off.
    unsafe { kiln_switch(save, load) };
    reap();
}

/// Moves the CPU meter from thread `cur` to thread `next` at a switch at `now`; a thread
/// that leaves the CPU while still runnable (preempted, yielding) counts an involuntary
/// switch.
fn switch_clock(s: &mut Sched, cur: usize, next: usize, now: u64) {
    let mut meter = cputime::RUNNING.lock();
    s.threads[cur].clock = meter.save(now);
    if s.threads[cur].state == State::Ready {
        s.threads[cur].involuntary += 1;
    }
    meter.load(s.threads[next].clock, now);
}

/// Frees the kernel stacks of exited threads (never the running one's).
fn reap() {
    let dead: Vec<Box<Thread>> = with(|s| core::mem::take(&mut s.dead));
    for t in dead {
        kstack::free(t.kstack.0);
    }
}

/// The next thread after the current one that is not exited, round robin.
fn next_index(s: &Sched) -> Option<usize> {
    let n = s.threads.len();
    (1..=n)
        .map(|i| (s.current + i) % n)
        .find(|&i| i != s.current && s.threads[i].state != State::Exited)
}

/// Called by a thread whose condition is not met yet: lets the others run, or halts when
/// every thread has re-checked in vain. Returns to re-check.
pub fn wait(wake_at: Option<u64>) {
    let mut guard = SCHED.lock();
    let Some(s) = guard.as_mut() else {
        drop(guard);
        halt_until(wake_at);
        return;
    };
    let cur = s.current;
    if s.threads[cur].state == State::Ready {
        // A wait begins (later calls are re-checks of the same wait).
        s.threads[cur].voluntary += 1;
    }
    s.threads[cur].state = State::Waiting { wake_at };
    s.idle_streak += 1;
    let live = s
        .threads
        .iter()
        .filter(|t| t.state != State::Exited)
        .count();
    if s.idle_streak >= live {
        // Everyone has re-checked in vain since the last progress: nothing changes until an
        // interrupt (a device, or the earliest deadline of any waiting thread).
        s.idle_streak = 0;
        let earliest = s
            .threads
            .iter()
            .filter_map(|t| match t.state {
                State::Waiting { wake_at } => wake_at,
                _ => None,
            })
            .min();
        drop(guard);
        // Halted time is nobody's CPU time.
        cputime::RUNNING.lock().pause(crate::time::monotonic_ns());
        halt_until(earliest);
        cputime::RUNNING.lock().resume(crate::time::monotonic_ns());
        guard = SCHED.lock();
    }
    let next = guard.as_ref().and_then(next_index);
    match next {
        Some(next) => switch_to(guard, next),
        None => drop(guard),
    }
}

/// Something may have made another thread's wait condition true (a source delivered data
/// the running thread did not wait for): every waiter re-checks before the CPU halts.
pub fn progress() {
    if let Some(s) = SCHED.lock().as_mut() {
        s.idle_streak = 0;
    }
}

/// The running thread's wait is over (it made progress).
pub fn done_waiting() {
    if let Some(s) = SCHED.lock().as_mut() {
        let cur = s.current;
        s.threads[cur].state = State::Ready;
        s.idle_streak = 0;
    }
}

/// Halts until an interrupt, with the timer armed for `wake_at` if given.
fn halt_until(wake_at: Option<u64>) {
    let now = crate::time::monotonic_ns();
    if let Some(at) = wake_at {
        if at <= now {
            return;
        }
        crate::time::arm_wakeup(at - now);
    }
    cpu::halt_until_interrupt();
}

/// sched_yield: the next thread runs.
pub fn yield_now() {
    let guard = SCHED.lock();
    let next = guard.as_ref().and_then(next_index);
    if let Some(next) = next {
        switch_to(guard, next);
    }
}

/// The timer (or any device) interrupted program code: if another thread wants the CPU and
/// the slice is over, redirect the interrupted thread to `kiln_preempt_entry` on its kernel
/// stack. Also (re)arms the slice timer while several threads exist.
pub fn on_interrupt(frame: &mut TrapFrame) {
    let mut guard = SCHED.lock();
    let Some(s) = guard.as_mut() else { return };
    let live = s
        .threads
        .iter()
        .filter(|t| t.state != State::Exited)
        .count();
    if live < 2 {
        return;
    }
    let now = crate::time::monotonic_ns();
    let (bottom, top) = s.threads[s.current].kstack;
    let in_kernel = frame.rsp >= bottom && frame.rsp <= top;
    if in_kernel {
        return; // kernel code switches on its own (it only runs with interrupts on in halts)
    }
    if now < s.slice_end {
        crate::time::arm_wakeup(s.slice_end - now);
        return;
    }
    // Copy the full frame to the top of the (idle) kernel stack and return there instead.
    let size = core::mem::size_of::<TrapFrame>() as u64;
    let at = (top - size) & !0xf;
    // SAFETY: the thread is running program code, so its kernel stack is unused; `at` lies
    // within it and is aligned for TrapFrame.
    unsafe { (at as *mut TrapFrame).write(core::ptr::read(frame)) };
    frame.rip = kiln_preempt_entry as *const () as u64;
    frame.rsp = at;
    frame.rflags &= !(1 << 9); // IF off until the stub is done
    s.slice_end = now.saturating_add(TIME_SLICE_NS);
    s.idle_streak = 0;
}

/// Runs on the preempted thread's kernel stack (from `kiln_preempt_entry`): give the CPU to
/// the next thread; when this one runs again, the stub restores its frame.
pub extern "C" fn preempted(_frame: &mut TrapFrame) {
    yield_now();
    // More than one thread: keep the slice timer going for whoever runs next.
    if count() > 1 {
        crate::time::arm_wakeup(TIME_SLICE_NS);
    }
}

/// clone for a new thread of this process: a new kernel stack holding a copy of the
/// caller's syscall frame (returning 0, on `stack`, with FS base `tls`), made to start at
/// `kiln_syscall_return`. Returns the new tid.
pub fn spawn(parent: &Frame, stack: u64, tls: Option<u64>, clear_tid: u64) -> Option<u64> {
    let kstack = kstack::alloc()?;
    let mut fpu = FpuState::new()?;
    fpu.save(); // the child starts with the parent's FPU/SSE state, as on Linux
    let tid = NEXT_TID.fetch_add(1, Ordering::Relaxed);
    let mut child = *parent;
    child.rsp = stack;
    let frame_at = kstack.1 - core::mem::size_of::<Frame>() as u64;
    // Below the frame: the return address kiln_switch's `ret` takes, then the callee-saved
    // registers it pops.
    let ret_at = frame_at - 8;
    let rsp = ret_at - 8 * SWITCH_FRAME_WORDS as u64;
    // SAFETY: the kernel stack was just mapped and is ours; all writes lie inside it.
    unsafe {
        (frame_at as *mut Frame).write(child);
        (ret_at as *mut u64).write(kiln_thread_start as *const () as u64);
        core::ptr::write_bytes(rsp as *mut u64, 0, SWITCH_FRAME_WORDS);
    }
    let fs_base = tls.unwrap_or_else(|| FsBase::read().as_u64());
    // A new thread is named after its creator, as on Linux.
    let name = with(|s| s.threads[s.current].name);
    let thread = Box::new(Thread {
        tid,
        rsp,
        kstack,
        fs_base,
        fpu,
        state: State::Ready,
        clear_tid,
        // It starts by returning from clone straight into program code (not through the
        // dispatcher, which would switch the meter to user time).
        clock: cputime::Saved::default(),
        name,
        voluntary: 0,
        involuntary: 0,
    });
    with(|s| {
        s.threads.push(thread);
        s.idle_streak = 0;
    });
    crate::time::arm_wakeup(TIME_SLICE_NS);
    Some(tid)
}

core::arch::global_asm!(
    r#"
    .section .text.kiln_thread_start, "ax"
    .global kiln_thread_start
kiln_thread_start:
    xor %eax, %eax
    jmp kiln_syscall_return
    "#,
    options(att_syntax)
);

extern "C" {
    fn kiln_thread_start();
}

/// exit(2) of one thread: clears and wakes its CLONE_CHILD_CLEARTID word, then switches away
/// for good. The last thread's exit ends the VM with `status`.
pub fn exit_thread(status: i32) -> ! {
    let clear = with(|s| {
        let cur = s.current;
        s.threads[cur].clear_tid
    });
    if clear != 0 && crate::mm::user::write_u32(clear, 0).is_ok() {
        super::futex::wake(clear, 1, u32::MAX);
    }
    let mut guard = SCHED.lock();
    let s = guard.as_mut().expect("scheduler");
    let cur = s.current;
    s.threads[cur].state = State::Exited;
    let Some(next) = next_index(s) else {
        drop(guard);
        crate::drivers::exit::exit_vm(status);
    };
    // Move the record to `dead` (its stack is freed by the next thread, after the switch);
    // the outgoing context is saved into a scratch slot nobody resumes.
    let now = crate::time::monotonic_ns();
    switch_clock(s, cur, next, now);
    s.exited = s.exited.plus(s.threads[cur].clock.times);
    let record = s.threads.remove(cur);
    let next = if next > cur { next - 1 } else { next };
    s.current = next;
    // The exit itself may have woken a joiner (CLONE_CHILD_CLEARTID).
    s.idle_streak = 0;
    let t = &s.threads[next];
    let load = t.rsp;
    crate::syscall::set_kernel_stack(t.kstack.1);
    FsBase::write(VirtAddr::new(t.fs_base));
    t.fpu.restore();
    s.slice_end = now.saturating_add(TIME_SLICE_NS);
    s.dead.push(record);
    drop(guard);
    let mut scratch = 0u64;
    // SAFETY: as in `switch_to`; this context is never resumed.
    unsafe { kiln_switch(&mut scratch, load) };
    unreachable!("an exited thread was resumed");
}
