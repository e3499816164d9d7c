//! File descriptors: the table, open file descriptions, and the interface every kind of open
//! file implements (devices, pipes, eventfds, epoll instances, sockets, VFS files).
//!
//! Shaped like Linux: a descriptor names an [`OpenFile`] (an open file description, shared
//! by `dup` and friends, holding the offset and the status flags), which names a [`File`]
//! (the object: a pipe end, a socket, an inode). Operations never block here: a call that
//! cannot make progress returns `EAGAIN`, and the syscall layer decides, from `O_NONBLOCK`,
//! whether to wait (`crate::sched::block_until`) and retry. Readiness for poll/select/epoll
//! comes from [`File::poll`]. Everything here is pure and host-tested.
#![forbid(unsafe_code)]

pub mod epoll;
pub mod eventfd;
pub mod pipe;
pub mod stat;
pub mod table;
pub mod timer;
pub mod unix;

use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

use crate::errno::{self, Errno};
pub use stat::Stat;
pub use table::FdTable;

/// Readiness bits, with Linux's poll values (epoll uses the same bits).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Events(pub u32);

impl Events {
    pub const NONE: Events = Events(0);
    pub const IN: Events = Events(0x001);
    pub const PRI: Events = Events(0x002);
    pub const OUT: Events = Events(0x004);
    pub const ERR: Events = Events(0x008);
    pub const HUP: Events = Events(0x010);
    pub const NVAL: Events = Events(0x020);
    pub const RDHUP: Events = Events(0x2000);

    pub const fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }

    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn and(self, other: Events) -> Events {
        Events(self.0 & other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for Events {
    type Output = Events;
    fn bitor(self, rhs: Events) -> Events {
        self.union(rhs)
    }
}

/// `lseek` origins.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Whence {
    Set,
    Cur,
    End,
    Data,
    Hole,
}

/// An open file: what a descriptor ultimately refers to. Every method has Linux's default
/// for objects that do not support it, so each kind implements only what it is.
pub trait File: Send + Sync {
    /// Reads at the description's position (or from the stream); `EAGAIN` when nothing is
    /// available yet and more may come.
    fn read(&self, _desc: &OpenFile, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(errno::EINVAL)
    }

    /// Writes at the description's position (or to the stream); `EAGAIN` when full.
    fn write(&self, _desc: &OpenFile, _buf: &[u8]) -> Result<usize, Errno> {
        Err(errno::EINVAL)
    }

    fn pread(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(errno::ESPIPE)
    }

    fn pwrite(&self, _buf: &[u8], _offset: u64) -> Result<usize, Errno> {
        Err(errno::ESPIPE)
    }

    /// The new position for `lseek`; files without one return `ESPIPE`.
    fn seek(&self, _desc: &OpenFile, _offset: i64, _whence: Whence) -> Result<u64, Errno> {
        Err(errno::ESPIPE)
    }

    fn stat(&self) -> Result<Stat, Errno>;

    /// `ioctl` requests other than the generic ones the syscall layer handles (FIONBIO,
    /// FIOCLEX…). `arg` is the raw argument; the implementation checks any pointer itself
    /// through the accessor it is given.
    fn ioctl(&self, _desc: &OpenFile, _request: u64, _arg: u64) -> Result<u64, Errno> {
        Err(errno::ENOTTY)
    }

    /// Current readiness (level): what read/write would do now.
    fn poll(&self) -> Events;

    /// A counter that moves whenever new readiness may have arisen (data arrived, space
    /// freed). Edge-triggered epoll reports an interest again when it moved, even if the
    /// level looks the same. Kinds without one return 0 and get level comparison only.
    fn activity(&self) -> u64 {
        0
    }

    /// When (monotonic ns) readiness will change by itself, without any I/O: a timer's next
    /// expiry. Waits arm the CPU's timer for it.
    fn next_event_ns(&self) -> Option<u64> {
        None
    }

    /// For kinds with operations of their own (sockets, epoll): downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Status flags kept on an open file description (`fcntl(F_GETFL/F_SETFL)`).
pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0o0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_CLOEXEC: u32 = 0o2000000;
/// The flags `F_SETFL` may change (Linux: O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK).
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK;

/// An open file description: the file, its status flags and its position.
pub struct OpenFile {
    pub file: Arc<dyn File>,
    flags: AtomicU32,
    pub offset: Mutex<u64>,
}

impl core::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OpenFile(flags {:#o})", self.flags())
    }
}

impl OpenFile {
    pub fn new(file: Arc<dyn File>, flags: u32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            file,
            flags: AtomicU32::new(flags & !O_CLOEXEC),
            offset: Mutex::new(0),
        })
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// `F_SETFL`: only the changeable flags move.
    pub fn set_flags(&self, flags: u32) {
        let old = self.flags();
        self.flags.store(
            (old & !SETFL_MASK) | (flags & SETFL_MASK),
            Ordering::Relaxed,
        );
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    pub fn readable(&self) -> bool {
        self.flags() & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        self.flags() & O_ACCMODE != O_RDONLY
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(errno::EBADF);
        }
        self.file.read(self, buf)
    }

    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(errno::EBADF);
        }
        self.file.write(self, buf)
    }
}
