//! QEMU's user networking (slirp), the way `./kiln run -p` publishes a server: the echo
//! examples (examples-c/udp-echo, tcp-echo) booted with `--net user -p HOSTPORT:7[/udp]` serve
//! real host clients (tests/clients/echo_client.py) on 127.0.0.1:HOSTPORT — UDP echo, 1,000
//! sequential and 200 concurrent TCP connections, 16 MiB each way with equal sha256 — on
//! microvm, q35 with virtio-net and q35 with the e1000. No root needed: slirp runs inside
//! QEMU and the forwards listen on the host's loopback only.
//!
//! ICMP is not tested here: slirp answers ping for its own gateway (10.0.2.2) and never passes
//! an echo request from the host to the guest, so `ping` of a guest over user networking is
//! impossible; tests/net.rs pings guests over a tap.
//!
//! The listen backlog: tests/programs/listen_burst listens with a backlog of 512 and accepts
//! nothing until told to, while 300 connections arrive at once; every one must be queued and
//! served, through user networking and over a tap in a private namespace (root, as
//! tests/net.rs).
//!
//! QEMU's forward listens on the host with a backlog of 1 (libslirp's `listen(fd, 1)`), so
//! simultaneous connects to it are lost on the host before the guest sees them: with SYN
//! cookies, a client whose handshake's last ACK met a full accept queue believes it is
//! connected, and QEMU never hears of it (a plain host server with backlog 1 loses ~70 of
//! 200 simultaneous connects for over 20 s the same way). The clients therefore open their
//! connections one after another, each once QEMU took the previous one from its accept queue
//! (`paced` in echo_client.py, read from /proc/net/tcp), and keep them all open: the guest
//! still holds 200 (or, for the backlog, 300 unaccepted) connections at once.
//!
//! A guest is ready for the host's clients once it printed its listening line *and* got its
//! DHCP address from slirp: a forward leads to 10.0.2.15, which the guest answers only from
//! then on (before, slirp's connection to it fails and the host's client sees its connection
//! closed), so the tests wait for both console lines.

use kiln_tests::netns::{
    console_lines, expect_line, expect_static_addresses, static_append, wait_for,
};
use kiln_tests::netns::{Netns, Platform, GUEST4};
use kiln_tests::{example_image, image, kiln, on_every_platform, root};
use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// The line a guest on user networking prints once slirp's DHCP server gave it its address.
const SLIRP_ADDRESS: &str = "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2";

/// A guest booted with `./kiln run --net user -p ...`: its console, and `./kiln run` (with
/// QEMU) in a process group of its own, ended when dropped.
struct Guest {
    child: Child,
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Guest {
    /// Boots `img ARGS` on `p` with the port forwards `forwards` (`-p` values) and waits
    /// until it printed `ready` and its slirp address.
    fn boot(p: &Platform, img: &Path, forwards: &[String], args: &[&str], ready: &str) -> Guest {
        let mut cmd = kiln();
        cmd.args(["run", "--accel", "tcg", "--machine", p.machine])
            .args(p.options)
            .args(["--net", "user", "--timeout", "600"]);
        for f in forwards {
            cmd.args(["-p", f]);
        }
        let mut child = cmd
            .arg(img)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starting ./kiln run");
        let rx = console_lines(&mut child);
        let mut guest = Guest {
            child,
            rx,
            seen: Vec::new(),
        };
        guest.expect(ready);
        guest.expect(SLIRP_ADDRESS);
        guest
    }

    /// Runs tests/clients/echo_client.py on the host (see [`echo_client`]).
    fn client(&mut self, args: &[&str]) -> String {
        echo_client(Command::new("python3"), args, &self.rx, &mut self.seen)
    }

    fn expect(&mut self, line: &str) {
        expect_line(&self.rx, &mut self.seen, line);
    }

    /// Waits for the guest to exit; panics unless it exited with status 0.
    fn exits_cleanly(mut self) {
        let status = self.child.wait().expect("waiting for ./kiln run");
        assert!(status.success(), "{status}\n{}", self.seen.join("\n"));
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // QEMU is a child of `./kiln run`, in the group this test started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// A port of the host's loopback that is free now, for TCP (or UDP).
fn free_port(udp: bool) -> u16 {
    let addr = if udp {
        UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr())
    } else {
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr())
    };
    addr.expect("a free loopback port").port()
}

/// Runs tests/clients/echo_client.py with `args` through `python` (the host's, or one in a
/// namespace); panics with its output and the guest's console unless every check passed.
fn echo_client(
    mut python: Command,
    args: &[&str],
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
) -> String {
    let out = python
        .arg(root().join("tests/clients/echo_client.py"))
        .args(args)
        .output()
        .expect("running python3 (run ./kiln doctor --install)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        // Whatever the guest printed meanwhile.
        wait_for(rx, seen, Duration::from_secs(1), |_| false);
        panic!(
            "echo_client {args:?} failed:\n{text}\n{}\nthe console:\n{}",
            String::from_utf8_lossy(&out.stderr),
            seen.join("\n")
        );
    }
    text
}

on_every_platform!(
    udp_echo_through_a_port_forward,
    tcp_echo_through_a_port_forward,
    backlog_holds_a_burst_through_a_port_forward,
    backlog_holds_a_burst_on_a_tap
);

fn udp_echo_through_a_port_forward(p: &Platform) {
    let img = example_image("udp-echo", "udp-echo");
    let port = free_port(true);
    let mut guest = Guest::boot(
        p,
        &img,
        &[format!("{port}:7/udp")],
        &["7"],
        "udp-echo: listening on port 7",
    );
    let out = guest.client(&["udp", "127.0.0.1", &port.to_string(), "200"]);
    assert!(out.contains("udp echoes: 200/200"), "{out}");
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.send_to(b"quit", ("127.0.0.1", port)))
        .expect("sending quit");
    guest.expect("udp-echo: done");
    guest.exits_cleanly();
}

fn tcp_echo_through_a_port_forward(p: &Platform) {
    let img = example_image("tcp-echo", "tcp-echo");
    let port = free_port(false);
    let mut guest = Guest::boot(
        p,
        &img,
        &[format!("{port}:7")],
        &["7"],
        "tcp-echo: listening on port 7",
    );
    let out = guest.client(&[
        "tcp",
        "127.0.0.1",
        &port.to_string(),
        "1000",
        "200",
        "16",
        "paced",
    ]);
    for want in [
        "tcp sequential connections: 1000/1000",
        "tcp concurrent connections: 200/200",
        "tcp 16 MiB each way, equal sha256: True",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    TcpStream::connect(("127.0.0.1", port))
        .and_then(|mut c| c.write_all(b"quit\n"))
        .expect("sending quit");
    guest.expect("tcp-echo: done");
    guest.exits_cleanly();
}

/// Connections in the burst, and the backlog they wait in (the guest clamps nothing below
/// its maximum, so all of them fit).
const BURST: &str = "300";
const BACKLOG: &str = "512";

fn backlog_holds_a_burst_through_a_port_forward(p: &Platform) {
    let (tcp, udp) = (free_port(false), free_port(true));
    let mut guest = Guest::boot(
        p,
        &image("listen_burst"),
        &[format!("{tcp}:7"), format!("{udp}:7/udp")],
        &["7", BACKLOG, BURST],
        "listen_burst: listening on port 7, backlog 512",
    );
    let out = guest.client(&[
        "burst",
        "127.0.0.1",
        &tcp.to_string(),
        &udp.to_string(),
        BURST,
        "paced",
    ]);
    assert!(out.contains("burst connections echoed: 300/300"), "{out}");
    guest.expect("listen_burst: served 300, 0 failed");
    guest.exits_cleanly();
}

fn backlog_holds_a_burst_on_a_tap(p: &Platform) {
    let mut ns = Netns::new("burst");
    let rx = ns.boot_image(
        p.machine,
        p.options,
        &static_append(),
        &image("listen_burst"),
        &["7", BACKLOG, BURST],
    );
    let mut seen = Vec::new();
    expect_line(
        &rx,
        &mut seen,
        "listen_burst: listening on port 7, backlog 512",
    );
    expect_static_addresses(&rx, &mut seen);
    // The host learns the guest's MAC address first, so the burst tests the backlog, not
    // 300 connects queued behind one ARP request.
    ns.ping(false, GUEST4).unwrap();
    let out = echo_client(
        ns.command("python3"),
        &["burst", GUEST4, "7", "7", BURST],
        &rx,
        &mut seen,
    );
    assert!(out.contains("burst connects: 300/300 (0 failed)"), "{out}");
    assert!(out.contains("burst connections echoed: 300/300"), "{out}");
    // Over the tap every handshake completed before "go": all 300 waited in the backlog.
    expect_line(&rx, &mut seen, "listen_burst: 300 queued");
    expect_line(&rx, &mut seen, "listen_burst: served 300, 0 failed");
}
