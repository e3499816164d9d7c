//! The COM1 16550 UART: the VM's console, polled for output, polled with timed halts for input.

use core::fmt;
use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
/// Line status register bits.
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;

/// The console UART. Kernel code runs with interrupts off, so the lock is never contended by
/// an interrupt handler that prints (the fault reporter takes it with `force_unlock` first).
pub struct Serial {
    base: u16,
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({:#x})", self.base)
    }
}

pub static CONSOLE: Mutex<Serial> = Mutex::new(Serial { base: COM1 });

impl Serial {
    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    /// Programs 115200 8N1 with FIFOs; receive interrupts stay off (input is polled).
    pub fn init(&mut self) {
        // SAFETY: COM1's registers are the standard 16550 ports; nothing else uses them.
        unsafe {
            self.port(1).write(0x00); // no interrupts
            self.port(3).write(0x80); // DLAB on
            self.port(0).write(0x01); // divisor 1 = 115200 baud
            self.port(1).write(0x00);
            self.port(3).write(0x03); // 8N1, DLAB off
            self.port(2).write(0xc7); // FIFOs on, cleared, 14-byte threshold
            self.port(4).write(0x03); // DTR, RTS
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
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
    }

    /// True if the UART holds a received byte.
    pub fn has_input(&self) -> bool {
        let lsr = self.line_status();
        lsr != 0xff && lsr & LSR_DATA_READY != 0
    }

    /// Returns one received byte, if the UART holds one.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        let lsr = self.line_status();
        if lsr != 0xff && lsr & LSR_DATA_READY != 0 {
            // SAFETY: the receive buffer register holds a byte when DATA_READY is set.
            Some(unsafe { self.port(0).read() })
        } else {
            None
        }
    }
}

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// The console the runtime's own lines go to (for reports written in pieces).
pub fn log() -> spin::MutexGuard<'static, Serial> {
    CONSOLE.lock()
}

/// Releases the log console's lock whoever holds it, for reports written as the VM ends.
///
/// # Safety
///
/// The holder must never resume while the lock is taken again (it is the code a fatal fault
/// interrupted, or the VM is ending).
pub unsafe fn force_unlock_log() {
    // SAFETY: the caller's contract.
    unsafe { CONSOLE.force_unlock() };
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    use fmt::Write;
    let _ = CONSOLE.lock().write_fmt(args);
}

/// Prints a line to the console, prefixed with `kiln: ` so tools can tell the runtime's lines
/// from the program's.
macro_rules! kinfo {
    ($($arg:tt)*) => ($crate::drivers::serial::_print(format_args!("kiln: {}\n", format_args!($($arg)*))));
}
