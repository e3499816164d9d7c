//! `prctl(2)`: the process's and threads' attributes that Linux keeps per task, with Linux's
//! argument checks and answers for a root process with the full capability set.
//!
//! Pure: [`State::apply`] checks an option and its arguments, changes the recorded state and
//! says what the syscall must do with user memory ([`Action`]); the syscall layer does the
//! copying and owns thread names. Options that only make sense with several processes or a
//! privilege boundary (the parent-death signal, dumpability, child subreaper, no-new-privs,
//! keep-caps, transparent huge pages, timer slack) are recorded and reported back exactly as
//! Linux does, and change nothing else: one program per VM, always root. Options of other
//! architectures, and those Kiln cannot honour (a seccomp filter, a trapped TSC, syscall
//! user dispatch), are `EINVAL`, as on a kernel without them; unknown options are `EINVAL`.
#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;

use crate::errno::{self, Errno};

pub const PR_SET_PDEATHSIG: u64 = 1;
pub const PR_GET_PDEATHSIG: u64 = 2;
pub const PR_GET_DUMPABLE: u64 = 3;
pub const PR_SET_DUMPABLE: u64 = 4;
pub const PR_GET_KEEPCAPS: u64 = 7;
pub const PR_SET_KEEPCAPS: u64 = 8;
pub const PR_GET_TIMING: u64 = 13;
pub const PR_SET_TIMING: u64 = 14;
pub const PR_SET_NAME: u64 = 15;
pub const PR_GET_NAME: u64 = 16;
pub const PR_GET_SECCOMP: u64 = 21;
pub const PR_SET_SECCOMP: u64 = 22;
pub const PR_CAPBSET_READ: u64 = 23;
pub const PR_CAPBSET_DROP: u64 = 24;
pub const PR_GET_TSC: u64 = 25;
pub const PR_SET_TSC: u64 = 26;
pub const PR_GET_SECUREBITS: u64 = 27;
pub const PR_SET_SECUREBITS: u64 = 28;
pub const PR_SET_TIMERSLACK: u64 = 29;
pub const PR_GET_TIMERSLACK: u64 = 30;
pub const PR_TASK_PERF_EVENTS_DISABLE: u64 = 31;
pub const PR_TASK_PERF_EVENTS_ENABLE: u64 = 32;
pub const PR_MCE_KILL: u64 = 33;
pub const PR_MCE_KILL_GET: u64 = 34;
pub const PR_SET_CHILD_SUBREAPER: u64 = 36;
pub const PR_GET_CHILD_SUBREAPER: u64 = 37;
pub const PR_SET_NO_NEW_PRIVS: u64 = 38;
pub const PR_GET_NO_NEW_PRIVS: u64 = 39;
pub const PR_GET_TID_ADDRESS: u64 = 40;
pub const PR_SET_THP_DISABLE: u64 = 41;
pub const PR_GET_THP_DISABLE: u64 = 42;
pub const PR_CAP_AMBIENT: u64 = 47;
pub const PR_GET_SPECULATION_CTRL: u64 = 52;
pub const PR_SET_SPECULATION_CTRL: u64 = 53;
pub const PR_SET_IO_FLUSHER: u64 = 57;
pub const PR_GET_IO_FLUSHER: u64 = 58;
pub const PR_SCHED_CORE: u64 = 62;
/// Yama's option: who may ptrace us.
pub const PR_SET_PTRACER: u64 = 0x5961_6d61;

pub const PR_CAP_AMBIENT_IS_SET: u64 = 1;
pub const PR_CAP_AMBIENT_RAISE: u64 = 2;
pub const PR_CAP_AMBIENT_LOWER: u64 = 3;
pub const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;

/// The highest capability number (Linux 5.9+: `CAP_CHECKPOINT_RESTORE`).
pub const CAP_LAST_CAP: u64 = 40;
/// The default timer slack of a thread, in ns (Linux's 50 µs).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;
const NSIG: u64 = 64;
const PR_TSC_ENABLE: i32 = 1;
const PR_MCE_KILL_DEFAULT: u64 = 2;
const PR_SPEC_STORE_BYPASS: u64 = 0;
const PR_SPEC_INDIRECT_BRANCH: u64 = 1;
const PR_SPEC_L1D_FLUSH: u64 = 2;
/// Speculation is enabled and cannot be controlled by the program.
const PR_SPEC_ENABLE: u64 = 1 << 1;
/// securebits: the lockable bits (`SECURE_ALL_BITS`) and their locks (`SECURE_ALL_LOCKS`).
const SECURE_ALL_BITS: u64 = 0x55;
const SECURE_ALL_LOCKS: u64 = 0xaa;
const SECBIT_KEEP_CAPS: u64 = 1 << 4;
const SECBIT_KEEP_CAPS_LOCKED: u64 = 1 << 5;

/// What the syscall layer does after a successful [`State::apply`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Return this value.
    Return(u64),
    /// Store this `int` at the pointer, return 0.
    PutInt(u64, i32),
    /// Name the calling thread from the string at the pointer (at most 15 bytes), return 0.
    SetName(u64),
    /// Store the calling thread's 16-byte name at the pointer, return 0.
    GetName(u64),
    /// Store the calling thread's clear-child-tid address (a pointer) at the pointer.
    PutTidAddress(u64),
}

/// What a program set through prctl, per process and per thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pdeathsig: BTreeMap<u64, i32>,
    /// Per thread: (the slack, the default a 0 resets it to); absent: 50 µs both.
    timer_slack: BTreeMap<u64, (u64, u64)>,
    dumpable: bool,
    subreaper: bool,
    no_new_privs: bool,
    thp_disable: bool,
    io_flusher: bool,
    securebits: u64,
    /// The capability bounding set (bit per capability).
    bounding: u64,
    /// The ambient set: always empty (raising needs the capability in the inheritable set,
    /// which is empty for root, as on Linux).
    ambient: u64,
    mce_kill: u64,
}

impl Default for State {
    fn default() -> State {
        State::new()
    }
}

fn all_caps() -> u64 {
    (1u64 << (CAP_LAST_CAP + 1)) - 1
}

fn cap_valid(cap: u64) -> bool {
    cap <= CAP_LAST_CAP
}

impl State {
    pub const fn new() -> State {
        State {
            pdeathsig: BTreeMap::new(),
            timer_slack: BTreeMap::new(),
            dumpable: true,
            subreaper: false,
            no_new_privs: false,
            thp_disable: false,
            io_flusher: false,
            securebits: 0,
            bounding: (1u64 << (CAP_LAST_CAP + 1)) - 1,
            ambient: 0,
            mce_kill: PR_MCE_KILL_DEFAULT,
        }
    }

    /// Thread `child` was created by `parent`: it inherits the timer slack, which becomes
    /// its default too (Linux's `copy_process`); the parent-death signal starts cleared.
    pub fn thread_started(&mut self, parent: u64, child: u64) {
        let slack = self.slack(parent).0;
        if slack == DEFAULT_TIMER_SLACK_NS {
            self.timer_slack.remove(&child);
        } else {
            self.timer_slack.insert(child, (slack, slack));
        }
        self.pdeathsig.remove(&child);
    }

    fn slack(&self, tid: u64) -> (u64, u64) {
        self.timer_slack
            .get(&tid)
            .copied()
            .unwrap_or((DEFAULT_TIMER_SLACK_NS, DEFAULT_TIMER_SLACK_NS))
    }

    /// A thread has exited: forget what was kept for it.
    pub fn thread_exited(&mut self, tid: u64) {
        self.pdeathsig.remove(&tid);
        self.timer_slack.remove(&tid);
    }

    /// `prctl(option, a[0], a[1], a[2], a[3])` for thread `tid`.
    pub fn apply(&mut self, tid: u64, option: u64, a: [u64; 4]) -> Result<Action, Errno> {
        let [a2, a3, a4, a5] = a;
        let ret = |v: u64| Ok(Action::Return(v));
        match option {
            PR_SET_PDEATHSIG => {
                if a2 > NSIG {
                    return Err(errno::EINVAL);
                }
                self.pdeathsig.insert(tid, a2 as i32);
                ret(0)
            }
            PR_GET_PDEATHSIG => Ok(Action::PutInt(
                a2,
                self.pdeathsig.get(&tid).copied().unwrap_or(0),
            )),
            PR_GET_DUMPABLE => ret(self.dumpable as u64),
            PR_SET_DUMPABLE => match a2 {
                0 | 1 => {
                    self.dumpable = a2 == 1;
                    ret(0)
                }
                _ => Err(errno::EINVAL),
            },
            PR_GET_KEEPCAPS => ret((self.securebits & SECBIT_KEEP_CAPS != 0) as u64),
            PR_SET_KEEPCAPS => {
                if a2 > 1 {
                    return Err(errno::EINVAL);
                }
                if self.securebits & SECBIT_KEEP_CAPS_LOCKED != 0 {
                    return Err(errno::EPERM);
                }
                if a2 == 1 {
                    self.securebits |= SECBIT_KEEP_CAPS;
                } else {
                    self.securebits &= !SECBIT_KEEP_CAPS;
                }
                ret(0)
            }
            // Statistical process timing is the only kind Linux has.
            PR_GET_TIMING => ret(0),
            PR_SET_TIMING => {
                if a2 != 0 {
                    return Err(errno::EINVAL);
                }
                ret(0)
            }
            PR_SET_NAME => Ok(Action::SetName(a2)),
            PR_GET_NAME => Ok(Action::GetName(a2)),
            // Mode 0: no seccomp. Filters cannot be honoured (every call is the runtime's own):
            // refused as by a kernel without seccomp.
            PR_GET_SECCOMP => ret(0),
            PR_CAPBSET_READ => {
                if !cap_valid(a2) {
                    return Err(errno::EINVAL);
                }
                ret((self.bounding >> a2) & 1)
            }
            PR_CAPBSET_DROP => {
                if !cap_valid(a2) {
                    return Err(errno::EINVAL);
                }
                self.bounding &= !(1 << a2);
                ret(0)
            }
            PR_GET_TSC => Ok(Action::PutInt(a2, PR_TSC_ENABLE)),
            PR_SET_TSC => {
                // Enabling is what already holds; making rdtsc fault cannot be done in ring 0.
                if a2 as i32 == PR_TSC_ENABLE {
                    ret(0)
                } else {
                    Err(errno::EINVAL)
                }
            }
            PR_GET_SECUREBITS => ret(self.securebits),
            PR_SET_SECUREBITS => {
                let old = self.securebits;
                let locked_changed = ((old & SECURE_ALL_LOCKS) >> 1) & (old ^ a2) != 0;
                let unlocking = old & SECURE_ALL_LOCKS & !a2 != 0;
                let unknown = a2 & !(SECURE_ALL_LOCKS | SECURE_ALL_BITS) != 0;
                if locked_changed || unlocking || unknown {
                    return Err(errno::EPERM);
                }
                self.securebits = a2;
                ret(0)
            }
            PR_SET_TIMERSLACK => {
                let (_, default) = self.slack(tid);
                let slack = if a2 == 0 { default } else { a2 };
                self.timer_slack.insert(tid, (slack, default));
                ret(0)
            }
            PR_GET_TIMERSLACK => ret(self.slack(tid).0),
            PR_TASK_PERF_EVENTS_DISABLE | PR_TASK_PERF_EVENTS_ENABLE => ret(0),
            PR_MCE_KILL => {
                if a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                match (a2, a3) {
                    (0, 0) => self.mce_kill = PR_MCE_KILL_DEFAULT,
                    (1, 0..=2) => self.mce_kill = a3,
                    _ => return Err(errno::EINVAL),
                }
                ret(0)
            }
            PR_MCE_KILL_GET => {
                if a2 | a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                ret(self.mce_kill)
            }
            PR_SET_CHILD_SUBREAPER => {
                self.subreaper = a2 != 0;
                ret(0)
            }
            PR_GET_CHILD_SUBREAPER => Ok(Action::PutInt(a2, self.subreaper as i32)),
            PR_SET_NO_NEW_PRIVS => {
                if a2 != 1 || a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                self.no_new_privs = true;
                ret(0)
            }
            PR_GET_NO_NEW_PRIVS => {
                if a2 | a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                ret(self.no_new_privs as u64)
            }
            PR_GET_TID_ADDRESS => Ok(Action::PutTidAddress(a2)),
            PR_SET_THP_DISABLE => {
                if a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                self.thp_disable = a2 != 0;
                ret(0)
            }
            PR_GET_THP_DISABLE => {
                if a2 | a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                ret(self.thp_disable as u64)
            }
            PR_CAP_AMBIENT => self.cap_ambient(a2, a3, a4, a5),
            PR_GET_SPECULATION_CTRL => {
                if a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                match a2 {
                    PR_SPEC_STORE_BYPASS | PR_SPEC_INDIRECT_BRANCH | PR_SPEC_L1D_FLUSH => {
                        ret(PR_SPEC_ENABLE)
                    }
                    _ => Err(errno::ENODEV),
                }
            }
            // "Control of the selected speculation misfeature is not possible."
            PR_SET_SPECULATION_CTRL => match a2 {
                PR_SPEC_STORE_BYPASS | PR_SPEC_INDIRECT_BRANCH | PR_SPEC_L1D_FLUSH => {
                    Err(errno::ENXIO)
                }
                _ => Err(errno::ENODEV),
            },
            PR_SET_IO_FLUSHER => {
                if a3 | a4 | a5 != 0 || a2 > 1 {
                    return Err(errno::EINVAL);
                }
                self.io_flusher = a2 == 1;
                ret(0)
            }
            PR_GET_IO_FLUSHER => {
                if a2 | a3 | a4 | a5 != 0 {
                    return Err(errno::EINVAL);
                }
                ret(self.io_flusher as u64)
            }
            // Core scheduling groups SMT siblings; one vCPU has none.
            PR_SCHED_CORE => Err(errno::ENODEV),
            // Nobody can ptrace a Kiln program; any tracer choice is moot and accepted.
            PR_SET_PTRACER => ret(0),
            _ => Err(errno::EINVAL),
        }
    }

    fn cap_ambient(&mut self, op: u64, cap: u64, a4: u64, a5: u64) -> Result<Action, Errno> {
        if op == PR_CAP_AMBIENT_CLEAR_ALL {
            if cap | a4 | a5 != 0 {
                return Err(errno::EINVAL);
            }
            self.ambient = 0;
            return Ok(Action::Return(0));
        }
        if !cap_valid(cap) || a4 | a5 != 0 {
            return Err(errno::EINVAL);
        }
        match op {
            PR_CAP_AMBIENT_IS_SET => Ok(Action::Return((self.ambient >> cap) & 1)),
            // A capability may join the ambient set only if it is permitted and inheritable;
            // root's inheritable set is empty.
            PR_CAP_AMBIENT_RAISE => Err(errno::EPERM),
            PR_CAP_AMBIENT_LOWER => {
                self.ambient &= !(1 << cap);
                Ok(Action::Return(0))
            }
            _ => Err(errno::EINVAL),
        }
    }

    /// Whether the bounding set still holds every capability (for tests and reports).
    pub fn full_bounding_set(&self) -> bool {
        self.bounding == all_caps()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(s: &mut State, option: u64, a: [u64; 4]) -> Result<Action, Errno> {
        s.apply(1, option, a)
    }

    #[test]
    fn unknown_options_are_einval() {
        let mut s = State::new();
        for option in [0, 5, 6, 9, 17, 19, 43, 45, 50, 54, 59, 65, 1000, u64::MAX] {
            assert_eq!(call(&mut s, option, [0; 4]), Err(errno::EINVAL), "{option}");
        }
        // PR_SET_SECCOMP and the unfulfillable PR_SET_TSC too.
        assert_eq!(
            call(&mut s, PR_SET_SECCOMP, [2, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(call(&mut s, PR_SET_TSC, [2, 0, 0, 0]), Err(errno::EINVAL));
        assert_eq!(
            call(&mut s, PR_SET_TSC, [1, 0, 0, 0]),
            Ok(Action::Return(0))
        );
    }

    #[test]
    fn ambient_capabilities_as_root() {
        let mut s = State::new();
        let amb = |s: &mut State, op, cap| call(s, PR_CAP_AMBIENT, [op, cap, 0, 0]);
        assert_eq!(
            amb(&mut s, PR_CAP_AMBIENT_CLEAR_ALL, 0),
            Ok(Action::Return(0))
        );
        assert_eq!(
            amb(&mut s, PR_CAP_AMBIENT_CLEAR_ALL, 1),
            Err(errno::EINVAL),
            "clear-all takes no capability"
        );
        assert_eq!(
            amb(&mut s, PR_CAP_AMBIENT_IS_SET, 10),
            Ok(Action::Return(0))
        );
        assert_eq!(amb(&mut s, PR_CAP_AMBIENT_RAISE, 10), Err(errno::EPERM));
        assert_eq!(amb(&mut s, PR_CAP_AMBIENT_LOWER, 10), Ok(Action::Return(0)));
        assert_eq!(amb(&mut s, PR_CAP_AMBIENT_IS_SET, 41), Err(errno::EINVAL));
        assert_eq!(amb(&mut s, 9, 1), Err(errno::EINVAL));
    }

    #[test]
    fn recorded_flags_read_back_with_linuxs_checks() {
        let mut s = State::new();
        assert_eq!(call(&mut s, PR_GET_DUMPABLE, [0; 4]), Ok(Action::Return(1)));
        assert_eq!(
            call(&mut s, PR_SET_DUMPABLE, [2, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_SET_DUMPABLE, [0, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(call(&mut s, PR_GET_DUMPABLE, [0; 4]), Ok(Action::Return(0)));

        assert_eq!(
            call(&mut s, PR_SET_NO_NEW_PRIVS, [0, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_GET_NO_NEW_PRIVS, [0; 4]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_SET_NO_NEW_PRIVS, [1, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_GET_NO_NEW_PRIVS, [0; 4]),
            Ok(Action::Return(1))
        );
        assert_eq!(
            call(&mut s, PR_GET_NO_NEW_PRIVS, [1, 0, 0, 0]),
            Err(errno::EINVAL)
        );

        assert_eq!(
            call(&mut s, PR_SET_PDEATHSIG, [65, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_SET_PDEATHSIG, [9, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_GET_PDEATHSIG, [0x1000, 0, 0, 0]),
            Ok(Action::PutInt(0x1000, 9))
        );
        assert_eq!(
            s.apply(2, PR_GET_PDEATHSIG, [8, 0, 0, 0]),
            Ok(Action::PutInt(8, 0)),
            "per thread"
        );

        assert_eq!(
            call(&mut s, PR_SET_KEEPCAPS, [2, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_SET_KEEPCAPS, [1, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(call(&mut s, PR_GET_KEEPCAPS, [0; 4]), Ok(Action::Return(1)));
        assert_eq!(
            call(&mut s, PR_GET_SECUREBITS, [0; 4]),
            Ok(Action::Return(SECBIT_KEEP_CAPS))
        );
        // Locking keep-caps forbids changing it.
        assert_eq!(
            call(&mut s, PR_SET_SECUREBITS, [0x30, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_SET_KEEPCAPS, [0, 0, 0, 0]),
            Err(errno::EPERM)
        );
        assert_eq!(
            call(&mut s, PR_SET_SECUREBITS, [0x20, 0, 0, 0]),
            Err(errno::EPERM)
        );
        assert_eq!(
            call(&mut s, PR_SET_SECUREBITS, [0x100, 0, 0, 0]),
            Err(errno::EPERM)
        );

        assert_eq!(
            call(&mut s, PR_SET_CHILD_SUBREAPER, [1, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_GET_CHILD_SUBREAPER, [0x40, 0, 0, 0]),
            Ok(Action::PutInt(0x40, 1))
        );
        assert_eq!(
            call(&mut s, PR_SET_THP_DISABLE, [1, 1, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_SET_THP_DISABLE, [1, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_GET_THP_DISABLE, [0; 4]),
            Ok(Action::Return(1))
        );
        assert_eq!(call(&mut s, PR_GET_SECCOMP, [0; 4]), Ok(Action::Return(0)));
        assert_eq!(
            call(&mut s, PR_MCE_KILL_GET, [0; 4]),
            Ok(Action::Return(PR_MCE_KILL_DEFAULT))
        );
        assert_eq!(
            call(&mut s, PR_MCE_KILL, [1, 1, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(call(&mut s, PR_MCE_KILL_GET, [0; 4]), Ok(Action::Return(1)));
        assert_eq!(call(&mut s, PR_MCE_KILL, [1, 3, 0, 0]), Err(errno::EINVAL));
    }

    #[test]
    fn timer_slack_is_per_thread_and_zero_resets_it() {
        let mut s = State::new();
        let get = |s: &mut State, tid| s.apply(tid, PR_GET_TIMERSLACK, [0; 4]);
        assert_eq!(get(&mut s, 1), Ok(Action::Return(DEFAULT_TIMER_SLACK_NS)));
        s.apply(1, PR_SET_TIMERSLACK, [1000, 0, 0, 0]).unwrap();
        assert_eq!(get(&mut s, 1), Ok(Action::Return(1000)));
        assert_eq!(get(&mut s, 2), Ok(Action::Return(DEFAULT_TIMER_SLACK_NS)));
        s.apply(1, PR_SET_TIMERSLACK, [0, 0, 0, 0]).unwrap();
        assert_eq!(get(&mut s, 1), Ok(Action::Return(DEFAULT_TIMER_SLACK_NS)));
        s.apply(3, PR_SET_TIMERSLACK, [7, 0, 0, 0]).unwrap();
        s.thread_exited(3);
        assert_eq!(get(&mut s, 3), Ok(Action::Return(DEFAULT_TIMER_SLACK_NS)));
        // A new thread inherits its creator's slack, and 0 resets it to that.
        s.apply(1, PR_SET_TIMERSLACK, [1000, 0, 0, 0]).unwrap();
        s.thread_started(1, 4);
        assert_eq!(get(&mut s, 4), Ok(Action::Return(1000)));
        s.apply(4, PR_SET_TIMERSLACK, [5000, 0, 0, 0]).unwrap();
        assert_eq!(get(&mut s, 4), Ok(Action::Return(5000)));
        s.apply(4, PR_SET_TIMERSLACK, [0, 0, 0, 0]).unwrap();
        assert_eq!(get(&mut s, 4), Ok(Action::Return(1000)));
    }

    #[test]
    fn capability_bounding_set() {
        let mut s = State::new();
        assert!(s.full_bounding_set());
        assert_eq!(
            call(&mut s, PR_CAPBSET_READ, [0, 0, 0, 0]),
            Ok(Action::Return(1))
        );
        assert_eq!(
            call(&mut s, PR_CAPBSET_READ, [CAP_LAST_CAP + 1, 0, 0, 0]),
            Err(errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, PR_CAPBSET_DROP, [10, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert_eq!(
            call(&mut s, PR_CAPBSET_READ, [10, 0, 0, 0]),
            Ok(Action::Return(0))
        );
        assert!(!s.full_bounding_set());
    }

    #[test]
    fn pointer_options_become_actions() {
        let mut s = State::new();
        assert_eq!(
            call(&mut s, PR_SET_NAME, [0x10, 0, 0, 0]),
            Ok(Action::SetName(0x10))
        );
        assert_eq!(
            call(&mut s, PR_GET_NAME, [0x20, 0, 0, 0]),
            Ok(Action::GetName(0x20))
        );
        assert_eq!(
            call(&mut s, PR_GET_TID_ADDRESS, [0x30, 0, 0, 0]),
            Ok(Action::PutTidAddress(0x30))
        );
        assert_eq!(
            call(&mut s, PR_GET_TSC, [0x40, 0, 0, 0]),
            Ok(Action::PutInt(0x40, 1))
        );
        assert_eq!(
            call(&mut s, PR_GET_SPECULATION_CTRL, [0, 0, 0, 0]),
            Ok(Action::Return(PR_SPEC_ENABLE))
        );
        assert_eq!(
            call(&mut s, PR_SET_SPECULATION_CTRL, [0, 4, 0, 0]),
            Err(errno::ENXIO)
        );
        assert_eq!(
            call(&mut s, PR_GET_SPECULATION_CTRL, [9, 0, 0, 0]),
            Err(errno::ENODEV)
        );
    }
}
