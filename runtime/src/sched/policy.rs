//! The scheduling policy, as pure functions of the threads' states and the time: which thread
//! runs next, when the running one is preempted, and when the timer must fire next.
//!
//! Round robin with 4 ms slices, plus wake-up preemption: a waiter whose deadline has passed
//! runs next, ahead of the rotation, and an interrupt that may have made some waiter's
//! condition true (a device's) ends the running thread's slice so waiters re-check at once.
//! A thread computing without syscalls is preempted like any other: the slice timer runs
//! whenever two or more threads are alive, the first thread included.
#![forbid(unsafe_code)]

/// How long a thread runs before another ready one gets the CPU.
pub const TIME_SLICE_NS: u64 = 4_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Running or able to run.
    Ready,
    /// Re-checking a condition; may be woken by a deadline.
    Waiting { wake_at: Option<u64> },
    /// Gone; its kernel stack is freed by the next switch.
    Exited,
}

impl State {
    fn alive(self) -> bool {
        self != State::Exited
    }

    fn due(self, now: u64) -> Option<u64> {
        match self {
            State::Waiting { wake_at: Some(at) } if at <= now => Some(at),
            _ => None,
        }
    }
}

/// Why the CPU was interrupted while a thread ran program code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interrupt {
    /// The one-shot timer: a slice end or a waiter's deadline.
    Timer,
    /// A device: some waiter's condition may now hold.
    Device,
}

/// Number of threads that have not exited.
pub fn live(states: &[State]) -> usize {
    states.iter().filter(|s| s.alive()).count()
}

/// The thread to run after `current`, and the rotation's new position: the waiter whose
/// deadline passed longest ago (the rotation stays where it is: the jump costs nobody a
/// turn), else the first live thread from `rotation` on in round-robin order (the rotation
/// moves past it). `rotation` is the index the rotation would pick next; `None` when
/// `current` is the only live thread.
pub fn pick_next(
    states: &[State],
    current: usize,
    now: u64,
    rotation: usize,
) -> Option<(usize, usize)> {
    let n = states.len();
    let overdue = (0..n)
        .filter(|&i| i != current)
        .filter_map(|i| states[i].due(now).map(|at| (at, i)))
        .min_by_key(|&(at, _)| at);
    if let Some((_, i)) = overdue {
        return Some((i, rotation % n));
    }
    (0..n)
        .map(|k| (rotation + k) % n)
        .find(|&i| i != current && states[i].alive())
        .map(|i| (i, (i + 1) % n))
}

/// Whether the thread interrupted in program code gives up the CPU now.
pub fn should_preempt(
    states: &[State],
    current: usize,
    now: u64,
    slice_end: u64,
    why: Interrupt,
) -> bool {
    let others = states
        .iter()
        .enumerate()
        .filter(|&(i, s)| i != current && s.alive());
    let mut any_other = false;
    let mut waiter = false;
    for (_, s) in others {
        any_other = true;
        match s {
            State::Waiting { .. } if s.due(now).is_some() => return true,
            State::Waiting { .. } => waiter = true,
            _ => {}
        }
    }
    any_other && (now >= slice_end || (why == Interrupt::Device && waiter))
}

/// When the timer must next interrupt the running thread `current`: the end of its slice or
/// the earliest deadline of another thread, whichever is first; `None` while it runs alone.
pub fn next_timer(states: &[State], current: usize, slice_end: u64) -> Option<u64> {
    let mut others = states
        .iter()
        .enumerate()
        .filter(|&(i, s)| i != current && s.alive())
        .peekable();
    others.peek()?;
    let deadline = others
        .filter_map(|(_, s)| match s {
            State::Waiting { wake_at } => *wake_at,
            _ => None,
        })
        .min();
    Some(deadline.map_or(slice_end, |d| d.min(slice_end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    const W: State = Waiting { wake_at: None };

    fn at(t: u64) -> State {
        Waiting { wake_at: Some(t) }
    }

    #[test]
    fn round_robin_skips_the_exited() {
        let s = [Ready, Exited, Ready, W];
        assert_eq!(pick_next(&s, 0, 0, 1), Some((2, 3)));
        assert_eq!(pick_next(&s, 2, 0, 3), Some((3, 0)));
        assert_eq!(pick_next(&s, 3, 0, 0), Some((0, 1)));
        assert_eq!(pick_next(&[Ready, Exited], 0, 0, 1), None);
        assert_eq!(pick_next(&[Ready], 0, 0, 0), None);
    }

    #[test]
    fn an_overdue_waiter_jumps_the_rotation_without_moving_it() {
        let s = [Ready, Ready, at(50), at(20), at(90)];
        assert_eq!(pick_next(&s, 0, 10, 1), Some((1, 2)), "nobody due yet");
        assert_eq!(
            pick_next(&s, 0, 60, 1),
            Some((3, 1)),
            "longest overdue first"
        );
        assert_eq!(
            pick_next(&s, 3, 60, 1),
            Some((2, 1)),
            "never the current one"
        );
        assert_eq!(
            pick_next(&[Ready, Ready, Ready], 2, 0, 1),
            Some((1, 2)),
            "a thread preempted early (rotation left at it) resumes first"
        );
    }

    #[test]
    fn a_lone_thread_is_never_preempted_nor_timed() {
        for why in [Interrupt::Timer, Interrupt::Device] {
            assert!(!should_preempt(&[Ready], 0, 100, 0, why));
            assert!(!should_preempt(&[Ready, Exited], 0, 100, 0, why));
        }
        assert_eq!(next_timer(&[Ready, Exited], 0, 5), None);
    }

    #[test]
    fn the_slice_ends_for_a_spinner_with_company() {
        let s = [Ready, Ready];
        assert!(!should_preempt(&s, 0, 3, 4, Interrupt::Timer));
        assert!(should_preempt(&s, 0, 4, 4, Interrupt::Timer));
        assert!(
            !should_preempt(&s, 0, 3, 4, Interrupt::Device),
            "no waiter to re-check"
        );
        assert_eq!(next_timer(&s, 0, 4), Some(4));
    }

    #[test]
    fn waiters_get_the_cpu_on_time() {
        let s = [Ready, at(2), W];
        assert_eq!(next_timer(&s, 0, 4), Some(2), "the deadline is first");
        assert!(!should_preempt(&s, 0, 1, 4, Interrupt::Timer));
        assert!(should_preempt(&s, 0, 2, 4, Interrupt::Timer));
        assert!(
            should_preempt(&s, 0, 1, 4, Interrupt::Device),
            "a device may have satisfied a waiter"
        );
        assert_eq!(next_timer(&[Ready, at(9)], 0, 4), Some(4));
        assert_eq!(
            next_timer(&[at(1), Ready], 1, 4),
            Some(1),
            "other threads' deadlines only"
        );
    }

    /// Simulated time: four spinners (no syscalls) and a sleeper waking every 10 ms. Each
    /// spinner gets most of its fair share and the sleeper is never late.
    #[test]
    fn simulated_spinners_share_fairly_and_the_sleeper_is_punctual() {
        let mut s = [Ready, Ready, Ready, Ready, at(10_000_000)];
        let mut ran = [0u64; 5];
        let (mut cur, mut now) = (0usize, 0u64);
        let mut slice_end = TIME_SLICE_NS;
        let mut rotation = 1;
        let mut worst_lateness = 0;
        let end = 2_000_000_000;
        while now < end {
            let fire = next_timer(&s, cur, slice_end).unwrap().min(end);
            ran[cur] += fire - now;
            now = fire;
            if should_preempt(&s, cur, now, slice_end, Interrupt::Timer) {
                if now < slice_end {
                    rotation = cur; // preempted early: it resumes after the jump
                }
                (cur, rotation) = pick_next(&s, cur, now, rotation).unwrap();
                while s[cur] != Ready {
                    // The sleeper re-checks: if due, it prints and sleeps again; either way
                    // it waits, and the wait hands the CPU on.
                    if let Some(due) = s[cur].due(now) {
                        worst_lateness = worst_lateness.max(now - due);
                        s[cur] = at(now + 10_000_000);
                    }
                    (cur, rotation) = pick_next(&s, cur, now, rotation).unwrap();
                }
                slice_end = now + TIME_SLICE_NS;
            }
        }
        // A jump hands the interrupted spinner a fresh slice when it resumes, so shares are
        // not exact; every spinner still gets most of its fair share.
        let fair = end / 4;
        for (i, r) in ran[..4].iter().enumerate() {
            assert!(*r >= fair * 3 / 4, "spinner {i} ran {r} ns of {fair}");
        }
        assert_eq!(worst_lateness, 0);
    }
}
