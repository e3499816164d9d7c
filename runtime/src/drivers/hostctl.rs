//! The channel to `kiln run`, on COM2, when the command line says `kiln.ctl=com2` (the host
//! side is `cli/src/lifecycle.rs`). This comment is the one description of its protocol;
//! both sides follow it.
//!
//! **Guest to host** (raw bytes, no framing):
//!
//! 1. The runtime's first byte is ASCII ACK (0x06): COM1 is set up (enabling its FIFOs
//!    empties its receiver), so `kiln run` sends the program's stdin to COM1 only from then
//!    on. Host-to-guest lines may come before it (they wait in COM2's receiver).
//! 2. Right after it, zero or more ASCII ENQ (0x05): the runtime asks for the host's time
//!    again (see `time N` below).
//! 3. Then the runtime's own `kiln:` lines and the program's stderr (fd 2), as written; COM1
//!    carries only the program's stdout, byte for byte. The runtime's last line is
//!    `kiln: exit status N`, the whole status (isa-debug-exit carries 7 bits of it).
//!
//! **Host to guest**: lines of text, a word, a space and a decimal number, `\n`-terminated
//! (a trailing `\r` is ignored; at most [`MAX_LINE`] bytes):
//!
//! - `signal N`: signal N for the program, sent as the kernel sends one (`SI_KERNEL`): how
//!   SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to `kiln run` reach it (and
//!   SIGPIPE, once `kiln run`'s own stdout is gone);
//! - `eof N`: the program's stdin (COM1's input) ends after its byte N, counted from the
//!   first: every read from then on returns 0, as at the end of a pipe;
//! - `eot N`: a terminal's end of file (Ctrl-D) after byte N: one read returns 0, then input
//!   goes on;
//! - `time N`: the host's Unix time in ns (CLOCK_REALTIME), read and sent the moment the
//!   runtime's first byte arrived, or an ENQ (0x05) that the runtime sends right after it
//!   (only there: before any text) when the round trip was slow. The runtime sets the wall
//!   clock to the quickest exchange's time at the middle of its round trip (so within half
//!   a round trip, well under a millisecond, of the host's from boot on, instead of the
//!   RTC's whole second: `time/clock.rs`); it waits up to 2^30 TSC ticks (about 0.4 s) per
//!   answer and makes at most 8 exchanges.
//!
//! Counting the bytes makes the end of the input exact although it travels apart from the
//! input itself. A line that is none of these is dropped (and said once), so a newer
//! `kiln run` may send lines an older runtime ignores. A new message is a new word in
//! [`parse`] and a new [`Command`], and a new line in this list.
//!
//! The protocol and the stdin accounting are pure and tested on the host; the UART, its
//! interrupt (ISA IRQ 3) and the wiring to signals are kernel-only.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

use alloc::collections::VecDeque;

/// The longest control line (longer ones are dropped).
const MAX_LINE: usize = 64;

/// One message from the host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Command {
    Signal(u32),
    /// The host's Unix time in ns, read as the runtime's first byte arrived.
    Time(u64),
    /// End of the program's input after byte `at`; `last`: for good (a pipe), else once (a
    /// terminal's Ctrl-D).
    EndOfInput {
        at: u64,
        last: bool,
    },
}

/// Splits the host's bytes into lines and parses them.
#[derive(Debug)]
pub struct Decoder {
    line: [u8; MAX_LINE],
    len: usize,
    too_long: bool,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    pub const fn new() -> Decoder {
        Decoder {
            line: [0; MAX_LINE],
            len: 0,
            too_long: false,
        }
    }

    /// Takes one byte; at the end of a line, what it said (`Err`: not a message).
    pub fn push(&mut self, byte: u8) -> Option<Result<Command, ()>> {
        if byte != b'\n' {
            if self.len < MAX_LINE {
                self.line[self.len] = byte;
                self.len += 1;
            } else {
                self.too_long = true;
            }
            return None;
        }
        let len = core::mem::take(&mut self.len);
        if core::mem::take(&mut self.too_long) {
            return Some(Err(()));
        }
        Some(parse(&self.line[..len]))
    }
}

fn parse(line: &[u8]) -> Result<Command, ()> {
    let text = core::str::from_utf8(line)
        .map_err(|_| ())?
        .trim_end_matches('\r');
    let (word, number) = text.split_once(' ').ok_or(())?;
    let n: u64 = number.parse().map_err(|_| ())?;
    match word {
        "signal" if (1..=64).contains(&n) => Ok(Command::Signal(n as u32)),
        "eof" => Ok(Command::EndOfInput { at: n, last: true }),
        "eot" => Ok(Command::EndOfInput { at: n, last: false }),
        "time" => Ok(Command::Time(n)),
        _ => Err(()),
    }
}

/// The program's stdin under `kiln run`: how many bytes it has read, and where the host said
/// the input ends.
#[derive(Debug, Default)]
pub struct Stdin {
    read: u64,
    ends: VecDeque<(u64, bool)>,
}

/// What a read of stdin may do now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plan {
    /// Return 0: the input ends here.
    EndOfFile,
    /// Take at most this many bytes (`None`: no limit) before the next end of the input.
    Read(Option<u64>),
}

impl Stdin {
    pub const fn new() -> Stdin {
        Stdin {
            read: 0,
            ends: VecDeque::new(),
        }
    }

    pub fn end_at(&mut self, at: u64, last: bool) {
        self.ends.push_back((at, last));
    }

    /// What the next read does; a one-time end of file is used up by it.
    pub fn plan(&mut self) -> Plan {
        match self.ends.front().copied() {
            Some((at, last)) if at <= self.read => {
                if !last {
                    self.ends.pop_front();
                }
                Plan::EndOfFile
            }
            Some((at, _)) => Plan::Read(Some(at - self.read)),
            None => Plan::Read(None),
        }
    }

    /// True when a read would return 0 now (for poll: readable).
    pub fn at_end(&self) -> bool {
        self.ends.front().is_some_and(|&(at, _)| at <= self.read)
    }

    pub fn consumed(&mut self, n: usize) {
        self.read += n as u64;
    }
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use core::sync::atomic::{AtomicBool, Ordering};
    use spin::{Mutex, Once};

    use super::{Command, Decoder, Plan, Stdin};
    use crate::arch::irq::Irq;
    use crate::drivers::serial::HOST;

    static ACTIVE: AtomicBool = AtomicBool::new(false);
    static DECODER: Mutex<Decoder> = Mutex::new(Decoder::new());
    static STDIN: Mutex<Stdin> = Mutex::new(Stdin::new());
    static IRQ: Once<Option<Irq>> = Once::new();
    /// The first byte the runtime writes to the channel (ASCII ACK).
    pub const READY: u8 = 0x06;
    /// The ISA interrupt line of COM2.
    const COM2_IRQ: u8 = 3;

    /// At the start of boot, before anything is printed: with `kiln.ctl=com2` and a UART at
    /// COM2, the runtime's lines go there and COM1 stops translating newlines. True if so.
    pub fn init_early(cmdline: &str) -> bool {
        if crate::process::cmdline::early_option(cmdline, "ctl") != Some("com2") {
            return false;
        }
        let mut com2 = HOST.lock();
        if !com2.present() {
            drop(com2);
            kinfo!("warning: kiln.ctl=com2 but no UART at COM2: the host channel is off");
            return false;
        }
        com2.init();
        // The first byte of the channel says that COM1 is set up (its FIFOs on, which empties
        // its receiver): `kiln run` sends the program's stdin only from then on.
        let sent = crate::arch::cpu::rdtsc();
        com2.write_byte(READY);
        drop(com2);
        exchange_times(sent);
        crate::drivers::serial::CONSOLE.lock().set_onlcr(false);
        crate::drivers::serial::log_to_host();
        ACTIVE.store(true, Ordering::Relaxed);
        true
    }

    /// Lines that came before the host's time (sent before the runtime's first byte), acted on
    /// by [`init`].
    static EARLY: Mutex<[Option<Command>; 8]> = Mutex::new([None; 8]);

    /// Asks again (after the first byte) while the round trip was slow.
    const TIME_AGAIN: u8 = 0x05;

    /// Takes the host's time: `kiln run` answers the first byte (written at TSC `sent`) and
    /// each [`TIME_AGAIN`] after it with a `time` line. The host read its clock somewhere in
    /// the round trip, so the middle is off by at most half of it: up to [`ROUNDS`] are
    /// made, until one is [`QUICK`], and the quickest is handed to the clock. Other lines
    /// are kept for [`init`]. Interrupts are not routed yet: this polls.
    fn exchange_times(mut sent: u64) {
        /// About 0.4 ms at 2.4 GHz (the TSC's rate is not measured yet).
        const QUICK: u64 = 1 << 20;
        const ROUNDS: usize = 8;
        let mut best: Option<(u64, u64, u64)> = None;
        for round in 0..ROUNDS {
            if round > 0 {
                let mut com2 = HOST.lock();
                sent = crate::arch::cpu::rdtsc();
                com2.write_byte(TIME_AGAIN);
            }
            let Some((arrived, unix_ns)) = await_time(sent) else {
                break;
            };
            let trip = arrived.saturating_sub(sent);
            if best.is_none_or(|(s, a, _)| trip < a.saturating_sub(s)) {
                best = Some((sent, arrived, unix_ns));
            }
            if trip < QUICK {
                break;
            }
        }
        match best {
            Some((sent, arrived, unix_ns)) => crate::time::host_time(sent, arrived, unix_ns),
            None => kinfo!("kiln.ctl: no time from the host; the wall clock comes from the RTC"),
        }
    }

    /// Waits for one `time` line: (TSC at its end, the host's time).
    fn await_time(sent: u64) -> Option<(u64, u64)> {
        /// About 0.4 s at 2.4 GHz.
        const PATIENCE: u64 = 1 << 30;
        loop {
            let now = crate::arch::cpu::rdtsc();
            if now.wrapping_sub(sent) > PATIENCE {
                return None;
            }
            let Some(byte) = HOST.lock().try_read_byte() else {
                core::hint::spin_loop();
                continue;
            };
            match DECODER.lock().push(byte) {
                None => {}
                Some(Ok(Command::Time(unix_ns))) => {
                    return Some((crate::arch::cpu::rdtsc(), unix_ns))
                }
                Some(Ok(command)) => {
                    let mut early = EARLY.lock();
                    match early.iter_mut().find(|m| m.is_none()) {
                        Some(slot) => *slot = Some(command),
                        None => kinfo!("kiln.ctl: too many early messages; one was dropped"),
                    }
                }
                Some(Err(())) => not_understood(),
            }
        }
    }

    fn not_understood() {
        static ONCE: Once<()> = Once::new();
        ONCE.call_once(|| kinfo!("kiln.ctl: a message from the host was not understood"));
    }

    /// Does what the host asked.
    fn act(command: Command) {
        match command {
            Command::Signal(sig) => crate::signal::deliver::from_host(sig),
            Command::EndOfInput { at, last } => {
                STDIN.lock().end_at(at, last);
                crate::sched::thread::progress();
            }
            // Only the first, awaited at boot, sets the clock.
            Command::Time(_) => {}
        }
    }

    /// Once interrupts can be routed: COM2's receive interrupt, and the host's messages as an
    /// event source of the wait path.
    pub fn init() {
        if !active() {
            return;
        }
        let (gsi, mode) = crate::arch::ioapic::isa_irq(COM2_IRQ);
        IRQ.call_once(|| crate::arch::irq::register(gsi, mode));
        HOST.lock().enable_rx_interrupt();
        crate::sched::register(&SOURCE);
        // Messages sent before the interrupt was routed.
        let early = core::mem::take(&mut *EARLY.lock());
        early.into_iter().flatten().for_each(act);
        poll();
    }

    /// True when `kiln run` is on the other side of COM2.
    pub fn active() -> bool {
        ACTIVE.load(Ordering::Relaxed)
    }

    /// True when the host sent something not yet read (its interrupt came).
    pub fn pending() -> bool {
        IRQ.get()
            .and_then(Option::as_ref)
            .is_some_and(Irq::is_pending)
    }

    /// Reads what the host sent and acts on it; true if anything arrived.
    pub fn poll() -> bool {
        if !active() {
            return false;
        }
        if let Some(Some(irq)) = IRQ.get() {
            irq.take_pending();
        }
        let mut any = false;
        loop {
            let Some(byte) = HOST.lock().try_read_byte() else {
                break;
            };
            any = true;
            let message = DECODER.lock().push(byte);
            match message {
                None => {}
                Some(Ok(command)) => act(command),
                Some(Err(())) => not_understood(),
            }
        }
        if let Some(Some(irq)) = IRQ.get() {
            irq.rearm();
        }
        any
    }

    /// What a read of the program's stdin may do (see [`Stdin::plan`]).
    pub fn stdin_plan() -> Plan {
        if !active() {
            return Plan::Read(None);
        }
        STDIN.lock().plan()
    }

    pub fn stdin_consumed(n: usize) {
        if active() {
            STDIN.lock().consumed(n);
        }
    }

    /// True when a read of stdin returns 0 now.
    pub fn stdin_at_end() -> bool {
        active() && STDIN.lock().at_end()
    }

    struct Source;

    impl crate::sched::EventSource for Source {
        fn poll(&self, _now_ns: u64) -> bool {
            pending() && poll()
        }

        fn next_wakeup(&self, _now_ns: u64) -> Option<u64> {
            None
        }
    }

    static SOURCE: Source = Source;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut Decoder, text: &str) -> alloc::vec::Vec<Result<Command, ()>> {
        text.bytes().filter_map(|b| d.push(b)).collect()
    }

    #[test]
    fn messages() {
        let mut d = Decoder::new();
        assert_eq!(
            feed(
                &mut d,
                "signal 15\neof 1234\neot 7\r\ntime 1796601600123456789\n"
            ),
            [
                Ok(Command::Signal(15)),
                Ok(Command::EndOfInput {
                    at: 1234,
                    last: true
                }),
                Ok(Command::EndOfInput { at: 7, last: false }),
                Ok(Command::Time(1_796_601_600_123_456_789))
            ]
        );
        assert_eq!(
            feed(&mut d, "signal 0\nsignal 65\nhello\nsig"),
            [Err(()), Err(()), Err(())]
        );
        assert_eq!(
            feed(&mut d, "nal 2\n"),
            [Ok(Command::Signal(2))],
            "split across reads"
        );
        let long = "x".repeat(200) + "\nsignal 1\n";
        assert_eq!(feed(&mut d, &long), [Err(()), Ok(Command::Signal(1))]);
    }

    #[test]
    fn stdin_ends_exactly_where_the_host_says() {
        let mut s = Stdin::new();
        assert_eq!(s.plan(), Plan::Read(None));
        s.end_at(5, false);
        assert_eq!(s.plan(), Plan::Read(Some(5)));
        s.consumed(5);
        assert!(s.at_end());
        assert_eq!(s.plan(), Plan::EndOfFile, "Ctrl-D: one read returns 0");
        assert_eq!(s.plan(), Plan::Read(None), "then input goes on");
        s.consumed(3);
        s.end_at(8, true);
        assert_eq!(s.plan(), Plan::EndOfFile);
        assert_eq!(s.plan(), Plan::EndOfFile, "a pipe's end is for good");
    }
}
