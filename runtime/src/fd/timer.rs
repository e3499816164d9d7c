//! The arithmetic of an interval timer (timerfd): when it next expires and how many
//! expirations have passed. Time is a parameter (nanoseconds on the monotonic clock), so it
//! is tested with values.
#![forbid(unsafe_code)]

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TimerState {
    /// The next expiry, if armed.
    pub next: Option<u64>,
    /// 0 for a one-shot timer.
    pub interval: u64,
    /// Expirations counted but not yet read.
    pub pending: u64,
}

impl TimerState {
    /// Arms (or with `first == None` disarms) the timer; pending expirations are dropped.
    pub fn set(&mut self, first: Option<u64>, interval: u64) {
        self.next = first;
        self.interval = interval;
        self.pending = 0;
    }

    /// Counts the expirations up to `now` into `pending`.
    pub fn advance(&mut self, now: u64) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        match (now - next).checked_div(self.interval) {
            None => {
                // One-shot.
                self.pending = self.pending.saturating_add(1);
                self.next = None;
            }
            Some(elapsed) => {
                let periods = elapsed + 1;
                self.pending = self.pending.saturating_add(periods);
                self.next = Some(next.saturating_add(periods.saturating_mul(self.interval)));
            }
        }
    }

    /// Takes the pending expirations (read(2)); 0 means nothing yet.
    pub fn take(&mut self, now: u64) -> u64 {
        self.advance(now);
        core::mem::take(&mut self.pending)
    }

    pub fn ready(&self, now: u64) -> bool {
        self.pending > 0 || self.next.is_some_and(|n| now >= n)
    }

    /// Time left until the next expiry (0 when disarmed), as timerfd_gettime reports it.
    pub fn remaining(&self, now: u64) -> u64 {
        self.next.map_or(0, |n| n.saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot() {
        let mut t = TimerState::default();
        t.set(Some(100), 0);
        assert!(!t.ready(99));
        assert_eq!(t.take(99), 0);
        assert_eq!(t.remaining(40), 60);
        assert!(t.ready(100));
        assert_eq!(t.take(150), 1);
        assert_eq!(t.take(1000), 0, "a one-shot timer fires once");
        assert_eq!(t.remaining(1000), 0);
    }

    #[test]
    fn periodic_counts_missed_periods() {
        let mut t = TimerState::default();
        t.set(Some(100), 10);
        assert_eq!(t.take(100), 1);
        assert_eq!(t.take(135), 3, "110, 120, 130");
        assert_eq!(t.next, Some(140));
        assert_eq!(t.remaining(135), 5);
    }

    #[test]
    fn rearming_and_disarming_drop_pending() {
        let mut t = TimerState::default();
        t.set(Some(10), 0);
        t.advance(20);
        t.set(None, 0);
        assert_eq!(t.take(30), 0);
        assert!(!t.ready(u64::MAX));
    }
}
