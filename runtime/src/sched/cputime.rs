//! CPU time: how long each thread has run, in program code (user time) and inside the
//! runtime's syscall handlers (system time), for `getrusage`, `times` and the CPU-time clocks.
//!
//! One [`Meter`] runs for the thread on the CPU. Every syscall's entry and exit switch it
//! between user and system time ([`Meter::enter_kernel`], [`Meter::leave_kernel`]); a thread
//! switch saves the outgoing thread's meter into its record and loads the incoming one's
//! ([`Meter::save`], [`Meter::load`]); while the CPU halts because every thread waits, no
//! thread is charged ([`Meter::pause`], [`Meter::resume`]). So time spent sleeping or blocked
//! counts for nobody, as on Linux, and the sum over all threads is the time the CPU ran.
//! Time comes in as an argument: all of it is host-tested.
#![forbid(unsafe_code)]

/// CPU time used, in nanoseconds, and the minor page faults taken (pages of the program
/// filled on first touch: `ru_minflt`).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Times {
    pub user_ns: u64,
    pub sys_ns: u64,
    pub minor_faults: u64,
}

impl Times {
    pub const ZERO: Times = Times {
        user_ns: 0,
        sys_ns: 0,
        minor_faults: 0,
    };

    pub const fn total_ns(self) -> u64 {
        self.user_ns.saturating_add(self.sys_ns)
    }

    pub const fn plus(self, other: Times) -> Times {
        Times {
            user_ns: self.user_ns.saturating_add(other.user_ns),
            sys_ns: self.sys_ns.saturating_add(other.sys_ns),
            minor_faults: self.minor_faults.saturating_add(other.minor_faults),
        }
    }
}

/// A switched-out thread's clock: what it used, and whether it was inside the runtime when
/// it left the CPU (every switch happens there, except a preemption, which interrupts
/// program code and runs the switch on the thread's behalf).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Saved {
    pub times: Times,
    pub in_kernel: bool,
}

/// The running thread's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meter {
    times: Times,
    in_kernel: bool,
    /// When the time not yet charged began; `None` while the CPU is paused (halted).
    since: Option<u64>,
}

impl Meter {
    /// A meter for a thread that starts running program code at `now`.
    pub const fn new(now: u64) -> Meter {
        Meter {
            times: Times::ZERO,
            in_kernel: false,
            since: Some(now),
        }
    }

    /// Charges the time since the last event to user or system time.
    fn charge(&mut self, now: u64) {
        if let Some(since) = self.since {
            let d = now.saturating_sub(since);
            if self.in_kernel {
                self.times.sys_ns = self.times.sys_ns.saturating_add(d);
            } else {
                self.times.user_ns = self.times.user_ns.saturating_add(d);
            }
            self.since = Some(now.max(since));
        }
    }

    /// A syscall starts: what ran before was program code.
    pub fn enter_kernel(&mut self, now: u64) {
        self.charge(now);
        self.in_kernel = true;
    }

    /// A syscall returns to the program.
    pub fn leave_kernel(&mut self, now: u64) {
        self.charge(now);
        self.in_kernel = false;
    }

    /// The CPU halts (every thread waits): nobody is charged until [`Meter::resume`].
    pub fn pause(&mut self, now: u64) {
        self.charge(now);
        self.since = None;
    }

    /// The CPU runs again after a halt.
    pub fn resume(&mut self, now: u64) {
        if self.since.is_none() {
            self.since = Some(now);
        }
    }

    /// The outgoing thread's clock at a switch.
    pub fn save(&mut self, now: u64) -> Saved {
        self.charge(now);
        Saved {
            times: self.times,
            in_kernel: self.in_kernel,
        }
    }

    /// The incoming thread's clock at a switch: it runs from `now`.
    pub fn load(&mut self, saved: Saved, now: u64) {
        *self = Meter {
            times: saved.times,
            in_kernel: saved.in_kernel,
            since: Some(now),
        };
    }

    /// The running thread took a page fault that filled a page.
    pub fn minor_fault(&mut self) {
        self.times.minor_faults = self.times.minor_faults.saturating_add(1);
    }

    /// What the running thread has used up to `now`, without changing the meter.
    pub fn peek(&self, now: u64) -> Times {
        let mut copy = *self;
        copy.charge(now);
        copy.times
    }
}

/// The running thread's meter. One CPU: one meter. Kernel-only users lock it briefly at
/// syscall entry and exit and at switches.
pub static RUNNING: spin::Mutex<Meter> = spin::Mutex::new(Meter::new(0));

/// A `struct timeval` (seconds, microseconds) for `ns`, as `getrusage` reports times.
pub const fn timeval(ns: u64) -> [u64; 2] {
    [ns / 1_000_000_000, ns % 1_000_000_000 / 1000]
}

/// Clock ticks (`sysconf(_SC_CLK_TCK)`, Linux's `USER_HZ` = 100) for `ns`, as `times` reports.
pub const fn clock_ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_split_at_syscalls() {
        let mut m = Meter::new(100);
        m.enter_kernel(150); // 50 ns of program code
        m.leave_kernel(180); // 30 ns in a handler
        assert_eq!(
            m.peek(200),
            Times {
                user_ns: 70,
                sys_ns: 30,
                minor_faults: 0,
            }
        );
        // peek changes nothing.
        assert_eq!(m.peek(200), m.peek(200));
        assert_eq!(m.peek(200).total_ns(), 100);
    }

    #[test]
    fn a_halt_charges_nobody() {
        let mut m = Meter::new(0);
        m.enter_kernel(10); // a sleep starts
        m.pause(20); // every thread waits: the CPU halts
        assert_eq!(m.peek(1_000).sys_ns, 10, "halted time is not charged");
        m.resume(1_000);
        m.resume(1_500); // a second resume keeps the first start
        m.leave_kernel(1_005);
        m.minor_fault();
        assert_eq!(m.peek(1_005).minor_faults, 1);
        assert_eq!(
            m.peek(1_010),
            Times {
                user_ns: 15,
                sys_ns: 15,
                minor_faults: 1,
            }
        );
    }

    #[test]
    fn switches_keep_each_threads_time_apart() {
        let mut m = Meter::new(0);
        m.enter_kernel(40); // thread A ran 40 ns, then waits in a syscall
        let a = m.save(50);
        assert_eq!(
            a,
            Saved {
                times: Times {
                    user_ns: 40,
                    sys_ns: 10,
                    minor_faults: 0,
                },
                in_kernel: true
            }
        );
        // Thread B was preempted in program code earlier: it resumes there.
        let b = Saved {
            times: Times {
                user_ns: 5,
                sys_ns: 0,
                minor_faults: 0,
            },
            in_kernel: false,
        };
        m.load(b, 50);
        let b = m.save(80);
        assert_eq!(b.times.user_ns, 35);
        // A comes back inside its syscall and returns from it.
        m.load(a, 80);
        m.leave_kernel(90);
        assert_eq!(
            m.peek(100),
            Times {
                user_ns: 50,
                sys_ns: 20,
                minor_faults: 0,
            }
        );
    }

    #[test]
    fn time_never_runs_backwards() {
        let mut m = Meter::new(100);
        m.enter_kernel(90);
        assert_eq!(m.peek(80), Times::ZERO);
        m.leave_kernel(120);
        assert_eq!(m.peek(120).sys_ns, 20);
    }

    #[test]
    fn conversions() {
        assert_eq!(timeval(1_234_567_891), [1, 234_567]);
        assert_eq!(clock_ticks(1_234_567_891), 123);
        let t = Times {
            user_ns: 1,
            sys_ns: 2,
            minor_faults: 3,
        }
        .plus(Times {
            user_ns: 10,
            sys_ns: 20,
            minor_faults: 0,
        });
        assert_eq!(t.total_ns(), 33);
        assert_eq!(t.minor_faults, 3);
    }
}
