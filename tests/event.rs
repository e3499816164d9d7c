//! The kiln/os.h event API (libc-shim/event_*.c, include/kiln/os.h and os.hpp).
//!
//! The programs of `tests/event/` (see its README.md) run as Kiln images and as static Linux
//! executables built from the same sources; both must print the same check lines (lines
//! starting with `info:` carry timings and are only shown) and end with `status: ok`.
//!
//! Timers, os_post and the C++ wrappers run in the guest. The socket programs talk to
//! themselves over 127.0.0.1 and ::1, on the host and in the guest (its `lo`, in an image
//! booted without a network device). The HTTP and UDP examples are driven by real clients
//! (curl, wrk, std's UdpSocket) over 127.0.0.1 and ::1 on the host; http-callback in a VM,
//! over a tap, is in tests/http.rs (the curl and wrk helpers are the harness's,
//! `kiln_tests::http`).

use kiln_tests::http::{self, http_callback_routes, wrk_without_errors};
use kiln_tests::{
    event_dir, event_src, host_binary_in, root, run_host, run_image, run_kiln, Output,
    GUEST_TIMEOUT_SECS,
};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The lines two runs must agree on: everything but `info:` lines.
fn check_lines(out: &Output) -> Vec<String> {
    out.app()
        .lines()
        .filter(|line| !line.starts_with("info:"))
        .map(str::to_owned)
        .collect()
}

/// Asserts that `out` ended with status 0 and `status: ok`, with no failed check; prints its
/// `info:` lines (timings) into the test's output.
fn assert_passed(name: &str, side: &str, out: &Output) {
    out.assert_status(0);
    let app = out.app();
    assert!(
        !app.contains("FAIL") && app.lines().any(|line| line == "status: ok"),
        "{name} ({side}) reports a failed check or no `status: ok`\n{}",
        out.describe()
    );
    for line in app.lines().filter(|line| line.starts_with("info:")) {
        eprintln!("{name} ({side}) {line}");
    }
}

fn host_run(name: &str) -> Output {
    let out = run_host(&host_binary_in(&event_src(), name), &[], &[]);
    assert_passed(name, "host", &out);
    out
}

fn guest_run(name: &str) -> Output {
    let image = event_dir().join(name);
    assert!(
        image.is_file(),
        "the tests/event build made no image {}",
        image.display()
    );
    let out = run_image(&image, &[], &[]);
    assert_passed(name, "guest", &out);
    out
}

/// Runs `tests/event/<name>` on the host and in the guest; both must pass and print the same
/// check lines. Returns the guest's output.
fn on_host_and_guest(name: &str) -> Output {
    let host = host_run(name);
    let guest = guest_run(name);
    assert_eq!(
        check_lines(&guest),
        check_lines(&host),
        "{name}: the guest's check lines differ from the host's\n{}",
        guest.describe()
    );
    guest
}

#[test]
fn timers_fire_in_order_never_early_and_within_40_ms() {
    let out = on_host_and_guest("timer_order");
    assert!(
        out.app().contains("fired: e b d f r1 c r2 a r3 z\n"),
        "{}",
        out.describe()
    );
}

#[test]
fn ten_thousand_timers_with_cancellations() {
    let out = on_host_and_guest("timers_10k");
    assert!(
        out.app().contains("cancelled 4063, fired 5937\n"),
        "{}",
        out.describe()
    );
}

#[test]
fn timers_cancelled_inside_their_own_callbacks_and_the_loop_ends() {
    let out = on_host_and_guest("timer_cancel");
    assert!(
        out.app()
            .ends_with("status: ok\nnothing pending: the loop ends\n"),
        "{}",
        out.describe()
    );
}

#[test]
fn os_post_from_several_threads() {
    let out = on_host_and_guest("post_threads");
    assert!(
        out.app().contains("received 4000 posts from 4 threads\n"),
        "{}",
        out.describe()
    );
}

#[test]
fn cpp_timers_and_posts() {
    on_host_and_guest("cpp_api");
}

/// os_signal: signals run as loop callbacks, on Linux and in the guest (issue 14).
#[test]
fn signals_as_loop_callbacks() {
    on_host_and_guest("signals");
}

#[test]
fn example_timers_prints_order_and_lateness_in_the_guest() {
    let out = run_kiln([
        "run",
        "examples-c/timers",
        "--timeout",
        &GUEST_TIMEOUT_SECS.to_string(),
    ]);
    out.assert_status(0);
    let names: Vec<String> = out
        .app()
        .lines()
        .filter(|line| line.contains(" ms late"))
        .map(|line| line.split("  ").next().unwrap_or("").trim().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "a (10 ms)",
            "b (20 ms)",
            "tick 1",
            "c (30 ms)",
            "d (40 ms)",
            "tick 2",
            "tick 3"
        ],
        "{}",
        out.describe()
    );
}

// ---- sockets over loopback: on the host, and in the guest over its lo ---------------------

#[test]
fn tcp_connection_closed_inside_on_data_on_the_host() {
    host_run("tcp_close_in_data");
}

#[test]
fn tcp_connection_closed_inside_on_data_in_the_guest() {
    on_host_and_guest("tcp_close_in_data");
}

#[test]
fn slow_reader_gets_everything_with_equal_sha256_on_the_host() {
    let out = host_run("tcp_backpressure");
    assert!(
        out.app().contains(
            "IPv6: received 16777216 bytes, sha256 \
             0ef6f2b442b87fe490b4efb9a8501ca0b83217dce90537dfb9a533ee85c80b1a\n"
        ),
        "{}",
        out.describe()
    );
}

#[test]
fn slow_reader_gets_everything_with_equal_sha256_in_the_guest() {
    on_host_and_guest("tcp_backpressure");
}

#[test]
fn udp_over_ipv4_and_ipv6_on_the_host() {
    host_run("udp_pingpong");
}

#[test]
fn udp_over_ipv4_and_ipv6_in_the_guest() {
    on_host_and_guest("udp_pingpong");
}

#[test]
fn cpp_tcp_and_udp_wrappers_on_the_host() {
    host_run("cpp_tcp");
}

#[test]
fn cpp_tcp_and_udp_wrappers_in_the_guest() {
    on_host_and_guest("cpp_tcp");
}

// ---- the socket examples, against real clients ---------------------------------------------

/// A host build of an example program, `examples-cpp/<name>/<name>.cpp`.
fn example_host_binary(name: &str) -> PathBuf {
    host_binary_in(&root().join("examples-cpp").join(name), name)
}

#[test]
fn socket_examples_build_as_images() {
    for dir in [
        "examples-cpp/http-callback",
        "examples-cpp/udp-echo-callback",
    ] {
        let out = run_kiln(["build", dir]);
        out.assert_status(0);
    }
}

/// A server process that is killed when dropped; its stdout lines arrive on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(exe: &Path) -> Server {
        let mut child = Command::new(exe)
            .env_clear()
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines }
    }

    /// The next line printed, within 10 s.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the server printed nothing within 10 s")
    }

    /// The port of a "listening on ADDR:PORT" / "echoing on ADDR:PORT" line.
    fn port(&self, prefix: &str) -> u16 {
        let line = self.line();
        let addr = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}...`, got {line:?}"));
        addr.rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already exited is fine; either way it is reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http_callback_serves_curl_and_wrk_over_ipv4_and_ipv6_on_the_host() {
    let server = Server::start(&example_host_binary("http-callback"));
    let port6 = server.port("listening on [::]:");
    let port4 = server.port("listening on 0.0.0.0:");
    let v4 = format!("http://127.0.0.1:{port4}");
    let v6 = format!("http://[::1]:{port6}");
    http_callback_routes(&http::host, &v4);
    http_callback_routes(&http::host, &v6);
    wrk_without_errors(&http::host, &format!("{v4}/hello"), 100, 10, 1000);
    wrk_without_errors(&http::host, &format!("{v6}/hello"), 100, 10, 1000);
    http_callback_routes(&http::host, &v4); // still serving after the load
}

#[test]
fn udp_echo_callback_echoes_over_ipv4_and_ipv6_and_quits_on_the_host() {
    let mut server = Server::start(&example_host_binary("udp-echo-callback"));
    let port4 = server.port("echoing on 0.0.0.0:");
    let port6 = server.port("echoing on [::]:");
    for (bind, target) in [
        ("127.0.0.1:0", format!("127.0.0.1:{port4}")),
        ("[::1]:0", format!("[::1]:{port6}")),
    ] {
        let socket = UdpSocket::bind(bind).expect("bind a loopback UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set timeout");
        for size in [0usize, 1, 100, 1400, 8000] {
            let payload: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            socket.send_to(&payload, &target).expect("send");
            let mut buf = [0u8; 9000];
            let (n, from) = socket.recv_from(&mut buf).expect("echo within 5 s");
            assert_eq!(&buf[..n], &payload[..], "echo of {size} bytes from {from}");
        }
    }
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .send_to(b"quit", format!("127.0.0.1:{port4}"))
        .expect("send quit");
    assert!(
        server.line().starts_with("quit from 127.0.0.1:"),
        "no quit line"
    );
    let status = server.child.wait().expect("wait for the server");
    assert_eq!(status.code(), Some(0), "udp-echo-callback exit status");
}
