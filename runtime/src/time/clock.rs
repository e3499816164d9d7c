//! The hardware side of time: PIT calibration, the RTC, clocks and sleeping.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

use super::civil;
use crate::arch::{apic, cpu};

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 2;
const NANOS_PER_SEC: u64 = 1_000_000_000;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static APIC_HZ: AtomicU64 = AtomicU64::new(0);
/// TSC at the image's first instruction: the zero of CLOCK_MONOTONIC.
static TSC_ZERO: AtomicU64 = AtomicU64::new(0);
/// Unix time in ns at `TSC_ZERO`, from the RTC.
static REALTIME_AT_ZERO: AtomicU64 = AtomicU64::new(0);

/// Calibrates the TSC and the APIC timer against PIT channel 2, and reads the RTC.
pub fn init(boot_tsc: u64) {
    TSC_ZERO.store(boot_tsc, Ordering::Relaxed);
    let (tsc_hz, apic_hz) = calibrate();
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    APIC_HZ.store(apic_hz, Ordering::Relaxed);
    match read_rtc() {
        Some(unix) => {
            let since_zero = ticks_to_ns(cpu::rdtsc() - boot_tsc);
            let at_zero = (unix as u64 * NANOS_PER_SEC).saturating_sub(since_zero);
            REALTIME_AT_ZERO.store(at_zero, Ordering::Relaxed);
        }
        None => kinfo!("warning: no CMOS RTC; the wall clock starts at 1970-01-01"),
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
        let first = read_count();
        // Wait for the first decrement so the measurement starts on a tick edge.
        let t_guard = cpu::rdtsc();
        let mut c0 = first;
        while c0 == first && cpu::rdtsc() - t_guard < 1 << 31 {
            c0 = read_count();
        }
        apic::start_free_running();
        let a0 = apic::current_count();
        let t0 = cpu::rdtsc();
        let mut elapsed;
        loop {
            elapsed = c0.wrapping_sub(read_count());
            if elapsed >= wait_ticks || cpu::rdtsc() - t0 > 1 << 33 {
                break;
            }
        }
        let t1 = cpu::rdtsc();
        let a1 = apic::current_count();
        (t1 - t0, a0.wrapping_sub(a1) as u64, elapsed.max(1) as u64)
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

fn read_rtc() -> Option<i64> {
    fn cmos(reg: u8) -> u8 {
        // SAFETY: ports 0x70/0x71 index and read the CMOS; bit 7 of the index keeps NMIs off.
        unsafe {
            Port::<u8>::new(0x70).write(0x80 | reg);
            Port::<u8>::new(0x71).read()
        }
    }
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

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

pub fn ticks_to_ns(ticks: u64) -> u64 {
    let hz = tsc_hz().max(1);
    (ticks as u128 * NANOS_PER_SEC as u128 / hz as u128) as u64
}

fn ns_to_ticks(ns: u64) -> u64 {
    (ns as u128 * tsc_hz() as u128 / NANOS_PER_SEC as u128).min(u64::MAX as u128) as u64
}

/// Nanoseconds since the image's first instruction.
pub fn monotonic_ns() -> u64 {
    ticks_to_ns(cpu::rdtsc().saturating_sub(TSC_ZERO.load(Ordering::Relaxed)))
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    REALTIME_AT_ZERO.load(Ordering::Relaxed) + monotonic_ns()
}

/// Halts until `monotonic_ns()` reaches `deadline_ns`, waking by the APIC timer; event
/// sources (the network stack) keep running meanwhile. A signal ends the sleep early.
pub fn sleep_until(deadline_ns: u64) -> Result<(), crate::sched::Interrupted> {
    crate::sched::block_until(Some(deadline_ns), |_| None, || None::<()>).map(|_| ())
}

/// Arms the one-shot timer to fire after `ns` (clamped to what the counter can hold: the
/// caller re-arms until its deadline).
pub fn arm_wakeup(ns: u64) {
    let apic_hz = APIC_HZ.load(Ordering::Relaxed) as u128;
    let ticks = (ns as u128 * apic_hz / NANOS_PER_SEC as u128).clamp(1, u32::MAX as u128);
    apic::arm_oneshot(ticks as u32);
}

/// The TSC value `ns` nanoseconds from now (for callers that poll the TSC).
pub fn tsc_after(ns: u64) -> u64 {
    cpu::rdtsc().saturating_add(ns_to_ticks(ns))
}
