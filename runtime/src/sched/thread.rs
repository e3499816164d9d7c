//! Threads on the one vCPU: records, the switch, preemption, clone and exit. What runs next
//! and when is decided by [`super::policy`] (pure, host-tested); this module carries it out.
//!
//! A thread is a kernel stack (syscalls and preemption run there), a saved kernel `rsp`, its
//! FS base (musl's thread pointer) and its extended register state. Switches happen only in
//! kernel code: when a thread waits ([`wait`]), yields, exits, or is preempted — an interrupt
//! (the one-shot timer, armed at every switch for the slice's end or an earlier deadline, or
//! a device) redirects a thread running program code to `kiln_preempt_entry` on its own
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

use super::policy::{self, Interrupt, State, TIME_SLICE_NS};

struct Thread {
    tid: u64,
    /// Saved kernel `rsp` while not running.
    rsp: u64,
    kstack: (u64, u64),
    fs_base: u64,
    fpu: FpuState,
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
    /// Each thread's scheduling state, by the same index as `threads` (the policy's input).
    states: Vec<State>,
    current: usize,
    /// Consecutive fruitless re-checks since some thread last made progress.
    idle_streak: usize,
    /// When the running thread's slice ends.
    slice_end: u64,
    /// The index the round-robin rotation picks next (see [`policy::pick_next`]).
    rotation: usize,
    /// Exited threads whose kernel stacks can be freed once we are off them.
    dead: Vec<Box<Thread>>,
    /// CPU time and context switches of the threads that have exited (part of the
    /// process's).
    exited: Times,
    exited_switches: (u64, u64),
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
        clear_tid: 0,
        clock: cputime::Saved::default(),
        name: [0; 16],
        voluntary: 0,
        involuntary: 0,
    });
    *SCHED.lock() = Some(Sched {
        threads: alloc::vec![main],
        states: alloc::vec![State::Ready],
        current: 0,
        idle_streak: 0,
        slice_end: u64::MAX,
        rotation: 0,
        dead: Vec::new(),
        exited: Times::ZERO,
        exited_switches: (0, 0),
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
    SCHED.lock().as_ref().map_or(1, |s| policy::live(&s.states))
}

pub fn exists(tid: u64) -> bool {
    with(|s| {
        s.threads
            .iter()
            .zip(&s.states)
            .any(|(t, st)| t.tid == tid && *st != State::Exited)
    })
}

/// The index of live thread `tid`.
fn live_index(s: &Sched, tid: u64) -> Option<usize> {
    s.threads
        .iter()
        .zip(&s.states)
        .position(|(t, st)| t.tid == tid && *st != State::Exited)
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
        let i = live_index(s, tid)?;
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
            voluntary: s.exited_switches.0,
            involuntary: s.exited_switches.1,
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

/// Thread `tid`'s name (up to 15 bytes, NUL-padded); `None` if it does not exist.
pub fn name_of(tid: u64) -> Option<[u8; 16]> {
    with(|s| live_index(s, tid).map(|i| s.threads[i].name))
}

/// Names thread `tid` (the first 15 bytes of `name`, up to a NUL); false if it does not exist.
pub fn set_name(tid: u64, name: &[u8]) -> bool {
    let len = name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name.len())
        .min(15);
    with(|s| match live_index(s, tid) {
        Some(i) => {
            let t = &mut s.threads[i];
            t.name = [0; 16];
            t.name[..len].copy_from_slice(&name[..len]);
            true
        }
        None => false,
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
    cpu::debug_assert_kernel_flags();
    let s = guard.as_mut().expect("scheduler");
    let cur = s.current;
    if next == cur {
        return;
    }
    if s.states[next] == State::Ready {
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
    start_slice(s);
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
    if s.states[cur] == State::Ready {
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

/// The thread to switch to from the running one (see [`policy::pick_next`]); moves the
/// rotation as the policy says.
fn next_index(s: &mut Sched) -> Option<usize> {
    let (next, rotation) = policy::pick_next(
        &s.states,
        s.current,
        crate::time::monotonic_ns(),
        s.rotation,
    )?;
    s.rotation = rotation;
    Some(next)
}

/// The running thread's slice starts now; the timer is armed for its end, or for an earlier
/// deadline of another thread.
fn start_slice(s: &mut Sched) {
    let now = crate::time::monotonic_ns();
    s.slice_end = now.saturating_add(TIME_SLICE_NS);
    arm_timer(s, now);
}

/// Arms the one-shot timer for the next moment the policy must look (nothing while one
/// thread runs alone: its own waits arm what they need).
fn arm_timer(s: &Sched, now: u64) {
    if let Some(at) = policy::next_timer(&s.states, s.current, s.slice_end) {
        crate::time::arm_wakeup(at.saturating_sub(now).max(1));
    }
}

/// Called by a thread whose condition is not met yet: lets the others run, or halts when
/// every thread has re-checked in vain. Returns to re-check.
pub fn wait(wake_at: Option<u64>) {
    cpu::debug_assert_kernel_flags();
    let mut guard = SCHED.lock();
    let Some(s) = guard.as_mut() else {
        drop(guard);
        halt_until(wake_at);
        return;
    };
    let cur = s.current;
    if s.states[cur] == State::Ready {
        // A wait begins (later calls are re-checks of the same wait).
        s.threads[cur].voluntary += 1;
    }
    s.states[cur] = State::Waiting { wake_at };
    s.idle_streak += 1;
    if s.idle_streak >= policy::live(&s.states) {
        // Everyone has re-checked in vain since the last progress: nothing changes until an
        // interrupt (a device, or the earliest deadline of any waiting thread).
        s.idle_streak = 0;
        let earliest = s
            .states
            .iter()
            .filter_map(|st| match st {
                State::Waiting { wake_at } => *wake_at,
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
    let next = guard.as_mut().and_then(next_index);
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
        s.states[cur] = State::Ready;
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
    let mut guard = SCHED.lock();
    let next = guard.as_mut().and_then(next_index);
    if let Some(next) = next {
        switch_to(guard, next);
    }
}

/// An interrupt (`why`) arrived: if it interrupted program code and the policy says the
/// thread's turn is over (its slice ended, a waiter's deadline passed, or a device may have
/// satisfied a waiter), redirect the interrupted thread to `kiln_preempt_entry` on its kernel
/// stack; otherwise re-arm the timer for the policy's next look.
pub fn on_interrupt(frame: &mut TrapFrame, why: Interrupt) {
    let mut guard = SCHED.lock();
    let Some(s) = guard.as_mut() else { return };
    let (bottom, top) = s.threads[s.current].kstack;
    if frame.rsp >= bottom && frame.rsp <= top {
        // Kernel code, which runs with interrupts on only while it halts in `wait`: it picks
        // the next thread itself when the halt ends.
        return;
    }
    let now = crate::time::monotonic_ns();
    if !policy::should_preempt(&s.states, s.current, now, s.slice_end, why) {
        arm_timer(s, now);
        return;
    }
    if now < s.slice_end {
        // Preempted before its slice ended (a waiter's deadline or a device): it resumes
        // right after the waiters have run.
        s.rotation = s.current;
    }
    // Copy the full frame to the top of the (idle) kernel stack and return there instead.
    let size = core::mem::size_of::<TrapFrame>() as u64;
    let at = (top - size) & !0xf;
    // SAFETY: the thread is running program code, so its kernel stack is unused; `at` lies
    // within it and is aligned for TrapFrame.
    unsafe { (at as *mut TrapFrame).write(core::ptr::read(frame)) };
    frame.rip = kiln_preempt_entry as *const () as u64;
    frame.rsp = at;
    // The stub runs kernel code: interrupts off until it is done, and the flags kernel code
    // relies on cleared (the program may have been inside musl's `std; rep movs; cld`). The
    // copy keeps the program's own flags for the final iretq.
    frame.rflags &= !(cpu::RFLAGS_IF | cpu::RFLAGS_KERNEL_CLEAR);
    s.idle_streak = 0;
}

/// Runs on the preempted thread's kernel stack (from `kiln_preempt_entry`): give the CPU to
/// the next thread; when this one runs again, the stub restores its frame.
pub extern "C" fn preempted(_frame: &mut TrapFrame) {
    cpu::debug_assert_kernel_flags();
    let mut guard = SCHED.lock();
    let next = guard.as_mut().and_then(next_index);
    match next {
        Some(next) => switch_to(guard, next),
        None => {
            // Alone after all (the others exited meanwhile): nothing to arm.
            drop(guard);
        }
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
        s.states.push(State::Ready);
        s.idle_streak = 0;
        // The parent may have run alone, without a slice: its slice starts now, so a parent
        // that computes without syscalls from here on is preempted all the same.
        start_slice(s);
    });
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
    s.states[cur] = State::Exited;
    let Some(next) = next_index(s) else {
        drop(guard);
        crate::drivers::exit::exit_vm(status);
    };
    // Move the record to `dead` (its stack is freed by the next thread, after the switch);
    // the outgoing context is saved into a scratch slot nobody resumes.
    let now = crate::time::monotonic_ns();
    switch_clock(s, cur, next, now);
    s.exited = s.exited.plus(s.threads[cur].clock.times);
    s.exited_switches.0 += s.threads[cur].voluntary;
    s.exited_switches.1 += s.threads[cur].involuntary;
    let record = s.threads.remove(cur);
    s.states.remove(cur);
    let next = if next > cur { next - 1 } else { next };
    if s.rotation > cur {
        s.rotation -= 1;
    }
    s.current = next;
    // The exit itself may have woken a joiner (CLONE_CHILD_CLEARTID).
    s.idle_streak = 0;
    let t = &s.threads[next];
    let load = t.rsp;
    crate::syscall::set_kernel_stack(t.kstack.1);
    FsBase::write(VirtAddr::new(t.fs_base));
    t.fpu.restore();
    start_slice(s);
    s.dead.push(record);
    drop(guard);
    let mut scratch = 0u64;
    // SAFETY: as in `switch_to`; this context is never resumed.
    unsafe { kiln_switch(&mut scratch, load) };
    unreachable!("an exited thread was resumed");
}
