//! TCP options with simulated time, on the host: TCP_CORK, keep-alive (TCP_KEEPIDLE,
//! TCP_KEEPINTVL, TCP_KEEPCNT), TCP_USER_TIMEOUT and TCP_DEFER_ACCEPT, over smoltcp's
//! loopback behind its `FaultInjector` (so a test can cut the link), with Kiln's smoltcp
//! patch (third_party/README.md) doing the holding and the timing.
#![forbid(unsafe_code)]

use smoltcp::phy::{FaultInjector, Loopback, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint, Ipv4Address};

use super::config::NetConfig;
use super::socket::{
    defer_retrans_to_secs, defer_secs_to_retrans, Family, Net, Proto, SockId, TcpOptions,
};
use super::stack::{tests::MAC, Stack};
use crate::errno::Errno;

type Link = Net<FaultInjector<Loopback>>;

fn link() -> Link {
    let (config, _) = NetConfig::from_options([("ip", "10.77.0.2/24")]);
    let device = FaultInjector::new(Loopback::new(Medium::Ethernet), 0x6b69_6c6e);
    let eth = Stack::new(device, MAC, config, Instant::from_millis(0), 7);
    Net::new(Some(eth), Instant::from_millis(0), 7)
}

/// Cuts the link (every frame lost) or mends it.
fn cut(s: &mut Link, lost: bool) {
    let device = s.eth().expect("eth0").device_mut();
    device.set_drop_chance(if lost { 100 } else { 0 });
}

const PORT: u16 = 7;

fn me() -> IpEndpoint {
    IpEndpoint::new(Ipv4Address::new(10, 77, 0, 2).into(), PORT)
}

/// A listener with `opts`, and a client with `opts` connected to it (not yet accepted).
fn listen_and_connect(s: &mut Link, t: &mut i64, opts: TcpOptions) -> (SockId, SockId) {
    let l = s.socket(Proto::Tcp, Family::V4);
    s.bind(
        l,
        IpListenEndpoint {
            addr: None,
            port: PORT,
        },
    )
    .unwrap();
    s.set_tcp_options(l, |o| *o = opts).unwrap();
    s.listen(l, 4).unwrap();
    let c = s.socket(Proto::Tcp, Family::V4);
    s.set_tcp_options(c, |o| *o = opts.inherited_by_test())
        .unwrap();
    s.connect(c, me()).unwrap();
    step_until(s, t, 5_000, |s| s.readiness(c).unwrap().writable);
    (l, c)
}

/// A connection: (client, accepted server end).
fn connection(s: &mut Link, t: &mut i64, opts: TcpOptions) -> (SockId, SockId) {
    let (l, c) = listen_and_connect(s, t, opts);
    let mut a = None;
    step_until(s, t, 5_000, |s| {
        a = s.accept(l).ok().map(|(a, _)| a);
        a.is_some()
    });
    (c, a.expect("accepted"))
}

/// Polls in 10 ms steps until `done`, at most `limit_ms`; panics if it never holds.
fn step_until(s: &mut Link, t: &mut i64, limit_ms: i64, mut done: impl FnMut(&mut Link) -> bool) {
    let end = *t + limit_ms;
    while *t <= end {
        s.poll(Instant::from_millis(*t));
        if done(s) {
            return;
        }
        *t += 10;
    }
    panic!("did not happen within {limit_ms} ms");
}

/// Polls in 10 ms steps for `ms`.
fn run_for(s: &mut Link, t: &mut i64, ms: i64) {
    let end = *t + ms;
    while *t < end {
        s.poll(Instant::from_millis(*t));
        *t += 10;
    }
}

#[test]
fn cork_holds_a_partial_segment_until_uncorked() {
    let mut s = link();
    let mut t = 0;
    let (c, a) = connection(&mut s, &mut t, TcpOptions::default());
    s.set_tcp_options(c, |o| o.cork = true).unwrap();
    assert_eq!(s.send(c, b"corked").unwrap(), 6);
    run_for(&mut s, &mut t, 100);
    assert_eq!(s.pending_bytes(a).unwrap(), 0, "held back while corked");
    s.set_tcp_options(c, |o| o.cork = false).unwrap();
    let start = t;
    step_until(&mut s, &mut t, 1_000, |s| s.pending_bytes(a).unwrap() == 6);
    assert!(
        t - start <= 20,
        "uncorking sends at once ({} ms)",
        t - start
    );
}

#[test]
fn cork_holds_a_partial_segment_200_ms_at_most() {
    let mut s = link();
    let mut t = 0;
    let (c, a) = connection(&mut s, &mut t, TcpOptions::default());
    s.set_tcp_options(c, |o| o.cork = true).unwrap();
    let start = t;
    s.send(c, b"held").unwrap();
    step_until(&mut s, &mut t, 2_000, |s| s.pending_bytes(a).unwrap() == 4);
    let held = t - start;
    assert!((200..=230).contains(&held), "held {held} ms");
}

#[test]
fn cork_lets_full_segments_through() {
    let mut s = link();
    let mut t = 0;
    let (c, a) = connection(&mut s, &mut t, TcpOptions::default());
    s.set_tcp_options(c, |o| o.cork = true).unwrap();
    // Over an Ethernet MTU a segment carries at most 1460 bytes: 4000 is two full
    // segments and a partial one.
    let data = [7u8; 4000];
    assert_eq!(s.send(c, &data).unwrap(), 4000);
    run_for(&mut s, &mut t, 100);
    let early = s.pending_bytes(a).unwrap();
    assert!(
        (1400..4000).contains(&early),
        "full segments go, the rest waits: {early}"
    );
    step_until(&mut s, &mut t, 1_000, |s| {
        s.pending_bytes(a).unwrap() == 4000
    });
}

#[test]
fn keepalive_gives_up_after_the_idle_time_and_the_unanswered_probes() {
    let mut s = link();
    let mut t = 0;
    let opts = TcpOptions {
        keepalive: true,
        keep_idle: 2,
        keep_intvl: 1,
        keep_cnt: 3,
        ..TcpOptions::default()
    };
    let (c, a) = connection(&mut s, &mut t, opts);
    assert_eq!(s.tcp_options(a).unwrap().keep_idle, 2, "inherited");
    assert!(s.tcp_options(c).unwrap().keepalive);
    // A healthy idle connection is probed and answered: it stays up.
    run_for(&mut s, &mut t, 20_000);
    assert_eq!(s.take_error(c).unwrap(), None);
    assert_eq!(s.take_error(a).unwrap(), None);
    // Cut the link: 2 s idle, then 3 probes a second apart unanswered, counted (as by
    // Linux) from the last segment received — at most 2 s (one idle time) before the cut.
    cut(&mut s, true);
    let start = t;
    step_until(&mut s, &mut t, 20_000, |s| s.readiness(c).unwrap().error);
    let after = t - start;
    assert!((2_900..=5_100).contains(&after), "gave up after {after} ms");
    assert_eq!(s.take_error(c).unwrap(), Some(Errno::ETIMEDOUT));
}

#[test]
fn user_timeout_gives_up_on_unacknowledged_data_only() {
    let mut s = link();
    let mut t = 0;
    let opts = TcpOptions {
        user_timeout_ms: 1_500,
        ..TcpOptions::default()
    };
    let (c, a) = connection(&mut s, &mut t, opts);
    assert_eq!(
        s.tcp_options(a).unwrap().user_timeout_ms,
        1_500,
        "inherited"
    );
    // Idle, nothing unacknowledged: no timeout however long.
    run_for(&mut s, &mut t, 10_000);
    assert_eq!(s.take_error(c).unwrap(), None);
    s.send(c, b"ping").unwrap();
    step_until(&mut s, &mut t, 1_000, |s| s.pending_bytes(a).unwrap() == 4);
    run_for(&mut s, &mut t, 5_000);
    assert_eq!(
        s.take_error(c).unwrap(),
        None,
        "acknowledged data keeps it up"
    );
    // Data the peer never acknowledges: given up after 1.5 s.
    cut(&mut s, true);
    s.send(c, b"lost").unwrap();
    let start = t;
    step_until(&mut s, &mut t, 10_000, |s| s.readiness(c).unwrap().error);
    let after = t - start;
    assert!((1_400..=1_700).contains(&after), "gave up after {after} ms");
    assert_eq!(s.take_error(c).unwrap(), Some(Errno::ETIMEDOUT));
}

#[test]
fn a_user_timeout_shorter_than_the_idle_time_waits_for_a_probe() {
    let mut s = link();
    let mut t = 0;
    let opts = TcpOptions {
        keepalive: true,
        keep_idle: 2,
        keep_intvl: 1,
        keep_cnt: 5,
        user_timeout_ms: 500,
        ..TcpOptions::default()
    };
    let (c, _a) = connection(&mut s, &mut t, opts);
    // Idle and healthy: probed every 2 s and answered; the 500 ms never run out.
    run_for(&mut s, &mut t, 10_000);
    assert_eq!(s.take_error(c).unwrap(), None);
    // Cut: the next probe (at most 2 s idle after the last answer) goes unanswered, and
    // the keep-alive timer gives up when it next fires, a probe interval later — long past
    // the 500 ms — not after TCP_KEEPCNT's five probes.
    cut(&mut s, true);
    let start = t;
    step_until(&mut s, &mut t, 10_000, |s| s.readiness(c).unwrap().error);
    let after = t - start;
    assert!((900..=3_100).contains(&after), "gave up after {after} ms");
    assert_eq!(s.take_error(c).unwrap(), Some(Errno::ETIMEDOUT));
}

#[test]
fn defer_accept_waits_for_data() {
    let mut s = link();
    let mut t = 0;
    let opts = TcpOptions {
        defer_accept: defer_secs_to_retrans(3),
        ..TcpOptions::default()
    };
    let (l, c) = listen_and_connect(&mut s, &mut t, opts);
    run_for(&mut s, &mut t, 500);
    assert!(!s.readiness(l).unwrap().readable, "no data yet");
    assert_eq!(s.accept(l), Err(Errno::EAGAIN));
    s.send(c, b"GET").unwrap();
    step_until(&mut s, &mut t, 1_000, |s| s.readiness(l).unwrap().readable);
    let (a, _) = s.accept(l).unwrap();
    assert_eq!(s.pending_bytes(a).unwrap(), 3);
    assert_eq!(
        s.tcp_options(a).unwrap().defer_accept,
        0,
        "a listener's own"
    );
}

#[test]
fn defer_accept_gives_in_after_its_time() {
    let mut s = link();
    let mut t = 0;
    // 2 s: two retransmissions, which Linux counts as 1 + 2 = 3 s.
    let opts = TcpOptions {
        defer_accept: defer_secs_to_retrans(2),
        ..TcpOptions::default()
    };
    let (l, _c) = listen_and_connect(&mut s, &mut t, opts);
    let start = t;
    // The wait path learns when to look again without any frame arriving.
    let delay = s.poll_delay(Instant::from_millis(t)).expect("a deadline");
    assert!(delay.total_millis() <= 3_000);
    step_until(&mut s, &mut t, 10_000, |s| s.readiness(l).unwrap().readable);
    let waited = t - start;
    assert!(
        (2_900..=3_100).contains(&waited),
        "accepted after {waited} ms"
    );
    assert!(s.accept(l).is_ok());
}

#[test]
fn defer_accept_seconds_round_up_to_retransmissions_as_linux() {
    let round_trip = |secs| defer_retrans_to_secs(defer_secs_to_retrans(secs));
    assert_eq!(round_trip(0), 0);
    assert_eq!(round_trip(-5), 0);
    assert_eq!(round_trip(1), 1);
    assert_eq!(round_trip(2), 3);
    assert_eq!(round_trip(5), 7);
    assert_eq!(round_trip(7), 7);
    assert_eq!(round_trip(8), 15);
    assert_eq!(round_trip(200), 247);
    assert_eq!(defer_secs_to_retrans(i32::MAX), 255);
}

#[test]
fn options_set_before_connect_and_on_a_listener_carry_over() {
    let mut s = link();
    let mut t = 0;
    let opts = TcpOptions {
        nodelay: true,
        keepalive: true,
        quickack: Some(true),
        ..TcpOptions::default()
    };
    let (l, c) = listen_and_connect(&mut s, &mut t, opts);
    let mut accepted = None;
    step_until(&mut s, &mut t, 1_000, |s| {
        accepted = s.accept(l).ok();
        accepted.is_some()
    });
    let (a, _) = accepted.unwrap();
    assert_eq!(
        s.tcp_options(a).unwrap(),
        TcpOptions {
            quickack: None,
            ..opts
        },
        "all but TCP_QUICKACK (a new connection acks quickly)"
    );
    // A client's options set before connect hold for its connection.
    let c2 = s.socket(Proto::Tcp, Family::V4);
    s.set_tcp_options(c2, |o| o.cork = true).unwrap();
    s.connect(c2, me()).unwrap();
    step_until(&mut s, &mut t, 5_000, |s| s.readiness(c2).unwrap().writable);
    let mut a2 = None;
    step_until(&mut s, &mut t, 1_000, |s| {
        a2 = s.accept(l).ok().map(|(a, _)| a);
        a2.is_some()
    });
    s.send(c2, b"x").unwrap();
    run_for(&mut s, &mut t, 100);
    assert_eq!(
        s.pending_bytes(a2.unwrap()).unwrap(),
        0,
        "corked from the start"
    );
    let _ = c;
    // UDP sockets have no TCP options.
    let u = s.socket(Proto::Udp, Family::V4);
    assert_eq!(
        s.set_tcp_options(u, |o| o.nodelay = true),
        Err(Errno::EOPNOTSUPP)
    );
}

#[test]
fn reuse_port_shares_a_port_between_sockets_that_all_ask() {
    let mut s = link();
    let at = IpListenEndpoint {
        addr: None,
        port: 8080,
    };
    let a = s.socket(Proto::Tcp, Family::V4);
    let b = s.socket(Proto::Tcp, Family::V4);
    s.set_reuse_port(a, true).unwrap();
    s.bind(a, at).unwrap();
    assert_eq!(s.bind(b, at), Err(Errno::EADDRINUSE), "b did not ask");
    s.set_reuse_port(b, true).unwrap();
    s.bind(b, at).unwrap();
    s.listen(a, 4).unwrap();
    s.listen(b, 4).unwrap();
    let c = s.socket(Proto::Tcp, Family::V4);
    let u1 = s.socket(Proto::Udp, Family::V4);
    let u2 = s.socket(Proto::Udp, Family::V4);
    s.set_reuse_port(u1, true).unwrap();
    s.set_reuse_port(u2, true).unwrap();
    s.bind(u1, at).unwrap();
    s.bind(u2, at).unwrap();
    // Connections reach one of the listeners.
    let mut t = 0;
    s.connect(c, IpEndpoint::new(me().addr, 8080)).unwrap();
    step_until(&mut s, &mut t, 5_000, |s| {
        s.readiness(a).unwrap().readable || s.readiness(b).unwrap().readable
    });
}
