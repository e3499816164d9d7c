//! BSD sockets: AF_INET and AF_INET6, SOCK_STREAM (TCP) and SOCK_DGRAM (UDP), over the
//! interface in [`crate::net`]. A socket descriptor names a [`SocketFile`], which owns one
//! socket of the stack's table; every call into the stack is non-blocking, and the blocking
//! forms wait on the socket's readiness through [`super::fs::retry`] (so the CPU halts until
//! the network interrupt or a timer). `AF_NETLINK` with `NETLINK_ROUTE` answers the interface
//! and address dumps `getifaddrs` asks for ([`crate::net::netlink`]).
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;

use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv6Address};

use super::fs::{desc, install, retry};
use super::unix;
use crate::errno::{self, Errno, SysResult};
use crate::fd::stat::S_IFSOCK;
use crate::fd::{Events, File, OpenFile, Stat, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::mm::user::{self, bytes as user_bytes, bytes_mut as user_bytes_mut};
use crate::net::socket::{
    defer_retrans_to_secs, defer_secs_to_retrans, Family, Proto, SockId, TcpOptions,
};

const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const AF_NETLINK: u64 = 16;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const IPPROTO_IP: u64 = 0;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_UDP: u64 = 17;
const IPPROTO_IPV6: u64 = 41;
const SOL_SOCKET: u64 = 1;

const MSG_PEEK: u64 = 0x2;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;

/// A socket descriptor's file.
#[derive(Debug)]
pub struct SocketFile {
    id: SockId,
    proto: Proto,
    /// AF_INET or AF_INET6: the address format the program sees.
    family: u64,
    /// UDP: the default destination set by connect().
    peer: Mutex<Option<IpEndpoint>>,
    /// shutdown(SHUT_RD): reads return end of stream.
    read_shut: AtomicBool,
    listening: AtomicBool,
    /// Options recorded for getsockopt (the stack's buffers are fixed; TCP's own options
    /// live in the socket layer, `net::socket::TcpOptions`).
    reuse_addr: AtomicBool,
    reuse_port: AtomicBool,
    keepalive: AtomicBool,
    v6only: AtomicBool,
    /// SO_RCVTIMEO / SO_SNDTIMEO in ns (0: none).
    rcv_timeout: AtomicU64,
    snd_timeout: AtomicU64,
    /// SO_LINGER with l_onoff=1 and l_linger=0: close resets the connection.
    linger_abort: AtomicBool,
    rcvbuf: AtomicU32,
    sndbuf: AtomicU32,
}

impl SocketFile {
    fn new(id: SockId, proto: Proto, family: u64) -> SocketFile {
        SocketFile {
            id,
            proto,
            family,
            peer: Mutex::new(None),
            read_shut: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            reuse_addr: AtomicBool::new(false),
            reuse_port: AtomicBool::new(false),
            keepalive: AtomicBool::new(false),
            v6only: AtomicBool::new(false),
            rcv_timeout: AtomicU64::new(0),
            snd_timeout: AtomicU64::new(0),
            linger_abort: AtomicBool::new(false),
            rcvbuf: AtomicU32::new(crate::net::socket::TCP_BUFFER as u32),
            sndbuf: AtomicU32::new(crate::net::socket::TCP_BUFFER as u32),
        }
    }

    fn stack<R>(
        &self,
        f: impl FnOnce(&mut crate::net::NetStack) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        crate::net::with(f).unwrap_or(Err(errno::ENETDOWN))
    }

    /// The connection `id` accepted by this listener: it inherits the listener's socket
    /// options, as Linux's accepted sockets do (its TCP options come from the socket layer).
    fn accepted(&self, id: SockId) -> SocketFile {
        let new = SocketFile::new(id, Proto::Tcp, self.family);
        let copy = |to: &AtomicBool, from: &AtomicBool| {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed)
        };
        copy(&new.reuse_addr, &self.reuse_addr);
        copy(&new.reuse_port, &self.reuse_port);
        copy(&new.keepalive, &self.keepalive);
        copy(&new.v6only, &self.v6only);
        copy(&new.linger_abort, &self.linger_abort);
        for (to, from) in [
            (&new.rcv_timeout, &self.rcv_timeout),
            (&new.snd_timeout, &self.snd_timeout),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        for (to, from) in [(&new.rcvbuf, &self.rcvbuf), (&new.sndbuf, &self.sndbuf)] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        new
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let (id, abort) = (self.id, self.linger_abort.load(Ordering::Relaxed));
        crate::net::with(|s| if abort { s.abort(id) } else { s.close(id) });
    }
}

impl File for SocketFile {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.read_shut.load(Ordering::Relaxed) {
            return Ok(0);
        }
        match self.proto {
            Proto::Tcp => self.stack(|s| s.recv(self.id, buf)),
            Proto::Udp => self.stack(|s| s.recv_from(self.id, buf)).map(|(n, _)| n),
        }
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        match self.proto {
            // write() has no MSG_NOSIGNAL: its EPIPE raises SIGPIPE in `fs::write_all`, the
            // one write path, as for a pipe (raising it here too made it twice per call).
            Proto::Tcp => self.stack(|s| s.send(self.id, data)),
            Proto::Udp => {
                let peer = (*self.peer.lock()).ok_or(errno::EDESTADDRREQ)?;
                self.stack(|s| s.send_to(self.id, data, peer))
            }
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(S_IFSOCK, 0x1_0000 + self.id.0 as u64))
    }

    fn ioctl(&self, _desc: &OpenFile, request: u64, _arg: u64) -> Result<u64, Errno> {
        const FIONREAD: u64 = 0x541b;
        match request {
            FIONREAD => self.stack(|s| s.pending_bytes(self.id)).map(|n| n as u64),
            _ => Err(errno::ENOTTY),
        }
    }

    fn poll(&self) -> Events {
        let Ok(r) = self.stack(|s| s.readiness(self.id)) else {
            return Events::ERR | Events::HUP;
        };
        let mut e = Events::NONE;
        if r.readable || self.read_shut.load(Ordering::Relaxed) {
            e = e | Events::IN;
        }
        if r.writable {
            e = e | Events::OUT;
        }
        if r.rdhup {
            e = e | Events::RDHUP;
        }
        if r.hup {
            e = e | Events::HUP;
        }
        if r.error {
            e = e | Events::ERR;
        }
        e
    }

    fn activity(&self) -> u64 {
        // The interface's change counter: a socket that stays readable while more data
        // arrives is reported again to edge-triggered epoll.
        crate::net::activity()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A `NETLINK_ROUTE` socket: each request sent is answered at once (interfaces and
/// addresses, `net::netlink`), one datagram per request; reads take the answers in order.
#[derive(Debug, Default)]
struct NetlinkFile {
    answers: Mutex<VecDeque<Vec<u8>>>,
}

impl NetlinkFile {
    fn request(&self, bytes: &[u8]) -> Result<usize, Errno> {
        let (links, addrs) =
            crate::net::with(|n| crate::net::netlink::interfaces(n)).unwrap_or_default();
        let answer = crate::net::netlink::answer(bytes, &links, &addrs)?;
        if !answer.is_empty() {
            self.answers.lock().push_back(answer);
        }
        Ok(bytes.len())
    }

    /// One answer, cut to `buf` as a datagram is.
    fn take(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let answer = self.answers.lock().pop_front().ok_or(errno::EAGAIN)?;
        let n = answer.len().min(buf.len());
        buf[..n].copy_from_slice(&answer[..n]);
        Ok(n)
    }
}

impl File for NetlinkFile {
    fn read(&self, _desc: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        self.take(buf)
    }

    fn write(&self, _desc: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        self.request(data)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(S_IFSOCK, 0x2_0000))
    }

    fn poll(&self) -> Events {
        if self.answers.lock().is_empty() {
            Events::OUT
        } else {
            Events::IN | Events::OUT
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The netlink socket behind `fd`, if it is one.
fn netlink_of(fd: u64) -> Result<Option<Arc<OpenFile>>, Errno> {
    let d = desc(fd)?;
    Ok(d.file
        .as_any()
        .downcast_ref::<NetlinkFile>()
        .is_some()
        .then_some(d))
}

fn netlink(d: &OpenFile) -> &NetlinkFile {
    d.file
        .as_any()
        .downcast_ref::<NetlinkFile>()
        .expect("a netlink socket")
}

/// The socket behind `fd`: ENOTSOCK for other files.
fn socket_of(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let d = desc(fd)?;
    if d.file.as_any().downcast_ref::<SocketFile>().is_none() {
        return Err(errno::ENOTSOCK);
    }
    Ok(d)
}

fn sock(d: &OpenFile) -> &SocketFile {
    // socket_of checked the type.
    d.file
        .as_any()
        .downcast_ref::<SocketFile>()
        .expect("a socket")
}

// ---- addresses ----

/// Reads a sockaddr_in / sockaddr_in6 for a socket of `family`. An AF_INET6 socket takes
/// IPv4-mapped addresses (::ffff:a.b.c.d) as IPv4, as Linux's dual-stack sockets do.
fn read_sockaddr(ptr: u64, len: u64, family: u64) -> Result<IpEndpoint, Errno> {
    if len < 2 {
        return Err(errno::EINVAL);
    }
    let raw = user_bytes(ptr, len.min(128))?;
    let af = u16::from_ne_bytes([raw[0], raw[1]]) as u64;
    if af != family {
        return Err(errno::EAFNOSUPPORT);
    }
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    if af == AF_INET {
        if raw.len() < 16 {
            return Err(errno::EINVAL);
        }
        let a = Ipv4Address::new(raw[4], raw[5], raw[6], raw[7]);
        return Ok(IpEndpoint::new(IpAddress::Ipv4(a), port));
    }
    if raw.len() < 24 {
        return Err(errno::EINVAL);
    }
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&raw[8..24]);
    let a = Ipv6Address::from(octets);
    let addr = match a.to_ipv4_mapped() {
        Some(v4) => IpAddress::Ipv4(v4),
        None => IpAddress::Ipv6(a),
    };
    Ok(IpEndpoint::new(addr, port))
}

/// The bytes of a sockaddr for `ep` as a socket of `family` shows it.
fn sockaddr_bytes(addr: Option<IpAddress>, port: u16, family: u64) -> Vec<u8> {
    if family == AF_INET {
        let mut out = alloc::vec![0u8; 16];
        out[0..2].copy_from_slice(&(AF_INET as u16).to_ne_bytes());
        out[2..4].copy_from_slice(&port.to_be_bytes());
        if let Some(IpAddress::Ipv4(a)) = addr {
            out[4..8].copy_from_slice(&a.octets());
        }
        out
    } else {
        let mut out = alloc::vec![0u8; 28];
        out[0..2].copy_from_slice(&(AF_INET6 as u16).to_ne_bytes());
        out[2..4].copy_from_slice(&port.to_be_bytes());
        let v6 = match addr {
            Some(IpAddress::Ipv6(a)) => a,
            Some(IpAddress::Ipv4(a)) => a.to_ipv6_mapped(),
            None => Ipv6Address::UNSPECIFIED,
        };
        out[8..24].copy_from_slice(&v6.octets());
        out
    }
}

/// Writes a sockaddr to (`ptr`, `*len_ptr`) the way accept/getsockname do: truncated to
/// the caller's buffer, with the full length written back.
pub(super) fn write_sockaddr(ptr: u64, len_ptr: u64, bytes: &[u8]) -> Result<(), Errno> {
    if ptr == 0 || len_ptr == 0 {
        return Ok(());
    }
    let cap = user::read_u32(len_ptr)? as usize;
    let n = cap.min(bytes.len());
    user_bytes_mut(ptr, n as u64)?.copy_from_slice(&bytes[..n]);
    user::write_u32(len_ptr, bytes.len() as u32)
}

/// Sockets take their buffers from the kernel heap when created (and listeners when they
/// arm): refuse with ENOBUFS, as Linux does under memory pressure, rather than exhaust it.
fn check_memory(sockets: usize) -> Result<(), Errno> {
    let need = sockets * 2 * crate::net::socket::TCP_BUFFER + (1 << 20);
    if crate::mm::heap::usage().1 < need {
        return Err(errno::ENOBUFS);
    }
    Ok(())
}

// ---- creating, binding, connecting ----

fn warn_family_once(domain: u64) {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let bit = 1u64 << (domain.min(63));
    if SEEN.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
        kinfo!(
            "socket: address family {} is not supported -> EAFNOSUPPORT",
            domain
        );
    }
}

pub fn socket(a: &[u64; 6]) -> SysResult {
    let (domain, kind, protocol) = (a[0], a[1], a[2]);
    if domain == AF_NETLINK {
        return netlink_socket(kind, protocol);
    }
    if domain == AF_UNIX {
        return unix::socket(kind, protocol);
    }
    if domain != AF_INET && domain != AF_INET6 {
        warn_family_once(domain);
        return Err(errno::EAFNOSUPPORT);
    }
    if kind & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(errno::EINVAL);
    }
    let proto = match (kind & 0xf, protocol) {
        (SOCK_STREAM, 0 | IPPROTO_TCP) => Proto::Tcp,
        (SOCK_DGRAM, 0 | IPPROTO_UDP) => Proto::Udp,
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(errno::EPROTONOSUPPORT),
        _ => return Err(errno::ESOCKTNOSUPPORT),
    };
    check_memory(1)?;
    // Linux's default: an AF_INET6 socket also takes IPv4 until IPV6_V6ONLY is set.
    let family = if domain == AF_INET {
        Family::V4
    } else {
        Family::Dual
    };
    // The network (at least `lo`) exists from boot on.
    let id = crate::net::with(|s| s.socket(proto, family)).ok_or(errno::ENETDOWN)?;
    let flags = O_RDWR
        | if kind & SOCK_NONBLOCK != 0 {
            O_NONBLOCK
        } else {
            0
        }
        | if kind & SOCK_CLOEXEC != 0 {
            O_CLOEXEC
        } else {
            0
        };
    install(Arc::new(SocketFile::new(id, proto, domain)), flags)
}

/// socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE): what `getifaddrs` opens.
fn netlink_socket(kind: u64, protocol: u64) -> SysResult {
    const SOCK_RAW: u64 = 3;
    const NETLINK_ROUTE: u64 = 0;
    if kind & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(errno::EINVAL);
    }
    if !matches!(kind & 0xf, SOCK_RAW | SOCK_DGRAM) {
        return Err(errno::ESOCKTNOSUPPORT);
    }
    if protocol != NETLINK_ROUTE {
        return Err(errno::EPROTONOSUPPORT);
    }
    let mut flags = O_RDWR;
    if kind & SOCK_NONBLOCK != 0 {
        flags |= O_NONBLOCK;
    }
    if kind & SOCK_CLOEXEC != 0 {
        flags |= O_CLOEXEC;
    }
    install(Arc::new(NetlinkFile::default()), flags)
}

pub fn bind(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::bind(&d, a[1], a[2]);
    }
    if netlink_of(a[0])?.is_some() {
        // Our port id is chosen for us; there are no groups to join.
        return Ok(0);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let ep = read_sockaddr(a[1], a[2], s.family)?;
    let local = IpListenEndpoint {
        addr: (!ep.addr.is_unspecified()).then_some(ep.addr),
        port: ep.port,
    };
    s.stack(|st| st.bind(s.id, local)).map(|_| 0)
}

pub fn listen(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::listen(&d, a[1]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let backlog = (a[1] as i32).max(1) as usize;
    check_memory(1)?;
    s.stack(|st| st.listen(s.id, backlog))?;
    s.listening.store(true, Ordering::Relaxed);
    Ok(0)
}

/// A deadline from SO_RCVTIMEO/SO_SNDTIMEO (0: none).
fn deadline(timeout_ns: u64) -> Option<u64> {
    (timeout_ns != 0).then(|| crate::time::monotonic_ns().saturating_add(timeout_ns))
}

/// Runs a socket call, waiting (up to `timeout_ns`, if set) unless the description or the
/// call's flags say not to.
pub(super) fn wait_op<T>(
    d: &OpenFile,
    dontwait: bool,
    timeout_ns: u64,
    mut op: impl FnMut() -> Result<T, Errno>,
) -> Result<T, Errno> {
    if dontwait || d.nonblocking() {
        return op();
    }
    if timeout_ns == 0 {
        return retry(d, op);
    }
    crate::sched::block_until(
        deadline(timeout_ns),
        |_| None,
        || match op() {
            Err(e) if e == errno::EAGAIN => None,
            r => Some(r),
        },
    )
    .unwrap_or(Err(errno::EAGAIN))
}

pub fn accept4(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::accept4(&d, a[1], a[2], a[3]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let flags = a[3];
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(errno::EINVAL);
    }
    if !s.listening.load(Ordering::Relaxed) {
        return Err(errno::EINVAL);
    }
    check_memory(1)?;
    let (id, peer) = wait_op(&d, false, s.rcv_timeout.load(Ordering::Relaxed), || {
        s.stack(|st| st.accept(s.id))
    })?;
    let new = s.accepted(id);
    let oflags = O_RDWR
        | if flags & SOCK_NONBLOCK != 0 {
            O_NONBLOCK
        } else {
            0
        }
        | if flags & SOCK_CLOEXEC != 0 {
            O_CLOEXEC
        } else {
            0
        };
    let fd = install(Arc::new(new), oflags)?;
    write_sockaddr(
        a[1],
        a[2],
        &sockaddr_bytes(Some(peer.addr), peer.port, s.family),
    )?;
    Ok(fd)
}

pub fn accept(a: &[u64; 6]) -> SysResult {
    accept4(&[a[0], a[1], a[2], 0, 0, 0])
}

pub fn connect(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::connect(&d, a[1], a[2]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let remote = read_sockaddr(a[1], a[2], s.family)?;
    if s.proto == Proto::Udp {
        *s.peer.lock() = Some(remote);
        return Ok(0);
    }
    if !s.stack(|st| st.connect(s.id, remote))? {
        // The outcome of an earlier non-blocking connect, now reported.
        return Ok(0);
    }
    if d.nonblocking() {
        return Err(errno::EINPROGRESS);
    }
    // Blocking: wait until the connection is made or failed.
    wait_op(&d, false, s.snd_timeout.load(Ordering::Relaxed), || {
        let r = s.stack(|st| st.readiness(s.id))?;
        if r.writable || r.error || r.hup {
            Ok(())
        } else {
            Err(errno::EAGAIN)
        }
    })
    .map_err(|e| {
        if e == errno::EAGAIN {
            errno::ETIMEDOUT
        } else {
            e
        }
    })?;
    // The outcome, reported by connect as on Linux (later calls: EISCONN).
    s.stack(|st| st.connect(s.id, remote)).map(|_| 0)
}

// ---- sending and receiving ----

fn send_on(
    d: &OpenFile,
    s: &SocketFile,
    data: &[u8],
    to: Option<IpEndpoint>,
    flags: u64,
) -> SysResult {
    let dontwait = flags & MSG_DONTWAIT != 0;
    let timeout = s.snd_timeout.load(Ordering::Relaxed);
    let r = match s.proto {
        Proto::Udp => {
            let dest = match to.or(*s.peer.lock()) {
                Some(d) => d,
                None => return Err(errno::EDESTADDRREQ),
            };
            wait_op(d, dontwait, timeout, || {
                s.stack(|st| st.send_to(s.id, data, dest))
            })
        }
        Proto::Tcp => {
            // A blocking stream send completes in full, as on Linux.
            let mut done = 0;
            loop {
                match wait_op(d, dontwait, timeout, || {
                    s.stack(|st| st.send(s.id, &data[done..]))
                }) {
                    Ok(n) => done += n,
                    Err(e) if done == 0 => break Err(e),
                    Err(_) => break Ok(done),
                }
                if done == data.len() || dontwait || d.nonblocking() {
                    break Ok(done);
                }
            }
        }
    };
    match r {
        Err(e) if e == errno::EPIPE && flags & MSG_NOSIGNAL == 0 => {
            super::process::raise_sigpipe();
            Err(e)
        }
        r => r.map(|n| n as u64),
    }
}

pub fn sendto(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::sendto(&d, a);
    }
    if let Some(d) = netlink_of(a[0])? {
        return netlink(&d)
            .request(user_bytes(a[1], a[2])?)
            .map(|n| n as u64);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let data = user_bytes(a[1], a[2])?;
    let to = if a[4] != 0 && s.proto == Proto::Udp {
        Some(read_sockaddr(a[4], a[5], s.family)?)
    } else {
        None
    };
    send_on(&d, s, data, to, a[3])
}

/// Receives into `buf`: bytes and, for UDP, the sender.
fn recv_on(
    d: &OpenFile,
    s: &SocketFile,
    buf: &mut [u8],
    flags: u64,
) -> Result<(usize, Option<IpEndpoint>), Errno> {
    if s.read_shut.load(Ordering::Relaxed) {
        return Ok((0, None));
    }
    let dontwait = flags & MSG_DONTWAIT != 0;
    let peek = flags & MSG_PEEK != 0;
    let timeout = s.rcv_timeout.load(Ordering::Relaxed);
    match s.proto {
        Proto::Udp => wait_op(d, dontwait, timeout, || {
            s.stack(|st| {
                if peek {
                    let from = st.peek_from(s.id)?;
                    st.peek(s.id, buf).map(|n| (n, Some(from)))
                } else {
                    st.recv_from(s.id, buf).map(|(n, from)| (n, Some(from)))
                }
            })
        }),
        Proto::Tcp => {
            let waitall = flags & MSG_WAITALL != 0 && !peek;
            let mut done = 0;
            loop {
                let r = wait_op(d, dontwait, timeout, || {
                    s.stack(|st| {
                        if peek {
                            st.peek(s.id, &mut buf[done..])
                        } else {
                            st.recv(s.id, &mut buf[done..])
                        }
                    })
                });
                match r {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
                if !waitall || done == buf.len() || dontwait || d.nonblocking() {
                    break;
                }
            }
            let peer = s.stack(|st| st.peer_endpoint(s.id)).ok();
            Ok((done, peer))
        }
    }
}

pub fn recvfrom(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::recvfrom(&d, a);
    }
    if let Some(d) = netlink_of(a[0])? {
        // Answers are queued by the request: there is nothing to wait for.
        let n = netlink(&d).take(user_bytes_mut(a[1], a[2])?)?;
        if a[4] != 0 {
            // struct sockaddr_nl from the kernel: family, pad, port 0, groups 0.
            let mut from = alloc::vec![0u8; 12];
            from[0..2].copy_from_slice(&(AF_NETLINK as u16).to_ne_bytes());
            write_sockaddr(a[4], a[5], &from)?;
        }
        return Ok(n as u64);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let buf = user_bytes_mut(a[1], a[2])?;
    let (n, from) = recv_on(&d, s, buf, a[3])?;
    if let Some(from) = from.filter(|_| a[4] != 0) {
        write_sockaddr(
            a[4],
            a[5],
            &sockaddr_bytes(Some(from.addr), from.port, s.family),
        )?;
    }
    Ok(n as u64)
}

/// `struct msghdr` (56 bytes): name, namelen, iov, iovlen, control, controllen, flags.
pub(super) struct MsgHdr {
    pub name: u64,
    pub namelen: u64,
    pub iov: Vec<(u64, u64)>,
    pub control: u64,
    pub controllen: u64,
}

pub(super) fn read_msghdr(ptr: u64) -> Result<MsgHdr, Errno> {
    let [name, namelen, iov, iovlen, control, controllen, _flags] = user::read_u64s::<7>(ptr)?;
    if iovlen > 1024 {
        return Err(errno::EMSGSIZE);
    }
    let raw = user::read_u64s_vec(iov, iovlen as usize * 2)?;
    let iov = raw.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    Ok(MsgHdr {
        name,
        namelen: namelen & 0xffff_ffff,
        iov,
        control,
        controllen,
    })
}

pub fn sendmsg(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::sendmsg(&d, a[1], a[2]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let m = read_msghdr(a[1])?;
    // Gather into one buffer: a datagram must go out whole.
    let mut data = Vec::new();
    for &(base, len) in &m.iov {
        data.try_reserve(len as usize).map_err(|_| errno::ENOMEM)?;
        data.extend_from_slice(user_bytes(base, len)?);
    }
    let to = if m.name != 0 && s.proto == Proto::Udp {
        Some(read_sockaddr(m.name, m.namelen, s.family)?)
    } else {
        None
    };
    send_on(&d, s, &data, to, a[2])
}

pub fn recvmsg(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::recvmsg(&d, a[1], a[2]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let m = read_msghdr(a[1])?;
    let total: u64 = m.iov.iter().map(|&(_, l)| l).sum();
    let mut buf = Vec::new();
    buf.try_reserve(total as usize).map_err(|_| errno::ENOMEM)?;
    buf.resize(total as usize, 0);
    let (n, from) = recv_on(&d, s, &mut buf, a[2])?;
    let mut at = 0;
    for &(base, len) in &m.iov {
        if at >= n {
            break;
        }
        let k = (len as usize).min(n - at);
        user_bytes_mut(base, k as u64)?.copy_from_slice(&buf[at..at + k]);
        at += k;
    }
    // msg_namelen (offset 8), msg_controllen (offset 40) and msg_flags (offset 48).
    if m.name != 0 {
        match from {
            Some(from) => write_sockaddr(
                m.name,
                a[1] + 8,
                &sockaddr_bytes(Some(from.addr), from.port, s.family),
            )?,
            None => user::write_u32(a[1] + 8, 0)?,
        }
    }
    user::write_u64s(a[1] + 40, &[0])?;
    user::write_u32(a[1] + 48, 0)?;
    Ok(n as u64)
}

pub fn shutdown(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::shutdown(&d, a[1]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let how = a[1];
    if how > 2 {
        return Err(errno::EINVAL);
    }
    if s.proto == Proto::Tcp && s.listening.load(Ordering::Relaxed) {
        // Linux: shutting down a listener's receiving side stops it listening (its pending
        // connections are reset, a blocked accept fails with EINVAL); SHUT_WR does nothing.
        if how == 0 || how == 2 {
            s.stack(|st| st.stop_listening(s.id))?;
            s.listening.store(false, Ordering::Relaxed);
        }
        return Ok(0);
    }
    if s.proto == Proto::Tcp {
        s.stack(|st| st.peer_endpoint(s.id))?;
    }
    if how == 0 || how == 2 {
        s.read_shut.store(true, Ordering::Relaxed);
    }
    if (how == 1 || how == 2) && s.proto == Proto::Tcp {
        s.stack(|st| st.shutdown_write(s.id))?;
    }
    Ok(0)
}

pub fn getsockname(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::getsockname(&d, a[1], a[2]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let local = s.stack(|st| st.local_endpoint(s.id))?;
    let bytes = match local {
        Some(l) => sockaddr_bytes(l.addr, l.port, s.family),
        None => sockaddr_bytes(None, 0, s.family),
    };
    write_sockaddr(a[1], a[2], &bytes).map(|_| 0)
}

pub fn getpeername(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::getpeername(&d, a[1], a[2]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let peer = match s.proto {
        Proto::Udp => (*s.peer.lock()).ok_or(errno::ENOTCONN)?,
        Proto::Tcp => s.stack(|st| st.peer_endpoint(s.id))?,
    };
    write_sockaddr(
        a[1],
        a[2],
        &sockaddr_bytes(Some(peer.addr), peer.port, s.family),
    )
    .map(|_| 0)
}

// ---- options ----

const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_REUSEADDR: u64 = 2;
const SO_BROADCAST: u64 = 6;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_KEEPALIVE: u64 = 9;
const SO_LINGER: u64 = 13;
const SO_REUSEPORT: u64 = 15;
const SO_RCVTIMEO: u64 = 20;
const SO_SNDTIMEO: u64 = 21;
const SO_ACCEPTCONN: u64 = 30;
const SO_PROTOCOL: u64 = 38;
const SO_DOMAIN: u64 = 39;
const TCP_NODELAY: u64 = 1;
const TCP_CORK: u64 = 3;
const TCP_KEEPIDLE: u64 = 4;
const TCP_KEEPINTVL: u64 = 5;
const TCP_KEEPCNT: u64 = 6;
const TCP_DEFER_ACCEPT: u64 = 9;
const TCP_QUICKACK: u64 = 12;
const TCP_USER_TIMEOUT: u64 = 18;
const IPV6_V6ONLY: u64 = 26;
/// Linux's limits: `MAX_TCP_KEEPIDLE`, `MAX_TCP_KEEPINTVL`, `MAX_TCP_KEEPCNT`.
const MAX_KEEP_SECS: i32 = 32767;
const MAX_KEEPCNT: i32 = 127;

fn is_tcp_option(name: u64) -> bool {
    matches!(
        name,
        TCP_NODELAY
            | TCP_CORK
            | TCP_KEEPIDLE
            | TCP_KEEPINTVL
            | TCP_KEEPCNT
            | TCP_DEFER_ACCEPT
            | TCP_QUICKACK
            | TCP_USER_TIMEOUT
    )
}

/// A TCP-level setsockopt as a change of the socket's options, with Linux's checks.
fn tcp_option(name: u64, v: i32) -> Result<impl FnOnce(&mut TcpOptions), Errno> {
    let keep = |max: i32| {
        if (1..=max).contains(&v) {
            Ok(v as u32)
        } else {
            Err(errno::EINVAL)
        }
    };
    enum Set {
        NoDelay(bool),
        Cork(bool),
        KeepIdle(u32),
        KeepIntvl(u32),
        KeepCnt(u32),
        DeferAccept(u8),
        QuickAck(bool),
        UserTimeout(u32),
    }
    let set = match name {
        TCP_NODELAY => Set::NoDelay(v != 0),
        TCP_CORK => Set::Cork(v != 0),
        TCP_KEEPIDLE => Set::KeepIdle(keep(MAX_KEEP_SECS)?),
        TCP_KEEPINTVL => Set::KeepIntvl(keep(MAX_KEEP_SECS)?),
        TCP_KEEPCNT => Set::KeepCnt(keep(MAX_KEEPCNT)?),
        TCP_DEFER_ACCEPT => Set::DeferAccept(defer_secs_to_retrans(v)),
        TCP_QUICKACK => Set::QuickAck(v != 0),
        TCP_USER_TIMEOUT if v >= 0 => Set::UserTimeout(v as u32),
        _ => return Err(errno::EINVAL),
    };
    Ok(move |o: &mut TcpOptions| match set {
        Set::NoDelay(on) => o.nodelay = on,
        Set::Cork(on) => o.cork = on,
        Set::KeepIdle(s) => o.keep_idle = s,
        Set::KeepIntvl(s) => o.keep_intvl = s,
        Set::KeepCnt(n) => o.keep_cnt = n,
        Set::DeferAccept(r) => o.defer_accept = r,
        Set::QuickAck(on) => o.quickack = Some(on),
        Set::UserTimeout(ms) => o.user_timeout_ms = ms,
    })
}

/// A TCP-level getsockopt: what was set, in Linux's units (TCP_DEFER_ACCEPT rounded up to
/// whole SYN-ACK retransmissions, as Linux reports it).
fn tcp_option_value(name: u64, o: &TcpOptions) -> u32 {
    match name {
        TCP_NODELAY => o.nodelay as u32,
        TCP_CORK => o.cork as u32,
        TCP_KEEPIDLE => o.keep_idle,
        TCP_KEEPINTVL => o.keep_intvl,
        TCP_KEEPCNT => o.keep_cnt,
        TCP_DEFER_ACCEPT => defer_retrans_to_secs(o.defer_accept),
        TCP_QUICKACK => o.quickack.unwrap_or(true) as u32,
        TCP_USER_TIMEOUT => o.user_timeout_ms,
        _ => 0,
    }
}

fn unsupported_option(level: u64, name: u64) -> Errno {
    static SEEN: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock();
    if !seen.contains(&(level, name)) && seen.len() < 64 {
        seen.push((level, name));
        kinfo!(
            "unsupported socket option level {} name {} -> ENOPROTOOPT",
            level,
            name
        );
    }
    errno::ENOPROTOOPT
}

fn read_int(ptr: u64, len: u64) -> Result<u32, Errno> {
    if len < 4 {
        return Err(errno::EINVAL);
    }
    user::read_u32(ptr)
}

pub(super) fn read_timeval_ns(ptr: u64, len: u64) -> Result<u64, Errno> {
    if len < 16 {
        return Err(errno::EINVAL);
    }
    let [sec, usec] = user::read_u64s::<2>(ptr)?;
    if (sec as i64) < 0 || usec >= 1_000_000 {
        return Err(errno::EDOM);
    }
    Ok(sec
        .saturating_mul(1_000_000_000)
        .saturating_add(usec * 1000))
}

pub fn setsockopt(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::setsockopt(&d, a[1], a[2], a[3], a[4]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let (level, name, val, len) = (a[1], a[2], a[3], a[4]);
    let flag = |b: &AtomicBool| -> SysResult {
        b.store(read_int(val, len)? != 0, Ordering::Relaxed);
        Ok(0)
    };
    match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => {
            flag(&s.reuse_addr)?;
            let on = s.reuse_addr.load(Ordering::Relaxed);
            s.stack(|st| st.set_reuse_addr(s.id, on)).map(|()| 0)
        }
        (SOL_SOCKET, SO_REUSEPORT) => {
            flag(&s.reuse_port)?;
            let on = s.reuse_port.load(Ordering::Relaxed);
            s.stack(|st| st.set_reuse_port(s.id, on)).map(|_| 0)
        }
        (SOL_SOCKET, SO_BROADCAST) => read_int(val, len).map(|_| 0),
        (SOL_SOCKET, SO_KEEPALIVE) => {
            flag(&s.keepalive)?;
            let on = s.keepalive.load(Ordering::Relaxed);
            if s.proto == Proto::Tcp {
                s.stack(|st| st.set_tcp_options(s.id, |o| o.keepalive = on))?;
            }
            Ok(0)
        }
        (SOL_SOCKET, SO_RCVBUF) => {
            s.rcvbuf.store(read_int(val, len)?, Ordering::Relaxed);
            Ok(0)
        }
        (SOL_SOCKET, SO_SNDBUF) => {
            s.sndbuf.store(read_int(val, len)?, Ordering::Relaxed);
            Ok(0)
        }
        (SOL_SOCKET, SO_RCVTIMEO) => {
            s.rcv_timeout
                .store(read_timeval_ns(val, len)?, Ordering::Relaxed);
            Ok(0)
        }
        (SOL_SOCKET, SO_SNDTIMEO) => {
            s.snd_timeout
                .store(read_timeval_ns(val, len)?, Ordering::Relaxed);
            Ok(0)
        }
        (SOL_SOCKET, SO_LINGER) => {
            if len < 8 {
                return Err(errno::EINVAL);
            }
            let raw = user_bytes(val, 8)?;
            let onoff = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let secs = u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
            // A non-zero linger time makes Linux's close wait for the FIN exchange; here the
            // exchange always goes on in the background after close.
            s.linger_abort
                .store(onoff != 0 && secs == 0, Ordering::Relaxed);
            Ok(0)
        }
        (IPPROTO_TCP, _) if s.proto == Proto::Tcp && is_tcp_option(name) => {
            let v = read_int(val, len)? as i32;
            let change = tcp_option(name, v)?;
            s.stack(|st| st.set_tcp_options(s.id, change)).map(|_| 0)
        }
        (IPPROTO_IPV6, IPV6_V6ONLY) if s.family == AF_INET6 => {
            let on = read_int(val, len)? != 0;
            s.stack(|st| st.set_v6only(s.id, on))?;
            s.v6only.store(on, Ordering::Relaxed);
            Ok(0)
        }
        (IPPROTO_IP, _)
        | (IPPROTO_IPV6, _)
        | (SOL_SOCKET, _)
        | (IPPROTO_TCP, _)
        | (IPPROTO_UDP, _) => Err(unsupported_option(level, name)),
        _ => Err(errno::ENOPROTOOPT),
    }
}

pub fn getsockopt(a: &[u64; 6]) -> SysResult {
    if let Some(d) = unix::of(a[0])? {
        return unix::getsockopt(&d, a[1], a[2], a[3], a[4]);
    }
    let d = socket_of(a[0])?;
    let s = sock(&d);
    let (level, name, val, len_ptr) = (a[1], a[2], a[3], a[4]);
    let b = |x: &AtomicBool| x.load(Ordering::Relaxed) as u32;
    let int = match (level, name) {
        (SOL_SOCKET, SO_TYPE) => {
            if s.proto == Proto::Tcp {
                SOCK_STREAM as u32
            } else {
                SOCK_DGRAM as u32
            }
        }
        (SOL_SOCKET, SO_ERROR) => s
            .stack(|st| st.take_error(s.id))
            .ok()
            .flatten()
            .map_or(0, |e| e.0 as u32),
        (SOL_SOCKET, SO_REUSEADDR) => b(&s.reuse_addr),
        (SOL_SOCKET, SO_REUSEPORT) => b(&s.reuse_port),
        (SOL_SOCKET, SO_KEEPALIVE) => b(&s.keepalive),
        (SOL_SOCKET, SO_ACCEPTCONN) => b(&s.listening),
        (SOL_SOCKET, SO_DOMAIN) => s.family as u32,
        (SOL_SOCKET, SO_PROTOCOL) => {
            if s.proto == Proto::Tcp {
                IPPROTO_TCP as u32
            } else {
                IPPROTO_UDP as u32
            }
        }
        // Linux reports twice what was set (it counts bookkeeping); report the same.
        (SOL_SOCKET, SO_RCVBUF) => s.rcvbuf.load(Ordering::Relaxed).saturating_mul(2),
        (SOL_SOCKET, SO_SNDBUF) => s.sndbuf.load(Ordering::Relaxed).saturating_mul(2),
        (SOL_SOCKET, SO_RCVTIMEO | SO_SNDTIMEO) => {
            let ns = if name == SO_RCVTIMEO {
                &s.rcv_timeout
            } else {
                &s.snd_timeout
            };
            let ns = ns.load(Ordering::Relaxed);
            let tv = [ns / 1_000_000_000, ns % 1_000_000_000 / 1000];
            if user::read_u32(len_ptr)? < 16 {
                return Err(errno::EINVAL);
            }
            user::write_u64s(val, &tv)?;
            user::write_u32(len_ptr, 16)?;
            return Ok(0);
        }
        (SOL_SOCKET, SO_LINGER) => {
            if user::read_u32(len_ptr)? < 8 {
                return Err(errno::EINVAL);
            }
            let on = b(&s.linger_abort);
            user::write_u32(val, on)?;
            user::write_u32(val + 4, 0)?;
            user::write_u32(len_ptr, 8)?;
            return Ok(0);
        }
        (IPPROTO_TCP, _) if s.proto == Proto::Tcp && is_tcp_option(name) => {
            let o = s.stack(|st| st.tcp_options(s.id))?;
            tcp_option_value(name, &o)
        }
        (IPPROTO_IPV6, IPV6_V6ONLY) if s.family == AF_INET6 => b(&s.v6only),
        (IPPROTO_IP, _)
        | (IPPROTO_IPV6, _)
        | (SOL_SOCKET, _)
        | (IPPROTO_TCP, _)
        | (IPPROTO_UDP, _) => return Err(unsupported_option(level, name)),
        _ => return Err(errno::ENOPROTOOPT),
    };
    if user::read_u32(len_ptr)? < 4 {
        return Err(errno::EINVAL);
    }
    user::write_u32(val, int)?;
    user::write_u32(len_ptr, 4)?;
    Ok(0)
}

pub fn socketpair(a: &[u64; 6]) -> SysResult {
    match a[0] {
        AF_UNIX => unix::socketpair(a[1], a[2], a[3]),
        // Linux's inet sockets have no pairs.
        AF_INET | AF_INET6 => Err(errno::EOPNOTSUPP),
        _ => Err(errno::EAFNOSUPPORT),
    }
}
