//! Disciplining the TSC clock with the RTC's second edges: pure arithmetic over TSC values,
//! so it is unit-tested on the host with simulated clocks.
//!
//! CLOCK_MONOTONIC is a piecewise-linear map of the TSC. The rate starts from the short PIT
//! calibration at boot (a few percent off under TCG) and is re-estimated from the TSC values
//! at RTC second edges (the update-ended interrupt): over a baseline of `n` seconds the error
//! is the edges' timing jitter divided by `n`, so it falls below 1 ppm within minutes. Each new
//! estimate starts a new segment at the current time, so the clock never jumps.
//!
//! CLOCK_REALTIME is CLOCK_MONOTONIC plus an offset. At boot the offset comes from the RTC
//! (whole seconds, so up to a second behind); each edge then says what the RTC's time is
//! exactly at that TSC value. A time handed over by the host ([`Discipline::start_wall`]) is
//! better still: QEMU's RTC counts whole seconds from the moment it was created, so its
//! edges lag the host's seconds by a fraction fixed for the VM's life; after a hand-over the
//! edges keep the clock at the RTC plus that lag (so it follows the host's clock through the
//! RTC). Behind: the clock steps forward at once. Ahead: it is slewed back, running 0.05%
//! slow until the difference is absorbed — it never steps backwards, as Linux's adjtime
//! slews.
#![forbid(unsafe_code)]

const NS_PER_SEC: u128 = 1_000_000_000;
/// How much slower than the monotonic clock a slewing realtime clock runs: the difference is
/// absorbed over `SLEW_SECONDS`, at least at 500 ppm (1/2000, Linux's adjtime rate) and at
/// most at 4000 ppm (1/250) — the first second edges find the boot calibration's error,
/// tens of ms, which 500 ppm would take a minute and a half to absorb.
const SLEW_SECONDS: u64 = 8;
const SLEW_DIVISOR_MAX: u64 = 2000;
const SLEW_DIVISOR_MIN: u64 = 250;
/// Edges that imply a rate this far (1/8 = 12.5%) from the current estimate are not the RTC
/// ticking (a missed edge counted wrong, the host's clock set): they restart the estimate.
const PLAUSIBLE_DIVISOR: u64 = 8;
/// Rate estimates after which the rate is trusted to measure the wall clock's lead over the
/// RTC (the 7th is over a 64 s baseline).
const SETTLED_FITS: u64 = 7;

/// A backward correction of the wall clock, absorbed gradually.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Slew {
    /// Monotonic ns at which it started.
    from_ns: u64,
    /// How many ns the wall clock is to lose in all (0: none).
    total_ns: u64,
    /// The wall clock loses one ns every `divisor` ns.
    divisor: u64,
}

impl Slew {
    fn new(from_ns: u64, total_ns: u64) -> Slew {
        let divisor = (SLEW_SECONDS * NS_PER_SEC as u64 / total_ns.max(1))
            .clamp(SLEW_DIVISOR_MIN, SLEW_DIVISOR_MAX);
        Slew {
            from_ns,
            total_ns,
            divisor,
        }
    }

    fn applied(&self, mono_ns: u64) -> u64 {
        if self.total_ns == 0 {
            return 0;
        }
        (mono_ns.saturating_sub(self.from_ns) / self.divisor).min(self.total_ns)
    }
}

/// The number of words a [`Segment`] takes.
pub const WORDS: usize = 7;

/// What readers of the clock need: the current linear segment and the wall clock's offset.
/// Seven words, so the kernel can publish it to lock-free readers ([`Segment::to_words`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    base_tsc: u64,
    base_ns: u64,
    hz: u64,
    /// Unix ns at monotonic 0 (before any slew).
    offset_ns: u64,
    slew: Slew,
}

impl Segment {
    /// Monotonic ns at `tsc` (never less than at the segment's start).
    pub fn monotonic_ns(&self, tsc: u64) -> u64 {
        let ticks = tsc.saturating_sub(self.base_tsc) as u128;
        let ns = ticks * NS_PER_SEC / self.hz as u128;
        self.base_ns.saturating_add(ns.min(u64::MAX as u128) as u64)
    }

    /// Unix ns at `tsc`.
    pub fn realtime_ns(&self, tsc: u64) -> u64 {
        let mono = self.monotonic_ns(tsc);
        (mono + self.offset_ns).saturating_sub(self.slew.applied(mono))
    }

    /// Nanoseconds in `ticks` of the TSC at the segment's rate.
    fn ns_of(&self, ticks: u64) -> u64 {
        (ticks as u128 * NS_PER_SEC / self.hz as u128).min(u64::MAX as u128) as u64
    }

    /// Ticks of the TSC in `ns` at the segment's rate.
    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        (ns as u128 * self.hz as u128 / NS_PER_SEC).min(u64::MAX as u128) as u64
    }

    /// The rate, in TSC ticks per second.
    pub fn hz(&self) -> u64 {
        self.hz
    }

    pub fn to_words(self) -> [u64; WORDS] {
        [
            self.base_tsc,
            self.base_ns,
            self.hz,
            self.offset_ns,
            self.slew.from_ns,
            self.slew.total_ns,
            self.slew.divisor,
        ]
    }

    pub fn from_words(w: [u64; WORDS]) -> Segment {
        Segment {
            base_tsc: w[0],
            base_ns: w[1],
            hz: w[2].max(1),
            offset_ns: w[3],
            slew: Slew {
                from_ns: w[4],
                total_ns: w[5],
                divisor: w[6].max(1),
            },
        }
    }
}

/// The clock's state. All methods take the TSC value they are about.
#[derive(Clone, Debug)]
pub struct Discipline {
    seg: Segment,
    /// The edge the rate is measured from: (tsc, unix second).
    first_edge: Option<(u64, i64)>,
    /// The baseline (seconds since `first_edge`) at which the rate is estimated next.
    next_fit: i64,
    /// The wall clock's lead over the RTC in ns: 0 while the RTC sets the time; fixed once
    /// the rate has settled after a hand-over.
    rtc_lag_ns: i64,
    /// A time the host handed over, (tsc, unix ns), while the lead over the RTC is still
    /// being measured from it.
    handover: Option<(u64, u64)>,
    /// Edges seen, and rate estimates made (for diagnostics).
    pub edges: u64,
    pub fits: u64,
}

impl Discipline {
    /// A clock whose monotonic zero is at `zero_tsc`, counting `hz` ticks per second, with
    /// the wall clock at `unix_ns_at_zero` then.
    pub fn new(zero_tsc: u64, hz: u64, unix_ns_at_zero: u64) -> Discipline {
        Discipline {
            seg: Segment {
                base_tsc: zero_tsc,
                base_ns: 0,
                hz: hz.max(1),
                offset_ns: unix_ns_at_zero,
                slew: Slew::default(),
            },
            first_edge: None,
            next_fit: 1,
            rtc_lag_ns: 0,
            handover: None,
            edges: 0,
            fits: 0,
        }
    }

    /// What readers need now.
    pub fn segment(&self) -> Segment {
        self.seg
    }

    /// The current rate estimate, in TSC ticks per second.
    pub fn hz(&self) -> u64 {
        self.seg.hz
    }

    pub fn monotonic_ns(&self, tsc: u64) -> u64 {
        self.seg.monotonic_ns(tsc)
    }

    pub fn realtime_ns(&self, tsc: u64) -> u64 {
        self.seg.realtime_ns(tsc)
    }

    /// Sets the wall clock from the RTC read at boot, if that is ahead of what the clock
    /// says: `unix_ns` at `tsc`.
    pub fn advance_to(&mut self, tsc: u64, unix_ns: u64) {
        let now = self.realtime_ns(tsc);
        if unix_ns > now {
            self.seg.offset_ns += unix_ns - now;
        }
    }

    /// At boot, before anything read the clock: the host says the time was `unix_ns` when
    /// the TSC read `tsc`. The wall clock is set to it whichever way that moves it (no reader
    /// can see a step back yet), and from here on the RTC's edges keep the host's lead over
    /// the RTC.
    pub fn start_wall(&mut self, tsc: u64, unix_ns: u64, now: u64) {
        let truth = self.truth_at(tsc, unix_ns, now);
        self.seg.slew = Slew::default();
        self.seg.offset_ns = truth.saturating_sub(self.monotonic_ns(now));
        self.handover = Some((now, truth));
    }

    /// The host's `unix_ns` at `tsc`, carried forward to `now` at the current rate.
    fn truth_at(&self, tsc: u64, unix_ns: u64, now: u64) -> u64 {
        let elapsed = self.monotonic_ns(now) as i128 - self.monotonic_ns(tsc) as i128
            + if tsc < self.seg.base_tsc {
                // Before the clock's zero (the host's time is of the VM's start).
                self.seg.ns_of(self.seg.base_tsc - tsc) as i128
            } else {
                0
            };
        (unix_ns as i128 + elapsed).max(0) as u64
    }

    /// Makes the wall clock read `truth` at `now`: a step forward, or a slew back.
    fn steer(&mut self, truth: u64, now: u64) {
        let mono = self.monotonic_ns(now);
        // Fold what a slew in progress has done so far into the offset.
        let s = core::mem::take(&mut self.seg.slew);
        self.seg.offset_ns = self.seg.offset_ns.saturating_sub(s.applied(mono));
        let shown = mono + self.seg.offset_ns;
        if truth >= shown {
            self.seg.offset_ns += truth - shown;
        } else {
            self.seg.slew = Slew::new(mono, shown - truth);
        }
    }

    /// The RTC's seconds turned to `unix_sec` when the TSC read `tsc`; the TSC reads `now`
    /// (the edge is handled after it happened: changes start at `now`, so no reading taken
    /// in between is contradicted).
    pub fn on_edge(&mut self, tsc: u64, unix_sec: i64, now: u64) {
        self.edges += 1;
        let now = now.max(tsc);
        self.fit_rate(tsc, unix_sec, now);
        self.correct_wall(tsc, unix_sec, now);
    }

    fn fit_rate(&mut self, tsc: u64, unix_sec: i64, now: u64) {
        let Some((t0, s0)) = self.first_edge else {
            self.first_edge = Some((tsc, unix_sec));
            return;
        };
        let secs = unix_sec - s0;
        if secs <= 0 || tsc <= t0 {
            // The host's clock went back (or the same second twice): measure afresh.
            self.restart_fit(tsc, unix_sec);
            return;
        }
        if secs < self.next_fit {
            return;
        }
        let hz = (tsc - t0) / secs as u64;
        if hz.abs_diff(self.seg.hz) > self.seg.hz / PLAUSIBLE_DIVISOR {
            self.restart_fit(tsc, unix_sec);
            return;
        }
        // A new segment from now on, continuous with the old one.
        self.seg.base_ns = self.monotonic_ns(now);
        self.seg.base_tsc = now;
        self.seg.hz = hz;
        self.fits += 1;
        // Baselines 1, 2, 4, ... 1024 s, then every 1024 s (the error keeps shrinking).
        self.next_fit = if secs < 1024 { secs * 2 } else { secs + 1024 };
    }

    fn restart_fit(&mut self, tsc: u64, unix_sec: i64) {
        self.first_edge = Some((tsc, unix_sec));
        self.next_fit = 1;
    }

    fn correct_wall(&mut self, tsc: u64, unix_sec: i64, now: u64) {
        let Ok(secs) = u64::try_from(unix_sec) else {
            return;
        };
        // The RTC's time now, by the edge and the elapsed ticks since.
        let rtc = secs
            .saturating_mul(NS_PER_SEC as u64)
            .saturating_add(self.monotonic_ns(now) - self.monotonic_ns(tsc));
        if let Some((ho_tsc, ho_ns)) = self.handover {
            if self.fits == 0 {
                // The boot calibration's rate would misjudge the time since the hand-over.
                return;
            }
            // The host's time at this edge, by the hand-over and the (now better) rate.
            let host = ho_ns as i128 + self.seg.ns_of(tsc.saturating_sub(ho_tsc)) as i128;
            self.rtc_lag_ns = (host - secs as i128 * NS_PER_SEC as i128) as i64;
            if self.fits >= SETTLED_FITS {
                // The rate is good to a few ppm: keep this lead and follow the RTC (which
                // follows the host's clock) from here on.
                self.handover = None;
            }
        }
        let truth = (rtc as i128 + self.rtc_lag_ns as i128).max(0) as u64;
        self.steer(truth, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated machine: the TSC really runs at `true_hz` and started at the Unix time
    /// `start_ns` (TSC 0).
    struct Sim {
        true_hz: u64,
        start_ns: u64,
    }

    impl Sim {
        fn tsc_at(&self, unix_ns: u64) -> u64 {
            ((unix_ns - self.start_ns) as u128 * self.true_hz as u128 / NS_PER_SEC) as u64
        }
        fn unix_at(&self, tsc: u64) -> u64 {
            self.start_ns + (tsc as u128 * NS_PER_SEC / self.true_hz as u128) as u64
        }
    }

    const SEC: u64 = 1_000_000_000;

    fn booted(sim: &Sim, boot_error_ppm: i64) -> Discipline {
        // The boot calibration is off by `boot_error_ppm`; the RTC read at boot gives the
        // whole second.
        let hz = (sim.true_hz as i64 + sim.true_hz as i64 / 1_000_000 * boot_error_ppm) as u64;
        Discipline::new(0, hz, sim.start_ns / SEC * SEC)
    }

    #[test]
    fn edges_fix_the_wall_clock_and_the_rate() {
        let sim = Sim {
            true_hz: 2_400_000_000,
            start_ns: 1_700_000_000 * SEC + 730_000_000,
        };
        let mut d = booted(&sim, 45_000); // 4.5% fast, as measured under TCG
        let boot_err = sim.start_ns - d.realtime_ns(0);
        assert_eq!(boot_err, 730_000_000, "the RTC's whole second is behind");
        let first = sim.start_ns / SEC + 1;
        for s in first..first + 600 {
            // Each edge arrives 50 us late (interrupt latency).
            let edge = sim.tsc_at(s * SEC + 50_000);
            d.on_edge(edge, s as i64, edge + 1_000_000);
        }
        let later = sim.tsc_at((first + 600) * SEC + 400_000_000);
        let truth = sim.unix_at(later);
        let wall = d.realtime_ns(later);
        assert!(
            truth.abs_diff(wall) < 1_000_000,
            "within 1 ms after 10 minutes: {} ns",
            truth.abs_diff(wall)
        );
        let ppm = d.hz().abs_diff(sim.true_hz) * 1_000_000 / sim.true_hz;
        assert!(ppm < 1, "rate within 1 ppm: {ppm} ppm");
        assert!(d.fits >= 9);
    }

    #[test]
    fn monotonic_never_jumps_when_the_rate_changes() {
        let sim = Sim {
            true_hz: 1_000_000_000,
            start_ns: 1_000 * SEC,
        };
        let mut d = booted(&sim, -30_000);
        let mut last = 0;
        let mut last_wall = d.realtime_ns(0);
        for s in 1001..1100u64 {
            let edge = sim.tsc_at(s * SEC);
            // Just before and at the edge: both clocks move forward.
            for tsc in [edge - 1, edge, edge + 1] {
                let m = d.monotonic_ns(tsc);
                assert!(m >= last, "monotonic went back at {s}: {m} < {last}");
                last = m;
            }
            // Handled a little later, as the wait path does.
            let now = edge + 2;
            d.on_edge(edge, s as i64, now);
            let m = d.monotonic_ns(now);
            assert!(m >= last);
            last = m;
            let w = d.realtime_ns(now);
            assert!(w >= last_wall, "realtime went back at {s}");
            last_wall = w;
        }
    }

    #[test]
    fn a_clock_ahead_is_slewed_back_never_stepped() {
        // The boot calibration is 4.5% slow: ns per tick too many, so the clock runs ahead.
        let sim = Sim {
            true_hz: 1_000_000_000,
            start_ns: 5_000 * SEC + 10_000_000,
        };
        let mut d = Discipline::new(0, 955_000_000, 5_000 * SEC + 9_000_000);
        // By the first edge (990 ms later) the clock is ~46 ms ahead.
        let edge = sim.tsc_at(5_001 * SEC);
        let before = d.realtime_ns(edge);
        assert!(before > 5_001 * SEC + 40_000_000);
        d.on_edge(edge, 5_001, edge);
        assert_eq!(d.realtime_ns(edge), before, "no step back");
        // Half a millisecond later the slew has started to absorb it (the clock moved less
        // than the monotonic clock), and the clock still moved forward.
        let t = edge + 500_000;
        let moved = d.realtime_ns(t) - before;
        assert!(moved > 0 && moved < d.monotonic_ns(t) - d.monotonic_ns(edge));
        // Long after, with more edges, the error is gone.
        for s in 5_002..5_200u64 {
            let e = sim.tsc_at(s * SEC);
            d.on_edge(e, s as i64, e);
        }
        let t = sim.tsc_at(5_200 * SEC);
        assert!(sim.unix_at(t).abs_diff(d.realtime_ns(t)) < 1_000_000);
    }

    #[test]
    fn a_better_boot_time_advances_but_never_rewinds() {
        let mut d = Discipline::new(100, 1_000_000_000, 50 * SEC);
        d.advance_to(100, 50 * SEC + 300_000_000);
        assert_eq!(d.realtime_ns(100), 50 * SEC + 300_000_000);
        d.advance_to(100, 49 * SEC);
        assert_eq!(d.realtime_ns(100), 50 * SEC + 300_000_000);
    }

    #[test]
    fn after_a_hand_over_the_edges_keep_the_hosts_lead_over_the_rtc() {
        // QEMU's RTC was created at host time 1000.4 s: its seconds lag the host's by 0.4 s.
        let sim = Sim {
            true_hz: 1_000_000_000,
            start_ns: 1_000 * SEC + 450_000_000,
        };
        let mut d = booted(&sim, 20_000);
        d.advance_to(0, 1_000 * SEC); // the RTC read at boot says 1000
        let rtc_edge = |k: u64| sim.tsc_at(1_000 * SEC + 400_000_000 + k * SEC);
        // The host hands over its time (exact) 10 ms after boot.
        let at = sim.tsc_at(sim.start_ns + 10_000_000);
        d.start_wall(at, sim.unix_at(at), at);
        assert_eq!(d.realtime_ns(at), sim.unix_at(at));
        for k in 1..300 {
            let e = rtc_edge(k);
            d.on_edge(e, 1_000 + k as i64, e + 1000);
            let t = e + 500_000_000;
            let err = sim.unix_at(t).abs_diff(d.realtime_ns(t));
            // The first edges come while the rate is still the boot calibration's.
            if k > 4 {
                assert!(err < 1_000_000, "edge {k}: {err} ns off the host");
            }
        }
    }

    #[test]
    fn a_time_handed_over_at_boot_sets_the_clock_either_way() {
        let sim = Sim {
            true_hz: 2_445_000_000,
            start_ns: 5_000 * SEC + 700_000_000,
        };
        for rtc_error in [-(SEC as i64) - 300_000_000, 400_000_000] {
            let mut d = booted(&sim, 500);
            d.advance_to(0, (sim.start_ns as i64 + rtc_error) as u64);
            // The host's time at the middle of the exchange, taken up 3 ms later.
            let at = sim.tsc_at(sim.start_ns + 1_000_000);
            let now = sim.tsc_at(sim.start_ns + 4_000_000);
            d.start_wall(at, sim.unix_at(at), now);
            let err = d.realtime_ns(now).abs_diff(sim.unix_at(now));
            assert!(
                err < 10_000,
                "RTC off by {rtc_error} ns: {err} ns off the host"
            );
            // The edges then keep it (the RTC lags the host by 0.3 s here).
            for k in 1..100 {
                let e = sim.tsc_at(5_001 * SEC + 400_000_000 + (k - 1) * SEC);
                d.on_edge(e, 5_000 + k as i64, e + 1000);
                let t = e + 300_000_000;
                let err = sim.unix_at(t).abs_diff(d.realtime_ns(t));
                assert!(err < 1_000_000, "edge {k}: {err} ns off the host");
            }
        }
    }

    #[test]
    fn a_segment_survives_its_words() {
        // Half a second ahead at the first edge: the segment carries a slew.
        let mut d = Discipline::new(7, 1_000_000_000, 10 * SEC + SEC / 2);
        d.on_edge(1_000_000_007, 11, 1_000_000_107);
        let seg = d.segment();
        assert_ne!(seg.slew, Slew::default());
        assert_eq!(Segment::from_words(seg.to_words()), seg);
    }

    #[test]
    fn implausible_edges_restart_the_estimate() {
        let mut d = Discipline::new(0, 1_000_000_000, 0);
        d.on_edge(1_000_000_000, 1, 1_000_000_000);
        // The host's clock jumps an hour ahead: not a rate of 3600 GHz.
        d.on_edge(2_000_000_000, 3_602, 2_000_000_000);
        assert_eq!(d.hz(), 1_000_000_000);
        d.on_edge(3_000_000_000, 3_603, 3_000_000_000);
        assert_eq!(d.hz(), 1_000_000_000, "measured afresh from the jump");
        assert_eq!(d.fits, 1);
        // And the wall clock followed the host forward.
        assert!(d.realtime_ns(3_000_000_000) >= 3_603 * SEC);
    }
}
