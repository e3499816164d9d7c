//! The AF_UNIX table driven with values: each case is a Linux behaviour (the differential
//! program tests/programs/unix_sockets.c checks the same against Linux itself).

use alloc::vec;
use alloc::vec::Vec;

use super::*;

/// Rights are plain numbers here (the kernel passes `Arc<OpenFile>`).
type T = Table<u32>;

const ME: Cred = Cred {
    pid: 1,
    uid: 0,
    gid: 0,
};

fn send(t: &mut T, id: SockId, data: &[u8]) -> Result<usize, Errno> {
    send_rights(t, id, data, vec![])
}

fn send_rights(t: &mut T, id: SockId, data: &[u8], mut rights: Vec<u32>) -> Result<usize, Errno> {
    t.send(
        id,
        None,
        Send {
            data,
            rights: &mut rights,
            cred: ME,
        },
    )
}

fn send_to(t: &mut T, id: SockId, to: SockId, data: &[u8]) -> Result<usize, Errno> {
    t.send(
        id,
        Some(to),
        Send {
            data,
            rights: &mut vec![],
            cred: ME,
        },
    )
}

fn recv_n(t: &mut T, id: SockId, n: usize) -> Result<(Vec<u8>, Received<u32>), Errno> {
    let mut buf = vec![0u8; n];
    let r = t.recv(id, &mut buf, RecvFlags::default())?;
    buf.truncate(r.len);
    Ok((buf, r))
}

fn recv(t: &mut T, id: SockId) -> Result<Vec<u8>, Errno> {
    recv_n(t, id, 4096).map(|(b, _)| b)
}

fn listener(t: &mut T, name: &[u8], backlog: usize) -> SockId {
    let l = t.socket(Kind::Stream);
    t.bind_abstract(l, name.to_vec()).unwrap();
    t.listen(l, backlog, ME).unwrap();
    l
}

#[test]
fn socketpair_stream_bytes_flow_and_writes_join() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    assert_eq!(send(&mut t, a, b"hello "), Ok(6));
    assert_eq!(send(&mut t, a, b"world"), Ok(5));
    assert_eq!(t.pending_bytes(b), Ok(11));
    assert_eq!(t.unread_sent(a), Ok(11));
    let (got, _) = recv_n(&mut t, b, 4).unwrap();
    assert_eq!(got, b"hell");
    assert_eq!(recv(&mut t, b).unwrap(), b"o world");
    assert_eq!(recv(&mut t, b), Err(errno::EAGAIN));
    assert_eq!(t.unread_sent(a), Ok(0));
    // Both ways.
    send(&mut t, b, b"back").unwrap();
    assert_eq!(recv(&mut t, a).unwrap(), b"back");
    assert_eq!(t.peer_cred(a), Ok(ME));
    assert_eq!(t.name(a), Ok(Addr::Unnamed));
    assert_eq!(t.peer_name(a), Ok(Addr::Unnamed));
}

#[test]
fn close_gives_eof_then_epipe_and_reset_if_unread() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, a, b"last").unwrap();
    let f = t.close(a);
    assert!(f.rights.is_empty() && f.inos.is_empty());
    assert_eq!(
        recv(&mut t, b).unwrap(),
        b"last",
        "data written before close"
    );
    assert_eq!(recv(&mut t, b).unwrap(), b"", "then end of stream");
    assert_eq!(send(&mut t, b, b"x"), Err(errno::EPIPE));
    let r = t.readiness(b);
    assert!(r.contains(Events::IN | Events::OUT | Events::HUP | Events::RDHUP));
    assert!(!r.contains(Events::ERR));

    // Closing with unread data resets the peer: ECONNRESET once, then end of stream.
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, b, b"never read").unwrap();
    t.close(a);
    assert!(t.readiness(b).contains(Events::ERR));
    assert_eq!(recv(&mut t, b), Err(errno::ECONNRESET));
    assert_eq!(recv(&mut t, b).unwrap(), b"");
    assert_eq!(t.unread_sent(b), Ok(0), "thrown-away bytes are uncharged");
}

#[test]
fn shutdown_halves() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, a, b"pending").unwrap();
    t.shutdown(a, 1).unwrap(); // SHUT_WR
    assert_eq!(send(&mut t, a, b"x"), Err(errno::EPIPE));
    assert_eq!(recv(&mut t, b).unwrap(), b"pending");
    assert_eq!(
        recv(&mut t, b).unwrap(),
        b"",
        "the writer's shutdown is EOF"
    );
    assert!(t.readiness(b).contains(Events::RDHUP | Events::IN));
    assert!(!t.readiness(b).contains(Events::HUP));
    // b can still write to a.
    send(&mut t, b, b"reply").unwrap();
    assert_eq!(recv(&mut t, a).unwrap(), b"reply");

    // SHUT_RD: queued data is still read, then EOF; the peer's writes fail.
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, b, b"queued").unwrap();
    t.shutdown(a, 0).unwrap();
    assert_eq!(send(&mut t, b, b"more"), Err(errno::EPIPE));
    assert_eq!(recv(&mut t, a).unwrap(), b"queued");
    assert_eq!(recv(&mut t, a).unwrap(), b"");
    t.shutdown(a, 2).unwrap();
    assert!(t.readiness(a).contains(Events::HUP));
    assert_eq!(t.shutdown(a, 3), Err(errno::EINVAL));
}

#[test]
fn fresh_and_listening_stream_readiness() {
    let mut t = T::new();
    let s = t.socket(Kind::Stream);
    assert_eq!(t.readiness(s), Events::OUT | Events::HUP);
    assert_eq!(recv(&mut t, s), Err(errno::EINVAL));
    assert_eq!(send(&mut t, s, b"x"), Err(errno::ENOTCONN));
    assert_eq!(t.peer_name(s), Err(errno::ENOTCONN));
    assert_eq!(t.peer_cred(s), Ok(Cred::NOBODY));
    let q = t.socket(Kind::SeqPacket);
    assert_eq!(recv(&mut t, q), Err(errno::ENOTCONN));
    assert_eq!(send(&mut t, q, b"x"), Err(errno::ENOTCONN));
    let l = listener(&mut t, b"l", 5);
    assert_eq!(t.readiness(l), Events::NONE);
    assert_eq!(t.peer_cred(l), Ok(ME), "a listener reports its own");
    assert_eq!(t.pending_bytes(l), Err(errno::EINVAL));
}

#[test]
fn listen_connect_accept() {
    let mut t = T::new();
    let unbound = t.socket(Kind::Stream);
    assert_eq!(t.listen(unbound, 5, ME), Err(errno::EINVAL));
    let d = t.socket(Kind::Dgram);
    t.bind_abstract(d, b"d".to_vec()).unwrap();
    assert_eq!(t.listen(d, 5, ME), Err(errno::EOPNOTSUPP));
    let l = listener(&mut t, b"srv", 1);
    assert_eq!(t.accept(l), Err(errno::EAGAIN));
    let c = t.socket(Kind::Stream);
    t.connect(c, l, ME).unwrap();
    assert!(t.readiness(l).contains(Events::IN));
    // Connected at once: the client may write before accept.
    send(&mut t, c, b"early").unwrap();
    assert_eq!(t.connect(c, l, ME), Err(errno::EISCONN));
    let s = t.accept(l).unwrap();
    assert_eq!(recv(&mut t, s).unwrap(), b"early");
    assert_eq!(t.name(s), Ok(Addr::Abstract(b"srv".to_vec())));
    assert_eq!(t.peer_name(s), Ok(Addr::Unnamed));
    assert_eq!(t.peer_name(c), Ok(Addr::Abstract(b"srv".to_vec())));
    assert_eq!(t.peer_cred(c), Ok(ME));
    // Wrong type and not listening.
    let q = t.socket(Kind::SeqPacket);
    assert_eq!(t.connect(q, l, ME), Err(errno::EPROTOTYPE));
    let idle = t.socket(Kind::Stream);
    t.bind_abstract(idle, b"idle".to_vec()).unwrap();
    let c2 = t.socket(Kind::Stream);
    assert_eq!(t.connect(c2, idle, ME), Err(errno::ECONNREFUSED));
    assert_eq!(t.connect(c2, 999, ME), Err(errno::ECONNREFUSED));
    assert_eq!(t.connect(l, idle, ME), Err(errno::EINVAL), "a listener");
    assert_eq!(t.accept(c), Err(errno::EINVAL));
}

#[test]
fn backlog_holds_one_more_and_listener_close_resets_clients() {
    let mut t = T::new();
    let l = listener(&mut t, b"b", 1);
    let clients: Vec<SockId> = (0..3).map(|_| t.socket(Kind::Stream)).collect();
    assert_eq!(t.connect(clients[0], l, ME), Ok(()));
    assert_eq!(t.connect(clients[1], l, ME), Ok(()));
    assert_eq!(t.connect(clients[2], l, ME), Err(errno::EAGAIN));
    let s = t.accept(l).unwrap();
    assert_eq!(t.connect(clients[2], l, ME), Ok(()), "room again");
    let before = t.len();
    t.close(l);
    assert_eq!(
        t.len(),
        before - 3,
        "the listener and its two queued server ends"
    );
    assert_eq!(recv(&mut t, clients[1]), Err(errno::ECONNRESET));
    assert_eq!(recv(&mut t, clients[1]).unwrap(), b"");
    assert_eq!(send(&mut t, clients[2], b"x"), Err(errno::EPIPE));
    // The accepted one is unaffected.
    send(&mut t, clients[0], b"ok").unwrap();
    assert_eq!(recv(&mut t, s).unwrap(), b"ok");
}

#[test]
fn names_bind_once_and_are_freed_on_close() {
    let mut t = T::new();
    let a = t.socket(Kind::Dgram);
    t.bind_abstract(a, b"name".to_vec()).unwrap();
    assert_eq!(t.bind_abstract(a, b"other".to_vec()), Err(errno::EINVAL));
    let b = t.socket(Kind::Dgram);
    assert_eq!(t.bind_abstract(b, b"name".to_vec()), Err(errno::EADDRINUSE));
    assert_eq!(t.find_abstract(b"name"), Some(a));
    let p = t.socket(Kind::Stream);
    t.bind_path(p, b"/tmp/s".to_vec(), 42).unwrap();
    assert_eq!(t.find_path(42), Some(p));
    assert_eq!(t.name(p), Ok(Addr::Path(b"/tmp/s".to_vec())));
    assert_eq!(t.check_unbound(p), Err(errno::EINVAL));
    assert_eq!(t.close(p).inos, vec![42], "the inode goes back to the VFS");
    assert_eq!(t.find_path(42), None);
    t.close(a);
    assert_eq!(t.find_abstract(b"name"), None);
    t.bind_abstract(b, b"name".to_vec()).unwrap();
}

#[test]
fn autobind_picks_five_hex_digits() {
    let mut t = T::new();
    let a = t.socket(Kind::Dgram);
    t.autobind(a).unwrap();
    let Addr::Abstract(n) = t.name(a).unwrap() else {
        panic!("abstract")
    };
    assert_eq!(n.len(), 5);
    assert!(n.iter().all(u8::is_ascii_hexdigit));
    assert_eq!(Addr::Abstract(n.clone()).to_bytes().len(), 8);
    t.autobind(a).unwrap();
    assert_eq!(t.name(a), Ok(Addr::Abstract(n.clone())), "kept");
    let b = t.socket(Kind::Dgram);
    t.autobind(b).unwrap();
    assert_ne!(t.name(b), Ok(Addr::Abstract(n)));
    // SO_PASSCRED autobinds a sender.
    let c = t.socket(Kind::Dgram);
    t.set_passcred(c, true).unwrap();
    send_to(&mut t, c, a, b"hi").unwrap();
    assert!(matches!(t.name(c), Ok(Addr::Abstract(_))));
}

#[test]
fn datagrams_keep_boundaries_senders_and_truncate() {
    let mut t = T::new();
    let srv = t.socket(Kind::Dgram);
    t.bind_abstract(srv, b"srv".to_vec()).unwrap();
    let cli = t.socket(Kind::Dgram);
    assert_eq!(send(&mut t, cli, b"x"), Err(errno::ENOTCONN));
    send_to(&mut t, cli, srv, b"one").unwrap();
    t.bind_abstract(cli, b"cli".to_vec()).unwrap();
    send_to(&mut t, cli, srv, b"two!").unwrap();
    send_to(&mut t, cli, srv, b"").unwrap();
    assert_eq!(t.pending_bytes(srv), Ok(3), "the next datagram's length");
    let (got, r) = recv_n(&mut t, srv, 100).unwrap();
    assert_eq!((got.as_slice(), r.from), (&b"one"[..], Addr::Unnamed));
    let (got, r) = recv_n(&mut t, srv, 2).unwrap();
    assert_eq!(got, b"tw");
    assert_eq!(r.full_len, 4, "cut to the buffer, the rest thrown away");
    assert_eq!(r.from, Addr::Abstract(b"cli".to_vec()));
    let (got, r) = recv_n(&mut t, srv, 100).unwrap();
    assert_eq!((got.len(), r.full_len), (0, 0), "an empty datagram");
    assert_eq!(recv(&mut t, srv), Err(errno::EAGAIN));
    // Peek leaves it.
    send_to(&mut t, cli, srv, b"peek").unwrap();
    let mut buf = [0u8; 8];
    let r = t.recv(srv, &mut buf, RecvFlags { peek: true }).unwrap();
    assert_eq!(&buf[..r.len], b"peek");
    assert_eq!(recv(&mut t, srv).unwrap(), b"peek");
    // Too big for the send buffer.
    let big = vec![0u8; DEFAULT_BUF];
    assert_eq!(send_to(&mut t, cli, srv, &big), Err(errno::EMSGSIZE));
    assert_eq!(t.check_datagram_send(cli, DEFAULT_BUF - 32, true), Ok(()));
    assert_eq!(
        t.check_datagram_send(cli, 1, false),
        Err(errno::ENOTCONN),
        "no destination is checked before the size"
    );
    // To a stream socket.
    let st = t.socket(Kind::Stream);
    assert_eq!(send_to(&mut t, cli, st, b"x"), Err(errno::EPROTOTYPE));
    // Its own shutdown stops a datagram sender (the peer is not told).
    t.shutdown(cli, 1).unwrap();
    assert_eq!(send_to(&mut t, cli, srv, b"x"), Err(errno::EPIPE));
    assert!(!t.readiness(srv).contains(Events::RDHUP));
}

#[test]
fn datagram_queue_limit_applies_to_strangers_only() {
    let mut t = T::new();
    let srv = t.socket(Kind::Dgram);
    let cli = t.socket(Kind::Dgram);
    for i in 0..=MAX_DGRAM_QLEN {
        assert_eq!(send_to(&mut t, cli, srv, b"d"), Ok(1), "datagram {i}");
    }
    assert_eq!(send_to(&mut t, cli, srv, b"d"), Err(errno::EAGAIN));
    t.connect(cli, srv, ME).unwrap();
    assert!(!t.readiness(cli).contains(Events::OUT));
    recv(&mut t, srv).unwrap();
    assert!(t.readiness(cli).contains(Events::OUT));
    // A socketpair's ends are connected to each other: only the send buffer limits.
    let (a, b) = t.pair(Kind::Dgram, ME);
    for _ in 0..100 {
        send(&mut t, a, b"p").unwrap();
    }
    assert_eq!(t.pending_bytes(b), Ok(1));
}

#[test]
fn connected_datagram_peer_gone_is_refused_once() {
    let mut t = T::new();
    let srv = t.socket(Kind::Dgram);
    let cli = t.socket(Kind::Dgram);
    t.connect(cli, srv, ME).unwrap();
    assert_eq!(t.peer_name(cli), Ok(Addr::Unnamed));
    send(&mut t, cli, b"x").unwrap();
    t.close(srv);
    assert_eq!(send(&mut t, cli, b"x"), Err(errno::ECONNREFUSED));
    assert_eq!(send(&mut t, cli, b"x"), Err(errno::ENOTCONN));
    assert_eq!(t.peer_name(cli), Err(errno::ENOTCONN));
    // A socket connected elsewhere takes nothing from strangers.
    let a = t.socket(Kind::Dgram);
    let b = t.socket(Kind::Dgram);
    let c = t.socket(Kind::Dgram);
    t.connect(a, b, ME).unwrap();
    assert_eq!(send_to(&mut t, c, a, b"x"), Err(errno::EPERM));
    assert_eq!(t.connect(c, a, ME), Err(errno::EPERM));
    assert_eq!(send_to(&mut t, b, a, b"x"), Ok(1));
    t.disconnect(a).unwrap();
    assert_eq!(send_to(&mut t, c, a, b"x"), Ok(1));
}

#[test]
fn seqpacket_keeps_records_and_ends() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::SeqPacket, ME);
    send(&mut t, a, b"first").unwrap();
    send(&mut t, a, b"second").unwrap();
    let (got, r) = recv_n(&mut t, b, 3).unwrap();
    assert_eq!((got.as_slice(), r.full_len), (&b"fir"[..], 5));
    assert_eq!(recv(&mut t, b).unwrap(), b"second");
    t.close(a);
    assert_eq!(recv(&mut t, b).unwrap(), b"", "EOF");
    assert_eq!(send(&mut t, b, b"x"), Err(errno::EPIPE));
    assert!(t
        .readiness(b)
        .contains(Events::HUP | Events::IN | Events::RDHUP));
}

#[test]
fn rights_travel_with_their_write_and_stop_a_stream_read() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, a, b"plain").unwrap();
    send_rights(&mut t, a, b"with", vec![7, 8]).unwrap();
    send(&mut t, a, b"after").unwrap();
    let (got, r) = recv_n(&mut t, b, 100).unwrap();
    assert_eq!(
        got, b"plainwith",
        "joined up to and including the write with rights"
    );
    assert_eq!(r.rights, vec![7, 8]);
    let (got, r) = recv_n(&mut t, b, 100).unwrap();
    assert_eq!((got.as_slice(), r.rights.len()), (&b"after"[..], 0));
    // A partial read of the write takes its rights.
    send_rights(&mut t, a, b"abcdef", vec![9]).unwrap();
    let (got, r) = recv_n(&mut t, b, 2).unwrap();
    assert_eq!((got.as_slice(), r.rights), (&b"ab"[..], vec![9]));
    let (got, r) = recv_n(&mut t, b, 100).unwrap();
    assert_eq!((got.as_slice(), r.rights.len()), (&b"cdef"[..], 0));
    // Peek hands out copies and keeps them queued.
    send_rights(&mut t, a, b"p", vec![3]).unwrap();
    let mut buf = [0u8; 4];
    let r = t.recv(b, &mut buf, RecvFlags { peek: true }).unwrap();
    assert_eq!(r.rights, vec![3]);
    let (_, r) = recv_n(&mut t, b, 4).unwrap();
    assert_eq!(r.rights, vec![3]);
    // A stream write of no bytes sends nothing, rights included.
    let mut rights = vec![5];
    let n = t.send(
        a,
        None,
        Send {
            data: b"",
            rights: &mut rights,
            cred: ME,
        },
    );
    assert_eq!((n, rights), (Ok(0), vec![5]));
    // A send that fails leaves the rights with the caller.
    let (x, y) = t.pair(Kind::Dgram, ME);
    t.close(y);
    let mut rights = vec![6];
    let r = t.send(
        x,
        None,
        Send {
            data: b"d",
            rights: &mut rights,
            cred: ME,
        },
    );
    assert_eq!((r, rights), (Err(errno::ECONNREFUSED), vec![6]));
    // Unreceived rights come back when the receiver closes.
    send_rights(&mut t, a, b"lost", vec![11, 12]).unwrap();
    assert_eq!(t.close(b).rights, vec![11, 12]);
}

#[test]
fn rights_on_datagrams() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Dgram, ME);
    send_rights(&mut t, a, b"d", vec![4]).unwrap();
    let (_, r) = recv_n(&mut t, b, 10).unwrap();
    assert_eq!(r.rights, vec![4]);
    send_rights(&mut t, a, b"e", vec![5]).unwrap();
    assert_eq!(t.close(b).rights, vec![5]);
}

#[test]
fn the_send_buffer_bounds_stream_writes() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    t.set_sndbuf(a, 4096).unwrap();
    assert_eq!(t.buffers(a), Ok((8192, DEFAULT_BUF)));
    let big = vec![1u8; 20_000];
    assert_eq!(send(&mut t, a, &big), Ok(8192), "a partial write");
    assert_eq!(send(&mut t, a, b"x"), Err(errno::EAGAIN));
    assert!(!t.readiness(a).contains(Events::OUT));
    recv_n(&mut t, b, 6000).unwrap();
    assert!(
        !t.readiness(a).contains(Events::OUT),
        "writable only below a quarter"
    );
    assert_eq!(send(&mut t, a, &big), Ok(6000));
    recv_n(&mut t, b, 8192 - 1024).unwrap();
    assert!(t.readiness(a).contains(Events::OUT));
    // Clamps.
    t.set_sndbuf(a, 1).unwrap();
    assert_eq!(t.buffers(a).unwrap().0, MIN_SNDBUF);
    t.set_sndbuf(a, -1).unwrap();
    assert_eq!(t.buffers(a).unwrap().0, 2 * MAX_BUF);
    t.set_rcvbuf(a, 1).unwrap();
    assert_eq!(t.buffers(a).unwrap().1, MIN_RCVBUF);
}

#[test]
fn credentials_split_stream_reads_only_with_passcred() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    let other = Cred {
        pid: 1,
        uid: 5,
        gid: 5,
    };
    send(&mut t, a, b"mine").unwrap();
    t.send(
        a,
        None,
        Send {
            data: b"theirs",
            rights: &mut vec![],
            cred: other,
        },
    )
    .unwrap();
    t.set_passcred(b, true).unwrap();
    let (got, r) = recv_n(&mut t, b, 100).unwrap();
    assert_eq!((got.as_slice(), r.cred), (&b"mine"[..], ME));
    let (got, r) = recv_n(&mut t, b, 100).unwrap();
    assert_eq!((got.as_slice(), r.cred), (&b"theirs"[..], other));
}

#[test]
fn errors_are_reported_once_and_unknown_ids_are_ebadf() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    send(&mut t, b, b"x").unwrap();
    t.close(a);
    assert_eq!(t.take_error(b), Ok(Some(errno::ECONNRESET)));
    assert_eq!(t.take_error(b), Ok(None));
    assert_eq!(recv(&mut t, b).unwrap(), b"");
    assert_eq!(t.kind(a), Err(errno::EBADF));
    assert_eq!(t.readiness(a), Events::ERR | Events::HUP);
    assert!(t.close(a).rights.is_empty(), "closing twice is harmless");
    // A seqpacket send reports a pending error first.
    let (c, d) = t.pair(Kind::SeqPacket, ME);
    send(&mut t, d, b"unread").unwrap();
    t.close(c);
    assert_eq!(send(&mut t, d, b"x"), Err(errno::ECONNRESET));
    assert_eq!(send(&mut t, d, b"x"), Err(errno::EPIPE));
}

#[test]
fn nothing_leaks() {
    let mut t = T::new();
    let l = listener(&mut t, b"x", 10);
    for _ in 0..5 {
        let c = t.socket(Kind::Stream);
        t.connect(c, l, ME).unwrap();
        send(&mut t, c, b"data").unwrap();
        let s = t.accept(l).unwrap();
        t.close(c);
        t.close(s);
    }
    let (a, b) = t.pair(Kind::Dgram, ME);
    send(&mut t, a, b"x").unwrap();
    t.close(a);
    t.close(b);
    t.close(l);
    assert!(t.is_empty());
    assert!(t.abstract_names.is_empty() && t.path_names.is_empty());
}

#[test]
fn a_zero_length_stream_read_waits_for_data_and_takes_none() {
    let mut t = T::new();
    let (a, b) = t.pair(Kind::Stream, ME);
    assert_eq!(recv_n(&mut t, a, 0).map(|_| ()), Err(errno::EAGAIN));
    send(&mut t, b, b"z").unwrap();
    assert_eq!(recv_n(&mut t, a, 0).map(|(b, _)| b.len()), Ok(0));
    assert_eq!(recv(&mut t, a).unwrap(), b"z");
}
