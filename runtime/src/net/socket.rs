//! The socket layer's internal API: TCP and UDP sockets by number, with the calls a BSD socket
//! layer needs (bind, listen with a real backlog, accept, connect, send, recv, shutdown,
//! close) and readiness for poll/select/epoll. Non-blocking throughout: a call that would wait
//! returns `EAGAIN` (or `EINPROGRESS` for connect), and the caller blocks on readiness.
//!
//! smoltcp's TCP socket in listen state accepts one connection, so a listener keeps one idle
//! listening socket armed beside its pending connections (in their handshake or waiting for
//! `accept`), re-armed before every frame the interface takes in, up to `backlog` pending
//! (DESIGN.md §8). With the backlog full, the interface drops new SYNs for the listener
//! ([`super::gate`]) instead of letting smoltcp refuse them, and the peer's retransmission
//! gets in once `accept` made room, as on Linux. A closed TCP socket stays in smoltcp until
//! its FIN exchange ends.
#![forbid(unsafe_code)]

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::stack::Stack;
use crate::errno::Errno;

/// Buffer sizes per socket (Linux's defaults are larger; these suit a small VM).
pub const TCP_BUFFER: usize = 32 * 1024;
pub const UDP_BUFFER: usize = 64 * 1024;
/// Datagrams a UDP socket queues each way. As many as the NIC's receive ring holds (virtio-net
/// 256): when the program has not run for a while, one poll of the interface moves the whole
/// ring into the socket, and small datagrams (a DNS query is ~40 bytes) would otherwise be
/// dropped for want of a slot while `UDP_BUFFER` is nearly empty. About 16 KiB each way.
pub const UDP_PACKETS: usize = 256;
/// The largest listen backlog honoured (Linux's default `net.core.somaxconn`). Each pending
/// connection holds its buffers (2 × TCP_BUFFER), taken as connections arrive, not at listen.
pub const MAX_BACKLOG: usize = 4096;
const EPHEMERAL: core::ops::RangeInclusive<u16> = 49152..=65535;

/// A socket's number in the table.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub struct SockId(pub u32);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    Tcp,
    Udp,
}

/// What a socket is ready for, as poll(2) reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Readiness {
    /// Data, a connection to accept, or end of stream.
    pub readable: bool,
    /// Room to send (or, for a connecting socket, the connection finished either way).
    pub writable: bool,
    /// The peer closed its side (POLLRDHUP) or the connection is gone (POLLHUP).
    pub rdhup: bool,
    pub hup: bool,
    /// A pending error (SO_ERROR), e.g. a refused connection.
    pub error: bool,
}

#[derive(Debug)]
enum Entry {
    /// A TCP socket that is neither listening nor connected; maybe bound.
    TcpIdle {
        local: Option<IpListenEndpoint>,
    },
    TcpListen {
        local: IpListenEndpoint,
        armed: Vec<SocketHandle>,
        backlog: usize,
    },
    TcpStream {
        handle: SocketHandle,
        connecting: bool,
        error: Option<Errno>,
    },
    Udp {
        handle: SocketHandle,
    },
}

/// Every socket of the interface.
#[derive(Debug)]
pub struct Table {
    entries: Vec<Option<Entry>>,
    /// Closed TCP sockets finishing their FIN exchange.
    orphans: Vec<SocketHandle>,
    next_port: u16,
    /// Whether `bytes` more may be taken from the heap for socket buffers now.
    room: fn(usize) -> bool,
}

impl Table {
    pub fn new(seed: u64) -> Table {
        let span = (EPHEMERAL.end() - EPHEMERAL.start()) as u64 + 1;
        Table {
            entries: Vec::new(),
            orphans: Vec::new(),
            next_port: EPHEMERAL.start() + (seed % span) as u16,
            room: |_| true,
        }
    }

    /// Arms every listener whose backlog has room with an idle listening socket, and drops
    /// pending connections that were reset before `accept`. Returns the listeners that have
    /// no idle socket (backlog full, or no memory for one): the SYNs the gate must drop.
    pub(super) fn arm_listeners(
        &mut self,
        sockets: &mut SocketSet<'static>,
    ) -> Vec<IpListenEndpoint> {
        let mut full = Vec::new();
        for e in self.entries.iter_mut().flatten() {
            if let Entry::TcpListen {
                local,
                armed,
                backlog,
            } = e
            {
                if !arm(sockets, *local, armed, *backlog, self.room) {
                    full.push(*local);
                }
            }
        }
        full
    }

    fn get(&self, id: SockId) -> Result<&Entry, Errno> {
        self.entries
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    fn get_mut(&mut self, id: SockId) -> Result<&mut Entry, Errno> {
        self.entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    fn insert(&mut self, e: Entry) -> SockId {
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = Some(e);
            return SockId(i as u32);
        }
        self.entries.push(Some(e));
        SockId(self.entries.len() as u32 - 1)
    }

    /// Drops orphaned TCP sockets whose connection has ended. True if any went.
    pub fn reap_closed(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        let before = self.orphans.len();
        self.orphans.retain(|&h| {
            if sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed {
                sockets.remove(h);
                false
            } else {
                true
            }
        });
        before != self.orphans.len()
    }
}

fn new_tcp() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
    );
    // Linux keeps Nagle on by default; smoltcp too. TCP_NODELAY toggles it.
    s.set_nagle_enabled(true);
    s
}

fn new_udp() -> udp::Socket<'static> {
    udp::Socket::new(
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BUFFER],
        ),
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BUFFER],
        ),
    )
}

/// Keeps one idle listening socket on `local` beside the pending connections in `armed`, as
/// long as fewer than `backlog` are pending and `room` allows its buffers; drops pending
/// connections that were reset. True when an idle socket listens.
fn arm(
    sockets: &mut SocketSet<'static>,
    local: IpListenEndpoint,
    armed: &mut Vec<SocketHandle>,
    backlog: usize,
    room: fn(usize) -> bool,
) -> bool {
    armed.retain(|&h| {
        let reset = sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed;
        if reset {
            sockets.remove(h);
        }
        !reset
    });
    let idle = |h: &SocketHandle| sockets.get::<tcp::Socket>(*h).state() == tcp::State::Listen;
    if armed.iter().any(idle) {
        return true;
    }
    if armed.len() >= backlog || !room(2 * TCP_BUFFER) {
        return false;
    }
    let mut s = new_tcp();
    if s.listen(local).is_err() {
        return false;
    }
    armed.push(sockets.add(s));
    true
}

/// A listening socket's connection that finished its handshake (or already got a FIN).
fn acceptable(s: &tcp::Socket<'_>) -> bool {
    !matches!(
        s.state(),
        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
    )
}

fn overlaps(a: &IpListenEndpoint, b: &IpListenEndpoint) -> bool {
    a.port == b.port && (a.addr.is_none() || b.addr.is_none() || a.addr == b.addr)
}

impl<D: Device> Stack<D> {
    /// A new socket, unbound.
    pub fn socket(&mut self, proto: Proto) -> SockId {
        let entry = match proto {
            Proto::Tcp => Entry::TcpIdle { local: None },
            Proto::Udp => Entry::Udp {
                handle: self.sockets.add(new_udp()),
            },
        };
        self.sock.insert(entry)
    }

    /// Every endpoint bound by a socket of `proto` (other than `except`).
    fn bound(&self, proto: Proto, except: SockId) -> Vec<IpListenEndpoint> {
        let mut out = Vec::new();
        for (i, e) in self.sock.entries.iter().enumerate() {
            if i == except.0 as usize {
                continue;
            }
            match (proto, e) {
                (Proto::Tcp, Some(Entry::TcpIdle { local: Some(l) }))
                | (Proto::Tcp, Some(Entry::TcpListen { local: l, .. })) => out.push(*l),
                (Proto::Tcp, Some(Entry::TcpStream { handle, .. })) => {
                    if let Some(l) = self.sockets.get::<tcp::Socket>(*handle).local_endpoint() {
                        out.push(l.into());
                    }
                }
                (Proto::Udp, Some(Entry::Udp { handle })) => {
                    let l = self.sockets.get::<udp::Socket>(*handle).endpoint();
                    if l.port != 0 {
                        out.push(l);
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn ephemeral(&mut self, proto: Proto, id: SockId) -> Result<u16, Errno> {
        let taken = self.bound(proto, id);
        for _ in EPHEMERAL {
            let p = self.sock.next_port;
            self.sock.next_port = if p == *EPHEMERAL.end() {
                *EPHEMERAL.start()
            } else {
                p + 1
            };
            if !taken.iter().any(|t| t.port == p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    fn check_local(&self, addr: &IpListenEndpoint) -> Result<(), Errno> {
        match addr.addr {
            Some(a) if !self.iface.has_ip_addr(a) && !a.is_unspecified() => {
                Err(Errno::EADDRNOTAVAIL)
            }
            _ => Ok(()),
        }
    }

    /// Binds to `local` (port 0: an ephemeral port). Returns the endpoint bound.
    pub fn bind(
        &mut self,
        id: SockId,
        mut local: IpListenEndpoint,
    ) -> Result<IpListenEndpoint, Errno> {
        if local.addr.is_some_and(|a| a.is_unspecified()) {
            local.addr = None;
        }
        self.check_local(&local)?;
        let proto = match self.sock.get(id)? {
            Entry::TcpIdle { local: None } => Proto::Tcp,
            Entry::Udp { handle }
                if self.sockets.get::<udp::Socket>(*handle).endpoint().port == 0 =>
            {
                Proto::Udp
            }
            _ => return Err(Errno::EINVAL),
        };
        if local.port == 0 {
            local.port = self.ephemeral(proto, id)?;
        } else if self.bound(proto, id).iter().any(|b| overlaps(b, &local)) {
            return Err(Errno::EADDRINUSE);
        }
        match self.sock.get_mut(id)? {
            Entry::TcpIdle { local: l } => *l = Some(local),
            Entry::Udp { handle } => {
                let h = *handle;
                self.sockets
                    .get_mut::<udp::Socket>(h)
                    .bind(local)
                    .map_err(|_| Errno::EINVAL)?;
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(local)
    }

    /// Starts listening with `backlog` connections pending at most (at least 1).
    pub fn listen(&mut self, id: SockId, backlog: usize) -> Result<(), Errno> {
        let backlog = backlog.clamp(1, MAX_BACKLOG);
        let local = match self.sock.get_mut(id)? {
            Entry::TcpIdle { local } => *local,
            Entry::TcpListen { backlog: b, .. } => {
                // Linux lets listen() change the backlog of a listening socket.
                *b = backlog;
                return self.rearm(id);
            }
            Entry::Udp { .. } => return Err(Errno::EOPNOTSUPP),
            Entry::TcpStream { .. } => return Err(Errno::EINVAL),
        };
        let local = match local {
            Some(l) => l,
            None => self.bind(id, IpListenEndpoint::default())?,
        };
        *self.sock.get_mut(id)? = Entry::TcpListen {
            local,
            armed: Vec::new(),
            backlog,
        };
        self.rearm(id)
    }

    /// Arms the listener with an idle listening socket if its backlog has room.
    fn rearm(&mut self, id: SockId) -> Result<(), Errno> {
        let room = self.sock.room;
        let Entry::TcpListen {
            local,
            armed,
            backlog,
        } = self.sock.get_mut(id)?
        else {
            return Err(Errno::EINVAL);
        };
        arm(&mut self.sockets, *local, armed, *backlog, room);
        Ok(())
    }

    /// Sets the check for heap room that arming a listening socket (2 × TCP_BUFFER) passes
    /// first; without room the listener's SYNs are dropped, not refused.
    pub fn set_room_check(&mut self, room: fn(usize) -> bool) {
        self.sock.room = room;
    }

    /// Takes one established connection: its socket and the peer. `EAGAIN` when none waits.
    pub fn accept(&mut self, id: SockId) -> Result<(SockId, IpEndpoint), Errno> {
        let Entry::TcpListen { armed, .. } = self.sock.get_mut(id)? else {
            return Err(Errno::EINVAL);
        };
        let sockets = &self.sockets;
        let Some(i) = armed
            .iter()
            .position(|&h| acceptable(sockets.get::<tcp::Socket>(h)))
        else {
            return Err(Errno::EAGAIN);
        };
        let handle = armed.remove(i);
        let peer = self
            .sockets
            .get::<tcp::Socket>(handle)
            .remote_endpoint()
            .ok_or(Errno::ECONNABORTED)?;
        self.rearm(id)?;
        let new = self.sock.insert(Entry::TcpStream {
            handle,
            connecting: false,
            error: None,
        });
        Ok((new, peer))
    }

    /// Starts connecting to `remote`; the connection is made when the socket becomes
    /// writable (or fails with a pending error). UDP: sets the default destination.
    pub fn connect(&mut self, id: SockId, remote: IpEndpoint) -> Result<(), Errno> {
        if remote.port == 0 || remote.addr.is_unspecified() {
            return Err(Errno::ECONNREFUSED);
        }
        match self.sock.get(id)? {
            Entry::TcpIdle { local } => {
                let local = match local {
                    Some(l) => *l,
                    None => self.bind(id, IpListenEndpoint::default())?,
                };
                let mut s = new_tcp();
                s.connect(self.iface.context(), remote, local)
                    .map_err(|e| match e {
                        tcp::ConnectError::Unaddressable => Errno::ENETUNREACH,
                        tcp::ConnectError::InvalidState => Errno::EISCONN,
                    })?;
                let handle = self.sockets.add(s);
                *self.sock.get_mut(id)? = Entry::TcpStream {
                    handle,
                    connecting: true,
                    error: None,
                };
                Ok(())
            }
            Entry::TcpStream {
                connecting: true, ..
            } => Err(Errno::EALREADY),
            Entry::TcpStream { .. } => Err(Errno::EISCONN),
            Entry::TcpListen { .. } => Err(Errno::EINVAL),
            Entry::Udp { .. } => Err(Errno::EOPNOTSUPP),
        }
    }

    /// Settles a connecting socket: connected, or failed with a pending error.
    fn settle(&mut self, id: SockId) -> Result<(), Errno> {
        let Entry::TcpStream {
            handle,
            connecting,
            error,
        } = self.sock.get_mut(id)?
        else {
            return Ok(());
        };
        if *connecting {
            match self.sockets.get::<tcp::Socket>(*handle).state() {
                tcp::State::SynSent | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    *connecting = false;
                    *error = Some(Errno::ECONNREFUSED);
                }
                _ => *connecting = false,
            }
        }
        Ok(())
    }

    /// Takes the pending error (SO_ERROR), if any.
    pub fn take_error(&mut self, id: SockId) -> Result<Option<Errno>, Errno> {
        self.settle(id)?;
        Ok(match self.sock.get_mut(id)? {
            Entry::TcpStream { error, .. } => error.take(),
            _ => None,
        })
    }

    /// Sends on a connected TCP socket: bytes queued, `EAGAIN` when the buffer is full,
    /// `EPIPE` after shutdown or close by the peer, `ENOTCONN` before connecting.
    pub fn send(&mut self, id: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.settle(id)?;
        match self.sock.get_mut(id)? {
            Entry::TcpStream {
                handle,
                connecting,
                error,
            } => {
                if let Some(e) = error.take() {
                    return Err(e);
                }
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                let s = self.sockets.get_mut::<tcp::Socket>(*handle);
                if !s.may_send() {
                    return Err(Errno::EPIPE);
                }
                match s.send_slice(data) {
                    Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
                    Ok(n) => Ok(n),
                    Err(_) => Err(Errno::EPIPE),
                }
            }
            Entry::Udp { .. } => Err(Errno::EDESTADDRREQ),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Receives from a connected TCP socket: bytes read, 0 at end of stream, `EAGAIN` when
    /// nothing is there yet.
    pub fn recv(&mut self, id: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.settle(id)?;
        match self.sock.get_mut(id)? {
            Entry::TcpStream {
                handle,
                connecting,
                error,
            } => {
                if let Some(e) = error.take() {
                    return Err(e);
                }
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                let s = self.sockets.get_mut::<tcp::Socket>(*handle);
                match s.recv_slice(buf) {
                    Ok(0) if !buf.is_empty() && s.may_recv() => Err(Errno::EAGAIN),
                    Ok(n) => Ok(n),
                    Err(tcp::RecvError::Finished) => Ok(0),
                    Err(tcp::RecvError::InvalidState) => Ok(0),
                }
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Like [`Stack::recv`] but leaves the bytes queued (MSG_PEEK).
    pub fn peek(&mut self, id: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.settle(id)?;
        match self.sock.get_mut(id)? {
            Entry::TcpStream {
                handle, connecting, ..
            } => {
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                let s = self.sockets.get_mut::<tcp::Socket>(*handle);
                match s.peek_slice(buf) {
                    Ok(0) if !buf.is_empty() && s.may_recv() => Err(Errno::EAGAIN),
                    Ok(n) => Ok(n),
                    Err(_) => Ok(0),
                }
            }
            Entry::Udp { handle } => {
                let s = self.sockets.get_mut::<udp::Socket>(*handle);
                match s.peek() {
                    Ok((data, _)) => {
                        let n = data.len().min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        Ok(n)
                    }
                    Err(_) => Err(Errno::EAGAIN),
                }
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// The sender of the next datagram without taking it (recvfrom with MSG_PEEK).
    pub fn peek_from(&mut self, id: SockId) -> Result<IpEndpoint, Errno> {
        let Entry::Udp { handle } = self.sock.get(id)? else {
            return Err(Errno::EOPNOTSUPP);
        };
        let s = self.sockets.get_mut::<udp::Socket>(*handle);
        s.peek()
            .map(|(_, meta)| meta.endpoint)
            .map_err(|_| Errno::EAGAIN)
    }

    /// Resets a TCP connection instead of closing it gracefully (SO_LINGER with a zero
    /// timeout), then forgets the socket.
    pub fn abort(&mut self, id: SockId) -> Result<(), Errno> {
        if let Entry::TcpStream { handle, .. } = self.sock.get(id)? {
            let h = *handle;
            self.sockets.get_mut::<tcp::Socket>(h).abort();
        }
        self.close(id)
    }

    /// Turns TCP keep-alive probes on (every `interval_ms`) or off.
    pub fn set_keepalive(&mut self, id: SockId, interval_ms: Option<u64>) -> Result<(), Errno> {
        if let Entry::TcpStream { handle, .. } = self.sock.get(id)? {
            let h = *handle;
            self.sockets
                .get_mut::<tcp::Socket>(h)
                .set_keep_alive(interval_ms.map(smoltcp::time::Duration::from_millis));
        }
        Ok(())
    }

    /// Sends one datagram to `remote` (binding an ephemeral port first if needed).
    pub fn send_to(&mut self, id: SockId, data: &[u8], remote: IpEndpoint) -> Result<usize, Errno> {
        let Entry::Udp { handle } = self.sock.get(id)? else {
            return Err(Errno::EISCONN);
        };
        let h = *handle;
        if self.sockets.get::<udp::Socket>(h).endpoint().port == 0 {
            self.bind(id, IpListenEndpoint::default())?;
        }
        let s = self.sockets.get_mut::<udp::Socket>(h);
        if data.len() > s.payload_send_capacity() {
            return Err(Errno::EMSGSIZE);
        }
        match s.send_slice(data, remote) {
            Ok(()) => Ok(data.len()),
            Err(udp::SendError::BufferFull) => Err(Errno::EAGAIN),
            Err(udp::SendError::Unaddressable) => Err(Errno::ENETUNREACH),
        }
    }

    /// Receives one datagram: its length (cut to `buf`, the rest dropped as Linux does) and
    /// sender.
    pub fn recv_from(&mut self, id: SockId, buf: &mut [u8]) -> Result<(usize, IpEndpoint), Errno> {
        let Entry::Udp { handle } = self.sock.get(id)? else {
            return Err(Errno::EOPNOTSUPP);
        };
        let s = self.sockets.get_mut::<udp::Socket>(*handle);
        match s.recv() {
            Ok((data, meta)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Ok((n, meta.endpoint))
            }
            Err(_) => Err(Errno::EAGAIN),
        }
    }

    /// Ends the sending side of a TCP connection (FIN after the queued data).
    pub fn shutdown_write(&mut self, id: SockId) -> Result<(), Errno> {
        match self.sock.get(id)? {
            Entry::TcpStream { handle, .. } => {
                self.sockets.get_mut::<tcp::Socket>(*handle).close();
                Ok(())
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Closes the socket: a TCP connection ends gracefully (its FIN exchange goes on in the
    /// background); listeners drop their pending connections.
    pub fn close(&mut self, id: SockId) -> Result<(), Errno> {
        let entry = self
            .sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        match entry {
            Entry::TcpIdle { .. } => {}
            Entry::TcpListen { armed, .. } => {
                for h in armed {
                    self.sockets.get_mut::<tcp::Socket>(h).abort();
                    self.sock.orphans.push(h);
                }
            }
            Entry::TcpStream { handle, .. } => {
                self.sockets.get_mut::<tcp::Socket>(handle).close();
                self.sock.orphans.push(handle);
            }
            Entry::Udp { handle } => {
                self.sockets.remove(handle);
            }
        }
        Ok(())
    }

    /// What the socket is ready for now.
    pub fn readiness(&mut self, id: SockId) -> Result<Readiness, Errno> {
        self.settle(id)?;
        let sockets = &self.sockets;
        Ok(match self.sock.get(id)? {
            Entry::TcpIdle { .. } => Readiness {
                writable: true,
                hup: true,
                ..Readiness::default()
            },
            Entry::TcpListen { armed, .. } => Readiness {
                readable: armed
                    .iter()
                    .any(|&h| acceptable(sockets.get::<tcp::Socket>(h))),
                ..Readiness::default()
            },
            Entry::TcpStream {
                handle,
                connecting,
                error,
            } => {
                let s = sockets.get::<tcp::Socket>(*handle);
                if *connecting {
                    Readiness::default()
                } else {
                    let eof = !s.may_recv();
                    let gone = matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
                    Readiness {
                        readable: s.can_recv() || eof || error.is_some(),
                        writable: s.can_send() || !s.may_send() || error.is_some(),
                        rdhup: eof,
                        hup: gone || (eof && !s.may_send()),
                        error: error.is_some(),
                    }
                }
            }
            Entry::Udp { handle } => {
                let s = sockets.get::<udp::Socket>(*handle);
                Readiness {
                    readable: s.can_recv(),
                    writable: s.can_send(),
                    ..Readiness::default()
                }
            }
        })
    }

    /// The local endpoint (getsockname); `None` before bind.
    pub fn local_endpoint(&self, id: SockId) -> Result<Option<IpListenEndpoint>, Errno> {
        Ok(match self.sock.get(id)? {
            Entry::TcpIdle { local } => *local,
            Entry::TcpListen { local, .. } => Some(*local),
            Entry::TcpStream { handle, .. } => self
                .sockets
                .get::<tcp::Socket>(*handle)
                .local_endpoint()
                .map(Into::into),
            Entry::Udp { handle } => {
                let e = self.sockets.get::<udp::Socket>(*handle).endpoint();
                (e.port != 0).then_some(e)
            }
        })
    }

    /// The peer (getpeername): `ENOTCONN` when not connected.
    pub fn peer_endpoint(&self, id: SockId) -> Result<IpEndpoint, Errno> {
        match self.sock.get(id)? {
            Entry::TcpStream { handle, .. } => self
                .sockets
                .get::<tcp::Socket>(*handle)
                .remote_endpoint()
                .ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// TCP_NODELAY.
    pub fn set_nodelay(&mut self, id: SockId, on: bool) -> Result<(), Errno> {
        match self.sock.get(id)? {
            Entry::TcpStream { handle, .. } => {
                self.sockets
                    .get_mut::<tcp::Socket>(*handle)
                    .set_nagle_enabled(!on);
                Ok(())
            }
            Entry::Udp { .. } => Err(Errno::EOPNOTSUPP),
            _ => Ok(()),
        }
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn pending_bytes(&mut self, id: SockId) -> Result<usize, Errno> {
        Ok(match self.sock.get(id)? {
            Entry::TcpStream { handle, .. } => {
                self.sockets.get::<tcp::Socket>(*handle).recv_queue()
            }
            Entry::Udp { handle } => self
                .sockets
                .get_mut::<udp::Socket>(*handle)
                .peek()
                .map_or(0, |(d, _)| d.len()),
            _ => 0,
        })
    }

    /// Sockets in the table (open ones, not counting orphans finishing their close).
    pub fn socket_count(&self) -> usize {
        self.sock.entries.iter().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::config::NetConfig;
    use crate::net::stack::tests::loopback;
    use smoltcp::phy::Loopback;
    use smoltcp::time::Instant;
    use smoltcp::wire::{IpAddress, Ipv4Address};

    const ME: IpAddress = IpAddress::Ipv4(Ipv4Address::new(10, 77, 0, 2));

    fn stack() -> Stack<Loopback> {
        let (c, _) = NetConfig::from_options([("ip", "10.77.0.2/24"), ("ip6", "fd77::2/64")]);
        loopback(c)
    }

    /// Polls with the clock advancing 10 ms a step until `done` holds (at most 60 s of
    /// simulated time: TIME-WAIT lasts 10 s).
    fn run_until(
        s: &mut Stack<Loopback>,
        t: &mut i64,
        mut done: impl FnMut(&mut Stack<Loopback>) -> bool,
    ) {
        for _ in 0..6000 {
            s.poll(Instant::from_millis(*t));
            if done(s) {
                return;
            }
            *t += 10;
        }
        panic!("condition never held");
    }

    fn ep(port: u16) -> IpEndpoint {
        IpEndpoint::new(ME, port)
    }

    fn listen_ep(port: u16) -> IpListenEndpoint {
        IpListenEndpoint { addr: None, port }
    }

    #[test]
    fn tcp_connect_accept_echo_and_graceful_close() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp);
        s.bind(l, listen_ep(7)).unwrap();
        s.listen(l, 4).unwrap();
        assert_eq!(s.accept(l), Err(Errno::EAGAIN));
        let c = s.socket(Proto::Tcp);
        s.connect(c, ep(7)).unwrap();
        assert_eq!(s.connect(c, ep(7)), Err(Errno::EALREADY));
        assert_eq!(s.send(c, b"x"), Err(Errno::EAGAIN), "still connecting");
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        let (a, peer) = s.accept(l).unwrap();
        assert_eq!(peer.addr, ME);
        assert_eq!(
            Some(peer.port),
            s.local_endpoint(c).unwrap().map(|e| e.port)
        );
        assert!(EPHEMERAL.contains(&peer.port));
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().writable);
        assert_eq!(s.send(c, b"hello").unwrap(), 5);
        run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().readable);
        assert_eq!(s.pending_bytes(a).unwrap(), 5);
        let mut buf = [0u8; 16];
        assert_eq!(s.recv(a, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(s.recv(a, &mut buf), Err(Errno::EAGAIN));
        // Closing the client sends FIN: the server reads end of stream, with RDHUP.
        s.close(c).unwrap();
        assert_eq!(s.send(c, b"x"), Err(Errno::EBADF));
        run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().rdhup);
        assert_eq!(s.recv(a, &mut buf), Ok(0));
        s.close(a).unwrap();
        // Both ends finish the FIN exchange and their sockets go away.
        run_until(&mut s, &mut t, |s| s.sock.orphans.is_empty());
        assert_eq!(s.socket_count(), 1);
    }

    /// Clients connecting to `port` at once.
    fn connect_all(s: &mut Stack<Loopback>, port: u16, n: usize) -> Vec<SockId> {
        (0..n)
            .map(|_| {
                let c = s.socket(Proto::Tcp);
                s.connect(c, ep(port)).unwrap();
                c
            })
            .collect()
    }

    fn connected(s: &mut Stack<Loopback>, clients: &[SockId]) -> usize {
        clients
            .iter()
            .filter(|&&c| s.readiness(c).unwrap().writable && s.take_error(c).unwrap().is_none())
            .count()
    }

    #[test]
    fn backlog_is_honoured_and_a_syn_beyond_it_waits_for_accept() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp);
        s.bind(l, listen_ep(80)).unwrap();
        s.listen(l, 2).unwrap();
        let clients = connect_all(&mut s, 80, 3);
        // Two connections complete; the third's SYN is dropped, not refused: it keeps
        // retransmitting (smoltcp's first retransmission is 1 s later).
        run_until(&mut s, &mut t, |s| connected(s, &clients) == 2);
        let third = *clients
            .iter()
            .find(|&&c| s.readiness(c).unwrap() == Readiness::default())
            .expect("one client still connecting");
        for _ in 0..300 {
            t += 10;
            s.poll(Instant::from_millis(t));
        }
        assert_eq!(s.readiness(third).unwrap(), Readiness::default());
        assert_eq!(s.take_error(third).unwrap(), None, "not refused");
        // accept makes room in the backlog: the retransmitted SYN gets in.
        assert!(s.accept(l).is_ok());
        run_until(&mut s, &mut t, |s| connected(s, &clients) == 3);
        let mut accepted = 1;
        run_until(&mut s, &mut t, |s| {
            if s.accept(l).is_ok() {
                accepted += 1;
            }
            accepted == 3
        });
        assert_eq!(s.accept(l), Err(Errno::EAGAIN));
        // The listener armed again: a new client gets in.
        let c = s.socket(Proto::Tcp);
        s.connect(c, ep(80)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        assert!(s.accept(l).is_ok());
    }

    #[test]
    fn a_burst_of_connects_waits_in_the_backlog_without_accept() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp);
        s.bind(l, listen_ep(7)).unwrap();
        s.listen(l, 512).unwrap();
        // 300 SYNs reach the interface in one poll, before any accept.
        let clients = connect_all(&mut s, 7, 300);
        run_until(&mut s, &mut t, |s| connected(s, &clients) == 300);
        // The clients' ACKs reach the listener in the next poll.
        t += 10;
        s.poll(Instant::from_millis(t));
        let mut accepted = 0;
        while s.accept(l).is_ok() {
            accepted += 1;
        }
        assert_eq!(accepted, 300);
    }

    #[test]
    fn without_heap_room_syns_wait_instead_of_being_refused() {
        let mut s = stack();
        let mut t = 0;
        s.set_room_check(|_| false);
        let l = s.socket(Proto::Tcp);
        s.listen(l, 8).unwrap();
        let port = s.local_endpoint(l).unwrap().unwrap().port;
        let clients = connect_all(&mut s, port, 1);
        for _ in 0..200 {
            t += 10;
            s.poll(Instant::from_millis(t));
        }
        assert_eq!(s.take_error(clients[0]).unwrap(), None, "not refused");
        assert_eq!(connected(&mut s, &clients), 0);
        s.set_room_check(|_| true);
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        assert!(s.accept(l).is_ok());
        assert_eq!(connected(&mut s, &clients), 1);
    }

    #[test]
    fn connect_to_a_closed_port_is_refused() {
        let mut s = stack();
        let mut t = 0;
        let c = s.socket(Proto::Tcp);
        s.connect(c, ep(9)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        let r = s.readiness(c).unwrap();
        assert!(r.readable && r.writable);
        assert_eq!(s.send(c, b"x"), Err(Errno::ECONNREFUSED));
        assert_eq!(s.take_error(c).unwrap(), None, "the error is reported once");
    }

    #[test]
    fn bind_errors() {
        let mut s = stack();
        let a = s.socket(Proto::Tcp);
        let b = s.socket(Proto::Tcp);
        s.bind(a, listen_ep(8080)).unwrap();
        assert_eq!(s.bind(b, listen_ep(8080)), Err(Errno::EADDRINUSE));
        assert_eq!(
            s.bind(
                b,
                IpListenEndpoint {
                    addr: Some(ME),
                    port: 8080
                }
            ),
            Err(Errno::EADDRINUSE)
        );
        let other = IpAddress::Ipv4(Ipv4Address::new(10, 77, 0, 9));
        assert_eq!(
            s.bind(
                b,
                IpListenEndpoint {
                    addr: Some(other),
                    port: 1
                }
            ),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert_eq!(
            s.bind(a, listen_ep(9000)),
            Err(Errno::EINVAL),
            "bound already"
        );
        // Same port, other protocol: fine.
        let u = s.socket(Proto::Udp);
        s.bind(u, listen_ep(8080)).unwrap();
        // Port 0 picks an ephemeral port.
        let e = s.bind(b, listen_ep(0)).unwrap();
        assert!(EPHEMERAL.contains(&e.port));
        assert_eq!(s.close(SockId(99)), Err(Errno::EBADF));
        assert_eq!(s.listen(u, 1), Err(Errno::EOPNOTSUPP));
        assert_eq!(s.peer_endpoint(a), Err(Errno::ENOTCONN));
    }

    #[test]
    fn udp_datagrams_round_trip_over_ipv4_and_ipv6() {
        let mut s = stack();
        let mut t = 0;
        let server = s.socket(Proto::Udp);
        s.bind(server, listen_ep(53)).unwrap();
        let client = s.socket(Proto::Udp);
        let six = IpEndpoint::new("fd77::2".parse().unwrap(), 53);
        for dest in [ep(53), six] {
            assert_eq!(s.send_to(client, b"query", dest).unwrap(), 5);
            run_until(&mut s, &mut t, |s| s.readiness(server).unwrap().readable);
            let mut buf = [0u8; 3];
            let (n, from) = s.recv_from(server, &mut buf).unwrap();
            assert_eq!((n, &buf[..]), (3, &b"que"[..]), "cut to the buffer");
            assert_eq!(from.addr, dest.addr);
            assert_eq!(s.recv_from(server, &mut buf), Err(Errno::EAGAIN));
        }
        let big = vec![0u8; UDP_BUFFER + 1];
        assert_eq!(s.send_to(client, &big, ep(53)), Err(Errno::EMSGSIZE));
        assert!(
            s.local_endpoint(client).unwrap().is_some(),
            "bound on first send"
        );
    }

    #[test]
    fn shutdown_write_sends_fin_but_keeps_reading() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp);
        s.listen(l, 1).unwrap();
        let port = s.local_endpoint(l).unwrap().unwrap().port;
        let c = s.socket(Proto::Tcp);
        s.connect(c, ep(port)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        let (a, _) = s.accept(l).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().writable);
        s.shutdown_write(c).unwrap();
        assert_eq!(s.send(c, b"late"), Err(Errno::EPIPE));
        run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().rdhup);
        assert_eq!(s.send(a, b"reply").unwrap(), 5);
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().readable);
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(c, &mut buf).unwrap(), 5);
    }
}
