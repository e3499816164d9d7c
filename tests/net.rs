//! The network: a booted image answers `ping` and `ping -6` on a tap device in a private
//! network namespace the test creates, with static addresses, with DHCP and SLAAC from a
//! dnsmasq in that namespace, on microvm (virtio-mmio), pc and q35 (virtio-pci, and the
//! Intel e1000 with `--nic e1000`), and prints the addresses it got.
//!
//! The BSD socket layer: the echo examples (examples-c/udp-echo, tcp-echo) serve real
//! clients (tests/clients/echo_client.py) over IPv4 and IPv6 on the tap: UDP echo, 1,000
//! sequential and 200 concurrent TCP connections, and a bulk transfer each way with equal
//! sha256. A program talking to itself over the guest's loopback (tests/programs/loopback.c)
//! prints what it prints on Linux while eth0 is up.
//!
//! These tests need root (network namespaces, tap devices) and iproute2, iputils-ping and
//! dnsmasq-base: without them they fail and say so; CI runs them as root. Traffic stays
//! inside the namespace: 10.77.0.0/24 and fd77::/64, nothing else.

use kiln_tests::netns::Platform;
use kiln_tests::netns::{
    expect_line, expect_static_addresses, lines, static_append, wait_for, Netns, GUEST4, GUEST6,
    GUEST_LL, HOST4, TAP,
};
use kiln_tests::{
    example_image, host_binary, image, kiln, on_every_platform, run_host, strip_kiln_lines,
};
use std::process::{Command, Stdio};
use std::time::Duration;

fn static_config(machine: &str) {
    static_config_with(machine, &[]);
}

/// `static_config` with extra `./kiln run` options; the console lines read.
fn static_config_with(machine: &str, options: &[&str]) -> Vec<String> {
    let mut ns = Netns::new(&format!("st{machine}{}", options.len()));
    let append = format!("kiln.ip={GUEST4}/24 kiln.gw={HOST4} kiln.ip6={GUEST6}/64 kiln.slaac=off");
    let rx = ns.boot_with(machine, options, &append, 30);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, &format!("kiln: net: eth0 {GUEST_LL}/64"));
    expect_line(&rx, &mut seen, &format!("kiln: net: eth0 {GUEST6}/64"));
    expect_line(
        &rx,
        &mut seen,
        &format!("kiln: net: eth0 {GUEST4}/24 gw {HOST4}"),
    );
    expect_line(&rx, &mut seen, "net_idle: up for 30 s");
    ns.ping(false, GUEST4).unwrap();
    ns.ping(true, GUEST6).unwrap();
    ns.ping(true, &format!("{GUEST_LL}%{TAP}")).unwrap();
    // An address the guest does not have gets no answer: the test can fail.
    assert!(ns.ping(false, "10.77.0.3").is_err());
    seen
}

#[test]
fn static_addresses_answer_ping_on_microvm() {
    static_config("microvm");
}

#[test]
fn static_addresses_answer_ping_on_q35() {
    static_config("q35");
}

#[test]
fn dhcp_and_slaac_from_dnsmasq_on_pc() {
    dhcp_and_slaac("pc", &[]);
}

/// DHCP and SLAAC on `machine` with extra `./kiln run` options; the console lines read.
fn dhcp_and_slaac(machine: &str, options: &[&str]) -> Vec<String> {
    let mut ns = Netns::new(&format!("dhcp{machine}{}", options.len()));
    ns.dnsmasq();
    let rx = ns.boot_with(machine, options, "", 40);
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
    seen
}

/// QEMU's user networking (`./kiln run --net user`, no root needed): DHCP and SLAAC from
/// QEMU's own servers; the microvm's device is found in its ACPI DSDT.
#[test]
fn user_networking_gives_dhcp_and_slaac_on_microvm() {
    let out = kiln()
        .args(["run", "--accel", "tcg", "--net", "user", "--timeout", "60"])
        .args(["--append", "kiln.quiet"])
        .arg(image("net_idle"))
        .args(["--", "4"])
        .output()
        .expect("running ./kiln run");
    let console = String::from_utf8_lossy(&out.stdout);
    for line in [
        "kiln: net: eth0 fe80::5054:ff:fe12:3456/64",
        "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2",
        "kiln: net: eth0 fec0::5054:ff:fe12:3456/64",
        "net_idle: done",
    ] {
        assert!(
            console.lines().any(|l| l.trim() == line),
            "no {line:?} on the console:\n{console}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(out.status.success());
}

/// microvm without ACPI announces its device on the kernel command line, after the user's
/// `--` (the way Firecracker announces devices too): found there, and its interrupt routed
/// through the I/O APIC a PC has without a MADT. QEMU is started directly: `kiln run` has no
/// switch for `acpi=off`.
#[test]
fn command_line_virtio_mmio_on_microvm_without_acpi() {
    kiln_tests::runtime_dir();
    let img = image("net_idle");
    let out = Command::new("timeout")
        .arg("60")
        .arg("qemu-system-x86_64")
        .args(
            "-M microvm,acpi=off -accel tcg -cpu max -m 256M -nodefaults -no-user-config \
             -display none -serial stdio -monitor none -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=4 \
             -netdev user,id=n0 -device virtio-net-device,netdev=n0"
                .split_whitespace(),
        )
        .arg("-kernel")
        .arg(&img)
        .args(["-append", "kiln.quiet -- 4"])
        .stdin(Stdio::null())
        .output()
        .expect("running qemu-system-x86_64 (run ./kiln doctor --install)");
    let console = String::from_utf8_lossy(&out.stdout);
    for line in [
        "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2",
        "net_idle: up for 4 s",
        "net_idle: done",
    ] {
        assert!(
            console.lines().any(|l| l.trim() == line),
            "no {line:?} on the console:\n{console}"
        );
    }
}

on_every_platform!(
    udp_echo_over_ipv4_and_ipv6,
    tcp_echo_many_connections_and_bulk_transfers
);

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
}

/// The Intel e1000 (`./kiln run --nic e1000`, QEMU's `-device e1000`, the NIC of VirtualBox,
/// VMware and Bochs) under the same stack: the link comes up and static addresses answer
/// ping and ping -6, on both PC chipsets (their INTx wiring differs).
const E1000: &[&str] = &["--nic", "e1000"];

/// The driver said the link is up, and its interrupt line works (no fallback to polling).
fn e1000_driven(seen: &[String]) {
    let console = seen.join("\n");
    assert!(
        seen.iter()
            .any(|l| l.trim() == "kiln: net: e1000 link up, 1000 Mb/s"),
        "no link-up line:\n{console}"
    );
    assert!(
        !console.contains("polled"),
        "the e1000 is polled:\n{console}"
    );
    assert!(!console.contains("virtio"), "{console}");
}

fn e1000_static(machine: &str) {
    e1000_driven(&static_config_with(machine, E1000));
}

#[test]
fn e1000_static_addresses_answer_ping_on_pc() {
    e1000_static("pc");
}

#[test]
fn e1000_static_addresses_answer_ping_on_q35() {
    e1000_static("q35");
}

#[test]
fn e1000_dhcp_and_slaac_from_dnsmasq_on_q35() {
    e1000_driven(&dhcp_and_slaac("q35", E1000));
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

/// Real traffic through the e1000's rings, both ways: a megabyte echoed by
/// `examples-c/tcp-echo` on q35 over QEMU's user networking (`-p`, host loopback only; no
/// root needed), byte for byte; then `quit` ends the guest with status 0.
#[test]
fn e1000_carries_a_megabyte_of_tcp_both_ways_on_q35() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread;

    let build = kiln_tests::work_dir().join("e1000-tcp-echo");
    let out = kiln()
        .args(["build", "examples-c/tcp-echo", "-B"])
        .arg(&build)
        .output()
        .expect("running ./kiln build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A free port on the host's loopback for the forward.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut guest = kiln()
        .args([
            "run",
            "--accel",
            "tcg",
            "--machine",
            "q35",
            "--nic",
            "e1000",
        ])
        .args(["-p", &format!("{port}:7"), "--timeout", "120"])
        .arg(build.join("tcp-echo"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ./kiln run");
    let rx = lines(guest.stdout.take().unwrap());
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "tcp-echo: listening on port 7");
    e1000_driven(&seen);

    // Pseudo-random bytes (xorshift), so a dropped, repeated or reordered frame shows.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
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
}

/// Threads and sockets together: a thread-per-connection echo server serves 100 concurrent
/// clients, and its worker thread computes to the end while the main thread is blocked in
/// accept (before any client connects), so a blocked call blocks only its own thread.
#[test]
fn thread_per_connection_server_and_a_thread_computing_beside_a_blocked_accept() {
    let mut ns = Netns::new("thr");
    let rx = ns.boot_image(
        "microvm",
        &[],
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
