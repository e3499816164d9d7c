//! The network test set, run on every platform (`on_every_platform!`: microvm with
//! virtio-mmio, q35 with virtio-net-pci, q35 with the Intel e1000): a booted image answers
//! `ping` and `ping -6` on a tap device in a private network namespace the test creates, with
//! static addresses (also link-local), with DHCP and SLAAC from a dnsmasq in that namespace,
//! and prints the addresses it got; over QEMU's own user networking (`--net slirp`) it gets
//! DHCP and SLAAC from QEMU and serves a `-p` forward (passt's user networking, the default:
//! tests/usernet.rs).
//!
//! The BSD socket layer: the echo examples (examples-c/udp-echo, tcp-echo) serve real
//! clients (tests/clients/echo_client.py) over IPv4 and IPv6 on the tap: UDP echo, 1,000
//! sequential and 200 concurrent TCP connections, and a bulk transfer each way with equal
//! sha256; a thread-per-connection server serves 100 concurrent clients. A program talking to
//! itself over the guest's loopback (tests/programs/loopback.c) prints what it prints on Linux
//! while eth0 is up.
//!
//! The pc board (PCI INTx through the PIIX's PIRQ links) runs ping and TCP echo with both
//! NICs; microvm without ACPI (Firecracker's contract: devices on the command line, no exit
//! port) runs TCP echo and prints the exit status on the console.
//!
//! These tests need root (network namespaces, tap devices) and iproute2, iputils-ping and
//! dnsmasq-base: without them they fail and say so; CI runs them as root. Traffic stays
//! inside the namespace: 10.77.0.0/24 and fd77::/64, nothing else (the user-networking test
//! forwards a port of the host's 127.0.0.1 only).

use kiln_tests::netns::{
    console_lines, expect_line, expect_static_addresses, lines, static_append, wait_for, Netns,
    Platform, GUEST4, GUEST6, GUEST_LL, HOST4, TAP,
};
use kiln_tests::{
    example_image, host_binary, image, kiln, on_every_platform, run_host, strip_kiln_lines,
};
use std::process::Stdio;
use std::time::Duration;

on_every_platform!(
    static_addresses_answer_ping,
    dhcp_and_slaac_from_dnsmasq,
    udp_echo_over_ipv4_and_ipv6,
    tcp_echo_many_connections_and_bulk_transfers,
    thread_per_connection_server_and_a_thread_computing_beside_a_blocked_accept,
    slirp_gives_dhcp_slaac_and_forwards_a_megabyte_of_tcp,
    a_guest_booted_while_the_host_sends_answers_ping,
);

/// The pc board: its PCI INTx lines reach the I/O APIC through the PIIX's PIRQ links (ISA
/// IRQs), unlike q35's; ping and TCP echo with both NICs, and with a virtio-net that has only
/// the legacy interface.
mod pc {
    use kiln_tests::netns::{PC_E1000, PC_VIRTIO, PC_VIRTIO_LEGACY};

    #[test]
    fn virtio_static_addresses_answer_ping() {
        super::static_addresses_answer_ping(&PC_VIRTIO);
    }

    #[test]
    fn virtio_tcp_echo() {
        super::tcp_echo_many_connections_and_bulk_transfers(&PC_VIRTIO);
    }

    #[test]
    fn e1000_static_addresses_answer_ping() {
        super::static_addresses_answer_ping(&PC_E1000);
    }

    #[test]
    fn e1000_tcp_echo() {
        super::tcp_echo_many_connections_and_bulk_transfers(&PC_E1000);
    }

    #[test]
    fn virtio_legacy_static_addresses_answer_ping() {
        super::static_addresses_answer_ping(&PC_VIRTIO_LEGACY);
    }

    #[test]
    fn virtio_legacy_tcp_echo() {
        super::tcp_echo_many_connections_and_bulk_transfers(&PC_VIRTIO_LEGACY);
    }
}

/// The NIC was driven by its interrupt, not polled; on an e1000, the driver said the link is
/// up and no virtio device took part.
fn nic_driven(p: &Platform, seen: &[String]) {
    let console = seen.join("\n");
    assert!(
        !console.contains("polled"),
        "the NIC of {p:?} is polled:\n{console}"
    );
    if p.is_e1000() {
        assert!(
            seen.iter()
                .any(|l| l.trim() == "kiln: net: e1000 link up, 1000 Mb/s"),
            "no link-up line:\n{console}"
        );
        assert!(!console.contains("virtio"), "{console}");
    }
}

/// Static addresses: ping and ping -6 answered, also at the link-local address; an address
/// the guest does not have is not.
fn static_addresses_answer_ping(p: &Platform) {
    let mut ns = Netns::new("st");
    let rx = ns.boot_with(p.machine, p.options, &static_append(), 30);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, &format!("kiln: net: eth0 {GUEST_LL}/64"));
    expect_static_addresses(&rx, &mut seen);
    expect_line(&rx, &mut seen, "net_idle: up for 30 s");
    ns.ping(false, GUEST4).unwrap();
    ns.ping(true, GUEST6).unwrap();
    ns.ping(true, &format!("{GUEST_LL}%{TAP}")).unwrap();
    // An address the guest does not have gets no answer: the test can fail.
    assert!(ns.ping(false, "10.77.0.3").is_err());
    nic_driven(p, &seen);
}

/// A UDP broadcast every 2 ms to the discard port, from the host side of the tap.
const BROADCASTS: &str = "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
while True:
    s.sendto(b'kiln', ('10.77.0.255', 9))
    time.sleep(0.002)
";

/// Frames that arrive while the guest boots do not leave it deaf: the host broadcasts from
/// before QEMU starts, so the NIC raises its interrupt line around the time the driver
/// routes it (virtio-net on q35 used to miss that edge and never hear the network again:
/// no ping answered in about half of such boots).
fn a_guest_booted_while_the_host_sends_answers_ping(p: &Platform) {
    let mut ns = Netns::new("busy");
    let sender = ns
        .command("python3")
        .args(["-c", BROADCASTS])
        .stdout(Stdio::null())
        .spawn()
        .expect("running python3 (run ./kiln doctor --install)");
    ns.keep(sender);
    let rx = ns.boot_with(p.machine, p.options, &static_append(), 20);
    let mut seen = Vec::new();
    expect_static_addresses(&rx, &mut seen);
    expect_line(&rx, &mut seen, "net_idle: up for 20 s");
    ns.ping(false, GUEST4).unwrap();
    ns.ping(true, GUEST6).unwrap();
    nic_driven(p, &seen);
}

/// DHCPv4 and SLAAC from dnsmasq: an address from its range with its router, the EUI-64
/// address in its prefix, both answering ping.
fn dhcp_and_slaac_from_dnsmasq(p: &Platform) {
    let mut ns = Netns::new("dhcp");
    ns.dnsmasq();
    let rx = ns.boot_with(p.machine, p.options, "", 40);
    let mut seen = Vec::new();
    let v4 = wait_for(&rx, &mut seen, Duration::from_secs(60), |l| {
        l.starts_with("kiln: net: eth0 10.77.0.")
    })
    .unwrap_or_else(|| panic!("no DHCP address on the console:\n{}", seen.join("\n")));
    // kiln: net: eth0 10.77.0.5x/24 gw 10.77.0.1
    let words: Vec<&str> = v4.split_whitespace().collect();
    assert_eq!(words.get(4..), Some(&["gw", HOST4][..]), "{v4}");
    let addr = words[3].strip_suffix("/24").expect("a /24 from dnsmasq");
    let last: u8 = addr.rsplit('.').next().unwrap().parse().unwrap();
    assert!(
        (50..=60).contains(&last),
        "{addr} is outside dnsmasq's range"
    );
    let slaac = "fd77::5054:ff:fe12:3456";
    expect_line(&rx, &mut seen, &format!("kiln: net: eth0 {slaac}/64"));
    ns.ping(false, addr).unwrap();
    ns.ping(true, slaac).unwrap();
    nic_driven(p, &seen);
}

fn udp_echo_over_ipv4_and_ipv6(p: &Platform) {
    let mut ns = Netns::new("udp");
    let img = example_image("udp-echo", "udp-echo");
    let rx = ns.boot_image(p.machine, p.options, &static_append(), &img, &["7"]);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "udp-echo: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    let v4 = ns.echo_client(&["udp", GUEST4, "7", "200"]);
    assert!(v4.contains("udp echoes: 200/200"), "{v4}");
    let v6 = ns.echo_client(&["udp", GUEST6, "7", "200"]);
    assert!(v6.contains("udp echoes: 200/200"), "{v6}");
    nic_driven(p, &seen);
}

fn tcp_echo_many_connections_and_bulk_transfers(p: &Platform) {
    let mut ns = Netns::new("tcp");
    let img = example_image("tcp-echo", "tcp-echo");
    let rx = ns.boot_image(p.machine, p.options, &static_append(), &img, &["7"]);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "tcp-echo: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    let v4 = ns.echo_client(&["tcp", GUEST4, "7", "1000", "200", "16"]);
    for want in [
        "tcp sequential connections: 1000/1000",
        "tcp concurrent connections: 200/200",
        "tcp 16 MiB each way, equal sha256: True",
    ] {
        assert!(v4.contains(want), "{want:?} missing:\n{v4}");
    }
    let v6 = ns.echo_client(&["tcp", GUEST6, "7", "100", "50", "4"]);
    assert!(v6.contains("tcp concurrent connections: 50/50"), "{v6}");
    assert!(v6.contains("equal sha256: True"), "{v6}");
    nic_driven(p, &seen);
}

/// Threads and sockets together: a thread-per-connection echo server serves 100 concurrent
/// clients, and its worker thread computes to the end while the main thread is blocked in
/// accept (before any client connects), so a blocked call blocks only its own thread.
fn thread_per_connection_server_and_a_thread_computing_beside_a_blocked_accept(p: &Platform) {
    let mut ns = Netns::new("thr");
    let rx = ns.boot_image(
        p.machine,
        p.options,
        &static_append(),
        &image("thread_echo"),
        &["7", "110"],
    );
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "thread_echo: listening on port 7");
    // No client has connected yet: the worker finishes while accept is blocked.
    expect_line(
        &rx,
        &mut seen,
        "thread_echo: computed 17984 primes while accept was blocked",
    );
    expect_line(
        &rx,
        &mut seen,
        &format!("kiln: net: eth0 {GUEST4}/24 gw {HOST4}"),
    );
    let out = ns.echo_client(&["tcp", GUEST4, "7", "10", "100", "0"]);
    assert!(out.contains("tcp concurrent connections: 100/100"), "{out}");
    expect_line(&rx, &mut seen, "thread_echo: served 110 connections");
    nic_driven(p, &seen);
}

/// QEMU's own user networking (`./kiln run --net slirp -p`, no root needed): DHCP and SLAAC
/// from QEMU's slirp (on microvm the device is found in its ACPI DSDT), then real traffic
/// through the forward both ways: a megabyte echoed by `examples-c/tcp-echo`, byte for byte;
/// `quit` ends the guest with status 0. (passt, the default user network, is tests/usernet.rs.)
fn slirp_gives_dhcp_slaac_and_forwards_a_megabyte_of_tcp(p: &Platform) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread;

    let img = example_image("tcp-echo", "tcp-echo");
    // A free port on the host's loopback for the forward.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut guest = kiln()
        .args(["run", "--accel", "tcg", "--machine", p.machine])
        .args(p.options)
        .args([
            "--net",
            "slirp",
            "-p",
            &format!("{port}:7"),
            "--timeout",
            "120",
        ])
        .arg(&img)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ./kiln run");
    let rx = console_lines(&mut guest);
    let mut seen = Vec::new();
    for line in [
        "kiln: net: eth0 fe80::5054:ff:fe12:3456/64",
        "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2",
        "kiln: net: eth0 fec0::5054:ff:fe12:3456/64",
        "tcp-echo: listening on port 7",
    ] {
        expect_line(&rx, &mut seen, line);
    }

    // Pseudo-random bytes (xorshift), so a dropped, repeated or reordered frame shows.
    let data = kiln_tests::xorshift_bytes(&mut 0x9e37_79b9_7f4a_7c15, 1 << 20);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connecting to the forward");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let sent = data.clone();
    let write = thread::spawn(move || writer.write_all(&sent));
    let mut back = vec![0u8; data.len()];
    let got = conn.read_exact(&mut back);
    write.join().unwrap().expect("sending the megabyte");
    got.expect("reading the echo back");
    assert!(back == data, "the echo differs from what was sent");

    let mut quit = TcpStream::connect(("127.0.0.1", port)).unwrap();
    quit.write_all(b"quit\n").unwrap();
    expect_line(&rx, &mut seen, "tcp-echo: done");
    let status = guest.wait().unwrap();
    assert!(status.success(), "{status}\n{}", seen.join("\n"));
    nic_driven(p, &seen);
}

/// The e1000 is a PCI card: on microvm `kiln run` refuses it with one line that says what to
/// do, before starting QEMU.
#[test]
fn e1000_on_microvm_is_refused_with_one_line() {
    let out = kiln()
        .args(["run", "--accel", "tcg", "--net", "user", "--nic", "e1000"])
        .arg(image("net_idle"))
        .output()
        .expect("running ./kiln run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "microvm booted an e1000:\n{err}");
    assert!(
        err.contains("--nic e1000") && err.contains("--machine pc"),
        "no line that says what to do:\n{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty(), "the guest ran");
}

/// Firecracker's contract: microvm without ACPI announces its virtio-mmio device on the
/// kernel command line, after the user's `--` (QEMU appends `virtio_mmio.device=...` as
/// Firecracker does): found there, its interrupt routed through the I/O APIC a PC has without
/// a MADT, and TCP echo served over it. The transport is virtio-mmio version 2 (modern), as
/// Firecracker's; QEMU's default on microvm, which the other microvm tests use, is version 1
/// (legacy). There is no exit port either (no isa-debug-exit, no ACPI): the status leaves the
/// VM as the console line `kiln: exit status 0`. QEMU is started directly: `kiln run` has no
/// switch for `acpi=off`.
#[test]
fn command_line_virtio_mmio_on_microvm_without_acpi() {
    kiln_tests::runtime_dir();
    let img = example_image("tcp-echo", "tcp-echo");
    let mut ns = Netns::new("fc");
    let mut qemu = ns
        .command("qemu-system-x86_64")
        .args(
            "-M microvm,acpi=off -accel tcg -cpu max -m 256M -nodefaults -no-user-config \
             -display none -serial stdio -monitor none -no-reboot \
             -global virtio-mmio.force-legacy=false"
                .split_whitespace(),
        )
        .arg("-netdev")
        .arg(format!("tap,id=n0,ifname={TAP},script=no,downscript=no"))
        .args(["-device", "virtio-net-device,netdev=n0", "-kernel"])
        .arg(&img)
        .arg("-append")
        .arg(format!("{} -- 7", static_append()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running qemu-system-x86_64 (run ./kiln doctor --install)");
    let rx = lines(qemu.stdout.take().unwrap());
    ns.keep(qemu);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "tcp-echo: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    let out = ns.echo_client(&["tcp", GUEST4, "7", "100", "50", "4"]);
    for want in [
        "tcp sequential connections: 100/100",
        "tcp concurrent connections: 50/50",
        "tcp 4 MiB each way, equal sha256: True",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let quit = ns
        .command("bash")
        .args(["-c", &format!("echo quit > /dev/tcp/{GUEST4}/7")])
        .status()
        .expect("running bash");
    assert!(quit.success(), "could not send quit");
    expect_line(&rx, &mut seen, "tcp-echo: done");
    expect_line(&rx, &mut seen, "kiln: exit status 0");
    nic_driven(&kiln_tests::netns::MICROVM, &seen);
}

on_every_platform!(loopback_beside_a_nic);

/// Guest loopback while eth0 is up on the tap: tests/programs/loopback.c (serving and
/// connecting to itself over 127.0.0.1 and ::1, TCP and UDP, blocking and with epoll) prints
/// what it prints on Linux. tests/diff.rs runs it in a guest without a NIC.
fn loopback_beside_a_nic(p: &Platform) {
    let host = run_host(&host_binary("loopback"), &[], &[]);
    host.assert_status(0);
    let mut ns = Netns::new("lo");
    let rx = ns.boot_image(
        p.machine,
        p.options,
        &static_append(),
        &image("loopback"),
        &[],
    );
    let mut seen = Vec::new();
    let status = wait_for(&rx, &mut seen, Duration::from_secs(120), |l| {
        l.trim().starts_with("kiln: exit status")
    });
    let console = seen.join("\n");
    assert_eq!(
        status.as_deref().map(str::trim),
        Some("kiln: exit status 0"),
        "{console}"
    );
    assert!(
        seen.iter()
            .any(|l| l.trim() == format!("kiln: net: eth0 {GUEST4}/24 gw {HOST4}")),
        "eth0 never came up:\n{console}"
    );
    assert_eq!(
        strip_kiln_lines(&(console.clone() + "\n")),
        strip_kiln_lines(&host.stdout),
        "the guest's output (with a NIC) differs from Linux's:\n{console}"
    );
}

on_every_platform!(what_a_program_wrote_before_exiting_arrives);

/// The client of `send_and_exit`: a datagram, a TCP connection with one line, then the
/// stream until the guest's FIN (checked against the same xorshift) and the UDP reply.
const SEND_AND_EXIT_CLIENT: &str = r#"
import socket, sys
addr, total = sys.argv[1], int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(20)
u.sendto(b"ping", (addr, 7))
t = socket.create_connection((addr, 7), timeout=20)
t.sendall(b"go\n")
got = bytearray()
while True:
    chunk = t.recv(65536)
    if not chunk:
        break
    got += chunk
x, mask, want = 0x9e3779b97f4a7c15, (1 << 64) - 1, bytearray()
for _ in range(total):
    x ^= (x << 13) & mask; x ^= x >> 7; x ^= (x << 17) & mask
    want.append(x & 0xff)
print("tcp bytes before FIN:", len(got), "equal:", got == want)
print("udp reply:", u.recvfrom(100)[0].decode())
"#;

/// A program that writes its answer and returns from `main` at once (no close, no wait):
/// the last of its 1 MiB still in the socket buffer, its FIN and a datagram queued just
/// before exit all reach the client, because exit_group lets eth0 deliver them before the
/// VM powers off, as Linux keeps sending after a process has gone.
fn what_a_program_wrote_before_exiting_arrives(p: &Platform) {
    const TOTAL: &str = "1048576";
    let mut ns = Netns::new("exit");
    let rx = ns.boot_image(
        p.machine,
        p.options,
        &static_append(),
        &image("send_and_exit"),
        &["7", TOTAL],
    );
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "send_and_exit: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    let out = ns
        .command("python3")
        .args(["-c", SEND_AND_EXIT_CLIENT, GUEST4, TOTAL])
        .output()
        .expect("running python3");
    let text = String::from_utf8_lossy(&out.stdout);
    expect_line(&rx, &mut seen, "kiln: exit status 0");
    assert!(
        out.status.success(),
        "the client failed:\n{text}\n{}\n--- console ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        seen.join("\n")
    );
    assert!(
        text.contains(&format!("tcp bytes before FIN: {TOTAL} equal: True")),
        "{text}"
    );
    assert!(text.contains("udp reply: sent, exiting"), "{text}");
}

on_every_platform!(close_with_unread_data_resets_the_client);

/// The client of `close_unread`: sends a little, then keeps writing for up to 20 s; a reset
/// ends it at once (ECONNRESET or EPIPE), a graceful close would leave it writing into the
/// guest's window until that fills and the send times out.
const CLOSE_UNREAD_CLIENT: &str = r#"
import errno, socket, sys, time
t = socket.create_connection((sys.argv[1], 7), timeout=20)
t.sendall(b"request the server will never read\n")
start = time.monotonic()
try:
    while time.monotonic() - start < 20:
        t.sendall(b"x" * 4096)
        time.sleep(0.01)
    print("client: still writing after 20 s")
except socket.timeout:
    print("client: send timed out")
except OSError as e:
    print("client:", errno.errorcode.get(e.errno, e.errno), "after %.1f s" % (time.monotonic() - start))
"#;

/// A server closing a connection whose received data it never read resets it, as Linux does
/// (RFC 1122 4.2.2.13): the client's next write fails at once, and the capture on the tap
/// shows the guest's RST. Before the fix the guest sent a FIN and kept taking the client's
/// bytes into a buffer nobody read.
fn close_with_unread_data_resets_the_client(p: &Platform) {
    let mut ns = Netns::new("rst");
    let capture = ns
        .command("tcpdump")
        .args(["-n", "-l", "-i", TAP, "-c", "1"])
        .arg(format!(
            "src host {GUEST4} and tcp[tcpflags] & tcp-rst != 0"
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running tcpdump");
    let rx = ns.boot_image(
        p.machine,
        p.options,
        &static_append(),
        &image("close_unread"),
        &["7"],
    );
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "close_unread: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    let out = ns
        .command("python3")
        .args(["-c", CLOSE_UNREAD_CLIENT, GUEST4])
        .output()
        .expect("running python3");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    expect_line(&rx, &mut seen, "close_unread: closed with unread data");
    assert!(
        text.contains("client: ECONNRESET") || text.contains("client: EPIPE"),
        "the client was not reset:\n{text}{}\n--- console ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        seen.join("\n")
    );
    let capture = finish_capture(capture, Duration::from_secs(10));
    assert!(
        capture.contains(&format!("{GUEST4}.7 > {HOST4}")) && capture.contains("Flags [R"),
        "no RST from the guest in the capture:\n{capture}"
    );
}

/// The output of a `tcpdump -c N` started earlier: waits up to `deadline` for it to have
/// seen its packets, then stops it.
fn finish_capture(mut child: std::process::Child, deadline: Duration) -> String {
    let start = std::time::Instant::now();
    while start.elapsed() < deadline {
        if child.try_wait().expect("waiting for tcpdump").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("reading tcpdump");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
