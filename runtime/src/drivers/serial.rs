//! The 16550 UARTs: COM1, the VM's console (the program's stdin and stdout; polled for
//! output, polled with timed halts for input), and COM2, the channel to `kiln run` when it
//! supervises the VM (`kiln.ctl=com2`): the runtime's own lines and the program's stderr go
//! out there, the host's control messages come in (`drivers::hostctl`).
//!
//! COM1 translates `\n` into `\r\n` the way a terminal line discipline with ONLCR does, for
//! a serial terminal at the far end (a VM booted straight from QEMU on a terminal); under
//! `kiln run` it passes the program's bytes through unchanged and the host's terminal, if any,
//! translates: `kiln run app > out` is byte for byte what the program wrote.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
const COM2: u16 = 0x2f8;
/// Line status register bits.
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;

/// The console UART. Kernel code runs with interrupts off, so the lock is never contended by
/// an interrupt handler that prints (the fault reporter takes it with `force_unlock` first).
pub struct Serial {
    base: u16,
    /// Output translation of `\n` into `\r\n` (a terminal's ONLCR).
    onlcr: bool,
    /// The last byte written ended a line (or nothing was written yet).
    at_line_start: bool,
    /// A byte received before the FIFOs were enabled (enabling them empties the receiver).
    early: Option<u8>,
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({:#x})", self.base)
    }
}

pub static CONSOLE: Mutex<Serial> = Mutex::new(Serial {
    base: COM1,
    onlcr: true,
    at_line_start: true,
    early: None,
});

/// COM2: the channel to `kiln run` (see [`crate::drivers::hostctl`]).
pub static HOST: Mutex<Serial> = Mutex::new(Serial {
    base: COM2,
    onlcr: false,
    at_line_start: true,
    early: None,
});

/// The runtime's lines go to COM2 (`kiln run` supervises the VM).
static LOG_TO_HOST: AtomicBool = AtomicBool::new(false);

/// Sends the runtime's own lines to COM2 from now on.
pub fn log_to_host() {
    LOG_TO_HOST.store(true, Ordering::Relaxed);
}

impl Serial {
    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    /// True if a UART answers at this port (its scratch register keeps what is written; an
    /// absent one reads as 0xff).
    pub fn present(&mut self) -> bool {
        // SAFETY: the scratch register (base + 7) has no effect on a 16550; on a machine
        // without the UART the port is unused (reads return 0xff).
        unsafe {
            self.port(7).write(0x5a);
            let a = self.port(7).read();
            self.port(7).write(0xa5);
            let b = self.port(7).read();
            a == 0x5a && b == 0xa5
        }
    }

    /// Turns the `\n` → `\r\n` output translation on or off.
    pub fn set_onlcr(&mut self, on: bool) {
        self.onlcr = on;
    }

    /// Enables the interrupt for received data (the line must be routed: [`route_input`]).
    pub fn enable_rx_interrupt(&mut self) {
        // SAFETY: IER bit 0 enables the "received data available" interrupt; MCR's OUT2 gates
        // the UART's interrupt line on PC hardware (DTR and RTS stay set).
        unsafe {
            self.port(4).write(0x0b);
            self.port(1).write(0x01);
        }
    }

    /// Programs 115200 8N1, FIFOs off; interrupts off. Without FIFOs the UART holds one
    /// received byte and QEMU keeps the rest until it is read: nothing is ever lost.
    pub fn init(&mut self) {
        // SAFETY: the UART's registers are the standard 16550 ports; nothing else uses them.
        unsafe {
            self.port(1).write(0x00); // no interrupts
            self.port(3).write(0x80); // DLAB on
            self.port(0).write(0x01); // divisor 1 = 115200 baud
            self.port(1).write(0x00);
            self.port(3).write(0x03); // 8N1, DLAB off
            self.port(4).write(0x03); // DTR, RTS
        }
    }

    /// As [`Serial::init`], with the 16-byte FIFOs on (input arrives 16 bytes at a time, a
    /// piped stdin at a useful rate). A byte already received is kept first: enabling the
    /// FIFOs empties the receiver, and under `kiln run` input may have been sent before boot.
    pub fn init_with_fifo(&mut self) {
        self.init();
        if self.early.is_none() {
            self.early = self.take_received();
        }
        // SAFETY: FCR: FIFOs on and cleared, interrupt at 14 bytes (or QEMU's timeout).
        unsafe { self.port(2).write(0xc7) };
    }

    fn take_received(&mut self) -> Option<u8> {
        let lsr = self.line_status();
        if lsr != 0xff && lsr & LSR_DATA_READY != 0 {
            // SAFETY: the receive buffer register holds a byte when DATA_READY is set.
            Some(unsafe { self.port(0).read() })
        } else {
            None
        }
    }

    fn line_status(&self) -> u8 {
        // SAFETY: reading the line status register has no side effects.
        unsafe { self.port(5).read() }
    }

    pub fn write_byte(&mut self, byte: u8) {
        // A missing UART reads as 0xff, which also says "empty": output is then dropped.
        while self.line_status() & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: the transmit holding register accepts one byte when THR_EMPTY is set.
        unsafe { self.port(0).write(byte) }
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' && self.onlcr {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
    }

    /// Starts a new line unless the last byte written ended one (the runtime's lines always
    /// begin a line, even after a program's unfinished one).
    pub fn start_line(&mut self) {
        if !self.at_line_start {
            self.write_bytes(b"\n");
        }
    }

    /// True if the UART holds a received byte.
    pub fn has_input(&self) -> bool {
        let lsr = self.line_status();
        self.early.is_some() || (lsr != 0xff && lsr & LSR_DATA_READY != 0)
    }

    /// Returns one received byte, if the UART holds one.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        self.early.take().or_else(|| self.take_received())
    }
}

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Routes COM1's interrupt for received data (ISA IRQ 4), so a read of the console waits
/// for input without polling delays: the interrupt ends the CPU's halt, and the waiting read
/// looks again. Its handler does nothing else (the irq layer marks the line, nobody takes it).
#[cfg(target_os = "none")]
pub fn route_input() {
    static IRQ: spin::Once<Option<crate::arch::irq::Irq>> = spin::Once::new();
    let (gsi, mode) = crate::arch::ioapic::isa_irq(4);
    if IRQ
        .call_once(|| crate::arch::irq::register(gsi, mode))
        .is_some()
    {
        CONSOLE.lock().enable_rx_interrupt();
    }
}

/// The console the runtime's own lines go to (for reports written in pieces): COM1, or COM2
/// under `kiln run`.
pub fn log() -> spin::MutexGuard<'static, Serial> {
    let mut port = if LOG_TO_HOST.load(Ordering::Relaxed) {
        HOST.lock()
    } else {
        CONSOLE.lock()
    };
    port.start_line();
    port
}

/// Releases the log console's lock whoever holds it, for reports written as the VM ends.
///
/// # Safety
///
/// The holder must never resume while the lock is taken again (it is the code a fatal fault
/// interrupted, or the VM is ending).
pub unsafe fn force_unlock_log() {
    // SAFETY: the caller's contract.
    unsafe {
        CONSOLE.force_unlock();
        HOST.force_unlock();
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    use fmt::Write;
    let _ = log().write_fmt(args);
}

/// Prints a line to the console, prefixed with `kiln: ` so tools can tell the runtime's lines
/// from the program's.
macro_rules! kinfo {
    ($($arg:tt)*) => ($crate::drivers::serial::_print(format_args!("kiln: {}\n", format_args!($($arg)*))));
}
