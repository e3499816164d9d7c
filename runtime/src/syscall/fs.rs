//! Descriptor syscalls on the [`crate::fd`] layer: read/write and their vector and
//! positioned forms, close, lseek, fstat, ioctl, fcntl, dup*, pipe*, eventfd*; and the
//! console (fds 0-2). Paths and VFS files are the `file` family. A call that would block
//! waits in [`crate::sched`] unless the description is non-blocking.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use crate::errno::{self, Errno, SysResult};
use crate::fd::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::fd::{
    pipe, Events, FdTable, File, OpenFile, Stat, Whence, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR,
    O_WRONLY,
};
use crate::mm::user::{self, bytes as user_bytes, bytes_mut as user_bytes_mut};

/// The process's descriptor table.
static FDS: Mutex<FdTable> = Mutex::new(FdTable::new());

/// Inode numbers for anonymous objects (pipes, eventfds, epoll instances).
static NEXT_INO: AtomicU64 = AtomicU64::new(1000);

pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// The description `fd` names.
pub fn desc(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    FDS.lock().get(fd as i64)
}

/// EBADF unless `fd` is open (for calls of other families that take a descriptor).
pub fn check_fd(fd: u64) -> Result<(), Errno> {
    desc(fd).map(|_| ())
}

/// Installs a new description at the lowest free descriptor.
pub fn install(file: Arc<dyn File>, flags: u32) -> SysResult {
    let desc = OpenFile::new(file, flags);
    let fd = FDS.lock().install(desc, flags & O_CLOEXEC != 0, 0)?;
    Ok(fd as u64)
}

/// Installs an existing description (one passed with SCM_RIGHTS) at the lowest free
/// descriptor.
pub fn install_desc(desc: Arc<OpenFile>, cloexec: bool) -> SysResult {
    let mut fds = FDS.lock();
    let r = fds.install(desc.clone(), cloexec, 0);
    drop(fds);
    // A description that could not be installed is dropped here, outside the table's lock
    // (it may be the last reference, whose drop closes a file).
    drop(desc);
    r.map(|fd| fd as u64)
}

/// Runs `op` until it stops saying EAGAIN, waiting in between, unless `desc` is
/// non-blocking.
pub fn retry<T>(desc: &OpenFile, mut op: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    if desc.nonblocking() {
        return op();
    }
    crate::sched::block_until(
        None,
        |now| wake_for(&*desc.file, now),
        || match op() {
            Err(e) if e == errno::EAGAIN => None,
            r => Some(r),
        },
    )
    .unwrap_or(Err(errno::EAGAIN))
}

/// When a wait involving `file` must look again without an interrupt: its own next event
/// (a timer), or soon for the polled console.
pub fn wake_for(file: &dyn File, now: u64) -> Option<u64> {
    if file.as_any().downcast_ref::<Console>().is_some() {
        return Some(now.saturating_add(CONSOLE_POLL_NS));
    }
    file.next_event_ns()
}

// ---- devices ----

/// How often a blocked console read looks at the UART (its interrupt is not wired up).
const CONSOLE_POLL_NS: u64 = 10_000_000;

/// COM1 as a terminal.
#[derive(Debug)]
pub struct Console;

impl File for Console {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut console = crate::drivers::serial::CONSOLE.lock();
        let mut n = 0;
        while n < buf.len() {
            match console.try_read_byte() {
                Some(b) => {
                    buf[n] = if b == b'\r' { b'\n' } else { b };
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            Err(errno::EAGAIN)
        } else {
            Ok(n)
        }
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        crate::drivers::serial::CONSOLE.lock().write_bytes(data);
        Ok(data.len())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::char_device(5, 1, 2))
    }

    fn ioctl(&self, _desc: &OpenFile, request: u64, arg: u64) -> Result<u64, Errno> {
        const TCGETS: u64 = 0x5401;
        const TCSETS: u64 = 0x5402;
        const TCSETSW: u64 = 0x5403;
        const TCSETSF: u64 = 0x5404;
        const TIOCGWINSZ: u64 = 0x5413;
        const TIOCSWINSZ: u64 = 0x5414;
        match request {
            TCGETS => {
                // struct termios (kernel layout, 36 bytes): iflag ICRNL, oflag OPOST|ONLCR,
                // cflag B115200|CS8|CREAD, lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN.
                let out = user_bytes_mut(arg, 36)?;
                out.fill(0);
                out[0..4].copy_from_slice(&0o400u32.to_ne_bytes());
                out[4..8].copy_from_slice(&0o5u32.to_ne_bytes());
                out[8..12].copy_from_slice(&0o10262u32.to_ne_bytes());
                out[12..16].copy_from_slice(&0o105073u32.to_ne_bytes());
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF | TIOCSWINSZ => Ok(0),
            TIOCGWINSZ => {
                let out = user_bytes_mut(arg, 8)?;
                out[0..2].copy_from_slice(&24u16.to_ne_bytes());
                out[2..4].copy_from_slice(&80u16.to_ne_bytes());
                out[4..8].fill(0);
                Ok(0)
            }
            _ => {
                unsupported_ioctl(request);
                Err(errno::ENOTTY)
            }
        }
    }

    fn poll(&self) -> Events {
        let mut e = Events::OUT;
        if crate::drivers::serial::CONSOLE.lock().has_input() {
            e = e | Events::IN;
        }
        e
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Logs an unsupported ioctl request once per request number (up to 64 distinct ones).
fn unsupported_ioctl(req: u64) {
    static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock();
    if !seen.contains(&req) && seen.len() < 64 {
        seen.push(req);
        kinfo!(
            "unsupported ioctl request {:#x} on the console -> ENOTTY",
            req
        );
    }
}

/// Opens fds 0, 1 and 2 on the console.
pub fn init() {
    let console: Arc<dyn File> = Arc::new(Console);
    let desc = OpenFile::new(console, O_RDWR);
    let mut fds = FDS.lock();
    for _ in 0..3 {
        let _ = fds.install(desc.clone(), false, 0);
    }
}

// ---- read and write ----

/// A blocking write keeps going until everything is written (as Linux does for pipes and
/// sockets); it returns what was written if an error ends it part-way.
pub(super) fn write_all(desc: &OpenFile, data: &[u8]) -> SysResult {
    let mut done = 0;
    loop {
        match retry(desc, || desc.write(&data[done..])) {
            Ok(n) => done += n,
            Err(e) if done == 0 => return Err(sigpipe_on(desc, e)),
            Err(_) => return Ok(done as u64),
        }
        if done == data.len() || desc.nonblocking() || n_is_complete(desc) {
            return Ok(done as u64);
        }
    }
}

/// Files other than pipes and stream sockets complete a write in one call.
fn n_is_complete(desc: &OpenFile) -> bool {
    let any = desc.file.as_any();
    any.downcast_ref::<pipe::WriteEnd>().is_none()
        && any.downcast_ref::<super::net::SocketFile>().is_none()
        && !super::unix::is_stream(desc)
}

/// EPIPE also raises SIGPIPE, whose default action ends the program (exit 141), as on
/// Linux; a program that ignores SIGPIPE gets EPIPE. AF_UNIX datagram and seqpacket
/// sockets fail with EPIPE alone, as on Linux.
fn sigpipe_on(desc: &OpenFile, e: Errno) -> Errno {
    if e == errno::EPIPE && super::unix::raises_sigpipe(desc) {
        super::process::raise_sigpipe();
    }
    e
}

pub fn read(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    let buf = user_bytes_mut(a[1], a[2])?;
    retry(&d, || d.read(buf)).map(|n| n as u64)
}

pub fn write(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    write_all(&d, user_bytes(a[1], a[2])?)
}

/// The iovecs of readv/writev: `struct iovec { void *base; size_t len; }`, as (base, len).
fn iovecs(ptr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    const IOV_MAX: u64 = 1024;
    if count > IOV_MAX {
        return Err(errno::EINVAL);
    }
    let raw = user_bytes(ptr, count * 16)?;
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
    let v: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|iov| (word(&iov[..8]), word(&iov[8..])))
        .collect();
    if v.iter()
        .try_fold(0u64, |acc, &(_, len)| acc.checked_add(len))
        .is_none_or(|t| t > isize::MAX as u64)
    {
        return Err(errno::EINVAL);
    }
    Ok(v)
}

pub fn readv(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    let iov = iovecs(a[1], a[2])?;
    let mut total = 0u64;
    for (i, &(base, len)) in iov.iter().enumerate() {
        let buf = user_bytes_mut(base, len)?;
        // Only the first segment may wait; later ones take what is there.
        let r = if i == 0 {
            retry(&d, || d.read(buf))
        } else {
            d.read(buf)
        };
        match r {
            Ok(n) => {
                total += n as u64;
                if (n as u64) < len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn writev(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    let iov = iovecs(a[1], a[2])?;
    let mut total = 0u64;
    for &(base, len) in &iov {
        match write_all(&d, user_bytes(base, len)?) {
            Ok(n) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

fn offset_arg(off: u64) -> Result<u64, Errno> {
    if (off as i64) < 0 {
        Err(errno::EINVAL)
    } else {
        Ok(off)
    }
}

pub fn pread64(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    if !d.readable() {
        return Err(errno::EBADF);
    }
    let off = offset_arg(a[3])?;
    d.file
        .pread(user_bytes_mut(a[1], a[2])?, off)
        .map(|n| n as u64)
}

pub fn pwrite64(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    if !d.writable() {
        return Err(errno::EBADF);
    }
    let off = offset_arg(a[3])?;
    d.file
        .pwrite(user_bytes(a[1], a[2])?, off)
        .map(|n| n as u64)
}

pub fn preadv(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    if !d.readable() {
        return Err(errno::EBADF);
    }
    let mut off = offset_arg(a[3])?;
    let mut total = 0;
    for (base, len) in iovecs(a[1], a[2])? {
        let n = d.file.pread(user_bytes_mut(base, len)?, off)? as u64;
        total += n;
        off += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn pwritev(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    if !d.writable() {
        return Err(errno::EBADF);
    }
    let mut off = offset_arg(a[3])?;
    let mut total = 0;
    for (base, len) in iovecs(a[1], a[2])? {
        let n = d.file.pwrite(user_bytes(base, len)?, off)? as u64;
        total += n;
        off += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

/// The `RWF_*` flags of preadv2/pwritev2 that change nothing here (`RWF_HIPRI`,
/// `RWF_DSYNC`, `RWF_SYNC`: memory needs no flushing); others are `EOPNOTSUPP`.
fn rwf_flags(flags: u64) -> Result<(), Errno> {
    const ACCEPTED: u64 = 0x1 | 0x2 | 0x4;
    if flags & !ACCEPTED != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    Ok(())
}

/// preadv2(2): preadv at an offset, or readv at the file position for offset -1.
pub fn preadv2(a: &[u64; 6]) -> SysResult {
    desc(a[0])?;
    rwf_flags(a[5])?;
    if a[3] as i64 == -1 {
        readv(a)
    } else {
        preadv(a)
    }
}

/// pwritev2(2): pwritev at an offset, or writev at the file position for offset -1.
pub fn pwritev2(a: &[u64; 6]) -> SysResult {
    desc(a[0])?;
    rwf_flags(a[5])?;
    if a[3] as i64 == -1 {
        writev(a)
    } else {
        pwritev(a)
    }
}

/// fadvise64(2) (`posix_fadvise`): advice is checked and ignored, as the page cache Linux
/// would tune is memory already; a pipe is `ESPIPE`.
pub fn fadvise64(a: &[u64; 6]) -> SysResult {
    const POSIX_FADV_NOREUSE: u64 = 5;
    let d = desc(a[0])?;
    use crate::fd::stat::{S_IFIFO, S_IFMT};
    if d.file.stat().is_ok_and(|st| st.mode & S_IFMT == S_IFIFO) {
        return Err(errno::ESPIPE);
    }
    if (a[2] as i64) < 0 || a[3] > POSIX_FADV_NOREUSE {
        return Err(errno::EINVAL);
    }
    Ok(0)
}

// ---- open, close, seek, stat ----

pub fn close(a: &[u64; 6]) -> SysResult {
    let desc = FDS.lock().close(a[0] as i64)?;
    drop(desc); // outside the table's lock: the last reference closes the file
    Ok(0)
}

pub fn lseek(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    let whence = match a[2] {
        0 => Whence::Set,
        1 => Whence::Cur,
        2 => Whence::End,
        3 => Whence::Data,
        4 => Whence::Hole,
        _ => return Err(errno::EINVAL),
    };
    d.file.seek(&d, a[1] as i64, whence)
}

pub fn fstat(a: &[u64; 6]) -> SysResult {
    let st = desc(a[0])?.file.stat()?;
    user_bytes_mut(a[1], crate::fd::stat::LINUX_STAT_SIZE as u64)?.copy_from_slice(&st.to_linux());
    Ok(0)
}

// ---- ioctl, fcntl, dup ----

pub fn ioctl(a: &[u64; 6]) -> SysResult {
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    const FIONBIO: u64 = 0x5421;
    let d = desc(a[0])?;
    match a[1] {
        FIONBIO => {
            let on = user::read_u32(a[2])? != 0;
            let flags = d.flags();
            d.set_flags(if on {
                flags | O_NONBLOCK
            } else {
                flags & !O_NONBLOCK
            });
            Ok(0)
        }
        FIOCLEX | FIONCLEX => {
            FDS.lock().set_cloexec(a[0] as i64, a[1] == FIOCLEX)?;
            Ok(0)
        }
        req => {
            let r = d.file.ioctl(&d, req, a[2])?;
            // Integer-returning requests (FIONREAD) write their result through the pointer.
            const FIONREAD: u64 = 0x541b;
            if req == FIONREAD {
                user::write_u32(a[2], r as u32)?;
                return Ok(0);
            }
            Ok(r)
        }
    }
}

pub fn fcntl(a: &[u64; 6]) -> SysResult {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const FD_CLOEXEC: u64 = 1;
    let fd = a[0] as i64;
    let d = desc(a[0])?;
    match a[1] {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let lowest = usize::try_from(a[2] as i64).map_err(|_| errno::EINVAL)?;
            FDS.lock()
                .install(d, a[1] == F_DUPFD_CLOEXEC, lowest)
                .map(|fd| fd as u64)
        }
        F_GETFD => Ok(FDS.lock().cloexec(fd)? as u64),
        F_SETFD => {
            FDS.lock().set_cloexec(fd, a[2] & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(d.flags() as u64),
        F_SETFL => {
            d.set_flags(a[2] as u32);
            Ok(0)
        }
        _ => Err(errno::EINVAL),
    }
}

pub fn dup(a: &[u64; 6]) -> SysResult {
    let d = desc(a[0])?;
    FDS.lock().install(d, false, 0).map(|fd| fd as u64)
}

pub fn dup3(a: &[u64; 6]) -> SysResult {
    let flags = a[2] as u32;
    if a[0] == a[1] || flags & !O_CLOEXEC != 0 {
        return Err(errno::EINVAL);
    }
    let previous = FDS
        .lock()
        .dup_to(a[0] as i64, a[1] as i64, flags & O_CLOEXEC != 0)?;
    drop(previous);
    Ok(a[1])
}

pub fn dup2(a: &[u64; 6]) -> SysResult {
    if a[0] == a[1] {
        return desc(a[0]).map(|_| a[1]);
    }
    dup3(&[a[0], a[1], 0, 0, 0, 0])
}

// ---- pipes and eventfds ----

pub fn pipe2(a: &[u64; 6]) -> SysResult {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | 0o40000/* O_DIRECT */) != 0 {
        return Err(errno::EINVAL);
    }
    user_bytes_mut(a[0], 8)?;
    let (r, w) = pipe::pipe(next_ino());
    let status = flags & O_NONBLOCK;
    let rfd = install(Arc::new(r), O_RDONLY | status | (flags & O_CLOEXEC))?;
    let wfd = match install(Arc::new(w), O_WRONLY | status | (flags & O_CLOEXEC)) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = FDS.lock().close(rfd as i64);
            return Err(e);
        }
    };
    let out = user_bytes_mut(a[0], 8)?;
    out[..4].copy_from_slice(&(rfd as i32).to_ne_bytes());
    out[4..].copy_from_slice(&(wfd as i32).to_ne_bytes());
    Ok(0)
}

pub fn pipe(a: &[u64; 6]) -> SysResult {
    pipe2(&[a[0], 0, 0, 0, 0, 0])
}

pub fn eventfd2(a: &[u64; 6]) -> SysResult {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(errno::EINVAL);
    }
    let file = EventFd::new(a[0] & 0xffff_ffff, flags & EFD_SEMAPHORE != 0, next_ino());
    install(Arc::new(file), O_RDWR | (flags & (O_NONBLOCK | O_CLOEXEC)))
}

pub fn eventfd(a: &[u64; 6]) -> SysResult {
    eventfd2(&[a[0], 0, 0, 0, 0, 0])
}
