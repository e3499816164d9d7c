//! A pending set with its queue of `siginfo`s (a thread's private one, or the process's
//! shared one). A standard signal (1-31) is pending at most once: sending it again while it is
//! pending merges with the first. Real-time signals (32-64) queue every instance, in order.
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;

use super::info::{SigInfo, SI_USER};
use super::{SigSet, SIGRTMIN};

/// How many siginfos one queue holds (Linux's `RLIMIT_SIGPENDING` is in the thousands; past
/// it a signal still becomes pending, without its information, and sigqueue fails with
/// EAGAIN).
pub const QUEUE_LIMIT: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct Pending {
    set: SigSet,
    queue: VecDeque<SigInfo>,
}

/// What [`Pending::push`] did with a signal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pushed {
    /// Now pending (queued with its information).
    Queued,
    /// A standard signal that was pending already: merged into that one.
    Merged,
    /// The queue is full: pending, but its information is lost (a real-time signal sent by
    /// sigqueue should fail with EAGAIN instead: see [`Pending::full`]).
    WithoutInfo,
}

impl Pending {
    pub const fn new() -> Pending {
        Pending {
            set: SigSet::EMPTY,
            queue: VecDeque::new(),
        }
    }

    /// The signals pending here.
    pub fn set(&self) -> SigSet {
        self.set
    }

    /// True when no more siginfos can be queued.
    pub fn full(&self) -> bool {
        self.queue.len() >= QUEUE_LIMIT
    }

    pub fn push(&mut self, info: SigInfo) -> Pushed {
        let sig = info.signo();
        if sig < SIGRTMIN && self.set.contains(sig) {
            return Pushed::Merged;
        }
        self.set.add(sig);
        if self.full() {
            return Pushed::WithoutInfo;
        }
        self.queue.push_back(info);
        Pushed::Queued
    }

    /// The signal to take next among `allowed`: a synchronous one (a fault's) first, else
    /// the lowest number (Linux's `next_signal`).
    pub fn next(&self, allowed: SigSet) -> Option<u32> {
        let ready = self.set.and(allowed);
        let sync = ready.and(SigSet::SYNCHRONOUS);
        if sync.is_empty() {
            ready.lowest()
        } else {
            sync.lowest()
        }
    }

    /// Takes one instance of `sig` (which must be pending): its first queued siginfo, or a
    /// bare `SI_USER` one if it lost its information. `sig` stays pending while more
    /// instances are queued.
    pub fn take(&mut self, sig: u32) -> SigInfo {
        let mut found = None;
        let mut more = false;
        for (i, info) in self.queue.iter().enumerate() {
            if info.signo() == sig {
                if found.is_none() {
                    found = Some(i);
                } else {
                    more = true;
                    break;
                }
            }
        }
        if !more {
            self.set.remove(sig);
        }
        match found.and_then(|i| self.queue.remove(i)) {
            Some(info) => info,
            None => SigInfo::from_sender(sig, SI_USER, 0, 0),
        }
    }

    /// Takes the next signal among `allowed`.
    pub fn take_next(&mut self, allowed: SigSet) -> Option<SigInfo> {
        let sig = self.next(allowed)?;
        Some(self.take(sig))
    }

    /// Drops every pending instance of the signals in `sigs` (a disposition set to ignore,
    /// SIGCONT clearing stops).
    pub fn discard(&mut self, sigs: SigSet) {
        self.set = self.set.minus(sigs);
        self.queue.retain(|i| !sigs.contains(i.signo()));
    }

    /// True if a siginfo matching `f` is queued (a timer's signal still waiting).
    pub fn any(&self, f: impl Fn(&SigInfo) -> bool) -> bool {
        self.queue.iter().any(f)
    }

    /// Drops queued siginfos matching `f` (a deleted timer's); their signal stays pending
    /// only if other instances remain.
    pub fn remove_where(&mut self, f: impl Fn(&SigInfo) -> bool) {
        let removed: alloc::vec::Vec<u32> = self
            .queue
            .iter()
            .filter(|i| f(i))
            .map(|i| i.signo())
            .collect();
        self.queue.retain(|i| !f(i));
        for sig in removed {
            if !self.queue.iter().any(|i| i.signo() == sig) {
                self.set.remove(sig);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::info::{SI_QUEUE, SI_TKILL};
    use crate::signal::*;

    fn q(sig: u32, value: u32) -> SigInfo {
        SigInfo::from_sender(sig, SI_QUEUE, value, 0)
    }

    #[test]
    fn standard_signals_merge_real_time_ones_queue() {
        let mut p = Pending::new();
        assert_eq!(p.push(q(SIGUSR1, 1)), Pushed::Queued);
        assert_eq!(p.push(q(SIGUSR1, 2)), Pushed::Merged);
        assert_eq!(p.push(q(40, 1)), Pushed::Queued);
        assert_eq!(p.push(q(40, 2)), Pushed::Queued);
        let first = p.take(40);
        assert_eq!(first, q(40, 1));
        assert!(p.set().contains(40), "a second instance is still queued");
        assert_eq!(p.take(40), q(40, 2));
        assert!(!p.set().contains(40));
        assert_eq!(
            p.take(SIGUSR1),
            q(SIGUSR1, 1),
            "the first sender's information"
        );
        assert!(p.set().is_empty());
    }

    #[test]
    fn faults_first_then_lowest() {
        let mut p = Pending::new();
        p.push(SigInfo::from_sender(SIGTERM, SI_TKILL, 1, 0));
        p.push(SigInfo::from_sender(SIGHUP, SI_TKILL, 1, 0));
        p.push(SigInfo::fault(SIGSEGV, 1, 0));
        assert_eq!(p.next(SigSet::ALL), Some(SIGSEGV));
        assert_eq!(p.next(SigSet::ALL.minus(SigSet::of(SIGSEGV))), Some(SIGHUP));
        assert_eq!(p.next(SigSet::of(SIGTERM)), Some(SIGTERM));
        assert_eq!(p.next(SigSet::of(SIGINT)), None);
        p.discard(SigSet::of(SIGHUP).union(SigSet::of(SIGSEGV)));
        assert_eq!(p.take_next(SigSet::ALL).map(|i| i.signo()), Some(SIGTERM));
        assert_eq!(p.take_next(SigSet::ALL), None);
    }

    #[test]
    fn a_full_queue_keeps_the_signal_without_its_information() {
        let mut p = Pending::new();
        for i in 0..QUEUE_LIMIT {
            assert_eq!(p.push(q(50, i as u32)), Pushed::Queued);
        }
        assert!(p.full());
        assert_eq!(p.push(q(SIGINT, 9)), Pushed::WithoutInfo);
        assert!(p.set().contains(SIGINT));
        let bare = p.take(SIGINT);
        assert_eq!((bare.signo(), bare.code()), (SIGINT, SI_USER));
        p.remove_where(|i| i.signo() == 50);
        assert!(p.set().is_empty());
    }
}
