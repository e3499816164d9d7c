//! File descriptors and I/O. Until the VFS lands (issue: files), the descriptor table holds
//! the console (fds 0-2) and the character devices programs open by path before anything
//! else: /dev/null, /dev/zero, /dev/urandom and /dev/random (libc++'s std::random_device
//! reads /dev/urandom), /dev/console and /dev/tty. Other paths do not exist (ENOENT).
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use spin::Mutex;

use crate::errno::{self, Errno, SysResult};
use crate::mm::user::{bytes as user_bytes, bytes_mut as user_bytes_mut, cstr};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Device {
    Console,
    Null,
    Zero,
    Random,
}

#[derive(Clone, Copy, Debug)]
struct File {
    dev: Device,
    /// O_* status flags (access mode, O_NONBLOCK, O_APPEND).
    status: u32,
    cloexec: bool,
}

const O_ACCMODE: u32 = 3;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;
const O_NONBLOCK: u32 = 0o4000;
const O_CLOEXEC: u32 = 0o2000000;
const MAX_FDS: usize = 1024;

static FDS: Mutex<Vec<Option<File>>> = Mutex::new(Vec::new());

/// Opens fds 0, 1 and 2 on the console.
pub fn init() {
    let console = File {
        dev: Device::Console,
        status: O_RDWR,
        cloexec: false,
    };
    *FDS.lock() = alloc::vec![Some(console); 3];
}

/// EBADF unless `fd` is open (for calls of other families that take a descriptor).
pub fn check_fd(fd: u64) -> Result<(), Errno> {
    file(fd).map(|_| ())
}

fn file(fd: u64) -> Result<File, Errno> {
    FDS.lock()
        .get(fd as usize)
        .copied()
        .flatten()
        .ok_or(errno::EBADF)
}

fn install(f: File, lowest: usize) -> Result<u64, Errno> {
    let mut fds = FDS.lock();
    let slot = (lowest..MAX_FDS).find(|&i| fds.get(i).is_none_or(|s| s.is_none()));
    let fd = slot.ok_or(errno::EMFILE)?;
    if fds.len() <= fd {
        fds.resize(fd + 1, None);
    }
    fds[fd] = Some(f);
    Ok(fd as u64)
}

fn device_read(f: &File, buf: &mut [u8]) -> SysResult {
    match f.dev {
        Device::Null => Ok(0),
        Device::Zero => {
            buf.fill(0);
            Ok(buf.len() as u64)
        }
        Device::Random => {
            crate::kernel::fill_random(buf);
            Ok(buf.len() as u64)
        }
        Device::Console => console_read(buf, f.status & O_NONBLOCK != 0),
    }
}

/// Reads what the UART holds; with nothing there, waits (halting between 10 ms polls: the
/// UART's interrupt is not wired up yet) unless the fd is non-blocking.
fn console_read(buf: &mut [u8], nonblock: bool) -> SysResult {
    if buf.is_empty() {
        return Ok(0);
    }
    loop {
        let mut n = 0;
        {
            let mut console = crate::drivers::serial::CONSOLE.lock();
            while n < buf.len() {
                match console.try_read_byte() {
                    Some(b) => {
                        buf[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                    }
                    None => break,
                }
            }
        }
        if n > 0 {
            return Ok(n as u64);
        }
        if nonblock {
            return Err(errno::EAGAIN);
        }
        crate::time::sleep_until(crate::time::monotonic_ns() + 10_000_000);
    }
}

fn device_write(f: &File, data: &[u8]) -> SysResult {
    match f.dev {
        Device::Console => {
            crate::drivers::serial::CONSOLE.lock().write_bytes(data);
            Ok(data.len() as u64)
        }
        Device::Null | Device::Zero | Device::Random => Ok(data.len() as u64),
    }
}

pub fn read(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    device_read(&f, user_bytes_mut(a[1], a[2])?)
}

pub fn write(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    device_write(&f, user_bytes(a[1], a[2])?)
}

/// The iovecs of readv/writev: `struct iovec { void *base; size_t len; }`, as (base, len).
fn iovecs(ptr: u64, count: u64) -> Result<impl Iterator<Item = (u64, u64)>, Errno> {
    const IOV_MAX: u64 = 1024;
    if count > IOV_MAX {
        return Err(errno::EINVAL);
    }
    let raw = user_bytes(ptr, count * 16)?;
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
    Ok(raw
        .chunks_exact(16)
        .map(move |iov| (word(&iov[..8]), word(&iov[8..]))))
}

pub fn readv(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    let mut total = 0;
    for (base, len) in iovecs(a[1], a[2])? {
        let n = device_read(&f, user_bytes_mut(base, len)?)?;
        total += n;
        if n < len || f.dev == Device::Console {
            break;
        }
    }
    Ok(total)
}

pub fn writev(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    let mut total = 0;
    for (base, len) in iovecs(a[1], a[2])? {
        total += device_write(&f, user_bytes(base, len)?)?;
    }
    Ok(total)
}

pub fn close(a: &[u64; 6]) -> SysResult {
    let mut fds = FDS.lock();
    match fds.get_mut(a[0] as usize) {
        Some(slot @ Some(_)) => {
            *slot = None;
            Ok(0)
        }
        _ => Err(errno::EBADF),
    }
}

pub fn lseek(a: &[u64; 6]) -> SysResult {
    match file(a[0])?.dev {
        Device::Console => Err(errno::ESPIPE),
        _ => Ok(0),
    }
}

const AT_FDCWD: i64 = -100;
const PATH_MAX: u64 = 4096;

pub fn open(a: &[u64; 6]) -> SysResult {
    openat(&[AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn openat(a: &[u64; 6]) -> SysResult {
    let path = cstr(a[1], PATH_MAX)?;
    let flags = a[2] as u32;
    let dev = match path {
        b"/dev/null" => Device::Null,
        b"/dev/zero" => Device::Zero,
        b"/dev/urandom" | b"/dev/random" => Device::Random,
        b"/dev/console" | b"/dev/tty" | b"/dev/stdin" | b"/dev/stdout" | b"/dev/stderr" => {
            Device::Console
        }
        _ if flags & O_CREAT != 0 => return Err(errno::EROFS),
        _ => return Err(errno::ENOENT),
    };
    let file = File {
        dev,
        status: flags & (O_ACCMODE | O_NONBLOCK | 0o2000),
        cloexec: flags & O_CLOEXEC != 0,
    };
    install(file, 0)
}

pub fn fstat(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    let (major, minor): (u64, u64) = match f.dev {
        Device::Console => (5, 1),
        Device::Null => (1, 3),
        Device::Zero => (1, 5),
        Device::Random => (1, 9),
    };
    // `struct stat` as x86-64 Linux lays it out: 144 bytes, times and padding zero.
    let out = user_bytes_mut(a[1], 144)?;
    out.fill(0);
    let mut put = |at: usize, v: &[u8]| out[at..at + v.len()].copy_from_slice(v);
    put(0, &5u64.to_ne_bytes()); // st_dev: devtmpfs-like
    put(8, &(1 + major * 16 + minor).to_ne_bytes()); // st_ino
    put(16, &1u64.to_ne_bytes()); // st_nlink
    put(24, &(0o020000u32 | 0o666).to_ne_bytes()); // st_mode: S_IFCHR, rw-rw-rw-
    put(40, &((major << 8) | minor).to_ne_bytes()); // st_rdev
    put(56, &4096u64.to_ne_bytes()); // st_blksize
    Ok(0)
}

pub fn newfstatat(a: &[u64; 6]) -> SysResult {
    const AT_EMPTY_PATH: u64 = 0x1000;
    let path = cstr(a[1], PATH_MAX)?;
    if path.is_empty() && a[3] & AT_EMPTY_PATH != 0 {
        return fstat(&[a[0], a[2], 0, 0, 0, 0]);
    }
    Err(errno::ENOENT)
}

pub fn ioctl(a: &[u64; 6]) -> SysResult {
    const TCGETS: u64 = 0x5401;
    const TCSETS: u64 = 0x5402;
    const TCSETSW: u64 = 0x5403;
    const TCSETSF: u64 = 0x5404;
    const TIOCGWINSZ: u64 = 0x5413;
    const TIOCSWINSZ: u64 = 0x5414;
    const FIONBIO: u64 = 0x5421;
    let f = file(a[0])?;
    match a[1] {
        FIONBIO => {
            let on = user_bytes(a[2], 4)?;
            let on = u32::from_ne_bytes([on[0], on[1], on[2], on[3]]) != 0;
            set_status(a[0], O_NONBLOCK, on)?;
            Ok(0)
        }
        _ if f.dev != Device::Console => Err(errno::ENOTTY),
        TCGETS => {
            // struct termios (kernel layout, 36 bytes): iflag ICRNL, oflag OPOST|ONLCR,
            // cflag B115200|CS8|CREAD, lflag ICANON|ECHO..., line 0, cc zeroed.
            let out = user_bytes_mut(a[2], 36)?;
            out.fill(0);
            out[0..4].copy_from_slice(&0o400u32.to_ne_bytes());
            out[4..8].copy_from_slice(&0o5u32.to_ne_bytes());
            out[8..12].copy_from_slice(&0o10262u32.to_ne_bytes());
            out[12..16].copy_from_slice(&0o105073u32.to_ne_bytes());
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF | TIOCSWINSZ => Ok(0),
        TIOCGWINSZ => {
            let out = user_bytes_mut(a[2], 8)?;
            out[0..2].copy_from_slice(&24u16.to_ne_bytes());
            out[2..4].copy_from_slice(&80u16.to_ne_bytes());
            out[4..8].fill(0);
            Ok(0)
        }
        req => {
            unsupported_ioctl(req);
            Err(errno::ENOTTY)
        }
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

fn set_status(fd: u64, bit: u32, on: bool) -> Result<(), Errno> {
    let mut fds = FDS.lock();
    let f = fds
        .get_mut(fd as usize)
        .and_then(|s| s.as_mut())
        .ok_or(errno::EBADF)?;
    if on {
        f.status |= bit;
    } else {
        f.status &= !bit;
    }
    Ok(())
}

pub fn fcntl(a: &[u64; 6]) -> SysResult {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    let f = file(a[0])?;
    match a[1] {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let dup = File {
                cloexec: a[1] == F_DUPFD_CLOEXEC,
                ..f
            };
            install(dup, a[2] as usize)
        }
        F_GETFD => Ok(f.cloexec as u64),
        F_SETFD => {
            let mut fds = FDS.lock();
            if let Some(Some(f)) = fds.get_mut(a[0] as usize) {
                f.cloexec = a[2] & 1 != 0;
            }
            Ok(0)
        }
        F_GETFL => Ok(f.status as u64),
        F_SETFL => {
            set_status(a[0], O_NONBLOCK, a[2] as u32 & O_NONBLOCK != 0)?;
            Ok(0)
        }
        _ => Err(errno::EINVAL),
    }
}

pub fn dup(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    install(
        File {
            cloexec: false,
            ..f
        },
        0,
    )
}

pub fn dup3(a: &[u64; 6]) -> SysResult {
    let f = file(a[0])?;
    let (new, flags) = (a[1] as usize, a[2] as u32);
    if a[0] == a[1] || flags & !O_CLOEXEC != 0 {
        return Err(errno::EINVAL);
    }
    if new >= MAX_FDS {
        return Err(errno::EBADF);
    }
    let mut fds = FDS.lock();
    if fds.len() <= new {
        fds.resize(new + 1, None);
    }
    fds[new] = Some(File {
        cloexec: flags & O_CLOEXEC != 0,
        ..f
    });
    Ok(new as u64)
}

pub fn dup2(a: &[u64; 6]) -> SysResult {
    if a[0] == a[1] {
        return file(a[0]).map(|_| a[1]);
    }
    dup3(&[a[0], a[1], 0, 0, 0, 0])
}

pub fn getcwd(a: &[u64; 6]) -> SysResult {
    let out = user_bytes_mut(a[0], a[1])?;
    if out.len() < 2 {
        return Err(errno::ERANGE);
    }
    out[..2].copy_from_slice(b"/\0");
    Ok(2)
}
