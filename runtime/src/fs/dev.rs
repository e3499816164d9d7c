//! What reading and writing the pure character devices of `/dev` does. The console and
//! `/dev/tty` need the serial port: the syscall layer handles those ([`Io::Console`]).

use super::Device;
use crate::errno::{self, Errno};

/// The outcome of an I/O call on a device.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Io {
    /// Done: this many bytes.
    Done(usize),
    /// The console: the syscall layer talks to the serial port.
    Console,
    /// `/proc/sysrq-trigger` was written: the syscall layer acts on the command.
    Sysrq,
}

/// `read` from `dev` into `buf`; `fill_random` supplies entropy for the random devices.
pub fn read(dev: Device, buf: &mut [u8], fill_random: impl FnOnce(&mut [u8])) -> Io {
    match dev {
        Device::Null => Io::Done(0),
        Device::Zero | Device::Full => {
            buf.fill(0);
            Io::Done(buf.len())
        }
        Device::Random | Device::Urandom => {
            fill_random(buf);
            Io::Done(buf.len())
        }
        Device::Console | Device::Tty => Io::Console,
        Device::SysrqTrigger => Io::Done(0),
    }
}

/// `write` of `len` bytes to `dev`: the sinks take everything, `/dev/full` is `ENOSPC`.
pub fn write(dev: Device, len: usize) -> Result<Io, Errno> {
    match dev {
        Device::Null | Device::Zero | Device::Random | Device::Urandom => Ok(Io::Done(len)),
        Device::Full => Err(errno::ENOSPC),
        Device::Console | Device::Tty => Ok(Io::Console),
        Device::SysrqTrigger => Ok(Io::Sysrq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_behave_as_on_linux() {
        let mut buf = [9u8; 4];
        assert_eq!(read(Device::Null, &mut buf, |_| {}), Io::Done(0));
        assert_eq!(read(Device::Full, &mut buf, |_| {}), Io::Done(4));
        assert_eq!(buf, [0; 4]);
        assert_eq!(read(Device::Urandom, &mut buf, |b| b.fill(7)), Io::Done(4));
        assert_eq!(buf, [7; 4]);
        assert_eq!(read(Device::Tty, &mut buf, |_| {}), Io::Console);
        assert_eq!(write(Device::Null, 10), Ok(Io::Done(10)));
        assert_eq!(write(Device::Full, 1), Err(errno::ENOSPC));
        assert_eq!(write(Device::Console, 1), Ok(Io::Console));
        assert_eq!(write(Device::SysrqTrigger, 1), Ok(Io::Sysrq));
        assert_eq!(read(Device::SysrqTrigger, &mut buf, |_| {}), Io::Done(0));
        assert_eq!(Device::Urandom.rdev(), (1 << 8) | 9);
        assert_eq!(Device::Console.rdev(), (5 << 8) | 1);
    }
}
