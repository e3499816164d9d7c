//! The relay between QEMU and the passt instances: frames from the guest go to the IPv4
//! instance (ARP, IPv4) or the IPv6 one (IPv6) by their EtherType, and each instance's frames
//! go to the guest. See [`super`] for why there are two.
//!
//! passt speaks a stream (each frame preceded by its length as a 32-bit big-endian number);
//! QEMU gets datagrams, one frame each (`-netdev dgram` on a socket pair). A stream netdev
//! reads whatever is waiting and hands every frame in it to the NIC at once, and QEMU's e1000
//! drops what arrives while its receive ring is full (a virtio NIC makes QEMU wait instead):
//! 200 connections opened at once lost 30 to 90 of their SYNs that way. A datagram netdev
//! reads one frame when the NIC can take one. The relay forwards whole frames only, in the
//! order they came, and blocks in a write rather than drop, so the NIC's flow control reaches
//! passt.
//!
//! It also does two things this passt leaves out of the TCP handshakes of forwarded
//! connections: it finishes them (see [`super::handshake`]), and it retransmits passt's SYN
//! when the guest does not answer it ([`SynRetry`]).
//!
//! Hand-written because nothing packaged does it: QEMU's hub repeats frames instead of
//! sorting them (and has the e1000 problem), and Debian 12's passt forwards a port on one
//! address only.

use super::handshake;
use rustix::net::{recv, RecvFlags};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The largest frame accepted (passt's and QEMU's limit, an Ethernet frame of 64 KiB).
pub const MAX_FRAME: usize = 65_535 + 14;
/// How much is read from a socket at once.
const CHUNK: usize = 256 * 1024;
/// How many of the guest's frames are gathered into one write to an instance.
const BATCH: usize = 64;

/// Where a frame from the guest goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// ARP and IPv4: the IPv4 instance.
    V4,
    /// IPv6: the IPv6 instance.
    V6,
    /// Anything else (no instance would take it).
    Drop,
}

/// The route of an Ethernet `frame` by its EtherType.
pub fn route(frame: &[u8]) -> Route {
    match frame.get(12..14) {
        Some([0x08, 0x00] | [0x08, 0x06]) => Route::V4,
        Some([0x86, 0xdd]) => Route::V6,
        _ => Route::Drop,
    }
}

/// A malformed stream: a length prefix larger than any frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLength(pub usize);

/// The whole records at the start of `buf` (each a 4-byte length and that many bytes), as
/// (start of the frame, its length); and how many bytes of `buf` they cover. What follows is
/// an incomplete record, kept for the next read.
pub fn records(buf: &[u8]) -> Result<(Vec<(usize, usize)>, usize), BadLength> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(prefix) = buf.get(at..at + 4) {
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > MAX_FRAME {
            return Err(BadLength(len));
        }
        if buf.len() < at + 4 + len {
            break;
        }
        out.push((at + 4, len));
        at += 4 + len;
    }
    Ok((out, at))
}

/// Reads `from` to its end, handing each batch of whole records to `deliver` (the bytes of
/// those records, prefixes included, and the list of their frames within them). Stops at
/// EOF, at an error, at a malformed length, or when `deliver` fails.
fn pump(mut from: impl Read, mut deliver: impl FnMut(&[u8], &[(usize, usize)]) -> io::Result<()>) {
    let mut buf = vec![0u8; CHUNK + MAX_FRAME + 4];
    let mut filled = 0;
    loop {
        let n = match from.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let Ok((frames, used)) = records(&buf[..filled]) else {
            return;
        };
        if deliver(&buf[..used], &frames).is_err() {
            return;
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        if buf.len() - filled < CHUNK {
            // An incomplete record longer than a chunk is left: room for the rest of it.
            buf.resize(filled + CHUNK, 0);
        }
    }
}

/// How long after the guest's SYN-ACK went to passt the handshake's ACK goes to the guest.
///
/// The guest's first data must not reach passt in the same read as the SYN-ACK: passt
/// (0.0~git20230309, `tap4_handler()`) hands a flow's frames to `tcp_tap_handler()` in a loop
/// that expects each call to consume the frames it returns; after a SYN-ACK it returns 1,
/// the next call takes the whole batch again, and the count goes negative and spins. The
/// guest sends nothing on the connection before this ACK, so the delay keeps the two apart
/// whenever passt reads its socket within it.
const ACK_DELAY: Duration = Duration::from_millis(5);

/// Sends the handshake ACKs to the guest, each [`ACK_DELAY`] after it was queued, unless
/// passt sent the guest something on that connection meanwhile (a client that spoke first:
/// its data carried passt's ACK, and a late ACK could reach a connection the guest already
/// closed, which it would answer with a reset). One thread: the delays are equal, so the
/// queue is in order of due time.
#[derive(Clone)]
struct Acker {
    queue: mpsc::Sender<(Instant, handshake::Flow, Vec<u8>)>,
    /// The connections whose ACK is queued, in passt's direction.
    pending: Arc<Mutex<HashSet<handshake::Flow>>>,
}

impl Acker {
    /// Starts the sending thread; it ends when every clone of the returned [`Acker`] is gone.
    fn start(to_guest: UnixDatagram) -> (Acker, JoinHandle<()>) {
        let (queue, rx) = mpsc::channel::<(Instant, handshake::Flow, Vec<u8>)>();
        let pending = Arc::new(Mutex::new(HashSet::new()));
        let still = Arc::clone(&pending);
        let thread = thread::spawn(move || {
            for (due, flow, frame) in rx {
                thread::sleep(due.saturating_duration_since(Instant::now()));
                let due = still.lock().is_ok_and(|mut p| p.remove(&flow));
                if due && to_guest.send(&frame).is_err() {
                    return;
                }
            }
        });
        (Acker { queue, pending }, thread)
    }

    /// Queues `ack` (a frame from [`handshake::ack_for`]).
    fn send(&self, ack: Vec<u8>) {
        let Some(flow) = handshake::flow(&ack) else {
            return;
        };
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(flow);
        }
        let _ = self.queue.send((Instant::now() + ACK_DELAY, flow, ack));
    }

    /// Notes a frame passt sends the guest: its connection needs no ACK of ours.
    fn passt_sent(&self, frame: &[u8]) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if !pending.is_empty() {
            if let Some(flow) = handshake::flow(frame) {
                pending.remove(&flow);
            }
        }
    }
}

/// When passt's SYN to the guest, unanswered, goes again: after 1 s (RFC 6298's initial
/// retransmission timeout), 3 s and 7 s — all before passt gives up at 10 s.
const SYN_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::from_secs(7),
];
/// How often the retransmitting thread looks at the SYNs waiting for an answer.
const SYN_TICK: Duration = Duration::from_millis(100);
/// The longest frame a SYN, SYN-ACK or RST can be (Ethernet, an IPv6 header, TCP with all
/// its options): longer frames are data and are not parsed.
const OPENING_MAX: usize = 14 + 40 + 60;

/// A SYN of passt's that the guest has not answered: the frame, when it first went, and how
/// many retransmissions of it went since.
struct Unanswered {
    frame: Vec<u8>,
    first: Instant,
    sent: usize,
}

/// Retransmits passt's SYNs to the guest until the guest answers (SYN-ACK or RST).
///
/// passt (0.0~git20230309) sends the SYN of a connection to a forwarded port once and resets
/// the host's connection after 10 s without an answer — a TCP client would retransmit it. A
/// guest drops a SYN that comes before its address is configured (a client that connects
/// while DHCP is finishing: the DHCP reply and the SYN arrive together, and the SYN is
/// processed before the lease is applied), or while its backlog is full; without this, that
/// client waits 10 s for a reset. A retransmitted SYN that reaches a guest which did answer
/// the first (its SYN-ACK still on its way) is ignored by its TCP.
#[derive(Clone)]
struct SynRetry {
    waiting: Arc<Mutex<HashMap<handshake::Flow, Unanswered>>>,
    /// Only held: the thread ends when every clone is gone.
    _alive: mpsc::Sender<()>,
}

impl SynRetry {
    /// Starts the retransmitting thread; it ends when every clone of the returned
    /// [`SynRetry`] is gone.
    fn start(to_guest: UnixDatagram) -> (SynRetry, JoinHandle<()>) {
        let (alive, ended) = mpsc::channel::<()>();
        let waiting: Arc<Mutex<HashMap<handshake::Flow, Unanswered>>> = Arc::default();
        let shared = Arc::clone(&waiting);
        let thread = thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = ended.recv_timeout(SYN_TICK) {
                let mut due = Vec::new();
                if let Ok(mut waiting) = shared.lock() {
                    let now = Instant::now();
                    waiting.retain(|_, syn| {
                        let Some(&after) = SYN_RETRIES.get(syn.sent) else {
                            return false; // passt has given up on it
                        };
                        if now >= syn.first + after {
                            due.push(syn.frame.clone());
                            syn.sent += 1;
                        }
                        true
                    });
                }
                for frame in due {
                    if to_guest.send(&frame).is_err() {
                        return;
                    }
                }
            }
        });
        (
            SynRetry {
                waiting,
                _alive: alive,
            },
            thread,
        )
    }

    /// Notes a frame passt sends the guest: a SYN waits for its answer.
    fn passt_sent(&self, frame: &[u8]) {
        if frame.len() > OPENING_MAX {
            return;
        }
        if let Some((handshake::Opening::Syn, flow)) = handshake::opening(frame) {
            if let Ok(mut waiting) = self.waiting.lock() {
                waiting.insert(
                    flow,
                    Unanswered {
                        frame: frame.to_vec(),
                        first: Instant::now(),
                        sent: 0,
                    },
                );
            }
        }
    }

    /// Notes a frame the guest sends passt: a SYN-ACK or RST answers its connection's SYN.
    fn guest_sent(&self, frame: &[u8]) {
        if frame.len() > OPENING_MAX {
            return;
        }
        let Ok(mut waiting) = self.waiting.lock() else {
            return;
        };
        if waiting.is_empty() {
            return;
        }
        if let Some((handshake::Opening::Answer, (src, sport, dst, dport))) =
            handshake::opening(frame)
        {
            waiting.remove(&(dst, dport, src, sport));
        }
    }
}

/// The relay's threads and a handle on each socket to end them.
#[derive(Debug)]
pub struct Relay {
    threads: Vec<JoinHandle<()>>,
    guest: UnixDatagram,
    instances: Vec<UnixStream>,
}

/// Appends `frame` to `batch` as a stream record.
fn push_record(batch: &mut Vec<u8>, frame: &[u8]) {
    batch.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    batch.extend_from_slice(frame);
}

impl Relay {
    /// Starts relaying between `guest` (the relay's end of QEMU's datagram socket pair) and
    /// the instances' stream sockets `v4` and `v6` (either may be absent: that family's frames
    /// are dropped).
    pub fn start(
        guest: UnixDatagram,
        v4: Option<UnixStream>,
        v6: Option<UnixStream>,
    ) -> io::Result<Relay> {
        let mut instances = Vec::new();
        for side in [&v4, &v6].into_iter().flatten() {
            instances.push(side.try_clone()?);
        }
        let mut threads = Vec::new();
        // The guest's frames, sorted: what is waiting goes in one write per instance.
        let from_guest = guest.try_clone()?;
        let (acks, acker) = Acker::start(guest.try_clone()?);
        let syn_acks = acks.clone();
        let (syns, syn_retry) = SynRetry::start(guest.try_clone()?);
        let answers = syns.clone();
        let mut to_v4 = v4.as_ref().map(UnixStream::try_clone).transpose()?;
        let mut to_v6 = v6.as_ref().map(UnixStream::try_clone).transpose()?;
        threads.push(thread::spawn(move || {
            let mut frame = vec![0u8; MAX_FRAME];
            let (mut batch4, mut batch6) = (Vec::new(), Vec::new());
            'relay: loop {
                let mut flags = RecvFlags::empty();
                for _ in 0..BATCH {
                    let len = match recv(&from_guest, &mut frame[..], flags) {
                        Ok((0, _)) if flags.is_empty() => break 'relay,
                        Ok((n, _)) => n,
                        Err(rustix::io::Errno::AGAIN) => break,
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(_) => break 'relay,
                    };
                    match route(&frame[..len]) {
                        Route::V4 => push_record(&mut batch4, &frame[..len]),
                        Route::V6 => push_record(&mut batch6, &frame[..len]),
                        Route::Drop => {}
                    }
                    // passt leaves the handshake of a forwarded connection unfinished
                    // (see handshake.rs): its last ACK, sent to the guest a little later.
                    if let Some(ack) = handshake::ack_for(&frame[..len]) {
                        syn_acks.send(ack);
                    }
                    answers.guest_sent(&frame[..len]);
                    // After the first frame, take only what is already waiting.
                    flags = RecvFlags::DONTWAIT;
                }
                for (batch, to) in [(&mut batch4, &mut to_v4), (&mut batch6, &mut to_v6)] {
                    if let Some(socket) = to.as_mut().filter(|_| !batch.is_empty()) {
                        // An instance that is gone loses its frames; the other goes on.
                        if socket.write_all(batch).is_err() {
                            *to = None;
                        }
                    }
                    batch.clear();
                }
            }
            // The relay is stopping: so are the instances' peers.
            for socket in [to_v4, to_v6].into_iter().flatten() {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }));
        // Each instance's frames, as they come, one datagram each to the guest.
        for instance in [v4, v6].into_iter().flatten() {
            let to_guest = guest.try_clone()?;
            let acks = acks.clone();
            let syns = syns.clone();
            threads.push(thread::spawn(move || {
                pump(instance, |bytes, frames| {
                    for &(start, len) in frames {
                        acks.passt_sent(&bytes[start..start + len]);
                        syns.passt_sent(&bytes[start..start + len]);
                        to_guest.send(&bytes[start..start + len])?;
                    }
                    Ok(())
                });
            }));
        }
        // Last: it ends once the threads above (which hold its queue) have.
        drop((acks, syns));
        threads.push(acker);
        threads.push(syn_retry);
        Ok(Relay {
            threads,
            guest,
            instances,
        })
    }

    /// Ends the relay: shuts every socket down, which ends each thread's read or write, and
    /// waits for the threads.
    pub fn stop(self) {
        let _ = self.guest.shutdown(Shutdown::Both);
        for socket in &self.instances {
            let _ = socket.shutdown(Shutdown::Both);
        }
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ethertype: [u8; 2], body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype);
        f.extend_from_slice(body);
        f
    }

    fn record(frame: &[u8]) -> Vec<u8> {
        let mut r = (frame.len() as u32).to_be_bytes().to_vec();
        r.extend_from_slice(frame);
        r
    }

    #[test]
    fn frames_are_routed_by_ethertype() {
        assert_eq!(route(&frame([0x08, 0x00], b"ip")), Route::V4);
        assert_eq!(route(&frame([0x08, 0x06], b"arp")), Route::V4);
        assert_eq!(route(&frame([0x86, 0xdd], b"ip6")), Route::V6);
        assert_eq!(route(&frame([0x88, 0xcc], b"lldp")), Route::Drop);
        assert_eq!(route(&[0u8; 13]), Route::Drop);
    }

    #[test]
    fn records_split_at_whole_frames() {
        let a = record(&frame([0x08, 0x00], b"first"));
        let b = record(&frame([0x86, 0xdd], b"second"));
        let mut buf = [a.clone(), b.clone()].concat();
        let (frames, used) = records(&buf).unwrap();
        assert_eq!(frames, [(4, a.len() - 4), (a.len() + 4, b.len() - 4)]);
        assert_eq!(used, buf.len());
        // A record cut anywhere, its prefix included, waits for the rest.
        for cut in 1..b.len() {
            buf.truncate(a.len() + cut);
            let (frames, used) = records(&buf).unwrap();
            assert_eq!((frames.len(), used), (1, a.len()), "cut at {cut}");
        }
        assert_eq!(records(&[]).unwrap(), (vec![], 0));
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert_eq!(records(&huge), Err(BadLength(MAX_FRAME + 1)));
    }

    /// Reads what `socket` receives until `want` bytes came.
    fn read_exactly(socket: &mut UnixStream, want: usize) -> Vec<u8> {
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut got = vec![0u8; want];
        socket.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn the_relay_sorts_the_guests_frames_and_merges_the_instances() {
        let (qemu, relay_qemu) = UnixDatagram::pair().unwrap();
        let (mut passt4, relay_v4) = UnixStream::pair().unwrap();
        let (mut passt6, relay_v6) = UnixStream::pair().unwrap();
        let relay = Relay::start(relay_qemu, Some(relay_v4), Some(relay_v6)).unwrap();
        let arp = frame([0x08, 0x06], b"who has");
        let ip6 = frame([0x86, 0xdd], &[7u8; 3000]);
        let ip4 = frame([0x08, 0x00], b"datagram");
        let other = frame([0x88, 0xcc], b"lldp");
        for f in [&arp, &ip6, &other, &ip4] {
            qemu.send(f).unwrap();
        }
        assert_eq!(
            read_exactly(&mut passt4, arp.len() + ip4.len() + 8),
            [record(&arp), record(&ip4)].concat()
        );
        assert_eq!(read_exactly(&mut passt6, ip6.len() + 4), record(&ip6));
        // Back to the guest: one datagram per frame, whole even when written in pieces.
        let reply4 = frame([0x08, 0x00], &[4u8; 2000]);
        let reply6 = frame([0x86, 0xdd], &[6u8; 2000]);
        let (r4, r6) = (record(&reply4), record(&reply6));
        passt4.write_all(&r4[..10]).unwrap();
        passt6.write_all(&r6).unwrap();
        passt4.write_all(&r4[10..]).unwrap();
        qemu.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            let mut buf = vec![0u8; MAX_FRAME];
            let n = qemu.recv(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
        }
        got.sort();
        let mut want = vec![reply4, reply6];
        want.sort();
        assert_eq!(got, want);
        // A datagram socket sees no end when its peer closes: stopping the relay closes the
        // instances' sockets, and they see theirs.
        drop(qemu);
        relay.stop();
        let mut rest = Vec::new();
        passt4.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        passt6.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }

    /// A TCP segment from passt (10.0.2.2:`port`) to the guest (10.0.2.15:80), or the
    /// other way with `reply`.
    fn segment(port: u16, reply: bool, set: impl Fn(TcpStep) -> TcpStep) -> Vec<u8> {
        let (a, b) = ([10, 0, 2, 2], [10, 0, 2, 15]);
        let (src, dst, sport, dport) = if reply {
            (b, a, 80, port)
        } else {
            (a, b, port, 80)
        };
        let tcp = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, 1000, 4096);
        let mut out = Vec::new();
        set(tcp).write(&mut out, &[]).unwrap();
        out
    }

    type TcpStep = etherparse::PacketBuilderStep<etherparse::TcpHeader>;

    #[test]
    fn a_syn_the_guest_does_not_answer_goes_again() {
        let (qemu, relay_qemu) = UnixDatagram::pair().unwrap();
        let (mut passt4, relay_v4) = UnixStream::pair().unwrap();
        let relay = Relay::start(relay_qemu, Some(relay_v4), None).unwrap();
        let unanswered = segment(40001, false, |t| t.syn());
        let refused = segment(40002, false, |t| t.syn());
        let data = segment(40003, false, |t| t.ack(5));
        for f in [&unanswered, &refused, &data] {
            passt4.write_all(&record(f)).unwrap();
        }
        qemu.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = vec![0u8; MAX_FRAME];
        let mut next = || {
            let n = qemu.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        };
        assert_eq!(
            [next(), next(), next()],
            [&unanswered, &refused, &data].map(Vec::clone)
        );
        // The guest refuses one connection (as for a port nobody listens on).
        qemu.send(&segment(40002, true, |t| t.ack(1001).rst()))
            .unwrap();
        // The other's SYN goes again at 1 s and 3 s; nothing else does (the refused SYN's
        // retransmission would have come at 1 s, the data segment is no SYN).
        assert_eq!(next(), unanswered);
        assert_eq!(next(), unanswered);
        // Answered now: no retransmission at 7 s. (Checked by what arrives first: a frame
        // sent after the answer.)
        qemu.send(&segment(40001, true, |t| t.syn().ack(1001)))
            .unwrap();
        let later = segment(40004, false, |t| t.ack(9));
        std::thread::sleep(SYN_RETRIES[2] - SYN_RETRIES[1] + Duration::from_secs(1));
        passt4.write_all(&record(&later)).unwrap();
        // The handshake ACK the relay completes the answered connection with comes first.
        let ack = next();
        assert_eq!(handshake::flow(&ack), handshake::flow(&unanswered));
        assert_eq!(next(), later);
        drop(qemu);
        relay.stop();
    }

    #[test]
    fn one_instance_alone() {
        let (qemu, relay_qemu) = UnixDatagram::pair().unwrap();
        let (mut passt4, relay_v4) = UnixStream::pair().unwrap();
        let relay = Relay::start(relay_qemu, Some(relay_v4), None).unwrap();
        let ip6 = frame([0x86, 0xdd], b"nobody takes this");
        let ip4 = frame([0x08, 0x00], b"datagram");
        qemu.send(&ip6).unwrap();
        qemu.send(&ip4).unwrap();
        assert_eq!(read_exactly(&mut passt4, ip4.len() + 4), record(&ip4));
        drop(qemu);
        relay.stop();
    }
}
