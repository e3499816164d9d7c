//! Files: the in-memory file system every Kiln program sees.
//!
//! One tree of inodes in memory ([`Vfs`]): directories, regular files, symbolic links,
//! character devices (by kind; their I/O is [`dev`]'s or the syscall layer's), and anonymous
//! inodes the syscall layer creates for pipes and sockets. Its initial content comes from
//! newc cpio archives ([`cpio`]) — one linked into the image (`kiln_add_files`) and one passed
//! as the initrd (`kiln run --files`) — plus the standard tree ([`tree`]): `/dev`, `/proc/self`,
//! `/tmp` and a generated `/etc`.
//!
//! Archive files are **copy-on-write**: their bytes stay where the archive lies (the image or
//! the initrd) until the first write or truncate copies them into tmpfs pages. Every path is
//! writable; the archive only provides the initial state.
//!
//! Rules: no hardware, no `unsafe`, `alloc` only, so all of it is unit-tested on the host.
//! Time comes in as an argument ([`Ctx::now`]). Memory for file data, inodes and names is
//! accounted against a limit given to [`Vfs::new`]: past it, or when the allocator itself
//! fails (`try_reserve`), the caller gets `ENOSPC`, never a panic.
//!
//! A `MAP_SHARED` view of a file maps the file's own pages ([`Vfs::shared_page`]); while
//! one exists ([`Vfs::set_mapped_shared`]) shrinking or punching the file zeroes pages
//! instead of freeing them, so no mapped page is ever freed under the program.
//!
//! The syscall layer owns descriptors: it resolves paths with [`Vfs::open`] and friends,
//! keeps the returned [`Ino`] in its open-file object (that reference keeps an unlinked file
//! alive until [`Vfs::release`]), and answers `/proc/self/fd` through [`ProcFds`].
#![forbid(unsafe_code)]

pub mod cpio;
pub mod dev;
pub mod dirent;
pub mod netbase;
pub mod system;
pub mod tree;

mod node;
mod vfs;

pub use node::PAGE_SIZE;
pub use vfs::{Opened, Vfs};

use alloc::vec::Vec;

/// An inode number: stable for the inode's life, shown to programs as `st_ino`.
pub type Ino = u64;

/// The root directory's inode number.
pub const ROOT: Ino = 1;

/// Longest path a syscall accepts, counting its terminating NUL (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Longest name of one directory entry (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Symbolic links followed in one path resolution before `ELOOP` (Linux's limit).
pub const MAX_SYMLINKS: u32 = 40;
/// Largest file size (Linux tmpfs on x86-64: `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// `f_type` of `statfs` for this file system: Linux's `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `st_dev` of every inode (one file system).
pub const DEV: u64 = 0x1a;

/// Linux file-type bits of `st_mode` and open flags, as the syscall layer receives them.
pub mod consts {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;

    pub const O_ACCMODE: u32 = 0o3;
    pub const O_RDONLY: u32 = 0o0;
    pub const O_WRONLY: u32 = 0o1;
    pub const O_RDWR: u32 = 0o2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const O_NOFOLLOW: u32 = 0o400000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_PATH: u32 = 0o10000000;
    /// `O_TMPFILE` includes `O_DIRECTORY`, as on Linux.
    pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;

    pub const RENAME_NOREPLACE: u32 = 1;
    pub const RENAME_EXCHANGE: u32 = 2;
    pub const RENAME_WHITEOUT: u32 = 4;

    pub const F_OK: u32 = 0;
    pub const X_OK: u32 = 1;
    pub const W_OK: u32 = 2;
    pub const R_OK: u32 = 4;
}

/// A point in time (seconds and nanoseconds since the Unix epoch), as `struct timespec`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

impl Timespec {
    /// From nanoseconds since the epoch.
    pub const fn from_ns(ns: u64) -> Timespec {
        Timespec {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as u32,
        }
    }
}

/// How `utimensat` sets one of the two times.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeSet {
    /// `UTIME_NOW`: the current time.
    Now,
    /// `UTIME_OMIT`: leave it.
    Omit,
    /// An explicit time.
    At(Timespec),
}

/// The character devices of `/dev`. Their I/O is [`dev`]'s (pure ones) or the syscall
/// layer's (the console).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    /// The serial console (`/dev/console`).
    Console,
    /// The controlling terminal (`/dev/tty`): also the console.
    Tty,
    /// `/proc/sysrq-trigger`: writing `c` crashes the kernel, as on Linux (for checking
    /// what a supervisor sees when the runtime fails).
    SysrqTrigger,
}

impl Device {
    /// Linux's (major, minor) for this device.
    pub const fn numbers(self) -> (u32, u32) {
        match self {
            Device::Null => (1, 3),
            Device::Zero => (1, 5),
            Device::Full => (1, 7),
            Device::Random => (1, 8),
            Device::Urandom => (1, 9),
            Device::Tty => (5, 0),
            Device::Console => (5, 1),
            // A procfs file on Linux, with no device number.
            Device::SysrqTrigger => (0, 0),
        }
    }

    /// `st_rdev` as Linux encodes it (`makedev`).
    pub const fn rdev(self) -> u64 {
        let (major, minor) = self.numbers();
        let (major, minor) = (major as u64, minor as u64);
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    }
}

/// What an inode is, for the syscall layer to dispatch on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice(Device),
    /// A pipe (anonymous inode made by [`Vfs::create_anon`]).
    Fifo,
    /// A socket (anonymous inode made by [`Vfs::create_anon`]).
    Socket,
}

impl FileType {
    /// The `S_IF*` bits of `st_mode`.
    pub const fn mode_bits(self) -> u32 {
        use consts::*;
        match self {
            FileType::Regular => S_IFREG,
            FileType::Directory => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::CharDevice(_) => S_IFCHR,
            FileType::Fifo => S_IFIFO,
            FileType::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` of a `linux_dirent64` record.
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDevice(_) => 2,
            FileType::Directory => 4,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// `struct stat` in Rust terms; the syscall layer lays it out for `stat`/`statx`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stat {
    pub dev: u64,
    pub ino: Ino,
    /// File type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// `struct statfs` in Rust terms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
}

/// What one open descriptor refers to, for `/proc/self/fd`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FdInfo {
    /// The inode the descriptor holds (following `/proc/self/fd/N` reaches it directly).
    pub ino: Ino,
    /// What `readlink` shows: the path it was opened by, or e.g. `pipe:[7]`.
    pub path: Vec<u8>,
}

/// The syscall layer's descriptor table as `/proc/self/fd` sees it. Called while the VFS
/// is borrowed: an implementation must not reach back into the VFS.
pub trait ProcFds {
    /// The open descriptors, ascending.
    fn fds(&self) -> Vec<u32>;
    /// What `fd` refers to, or `None` if it is not open.
    fn fd(&self, fd: u32) -> Option<FdInfo>;
}

/// A descriptor table with nothing open (tests, boot-time setup).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFds;

impl ProcFds for NoFds {
    fn fds(&self) -> Vec<u32> {
        Vec::new()
    }
    fn fd(&self, _: u32) -> Option<FdInfo> {
        None
    }
}

/// What each VFS operation needs from its caller besides its arguments.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The current time (creation, modification, change times).
    pub now: Timespec,
    /// The process's file-mode creation mask.
    pub umask: u32,
    /// The descriptor table, for `/proc/self/fd`.
    pub fds: &'a dyn ProcFds,
}

impl core::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.now)
            .field("umask", &self.umask)
            .finish_non_exhaustive()
    }
}

impl Ctx<'static> {
    /// A context at time `now`, umask 022 and no descriptors.
    pub fn at(now: Timespec) -> Ctx<'static> {
        Ctx {
            now,
            umask: 0o022,
            fds: &NoFds,
        }
    }
}
