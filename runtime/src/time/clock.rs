//! The hardware side of time: PIT calibration, the RTC and its second edges, clocks and
//! sleeping.
//!
//! The TSC is the clock source. Its rate comes first from a 2 ms calibration against the PIT
//! (within about 0.05% under TCG), then from the RTC's update-ended interrupt, once a second:
//! [`super::discipline`] turns the TSC values of those edges into the rate and the wall
//! clock's sub-second offset. Readers take the published [`Segment`] lock-free, through a
//! sequence counter (the writer, the RTC's event source, runs in kernel code).

use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::instructions::port::Port;

use super::civil;
use super::discipline::{Discipline, Segment, WORDS as SEGMENT_WORDS};
use crate::arch::{apic, cpu, ioapic, irq};

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 2;
const NANOS_PER_SEC: u64 = 1_000_000_000;

static APIC_HZ: AtomicU64 = AtomicU64::new(0);
/// TSC at the image's first instruction: the zero of CLOCK_MONOTONIC.
static TSC_ZERO: AtomicU64 = AtomicU64::new(0);

/// The clock's writer side.
static DISCIPLINE: Mutex<Option<Discipline>> = Mutex::new(None);
/// The published [`Segment`], its words under a sequence counter (odd while written).
static SEQ: AtomicU64 = AtomicU64::new(0);
static WORDS: [AtomicU64; SEGMENT_WORDS] = [const { AtomicU64::new(0) }; SEGMENT_WORDS];

fn publish(seg: Segment) {
    SEQ.fetch_add(1, Ordering::AcqRel);
    for (w, v) in WORDS.iter().zip(seg.to_words()) {
        w.store(v, Ordering::Release);
    }
    SEQ.fetch_add(1, Ordering::AcqRel);
}

/// The clock readers use now.
fn segment() -> Segment {
    loop {
        let before = SEQ.load(Ordering::Acquire);
        if before & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        let words = core::array::from_fn(|i| WORDS[i].load(Ordering::Acquire));
        if SEQ.load(Ordering::Acquire) == before {
            return Segment::from_words(words);
        }
    }
}

/// Calibrates the TSC and the APIC timer against the PIT, and reads the RTC.
pub fn init(boot_tsc: u64) {
    TSC_ZERO.store(boot_tsc, Ordering::Relaxed);
    let (tsc_hz, apic_hz) = calibrate();
    APIC_HZ.store(apic_hz, Ordering::Relaxed);
    let mut d = Discipline::new(boot_tsc, tsc_hz, 0);
    match read_rtc() {
        Some(unix) => d.advance_to(cpu::rdtsc(), unix as u64 * NANOS_PER_SEC),
        None => kinfo!("warning: no CMOS RTC; the wall clock starts at 1970-01-01"),
    }
    publish(d.segment());
    *DISCIPLINE.lock() = Some(d);
}

/// The RTC's update-ended interrupt: a second edge, stamped with the TSC in the handler.
struct RtcEdges {
    irq: irq::Irq,
}

static RTC_EDGES: spin::Once<RtcEdges> = spin::Once::new();

/// Turns on the RTC's update-ended interrupt (ISA IRQ 8), so each second edge disciplines
/// the clock. Without an RTC (or a free vector) the PIT's calibration stays.
pub fn start_rtc_edges() {
    if read_rtc().is_none() {
        return;
    }
    let (gsi, mode) = ioapic::isa_irq(8);
    let Some(irq) = irq::register(gsi, mode) else {
        kinfo!("warning: no interrupt vector for the RTC; the clock keeps its boot calibration");
        return;
    };
    // Register B: update-ended interrupts on (UIE, bit 4), 24-hour and the encoding as
    // they are; then read C so a flag already set does not hold the line.
    let b = cmos(0x0b);
    cmos_write(0x0b, (b | 0x10) & !0x60);
    let _ = cmos(0x0c);
    let source = RTC_EDGES.call_once(|| RtcEdges { irq });
    crate::sched::register(source);
}

impl crate::sched::EventSource for RtcEdges {
    fn poll(&self, _now_ns: u64) -> bool {
        let Some(stamp) = self.irq.take_pending_stamp() else {
            return false;
        };
        // Register C acknowledges the interrupt (and says whether it was the update).
        let c = cmos(0x0c);
        let now = cpu::rdtsc();
        if c & 0x10 == 0 {
            return false;
        }
        let mut guard = DISCIPLINE.lock();
        let Some(d) = guard.as_mut() else {
            return false;
        };
        // Only an edge handled within half a second says which second it was.
        if d.segment().monotonic_ns(now) - d.segment().monotonic_ns(stamp) > NANOS_PER_SEC / 2 {
            return false;
        }
        if let Some(unix) = read_rtc() {
            d.on_edge(stamp, unix, now);
            publish(d.segment());
        }
        false
    }

    fn next_wakeup(&self, _now_ns: u64) -> Option<u64> {
        None
    }
}

/// One measurement of the TSC and the APIC timer against PIT channel 0, polling its counter
/// (channel 2 needs the speaker port 0x61, which microvm lacks): (tsc Hz, apic Hz), from the
/// PIT ticks that actually elapsed, so a late last poll does not skew it.
fn measure_once(wait_ticks: u16) -> (u64, u64) {
    // SAFETY: ports 0x43/0x40 program and latch PIT channel 0, whose IRQ line is masked at
    // the PIC; nothing else uses the PIT.
    let (tsc, apic_ticks, pit_ticks) = unsafe {
        let mut cmd = Port::<u8>::new(0x43);
        let mut ch0 = Port::<u8>::new(0x40);
        cmd.write(0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator), binary
        ch0.write(0xff);
        ch0.write(0xff);
        let mut read_count = || {
            cmd.write(0x00); // latch channel 0
            let lo = ch0.read() as u16;
            let hi = ch0.read() as u16;
            (hi << 8) | lo
        };
        // The measurement starts LEAD ticks after the count's first decrement, not at it:
        // under TCG the first reads after programming the PIT run late by tens of
        // microseconds (measured: the rate came out 1-4.5% low over 2 ms and 0.15% low over
        // 60 ms, a fixed offset, not a rate), and both ends of the interval are then stamped
        // the same way (the TSC right after the read whose latch gave the count).
        const LEAD: u16 = 64;
        apic::start_free_running();
        let first = read_count();
        let t_guard = cpu::rdtsc();
        let mut c0 = first;
        while c0 == first && cpu::rdtsc() - t_guard < 1 << 31 {
            c0 = read_count();
        }
        let mut stamp = |target: u16| loop {
            let elapsed = c0.wrapping_sub(read_count());
            let t = cpu::rdtsc();
            if elapsed >= target || t - t_guard > 1 << 33 {
                return (elapsed, t, apic::current_count());
            }
        };
        let (e0, t0, a0) = stamp(LEAD);
        let (e1, t1, a1) = stamp(LEAD + wait_ticks);
        (
            t1 - t0,
            a0.wrapping_sub(a1) as u64,
            e1.wrapping_sub(e0).max(1) as u64,
        )
    };
    (tsc * PIT_HZ / pit_ticks, apic_ticks * PIT_HZ / pit_ticks)
}

/// Calibrates over `CALIBRATION_ROUNDS` short measurements and takes the median, so one
/// round disturbed by the host (a descheduled vCPU thread can make the 16-bit PIT count
/// wrap unseen) does not decide the clock.
fn calibrate() -> (u64, u64) {
    const CALIBRATION_ROUNDS: usize = 3;
    let wait_ticks = (PIT_HZ * CALIBRATION_MS / 1000 / CALIBRATION_ROUNDS as u64) as u16;
    let mut rounds = [(0u64, 0u64); CALIBRATION_ROUNDS];
    for r in rounds.iter_mut() {
        *r = measure_once(wait_ticks);
    }
    rounds.sort_unstable();
    let (tsc_hz, apic_hz) = rounds[CALIBRATION_ROUNDS / 2];
    if !(50_000_000..=20_000_000_000).contains(&tsc_hz) || apic_hz < 1000 {
        kinfo!(
            "warning: PIT calibration failed (tsc {} Hz); assuming a 1 GHz TSC",
            tsc_hz
        );
        return (1_000_000_000, 62_500_000);
    }
    (tsc_hz, apic_hz)
}

fn cmos(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 index and read the CMOS; bit 7 of the index keeps NMIs off.
    unsafe {
        Port::<u8>::new(0x70).write(0x80 | reg);
        Port::<u8>::new(0x71).read()
    }
}

fn cmos_write(reg: u8, value: u8) {
    // SAFETY: as in `cmos`; only register B's interrupt-enable bits are written.
    unsafe {
        Port::<u8>::new(0x70).write(0x80 | reg);
        Port::<u8>::new(0x71).write(value);
    }
}

fn read_rtc() -> Option<i64> {
    let snapshot = || {
        for _ in 0..100_000 {
            if cmos(0x0a) & 0x80 == 0 {
                break;
            }
        }
        [
            cmos(0x00),
            cmos(0x02),
            cmos(0x04),
            cmos(0x07),
            cmos(0x08),
            cmos(0x09),
            cmos(0x32),
        ]
    };
    let mut t = snapshot();
    loop {
        let again = snapshot();
        if again == t {
            break;
        }
        t = again;
    }
    if t.iter().all(|&b| b == 0xff) {
        return None;
    }
    let status_b = cmos(0x0b);
    let conv = |v: u8| {
        if status_b & 0x04 == 0 {
            civil::bcd_to_bin(v)
        } else {
            v
        }
    };
    let pm = t[2] & 0x80 != 0;
    let mut hour = conv(t[2] & 0x7f) as u32;
    if status_b & 0x02 == 0 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = match conv(t[6]) {
        c @ 19..=21 => c as i64,
        _ => 20,
    };
    let year = century * 100 + conv(t[5]) as i64;
    let (month, day) = (conv(t[4]) as u32, conv(t[3]) as u32);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(civil::unix_time(
        year,
        month,
        day,
        hour,
        conv(t[1]) as u32,
        conv(t[0]) as u32,
    ))
}

/// The TSC's rate now, in ticks per second.
pub fn tsc_hz() -> u64 {
    segment().hz()
}

/// A duration of `ticks` TSC ticks, in ns, at the current rate.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as u128 * NANOS_PER_SEC as u128 / tsc_hz() as u128) as u64
}

/// Nanoseconds since the image's first instruction (CLOCK_MONOTONIC).
pub fn monotonic_ns() -> u64 {
    segment().monotonic_ns(cpu::rdtsc())
}

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME): never steps backwards.
pub fn realtime_ns() -> u64 {
    segment().realtime_ns(cpu::rdtsc())
}

/// Halts until `monotonic_ns()` reaches `deadline_ns`, waking by the APIC timer; event
/// sources (the network stack) keep running meanwhile.
pub fn sleep_until(deadline_ns: u64) {
    crate::sched::block_until(Some(deadline_ns), |_| None, || None::<()>);
}

/// Arms the one-shot timer to fire after `ns` (clamped to what the counter can hold: the
/// caller re-arms until its deadline). The APIC timer's rate is only as good as the boot
/// calibration, so it is armed 1/32 early: a waiter woken early re-arms for the rest, while
/// one woken late would simply be late.
pub fn arm_wakeup(ns: u64) {
    let apic_hz = APIC_HZ.load(Ordering::Relaxed) as u128;
    let ns = ns - ns / 32;
    let ticks = (ns as u128 * apic_hz / NANOS_PER_SEC as u128).clamp(1, u32::MAX as u128);
    apic::arm_oneshot(ticks as u32);
}

/// The TSC value `ns` nanoseconds from now (for callers that poll the TSC).
pub fn tsc_after(ns: u64) -> u64 {
    cpu::rdtsc().saturating_add(segment().ns_to_ticks(ns))
}
