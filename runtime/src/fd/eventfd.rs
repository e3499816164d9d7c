//! eventfd: a 64-bit counter that write adds to and read takes (eventfd2).
#![forbid(unsafe_code)]

use core::any::Any;
use spin::Mutex;

use super::stat::Stat;
use super::{Events, File, OpenFile};
use crate::errno::{self, Errno};

pub const EFD_SEMAPHORE: u32 = 1;

#[derive(Debug)]
pub struct EventFd {
    state: Mutex<(u64, u64)>, // (counter, activity)
    semaphore: bool,
    ino: u64,
}

impl EventFd {
    pub fn new(initial: u64, semaphore: bool, ino: u64) -> EventFd {
        EventFd {
            state: Mutex::new((initial, 0)),
            semaphore,
            ino,
        }
    }
}

impl File for EventFd {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(errno::EINVAL);
        }
        let mut s = self.state.lock();
        if s.0 == 0 {
            return Err(errno::EAGAIN);
        }
        let value = if self.semaphore { 1 } else { s.0 };
        s.0 -= value;
        s.1 += 1;
        buf[..8].copy_from_slice(&value.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, _desc: &OpenFile, buf: &[u8]) -> Result<usize, Errno> {
        let bytes: [u8; 8] = buf
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or(errno::EINVAL)?;
        let add = u64::from_ne_bytes(bytes);
        if add == u64::MAX {
            return Err(errno::EINVAL);
        }
        let mut s = self.state.lock();
        if add > u64::MAX - 1 - s.0 {
            return Err(errno::EAGAIN);
        }
        s.0 += add;
        s.1 += 1;
        Ok(8)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(0, self.ino))
    }

    fn poll(&self) -> Events {
        let (count, _) = *self.state.lock();
        let mut e = Events::NONE;
        if count > 0 {
            e = e | Events::IN;
        }
        if count < u64::MAX - 1 {
            e = e | Events::OUT;
        }
        e
    }

    fn activity(&self) -> u64 {
        self.state.lock().1
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::O_RDWR;
    use alloc::sync::Arc;

    fn open(initial: u64, semaphore: bool) -> Arc<OpenFile> {
        OpenFile::new(Arc::new(EventFd::new(initial, semaphore, 1)), O_RDWR)
    }

    fn read(fd: &OpenFile) -> Result<u64, Errno> {
        let mut buf = [0u8; 8];
        fd.read(&mut buf).map(|_| u64::from_ne_bytes(buf))
    }

    #[test]
    fn counter_semantics() {
        let fd = open(0, false);
        assert_eq!(read(&fd), Err(errno::EAGAIN));
        assert_eq!(fd.write(&3u64.to_ne_bytes()), Ok(8));
        assert_eq!(fd.write(&4u64.to_ne_bytes()), Ok(8));
        assert_eq!(read(&fd), Ok(7));
        assert_eq!(read(&fd), Err(errno::EAGAIN));
    }

    #[test]
    fn semaphore_mode() {
        let fd = open(2, true);
        assert_eq!(read(&fd), Ok(1));
        assert_eq!(read(&fd), Ok(1));
        assert_eq!(read(&fd), Err(errno::EAGAIN));
    }

    #[test]
    fn limits_and_short_buffers() {
        let fd = open(0, false);
        assert_eq!(fd.write(&u64::MAX.to_ne_bytes()), Err(errno::EINVAL));
        assert_eq!(fd.write(&[1, 2, 3]), Err(errno::EINVAL));
        assert_eq!(fd.read(&mut [0u8; 4]), Err(errno::EINVAL));
        assert_eq!(fd.write(&(u64::MAX - 1).to_ne_bytes()), Ok(8));
        assert_eq!(fd.write(&1u64.to_ne_bytes()), Err(errno::EAGAIN));
        assert_eq!(fd.file.poll(), Events::IN);
    }
}
