//! AF_UNIX sockets: stream, datagram and seqpacket, with Linux's semantics.
//!
//! Every socket lives in one [`Table`], named by a [`SockId`] (never reused); the syscall
//! layer's descriptor holds the id and closes it when the last descriptor goes. Sockets are
//! connected by ids, so no socket keeps another alive: a closed socket's peer finds it gone.
//! Names: an abstract name (leading NUL) is the table's own; a path name is a socket inode
//! of the VFS that the syscall layer creates and resolves — the table only maps the inode
//! to the socket bound to it (and hands the inode back when the socket closes, for the VFS
//! reference it holds). Descriptors passed with `SCM_RIGHTS` travel as values of type `R`
//! (the kernel's `Arc<OpenFile>`) inside the messages; whatever the table drops (a closed
//! socket's unread messages, rights that did not fit) comes back to the caller in
//! [`Freed`], to be dropped outside the table's lock.
//!
//! What follows Linux (net/unix/af_unix.c):
//! - a stream write is charged to the *sender's* send buffer until read (`SO_SNDBUF`,
//!   default 212992): with it full, writes wait; it is writable (EPOLLOUT) again at a
//!   quarter; datagrams over `SO_SNDBUF - 32` are `EMSGSIZE`; a datagram socket not
//!   connected back to its sender holds at most 11 queued datagrams (`max_dgram_qlen` 10);
//! - connect is immediate: the server end waits in the listener's queue (up to backlog + 1)
//!   and can be written to before `accept`;
//! - a stream read joins successive writes but stops after one that carried descriptors, and
//!   (with `SO_PASSCRED`) where the credentials change; seqpacket and datagram reads take
//!   one record, cut to the buffer (`MSG_TRUNC`);
//! - closing one end shuts the other both ways (EOF, then `EPIPE` for writes; `ECONNRESET`
//!   first if unread data was thrown away); closing a listener resets its pending clients;
//!   a datagram sender finds its closed peer once (`ECONNREFUSED`) and is disconnected;
//! - readiness is `unix_poll` / `unix_dgram_poll`'s.
//!
//! Not modelled: Linux's garbage collector for sockets passed over themselves (a socket
//! whose own descriptor sits unread in its queue is never closed), out-of-band data.
//! Pure: unit-tested on the host.
#![forbid(unsafe_code)]

pub mod addr;
pub mod cmsg;
#[cfg(test)]
mod tests;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

pub use addr::Addr;

use super::Events;
use crate::errno::{self, Errno};

/// A socket of the table.
pub type SockId = u64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Stream,
    Dgram,
    SeqPacket,
}

impl Kind {
    fn connection_based(self) -> bool {
        self != Kind::Dgram
    }
}

/// `struct ucred`: who sent a message, or who is at the other end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Cred {
    /// What SO_PEERCRED reports without a peer: no pid, the overflow ids.
    pub const NOBODY: Cred = Cred {
        pid: 0,
        uid: 65534,
        gid: 65534,
    };
}

/// Linux's `net.core.wmem_default` / `rmem_default`: the default buffer sizes.
pub const DEFAULT_BUF: usize = 212_992;
/// Linux's default `net.core.wmem_max` / `rmem_max`: the most SO_SNDBUF/SO_RCVBUF take.
pub const MAX_BUF: usize = 212_992;
/// `SOCK_MIN_SNDBUF` and `SOCK_MIN_RCVBUF` (Linux 6.x on x86-64).
pub const MIN_SNDBUF: usize = 4608;
pub const MIN_RCVBUF: usize = 2304;
/// `net.unix.max_dgram_qlen`: datagrams a socket holds beyond this are refused to senders it
/// is not connected to.
pub const MAX_DGRAM_QLEN: usize = 10;
/// `somaxconn`: the largest listen backlog.
pub const MAX_BACKLOG: usize = 4096;

/// One write: its bytes (a stream write may be read in parts), the descriptors it carries,
/// who sent it and who is charged for it.
#[derive(Debug)]
struct Msg<R> {
    data: Vec<u8>,
    /// Bytes already read (stream only).
    read: usize,
    rights: Vec<R>,
    cred: Cred,
    /// The sender's address (what recvfrom reports).
    from: Addr,
    /// The socket whose send buffer holds it.
    sender: SockId,
}

impl<R> Msg<R> {
    fn unread(&self) -> usize {
        self.data.len() - self.read
    }
}

#[derive(Debug)]
enum State {
    /// Not connected (a datagram socket may still have a default peer).
    Idle,
    Listening {
        backlog: usize,
        pending: VecDeque<SockId>,
    },
    /// A stream or seqpacket connection (also a server end not accepted yet).
    Connected,
}

#[derive(Debug)]
struct Sock<R> {
    kind: Kind,
    state: State,
    name: Addr,
    /// The inode of a path name (held by the socket).
    ino: Option<u64>,
    peer: Option<SockId>,
    /// The peer's address when connected (getpeername after the peer has gone).
    peer_name: Addr,
    peer_cred: Option<Cred>,
    queue: VecDeque<Msg<R>>,
    /// Bytes this socket sent that wait unread in some queue.
    wmem: usize,
    sndbuf: usize,
    rcvbuf: usize,
    /// `RCV_SHUTDOWN` / `SEND_SHUTDOWN`.
    shut_rd: bool,
    shut_wr: bool,
    /// A pending error (`sk_err`), reported once.
    error: Option<Errno>,
    passcred: bool,
    /// The listener a server end waits in, until accepted.
    listener: Option<SockId>,
    /// Moves whenever readiness may have changed (edge-triggered epoll).
    activity: u64,
}

impl<R> Sock<R> {
    fn new(kind: Kind) -> Sock<R> {
        Sock {
            kind,
            state: State::Idle,
            name: Addr::Unnamed,
            ino: None,
            peer: None,
            peer_name: Addr::Unnamed,
            peer_cred: None,
            queue: VecDeque::new(),
            wmem: 0,
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            shut_rd: false,
            shut_wr: false,
            error: None,
            passcred: false,
            listener: None,
            activity: 0,
        }
    }

    fn connected(&self) -> bool {
        matches!(self.state, State::Connected)
    }

    fn listening(&self) -> bool {
        matches!(self.state, State::Listening { .. })
    }

    /// `unix_writable`: room below a quarter of the send buffer.
    fn writable(&self) -> bool {
        !self.listening() && self.wmem.saturating_mul(4) <= self.sndbuf
    }
}

/// What the table let go of: descriptors that travelled in dropped messages, and the inodes
/// of path names whose sockets closed. Drop and release them outside the table's lock.
#[derive(Debug)]
pub struct Freed<R> {
    pub rights: Vec<R>,
    pub inos: Vec<u64>,
}

impl<R> Default for Freed<R> {
    fn default() -> Freed<R> {
        Freed {
            rights: Vec::new(),
            inos: Vec::new(),
        }
    }
}

/// A send: the bytes, the descriptors (taken only when the message is queued: after an
/// error they are still the caller's), the sender's credentials.
#[derive(Debug)]
pub struct Send<'a, R> {
    pub data: &'a [u8],
    pub rights: &'a mut Vec<R>,
    pub cred: Cred,
}

/// What a receive got.
#[derive(Debug, PartialEq, Eq)]
pub struct Received<R> {
    /// A message was read (or peeked): false at end of stream.
    pub message: bool,
    /// Bytes copied into the buffer.
    pub len: usize,
    /// Datagram and seqpacket: the record's full length (more than `len` when cut).
    pub full_len: usize,
    pub rights: Vec<R>,
    pub cred: Cred,
    pub from: Addr,
}

/// How a receive behaves (`MSG_PEEK`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecvFlags {
    pub peek: bool,
}

/// Every AF_UNIX socket, and the abstract and path names bound.
#[derive(Debug)]
pub struct Table<R> {
    socks: BTreeMap<SockId, Sock<R>>,
    next_id: SockId,
    abstract_names: BTreeMap<Vec<u8>, SockId>,
    path_names: BTreeMap<u64, SockId>,
    autobind_next: u32,
}

impl<R> Default for Table<R> {
    fn default() -> Table<R> {
        Table::new()
    }
}

impl<R> Table<R> {
    pub const fn new() -> Table<R> {
        Table {
            socks: BTreeMap::new(),
            next_id: 1,
            abstract_names: BTreeMap::new(),
            path_names: BTreeMap::new(),
            autobind_next: 0,
        }
    }

    fn sock(&self, id: SockId) -> Result<&Sock<R>, Errno> {
        self.socks.get(&id).ok_or(errno::EBADF)
    }

    fn sock_mut(&mut self, id: SockId) -> Result<&mut Sock<R>, Errno> {
        self.socks.get_mut(&id).ok_or(errno::EBADF)
    }

    /// A new, unbound, unconnected socket.
    pub fn socket(&mut self, kind: Kind) -> SockId {
        let id = self.next_id;
        self.next_id += 1;
        self.socks.insert(id, Sock::new(kind));
        id
    }

    /// socketpair: two sockets connected to each other, each with `cred` as its peer's.
    pub fn pair(&mut self, kind: Kind, cred: Cred) -> (SockId, SockId) {
        let (a, b) = (self.socket(kind), self.socket(kind));
        for (me, other) in [(a, b), (b, a)] {
            let s = self.socks.get_mut(&me).expect("just made");
            s.peer = Some(other);
            s.peer_cred = Some(cred);
            if kind.connection_based() {
                s.state = State::Connected;
            }
        }
        (a, b)
    }

    pub fn kind(&self, id: SockId) -> Result<Kind, Errno> {
        self.sock(id).map(|s| s.kind)
    }

    pub fn activity(&self, id: SockId) -> u64 {
        self.socks.get(&id).map_or(0, |s| s.activity)
    }

    // ---- names ----

    /// Whether `id` may still take a name (`EINVAL` once it has one).
    pub fn check_unbound(&self, id: SockId) -> Result<(), Errno> {
        match self.sock(id)?.name {
            Addr::Unnamed => Ok(()),
            _ => Err(errno::EINVAL),
        }
    }

    /// Binds `id` to the path `path`, whose socket inode `ino` the caller just made.
    pub fn bind_path(&mut self, id: SockId, path: Vec<u8>, ino: u64) -> Result<(), Errno> {
        self.check_unbound(id)?;
        let s = self.sock_mut(id)?;
        s.name = Addr::Path(path);
        s.ino = Some(ino);
        self.path_names.insert(ino, id);
        Ok(())
    }

    /// Binds `id` to an abstract name.
    pub fn bind_abstract(&mut self, id: SockId, name: Vec<u8>) -> Result<(), Errno> {
        self.check_unbound(id)?;
        if self.abstract_names.contains_key(&name) {
            return Err(errno::EADDRINUSE);
        }
        self.sock_mut(id)?.name = Addr::Abstract(name.clone());
        self.abstract_names.insert(name, id);
        Ok(())
    }

    /// Autobind: an unused abstract name of five hex digits, as Linux picks; a socket that
    /// has a name keeps it.
    pub fn autobind(&mut self, id: SockId) -> Result<(), Errno> {
        if self.sock(id)?.name != Addr::Unnamed {
            return Ok(());
        }
        for _ in 0..0x10_0000 {
            let n = self.autobind_next & 0xf_ffff;
            self.autobind_next = self.autobind_next.wrapping_add(1);
            let name = alloc::format!("{n:05x}").into_bytes();
            if !self.abstract_names.contains_key(&name) {
                return self.bind_abstract(id, name);
            }
        }
        Err(errno::ENOSPC)
    }

    /// The socket bound to the path whose inode is `ino`.
    pub fn find_path(&self, ino: u64) -> Option<SockId> {
        self.path_names.get(&ino).copied()
    }

    /// The socket bound to an abstract name.
    pub fn find_abstract(&self, name: &[u8]) -> Option<SockId> {
        self.abstract_names.get(name).copied()
    }

    /// getsockname.
    pub fn name(&self, id: SockId) -> Result<Addr, Errno> {
        self.sock(id).map(|s| s.name.clone())
    }

    /// getpeername: `ENOTCONN` without a peer.
    pub fn peer_name(&self, id: SockId) -> Result<Addr, Errno> {
        let s = self.sock(id)?;
        let peer = s.peer.ok_or(errno::ENOTCONN)?;
        if s.kind.connection_based() && !s.connected() {
            return Err(errno::ENOTCONN);
        }
        Ok(self
            .socks
            .get(&peer)
            .map_or_else(|| s.peer_name.clone(), |p| p.name.clone()))
    }

    /// SO_PEERCRED.
    pub fn peer_cred(&self, id: SockId) -> Result<Cred, Errno> {
        Ok(self.sock(id)?.peer_cred.unwrap_or(Cred::NOBODY))
    }

    // ---- connections ----

    /// listen: `EOPNOTSUPP` for datagram sockets, `EINVAL` unbound or connected. Linux lets a
    /// listener change its backlog.
    pub fn listen(&mut self, id: SockId, backlog: usize, cred: Cred) -> Result<(), Errno> {
        let s = self.sock_mut(id)?;
        if s.kind == Kind::Dgram {
            return Err(errno::EOPNOTSUPP);
        }
        if s.name == Addr::Unnamed {
            return Err(errno::EINVAL);
        }
        let backlog = backlog.min(MAX_BACKLOG);
        match &mut s.state {
            State::Listening { backlog: b, .. } => *b = backlog,
            State::Idle => {
                s.state = State::Listening {
                    backlog,
                    pending: VecDeque::new(),
                }
            }
            State::Connected => return Err(errno::EINVAL),
        }
        // What connecting clients will see as SO_PEERCRED.
        s.peer_cred = Some(cred);
        s.activity += 1;
        Ok(())
    }

    /// connect to the socket `target` (found by name by the caller). Stream and seqpacket:
    /// a new server end waits in `target`'s queue, connected to `id` at once (`EAGAIN` while
    /// the queue is full); datagram: `target` becomes the default destination.
    pub fn connect(&mut self, id: SockId, target: SockId, cred: Cred) -> Result<(), Errno> {
        let me = self.sock(id)?;
        let kind = me.kind;
        let other = self.socks.get(&target).ok_or(errno::ECONNREFUSED)?;
        if kind.connection_based() {
            match me.state {
                State::Connected => return Err(errno::EISCONN),
                State::Listening { .. } => return Err(errno::EINVAL),
                State::Idle => {}
            }
        }
        if other.kind != kind {
            return Err(errno::EPROTOTYPE);
        }
        if me.passcred {
            self.autobind(id)?;
        }
        let other = self.sock(target)?;
        if kind == Kind::Dgram {
            // unix_may_send: a socket connected elsewhere takes nothing from us.
            if other.peer.is_some_and(|p| p != id) && target != id {
                return Err(errno::EPERM);
            }
            let other_name = other.name.clone();
            let s = self.sock_mut(id)?;
            s.peer = Some(target);
            s.peer_name = other_name;
            s.activity += 1;
            return Ok(());
        }
        let (backlog, queued, listener_cred) = match &other.state {
            State::Listening { backlog, pending } => (*backlog, pending.len(), other.peer_cred),
            _ => return Err(errno::ECONNREFUSED),
        };
        if other.shut_rd {
            return Err(errno::ECONNREFUSED);
        }
        if queued > backlog {
            return Err(errno::EAGAIN);
        }
        let listener_name = other.name.clone();
        let client_name = self.sock(id)?.name.clone();
        // The server end: the listener's name, connected to the client.
        let server = self.socket(kind);
        {
            let s = self.socks.get_mut(&server).expect("just made");
            s.state = State::Connected;
            s.name = listener_name.clone();
            s.peer = Some(id);
            s.peer_name = client_name;
            s.peer_cred = Some(cred);
            s.listener = Some(target);
        }
        let c = self.sock_mut(id)?;
        c.state = State::Connected;
        c.peer = Some(server);
        c.peer_name = listener_name;
        c.peer_cred = listener_cred;
        c.activity += 1;
        if let Some(Sock {
            state: State::Listening { pending, .. },
            activity,
            ..
        }) = self.socks.get_mut(&target)
        {
            pending.push_back(server);
            *activity += 1;
        }
        Ok(())
    }

    /// datagram connect(AF_UNSPEC): forget the default destination.
    pub fn disconnect(&mut self, id: SockId) -> Result<(), Errno> {
        let s = self.sock_mut(id)?;
        if s.kind == Kind::Dgram {
            s.peer = None;
            s.peer_name = Addr::Unnamed;
            s.activity += 1;
        }
        Ok(())
    }

    /// accept: the next server end (`EINVAL` not listening, `EAGAIN` none yet).
    pub fn accept(&mut self, id: SockId) -> Result<SockId, Errno> {
        let s = self.sock_mut(id)?;
        let State::Listening { pending, .. } = &mut s.state else {
            return Err(errno::EINVAL);
        };
        let server = pending.pop_front().ok_or(errno::EAGAIN)?;
        s.activity += 1;
        if let Some(srv) = self.socks.get_mut(&server) {
            srv.listener = None;
        }
        Ok(server)
    }

    /// Puts an accepted server end back at the head of the queue (its descriptor could not
    /// be installed: Linux keeps the connection queued then).
    pub fn unaccept(&mut self, id: SockId, server: SockId) {
        if let Some(Sock {
            state: State::Listening { pending, .. },
            activity,
            ..
        }) = self.socks.get_mut(&id)
        {
            pending.push_front(server);
            *activity += 1;
            if let Some(srv) = self.socks.get_mut(&server) {
                srv.listener = Some(id);
            }
        }
    }

    pub fn is_listening(&self, id: SockId) -> bool {
        self.socks.get(&id).is_some_and(|s| s.listening())
    }

    /// A stream or seqpacket connection (sendto with an address: `EISCONN` then).
    pub fn is_connected(&self, id: SockId) -> bool {
        self.socks.get(&id).is_some_and(|s| s.connected())
    }

    // ---- sending ----

    /// What Linux checks of a datagram send before it looks up a destination `named` in
    /// the call: a default peer (`ENOTCONN`), SO_PASSCRED's autobind, the size (`EMSGSIZE`),
    /// the sender's own shutdown (`EPIPE`).
    pub fn check_datagram_send(
        &mut self,
        id: SockId,
        len: usize,
        named: bool,
    ) -> Result<(), Errno> {
        let s = self.sock(id)?;
        if !named && s.peer.is_none() {
            return Err(errno::ENOTCONN);
        }
        if s.passcred {
            self.autobind(id)?;
        }
        let s = self.sock(id)?;
        if len > s.sndbuf.saturating_sub(32) {
            return Err(errno::EMSGSIZE);
        }
        if s.shut_wr {
            return Err(errno::EPIPE);
        }
        Ok(())
    }

    /// Sends on `id`: to `to` (a datagram socket given a destination; the caller resolved
    /// it, and rejects names on stream sockets itself), else to the peer. Returns the bytes
    /// taken — a stream send may take part; records go whole — or `EAGAIN` when the send
    /// buffer (or the receiver's datagram queue) is full. A stream send of no bytes queues
    /// nothing, descriptors included (they stay in `msg.rights`), as on Linux.
    pub fn send(
        &mut self,
        id: SockId,
        to: Option<SockId>,
        msg: Send<'_, R>,
    ) -> Result<usize, Errno> {
        let s = self.sock(id)?;
        match s.kind {
            Kind::Stream => self.send_stream(id, msg),
            Kind::SeqPacket => {
                if let Some(e) = s.error {
                    self.sock_mut(id)?.error = None;
                    return Err(e);
                }
                if !s.connected() {
                    return Err(errno::ENOTCONN);
                }
                let peer = s.peer.ok_or(errno::ENOTCONN)?;
                self.send_record(id, peer, msg)
            }
            Kind::Dgram => {
                self.check_datagram_send(id, msg.data.len(), to.is_some())?;
                let dest = match to {
                    Some(dest) => dest,
                    None => {
                        let peer = self.sock(id)?.peer.ok_or(errno::ENOTCONN)?;
                        if !self.socks.contains_key(&peer) {
                            // The peer closed: report it once, and forget it.
                            let me = self.sock_mut(id)?;
                            me.peer = None;
                            me.peer_name = Addr::Unnamed;
                            return Err(errno::ECONNREFUSED);
                        }
                        peer
                    }
                };
                let other = self.socks.get(&dest).ok_or(errno::ECONNREFUSED)?;
                if other.kind != Kind::Dgram {
                    return Err(errno::EPROTOTYPE);
                }
                if other.peer.is_some_and(|p| p != id) && dest != id {
                    return Err(errno::EPERM);
                }
                self.send_record(id, dest, msg)
            }
        }
    }

    fn send_stream(&mut self, id: SockId, msg: Send<'_, R>) -> Result<usize, Errno> {
        let s = self.sock(id)?;
        let peer = s.peer.ok_or(errno::ENOTCONN)?;
        if s.shut_wr {
            return Err(errno::EPIPE);
        }
        let other = self.socks.get(&peer).ok_or(errno::EPIPE)?;
        if other.shut_rd {
            return Err(errno::EPIPE);
        }
        if msg.data.is_empty() {
            return Ok(0);
        }
        if s.wmem >= s.sndbuf {
            return Err(errno::EAGAIN);
        }
        let n = msg.data.len().min(s.sndbuf - s.wmem);
        let from = s.name.clone();
        let mut data = Vec::new();
        data.try_reserve_exact(n).map_err(|_| errno::ENOBUFS)?;
        data.extend_from_slice(&msg.data[..n]);
        self.enqueue(
            id,
            peer,
            Msg {
                data,
                read: 0,
                rights: core::mem::take(msg.rights),
                cred: msg.cred,
                from,
                sender: id,
            },
        );
        Ok(n)
    }

    /// A datagram or seqpacket record from `id` to `dest`, whole or not at all.
    fn send_record(&mut self, id: SockId, dest: SockId, msg: Send<'_, R>) -> Result<usize, Errno> {
        let s = self.sock(id)?;
        let kind = s.kind;
        if msg.data.len() > s.sndbuf.saturating_sub(32) {
            return Err(errno::EMSGSIZE);
        }
        if s.shut_wr {
            return Err(errno::EPIPE);
        }
        if s.wmem >= s.sndbuf {
            return Err(errno::EAGAIN);
        }
        let other = match self.socks.get(&dest) {
            Some(o) => o,
            // A seqpacket peer that has gone.
            None => return Err(errno::EPIPE),
        };
        if other.shut_rd {
            return Err(errno::EPIPE);
        }
        if dest != id && other.peer != Some(id) && other.queue.len() > MAX_DGRAM_QLEN {
            return Err(errno::EAGAIN);
        }
        debug_assert!(kind != Kind::Stream);
        let from = s.name.clone();
        let mut data = Vec::new();
        data.try_reserve_exact(msg.data.len())
            .map_err(|_| errno::ENOBUFS)?;
        data.extend_from_slice(msg.data);
        let n = data.len();
        self.enqueue(
            id,
            dest,
            Msg {
                data,
                read: 0,
                rights: core::mem::take(msg.rights),
                cred: msg.cred,
                from,
                sender: id,
            },
        );
        Ok(n)
    }

    fn enqueue(&mut self, from: SockId, to: SockId, msg: Msg<R>) {
        let n = msg.data.len();
        if let Some(s) = self.socks.get_mut(&from) {
            s.wmem += n;
            s.activity += 1;
        }
        if let Some(s) = self.socks.get_mut(&to) {
            s.queue.push_back(msg);
            s.activity += 1;
        }
    }

    /// `n` bytes of `sender`'s writes have been read (or thrown away).
    fn uncharge(&mut self, sender: SockId, n: usize) {
        if let Some(s) = self.socks.get_mut(&sender) {
            s.wmem = s.wmem.saturating_sub(n);
            s.activity += 1;
        }
    }

    // ---- receiving ----

    /// Receives into `buf`. `EAGAIN`: nothing yet. End of stream (or a shut-down reader):
    /// `len` 0. `R: Clone` so that `MSG_PEEK` can hand out the rights and keep them queued,
    /// as Linux does.
    pub fn recv(
        &mut self,
        id: SockId,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<Received<R>, Errno>
    where
        R: Clone,
    {
        let s = self.sock(id)?;
        match s.kind {
            Kind::Stream if !s.connected() => return Err(errno::EINVAL),
            Kind::SeqPacket if !s.connected() => return Err(errno::ENOTCONN),
            _ => {}
        }
        let nothing = Received {
            message: false,
            len: 0,
            full_len: 0,
            rights: Vec::new(),
            cred: Cred::NOBODY,
            from: Addr::Unnamed,
        };
        if s.queue.is_empty() {
            if let Some(e) = s.error {
                self.sock_mut(id)?.error = None;
                return Err(e);
            }
            if s.shut_rd {
                return Ok(nothing);
            }
            return Err(errno::EAGAIN);
        }
        if s.kind == Kind::Stream {
            Ok(self.recv_stream(id, buf, flags))
        } else {
            Ok(self.recv_record(id, buf, flags))
        }
    }

    fn recv_stream(&mut self, id: SockId, buf: &mut [u8], flags: RecvFlags) -> Received<R>
    where
        R: Clone,
    {
        let s = self.socks.get_mut(&id).expect("checked");
        let passcred = s.passcred;
        let first = s.queue.front().expect("not empty");
        let (cred, from) = (first.cred, first.from.clone());
        let mut got = Received {
            message: true,
            len: 0,
            full_len: 0,
            rights: Vec::new(),
            cred,
            from,
        };
        let mut charges: Vec<(SockId, usize)> = Vec::new();
        let mut index = 0;
        while got.len < buf.len() {
            let Some(m) = s.queue.get_mut(index) else {
                break;
            };
            // Writes of other credentials are never joined (only checked with SO_PASSCRED).
            if passcred && m.cred != cred {
                break;
            }
            let n = m.unread().min(buf.len() - got.len);
            buf[got.len..got.len + n].copy_from_slice(&m.data[m.read..m.read + n]);
            got.len += n;
            let carried = !m.rights.is_empty();
            if flags.peek {
                got.rights.extend(m.rights.iter().cloned());
                index += 1;
            } else {
                m.read += n;
                charges.push((m.sender, n));
                got.rights.append(&mut m.rights);
                if m.unread() == 0 {
                    s.queue.remove(index);
                } else {
                    // The buffer is full.
                    break;
                }
            }
            // A read never continues past a write that carried descriptors.
            if carried {
                break;
            }
        }
        got.full_len = got.len;
        s.activity += 1;
        for (sender, n) in charges {
            self.uncharge(sender, n);
        }
        got
    }

    fn recv_record(&mut self, id: SockId, buf: &mut [u8], flags: RecvFlags) -> Received<R>
    where
        R: Clone,
    {
        let s = self.socks.get_mut(&id).expect("checked");
        let m = s.queue.front().expect("not empty");
        let n = m.data.len().min(buf.len());
        buf[..n].copy_from_slice(&m.data[..n]);
        let mut got = Received {
            message: true,
            len: n,
            full_len: m.data.len(),
            rights: Vec::new(),
            cred: m.cred,
            from: m.from.clone(),
        };
        if flags.peek {
            got.rights = m.rights.clone();
            return got;
        }
        let m = s.queue.pop_front().expect("not empty");
        s.activity += 1;
        got.rights = m.rights;
        self.uncharge(m.sender, m.data.len());
        got
    }

    // ---- shutdown, close ----

    /// shutdown: `how` 0 (reading), 1 (writing) or 2 (both). A connection's peer sees the
    /// other half: a writer shut down is end of stream for its reader.
    pub fn shutdown(&mut self, id: SockId, how: u32) -> Result<(), Errno> {
        let (rd, wr) = match how {
            0 => (true, false),
            1 => (false, true),
            2 => (true, true),
            _ => return Err(errno::EINVAL),
        };
        let s = self.sock_mut(id)?;
        s.shut_rd |= rd;
        s.shut_wr |= wr;
        s.activity += 1;
        let (kind, peer) = (s.kind, s.peer);
        if kind.connection_based() {
            if let Some(p) = peer.and_then(|p| self.socks.get_mut(&p)) {
                p.shut_rd |= wr;
                p.shut_wr |= rd;
                p.activity += 1;
            }
        }
        Ok(())
    }

    /// The last descriptor of `id` closed: the socket goes, with everything queued for it.
    pub fn close(&mut self, id: SockId) -> Freed<R> {
        let mut freed = Freed::default();
        self.release(id, false, &mut freed);
        freed
    }

    fn release(&mut self, id: SockId, embryo: bool, freed: &mut Freed<R>) {
        let Some(mut s) = self.socks.remove(&id) else {
            return;
        };
        match &s.name {
            Addr::Abstract(n) if self.abstract_names.get(n) == Some(&id) => {
                self.abstract_names.remove(n);
            }
            _ => {}
        }
        if let Some(ino) = s.ino {
            if self.path_names.get(&ino) == Some(&id) {
                self.path_names.remove(&ino);
            }
            freed.inos.push(ino);
        }
        if let Some(l) = s.listener {
            // A server end closed before it was accepted leaves its listener's queue.
            if let Some(Sock {
                state: State::Listening { pending, .. },
                ..
            }) = self.socks.get_mut(&l)
            {
                pending.retain(|&p| p != id);
            }
        }
        if let State::Listening { pending, .. } = &mut s.state {
            // Connections never accepted are reset.
            for server in core::mem::take(pending) {
                self.release(server, true, freed);
            }
        }
        let unread = !s.queue.is_empty();
        if s.kind.connection_based() {
            if let Some(p) = s.peer.and_then(|p| self.socks.get_mut(&p)) {
                if p.peer == Some(id) {
                    p.shut_rd = true;
                    p.shut_wr = true;
                    if unread || embryo {
                        p.error = Some(errno::ECONNRESET);
                    }
                    p.activity += 1;
                }
            }
        }
        for m in s.queue.drain(..) {
            let (sender, n) = (m.sender, m.unread());
            freed.rights.extend(m.rights);
            if sender != id {
                if let Some(snd) = self.socks.get_mut(&sender) {
                    snd.wmem = snd.wmem.saturating_sub(n);
                    snd.activity += 1;
                }
            }
        }
    }

    // ---- options and state ----

    /// poll/epoll readiness, as `unix_poll` (stream) and `unix_dgram_poll` (datagram and
    /// seqpacket) compute it.
    pub fn readiness(&self, id: SockId) -> Events {
        let Some(s) = self.socks.get(&id) else {
            return Events::ERR | Events::HUP;
        };
        let mut e = Events::NONE;
        if s.error.is_some() {
            e = e | Events::ERR;
        }
        if s.shut_rd {
            e = e | Events::RDHUP | Events::IN;
        }
        if s.shut_rd && s.shut_wr {
            e = e | Events::HUP;
        }
        let pending = match &s.state {
            State::Listening { pending, .. } => !pending.is_empty(),
            _ => false,
        };
        if !s.queue.is_empty() || pending {
            e = e | Events::IN;
        }
        if s.kind.connection_based() && matches!(s.state, State::Idle) {
            e = e | Events::HUP;
        }
        let mut writable = s.writable();
        if writable && s.kind == Kind::Dgram {
            // A connected receiver that is not connected back and whose queue is full.
            if let Some(o) = s.peer.and_then(|p| self.socks.get(&p)) {
                if o.peer != Some(id) && o.queue.len() > MAX_DGRAM_QLEN {
                    writable = false;
                }
            }
        }
        if writable {
            e = e | Events::OUT;
        }
        e
    }

    /// FIONREAD (SIOCINQ): unread bytes of a connection, or the next datagram's length;
    /// `EINVAL` on a listener.
    pub fn pending_bytes(&self, id: SockId) -> Result<usize, Errno> {
        let s = self.sock(id)?;
        if s.listening() {
            return Err(errno::EINVAL);
        }
        Ok(match s.kind {
            Kind::Dgram => s.queue.front().map_or(0, |m| m.data.len()),
            _ => s.queue.iter().map(Msg::unread).sum(),
        })
    }

    /// SIOCOUTQ: bytes sent and not yet read.
    pub fn unread_sent(&self, id: SockId) -> Result<usize, Errno> {
        self.sock(id).map(|s| s.wmem)
    }

    /// SO_ERROR: the pending error, cleared.
    pub fn take_error(&mut self, id: SockId) -> Result<Option<Errno>, Errno> {
        Ok(self.sock_mut(id)?.error.take())
    }

    pub fn set_passcred(&mut self, id: SockId, on: bool) -> Result<(), Errno> {
        self.sock_mut(id)?.passcred = on;
        Ok(())
    }

    pub fn passcred(&self, id: SockId) -> Result<bool, Errno> {
        self.sock(id).map(|s| s.passcred)
    }

    /// SO_SNDBUF: Linux's clamp to `wmem_max`, doubled, at least `SOCK_MIN_SNDBUF`.
    pub fn set_sndbuf(&mut self, id: SockId, val: i32) -> Result<(), Errno> {
        let v = (val as u32 as usize).min(MAX_BUF);
        let s = self.sock_mut(id)?;
        s.sndbuf = (v * 2).max(MIN_SNDBUF);
        s.activity += 1;
        Ok(())
    }

    /// SO_RCVBUF: as SO_SNDBUF, with `SOCK_MIN_RCVBUF` (kept and reported; AF_UNIX queues are
    /// bounded by the sender's buffer, as on Linux).
    pub fn set_rcvbuf(&mut self, id: SockId, val: i32) -> Result<(), Errno> {
        let v = (val as u32 as usize).min(MAX_BUF);
        self.sock_mut(id)?.rcvbuf = (v * 2).max(MIN_RCVBUF);
        Ok(())
    }

    pub fn buffers(&self, id: SockId) -> Result<(usize, usize), Errno> {
        self.sock(id).map(|s| (s.sndbuf, s.rcvbuf))
    }

    /// How many sockets exist (tests, leak checks).
    pub fn len(&self) -> usize {
        self.socks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.socks.is_empty()
    }
}
