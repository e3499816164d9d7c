//! Pipes: a bounded byte queue with a read end and a write end (pipe, pipe2).
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use spin::Mutex;

use super::stat::{Stat, S_IFIFO};
use super::{Events, File, OpenFile};
use crate::errno::{self, Errno};

/// Linux's default pipe capacity.
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes of at most this many bytes are atomic.
pub const PIPE_BUF: usize = 4096;

#[derive(Debug)]
struct State {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
    activity: u64,
}

/// The shared queue; the two ends hold it.
#[derive(Debug)]
pub struct Pipe {
    state: Mutex<State>,
    ino: u64,
}

/// The read end. Dropping the last one makes writes fail with EPIPE.
#[derive(Debug)]
pub struct ReadEnd(Arc<Pipe>);

/// The write end. Dropping the last one makes reads return end-of-file.
#[derive(Debug)]
pub struct WriteEnd(Arc<Pipe>);

/// A new pipe's two ends.
pub fn pipe(ino: u64) -> (ReadEnd, WriteEnd) {
    let p = Arc::new(Pipe {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
            activity: 0,
        }),
        ino,
    });
    (ReadEnd(p.clone()), WriteEnd(p))
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.readers -= 1;
        s.activity += 1;
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.writers -= 1;
        s.activity += 1;
    }
}

impl File for ReadEnd {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut s = self.0.state.lock();
        if buf.is_empty() {
            return Ok(0);
        }
        if s.buf.is_empty() {
            return if s.writers == 0 {
                Ok(0)
            } else {
                Err(errno::EAGAIN)
            };
        }
        let n = buf.len().min(s.buf.len());
        for (dst, src) in buf.iter_mut().zip(s.buf.drain(..n)) {
            *dst = src;
        }
        s.activity += 1;
        Ok(n)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(S_IFIFO, self.0.ino))
    }

    fn ioctl(&self, _desc: &OpenFile, request: u64, _arg: u64) -> Result<u64, Errno> {
        const FIONREAD: u64 = 0x541b;
        match request {
            FIONREAD => Ok(self.0.state.lock().buf.len() as u64),
            _ => Err(errno::ENOTTY),
        }
    }

    fn poll(&self) -> Events {
        let s = self.0.state.lock();
        let mut e = Events::NONE;
        if !s.buf.is_empty() {
            e = e | Events::IN;
        }
        if s.writers == 0 {
            e = e | Events::HUP;
        }
        e
    }

    fn activity(&self) -> u64 {
        self.0.state.lock().activity
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for WriteEnd {
    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        // An empty write succeeds before the readers are looked at (Linux's pipe_write), so
        // it is no EPIPE and raises no SIGPIPE.
        if data.is_empty() {
            return Ok(0);
        }
        let mut s = self.0.state.lock();
        if s.readers == 0 {
            return Err(errno::EPIPE);
        }
        let space = PIPE_CAPACITY - s.buf.len();
        if space == 0 || (data.len() <= PIPE_BUF && space < data.len()) {
            return Err(errno::EAGAIN);
        }
        let n = data.len().min(space);
        if s.buf.try_reserve(n).is_err() {
            return Err(errno::ENOMEM);
        }
        s.buf.extend(&data[..n]);
        s.activity += 1;
        Ok(n)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(S_IFIFO, self.0.ino))
    }

    fn poll(&self) -> Events {
        let s = self.0.state.lock();
        if s.readers == 0 {
            return Events::ERR | Events::OUT;
        }
        if PIPE_CAPACITY - s.buf.len() >= PIPE_BUF {
            Events::OUT
        } else {
            Events::NONE
        }
    }

    fn activity(&self) -> u64 {
        self.0.state.lock().activity
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::{O_RDONLY, O_WRONLY};

    fn ends() -> (Arc<OpenFile>, Arc<OpenFile>) {
        let (r, w) = pipe(1);
        (
            OpenFile::new(Arc::new(r), O_RDONLY),
            OpenFile::new(Arc::new(w), O_WRONLY),
        )
    }

    #[test]
    fn bytes_flow_in_order() {
        let (r, w) = ends();
        assert_eq!(w.write(b"hello "), Ok(6));
        assert_eq!(w.write(b"world"), Ok(5));
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf), Ok(4));
        assert_eq!(&buf, b"hell");
        let mut buf = [0u8; 64];
        assert_eq!(r.read(&mut buf), Ok(7));
        assert_eq!(&buf[..7], b"o world");
        assert_eq!(r.read(&mut buf), Err(errno::EAGAIN));
    }

    #[test]
    fn end_of_file_and_broken_pipe() {
        let (r, w) = ends();
        w.write(b"x").unwrap();
        drop(w);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf), Ok(1));
        assert_eq!(r.read(&mut buf), Ok(0), "no writers: end of file");
        assert!(r.file.poll().contains(Events::HUP));

        let (r, w) = ends();
        drop(r);
        assert_eq!(w.write(b"x"), Err(errno::EPIPE));
        assert_eq!(
            w.write(b""),
            Ok(0),
            "an empty write is no EPIPE, as on Linux"
        );
        assert!(w.file.poll().contains(Events::ERR));
    }

    #[test]
    fn capacity_and_atomic_small_writes() {
        let (r, w) = ends();
        let big = alloc::vec![7u8; PIPE_CAPACITY + 100];
        assert_eq!(w.write(&big), Ok(PIPE_CAPACITY), "a large write is partial");
        assert_eq!(w.write(b"more"), Err(errno::EAGAIN));
        assert!(!w.file.poll().contains(Events::OUT));
        let mut buf = alloc::vec![0u8; 10];
        r.read(&mut buf).unwrap();
        // 10 bytes free: a 20-byte write (<= PIPE_BUF) is all or nothing.
        assert_eq!(w.write(&[1u8; 20]), Err(errno::EAGAIN));
        assert_eq!(w.write(&[1u8; 10]), Ok(10));
    }

    #[test]
    fn readiness_and_activity() {
        let (r, w) = ends();
        assert_eq!(r.file.poll(), Events::NONE);
        assert_eq!(w.file.poll(), Events::OUT);
        let a0 = r.file.activity();
        w.write(b"abc").unwrap();
        assert_eq!(r.file.poll(), Events::IN);
        assert!(r.file.activity() > a0);
        assert_eq!(r.file.ioctl(&r, 0x541b, 0), Ok(3));
    }

    #[test]
    fn access_mode_is_enforced() {
        let (r, w) = ends();
        assert_eq!(r.write(b"x"), Err(errno::EBADF));
        assert_eq!(w.read(&mut [0u8; 1]), Err(errno::EBADF));
    }
}
