//! AF_UNIX sockets under the BSD socket syscalls: a descriptor names a [`UnixFile`], which
//! holds one socket of the table in [`crate::fd::unix`] (all of the protocol lives there,
//! host-tested). Here: descriptors, names in the VFS, `SCM_RIGHTS`/`SCM_CREDENTIALS` to and
//! from the program, blocking (over [`super::fs::retry`] and the socket timeouts), and the
//! options. `net.rs`'s entry points hand AF_UNIX descriptors to the functions below.
//!
//! Locking: the table is one lock. Nothing that may close a file (a passed descriptor, a
//! socket) is dropped while it is held: the table hands such things back ([`Freed`], the
//! rights of a [`Received`]) and they are dropped here after it is released.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

use super::fs::{desc, install, install_desc, next_ino};
use super::net::{read_msghdr, read_timeval_ns, wait_op, write_sockaddr};
use crate::errno::{self, Errno, SysResult};
use crate::fd::stat::S_IFSOCK;
use crate::fd::unix::addr::{self, Addr, Request};
use crate::fd::unix::cmsg::{self, Writer};
use crate::fd::unix::{Cred, Freed, Kind, Received, RecvFlags, Send, SockId, Table};
use crate::fd::{Events, File, OpenFile, Stat, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::mm::user::{self, bytes as user_bytes, bytes_mut as user_bytes_mut};

const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_RAW: u64 = 3;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const PF_UNIX: u64 = 1;
const SOL_SOCKET: u64 = 1;

const MSG_OOB: u64 = 0x1;
const MSG_PEEK: u64 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;

/// Every AF_UNIX socket of the program.
static UNIX: Mutex<Table<Arc<OpenFile>>> = Mutex::new(Table::new());

/// Who we are, as SO_PEERCRED and SCM_CREDENTIALS report it: pid 1, root.
fn me() -> Cred {
    Cred {
        pid: super::process::PID as i32,
        uid: 0,
        gid: 0,
    }
}

/// Drops what the table let go of (outside its lock): passed descriptors, name inodes.
fn finish(freed: Freed<Arc<OpenFile>>) {
    for ino in freed.inos {
        super::file::release_inode(ino);
    }
    drop(freed.rights);
}

/// An AF_UNIX socket descriptor's file.
#[derive(Debug)]
pub struct UnixFile {
    id: SockId,
    kind: Kind,
    ino: u64,
    /// SO_RCVTIMEO / SO_SNDTIMEO in ns (0: none).
    rcv_timeout: AtomicU64,
    snd_timeout: AtomicU64,
    /// Options recorded for getsockopt only (they mean nothing for AF_UNIX on Linux either).
    reuse_addr: AtomicBool,
    keepalive: AtomicBool,
    broadcast: AtomicBool,
    /// SO_LINGER as set: (l_onoff, l_linger).
    linger: AtomicU64,
    /// The socket was handed back to the table (an accepted connection that got no
    /// descriptor): dropping this file must not close it.
    detached: AtomicBool,
}

impl UnixFile {
    fn new(id: SockId, kind: Kind) -> UnixFile {
        UnixFile {
            id,
            kind,
            ino: next_ino(),
            rcv_timeout: AtomicU64::new(0),
            snd_timeout: AtomicU64::new(0),
            reuse_addr: AtomicBool::new(false),
            keepalive: AtomicBool::new(false),
            broadcast: AtomicBool::new(false),
            linger: AtomicU64::new(0),
            detached: AtomicBool::new(false),
        }
    }
}

impl Drop for UnixFile {
    fn drop(&mut self) {
        if self.detached.load(Ordering::Relaxed) {
            return;
        }
        let freed = UNIX.lock().close(self.id);
        finish(freed);
    }
}

impl File for UnixFile {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        // read() has no control buffer: descriptors that came along are closed.
        let got = UNIX.lock().recv(self.id, buf, RecvFlags::default())?;
        Ok(got.len)
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let mut rights = Vec::new();
        UNIX.lock().send(
            self.id,
            None,
            Send {
                data,
                rights: &mut rights,
                cred: me(),
            },
        )
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(S_IFSOCK, self.ino))
    }

    fn ioctl(&self, _desc: &OpenFile, request: u64, arg: u64) -> Result<u64, Errno> {
        const FIONREAD: u64 = 0x541b;
        const TIOCOUTQ: u64 = 0x5411;
        match request {
            FIONREAD => UNIX.lock().pending_bytes(self.id).map(|n| n as u64),
            TIOCOUTQ => {
                let n = UNIX.lock().unread_sent(self.id)?;
                user::write_u32(arg, n as u32)?;
                Ok(0)
            }
            _ => Err(errno::ENOTTY),
        }
    }

    fn poll(&self) -> Events {
        UNIX.lock().readiness(self.id)
    }

    fn activity(&self) -> u64 {
        UNIX.lock().activity(self.id)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The AF_UNIX socket behind `fd`, if it is one.
pub fn of(fd: u64) -> Result<Option<Arc<OpenFile>>, Errno> {
    let d = desc(fd)?;
    Ok(d.file.as_any().is::<UnixFile>().then_some(d))
}

fn sock(d: &OpenFile) -> &UnixFile {
    d.file
        .as_any()
        .downcast_ref::<UnixFile>()
        .expect("an AF_UNIX socket")
}

/// For the write path (`fs.rs`): a blocking write to a stream socket goes on until all is
/// written, as to a pipe.
pub fn is_stream(d: &OpenFile) -> bool {
    d.file
        .as_any()
        .downcast_ref::<UnixFile>()
        .is_some_and(|s| s.kind == Kind::Stream)
}

/// For the write path: EPIPE raises SIGPIPE on every file but AF_UNIX datagram and
/// seqpacket sockets (Linux's `unix_dgram_sendmsg` sends no signal).
pub fn raises_sigpipe(d: &OpenFile) -> bool {
    d.file
        .as_any()
        .downcast_ref::<UnixFile>()
        .is_none_or(|s| s.kind == Kind::Stream)
}

fn open_flags(kind: u64) -> u32 {
    let mut flags = O_RDWR;
    if kind & SOCK_NONBLOCK != 0 {
        flags |= O_NONBLOCK;
    }
    if kind & SOCK_CLOEXEC != 0 {
        flags |= O_CLOEXEC;
    }
    flags
}

fn kind_of(kind: u64, protocol: u64) -> Result<Kind, Errno> {
    if kind & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(errno::EINVAL);
    }
    if protocol != 0 && protocol != PF_UNIX {
        return Err(errno::EPROTONOSUPPORT);
    }
    match kind & 0xf {
        SOCK_STREAM => Ok(Kind::Stream),
        // Linux makes a SOCK_RAW AF_UNIX socket a datagram socket.
        SOCK_DGRAM | SOCK_RAW => Ok(Kind::Dgram),
        SOCK_SEQPACKET => Ok(Kind::SeqPacket),
        _ => Err(errno::ESOCKTNOSUPPORT),
    }
}

/// socket(AF_UNIX, type, protocol).
pub fn socket(kind: u64, protocol: u64) -> SysResult {
    let k = kind_of(kind, protocol)?;
    let id = UNIX.lock().socket(k);
    install(Arc::new(UnixFile::new(id, k)), open_flags(kind))
}

/// socketpair(AF_UNIX, type, protocol, sv).
pub fn socketpair(kind: u64, protocol: u64, sv: u64) -> SysResult {
    let k = kind_of(kind, protocol)?;
    user_bytes_mut(sv, 8)?;
    let (a, b) = UNIX.lock().pair(k, me());
    let flags = open_flags(kind);
    let (fa, fb) = (Arc::new(UnixFile::new(a, k)), Arc::new(UnixFile::new(b, k)));
    let first = install(fa, flags)?;
    let second = match install(fb, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = super::fs::close(&[first, 0, 0, 0, 0, 0]);
            return Err(e);
        }
    };
    let out = user_bytes_mut(sv, 8)?;
    out[..4].copy_from_slice(&(first as i32).to_ne_bytes());
    out[4..].copy_from_slice(&(second as i32).to_ne_bytes());
    Ok(0)
}

fn read_addr(ptr: u64, len: u64, for_bind: bool) -> Result<Request, Errno> {
    if len > addr::SOCKADDR_UN_SIZE as u64 || (len as i32) < 0 {
        return Err(errno::EINVAL);
    }
    addr::parse(user_bytes(ptr, len)?, for_bind)
}

/// The socket a connect or sendto names.
fn find(name: &Addr) -> Result<SockId, Errno> {
    match name {
        Addr::Path(p) => {
            let ino = super::file::find_socket_node(p)?;
            UNIX.lock().find_path(ino).ok_or(errno::ECONNREFUSED)
        }
        Addr::Abstract(n) => UNIX.lock().find_abstract(n).ok_or(errno::ECONNREFUSED),
        Addr::Unnamed => Err(errno::EINVAL),
    }
}

pub fn bind(d: &OpenFile, ptr: u64, len: u64) -> SysResult {
    let s = sock(d);
    match read_addr(ptr, len, true)? {
        Request::Autobind => UNIX.lock().autobind(s.id)?,
        Request::Name(Addr::Abstract(n)) => UNIX.lock().bind_abstract(s.id, n)?,
        Request::Name(Addr::Path(p)) => {
            // As Linux: the name is made first (an existing one is EADDRINUSE even for a
            // socket bound already), then taken.
            let ino = super::file::make_socket_node(&p)?;
            if let Err(e) = UNIX.lock().bind_path(s.id, p.clone(), ino) {
                super::file::remove_socket_node(&p, ino);
                return Err(e);
            }
        }
        Request::Name(Addr::Unnamed) => return Err(errno::EINVAL),
    }
    Ok(0)
}

pub fn listen(d: &OpenFile, backlog: u64) -> SysResult {
    let s = sock(d);
    // A negative backlog is a huge unsigned one: somaxconn.
    let backlog = (backlog as u32) as usize;
    UNIX.lock().listen(s.id, backlog, me()).map(|_| 0)
}

pub fn accept4(d: &OpenFile, addr_ptr: u64, len_ptr: u64, flags: u64) -> SysResult {
    let s = sock(d);
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(errno::EINVAL);
    }
    if s.kind == Kind::Dgram {
        return Err(errno::EOPNOTSUPP);
    }
    let timeout = s.rcv_timeout.load(Ordering::Relaxed);
    let server = wait_op(d, false, timeout, || UNIX.lock().accept(s.id))?;
    let file = Arc::new(UnixFile::new(server, s.kind));
    let peer = UNIX.lock().peer_name(server).unwrap_or(Addr::Unnamed);
    let fd = match install(file.clone(), open_flags(flags)) {
        Ok(fd) => fd,
        Err(e) => {
            // No descriptor for it: the connection stays queued (Linux checks first).
            file.detached.store(true, Ordering::Relaxed);
            UNIX.lock().unaccept(s.id, server);
            return Err(e);
        }
    };
    drop(file);
    write_sockaddr(addr_ptr, len_ptr, &peer.to_bytes())?;
    Ok(fd)
}

pub fn connect(d: &OpenFile, ptr: u64, len: u64) -> SysResult {
    let s = sock(d);
    if s.kind == Kind::Dgram && len >= 2 {
        // AF_UNSPEC dissolves a datagram socket's association.
        let family = user_bytes(ptr, 2)?;
        if u16::from_ne_bytes([family[0], family[1]]) == 0 {
            return UNIX.lock().disconnect(s.id).map(|_| 0);
        }
    }
    let Request::Name(name) = read_addr(ptr, len, false)? else {
        return Err(errno::EINVAL);
    };
    let target = find(&name)?;
    let timeout = s.snd_timeout.load(Ordering::Relaxed);
    wait_op(d, false, timeout, || {
        UNIX.lock().connect(s.id, target, me())
    })
    .map(|_| 0)
}

// ---- sending ----

/// The descriptors an SCM_RIGHTS message names (`EBADF` for one that is not open).
fn rights_of(control: &cmsg::Control) -> Result<Vec<Arc<OpenFile>>, Errno> {
    control
        .fds
        .iter()
        .map(|&fd| {
            if fd < 0 {
                Err(errno::EBADF)
            } else {
                desc(fd as u64)
            }
        })
        .collect()
}

/// Credentials a sender may claim: its own (root could name others on Linux, but there are
/// no other processes: another pid is `ESRCH`).
fn check_cred(c: Cred) -> Result<Cred, Errno> {
    if c.pid != me().pid {
        return Err(errno::ESRCH);
    }
    Ok(c)
}

/// Sends `data` (and `control`'s descriptors and credentials) on `d`, to the address at
/// `name` (pointer, length) if given.
fn send_on(
    d: &OpenFile,
    name: Option<(u64, u64)>,
    data: &[u8],
    control: cmsg::Control,
    flags: u64,
) -> SysResult {
    let s = sock(d);
    if flags & MSG_OOB != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    let mut rights = rights_of(&control)?;
    let cred = match control.cred {
        Some(c) => check_cred(c)?,
        None => me(),
    };
    let dontwait = flags & MSG_DONTWAIT != 0;
    let timeout = s.snd_timeout.load(Ordering::Relaxed);
    let r = match s.kind {
        Kind::Stream => {
            if name.is_some() {
                return Err(if UNIX.lock().is_connected(s.id) {
                    errno::EISCONN
                } else {
                    errno::EOPNOTSUPP
                });
            }
            // A blocking stream send completes in full, as on Linux; the descriptors go with
            // the first part.
            let mut done = 0;
            loop {
                let step = wait_op(d, dontwait, timeout, || {
                    UNIX.lock().send(
                        s.id,
                        None,
                        Send {
                            data: &data[done..],
                            rights: &mut rights,
                            cred,
                        },
                    )
                });
                match step {
                    Ok(n) => done += n,
                    Err(e) if done == 0 => break Err(e),
                    Err(_) => break Ok(done),
                }
                if done == data.len() || dontwait || d.nonblocking() {
                    break Ok(done);
                }
            }
        }
        Kind::SeqPacket => wait_op(d, dontwait, timeout, || {
            // A seqpacket socket ignores a destination.
            UNIX.lock().send(
                s.id,
                None,
                Send {
                    data,
                    rights: &mut rights,
                    cred,
                },
            )
        }),
        Kind::Dgram => {
            let name = match name
                .map(|(ptr, len)| read_addr(ptr, len, false))
                .transpose()?
            {
                Some(Request::Name(n)) => Some(n),
                Some(Request::Autobind) => return Err(errno::EINVAL),
                None => None,
            };
            UNIX.lock()
                .check_datagram_send(s.id, data.len(), name.is_some())?;
            let to = name.as_ref().map(find).transpose()?;
            wait_op(d, dontwait, timeout, || {
                UNIX.lock().send(
                    s.id,
                    to,
                    Send {
                        data,
                        rights: &mut rights,
                        cred,
                    },
                )
            })
        }
    };
    // Descriptors not sent are dropped here, outside the table's lock.
    drop(rights);
    match r {
        Err(e) if e == errno::EPIPE && s.kind == Kind::Stream && flags & MSG_NOSIGNAL == 0 => {
            // SIGPIPE through the one hook (`process::raise_sigpipe`), for stream sockets
            // only, as Linux's unix_stream_sendmsg; write() raises it in `fs::write_all`.
            super::process::raise_sigpipe();
            Err(e)
        }
        r => r.map(|n| n as u64),
    }
}

pub fn sendto(d: &OpenFile, a: &[u64; 6]) -> SysResult {
    let data = user_bytes(a[1], a[2])?;
    let name = (a[4] != 0).then_some((a[4], a[5]));
    send_on(d, name, data, cmsg::Control::default(), a[3])
}

pub fn sendmsg(d: &OpenFile, msg_ptr: u64, flags: u64) -> SysResult {
    let m = read_msghdr(msg_ptr)?;
    let name = (m.name != 0 && m.namelen != 0).then_some((m.name, m.namelen));
    let control = if m.control != 0 && m.controllen != 0 {
        if m.controllen > i32::MAX as u64 {
            return Err(errno::ENOBUFS);
        }
        cmsg::parse(user_bytes(m.control, m.controllen)?)?
    } else {
        cmsg::Control::default()
    };
    let mut data = Vec::new();
    for &(base, len) in &m.iov {
        data.try_reserve(len as usize).map_err(|_| errno::ENOMEM)?;
        data.extend_from_slice(user_bytes(base, len)?);
    }
    send_on(d, name, &data, control, flags)
}

// ---- receiving ----

/// One receive's result, ready to be written back to the program.
struct Got {
    /// Bytes copied.
    len: usize,
    /// What the call returns (the whole record's length with MSG_TRUNC).
    ret: usize,
    from: Addr,
    control: Writer,
    msg_flags: u32,
}

/// Receives into `buf` (blocking as `d` and `flags` say); `control_cap` bytes of control
/// buffer (0: none, and passed descriptors are closed).
fn recv_on(d: &OpenFile, buf: &mut [u8], flags: u64, control_cap: usize) -> Result<Got, Errno> {
    let s = sock(d);
    if flags & MSG_OOB != 0 {
        return Err(errno::EINVAL);
    }
    let dontwait = flags & MSG_DONTWAIT != 0;
    let peek = flags & MSG_PEEK != 0;
    let timeout = s.rcv_timeout.load(Ordering::Relaxed);
    let rflags = RecvFlags { peek };
    let once = |buf: &mut [u8]| -> Result<Received<Arc<OpenFile>>, Errno> {
        wait_op(d, dontwait, timeout, || UNIX.lock().recv(s.id, buf, rflags))
    };
    let mut got = once(buf)?;
    if s.kind == Kind::Stream && flags & MSG_WAITALL != 0 && !peek {
        // Until the buffer is full, the stream ends, an error, or descriptors arrive.
        while got.len < buf.len() && got.len > 0 && got.rights.is_empty() {
            match once(&mut buf[got.len..]) {
                Ok(more) if more.len > 0 => {
                    got.len += more.len;
                    got.rights = more.rights;
                }
                _ => break,
            }
        }
        got.full_len = got.len;
    }
    let passcred = UNIX.lock().passcred(s.id)?;
    let mut control = Writer::new(control_cap);
    if passcred && got.message {
        control.put_cred(got.cred);
    }
    let count = got.rights.len();
    if count > 0 {
        let room = control.rights_room(count);
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut installed = Vec::new();
        for r in got.rights.drain(..).take(room) {
            match install_desc(r, cloexec) {
                Ok(fd) => installed.push(fd as i32),
                Err(_) => break,
            }
        }
        control.put_rights(&installed, count);
    }
    // Rights that did not fit are closed here.
    drop(got.rights);
    let mut msg_flags = 0;
    if control.truncated {
        msg_flags |= MSG_CTRUNC;
    }
    if got.full_len > got.len {
        msg_flags |= MSG_TRUNC as u32;
    }
    let ret = if flags & MSG_TRUNC != 0 && s.kind != Kind::Stream {
        got.full_len
    } else {
        got.len
    };
    Ok(Got {
        len: got.len,
        ret,
        from: got.from,
        control,
        msg_flags,
    })
}

pub fn recvfrom(d: &OpenFile, a: &[u64; 6]) -> SysResult {
    let buf = user_bytes_mut(a[1], a[2])?;
    let got = recv_on(d, buf, a[3], 0)?;
    if a[4] != 0 {
        write_sockaddr(a[4], a[5], &got.from.to_sender_bytes())?;
    }
    Ok(got.ret as u64)
}

pub fn recvmsg(d: &OpenFile, msg_ptr: u64, flags: u64) -> SysResult {
    let m = read_msghdr(msg_ptr)?;
    let total: u64 = m.iov.iter().map(|&(_, l)| l).sum();
    let mut buf = Vec::new();
    buf.try_reserve(total as usize).map_err(|_| errno::ENOMEM)?;
    buf.resize(total as usize, 0);
    let cap = if m.control == 0 {
        0
    } else {
        m.controllen as usize
    };
    // The control buffer must be writable before anything is received.
    if cap > 0 {
        user_bytes_mut(m.control, cap as u64)?;
    }
    let got = recv_on(d, &mut buf, flags, cap)?;
    let mut at = 0;
    for &(base, len) in &m.iov {
        if at >= got.len {
            break;
        }
        let k = (len as usize).min(got.len - at);
        user_bytes_mut(base, k as u64)?.copy_from_slice(&buf[at..at + k]);
        at += k;
    }
    // msg_namelen (offset 8), msg_controllen (offset 40) and msg_flags (offset 48).
    if m.name != 0 {
        let from = got.from.to_sender_bytes();
        let n = (m.namelen as usize).min(from.len());
        user_bytes_mut(m.name, n as u64)?.copy_from_slice(&from[..n]);
        user::write_u32(msg_ptr + 8, from.len() as u32)?;
    }
    let written = got.control.bytes.len();
    if written > 0 {
        user_bytes_mut(m.control, written as u64)?.copy_from_slice(&got.control.bytes);
    }
    user::write_u64s(msg_ptr + 40, &[written as u64])?;
    user::write_u32(msg_ptr + 48, got.msg_flags)?;
    Ok(got.ret as u64)
}

pub fn shutdown(d: &OpenFile, how: u64) -> SysResult {
    if how > 2 {
        return Err(errno::EINVAL);
    }
    UNIX.lock().shutdown(sock(d).id, how as u32).map(|_| 0)
}

pub fn getsockname(d: &OpenFile, ptr: u64, len_ptr: u64) -> SysResult {
    let name = UNIX.lock().name(sock(d).id)?;
    write_sockaddr(ptr, len_ptr, &name.to_bytes()).map(|_| 0)
}

pub fn getpeername(d: &OpenFile, ptr: u64, len_ptr: u64) -> SysResult {
    let name = UNIX.lock().peer_name(sock(d).id)?;
    write_sockaddr(ptr, len_ptr, &name.to_bytes()).map(|_| 0)
}

// ---- options ----

const SO_REUSEADDR: u64 = 2;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_BROADCAST: u64 = 6;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_KEEPALIVE: u64 = 9;
const SO_LINGER: u64 = 13;
const SO_PASSCRED: u64 = 16;
const SO_PEERCRED: u64 = 17;
const SO_RCVTIMEO: u64 = 20;
const SO_SNDTIMEO: u64 = 21;
const SO_PEERNAME: u64 = 28;
const SO_ACCEPTCONN: u64 = 30;
const SO_SNDBUFFORCE: u64 = 32;
const SO_RCVBUFFORCE: u64 = 33;
const SO_PROTOCOL: u64 = 38;
const SO_DOMAIN: u64 = 39;

fn unsupported_option(name: u64) -> Errno {
    static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock();
    if !seen.contains(&name) && seen.len() < 64 {
        seen.push(name);
        kinfo!(
            "unsupported AF_UNIX socket option SOL_SOCKET {} -> ENOPROTOOPT",
            name
        );
    }
    errno::ENOPROTOOPT
}

fn read_int(ptr: u64, len: u64) -> Result<i32, Errno> {
    if len < 4 {
        return Err(errno::EINVAL);
    }
    Ok(user::read_u32(ptr)? as i32)
}

pub fn setsockopt(d: &OpenFile, level: u64, name: u64, val: u64, len: u64) -> SysResult {
    let s = sock(d);
    if level != SOL_SOCKET {
        // AF_UNIX has no protocol-level options.
        return Err(errno::EOPNOTSUPP);
    }
    let flag = |b: &AtomicBool| -> SysResult {
        b.store(read_int(val, len)? != 0, Ordering::Relaxed);
        Ok(0)
    };
    match name {
        SO_PASSCRED => {
            let on = read_int(val, len)? != 0;
            UNIX.lock().set_passcred(s.id, on).map(|_| 0)
        }
        SO_SNDBUF | SO_SNDBUFFORCE => {
            let v = read_int(val, len)?;
            UNIX.lock().set_sndbuf(s.id, v).map(|_| 0)
        }
        SO_RCVBUF | SO_RCVBUFFORCE => {
            let v = read_int(val, len)?;
            UNIX.lock().set_rcvbuf(s.id, v).map(|_| 0)
        }
        SO_RCVTIMEO | SO_SNDTIMEO => {
            let ns = read_timeval_ns(val, len)?;
            let slot = if name == SO_RCVTIMEO {
                &s.rcv_timeout
            } else {
                &s.snd_timeout
            };
            slot.store(ns, Ordering::Relaxed);
            Ok(0)
        }
        SO_REUSEADDR => flag(&s.reuse_addr),
        SO_KEEPALIVE => flag(&s.keepalive),
        SO_BROADCAST => flag(&s.broadcast),
        SO_LINGER => {
            if len < 8 {
                return Err(errno::EINVAL);
            }
            let [onoff, secs] = user::read_u64s::<1>(val).map(|[w]| [w & 0xffff_ffff, w >> 32])?;
            s.linger
                .store(((onoff != 0) as u64) | (secs << 32), Ordering::Relaxed);
            Ok(0)
        }
        _ => Err(unsupported_option(name)),
    }
}

/// Writes an option's bytes as Linux does: cut to the caller's length, which is set to what
/// was written.
fn put_option(val: u64, len_ptr: u64, bytes: &[u8]) -> SysResult {
    let cap = user::read_u32(len_ptr)? as i32;
    if cap < 0 {
        return Err(errno::EINVAL);
    }
    let n = (cap as usize).min(bytes.len());
    user_bytes_mut(val, n as u64)?.copy_from_slice(&bytes[..n]);
    user::write_u32(len_ptr, n as u32)?;
    Ok(0)
}

pub fn getsockopt(d: &OpenFile, level: u64, name: u64, val: u64, len_ptr: u64) -> SysResult {
    let s = sock(d);
    if level != SOL_SOCKET {
        return Err(errno::EOPNOTSUPP);
    }
    let b = |x: &AtomicBool| x.load(Ordering::Relaxed) as i32;
    let int = |v: i32| put_option(val, len_ptr, &v.to_ne_bytes());
    let table = || UNIX.lock();
    match name {
        SO_TYPE => int(match s.kind {
            Kind::Stream => SOCK_STREAM as i32,
            Kind::Dgram => SOCK_DGRAM as i32,
            Kind::SeqPacket => SOCK_SEQPACKET as i32,
        }),
        SO_DOMAIN => int(1),
        SO_PROTOCOL => int(0),
        SO_ERROR => {
            let e = table().take_error(s.id)?;
            int(e.map_or(0, |e| e.0))
        }
        SO_ACCEPTCONN => {
            let l = table().is_listening(s.id);
            int(l as i32)
        }
        SO_PASSCRED => {
            let p = table().passcred(s.id)?;
            int(p as i32)
        }
        SO_SNDBUF => {
            let (snd, _) = table().buffers(s.id)?;
            int(snd as i32)
        }
        SO_RCVBUF => {
            let (_, rcv) = table().buffers(s.id)?;
            int(rcv as i32)
        }
        SO_REUSEADDR => int(b(&s.reuse_addr)),
        SO_KEEPALIVE => int(b(&s.keepalive)),
        SO_BROADCAST => int(b(&s.broadcast)),
        SO_LINGER => put_option(
            val,
            len_ptr,
            &s.linger.load(Ordering::Relaxed).to_ne_bytes(),
        ),
        SO_PEERCRED => {
            let c = table().peer_cred(s.id)?;
            let mut bytes = [0u8; 12];
            bytes[0..4].copy_from_slice(&c.pid.to_ne_bytes());
            bytes[4..8].copy_from_slice(&c.uid.to_ne_bytes());
            bytes[8..12].copy_from_slice(&c.gid.to_ne_bytes());
            put_option(val, len_ptr, &bytes)
        }
        SO_PEERNAME => {
            let peer = table().peer_name(s.id)?;
            let bytes = peer.to_bytes();
            // Linux copies the caller's length, which may not exceed the address's.
            if (user::read_u32(len_ptr)? as usize) > bytes.len() {
                return Err(errno::EINVAL);
            }
            put_option(val, len_ptr, &bytes)
        }
        SO_RCVTIMEO | SO_SNDTIMEO => {
            let ns = if name == SO_RCVTIMEO {
                &s.rcv_timeout
            } else {
                &s.snd_timeout
            }
            .load(Ordering::Relaxed);
            let tv = [ns / 1_000_000_000, ns % 1_000_000_000 / 1000];
            let mut bytes = [0u8; 16];
            bytes[0..8].copy_from_slice(&tv[0].to_ne_bytes());
            bytes[8..16].copy_from_slice(&tv[1].to_ne_bytes());
            put_option(val, len_ptr, &bytes)
        }
        _ => Err(unsupported_option(name)),
    }
}
