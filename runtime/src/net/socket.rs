//! The socket layer's internal API: TCP and UDP sockets by number, with the calls a BSD socket
//! layer needs (bind, listen with a real backlog, accept, connect, send, recv, shutdown,
//! close) and readiness for poll/select/epoll. Non-blocking throughout: a call that would wait
//! returns `EAGAIN` (or `EINPROGRESS` for connect), and the caller blocks on readiness.
//!
//! Sockets live on two interfaces ([`Net`]): eth0 (a NIC, when there is one) and `lo`
//! ([`super::loopback`], always). Each smoltcp socket sits in the set of one interface, chosen
//! by destination: 127.0.0.0/8 and ::1 go to `lo`, everything else to eth0. A wildcard
//! listener is armed on eth0 at `listen` and on `lo` on demand — every frame on `lo` comes
//! from a guest `connect`/`sendto`, which arms (TCP) or creates (UDP) the receiving socket's
//! `lo` side first — so `accept` on `0.0.0.0`/`::` sees both.
//!
//! smoltcp's TCP socket in listen state accepts one connection, so on eth0 a listener keeps
//! one idle listening socket armed beside its pending connections (in their handshake or
//! waiting for `accept`), re-armed before every frame the interface takes in, up to
//! `backlog` pending (DESIGN.md §8). With the backlog full, the interface drops new SYNs for
//! the listener ([`super::gate`]) instead of letting smoltcp refuse them, and the peer's
//! retransmission gets in once `accept` made room, as on Linux. A closed TCP socket stays in
//! smoltcp until its FIN exchange ends.
//!
//! Wildcard bindings have a [`Family`]: `AF_INET`'s `0.0.0.0` covers IPv4, `AF_INET6`'s `::`
//! IPv6 and, unless `IPV6_V6ONLY`, IPv4 too. Bind conflicts follow that, as on Linux.
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, udp, AnySocket};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv6Address};

use super::loopback::{routes_to_lo, Lo};
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
/// The receive side of a UDP socket on `lo` (see `new_udp`).
pub const LO_UDP_BUFFER: usize = 208 * 1024;
pub const LO_UDP_PACKETS: usize = 256;
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

/// The addresses a socket's wildcard binding covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// `AF_INET`: IPv4.
    V4,
    /// `AF_INET6` with `IPV6_V6ONLY`: IPv6 only.
    V6,
    /// `AF_INET6` without `IPV6_V6ONLY` (Linux's default): IPv6 and IPv4 (v4-mapped).
    Dual,
}

impl Family {
    fn admits(self, addr: &IpAddress) -> bool {
        matches!(
            (self, addr),
            (Family::Dual, _) | (Family::V4, IpAddress::Ipv4(_)) | (Family::V6, IpAddress::Ipv6(_))
        )
    }

    fn overlaps(self, other: Family) -> bool {
        !matches!(
            (self, other),
            (Family::V4, Family::V6) | (Family::V6, Family::V4)
        )
    }
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

/// The TCP options a socket gives each smoltcp socket it gets: at connect, and (a
/// listener's) to the connections it accepts, which inherit them as on Linux. Values in
/// Linux's units and with its defaults (`net.ipv4.tcp_keepalive_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TcpOptions {
    /// TCP_NODELAY: Nagle's algorithm off.
    pub nodelay: bool,
    /// TCP_CORK: partial segments held back until uncorked, at most 200 ms (smoltcp patch).
    pub cork: bool,
    /// TCP_QUICKACK as set (`None`: never set; the interface's default delayed ACK, 10 ms
    /// on eth0, none on `lo`). `Some(true)`: ACKs at once; `Some(false)`: delayed 10 ms.
    pub quickack: Option<bool>,
    /// SO_KEEPALIVE.
    pub keepalive: bool,
    /// TCP_KEEPIDLE, TCP_KEEPINTVL (seconds), TCP_KEEPCNT.
    pub keep_idle: u32,
    pub keep_intvl: u32,
    pub keep_cnt: u32,
    /// TCP_USER_TIMEOUT in ms (0: none).
    pub user_timeout_ms: u32,
    /// TCP_DEFER_ACCEPT in Linux's unit, SYN-ACK retransmissions (listeners only).
    pub defer_accept: u8,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            nodelay: false,
            cork: false,
            quickack: None,
            keepalive: false,
            keep_idle: 7200,
            keep_intvl: 75,
            keep_cnt: 9,
            user_timeout_ms: 0,
            defer_accept: 0,
        }
    }
}

/// Linux's TCP_TIMEOUT_INIT and TCP_RTO_MAX in seconds: TCP_DEFER_ACCEPT converts seconds to
/// SYN-ACK retransmissions with them.
const DEFER_TIMEOUT_INIT: u32 = 1;
const DEFER_RTO_MAX: u32 = 120;

/// TCP_DEFER_ACCEPT's seconds as retransmissions (Linux's `secs_to_retrans`).
pub fn defer_secs_to_retrans(seconds: i32) -> u8 {
    let mut res = 0u8;
    if seconds > 0 {
        let (mut timeout, mut period) = (DEFER_TIMEOUT_INIT, DEFER_TIMEOUT_INIT);
        res = 1;
        while seconds as u32 > period && res < 255 {
            res += 1;
            timeout = (timeout << 1).min(DEFER_RTO_MAX);
            period += timeout;
        }
    }
    res
}

/// Retransmissions back to seconds (Linux's `retrans_to_secs`): what getsockopt reports.
pub fn defer_retrans_to_secs(retrans: u8) -> u32 {
    let mut period = 0;
    if retrans > 0 {
        let mut timeout = DEFER_TIMEOUT_INIT;
        period = timeout;
        for _ in 1..retrans {
            timeout = (timeout << 1).min(DEFER_RTO_MAX);
            period += timeout;
        }
    }
    period
}

impl TcpOptions {
    /// Gives `s` (a socket on `via`) these options. Keep-alive is re-armed only when it
    /// changes: smoltcp sends a probe at once when it is (re)enabled.
    fn apply(&self, s: &mut tcp::Socket<'_>, via: Via) {
        s.set_nagle_enabled(!self.nodelay);
        s.set_cork(self.cork);
        let delay = match (self.quickack, via) {
            (Some(true), _) | (None, Via::Lo) => None,
            (Some(false), _) | (None, Via::Eth) => Some(Duration::from_millis(10)),
        };
        s.set_ack_delay(delay);
        let secs = |n: u32| Duration::from_secs(u64::from(n));
        let interval = self.keepalive.then(|| secs(self.keep_intvl));
        s.set_keep_alive_idle(self.keepalive.then(|| secs(self.keep_idle)));
        if s.keep_alive() != interval {
            s.set_keep_alive(interval);
        }
        // Data unacknowledged for TCP_USER_TIMEOUT ends the connection; keep-alive gives up
        // after TCP_KEEPCNT unanswered probes, or with TCP_USER_TIMEOUT set, at the first
        // probe interval past it (as Linux).
        s.set_timeout(
            (self.user_timeout_ms > 0)
                .then(|| Duration::from_millis(u64::from(self.user_timeout_ms))),
        );
        s.set_keep_alive_count(self.keepalive.then_some(self.keep_cnt));
    }

    /// What an accepted connection inherits: all but TCP_DEFER_ACCEPT (the listener's own)
    /// and TCP_QUICKACK (a new connection starts in Linux's quick-ACK mode).
    fn inherited(&self) -> TcpOptions {
        TcpOptions {
            defer_accept: 0,
            quickack: None,
            ..*self
        }
    }

    /// A client given the same options as a test's listener (TCP_DEFER_ACCEPT aside).
    #[cfg(test)]
    pub(super) fn inherited_by_test(&self) -> TcpOptions {
        self.inherited()
    }

    /// How long a connection without data waits to be accepted (TCP_DEFER_ACCEPT).
    fn defer(&self) -> Option<Duration> {
        (self.defer_accept > 0)
            .then(|| Duration::from_secs(u64::from(defer_retrans_to_secs(self.defer_accept))))
    }
}

/// The interface whose socket set holds a smoltcp socket.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    Eth,
    Lo,
}

fn via_of(addr: &IpAddress) -> Via {
    if routes_to_lo(addr) {
        Via::Lo
    } else {
        Via::Eth
    }
}

/// One smoltcp socket: its interface and its handle in that interface's set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Sock {
    via: Via,
    handle: SocketHandle,
}

#[derive(Debug)]
enum Entry {
    /// A TCP socket that is neither listening nor connected; maybe bound.
    TcpIdle { local: Option<IpListenEndpoint> },
    TcpListen {
        local: IpListenEndpoint,
        /// eth0's armed at listen and re-armed at accept, `lo`'s armed by each connect.
        armed: Vec<Sock>,
        backlog: usize,
    },
    TcpStream {
        sock: Sock,
        connecting: bool,
        /// shutdown(SHUT_WR) or close sent our FIN.
        fin_sent: bool,
        /// The connection was reset; reported once (ECONNRESET).
        reset: bool,
        /// Last seen in CLOSE-WAIT (the peer's FIN received, ours not sent): a reset then is
        /// reported as EPIPE, as Linux's `tcp_reset` does.
        close_wait: bool,
        /// connect() has not yet reported the outcome of the connection it started: the
        /// next connect() does (0 or the error), as Linux's does, later ones are EISCONN.
        unreported: bool,
        error: Option<Errno>,
    },
    /// A UDP socket: one smoltcp socket per interface it has used or can receive on, made
    /// on demand (bound to `local`), and datagrams handed over from a wildcard socket of the
    /// other family that caught them (`Net::sort_families`), read first.
    Udp {
        local: Option<IpListenEndpoint>,
        on: Vec<Sock>,
        handed: VecDeque<(Vec<u8>, IpEndpoint)>,
    },
}

#[derive(Debug)]
struct Slot {
    entry: Entry,
    family: Family,
    /// TCP sockets' options.
    tcp: TcpOptions,
    /// SO_REUSEPORT: may share its port with other sockets that set it before binding.
    reuse_port: bool,
    /// SO_REUSEADDR (accepted connections inherit their listener's): a binding does not
    /// collide with another that has it too, unless that one listens.
    reuse_addr: bool,
}

/// Every socket of the interfaces.
#[derive(Debug)]
struct Table {
    entries: Vec<Option<Slot>>,
    /// Closed TCP sockets finishing their FIN exchange.
    orphans: Vec<Sock>,
    next_port: u16,
    /// Whether `bytes` more may be taken from the heap for socket buffers now.
    room: fn(usize) -> bool,
}

impl Table {
    fn new(seed: u64) -> Table {
        let span = (EPHEMERAL.end() - EPHEMERAL.start()) as u64 + 1;
        Table {
            entries: Vec::new(),
            orphans: Vec::new(),
            next_port: EPHEMERAL.start() + (seed % span) as u16,
            room: |_| true,
        }
    }

    /// Arms every listener on eth0 whose backlog has room with an idle listening socket, and
    /// drops pending connections that were reset. Returns the listeners that have no idle
    /// socket (backlog full, or no memory for one): the SYNs the gate must drop.
    fn arm_listeners(&mut self, sockets: &mut SocketSet<'static>) -> Vec<IpListenEndpoint> {
        let mut full = Vec::new();
        for slot in self.entries.iter_mut().flatten() {
            let opts = slot.tcp;
            if let Entry::TcpListen {
                local,
                armed,
                backlog,
            } = &mut slot.entry
            {
                if local.addr.is_some_and(|a| routes_to_lo(&a)) {
                    continue;
                }
                if !arm(sockets, *local, armed, *backlog, self.room, &opts) {
                    full.push(*local);
                }
            }
        }
        full
    }

    fn slot(&self, id: SockId) -> Result<&Slot, Errno> {
        self.entries
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    fn get(&self, id: SockId) -> Result<&Entry, Errno> {
        self.slot(id).map(|s| &s.entry)
    }

    fn get_mut(&mut self, id: SockId) -> Result<&mut Entry, Errno> {
        self.entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .map(|s| &mut s.entry)
            .ok_or(Errno::EBADF)
    }

    fn insert(
        &mut self,
        entry: Entry,
        family: Family,
        tcp: TcpOptions,
        reuse_addr: bool,
    ) -> SockId {
        let slot = Some(Slot {
            entry,
            family,
            tcp,
            reuse_port: false,
            reuse_addr,
        });
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = slot;
            return SockId(i as u32);
        }
        self.entries.push(slot);
        SockId(self.entries.len() as u32 - 1)
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

/// A TCP socket on `lo`: ACKs go at once (smoltcp delays them 10 ms by default, which on
/// `lo`, where a whole window is one segment, would hold every window back 10 ms).
fn new_lo_tcp() -> tcp::Socket<'static> {
    let mut s = new_tcp();
    s.set_ack_delay(None);
    s
}

fn new_udp(via: Via) -> udp::Socket<'static> {
    // On `lo` a burst of sends is delivered within the sending calls, before the receiver
    // runs: its side holds as much as Linux's default receive buffer (212992 bytes).
    let (rx_packets, rx_bytes) = match via {
        Via::Eth => (UDP_PACKETS, UDP_BUFFER),
        Via::Lo => (LO_UDP_PACKETS, LO_UDP_BUFFER),
    };
    udp::Socket::new(
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; rx_packets],
            vec![0; rx_bytes],
        ),
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BUFFER],
        ),
    )
}

/// Keeps one idle listening socket on `local` in eth0's `sockets` beside the pending
/// connections in `armed`, as long as fewer than `backlog` are pending there and `room`
/// allows its buffers; drops eth0's pending connections that were reset. True when an idle
/// socket listens.
fn arm(
    sockets: &mut SocketSet<'static>,
    local: IpListenEndpoint,
    armed: &mut Vec<Sock>,
    backlog: usize,
    room: fn(usize) -> bool,
    opts: &TcpOptions,
) -> bool {
    armed.retain(|s| {
        let reset =
            s.via == Via::Eth && sockets.get::<tcp::Socket>(s.handle).state() == tcp::State::Closed;
        if reset {
            sockets.remove(s.handle);
        }
        !reset
    });
    let on_eth = |s: &&Sock| s.via == Via::Eth;
    if armed
        .iter()
        .filter(on_eth)
        .any(|s| sockets.get::<tcp::Socket>(s.handle).state() == tcp::State::Listen)
    {
        return true;
    }
    if armed.iter().filter(on_eth).count() >= backlog || !room(2 * TCP_BUFFER) {
        return false;
    }
    let mut s = new_tcp();
    opts.inherited().apply(&mut s, Via::Eth);
    if s.listen(local).is_err() {
        return false;
    }
    armed.push(Sock {
        via: Via::Eth,
        handle: sockets.add(s),
    });
    true
}

/// A listening socket's connection that finished its handshake (or already got a FIN).
fn acceptable(s: &tcp::Socket<'_>) -> bool {
    !matches!(
        s.state(),
        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
    )
}

/// A binding in the table, as bind conflicts see it.
#[derive(Clone, Copy, Debug)]
struct Bound {
    local: IpListenEndpoint,
    family: Family,
    reuse_addr: bool,
    reuse_port: bool,
    listening: bool,
}

/// Whether binding `b` (of family `fb`) collides with the existing binding `a` (`fa`): the
/// same port and some address in common.
fn conflicts(a: &IpListenEndpoint, fa: Family, b: &IpListenEndpoint, fb: Family) -> bool {
    a.port == b.port
        && match (a.addr, b.addr) {
            (Some(x), Some(y)) => x == y,
            (Some(x), None) => fb.admits(&x),
            (None, Some(y)) => fa.admits(&y),
            (None, None) => fa.overlaps(fb),
        }
}

/// `connect`/`sendto` to `0.0.0.0` or `::` reach the host itself, as on Linux.
fn unspecified_is_loopback(mut remote: IpEndpoint) -> IpEndpoint {
    remote.addr = match remote.addr {
        IpAddress::Ipv4(a) if a.is_unspecified() => IpAddress::Ipv4(Ipv4Address::LOCALHOST),
        IpAddress::Ipv6(a) if a.is_unspecified() => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
        a => a,
    };
    remote
}

/// The network: eth0 when the VM has a NIC, `lo` always, and the sockets over both.
pub struct Net<D: Device> {
    eth: Option<Stack<D>>,
    lo: Lo,
    sock: Table,
    /// The time of the last poll.
    now: Instant,
    /// Connections of TCP_DEFER_ACCEPT listeners established without data yet: since when
    /// (each waits for data, or its listener's defer time), and whether the end of that
    /// wait was announced (a poll reporting a change).
    held: Vec<(Sock, Instant, bool)>,
}

impl<D: Device> core::fmt::Debug for Net<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Net({:?}, {:?})", self.eth, self.lo)
    }
}

impl<D: Device> Net<D> {
    /// The network over `eth` (if any) and a fresh `lo`; `seed` randomizes ports and
    /// sequence numbers.
    pub fn new(eth: Option<Stack<D>>, now: Instant, seed: u64) -> Self {
        Net {
            eth,
            lo: Lo::new(now, seed.rotate_left(17)),
            sock: Table::new(seed),
            now,
            held: Vec::new(),
        }
    }

    /// eth0, when the VM has a NIC.
    pub fn eth(&mut self) -> Option<&mut Stack<D>> {
        self.eth.as_mut()
    }

    /// eth0, when the VM has a NIC (to read).
    pub fn eth_ref(&self) -> Option<&Stack<D>> {
        self.eth.as_ref()
    }

    /// `lo`'s addresses.
    pub fn lo_addresses(&self) -> &[smoltcp::wire::IpCidr] {
        self.lo.iface.ip_addrs()
    }

    /// Runs both interfaces: what `lo`'s sockets sent is delivered, eth0's device is
    /// serviced, finished orphans go. True when some socket's state may have changed.
    pub fn poll(&mut self, now: Instant) -> bool {
        self.now = now;
        let mut changed = false;
        loop {
            changed |= self.lo.poll(now);
            let Net { eth, sock, .. } = self;
            if let Some(eth) = eth.as_mut() {
                changed |= eth.poll(now, &mut |set| sock.arm_listeners(set));
            }
            // A closed socket may leave more work for this instant.
            if !self.reap_closed() {
                break;
            }
            changed = true;
        }
        if changed {
            self.sort_families();
            self.settle_all();
        }
        changed | self.track_deferred(now)
    }

    /// Notes when each connection of a TCP_DEFER_ACCEPT listener became established without
    /// data, and forgets the ones accepted or gone. True when one's wait just ended.
    fn track_deferred(&mut self, now: Instant) -> bool {
        let mut pending: Vec<(Sock, Duration)> = Vec::new();
        for slot in self.sock.entries.iter().flatten() {
            if let (Entry::TcpListen { armed, .. }, Some(defer)) = (&slot.entry, slot.tcp.defer()) {
                pending.extend(armed.iter().map(|&s| (s, defer)));
            }
        }
        if pending.is_empty() && self.held.is_empty() {
            return false;
        }
        self.held
            .retain(|(s, _, _)| pending.iter().any(|(p, _)| p == s));
        let mut expired = false;
        for (s, defer) in pending {
            if !acceptable(self.tcp(s)) {
                continue;
            }
            match self.held.iter_mut().find(|(h, _, _)| *h == s) {
                Some((_, since, announced)) => {
                    if !*announced && now >= *since + defer {
                        *announced = true;
                        expired = true;
                    }
                }
                None => self.held.push((s, now, false)),
            }
        }
        expired
    }

    /// Whether an established connection of a listener with `opts` may be accepted: any
    /// with TCP_DEFER_ACCEPT off; with it, once data (or a FIN) came, or its time is up.
    fn deferred_ready(&self, s: Sock, opts: &TcpOptions) -> bool {
        let Some(defer) = opts.defer() else {
            return true;
        };
        let t = self.tcp(s);
        if t.recv_queue() > 0 || !t.may_recv() {
            return true;
        }
        self.held
            .iter()
            .find(|(h, _, _)| *h == s)
            .is_some_and(|&(_, since, _)| self.now >= since + defer)
    }

    /// Hands what a wildcard socket of one family caught for the other family to the
    /// socket it is for (or drops it, resetting a connection, when there is none): smoltcp
    /// matches a wildcard endpoint whatever the family, so with `0.0.0.0` and an
    /// `IPV6_V6ONLY` `::` on one port either may catch the other's traffic.
    fn sort_families(&mut self) {
        for i in 0..self.sock.entries.len() {
            let id = SockId(i as u32);
            let Some(slot) = &self.sock.entries[i] else {
                continue;
            };
            let family = slot.family;
            if family == Family::Dual {
                continue;
            }
            match &slot.entry {
                Entry::Udp {
                    local: Some(local),
                    on,
                    ..
                } if local.addr.is_none() => {
                    let (port, on) = (local.port, on.clone());
                    for s in on {
                        self.hand_over_datagrams(id, family, port, s);
                    }
                }
                Entry::TcpListen { local, armed, .. } if local.addr.is_none() => {
                    let caught: Vec<Sock> = armed
                        .iter()
                        .copied()
                        .filter(|&s| {
                            let t = self.tcp(s);
                            acceptable(t)
                                && t.local_endpoint().is_some_and(|l| !family.admits(&l.addr))
                        })
                        .collect();
                    for s in caught {
                        self.hand_over_connection(id, s);
                    }
                }
                _ => {}
            }
        }
    }

    fn hand_over_datagrams(&mut self, id: SockId, family: Family, port: u16, s: Sock) {
        loop {
            let Ok((data, meta)) = self.udp_mut(s).peek() else {
                return;
            };
            if family.admits(&meta.endpoint.addr) {
                return;
            }
            let (data, from) = (data.to_vec(), meta.endpoint);
            let to = IpEndpoint::new(meta.local_address.unwrap_or(from.addr), port);
            let _ = self.udp_mut(s).recv();
            let Some(r) = self.receiver(Proto::Udp, &to).filter(|&r| r != id) else {
                continue;
            };
            if let Ok(Entry::Udp { handed, .. }) = self.sock.get_mut(r) {
                if handed.len() < LO_UDP_PACKETS {
                    handed.push_back((data, from));
                }
            }
        }
    }

    fn hand_over_connection(&mut self, id: SockId, s: Sock) {
        if let Ok(Entry::TcpListen { armed, .. }) = self.sock.get_mut(id) {
            armed.retain(|&a| a != s);
        }
        let to = self.tcp(s).local_endpoint();
        match to.and_then(|to| self.receiver(Proto::Tcp, &to)) {
            Some(r) if r != id => {
                if let Ok(Entry::TcpListen { armed, .. }) = self.sock.get_mut(r) {
                    armed.push(s);
                }
            }
            _ => {
                self.tcp_mut(s).abort();
                self.sock.orphans.push(s);
            }
        }
        let _ = self.rearm(id, None);
    }

    /// Settles every connection after a poll, so a handshake that completed is seen as
    /// such even if the connection is reset before the program looks (ECONNRESET, not
    /// ECONNREFUSED).
    fn settle_all(&mut self) {
        for i in 0..self.sock.entries.len() {
            let _ = self.settle(SockId(i as u32));
        }
    }

    /// Delivers what sockets queued on `lo` if anything is due now (a cheap check
    /// otherwise). True when some socket's state may have changed.
    pub fn deliver_lo(&mut self, now: Instant) -> bool {
        self.now = now;
        if self.lo.poll_delay(now) != Some(Duration::ZERO) || !self.lo.poll(now) {
            return false;
        }
        self.sort_families();
        self.settle_all();
        true
    }

    /// When `poll` must run next even if nothing arrives (`None`: only on input).
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        let lo = self.lo.poll_delay(now);
        let eth = self.eth.as_mut().and_then(|e| e.poll_delay(now));
        // A TCP_DEFER_ACCEPT connection becomes acceptable when its time is up.
        let held = &self.held;
        let deferred = self
            .sock
            .entries
            .iter()
            .flatten()
            .filter_map(|slot| match (&slot.entry, slot.tcp.defer()) {
                (Entry::TcpListen { armed, .. }, Some(defer)) => Some((armed, defer)),
                _ => None,
            })
            .flat_map(|(armed, defer)| {
                armed.iter().filter_map(move |s| {
                    held.iter()
                        .find(|(h, _, _)| h == s)
                        .map(|&(_, since, _)| since + defer)
                })
            })
            .filter(|&at| at > now)
            .map(|at| at - now)
            .min();
        [lo, eth, deferred].into_iter().flatten().min()
    }

    /// Drops orphaned TCP sockets whose connection has ended, and resets those that
    /// received data after the program closed them: nobody will read it, and a peer that
    /// keeps writing must learn so at once rather than fill a window nobody drains (Linux
    /// resets too, RFC 1122 4.2.2.13). True if any went.
    fn reap_closed(&mut self) -> bool {
        let orphans = core::mem::take(&mut self.sock.orphans);
        let before = orphans.len();
        let mut kept = Vec::new();
        let mut aborted = false;
        for s in orphans {
            let t = self.tcp_mut(s);
            if t.recv_queue() > 0 && t.state() != tcp::State::Closed {
                t.abort();
                aborted = true;
            }
            // An aborted socket keeps its peer until its RST has gone out.
            if t.state() == tcp::State::Closed && t.remote_endpoint().is_none() {
                self.sockets_mut(s.via).remove(s.handle);
            } else {
                kept.push(s);
            }
        }
        let reaped = kept.len() != before;
        self.sock.orphans = kept;
        reaped || aborted
    }

    // ---- the sets ----

    fn sockets(&self, via: Via) -> &SocketSet<'static> {
        match via {
            Via::Lo => &self.lo.sockets,
            // A socket is on eth0 only if eth0 exists, and it never goes away.
            Via::Eth => {
                &self
                    .eth
                    .as_ref()
                    .expect("a socket on eth0 without eth0")
                    .sockets
            }
        }
    }

    fn sockets_mut(&mut self, via: Via) -> &mut SocketSet<'static> {
        match via {
            Via::Lo => &mut self.lo.sockets,
            Via::Eth => {
                &mut self
                    .eth
                    .as_mut()
                    .expect("a socket on eth0 without eth0")
                    .sockets
            }
        }
    }

    /// Adds `socket` to the set of `via`: `ENETUNREACH` for eth0 without a NIC.
    fn add<S: AnySocket<'static>>(&mut self, via: Via, socket: S) -> Result<Sock, Errno> {
        let handle = match via {
            Via::Lo => self.lo.sockets.add(socket),
            Via::Eth => match self.eth.as_mut() {
                Some(eth) => eth.sockets.add(socket),
                None => return Err(Errno::ENETUNREACH),
            },
        };
        Ok(Sock { via, handle })
    }

    fn tcp(&self, s: Sock) -> &tcp::Socket<'static> {
        self.sockets(s.via).get::<tcp::Socket>(s.handle)
    }

    fn tcp_mut(&mut self, s: Sock) -> &mut tcp::Socket<'static> {
        self.sockets_mut(s.via).get_mut::<tcp::Socket>(s.handle)
    }

    fn udp(&self, s: Sock) -> &udp::Socket<'static> {
        self.sockets(s.via).get::<udp::Socket>(s.handle)
    }

    fn udp_mut(&mut self, s: Sock) -> &mut udp::Socket<'static> {
        self.sockets_mut(s.via).get_mut::<udp::Socket>(s.handle)
    }

    // ---- the socket calls ----

    /// A new socket, unbound; `family` is what its wildcard binding will cover.
    pub fn socket(&mut self, proto: Proto, family: Family) -> SockId {
        let entry = match proto {
            Proto::Tcp => Entry::TcpIdle { local: None },
            Proto::Udp => Entry::Udp {
                local: None,
                on: Vec::new(),
                handed: VecDeque::new(),
            },
        };
        self.sock
            .insert(entry, family, TcpOptions::default(), false)
    }

    /// The socket's TCP options.
    pub fn tcp_options(&self, id: SockId) -> Result<TcpOptions, Errno> {
        self.sock.slot(id).map(|s| s.tcp)
    }

    /// Changes the socket's TCP options: its connection (or a listener's pending ones) gets
    /// them at once. `EOPNOTSUPP` on a UDP socket.
    pub fn set_tcp_options(
        &mut self,
        id: SockId,
        change: impl FnOnce(&mut TcpOptions),
    ) -> Result<(), Errno> {
        let slot = self
            .sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        if matches!(slot.entry, Entry::Udp { .. }) {
            return Err(Errno::EOPNOTSUPP);
        }
        change(&mut slot.tcp);
        let opts = slot.tcp;
        let socks: Vec<Sock> = match &slot.entry {
            Entry::TcpStream { sock, .. } => alloc::vec![*sock],
            Entry::TcpListen { armed, .. } => armed.clone(),
            _ => Vec::new(),
        };
        let apply = match &slot.entry {
            Entry::TcpListen { .. } => opts.inherited(),
            _ => opts,
        };
        for s in socks {
            apply.apply(self.tcp_mut(s), s.via);
        }
        Ok(())
    }

    /// SO_REUSEPORT, before bind: sockets that all set it may bind one port.
    pub fn set_reuse_port(&mut self, id: SockId, on: bool) -> Result<(), Errno> {
        let slot = self
            .sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        slot.reuse_port = on;
        Ok(())
    }

    /// SO_REUSEADDR: takes effect at the next bind or listen (as on Linux).
    pub fn set_reuse_addr(&mut self, id: SockId, on: bool) -> Result<(), Errno> {
        self.sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?
            .reuse_addr = on;
        Ok(())
    }

    /// IPV6_V6ONLY on an `AF_INET6` socket: only before it is bound (`EINVAL` after, as on
    /// Linux).
    pub fn set_v6only(&mut self, id: SockId, on: bool) -> Result<(), Errno> {
        if self.local_endpoint(id)?.is_some() {
            return Err(Errno::EINVAL);
        }
        let slot = self
            .sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        if slot.family == Family::V4 {
            return Err(Errno::ENOPROTOOPT);
        }
        slot.family = if on { Family::V6 } else { Family::Dual };
        Ok(())
    }

    /// Every endpoint bound by a socket of `proto` (other than `except`).
    fn bound(&self, proto: Proto, except: SockId) -> Vec<Bound> {
        let mut out = Vec::new();
        for (i, slot) in self.sock.entries.iter().enumerate() {
            let Some(slot) = slot else { continue };
            if i == except.0 as usize {
                continue;
            }
            let local = match (proto, &slot.entry) {
                (Proto::Tcp, Entry::TcpIdle { local: Some(l) })
                | (Proto::Tcp, Entry::TcpListen { local: l, .. })
                | (Proto::Udp, Entry::Udp { local: Some(l), .. }) => Some(*l),
                (Proto::Tcp, Entry::TcpStream { sock, .. }) => {
                    self.tcp(*sock).local_endpoint().map(Into::into)
                }
                _ => None,
            };
            if let Some(l) = local {
                out.push(Bound {
                    local: l,
                    family: slot.family,
                    reuse_addr: slot.reuse_addr,
                    reuse_port: slot.reuse_port,
                    listening: matches!(slot.entry, Entry::TcpListen { .. }),
                });
            }
        }
        out
    }

    /// Whether `id` may take `local` (at bind, and again at listen): no other binding shares
    /// its port and an address, unless both have SO_REUSEADDR and the other does not listen
    /// (Linux's rule: a port whose listener closed can be bound and listened on again while
    /// its accepted connections live; of two sockets bound with SO_REUSEADDR only one may
    /// listen).
    fn check_free(&self, proto: Proto, id: SockId, local: &IpListenEndpoint) -> Result<(), Errno> {
        let me = self.sock.slot(id)?;
        let taken = self.bound(proto, id).into_iter().any(|b| {
            conflicts(&b.local, b.family, local, me.family)
                && !(me.reuse_addr && b.reuse_addr && !b.listening)
                && !(me.reuse_port && b.reuse_port)
        });
        if taken {
            Err(Errno::EADDRINUSE)
        } else {
            Ok(())
        }
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
            if !taken.iter().any(|b| b.local.port == p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// A local address must be one of an interface's: `lo`'s (all of 127.0.0.0/8, as on
    /// Linux) or eth0's.
    fn check_local(&self, addr: &IpListenEndpoint) -> Result<(), Errno> {
        match addr.addr {
            Some(a) if routes_to_lo(&a) => Ok(()),
            Some(a) if !self.eth.as_ref().is_some_and(|e| e.iface.has_ip_addr(a)) => {
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
        let family = self.sock.slot(id)?.family;
        if local.addr.is_some_and(|a| !family.admits(&a)) {
            return Err(Errno::EINVAL);
        }
        self.check_local(&local)?;
        let proto = match self.sock.get(id)? {
            Entry::TcpIdle { local: None } => Proto::Tcp,
            Entry::Udp { local: None, .. } => Proto::Udp,
            _ => return Err(Errno::EINVAL),
        };
        if local.port == 0 {
            local.port = self.ephemeral(proto, id)?;
        } else {
            self.check_free(proto, id, &local)?;
        }
        match self.sock.get_mut(id)? {
            Entry::TcpIdle { local: l } | Entry::Udp { local: l, .. } => *l = Some(local),
            _ => return Err(Errno::EINVAL),
        }
        if proto == Proto::Udp {
            // Receive on the interfaces the address belongs to now; `lo` for a wildcard
            // binding is added when something on `lo` sends to it.
            match local.addr {
                Some(a) => {
                    self.udp_on(id, via_of(&a))?;
                }
                None if self.eth.is_some() => {
                    self.udp_on(id, Via::Eth)?;
                }
                None => {}
            }
        }
        Ok(local)
    }

    /// Starts listening with `backlog` connections waiting at most (at least 1).
    pub fn listen(&mut self, id: SockId, backlog: usize) -> Result<(), Errno> {
        let backlog = backlog.clamp(1, MAX_BACKLOG);
        let local = match self.sock.get(id)? {
            Entry::TcpIdle { local } => *local,
            Entry::TcpListen { .. } => {
                // Linux lets listen() change the backlog of a listening socket.
                return self.rearm(id, Some(backlog));
            }
            Entry::Udp { .. } => return Err(Errno::EOPNOTSUPP),
            Entry::TcpStream { .. } => return Err(Errno::EINVAL),
        };
        let local = match local {
            Some(l) => l,
            None => self.bind(id, IpListenEndpoint::default())?,
        };
        // Two sockets bound with SO_REUSEADDR may not both listen.
        self.check_free(Proto::Tcp, id, &local)?;
        *self.sock.get_mut(id)? = Entry::TcpListen {
            local,
            armed: Vec::new(),
            backlog,
        };
        self.rearm(id, None)
    }

    /// Arms the listener on eth0 with an idle listening socket if its backlog has room
    /// (`lo`'s are armed by [`Net::arm_lo`]); `backlog` changes it first.
    fn rearm(&mut self, id: SockId, backlog: Option<usize>) -> Result<(), Errno> {
        let Net { eth, sock, .. } = self;
        let room = sock.room;
        let opts = sock.slot(id)?.tcp;
        let Entry::TcpListen {
            local,
            armed,
            backlog: b,
        } = sock.get_mut(id)?
        else {
            return Err(Errno::EINVAL);
        };
        if let Some(n) = backlog {
            *b = n;
        }
        let Some(eth) = eth.as_mut() else {
            return Ok(());
        };
        if local.addr.is_some_and(|a| routes_to_lo(&a)) {
            return Ok(());
        }
        arm(&mut eth.sockets, *local, armed, *b, room, &opts);
        Ok(())
    }

    /// Sets the check for heap room that arming a listening socket (2 × TCP_BUFFER) passes
    /// first; without room the listener's SYNs are dropped (eth0) or refused (`lo`).
    pub fn set_room_check(&mut self, room: fn(usize) -> bool) {
        self.sock.room = room;
    }

    /// The socket of `proto` that a datagram or connection to `dest` on `lo` is for: one
    /// bound to that address, else a wildcard one whose family admits it.
    fn receiver(&self, proto: Proto, dest: &IpEndpoint) -> Option<SockId> {
        let mut wildcard = None;
        for (i, slot) in self.sock.entries.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let local = match (proto, &slot.entry) {
                (Proto::Tcp, Entry::TcpListen { local, .. })
                | (
                    Proto::Udp,
                    Entry::Udp {
                        local: Some(local), ..
                    },
                ) => local,
                _ => continue,
            };
            if local.port != dest.port {
                continue;
            }
            match local.addr {
                Some(a) if a == dest.addr => return Some(SockId(i as u32)),
                None if slot.family.admits(&dest.addr) => wildcard = Some(SockId(i as u32)),
                _ => {}
            }
        }
        wildcard
    }

    /// Before a connect to `remote` on `lo`: arms one listening socket on `lo` for the
    /// listener it is for, unless that listener's backlog is full. Without one the SYN is
    /// answered with a reset (`ECONNREFUSED`), as Linux's `lo` does.
    fn arm_lo(&mut self, remote: &IpEndpoint) {
        let Some(id) = self.receiver(Proto::Tcp, remote) else {
            return;
        };
        let Net { lo, sock, .. } = self;
        let room = sock.room;
        let Ok(opts) = sock.slot(id).map(|slot| slot.tcp.inherited()) else {
            return;
        };
        let Ok(Entry::TcpListen { armed, backlog, .. }) = sock.get_mut(id) else {
            return;
        };
        if armed.iter().filter(|s| s.via == Via::Lo).count() >= *backlog || !room(2 * TCP_BUFFER) {
            return;
        }
        let mut s = new_lo_tcp();
        opts.apply(&mut s, Via::Lo);
        let at = IpListenEndpoint {
            addr: Some(remote.addr),
            port: remote.port,
        };
        if s.listen(at).is_ok() {
            armed.push(Sock {
                via: Via::Lo,
                handle: lo.sockets.add(s),
            });
        }
    }

    /// Takes one established connection: its socket and the peer. `EAGAIN` when none waits.
    ///
    /// On eth0 a wildcard listener is armed for both families (smoltcp's listen endpoint has
    /// none); a connection of a family the listener does not take (an IPv4 one reaching an
    /// `IPV6_V6ONLY` listener) is reset here rather than accepted.
    pub fn accept(&mut self, id: SockId) -> Result<(SockId, IpEndpoint), Errno> {
        let (family, opts, reuse_port) = {
            let slot = self.sock.slot(id)?;
            (slot.family, slot.tcp, slot.reuse_port)
        };
        let (sock, peer) = loop {
            let Entry::TcpListen { armed, .. } = self.sock.get(id)? else {
                return Err(Errno::EINVAL);
            };
            let Some(i) = armed
                .iter()
                .position(|&s| acceptable(self.tcp(s)) && self.deferred_ready(s, &opts))
            else {
                return Err(Errno::EAGAIN);
            };
            let Entry::TcpListen { armed, .. } = self.sock.get_mut(id)? else {
                return Err(Errno::EINVAL);
            };
            let sock = armed.remove(i);
            let s = self.tcp(sock);
            match s.remote_endpoint() {
                Some(peer) if family.admits(&peer.addr) => break (sock, peer),
                _ => {
                    self.tcp_mut(sock).abort();
                    self.sock.orphans.push(sock);
                    self.rearm(id, None)?;
                }
            }
        };
        self.rearm(id, None)?;
        self.held.retain(|(h, _, _)| *h != sock);
        let reuse_addr = self.sock.slot(id)?.reuse_addr;
        let new = self.sock.insert(
            Entry::TcpStream {
                sock,
                connecting: false,
                fin_sent: false,
                reset: false,
                close_wait: false,
                unreported: false,
                error: None,
            },
            family,
            opts.inherited(),
            reuse_addr,
        );
        self.set_reuse_port(new, reuse_port)?;
        Ok((new, peer))
    }

    /// Starts connecting to `remote`; the connection is made when the socket becomes
    /// writable (or fails with a pending error). On a socket already connecting:
    /// `EALREADY`; once it is done, the first call reports the outcome (`Ok` or the error)
    /// and later ones `EISCONN`, as on Linux. UDP: `EOPNOTSUPP` (the syscall layer records
    /// the default destination). True when this call started a connection.
    pub fn connect(&mut self, id: SockId, remote: IpEndpoint) -> Result<bool, Errno> {
        if remote.port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let remote = unspecified_is_loopback(remote);
        match self.sock.get(id)? {
            Entry::TcpIdle { local } => {
                if !self.sock.slot(id)?.family.admits(&remote.addr) {
                    return Err(Errno::ENETUNREACH);
                }
                let via = via_of(&remote.addr);
                if via == Via::Eth && self.eth.is_none() {
                    return Err(Errno::ENETUNREACH);
                }
                let local = match local {
                    Some(l) => *l,
                    None => self.bind(id, IpListenEndpoint::default())?,
                };
                if local.addr.is_some_and(|a| via_of(&a) != via) {
                    return Err(Errno::ENETUNREACH);
                }
                if via == Via::Lo {
                    self.arm_lo(&remote);
                }
                let mut s = if via == Via::Lo {
                    new_lo_tcp()
                } else {
                    new_tcp()
                };
                self.sock.slot(id)?.tcp.apply(&mut s, via);
                let cx = match via {
                    Via::Lo => self.lo.iface.context(),
                    Via::Eth => match self.eth.as_mut() {
                        Some(eth) => eth.iface.context(),
                        None => return Err(Errno::ENETUNREACH),
                    },
                };
                s.connect(cx, remote, local).map_err(|e| match e {
                    tcp::ConnectError::Unaddressable => Errno::ENETUNREACH,
                    tcp::ConnectError::InvalidState => Errno::EISCONN,
                })?;
                let sock = self.add(via, s)?;
                *self.sock.get_mut(id)? = Entry::TcpStream {
                    sock,
                    connecting: true,
                    fin_sent: false,
                    reset: false,
                    close_wait: false,
                    unreported: true,
                    error: None,
                };
                Ok(true)
            }
            Entry::TcpStream { .. } => {
                self.settle(id)?;
                match self.sock.get_mut(id)? {
                    Entry::TcpStream {
                        connecting: true, ..
                    } => Err(Errno::EALREADY),
                    Entry::TcpStream {
                        unreported, error, ..
                    } if *unreported => {
                        *unreported = false;
                        error.take().map_or(Ok(false), Err)
                    }
                    _ => Err(Errno::EISCONN),
                }
            }
            Entry::TcpListen { .. } => Err(Errno::EINVAL),
            Entry::Udp { .. } => Err(Errno::EOPNOTSUPP),
        }
    }

    /// Settles a connection: a connecting one is connected, or failed (`ECONNREFUSED`); an
    /// open one that went to CLOSED before sending its FIN was reset (`ECONNRESET`, once).
    fn settle(&mut self, id: SockId) -> Result<(), Errno> {
        let Entry::TcpStream { sock, .. } = self.sock.get(id)? else {
            return Ok(());
        };
        let state = self.tcp(*sock).state();
        let timed_out = self.tcp(*sock).timed_out_abort();
        let Entry::TcpStream {
            connecting,
            fin_sent,
            reset,
            close_wait,
            error,
            ..
        } = self.sock.get_mut(id)?
        else {
            return Ok(());
        };
        if *connecting {
            match state {
                tcp::State::SynSent | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    *connecting = false;
                    *reset = true;
                    *error = Some(if timed_out {
                        Errno::ETIMEDOUT
                    } else {
                        Errno::ECONNREFUSED
                    });
                }
                _ => *connecting = false,
            }
        } else if state == tcp::State::Closed && !*fin_sent && !*reset {
            // Without our FIN the only ways to CLOSED are a reset or a timeout
            // (TCP_USER_TIMEOUT, keep-alive probes unanswered: ETIMEDOUT, as Linux): a
            // peer's FIN leaves the socket in CLOSE-WAIT until we close.
            *reset = true;
            *error = Some(if timed_out {
                Errno::ETIMEDOUT
            } else if *close_wait {
                Errno::EPIPE
            } else {
                Errno::ECONNRESET
            });
        } else {
            *close_wait = state == tcp::State::CloseWait;
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

    /// The connection of a TCP socket, after its pending error (taken) and while it is
    /// not still connecting (`EAGAIN`).
    fn stream(&mut self, id: SockId) -> Result<Sock, Errno> {
        self.settle(id)?;
        match self.sock.get_mut(id)? {
            Entry::TcpStream {
                sock,
                connecting,
                error,
                ..
            } => {
                if let Some(e) = error.take() {
                    return Err(e);
                }
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                Ok(*sock)
            }
            Entry::Udp { .. } => Err(Errno::EDESTADDRREQ),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Sends on a connected TCP socket: bytes queued, `EAGAIN` when the buffer is full,
    /// `EPIPE` after shutdown or close by the peer, and on a socket that never connected
    /// (as Linux's).
    pub fn send(&mut self, id: SockId, data: &[u8]) -> Result<usize, Errno> {
        let sock = match self.stream(id) {
            Err(e) if e == Errno::ENOTCONN => return Err(Errno::EPIPE),
            r => r?,
        };
        let s = self.tcp_mut(sock);
        if !s.may_send() {
            return Err(Errno::EPIPE);
        }
        match s.send_slice(data) {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(_) => Err(Errno::EPIPE),
        }
    }

    /// Receives from a connected TCP socket: bytes read, 0 at end of stream, `EAGAIN` when
    /// nothing is there yet.
    pub fn recv(&mut self, id: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        let sock = match self.stream(id) {
            Err(e) if e == Errno::EDESTADDRREQ => return Err(Errno::ENOTCONN),
            r => r?,
        };
        let s = self.tcp_mut(sock);
        match s.recv_slice(buf) {
            Ok(0) if !buf.is_empty() && s.may_recv() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(tcp::RecvError::Finished) => Ok(0),
            Err(tcp::RecvError::InvalidState) => Ok(0),
        }
    }

    /// Like [`Net::recv`] but leaves the bytes queued (MSG_PEEK); UDP: the next datagram.
    pub fn peek(&mut self, id: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        if let Entry::Udp { on, handed, .. } = self.sock.get(id)? {
            if let Some((data, _)) = handed.front() {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                return Ok(n);
            }
            let Some(&s) = on.iter().find(|&&s| self.udp(s).can_recv()) else {
                return Err(Errno::EAGAIN);
            };
            return match self.udp_mut(s).peek() {
                Ok((data, _)) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    Ok(n)
                }
                Err(_) => Err(Errno::EAGAIN),
            };
        }
        let sock = match self.sock.get(id)? {
            Entry::TcpStream {
                sock,
                connecting: false,
                ..
            } => *sock,
            Entry::TcpStream { .. } => return Err(Errno::EAGAIN),
            _ => return Err(Errno::ENOTCONN),
        };
        let s = self.tcp_mut(sock);
        match s.peek_slice(buf) {
            Ok(0) if !buf.is_empty() && s.may_recv() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(_) => Ok(0),
        }
    }

    /// The UDP socket's smoltcp socket with a datagram waiting, if any.
    fn udp_ready(&self, id: SockId) -> Result<Option<Sock>, Errno> {
        let Entry::Udp { on, .. } = self.sock.get(id)? else {
            return Err(Errno::EOPNOTSUPP);
        };
        Ok(on.iter().copied().find(|&s| self.udp(s).can_recv()))
    }

    /// The sender of the next datagram without taking it (recvfrom with MSG_PEEK).
    pub fn peek_from(&mut self, id: SockId) -> Result<IpEndpoint, Errno> {
        if let Entry::Udp { handed, .. } = self.sock.get(id)? {
            if let Some((_, from)) = handed.front() {
                return Ok(*from);
            }
        }
        let s = self.udp_ready(id)?.ok_or(Errno::EAGAIN)?;
        self.udp_mut(s)
            .peek()
            .map(|(_, meta)| meta.endpoint)
            .map_err(|_| Errno::EAGAIN)
    }

    /// Resets a TCP connection instead of closing it gracefully (SO_LINGER with a zero
    /// timeout), then forgets the socket.
    pub fn abort(&mut self, id: SockId) -> Result<(), Errno> {
        if let Entry::TcpStream { sock, .. } = self.sock.get(id)? {
            let s = *sock;
            self.tcp_mut(s).abort();
        }
        self.close(id)
    }

    /// The UDP socket's smoltcp socket on `via`, made (bound to its local endpoint) if it
    /// has none there yet.
    fn udp_on(&mut self, id: SockId, via: Via) -> Result<Sock, Errno> {
        let Entry::Udp { local, on, .. } = self.sock.get(id)? else {
            return Err(Errno::EOPNOTSUPP);
        };
        if let Some(&s) = on.iter().find(|s| s.via == via) {
            return Ok(s);
        }
        let at = local.ok_or(Errno::EINVAL)?;
        let mut s = new_udp(via);
        s.bind(at).map_err(|_| Errno::EINVAL)?;
        let sock = self.add(via, s)?;
        if let Entry::Udp { on, .. } = self.sock.get_mut(id)? {
            on.push(sock);
        }
        Ok(sock)
    }

    /// Sends one datagram to `remote` (binding an ephemeral port first if needed).
    pub fn send_to(&mut self, id: SockId, data: &[u8], remote: IpEndpoint) -> Result<usize, Errno> {
        let Entry::Udp { local, .. } = self.sock.get(id)? else {
            return Err(Errno::EISCONN);
        };
        if local.is_none() {
            self.bind(id, IpListenEndpoint::default())?;
        }
        let remote = unspecified_is_loopback(remote);
        if !self.sock.slot(id)?.family.admits(&remote.addr) {
            return Err(Errno::ENETUNREACH);
        }
        let via = via_of(&remote.addr);
        if via == Via::Lo {
            // Every datagram on `lo` is sent here: give its receiver a socket there first.
            if let Some(to) = self.receiver(Proto::Udp, &remote) {
                self.udp_on(to, Via::Lo)?;
            }
        }
        let sock = self.udp_on(id, via)?;
        let s = self.udp_mut(sock);
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
        if let Entry::Udp { handed, .. } = self.sock.get_mut(id)? {
            if let Some((data, from)) = handed.pop_front() {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                return Ok((n, from));
            }
        }
        let s = self.udp_ready(id)?.ok_or(Errno::EAGAIN)?;
        match self.udp_mut(s).recv() {
            Ok((data, meta)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Ok((n, meta.endpoint))
            }
            Err(_) => Err(Errno::EAGAIN),
        }
    }

    /// A listener stops listening (shutdown of its receiving side, as on Linux): its pending
    /// connections are reset, and it stays bound to its address, idle; accept then fails
    /// with `EINVAL`.
    pub fn stop_listening(&mut self, id: SockId) -> Result<(), Errno> {
        let Entry::TcpListen { local, armed, .. } = self.sock.get_mut(id)? else {
            return Err(Errno::ENOTCONN);
        };
        let (local, armed) = (*local, core::mem::take(armed));
        for s in armed {
            self.tcp_mut(s).abort();
            self.sock.orphans.push(s);
        }
        *self.sock.get_mut(id)? = Entry::TcpIdle { local: Some(local) };
        Ok(())
    }

    /// Ends the sending side of a TCP connection (FIN after the queued data).
    pub fn shutdown_write(&mut self, id: SockId) -> Result<(), Errno> {
        match self.sock.get_mut(id)? {
            Entry::TcpStream { sock, fin_sent, .. } => {
                *fin_sent = true;
                let s = *sock;
                self.tcp_mut(s).close();
                Ok(())
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Closes the socket: a TCP connection ends gracefully (its FIN exchange goes on in the
    /// background) — unless data it received was never read, which resets it, as on Linux
    /// (RFC 1122 4.2.2.13: the peer learns at once that what it sent was not taken);
    /// listeners drop their pending connections.
    pub fn close(&mut self, id: SockId) -> Result<(), Errno> {
        let slot = self
            .sock
            .entries
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        match slot.entry {
            Entry::TcpIdle { .. } => {}
            Entry::TcpListen { armed, .. } => {
                for s in armed {
                    self.tcp_mut(s).abort();
                    self.sock.orphans.push(s);
                }
            }
            Entry::TcpStream { sock, .. } => {
                let t = self.tcp_mut(sock);
                if t.recv_queue() > 0 {
                    t.abort();
                } else {
                    t.close();
                }
                self.sock.orphans.push(sock);
            }
            Entry::Udp { on, .. } => {
                for s in on {
                    self.sockets_mut(s.via).remove(s.handle);
                }
            }
        }
        Ok(())
    }

    /// At exit: closes every TCP socket as the end of the program closes its descriptors
    /// (connections end gracefully, listeners drop what is pending). UDP sockets stay until
    /// the VM ends, so datagrams still queued are sent by the next polls.
    pub fn close_tcp_at_exit(&mut self) {
        for i in 0..self.sock.entries.len() {
            let tcp = matches!(
                self.sock.entries[i].as_ref().map(|slot| &slot.entry),
                Some(Entry::TcpListen { .. } | Entry::TcpStream { .. })
            );
            if tcp {
                let _ = self.close(SockId(i as u32));
            }
        }
    }

    /// True while something written over eth0 has not left: a closed connection with data
    /// unsent or unacknowledged or its FIN unacknowledged, or a datagram still queued.
    /// (`lo`'s peers are in this VM, which is ending.)
    pub fn eth_flushing(&self) -> bool {
        let tcp = self.sock.orphans.iter().any(|&s| {
            let t = self.tcp(s);
            s.via == Via::Eth
                && (t.send_queue() > 0
                    || matches!(
                        t.state(),
                        tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck
                    ))
        });
        let udp = self
            .sock
            .entries
            .iter()
            .flatten()
            .any(|slot| match &slot.entry {
                Entry::Udp { on, .. } => on.iter().any(|s| {
                    s.via == Via::Eth
                        && self
                            .sockets(Via::Eth)
                            .get::<udp::Socket>(s.handle)
                            .send_queue()
                            > 0
                }),
                _ => false,
            });
        tcp || udp
    }

    /// What the socket is ready for now.
    pub fn readiness(&mut self, id: SockId) -> Result<Readiness, Errno> {
        self.settle(id)?;
        Ok(match self.sock.get(id)? {
            Entry::TcpIdle { .. } => Readiness {
                writable: true,
                hup: true,
                ..Readiness::default()
            },
            Entry::TcpListen { armed, .. } => {
                let opts = self.sock.slot(id)?.tcp;
                Readiness {
                    readable: armed
                        .iter()
                        .any(|&s| acceptable(self.tcp(s)) && self.deferred_ready(s, &opts)),
                    ..Readiness::default()
                }
            }
            Entry::TcpStream {
                sock,
                connecting,
                error,
                reset,
                ..
            } => {
                let s = self.tcp(*sock);
                if *connecting {
                    Readiness::default()
                } else {
                    let eof = !s.may_recv();
                    let gone =
                        *reset || matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
                    Readiness {
                        readable: s.can_recv() || eof || error.is_some(),
                        writable: s.can_send() || !s.may_send() || error.is_some(),
                        rdhup: eof,
                        hup: gone || (eof && !s.may_send()),
                        error: error.is_some(),
                    }
                }
            }
            Entry::Udp { on, handed, .. } => Readiness {
                readable: !handed.is_empty() || on.iter().any(|&s| self.udp(s).can_recv()),
                writable: on.iter().all(|&s| self.udp(s).can_send()),
                ..Readiness::default()
            },
        })
    }

    /// The local endpoint (getsockname); `None` before bind.
    pub fn local_endpoint(&self, id: SockId) -> Result<Option<IpListenEndpoint>, Errno> {
        Ok(match self.sock.get(id)? {
            Entry::TcpIdle { local } | Entry::Udp { local, .. } => *local,
            Entry::TcpListen { local, .. } => Some(*local),
            Entry::TcpStream { sock, .. } => self.tcp(*sock).local_endpoint().map(Into::into),
        })
    }

    /// The peer (getpeername): `ENOTCONN` when not connected.
    pub fn peer_endpoint(&self, id: SockId) -> Result<IpEndpoint, Errno> {
        match self.sock.get(id)? {
            Entry::TcpStream { sock, .. } => {
                self.tcp(*sock).remote_endpoint().ok_or(Errno::ENOTCONN)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn pending_bytes(&mut self, id: SockId) -> Result<usize, Errno> {
        Ok(match self.sock.get(id)? {
            Entry::TcpStream { sock, .. } => self.tcp(*sock).recv_queue(),
            Entry::Udp { handed, .. } if !handed.is_empty() => {
                handed.front().map_or(0, |d| d.0.len())
            }
            Entry::Udp { .. } => match self.udp_ready(id)? {
                Some(s) => self.udp_mut(s).peek().map_or(0, |(d, _)| d.len()),
                None => 0,
            },
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

    /// eth0 over smoltcp's loopback device (frames it sends come back to it), and `lo`.
    fn stack() -> Net<Loopback> {
        let (c, _) = NetConfig::from_options([("ip", "10.77.0.2/24"), ("ip6", "fd77::2/64")]);
        Net::new(Some(loopback(c)), Instant::from_millis(0), 7)
    }

    /// A VM without a NIC: `lo` only.
    fn no_nic() -> Net<Loopback> {
        Net::new(None, Instant::from_millis(0), 7)
    }

    /// Polls with the clock advancing 10 ms a step until `done` holds (at most 60 s of
    /// simulated time: TIME-WAIT lasts 10 s).
    fn run_until(
        s: &mut Net<Loopback>,
        t: &mut i64,
        mut done: impl FnMut(&mut Net<Loopback>) -> bool,
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
        let l = s.socket(Proto::Tcp, Family::Dual);
        s.bind(l, listen_ep(7)).unwrap();
        s.listen(l, 4).unwrap();
        assert_eq!(s.accept(l), Err(Errno::EAGAIN));
        let c = s.socket(Proto::Tcp, Family::Dual);
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
    fn connect_all(s: &mut Net<Loopback>, port: u16, n: usize) -> Vec<SockId> {
        (0..n)
            .map(|_| {
                let c = s.socket(Proto::Tcp, Family::Dual);
                s.connect(c, ep(port)).unwrap();
                c
            })
            .collect()
    }

    fn connected(s: &mut Net<Loopback>, clients: &[SockId]) -> usize {
        clients
            .iter()
            .filter(|&&c| s.readiness(c).unwrap().writable && s.take_error(c).unwrap().is_none())
            .count()
    }

    #[test]
    fn backlog_is_honoured_and_a_syn_beyond_it_waits_for_accept() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::Dual);
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
        let c = s.socket(Proto::Tcp, Family::Dual);
        s.connect(c, ep(80)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        assert!(s.accept(l).is_ok());
    }

    #[test]
    fn a_burst_of_connects_waits_in_the_backlog_without_accept() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::Dual);
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
        let l = s.socket(Proto::Tcp, Family::Dual);
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
        let c = s.socket(Proto::Tcp, Family::Dual);
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
        let a = s.socket(Proto::Tcp, Family::Dual);
        let b = s.socket(Proto::Tcp, Family::Dual);
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
        let u = s.socket(Proto::Udp, Family::Dual);
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
        let server = s.socket(Proto::Udp, Family::Dual);
        s.bind(server, listen_ep(53)).unwrap();
        let client = s.socket(Proto::Udp, Family::Dual);
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
        let l = s.socket(Proto::Tcp, Family::Dual);
        s.listen(l, 1).unwrap();
        let port = s.local_endpoint(l).unwrap().unwrap().port;
        let c = s.socket(Proto::Tcp, Family::Dual);
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

    fn lo4(port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::LOCALHOST), port)
    }

    fn lo6(port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), port)
    }

    fn at(addr: &str, port: u16) -> IpListenEndpoint {
        IpListenEndpoint {
            addr: Some(addr.parse().unwrap()),
            port,
        }
    }

    #[test]
    fn without_a_nic_tcp_over_127_0_0_1_and_ipv6_loopback() {
        let mut s = no_nic();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::Dual);
        s.bind(l, listen_ep(8080)).unwrap();
        s.listen(l, 4).unwrap();
        for (dest, v4) in [(lo4(8080), true), (lo6(8080), false)] {
            let c = s.socket(Proto::Tcp, if v4 { Family::V4 } else { Family::Dual });
            s.connect(c, dest).unwrap();
            run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
            let (a, peer) = s.accept(l).unwrap();
            assert_eq!(
                peer.addr, dest.addr,
                "the client's address is the loopback one"
            );
            let mine = s.local_endpoint(c).unwrap().unwrap();
            assert_eq!((mine.addr, mine.port), (Some(dest.addr), peer.port));
            assert_eq!(s.peer_endpoint(c).unwrap(), dest);
            assert_eq!(s.local_endpoint(a).unwrap().unwrap().addr, Some(dest.addr));
            run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().writable);
            assert_eq!(s.send(c, b"ping").unwrap(), 4);
            run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().readable);
            let mut buf = [0u8; 8];
            assert_eq!(s.recv(a, &mut buf).unwrap(), 4);
            assert_eq!(&buf[..4], b"ping");
            s.close(c).unwrap();
            run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().rdhup);
            s.close(a).unwrap();
        }
        // Nothing reaches eth0: there is none.
        let c = s.socket(Proto::Tcp, Family::V4);
        assert_eq!(s.connect(c, ep(80)), Err(Errno::ENETUNREACH));
        let u = s.socket(Proto::Udp, Family::V4);
        assert_eq!(s.send_to(u, b"x", ep(53)), Err(Errno::ENETUNREACH));
    }

    #[test]
    fn a_wildcard_listener_accepts_from_eth0_and_lo() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::Dual);
        s.bind(l, listen_ep(80)).unwrap();
        s.listen(l, 8).unwrap();
        let (on_eth, on_lo) = (
            s.socket(Proto::Tcp, Family::V4),
            s.socket(Proto::Tcp, Family::V4),
        );
        s.connect(on_eth, ep(80)).unwrap();
        s.connect(on_lo, lo4(80)).unwrap();
        let mut peers = Vec::new();
        run_until(&mut s, &mut t, |s| {
            if let Ok((_, p)) = s.accept(l) {
                peers.push(p.addr);
            }
            peers.len() == 2
        });
        peers.sort_by_key(|a| a.to_string());
        assert_eq!(peers, [ME, IpAddress::Ipv4(Ipv4Address::LOCALHOST)]);
    }

    #[test]
    fn a_listener_on_127_0_0_1_is_not_reached_over_eth0_and_vice_versa() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::V4);
        s.bind(l, at("127.0.0.1", 81)).unwrap();
        s.listen(l, 1).unwrap();
        let c = s.socket(Proto::Tcp, Family::V4);
        s.connect(c, ep(81)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        assert_eq!(s.take_error(c).unwrap(), Some(Errno::ECONNREFUSED));
        let e = s.socket(Proto::Tcp, Family::V4);
        s.bind(e, at("10.77.0.2", 82)).unwrap();
        s.listen(e, 1).unwrap();
        let c = s.socket(Proto::Tcp, Family::V4);
        s.connect(c, lo4(82)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        assert_eq!(s.take_error(c).unwrap(), Some(Errno::ECONNREFUSED));
    }

    #[test]
    fn udp_over_lo_reaches_a_wildcard_socket_and_the_reply_comes_back() {
        for mut s in [no_nic(), stack()] {
            let mut t = 0;
            let server = s.socket(Proto::Udp, Family::Dual);
            s.bind(server, listen_ep(53)).unwrap();
            for (dest, family) in [(lo4(53), Family::V4), (lo6(53), Family::V6)] {
                let client = s.socket(Proto::Udp, family);
                assert_eq!(s.send_to(client, b"query", dest).unwrap(), 5);
                run_until(&mut s, &mut t, |s| s.readiness(server).unwrap().readable);
                let mut buf = [0u8; 8];
                let (n, from) = s.recv_from(server, &mut buf).unwrap();
                assert_eq!((&buf[..n], from.addr), (&b"query"[..], dest.addr));
                assert_eq!(s.send_to(server, b"answer", from).unwrap(), 6);
                run_until(&mut s, &mut t, |s| s.readiness(client).unwrap().readable);
                let (n, from) = s.recv_from(client, &mut buf).unwrap();
                assert_eq!((&buf[..n], from), (&b"answer"[..6], dest));
            }
        }
    }

    #[test]
    fn v6only_decides_whether_0_0_0_0_conflicts_with_ipv6_wildcard() {
        let mut s = no_nic();
        let dual = s.socket(Proto::Tcp, Family::Dual);
        s.bind(dual, listen_ep(7000)).unwrap();
        let v4 = s.socket(Proto::Tcp, Family::V4);
        assert_eq!(s.bind(v4, listen_ep(7000)), Err(Errno::EADDRINUSE));
        assert_eq!(s.bind(v4, at("127.0.0.1", 7000)), Err(Errno::EADDRINUSE));
        let six = s.socket(Proto::Tcp, Family::Dual);
        s.set_v6only(six, true).unwrap();
        s.bind(six, listen_ep(7001)).unwrap();
        assert_eq!(
            s.set_v6only(six, false),
            Err(Errno::EINVAL),
            "bound already"
        );
        s.bind(v4, listen_ep(7001)).unwrap();
        let other6 = s.socket(Proto::Udp, Family::V6);
        s.bind(other6, listen_ep(7001)).unwrap();
        let loop6 = s.socket(Proto::Tcp, Family::V6);
        assert_eq!(s.bind(loop6, at("::1", 7001)), Err(Errno::EADDRINUSE));
        // A v6-only socket takes no IPv4.
        let c = s.socket(Proto::Tcp, Family::V6);
        assert_eq!(s.connect(c, lo4(7001)), Err(Errno::ENETUNREACH));
        assert_eq!(s.bind(c, at("127.0.0.1", 1)), Err(Errno::EINVAL));
    }

    #[test]
    fn v6only_and_ipv4_listeners_on_one_port_each_get_their_family_over_lo() {
        let mut s = no_nic();
        let mut t = 0;
        let six = s.socket(Proto::Tcp, Family::V6);
        s.bind(six, listen_ep(9000)).unwrap();
        s.listen(six, 2).unwrap();
        let four = s.socket(Proto::Tcp, Family::V4);
        s.bind(four, listen_ep(9000)).unwrap();
        s.listen(four, 2).unwrap();
        for (dest, listener) in [(lo4(9000), four), (lo6(9000), six)] {
            let c = s.socket(Proto::Tcp, Family::Dual);
            s.connect(c, dest).unwrap();
            run_until(&mut s, &mut t, |s| s.readiness(listener).unwrap().readable);
            assert_eq!(s.accept(listener).unwrap().1.addr, dest.addr);
        }
    }

    #[test]
    fn a_reset_is_econnreset_once_then_epipe_and_end_of_stream() {
        let mut s = no_nic();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::V4);
        s.listen(l, 1).unwrap();
        let port = s.local_endpoint(l).unwrap().unwrap().port;
        let c = s.socket(Proto::Tcp, Family::V4);
        s.connect(c, lo4(port)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        let (a, _) = s.accept(l).unwrap();
        s.abort(a).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        assert!(s.readiness(c).unwrap().hup);
        let mut buf = [0u8; 4];
        assert_eq!(s.recv(c, &mut buf), Err(Errno::ECONNRESET));
        assert_eq!(s.recv(c, &mut buf), Ok(0));
        assert_eq!(s.send(c, b"x"), Err(Errno::EPIPE));
    }

    /// A connected pair over eth0's loopback test device: (listener, client, accepted).
    fn accepted_pair(
        s: &mut Net<Loopback>,
        t: &mut i64,
        port: u16,
        reuse: bool,
    ) -> (SockId, SockId, SockId) {
        let l = s.socket(Proto::Tcp, Family::Dual);
        s.set_reuse_addr(l, reuse).unwrap();
        s.bind(l, listen_ep(port)).unwrap();
        s.listen(l, 4).unwrap();
        let c = s.socket(Proto::Tcp, Family::Dual);
        s.connect(c, ep(port)).unwrap();
        run_until(s, t, |s| s.readiness(l).unwrap().readable);
        let (a, _) = s.accept(l).unwrap();
        run_until(s, t, |s| s.readiness(c).unwrap().writable);
        (l, c, a)
    }

    #[test]
    fn a_listener_shut_down_stops_listening_and_keeps_its_port() {
        let mut s = stack();
        let mut t = 0;
        let (l, _c, _a) = accepted_pair(&mut s, &mut t, 7600, false);
        let pending = s.socket(Proto::Tcp, Family::Dual);
        s.connect(pending, ep(7600)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        s.stop_listening(l).unwrap();
        assert_eq!(s.accept(l), Err(Errno::EINVAL));
        run_until(&mut s, &mut t, |s| s.readiness(pending).unwrap().error);
        let other = s.socket(Proto::Tcp, Family::Dual);
        assert_eq!(
            s.bind(other, listen_ep(7600)),
            Err(Errno::EADDRINUSE),
            "still bound"
        );
    }

    #[test]
    fn a_port_is_listened_on_again_while_its_accepted_connections_live() {
        let mut s = stack();
        let mut t = 0;
        let (l, c, a) = accepted_pair(&mut s, &mut t, 7100, true);
        s.close(l).unwrap();
        let again = s.socket(Proto::Tcp, Family::Dual);
        assert_eq!(
            s.bind(again, listen_ep(7100)),
            Err(Errno::EADDRINUSE),
            "without SO_REUSEADDR the accepted connection holds the port"
        );
        s.set_reuse_addr(again, true).unwrap();
        s.bind(again, listen_ep(7100)).unwrap();
        s.listen(again, 4).unwrap();
        // The new listener takes new connections; the old one still carries data.
        let c2 = s.socket(Proto::Tcp, Family::Dual);
        s.connect(c2, ep(7100)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(again).unwrap().readable);
        assert!(s.accept(again).is_ok());
        assert_eq!(s.send(c, b"still").unwrap(), 5);
        run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().readable);
    }

    #[test]
    fn of_two_sockets_bound_with_reuseaddr_only_one_listens() {
        let mut s = stack();
        let a = s.socket(Proto::Tcp, Family::Dual);
        let b = s.socket(Proto::Tcp, Family::Dual);
        for x in [a, b] {
            s.set_reuse_addr(x, true).unwrap();
            s.bind(x, listen_ep(7200)).unwrap();
        }
        s.listen(a, 1).unwrap();
        assert_eq!(s.listen(b, 1), Err(Errno::EADDRINUSE));
        let c = s.socket(Proto::Tcp, Family::Dual);
        s.set_reuse_addr(c, true).unwrap();
        assert_eq!(
            s.bind(c, listen_ep(7200)),
            Err(Errno::EADDRINUSE),
            "a listener holds its port even against SO_REUSEADDR"
        );
    }

    #[test]
    fn close_with_unread_data_resets_the_connection() {
        let mut s = stack();
        let mut t = 0;
        let (_l, c, a) = accepted_pair(&mut s, &mut t, 7300, false);
        assert_eq!(s.send(c, b"unread").unwrap(), 6);
        run_until(&mut s, &mut t, |s| s.readiness(a).unwrap().readable);
        s.close(a).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(c, &mut buf), Err(Errno::ECONNRESET));
        run_until(&mut s, &mut t, |s| s.sock.orphans.is_empty());
    }

    #[test]
    fn data_arriving_after_close_resets_the_connection() {
        let mut s = stack();
        let mut t = 0;
        let (_l, c, a) = accepted_pair(&mut s, &mut t, 7400, false);
        s.close(a).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().rdhup);
        // The peer keeps writing to a socket nobody will read: it is reset, not left to
        // fill the window.
        assert_eq!(s.send(c, b"more").unwrap(), 4);
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        let mut buf = [0u8; 8];
        assert_eq!(
            s.recv(c, &mut buf),
            Err(Errno::EPIPE),
            "reset in CLOSE-WAIT: EPIPE, as Linux says"
        );
        run_until(&mut s, &mut t, |s| s.sock.orphans.is_empty());
    }

    #[test]
    fn a_graceful_close_without_unread_data_sends_fin() {
        let mut s = stack();
        let mut t = 0;
        let (_l, c, a) = accepted_pair(&mut s, &mut t, 7500, false);
        s.close(a).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().rdhup);
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(c, &mut buf), Ok(0), "end of stream, not a reset");
    }

    #[test]
    fn a_full_backlog_on_lo_refuses_further_connections() {
        let mut s = no_nic();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::V4);
        s.bind(l, listen_ep(99)).unwrap();
        s.listen(l, 1).unwrap();
        let (c1, c2) = (
            s.socket(Proto::Tcp, Family::V4),
            s.socket(Proto::Tcp, Family::V4),
        );
        s.connect(c1, lo4(99)).unwrap();
        s.connect(c2, lo4(99)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c2).unwrap().error);
        assert_eq!(s.take_error(c2).unwrap(), Some(Errno::ECONNREFUSED));
        assert!(s.accept(l).is_ok());
    }

    #[test]
    fn on_eth0_an_ipv6_only_listener_resets_ipv4_connections() {
        let mut s = stack();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::V6);
        s.bind(l, listen_ep(443)).unwrap();
        s.listen(l, 2).unwrap();
        let c = s.socket(Proto::Tcp, Family::V4);
        s.connect(c, ep(443)).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().error);
        assert_eq!(s.accept(l), Err(Errno::EAGAIN));
        assert_eq!(s.take_error(c).unwrap(), Some(Errno::ECONNRESET));
        let six = s.socket(Proto::Tcp, Family::Dual);
        s.connect(six, IpEndpoint::new("fd77::2".parse().unwrap(), 443))
            .unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        assert!(s.accept(l).is_ok());
    }

    #[test]
    fn all_of_127_0_0_0_8_is_local() {
        let mut s = no_nic();
        let mut t = 0;
        let l = s.socket(Proto::Tcp, Family::V4);
        s.bind(l, at("127.0.0.2", 80)).unwrap();
        s.listen(l, 1).unwrap();
        let c = s.socket(Proto::Tcp, Family::V4);
        s.connect(c, IpEndpoint::new("127.0.0.2".parse().unwrap(), 80))
            .unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(l).unwrap().readable);
        let (_, peer) = s.accept(l).unwrap();
        assert_eq!(peer.addr, IpAddress::Ipv4(Ipv4Address::LOCALHOST));
        let u = s.socket(Proto::Udp, Family::V4);
        s.bind(u, at("127.1.2.3", 53)).unwrap();
        let v = s.socket(Proto::Udp, Family::V4);
        let to = IpEndpoint::new("127.1.2.3".parse().unwrap(), 53);
        s.send_to(v, b"q", to).unwrap();
        run_until(&mut s, &mut t, |s| s.readiness(u).unwrap().readable);
    }

    #[test]
    fn ipv4_and_ipv6_only_sockets_on_one_port_each_get_their_family_on_eth0_and_lo() {
        let mut s = stack();
        let mut t = 0;
        let six_first = s.socket(Proto::Udp, Family::V6);
        s.bind(six_first, listen_ep(53)).unwrap();
        let four = s.socket(Proto::Udp, Family::V4);
        s.bind(four, listen_ep(53)).unwrap();
        let v6 = IpEndpoint::new("fd77::2".parse().unwrap(), 53);
        let client = s.socket(Proto::Udp, Family::Dual);
        for dest in [ep(53), v6, lo4(53), lo6(53), ep(53), v6] {
            s.send_to(client, b"q", dest).unwrap();
            let want = if matches!(dest.addr, IpAddress::Ipv4(_)) {
                four
            } else {
                six_first
            };
            run_until(&mut s, &mut t, |s| s.readiness(want).unwrap().readable);
            let mut buf = [0u8; 4];
            let (_, from) = s.recv_from(want, &mut buf).unwrap();
            assert_eq!(from.addr, dest.addr);
            assert!(!s.readiness(four).unwrap().readable, "{dest}");
            assert!(!s.readiness(six_first).unwrap().readable, "{dest}");
        }
        let l6 = s.socket(Proto::Tcp, Family::V6);
        s.bind(l6, listen_ep(80)).unwrap();
        s.listen(l6, 4).unwrap();
        let l4 = s.socket(Proto::Tcp, Family::V4);
        s.bind(l4, listen_ep(80)).unwrap();
        s.listen(l4, 4).unwrap();
        for (dest, want) in [
            (ep(80), l4),
            (IpEndpoint::new(v6.addr, 80), l6),
            (lo4(80), l4),
        ] {
            let c = s.socket(Proto::Tcp, Family::Dual);
            s.connect(c, dest).unwrap();
            run_until(&mut s, &mut t, |s| s.readiness(want).unwrap().readable);
            assert_eq!(s.accept(want).unwrap().1.addr, dest.addr);
            run_until(&mut s, &mut t, |s| s.readiness(c).unwrap().writable);
            assert_eq!(s.take_error(c).unwrap(), None);
        }
    }
}
