//! Path and file syscalls on the in-memory VFS ([`crate::fs`]), attached to the descriptor
//! layer ([`crate::fd`]): open/creat, stat family, access, getdents64, mkdir/rmdir, unlink,
//! rename, link/symlink/readlink, truncate, chdir/getcwd, chmod/chown/utimensat, statfs,
//! umask, fsync and advisory locks. An open VFS inode is a [`VfsFile`]; its I/O goes through
//! the descriptor layer's read/write/pread/pwrite/lseek/fstat like any other file.
//!
//! [`handler`] claims these numbers; the table asks it first.
#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use spin::Mutex;

use super::fs::{desc, install, Console};
use crate::errno::{self, Errno, SysResult};
use crate::fd::{self, Events, File, OpenFile, Whence};
use crate::fs::consts::*;
use crate::fs::{
    self as vfs_mod, dev, system::VFS, Ctx, Device, FdInfo, FileType, Ino, Opened, ProcFds,
    TimeSet, Timespec, Vfs, PATH_MAX, ROOT,
};
use crate::mm::filemap::{Access, Target};
use crate::mm::user::{bytes_mut as user_bytes_mut, cstr, read_u64s};

const AT_FDCWD: i64 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_EACCESS: u64 = 0x200;

// ---- state ---------------------------------------------------------------------------

/// The working directory (a retained inode) and the file-mode creation mask.
static CWD: Mutex<Ino> = Mutex::new(ROOT);
static UMASK: Mutex<u32> = Mutex::new(0o022);

fn now() -> Timespec {
    Timespec::from_ns(crate::time::realtime_ns())
}

/// The descriptor table as `/proc/self/fd` sees it.
struct Fds;

impl ProcFds for Fds {
    fn fds(&self) -> Vec<u32> {
        (0..fd::table::MAX_FDS as u32)
            .filter(|&fd| desc(u64::from(fd)).is_ok())
            .collect()
    }

    fn fd(&self, fd: u32) -> Option<FdInfo> {
        let d = desc(u64::from(fd)).ok()?;
        let any = d.file.as_any();
        if let Some(f) = any.downcast_ref::<VfsFile>() {
            return Some(FdInfo {
                ino: f.ino,
                path: f.path.clone(),
            });
        }
        if any.downcast_ref::<Console>().is_some() {
            let ino = *CONSOLE_INO.lock();
            return (ino != 0).then(|| FdInfo {
                ino,
                path: b"/dev/console".to_vec(),
            });
        }
        None
    }
}

/// The inode of `/dev/console`, for descriptors opened on the console before the VFS.
static CONSOLE_INO: Mutex<Ino> = Mutex::new(0);

/// Runs `op` on the file system with a context for this call.
fn with_vfs<T>(
    op: impl FnOnce(&mut Vfs<'static>, &Ctx<'_>) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let ctx = Ctx {
        now: now(),
        umask: *UMASK.lock(),
        fds: &Fds,
    };
    let mut guard = VFS.lock();
    let vfs = guard.as_mut().ok_or(errno::ENOSYS)?;
    if *CONSOLE_INO.lock() == 0 {
        if let Ok(ino) = vfs.lookup(&ctx, ROOT, b"/dev/console", true) {
            *CONSOLE_INO.lock() = ino;
        }
    }
    op(vfs, &ctx)
}

/// The directory a `*at` call starts from: the working directory for `AT_FDCWD`, else the
/// directory `dirfd` is open on. Absolute paths ignore it, as on Linux.
fn base(dirfd: u64, path: &[u8]) -> Result<Ino, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(ROOT);
    }
    if dirfd as i32 as i64 == AT_FDCWD {
        return Ok(*CWD.lock());
    }
    let d = desc(dirfd)?;
    match d.file.as_any().downcast_ref::<VfsFile>() {
        Some(f) if f.file_type == FileType::Directory => Ok(f.ino),
        _ => Err(errno::ENOTDIR),
    }
}

fn path_arg(ptr: u64) -> Result<&'static [u8], Errno> {
    cstr(ptr, PATH_MAX as u64 - 1)
}

// ---- open files ----------------------------------------------------------------------

/// An open VFS inode (regular file, directory, symbolic link with `O_PATH`).
pub struct VfsFile {
    ino: Ino,
    file_type: FileType,
    /// The path it was opened by, for `/proc/self/fd`.
    path: Vec<u8>,
    /// Opened with `O_PATH`: names the file, gives no access to it (mmap is `EBADF`).
    path_only: bool,
    /// A `/proc` file without a write operation: writes are `EINVAL`, as on Linux.
    read_only: bool,
}

impl core::fmt::Debug for VfsFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VfsFile(ino {})", self.ino)
    }
}

impl Drop for VfsFile {
    fn drop(&mut self) {
        if let Some(vfs) = VFS.lock().as_mut() {
            vfs.release(self.ino);
        }
    }
}

fn vfs_read<T>(op: impl FnOnce(&Vfs<'static>) -> Result<T, Errno>) -> Result<T, Errno> {
    VFS.lock().as_ref().map_or(Err(errno::EIO), op)
}

impl File for VfsFile {
    fn read(&self, desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut off = desc.offset.lock();
        let n = vfs_read(|v| v.read_at(self.ino, *off, buf))?;
        *off += n as u64;
        Ok(n)
    }

    fn write(&self, desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        if self.read_only {
            return Err(errno::EINVAL);
        }
        let mut off = desc.offset.lock();
        if desc.flags() & O_APPEND != 0 {
            let (n, end) = with_vfs(|v, ctx| v.append(ctx, self.ino, data))?;
            *off = end;
            Ok(n)
        } else {
            let at = *off;
            let n = with_vfs(|v, ctx| v.write_at(ctx, self.ino, at, data))?;
            *off = at + n as u64;
            Ok(n)
        }
    }

    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        vfs_read(|v| v.read_at(self.ino, offset, buf))
    }

    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        if self.read_only {
            return Err(errno::EINVAL);
        }
        with_vfs(|v, ctx| v.write_at(ctx, self.ino, offset, data))
    }

    fn seek(&self, desc: &OpenFile, offset: i64, whence: Whence) -> Result<u64, Errno> {
        let mut off = desc.offset.lock();
        if self.file_type == FileType::Directory {
            // The position of a directory is getdents64's cookie: only rewinding and
            // returning to a cookie make sense.
            return match whence {
                Whence::Set if offset >= 0 => {
                    *off = offset as u64;
                    Ok(*off)
                }
                Whence::Cur if offset == 0 => Ok(*off),
                _ => Err(errno::EINVAL),
            };
        }
        let size = vfs_read(|v| v.size(self.ino))?;
        let start = match whence {
            Whence::Set => 0,
            Whence::Cur => *off as i64,
            Whence::End => size as i64,
            Whence::Data | Whence::Hole => {
                if offset < 0 || offset as u64 >= size {
                    return Err(errno::ENXIO);
                }
                let to = if whence == Whence::Data {
                    offset as u64
                } else {
                    size
                };
                *off = to;
                return Ok(to);
            }
        };
        let new = start
            .checked_add(offset)
            .filter(|&n| n >= 0)
            .ok_or(errno::EINVAL)?;
        *off = new as u64;
        Ok(*off)
    }

    fn stat(&self) -> Result<fd::Stat, Errno> {
        vfs_read(|v| v.stat(self.ino)).map(to_fd_stat)
    }

    fn poll(&self) -> Events {
        Events::IN | Events::OUT
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A character device of `/dev` opened through the VFS.
#[derive(Debug)]
struct DevFile {
    device: Device,
    ino: Ino,
}

/// A command written to `/proc/sysrq-trigger`. Only `c` does something: the kernel crashes
/// by a NULL write in its own code, as Linux's does, so a supervisor can see what a runtime
/// failure looks like (`kiln: kernel fault`, status 70). Linux logs the others as unknown.
fn sysrq(command: Option<u8>) {
    match command {
        Some(b'c') => {
            kinfo!("sysrq: trigger a crash");
            crate::arch::cpu::null_write();
        }
        Some(c) if !c.is_ascii_whitespace() => {
            kinfo!("sysrq: {:?} is not supported (only 'c', crash)", c as char)
        }
        _ => {}
    }
}

impl File for DevFile {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        self.pread(buf, 0)
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        self.pwrite(data, 0)
    }

    fn pread(&self, buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        match dev::read(self.device, buf, crate::kernel::fill_random) {
            dev::Io::Done(n) => Ok(n),
            dev::Io::Console | dev::Io::Sysrq => Err(errno::EIO),
        }
    }

    fn pwrite(&self, data: &[u8], _offset: u64) -> Result<usize, Errno> {
        match dev::write(self.device, data.len())? {
            dev::Io::Done(n) => Ok(n),
            dev::Io::Console => Err(errno::EIO),
            dev::Io::Sysrq => {
                sysrq(data.first().copied());
                Ok(data.len())
            }
        }
    }

    fn seek(&self, _desc: &OpenFile, _offset: i64, _whence: Whence) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<fd::Stat, Errno> {
        vfs_read(|v| v.stat(self.ino)).map(to_fd_stat)
    }

    fn poll(&self) -> Events {
        Events::IN | Events::OUT
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn to_fd_stat(s: vfs_mod::Stat) -> fd::Stat {
    let t = |t: Timespec| fd::stat::Timespec {
        sec: t.sec,
        nsec: i64::from(t.nsec),
    };
    fd::Stat {
        dev: s.dev,
        ino: s.ino,
        nlink: u64::from(s.nlink),
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev,
        size: s.size as i64,
        blksize: i64::from(s.blksize),
        blocks: s.blocks as i64,
        atime: t(s.atime),
        mtime: t(s.mtime),
        ctime: t(s.ctime),
    }
}

// ---- open ----------------------------------------------------------------------------

/// The inode of `/proc/self/maps`, looked up at its first open.
static MAPS_INO: Mutex<Ino> = Mutex::new(0);

/// Opening `/proc/self/maps` gives a snapshot of the mappings made now, in a nameless file
/// (Linux generates the text as it is read; a snapshot at open is what a reader that opens,
/// reads and closes sees either way). Writes to it fail with `EINVAL`, as on Linux.
fn open_maps(opened: &Opened) -> Result<Option<Opened>, Errno> {
    if opened.file_type != FileType::Regular {
        return Ok(None);
    }
    let mut maps_ino = *MAPS_INO.lock();
    if maps_ino == 0 {
        maps_ino = with_vfs(|v, ctx| v.lookup(ctx, ROOT, b"/proc/self/maps", true)).unwrap_or(0);
        *MAPS_INO.lock() = maps_ino;
    }
    if opened.ino != maps_ino {
        return Ok(None);
    }
    let exe = with_vfs(|v, ctx| v.readlink(ctx, ROOT, b"/proc/self/exe")).unwrap_or_default();
    let text = crate::mm::user::maps_text(core::str::from_utf8(&exe).unwrap_or(""));
    let ino = with_vfs(|v, ctx| {
        v.release(opened.ino);
        let ino = v.create_anon(ctx, FileType::Regular, 0o444)?;
        match v.write_at(ctx, ino, 0, text.as_bytes()) {
            Ok(n) if n == text.len() => Ok(ino),
            Ok(_) => {
                v.release(ino);
                Err(errno::ENOMEM)
            }
            Err(e) => {
                v.release(ino);
                Err(e)
            }
        }
    })?;
    Ok(Some(Opened {
        ino,
        file_type: FileType::Regular,
        created: false,
    }))
}

// ---- AF_UNIX socket names -------------------------------------------------------------

/// bind of an AF_UNIX socket to `path`: a socket inode (mode 0777 less the umask, as Linux
/// makes it), held by the caller until [`release_inode`]. The name existing is `EADDRINUSE`.
pub(super) fn make_socket_node(path: &[u8]) -> Result<Ino, Errno> {
    let start = base(AT_FDCWD as u64, path)?;
    with_vfs(|v, ctx| {
        let ino = v
            .mknod_socket(ctx, start, path, 0o777 & !ctx.umask)
            .map_err(|e| {
                if e == errno::EEXIST {
                    errno::EADDRINUSE
                } else {
                    e
                }
            })?;
        v.retain(ino)?;
        Ok(ino)
    })
}

/// Undoes [`make_socket_node`] (the socket could not take the name after all).
pub(super) fn remove_socket_node(path: &[u8], ino: Ino) {
    if let Ok(start) = base(AT_FDCWD as u64, path) {
        let _ = with_vfs(|v, ctx| {
            v.unlink(ctx, start, path)?;
            v.release(ino);
            Ok(())
        });
    }
}

/// connect/sendto to an AF_UNIX path: the socket inode it names (`ECONNREFUSED` if it is not
/// a socket; lookup errors as for any path).
pub(super) fn find_socket_node(path: &[u8]) -> Result<Ino, Errno> {
    let start = base(AT_FDCWD as u64, path)?;
    with_vfs(|v, ctx| {
        let ino = v.lookup(ctx, start, path, true)?;
        match v.file_type(ino)? {
            FileType::Socket => Ok(ino),
            _ => Err(errno::ECONNREFUSED),
        }
    })
}

/// Gives back a reference taken on an inode (a closed socket's name).
pub(super) fn release_inode(ino: Ino) {
    if let Some(vfs) = VFS.lock().as_mut() {
        vfs.release(ino);
    }
}

// ---- /proc/self/task/TID/comm and /proc/self/comm ----------------------------------------

/// The `comm` files: inode → the thread whose name they show. `/proc/self/comm` is the main
/// thread's, as Linux's `/proc/PID/comm` is the thread group leader's.
static COMM: Mutex<BTreeMap<Ino, u64>> = Mutex::new(BTreeMap::new());

/// The thread whose `comm` file `ino` is, if it is one.
fn comm_thread(ino: Ino) -> Option<u64> {
    static FOUND: spin::Once<()> = spin::Once::new();
    FOUND.call_once(|| {
        for path in [&b"/proc/1/comm"[..], b"/proc/1/task/1/comm"] {
            if let Ok(ino) = with_vfs(|v, ctx| v.lookup(ctx, ROOT, path, true)) {
                COMM.lock().insert(ino, 1);
            }
        }
    });
    COMM.lock().get(&ino).copied()
}

/// A new thread appears in `/proc/self/task`.
pub fn task_started(tid: u64) {
    comm_thread(0);
    match with_vfs(|v, ctx| vfs_mod::tree::add_task(v, ctx, tid)) {
        Ok(ino) => {
            COMM.lock().insert(ino, tid);
        }
        Err(e) => kinfo!("/proc/self/task/{}: {}", tid, e.name()),
    }
}

/// An exited thread leaves `/proc/self/task`.
pub fn task_exited(tid: u64) {
    let _ = with_vfs(|v, ctx| vfs_mod::tree::remove_task(v, ctx, tid));
    COMM.lock().retain(|_, t| *t != tid);
}

/// An open `comm` file: reads give the thread's name and a newline, writes rename it (at
/// most 15 bytes, up to a NUL), as Linux's. The thread gone: `ESRCH`.
#[derive(Debug)]
struct CommFile {
    tid: u64,
    ino: Ino,
}

impl CommFile {
    fn text(&self) -> Result<Vec<u8>, Errno> {
        let name = crate::sched::thread::name_of(self.tid).ok_or(errno::ESRCH)?;
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let mut text = name[..len].to_vec();
        text.push(b'\n');
        Ok(text)
    }
}

impl Drop for CommFile {
    fn drop(&mut self) {
        if let Some(vfs) = VFS.lock().as_mut() {
            vfs.release(self.ino);
        }
    }
}

impl File for CommFile {
    fn read(&self, desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut off = desc.offset.lock();
        let n = self.pread(buf, *off)?;
        *off += n as u64;
        Ok(n)
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        self.pwrite(data, 0)
    }

    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let text = self.text()?;
        let from = (offset as usize).min(text.len());
        let n = buf.len().min(text.len() - from);
        buf[..n].copy_from_slice(&text[from..from + n]);
        Ok(n)
    }

    fn pwrite(&self, data: &[u8], _offset: u64) -> Result<usize, Errno> {
        if !crate::sched::thread::set_name(self.tid, data) {
            return Err(errno::ESRCH);
        }
        Ok(data.len())
    }

    fn seek(&self, desc: &OpenFile, offset: i64, whence: Whence) -> Result<u64, Errno> {
        let mut off = desc.offset.lock();
        let start = match whence {
            Whence::Set => 0,
            Whence::Cur => *off as i64,
            _ => return Err(errno::EINVAL),
        };
        let new = start
            .checked_add(offset)
            .filter(|&n| n >= 0)
            .ok_or(errno::EINVAL)?;
        *off = new as u64;
        Ok(*off)
    }

    fn stat(&self) -> Result<fd::Stat, Errno> {
        vfs_read(|v| v.stat(self.ino)).map(to_fd_stat)
    }

    fn poll(&self) -> Events {
        Events::IN | Events::OUT
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn do_open(dirfd: u64, path: &[u8], flags: u32, mode: u32) -> SysResult {
    let start = base(dirfd, path)?;
    let opened = with_vfs(|v, ctx| v.open(ctx, start, path, flags, mode))?;
    if opened.file_type == FileType::Regular && flags & O_PATH == 0 {
        if let Some(tid) = comm_thread(opened.ino) {
            let keep = O_ACCMODE | O_NONBLOCK | O_APPEND | O_CLOEXEC;
            return install(
                Arc::new(CommFile {
                    tid,
                    ino: opened.ino,
                }),
                flags & keep,
            );
        }
    }
    let maps = open_maps(&opened)?;
    let read_only = maps.is_some();
    let opened = maps.unwrap_or(opened);
    let file: Arc<dyn File> = match opened.file_type {
        FileType::CharDevice(Device::Console | Device::Tty) => {
            with_vfs(|v, _| {
                v.release(opened.ino);
                Ok(())
            })?;
            Arc::new(Console)
        }
        FileType::CharDevice(device) => {
            // The device object needs no reference on the inode beyond fstat's.
            with_vfs(|v, _| {
                v.release(opened.ino);
                Ok(())
            })?;
            Arc::new(DevFile {
                device,
                ino: opened.ino,
            })
        }
        FileType::Fifo | FileType::Socket => {
            with_vfs(|v, _| {
                v.release(opened.ino);
                Ok(())
            })?;
            return Err(errno::ENXIO);
        }
        file_type => Arc::new(VfsFile {
            ino: opened.ino,
            file_type,
            path: absolute(start, path),
            path_only: flags & O_PATH != 0,
            read_only,
        }),
    };
    let keep = O_ACCMODE | O_NONBLOCK | O_APPEND | O_CLOEXEC;
    install(file, flags & keep)
}

/// `path` from `start` as an absolute path (for `/proc/self/fd`), best effort.
fn absolute(start: Ino, path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let mut out = vfs_read(|v| v.dir_path(start)).unwrap_or_default();
    if out != b"/" {
        out.push(b'/');
    }
    out.extend_from_slice(path);
    out
}

pub fn open(a: &[u64; 6]) -> SysResult {
    do_open(AT_FDCWD as u64, path_arg(a[0])?, a[1] as u32, a[2] as u32)
}

pub fn openat(a: &[u64; 6]) -> SysResult {
    do_open(a[0], path_arg(a[1])?, a[2] as u32, a[3] as u32)
}

pub fn creat(a: &[u64; 6]) -> SysResult {
    do_open(
        AT_FDCWD as u64,
        path_arg(a[0])?,
        O_CREAT | O_WRONLY | O_TRUNC,
        a[1] as u32,
    )
}

// ---- stat and access -----------------------------------------------------------------

fn put_stat(ptr: u64, st: fd::Stat) -> SysResult {
    user_bytes_mut(ptr, fd::stat::LINUX_STAT_SIZE as u64)?.copy_from_slice(&st.to_linux());
    Ok(0)
}

/// The inode (or other open file) a `*at` call with `AT_EMPTY_PATH` and an empty path means.
fn fd_stat(fd: u64) -> Result<fd::Stat, Errno> {
    if fd as i32 as i64 == AT_FDCWD {
        let cwd = *CWD.lock();
        return vfs_read(|v| v.stat(cwd)).map(to_fd_stat);
    }
    desc(fd)?.file.stat()
}

fn stat_at(dirfd: u64, path: &[u8], flags: u64) -> Result<fd::Stat, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800/* AT_NO_AUTOMOUNT */) != 0 {
        return Err(errno::EINVAL);
    }
    if path.is_empty() {
        // Linux: ENOENT for an empty path before the directory descriptor is looked at.
        return if flags & AT_EMPTY_PATH != 0 {
            fd_stat(dirfd)
        } else {
            Err(errno::ENOENT)
        };
    }
    let start = base(dirfd, path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    with_vfs(|v, ctx| v.stat_at(ctx, start, path, follow)).map(to_fd_stat)
}

pub fn stat(a: &[u64; 6]) -> SysResult {
    put_stat(a[1], stat_at(AT_FDCWD as u64, path_arg(a[0])?, 0)?)
}

pub fn lstat(a: &[u64; 6]) -> SysResult {
    put_stat(
        a[1],
        stat_at(AT_FDCWD as u64, path_arg(a[0])?, AT_SYMLINK_NOFOLLOW)?,
    )
}

pub fn newfstatat(a: &[u64; 6]) -> SysResult {
    put_stat(a[2], stat_at(a[0], path_arg(a[1])?, a[3])?)
}

/// statx(2): the same answer as `newfstatat` in `struct statx` (`STATX_BASIC_STATS` and
/// `STATX_MNT_ID`, whatever the mask asks: Linux also returns more than asked).
pub fn statx(a: &[u64; 6]) -> SysResult {
    const AT_NO_AUTOMOUNT: u64 = 0x800;
    const AT_STATX_SYNC_TYPE: u64 = 0x6000;
    const STATX_RESERVED: u64 = 0x8000_0000;
    let (dirfd, flags, mask, buf) = (a[0], a[2], a[3], a[4]);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || (mask as u32 as u64) & STATX_RESERVED != 0
    {
        return Err(errno::EINVAL);
    }
    // Linux 6.11+: a NULL path with AT_EMPTY_PATH means the descriptor itself.
    let path: &[u8] = if a[1] == 0 && flags & AT_EMPTY_PATH != 0 {
        b""
    } else {
        path_arg(a[1])?
    };
    let st = stat_at(dirfd, path, flags & !AT_STATX_SYNC_TYPE)?;
    user_bytes_mut(buf, fd::stat::LINUX_STATX_SIZE as u64)?.copy_from_slice(&st.to_statx());
    Ok(0)
}

fn do_access(dirfd: u64, path: &[u8], mode: u64, flags: u64) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH) != 0 {
        return Err(errno::EINVAL);
    }
    let start = base(dirfd, path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let mode = u32::try_from(mode).map_err(|_| errno::EINVAL)?;
    with_vfs(|v, ctx| v.access(ctx, start, path, mode, follow))?;
    Ok(0)
}

pub fn access(a: &[u64; 6]) -> SysResult {
    do_access(AT_FDCWD as u64, path_arg(a[0])?, a[1], 0)
}

pub fn faccessat(a: &[u64; 6]) -> SysResult {
    do_access(a[0], path_arg(a[1])?, a[2], 0)
}

pub fn faccessat2(a: &[u64; 6]) -> SysResult {
    do_access(a[0], path_arg(a[1])?, a[2], a[3])
}

// ---- copies between descriptors -------------------------------------------------------

/// Linux's largest count for one read or write (`MAX_RW_COUNT`).
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// The regular VFS file behind a descriptor (`EISDIR` for a directory, `EINVAL` otherwise).
fn regular_file(d: &OpenFile) -> Result<Ino, Errno> {
    match d.file.as_any().downcast_ref::<VfsFile>() {
        Some(f) if f.file_type == FileType::Regular && !f.path_only => Ok(f.ino),
        Some(f) if f.file_type == FileType::Directory => Err(errno::EISDIR),
        _ => Err(errno::EINVAL),
    }
}

/// An `loff_t *` argument: `None` for NULL, else its value (`EINVAL` if negative).
fn offset_ptr(ptr: u64) -> Result<Option<u64>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let [v] = read_u64s::<1>(ptr)?;
    if (v as i64) < 0 {
        return Err(errno::EINVAL);
    }
    Ok(Some(v))
}

/// sendfile(2): from a regular file to any descriptor open for writing (a file, a pipe, a
/// socket, the console), in 64 KiB steps through the descriptor's own write; from the file
/// position (moved) or from `*offset` (updated; the position stays). Like Linux: the input
/// must be readable and the output writable (`EBADF`), the input a regular file and the
/// output not `O_APPEND` (`EINVAL`); a write that fails after some bytes went ends the copy
/// with the count so far.
pub fn sendfile(a: &[u64; 6]) -> SysResult {
    let (out_fd, in_fd, off_arg) = (a[0], a[1], a[2]);
    let count = a[3].min(MAX_RW_COUNT);
    let input = desc(in_fd)?;
    if !input.readable() {
        return Err(errno::EBADF);
    }
    let given = offset_ptr(off_arg)?;
    let output = desc(out_fd)?;
    if !output.writable() {
        return Err(errno::EBADF);
    }
    let ino = regular_file(&input).map_err(|_| errno::EINVAL)?;
    if output.flags() & O_APPEND != 0 {
        return Err(errno::EINVAL);
    }
    let start = given.unwrap_or_else(|| *input.offset.lock());
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(count.min(1 << 16) as usize)
        .map_err(|_| errno::ENOMEM)?;
    buf.resize(count.min(1 << 16) as usize, 0);
    let mut done = 0u64;
    while done < count {
        let want = (count - done).min(buf.len() as u64) as usize;
        let n = vfs_read(|v| v.read_at(ino, start + done, &mut buf[..want]))?;
        if n == 0 {
            break;
        }
        let written = match super::fs::write_all(&output, &buf[..n]) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += written;
        if written < n as u64 {
            break;
        }
    }
    match given {
        Some(_) => crate::mm::user::write_u64s(off_arg, &[start + done])?,
        None => *input.offset.lock() = start + done,
    }
    Ok(done)
}

/// copy_file_range(2) between regular files of the VFS, checked as Linux does (flags
/// `EINVAL`; a directory `EISDIR`; anything but regular files `EINVAL`; the input not
/// readable, the output not writable or `O_APPEND` `EBADF`; overlapping ranges of one file
/// `EINVAL`); from the positions (moved) or the given offsets (updated). Stops at the end of
/// the input; a full file system ends it with the count so far (`ENOSPC` if none).
pub fn copy_file_range(a: &[u64; 6]) -> SysResult {
    let (in_fd, off_in, out_fd, off_out, len, flags) = (a[0], a[1], a[2], a[3], a[4], a[5]);
    if flags != 0 {
        return Err(errno::EINVAL);
    }
    let (input, output) = (desc(in_fd)?, desc(out_fd)?);
    let given_in = offset_ptr(off_in)?;
    let given_out = offset_ptr(off_out)?;
    let (src, dst) = (regular_file(&input), regular_file(&output));
    if src == Err(errno::EISDIR) || dst == Err(errno::EISDIR) {
        return Err(errno::EISDIR);
    }
    let (src, dst) = (src?, dst?);
    if !input.readable() || !output.writable() || output.flags() & O_APPEND != 0 {
        return Err(errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT);
    let pos_in = given_in.unwrap_or_else(|| *input.offset.lock());
    let pos_out = given_out.unwrap_or_else(|| *output.offset.lock());
    if pos_in.checked_add(len).is_none() || pos_out.checked_add(len).is_none() {
        return Err(errno::EOVERFLOW);
    }
    if src == dst && pos_in < pos_out + len && pos_out < pos_in + len {
        return Err(errno::EINVAL);
    }
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(len.min(1 << 16) as usize)
        .map_err(|_| errno::ENOMEM)?;
    buf.resize(len.min(1 << 16) as usize, 0);
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let n = vfs_read(|v| v.read_at(src, pos_in + done, &mut buf[..want]))?;
        if n == 0 {
            break;
        }
        let written = match with_vfs(|v, ctx| v.write_at(ctx, dst, pos_out + done, &buf[..n])) {
            Ok(w) => w as u64,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += written;
        if written < n as u64 {
            break;
        }
    }
    match given_in {
        Some(_) => crate::mm::user::write_u64s(off_in, &[pos_in + done])?,
        None => *input.offset.lock() = pos_in + done,
    }
    match given_out {
        Some(_) => crate::mm::user::write_u64s(off_out, &[pos_out + done])?,
        None => *output.offset.lock() = pos_out + done,
    }
    Ok(done)
}

// ---- mappings ------------------------------------------------------------------------

/// What `mmap` may make of descriptor `fd`: its kind for [`crate::mm::filemap`], its open
/// mode, and the inode of a regular file. An `O_PATH` descriptor is `EBADF`, as on Linux.
pub fn map_target(fd: u64) -> Result<(Target, Access, Ino), Errno> {
    let d = desc(fd)?;
    let access = Access::from_open_flags(d.flags());
    let any = d.file.as_any();
    if let Some(f) = any.downcast_ref::<VfsFile>() {
        if f.path_only {
            return Err(errno::EBADF);
        }
        let target = if f.file_type == FileType::Regular {
            Target::Regular
        } else {
            Target::Unmappable
        };
        return Ok((target, access, f.ino));
    }
    if let Some(dev) = any.downcast_ref::<DevFile>() {
        if dev.device == Device::Zero {
            return Ok((Target::DevZero, access, dev.ino));
        }
    }
    Ok((Target::Unmappable, access, 0))
}

// ---- directories ---------------------------------------------------------------------

fn vfs_file(fd: u64) -> Result<(Arc<OpenFile>, Ino, FileType), Errno> {
    let d = desc(fd)?;
    let (ino, t) = match d.file.as_any().downcast_ref::<VfsFile>() {
        Some(f) => (f.ino, f.file_type),
        None => return Err(errno::EINVAL),
    };
    Ok((d, ino, t))
}

pub fn getdents64(a: &[u64; 6]) -> SysResult {
    let (d, ino, t) = vfs_file(a[0]).map_err(|e| {
        if e == errno::EINVAL {
            errno::ENOTDIR
        } else {
            e
        }
    })?;
    if t != FileType::Directory {
        return Err(errno::ENOTDIR);
    }
    let out = user_bytes_mut(a[1], a[2].min(1 << 20))?;
    let mut off = d.offset.lock();
    let (n, next) = with_vfs(|v, ctx| v.getdents(ctx, ino, *off, out))?;
    *off = next;
    Ok(n as u64)
}

pub fn mkdir(a: &[u64; 6]) -> SysResult {
    mkdirat(&[AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn mkdirat(a: &[u64; 6]) -> SysResult {
    let path = path_arg(a[1])?;
    let start = base(a[0], path)?;
    with_vfs(|v, ctx| v.mkdir(ctx, start, path, a[2] as u32))?;
    Ok(0)
}

pub fn rmdir(a: &[u64; 6]) -> SysResult {
    unlinkat(&[AT_FDCWD as u64, a[0], AT_REMOVEDIR, 0, 0, 0])
}

pub fn unlink(a: &[u64; 6]) -> SysResult {
    unlinkat(&[AT_FDCWD as u64, a[0], 0, 0, 0, 0])
}

pub fn unlinkat(a: &[u64; 6]) -> SysResult {
    if a[2] & !AT_REMOVEDIR != 0 {
        return Err(errno::EINVAL);
    }
    let path = path_arg(a[1])?;
    let start = base(a[0], path)?;
    if a[2] & AT_REMOVEDIR != 0 {
        with_vfs(|v, ctx| v.rmdir(ctx, start, path))?;
    } else {
        with_vfs(|v, ctx| v.unlink(ctx, start, path))?;
    }
    Ok(0)
}

pub fn rename(a: &[u64; 6]) -> SysResult {
    renameat2(&[AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0, 0])
}

pub fn renameat(a: &[u64; 6]) -> SysResult {
    renameat2(&[a[0], a[1], a[2], a[3], 0, 0])
}

pub fn renameat2(a: &[u64; 6]) -> SysResult {
    let (old, new) = (path_arg(a[1])?, path_arg(a[3])?);
    let (old_at, new_at) = (base(a[0], old)?, base(a[2], new)?);
    let flags = u32::try_from(a[4]).map_err(|_| errno::EINVAL)?;
    with_vfs(|v, ctx| v.rename(ctx, old_at, old, new_at, new, flags))?;
    Ok(0)
}

pub fn link(a: &[u64; 6]) -> SysResult {
    linkat(&[AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0, 0])
}

pub fn linkat(a: &[u64; 6]) -> SysResult {
    if a[4] & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(errno::EINVAL);
    }
    let (old, new) = (path_arg(a[1])?, path_arg(a[3])?);
    let new_at = base(a[2], new)?;
    if old.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let (_d, ino, _) = vfs_file(a[0]).map_err(|_| errno::ENOENT)?;
        with_vfs(|v, ctx| v.link_ino(ctx, ino, new_at, new))?;
        return Ok(0);
    }
    let old_at = base(a[0], old)?;
    let follow = a[4] & AT_SYMLINK_FOLLOW != 0;
    with_vfs(|v, ctx| v.link(ctx, old_at, old, new_at, new, follow))?;
    Ok(0)
}

pub fn symlink(a: &[u64; 6]) -> SysResult {
    symlinkat(&[a[0], AT_FDCWD as u64, a[1], 0, 0, 0])
}

pub fn symlinkat(a: &[u64; 6]) -> SysResult {
    let target = path_arg(a[0])?;
    let path = path_arg(a[2])?;
    let start = base(a[1], path)?;
    with_vfs(|v, ctx| v.symlink(ctx, target, start, path))?;
    Ok(0)
}

pub fn readlink(a: &[u64; 6]) -> SysResult {
    readlinkat(&[AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn readlinkat(a: &[u64; 6]) -> SysResult {
    if (a[3] as i64) <= 0 {
        return Err(errno::EINVAL);
    }
    let path = path_arg(a[1])?;
    let start = base(a[0], path)?;
    let target = with_vfs(|v, ctx| v.readlink(ctx, start, path))?;
    let out = user_bytes_mut(a[2], a[3].min(target.len() as u64))?;
    out.copy_from_slice(&target[..out.len()]);
    Ok(out.len() as u64)
}

// ---- contents and metadata -----------------------------------------------------------

fn length_arg(len: u64) -> Result<u64, Errno> {
    if (len as i64) < 0 {
        Err(errno::EINVAL)
    } else {
        Ok(len)
    }
}

pub fn truncate(a: &[u64; 6]) -> SysResult {
    let path = path_arg(a[0])?;
    let len = length_arg(a[1])?;
    let start = base(AT_FDCWD as u64, path)?;
    with_vfs(|v, ctx| {
        let ino = v.lookup(ctx, start, path, true)?;
        v.truncate(ctx, ino, len)
    })?;
    Ok(0)
}

pub fn ftruncate(a: &[u64; 6]) -> SysResult {
    let len = length_arg(a[1])?;
    let (d, ino, _) = vfs_file(a[0])?;
    if !d.writable() {
        return Err(errno::EINVAL);
    }
    with_vfs(|v, ctx| v.truncate(ctx, ino, len))?;
    Ok(0)
}

/// fallocate(2), checked in Linux's order (`vfs_fallocate`, then tmpfs's modes): mode 0
/// grows the file (a hole: memory is charged when written, so a later write can still meet
/// `ENOSPC`), `FALLOC_FL_KEEP_SIZE` alone changes nothing, `FALLOC_FL_PUNCH_HOLE |
/// FALLOC_FL_KEEP_SIZE` zeroes the range and frees its whole pages; other modes `EOPNOTSUPP`,
/// as tmpfs.
pub fn fallocate(a: &[u64; 6]) -> SysResult {
    const KEEP_SIZE: u32 = 0x01;
    const PUNCH_HOLE: u32 = 0x02;
    const ZERO_RANGE: u32 = 0x10;
    const SUPPORTED_MASK: u32 = 0x7f;
    let mode = a[1] as u32;
    let (off, len) = (a[2] as i64, a[3] as i64);
    if off < 0 || len <= 0 {
        return Err(errno::EINVAL);
    }
    if mode & !SUPPORTED_MASK != 0
        || mode & (PUNCH_HOLE | ZERO_RANGE) == PUNCH_HOLE | ZERO_RANGE
        || (mode & PUNCH_HOLE != 0 && mode & KEEP_SIZE == 0)
    {
        return Err(errno::EOPNOTSUPP);
    }
    let d = desc(a[0])?;
    if !d.writable() {
        return Err(errno::EBADF);
    }
    let ino = match d.file.as_any().downcast_ref::<VfsFile>() {
        Some(f) if f.file_type == FileType::Regular => f.ino,
        Some(f) if f.file_type == FileType::Directory => return Err(errno::EISDIR),
        _ if d.file.stat().is_ok_and(|st| st.mode & S_IFMT == S_IFIFO) => {
            return Err(errno::ESPIPE)
        }
        _ => return Err(errno::ENODEV),
    };
    let (off, len) = (off as u64, len as u64);
    let end = off
        .checked_add(len)
        .filter(|&end| end <= vfs_mod::MAX_FILE_SIZE)
        .ok_or(errno::EFBIG)?;
    if mode & !(KEEP_SIZE | PUNCH_HOLE) != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    with_vfs(|v, ctx| {
        if mode & PUNCH_HOLE != 0 {
            v.punch_hole(ctx, ino, off, len)
        } else if mode == 0 && v.size(ino)? < end {
            v.truncate(ctx, ino, end)
        } else {
            Ok(())
        }
    })?;
    Ok(0)
}

/// Everything is in memory: there is nothing to flush.
pub fn fsync(a: &[u64; 6]) -> SysResult {
    desc(a[0])?;
    Ok(0)
}

pub fn sync(_a: &[u64; 6]) -> SysResult {
    Ok(0)
}

fn set_cwd(ino: Ino) -> SysResult {
    with_vfs(|v, _| {
        if v.file_type(ino)? != FileType::Directory {
            return Err(errno::ENOTDIR);
        }
        v.retain(ino)?;
        let old = core::mem::replace(&mut *CWD.lock(), ino);
        v.release(old);
        Ok(0)
    })
}

pub fn chdir(a: &[u64; 6]) -> SysResult {
    let path = path_arg(a[0])?;
    let start = base(AT_FDCWD as u64, path)?;
    let ino = with_vfs(|v, ctx| v.lookup(ctx, start, path, true))?;
    set_cwd(ino)
}

pub fn fchdir(a: &[u64; 6]) -> SysResult {
    let (_d, ino, _) = vfs_file(a[0]).map_err(|e| {
        if e == errno::EINVAL {
            errno::ENOTDIR
        } else {
            e
        }
    })?;
    set_cwd(ino)
}

pub fn getcwd(a: &[u64; 6]) -> SysResult {
    let cwd = *CWD.lock();
    let mut path = vfs_read(|v| v.dir_path(cwd))?;
    path.push(0);
    if (a[1] as usize) < path.len() {
        return Err(errno::ERANGE);
    }
    user_bytes_mut(a[0], path.len() as u64)?.copy_from_slice(&path);
    Ok(path.len() as u64)
}

/// The inode a path names, or the open file for `AT_EMPTY_PATH`.
fn target_ino(dirfd: u64, path: &[u8], flags: u64) -> Result<Ino, Errno> {
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd as i32 as i64 == AT_FDCWD {
            return Ok(*CWD.lock());
        }
        return vfs_file(dirfd)
            .map(|(_, ino, _)| ino)
            .map_err(|_| errno::EPERM);
    }
    let start = base(dirfd, path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    with_vfs(|v, ctx| v.lookup(ctx, start, path, follow))
}

pub fn chmod(a: &[u64; 6]) -> SysResult {
    fchmodat(&[AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn fchmod(a: &[u64; 6]) -> SysResult {
    let (_d, ino, _) =
        vfs_file(a[0]).map_err(|e| if e == errno::EINVAL { errno::EPERM } else { e })?;
    with_vfs(|v, ctx| v.chmod(ctx, ino, a[1] as u32))?;
    Ok(0)
}

pub fn fchmodat(a: &[u64; 6]) -> SysResult {
    if a[3] & !AT_SYMLINK_NOFOLLOW != 0 {
        return Err(errno::EINVAL);
    }
    let path = path_arg(a[1])?;
    let ino = target_ino(a[0], path, a[3])?;
    with_vfs(|v, ctx| v.chmod(ctx, ino, a[2] as u32))?;
    Ok(0)
}

fn id_arg(v: u64) -> Option<u32> {
    (v as u32 != u32::MAX).then_some(v as u32)
}

pub fn chown(a: &[u64; 6]) -> SysResult {
    fchownat(&[AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn lchown(a: &[u64; 6]) -> SysResult {
    fchownat(&[AT_FDCWD as u64, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW, 0])
}

pub fn fchown(a: &[u64; 6]) -> SysResult {
    let (_d, ino, _) =
        vfs_file(a[0]).map_err(|e| if e == errno::EINVAL { errno::EPERM } else { e })?;
    with_vfs(|v, ctx| v.chown(ctx, ino, id_arg(a[1]), id_arg(a[2])))?;
    Ok(0)
}

pub fn fchownat(a: &[u64; 6]) -> SysResult {
    if a[4] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(errno::EINVAL);
    }
    let path = path_arg(a[1])?;
    let ino = target_ino(a[0], path, a[4])?;
    with_vfs(|v, ctx| v.chown(ctx, ino, id_arg(a[2]), id_arg(a[3])))?;
    Ok(0)
}

pub fn utimensat(a: &[u64; 6]) -> SysResult {
    const UTIME_NOW: u64 = (1 << 30) - 1;
    const UTIME_OMIT: u64 = (1 << 30) - 2;
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(errno::EINVAL);
    }
    let (atime, mtime) = if a[2] == 0 {
        (TimeSet::Now, TimeSet::Now)
    } else {
        let [asec, ansec, msec, mnsec] = read_u64s::<4>(a[2])?;
        let one = |sec: u64, nsec: u64| match nsec {
            UTIME_NOW => Ok(TimeSet::Now),
            UTIME_OMIT => Ok(TimeSet::Omit),
            n if n < 1_000_000_000 => Ok(TimeSet::At(Timespec {
                sec: sec as i64,
                nsec: n as u32,
            })),
            _ => Err(errno::EINVAL),
        };
        (one(asec, ansec)?, one(msec, mnsec)?)
    };
    // A NULL path with a descriptor is futimens.
    let ino = if a[1] == 0 {
        target_ino(a[0], b"", AT_EMPTY_PATH)?
    } else {
        target_ino(a[0], path_arg(a[1])?, a[3])?
    };
    with_vfs(|v, ctx| v.utimens(ctx, ino, atime, mtime))?;
    Ok(0)
}

fn put_statfs(ptr: u64) -> SysResult {
    // struct statfs (x86-64): f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files,
    // f_ffree, f_fsid (2 × i32), f_namelen, f_frsize, f_flags, f_spare[4]: 120 bytes.
    let s = vfs_read(|v| Ok(v.statfs()))?;
    let out = user_bytes_mut(ptr, 120)?;
    out.fill(0);
    let fields = [
        s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, 0, s.namelen, s.frsize,
    ];
    for (i, v) in fields.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    Ok(0)
}

pub fn statfs(a: &[u64; 6]) -> SysResult {
    let path = path_arg(a[0])?;
    let start = base(AT_FDCWD as u64, path)?;
    with_vfs(|v, ctx| v.lookup(ctx, start, path, true))?;
    put_statfs(a[1])
}

pub fn fstatfs(a: &[u64; 6]) -> SysResult {
    desc(a[0])?;
    put_statfs(a[1])
}

pub fn umask(a: &[u64; 6]) -> SysResult {
    let mut m = UMASK.lock();
    let old = *m;
    *m = a[0] as u32 & 0o777;
    Ok(u64::from(old))
}

/// One process: advisory locks never conflict, so they are granted at once.
pub fn flock(a: &[u64; 6]) -> SysResult {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_UN: u64 = 8;
    const LOCK_NB: u64 = 4;
    desc(a[0])?;
    match a[1] & !LOCK_NB {
        LOCK_SH | LOCK_EX | LOCK_UN => Ok(0),
        _ => Err(errno::EINVAL),
    }
}

/// `fcntl`'s record locks (one process: never conflicting); everything else is the
/// descriptor layer's.
pub fn fcntl(a: &[u64; 6]) -> SysResult {
    const F_GETLK: u64 = 5;
    const F_SETLK: u64 = 6;
    const F_SETLKW: u64 = 7;
    const F_OFD_GETLK: u64 = 36;
    const F_OFD_SETLK: u64 = 37;
    const F_OFD_SETLKW: u64 = 38;
    const F_UNLCK: u16 = 2;
    match a[1] {
        F_GETLK | F_OFD_GETLK => {
            let d = desc(a[0])?;
            let out = user_bytes_mut(a[2], 32)?;
            check_flock(&d, out, true, a[1] == F_OFD_GETLK)?;
            // F_UNLCK in l_type says nothing would block.
            out[0..2].copy_from_slice(&F_UNLCK.to_ne_bytes());
            Ok(0)
        }
        F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => {
            let d = desc(a[0])?;
            let lock = user_bytes_mut(a[2], 32)?;
            check_flock(&d, lock, false, a[1] != F_SETLK && a[1] != F_SETLKW)?;
            Ok(0)
        }
        _ => super::fs::fcntl(a),
    }
}

/// Linux's checks of a `struct flock` (`l_type` i16 at 0, `l_whence` i16 at 2, `l_start`
/// at 8, `l_len` at 16, `l_pid` i32 at 24), in the order `fcntl_getlk`/`fcntl_setlk` make
/// them: the type, the range (`EINVAL` before the file's start, `EOVERFLOW` past the largest
/// offset), then for setting the descriptor's access (`EBADF`), and `l_pid` 0 for OFD locks.
fn check_flock(d: &OpenFile, raw: &[u8], get: bool, ofd: bool) -> Result<(), Errno> {
    const F_RDLCK: i16 = 0;
    const F_WRLCK: i16 = 1;
    const F_UNLCK: i16 = 2;
    let i16_at = |at: usize| i16::from_ne_bytes([raw[at], raw[at + 1]]);
    let i64_at = |at: usize| i64::from_ne_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let (l_type, whence, l_start, l_len) = (i16_at(0), i16_at(2), i64_at(8), i64_at(16));
    let l_pid = i32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]]);
    if get && l_type != F_RDLCK && l_type != F_WRLCK {
        return Err(errno::EINVAL);
    }
    let base = match whence {
        0 => 0,
        1 => *d.offset.lock() as i64,
        2 => d.file.stat().map(|st| st.size).unwrap_or(0),
        _ => return Err(errno::EINVAL),
    };
    let mut start = base.checked_add(l_start).ok_or(errno::EOVERFLOW)?;
    if start < 0 {
        return Err(errno::EINVAL);
    }
    if l_len > 0 && start.checked_add(l_len - 1).is_none() {
        return Err(errno::EOVERFLOW);
    }
    if l_len < 0 {
        start += l_len;
        if start < 0 {
            return Err(errno::EINVAL);
        }
    }
    if !get {
        match l_type {
            F_RDLCK if !d.readable() => return Err(errno::EBADF),
            F_WRLCK if !d.writable() => return Err(errno::EBADF),
            F_RDLCK | F_WRLCK | F_UNLCK => {}
            _ => return Err(errno::EINVAL),
        }
    }
    if ofd && l_pid != 0 {
        return Err(errno::EINVAL);
    }
    Ok(())
}
