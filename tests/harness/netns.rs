//! A private network for the tests that need one: a network namespace with one tap device
//! (`ktap0`), the host side at 10.77.0.1/24 and fd77::1/64, deleted with whatever runs in it
//! when the [`Netns`] is dropped. Guests are booted with `./kiln run --net tap:ktap0` inside
//! the namespace and usually given [`GUEST4`] and [`GUEST6`] statically ([`static_append`]).
//!
//! Namespaces need root: [`Netns::new`] fails with a message saying so (CI runs as root).
//! Traffic stays inside the namespace: 10.77.0.0/24 and fd77::/64, nothing else.

use crate::{image, kiln, require_root, require_system_tools, root};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The host's end of the tap.
pub const HOST4: &str = "10.77.0.1";
/// The guest's static IPv4 address (see [`static_append`]).
pub const GUEST4: &str = "10.77.0.2";
pub const HOST6: &str = "fd77::1";
pub const GUEST6: &str = "fd77::2";
/// The link-local address of QEMU's default MAC, 52:54:00:12:34:56.
pub const GUEST_LL: &str = "fe80::5054:ff:fe12:3456";
/// The tap device inside every namespace.
pub const TAP: &str = "ktap0";
/// The guest's tap when [`Netns::impair`] puts a lossy relay between it and [`TAP`].
pub const IMPAIRED_TAP: &str = "kimp0";
/// The namespace's uplink for user networking ([`Netns::add_uplink`]).
pub const UPLINK: &str = "kup0";
/// The IPv6 prefix of [`UPLINK`]: a guest on passt's user network takes its SLAAC address
/// from it.
pub const UPLINK_PREFIX6: &str = "fd78::";

/// The kernel command line that gives the guest [`GUEST4`] and [`GUEST6`] statically.
pub fn static_append() -> String {
    format!("kiln.ip={GUEST4}/24 kiln.gw={HOST4} kiln.ip6={GUEST6}/64 kiln.slaac=off")
}

/// A network namespace with one tap device, deleted (with what runs in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    children: Vec<Child>,
    /// The tap QEMU attaches to: [`TAP`], or [`IMPAIRED_TAP`] behind [`Netns::impair`].
    guest_tap: &'static str,
    /// `./kiln run --timeout` for the guests booted here.
    timeout_secs: u32,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// A fresh namespace named after `tag`, this process and a counter (so parallel tests
    /// and runs never share one). Fails unless run as root with iproute2, ping and dnsmasq installed.
    pub fn new(tag: &str) -> Netns {
        require_root("the network tests (network namespaces, tap devices)");
        require_system_tools(&["ip", "ping", "dnsmasq"]);
        // Unique per test even when one test function runs on several platforms at once.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("kiln-{tag}-{}-{n}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns {
            name,
            children: Vec::new(),
            guest_tap: TAP,
            timeout_secs: 90,
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["tuntap", "add", "dev", TAP, "mode", "tap"]);
        ns.ip(&["addr", "add", &format!("{HOST4}/24"), "dev", TAP]);
        ns.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{HOST6}/64"),
            "dev",
            TAP,
            "nodad",
        ]);
        ns.ip(&["link", "set", TAP, "up"]);
        ns
    }

    /// Gives the namespace default routes — IPv4 and, with `ipv6`, IPv6 — through a tap that
    /// nothing is attached to ([`UPLINK`], 10.78.0.2/24 and fd78::2/64): passt (user
    /// networking) starts only where the host has a default route, and copies its interface's
    /// addresses. What a guest sends out through it stops there.
    pub fn add_uplink(&self, ipv6: bool) {
        self.ip(&["tuntap", "add", "dev", UPLINK, "mode", "tap"]);
        self.ip(&["addr", "add", "10.78.0.2/24", "dev", UPLINK]);
        if ipv6 {
            let global = format!("{UPLINK_PREFIX6}2/64");
            // A tap without a reader has no carrier, so no link-local address of its own.
            for addr in [global.as_str(), "fe80::78:2/64"] {
                self.ip(&["-6", "addr", "add", addr, "dev", UPLINK, "nodad"]);
            }
        }
        self.ip(&["link", "set", UPLINK, "up"]);
        self.ip(&["route", "add", "default", "via", "10.78.0.1"]);
        if ipv6 {
            let gw = format!("{UPLINK_PREFIX6}1");
            self.ip(&["-6", "route", "add", "default", "via", &gw, "dev", UPLINK]);
        }
    }

    /// The processes running in the namespace (`ip netns pids`).
    pub fn pids(&self) -> Vec<u32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .expect("running ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The namespace's name (for `ip netns exec NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS...`; panics with ip's message if it fails.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// `program` run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Guests booted from now on are stopped after `secs` seconds (default 90).
    pub fn set_timeout(&mut self, secs: u32) {
        self.timeout_secs = secs;
    }

    /// Keeps `child` (started with [`Netns::command`]) to be killed when the namespace goes.
    pub fn keep(&mut self, child: Child) {
        self.children.push(child);
    }

    /// Starts dnsmasq on the tap: DHCPv4 for .50-.60 and router advertisements for fd77::/64
    /// (SLAAC), nothing else (no DNS port, no resolv.conf). `extra` options are appended
    /// (e.g. a DNS port and host records).
    pub fn dnsmasq_with(&mut self, extra: &[&str]) {
        let child = self
            .command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                &format!("--interface={TAP}"),
                "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h",
                "--dhcp-option=option:router,10.77.0.1",
                "--enable-ra",
                "--dhcp-range=fd77::,ra-only,64",
                "--dhcp-leasefile=/dev/null",
                "--pid-file=",
            ])
            .args(if extra.iter().any(|o| o.starts_with("--port")) {
                &[][..]
            } else {
                &["--port=0"][..]
            })
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dnsmasq");
        self.children.push(child);
    }

    /// [`Netns::dnsmasq_with`] without extra options.
    pub fn dnsmasq(&mut self) {
        self.dnsmasq_with(&[]);
    }

    /// Boots `net_idle` with `./kiln run --net tap:ktap0` inside the namespace; the guest
    /// stays up `secs` seconds. Returns the console, line by line.
    /// `options` are extra `./kiln run` options (e.g. `--nic e1000`).
    pub fn boot_with(
        &mut self,
        machine: &str,
        options: &[&str],
        append: &str,
        secs: u32,
    ) -> Receiver<String> {
        self.boot_image(
            machine,
            options,
            append,
            &image("net_idle"),
            &[&secs.to_string()],
        )
    }

    /// Boots `img` with `args` on the tap (see [`Netns::boot_with`]).
    pub fn boot_image(
        &mut self,
        machine: &str,
        options: &[&str],
        append: &str,
        img: &Path,
        args: &[&str],
    ) -> Receiver<String> {
        let mut child = self
            .command(kiln().get_program())
            .current_dir(root())
            .args(["run", "--accel", "tcg", "--machine", machine])
            .args(["--net", &format!("tap:{}", self.guest_tap)])
            .args(["--timeout", &self.timeout_secs.to_string()])
            .args(options)
            .arg("--append")
            .arg(append)
            .arg(img)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ./kiln run");
        let rx = console_lines(&mut child);
        self.children.push(child);
        rx
    }

    /// Puts tests/clients/impair.py (a user-space netem: loss, reorder and duplication of
    /// frames, in both directions) between the guest and the host: guests booted after this
    /// attach to [`IMPAIRED_TAP`], which has no address, and the relay carries frames between
    /// it and [`TAP`]. Percentages as for `tc ... netem loss L% reorder R% duplicate D%`.
    /// Returns the relay's output: an `impair: ...` line of counters every second.
    pub fn impair(&mut self, loss: u32, reorder: u32, duplicate: u32) -> Receiver<String> {
        let t = IMPAIRED_TAP;
        self.ip(&["tuntap", "add", "dev", t, "mode", "tap"]);
        // A wire, not an interface of the host: no ARP answers, no IPv6 address of its own.
        self.ip(&["link", "set", t, "arp", "off", "addrgenmode", "none"]);
        self.ip(&["link", "set", t, "up"]);
        let script = root().join("tests/clients/impair.py");
        let mut child = self
            .command("python3")
            .arg(script)
            .args([TAP, t])
            .args([loss, reorder, duplicate, std::process::id()].map(|n| n.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting python3 (run ./kiln doctor --install)");
        let rx = lines(child.stdout.take().unwrap());
        self.children.push(child);
        let mut seen = Vec::new();
        expect_line(&rx, &mut seen, "impair: ready");
        self.guest_tap = t;
        rx
    }

    /// Three pings (`-6` if `v6`) to `addr` from inside the namespace.
    pub fn ping(&self, v6: bool, addr: &str) -> Result<(), String> {
        let mut c = self.command("ping");
        if v6 {
            c.arg("-6");
        }
        let out = c
            .args(["-c", "3", "-i", "0.2", "-W", "3", addr])
            .output()
            .expect("running ping");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ping {addr} failed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    /// Runs tests/clients/echo_client.py inside the namespace; panics with its output unless
    /// every check passed.
    pub fn echo_client(&self, args: &[&str]) -> String {
        let script = root().join("tests/clients/echo_client.py");
        let out = self
            .command("python3")
            .arg(script)
            .args(args)
            .output()
            .expect("running python3 (run ./kiln doctor --install)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "echo_client {args:?} failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // What those children started (QEMU under `./kiln run`) outlives a killed parent:
        // end everything still running in the namespace before deleting it.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The console of a `./kiln run` child (its stdout and stderr, both piped): the program's
/// output arrives on stdout, the runtime's `kiln:` lines and the program's stderr on stderr;
/// both are merged here, line by line as they arrive.
pub fn console_lines(child: &mut Child) -> Receiver<String> {
    console_and_stderr(child).0
}

/// [`console_lines`], and everything the child wrote on stderr so far (kiln's own notices
/// among it), which is also copied to the test's stderr.
pub fn console_and_stderr(child: &mut Child) -> (Receiver<String>, Arc<Mutex<String>>) {
    let (tx, rx) = channel();
    let out = child.stdout.take().expect("stdout is piped");
    let err = child.stderr.take().expect("stderr is piped");
    let tx2 = tx.clone();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Ok(mut text) = sink.lock() {
                text.push_str(&line);
                text.push('\n');
            }
            let _ = tx2.send(line);
        }
    });
    (rx, text)
}

/// The lines of `out` (a child's stdout), sent one by one as they arrive.
pub fn lines(out: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads console lines until one satisfies `want`; everything read is kept in `seen`.
pub fn wait_for(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    within: Duration,
    want: impl Fn(&str) -> bool,
) -> Option<String> {
    if let Some(l) = seen.iter().find(|l| want(l)) {
        return Some(l.clone());
    }
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if want(&line) {
                    return Some(line);
                }
            }
            Err(_) => break,
        }
    }
    None
}

/// Waits up to a minute for the console line `line` (trimmed); panics with what was seen.
pub fn expect_line(rx: &Receiver<String>, seen: &mut Vec<String>, line: &str) {
    let found = wait_for(rx, seen, Duration::from_secs(60), |l| l.trim() == line);
    assert!(
        found.is_some(),
        "the console never showed {line:?}; it showed:\n{}",
        seen.join("\n")
    );
}

/// Waits for the lines a guest given [`static_append`] prints once both addresses are up.
pub fn expect_static_addresses(rx: &Receiver<String>, seen: &mut Vec<String>) {
    expect_line(rx, seen, &format!("kiln: net: eth0 {GUEST4}/24 gw {HOST4}"));
    expect_line(rx, seen, &format!("kiln: net: eth0 {GUEST6}/64"));
}

/// A machine and NIC the network test set runs on (issue 8: the set passes on each).
#[derive(Debug, Clone, Copy)]
pub struct Platform {
    /// `./kiln run --machine`.
    pub machine: &'static str,
    /// Extra `./kiln run` options that pick the NIC.
    pub options: &'static [&'static str],
}

/// microvm with virtio-net on virtio-mmio (Firecracker's shape).
pub const MICROVM: Platform = Platform {
    machine: "microvm",
    options: &[],
};
/// q35 with virtio-net on PCI (modern), interrupts through the I/O APIC.
pub const Q35_VIRTIO: Platform = Platform {
    machine: "q35",
    options: &[],
};
/// q35 with the Intel e1000 (the NIC of VirtualBox, VMware and Bochs).
pub const Q35_E1000: Platform = Platform {
    machine: "q35",
    options: &["--nic", "e1000"],
};

/// pc (i440FX/PIIX3) with virtio-net on PCI: INTx through the PIIX's PIRQ links to an ISA
/// IRQ (not part of [`on_every_platform!`]; tests/net.rs runs a subset on it).
pub const PC_VIRTIO: Platform = Platform {
    machine: "pc",
    options: &[],
};
/// pc with the Intel e1000.
pub const PC_E1000: Platform = Platform {
    machine: "pc",
    options: &["--nic", "e1000"],
};

/// pc with a virtio-net-pci that has only the legacy interface (I/O ports; VirtualBox's
/// virtio-net is one): `./kiln run --nic virtio-legacy`.
pub const PC_VIRTIO_LEGACY: Platform = Platform {
    machine: "pc",
    options: &["--nic", "virtio-legacy"],
};

impl Platform {
    /// True if the platform's NIC is the Intel e1000.
    pub fn is_e1000(&self) -> bool {
        self.options.contains(&"e1000")
    }
}

/// Runs the network test `fn NAME(&Platform)` once per platform, as the tests
/// `NAME::microvm`, `NAME::q35_virtio` and `NAME::q35_e1000`.
#[macro_export]
macro_rules! on_every_platform {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn microvm() {
                super::$name(&$crate::netns::MICROVM)
            }
            #[test]
            fn q35_virtio() {
                super::$name(&$crate::netns::Q35_VIRTIO)
            }
            #[test]
            fn q35_e1000() {
                super::$name(&$crate::netns::Q35_E1000)
            }
        }
    )+};
}
