//! The Linux guest of `bench/linux-guest/` (Debian's cloud kernel + busybox initramfs), the
//! baseline Kiln's benchmarks are measured against: `build.sh` packs the static host twin of
//! a test program, `run.sh` boots it with `kiln run`'s QEMU flags, and the guest reports its
//! output and exit status the way a Kiln image does. These tests keep that tooling working.
//!
//! They need `linux-image-cloud-amd64`, `busybox-static`, `cpio` and `kmod` (`./kiln doctor
//! --install`): without them `build.sh` fails and says so, and so do the tests. The network
//! tests also need root (a private network namespace with a tap device each, as
//! `tests/net.rs`); their traffic stays inside those namespaces: 10.77.0.0/24 and fd77::/64.

use kiln_tests::netns::Netns;
use kiln_tests::{host_binary, host_binary_in, root, run_with_deadline, work_dir, Output};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::thread;
use std::time::Duration;

/// How long one boot may take: ~3 s on an idle host under TCG, far more on a busy one.
const BOOT_TIMEOUT_SECS: u64 = 120;
const DEADLINE: Duration = Duration::from_secs(BOOT_TIMEOUT_SECS + 30);

fn script(name: &str) -> PathBuf {
    root().join("bench").join("linux-guest").join(name)
}

/// `build.sh -o target/kiln-tests/linux-guest/TAG.cpio.gz PROGRAM -- ARGS`: the kernel and
/// the initramfs it printed.
fn build(program: &Path, tag: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let dir = work_dir().join("linux-guest");
    std::fs::create_dir_all(&dir).expect("create target/kiln-tests/linux-guest");
    let initrd = dir.join(format!("{tag}.cpio.gz"));
    let mut cmd = Command::new(script("build.sh"));
    cmd.arg("-o").arg(&initrd).arg(program);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    let out = run_with_deadline(&mut cmd, DEADLINE);
    assert!(
        out.status == 0 && !out.timed_out,
        "bench/linux-guest/build.sh failed (status {}); if it names missing packages, run \
         `./kiln doctor --install`\n{}",
        out.status,
        out.describe()
    );
    let printed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        printed,
        [
            printed.first().copied().unwrap_or_default(),
            initrd.to_str().unwrap()
        ],
        "build.sh prints the kernel, then the initramfs\n{}",
        out.describe()
    );
    let kernel = PathBuf::from(printed[0]);
    assert!(kernel.is_file(), "no kernel at {}", kernel.display());
    (kernel, initrd)
}

/// The arguments of `run.sh --timeout 120 OPTIONS KERNEL INITRD [-- ARGS]`.
fn run_sh_args(options: &[&str], kernel: &Path, initrd: &Path, args: &[&str]) -> Vec<OsString> {
    let mut all: Vec<OsString> = vec!["--timeout".into(), BOOT_TIMEOUT_SECS.to_string().into()];
    all.extend(options.iter().map(OsString::from));
    all.extend([kernel.into(), initrd.into()]);
    if !args.is_empty() {
        all.push("--".into());
        all.extend(args.iter().map(OsString::from));
    }
    all
}

fn run_sh(options: &[&str], kernel: &Path, initrd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(script("run.sh"));
    cmd.args(run_sh_args(options, kernel, initrd, args));
    cmd
}

fn boot(options: &[&str], kernel: &Path, initrd: &Path, args: &[&str]) -> Output {
    run_with_deadline(&mut run_sh(options, kernel, initrd, args), DEADLINE)
}

/// The program's lines: the console without the `kiln:` lines and the kernel's own messages
/// (`[    0.123456] ...`, printed even under `quiet` for errors).
fn program_lines(out: &Output) -> Vec<String> {
    out.app()
        .lines()
        .filter(|l| !l.starts_with('['))
        .map(str::to_owned)
        .collect()
}

#[test]
fn hello_boots_in_the_linux_guest() {
    let (kernel, initrd) = build(&host_binary("hello"), "hello", &[]);
    let out = boot(&[], &kernel, &initrd, &[]);
    out.assert_status(0);
    assert_eq!(
        program_lines(&out),
        ["hello from a kiln test image"],
        "{}",
        out.describe()
    );
    assert_eq!(
        out.kiln_lines(),
        ["kiln: exit status 0"],
        "{}",
        out.describe()
    );
}

/// Arguments baked in by build.sh, replaced by those on the kernel command line; the
/// environment from `NAME=value` words with Kiln's default PATH; on q35 (virtio-pci modules,
/// qboot).
#[test]
fn arguments_and_environment_as_in_a_kiln_image() {
    let (kernel, initrd) = build(
        &host_binary("args_env"),
        "args_env",
        &["baked", "two words", "it's"],
    );
    let baked = boot(
        &["--machine", "q35", "--append", "KILN_TEST=yes"],
        &kernel,
        &initrd,
        &[],
    );
    baked.assert_status(0);
    assert_eq!(
        program_lines(&baked),
        [
            "argc=4",
            "argv[0]=[args_env]",
            "argv[1]=[baked]",
            "argv[2]=[two words]",
            "argv[3]=[it's]",
            "argv[argc]=NULL",
            "env=[KILN_TEST=yes]",
            "env=[PATH=/bin:/usr/bin]",
            "getenv(KILN_TEST)=yes",
            "getenv(KILN_MISSING)=(null)",
        ],
        "{}",
        baked.describe()
    );
    let given = boot(&["--machine", "q35"], &kernel, &initrd, &["x", "y z"]);
    given.assert_status(0);
    let lines = program_lines(&given);
    assert_eq!(
        lines[..4],
        [
            "argc=3",
            "argv[0]=[args_env]",
            "argv[1]=[x]",
            "argv[2]=[y z]"
        ],
        "{}",
        given.describe()
    );
}

/// The status reaches QEMU through isa-debug-exit, `(3 << 1) | 1`, as a Kiln image's does,
/// and run.sh reports it.
#[test]
fn exit_status_leaves_through_isa_debug_exit() {
    let (kernel, initrd) = build(&host_binary("exit3"), "exit3", &[]);
    let out = boot(&[], &kernel, &initrd, &[]);
    out.assert_status(3);
    assert!(
        out.kiln_lines().contains(&"kiln: exit status 3".to_owned()),
        "{}",
        out.describe()
    );
    // The same QEMU command, run directly: its own exit code.
    let mut print = run_sh(&["--print"], &kernel, &initrd, &[]);
    let command = run_with_deadline(&mut print, DEADLINE);
    command.assert_status(0);
    let qemu = run_with_deadline(
        Command::new("timeout")
            .arg(BOOT_TIMEOUT_SECS.to_string())
            .arg("bash")
            .arg("-c")
            .arg(command.stdout.trim()),
        DEADLINE,
    );
    assert_eq!(
        qemu.status,
        (3 << 1) | 1,
        "QEMU's exit code is not isa-debug-exit's (3 << 1) | 1\n{}",
        qemu.describe()
    );
}

/// The UDP client, run in the namespace: a datagram echoed over IPv4 and IPv6, then "quit",
/// which ends the server and so the VM.
const UDP_CLIENT: &str = r#"
import socket
for fam, addr in ((socket.AF_INET, "10.77.0.2"), (socket.AF_INET6, "fd77::2")):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(10)
    u.sendto(b"datagram to " + addr.encode(), (addr, 7))
    assert u.recvfrom(100)[0] == b"datagram to " + addr.encode(), "udp " + addr
    print("echoed over", addr, flush=True)
u.sendto(b"quit", (addr, 7))
"#;

/// The TCP client: 100 KB echoed and compared over IPv4 and IPv6, then "quit\n".
const TCP_CLIENT: &str = r#"
import socket
for addr in ("10.77.0.2", "fd77::2"):
    t = socket.create_connection((addr, 7), timeout=10)
    data = bytes(range(256)) * 400
    t.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = t.recv(65536)
        assert chunk, "tcp " + addr + ": closed early"
        got += chunk
    assert got == data, "tcp " + addr + ": data differs"
    t.close()
    print("echoed over", addr, flush=True)
socket.create_connection(("10.77.0.2", 7), timeout=10).sendall(b"quit\n")
"#;

/// The guest on a tap device: static IPv4 and IPv6 from the kernel command line, answering
/// ping, serving UDP echo (examples-c/udp-echo, static host build).
#[test]
fn udp_echo_and_ping_in_a_private_namespace() {
    serve_echo("udp-echo", UDP_CLIENT, true);
}

/// The same with examples-c/tcp-echo.
#[test]
fn tcp_echo_in_a_private_namespace() {
    serve_echo("tcp-echo", TCP_CLIENT, false);
}

/// Boots `examples-c/NAME` in the Linux guest on a tap in a fresh namespace, pings it (if
/// `ping`), runs `client` (Python) against it, and expects the guest to end with status 0.
fn serve_echo(name: &str, client: &str, ping: bool) {
    let ns = Netns::new(&format!("lg-{name}"));
    kiln_tests::require_system_tools(&["python3"]);
    let program = host_binary_in(&root().join("examples-c").join(name), name);
    let (kernel, initrd) = build(&program, name, &["7"]);
    let child = ns
        .command(script("run.sh"))
        .args(run_sh_args(
            &[
                "--net",
                "tap:ktap0",
                "--append",
                "kiln.ip=10.77.0.2/24 kiln.gw=10.77.0.1 kiln.ip6=fd77::2/64 kiln.slaac=off",
            ],
            &kernel,
            &initrd,
            &[],
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("starting run.sh in the namespace");
    let mut guest = Group(child);
    let child = &mut guest.0;
    let (tx, rx) = channel();
    let stdout = child.stdout.take().expect("piped");
    let reader = thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    let listening = format!("{name}: listening");
    let mut seen = Vec::new();
    let up = loop {
        match rx.recv_timeout(DEADLINE) {
            Ok(line) => {
                let ready = line.starts_with(&listening);
                seen.push(line);
                if ready {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    assert!(
        up,
        "{name} never started in the Linux guest:\n{}",
        seen.join("\n")
    );
    assert!(
        seen.iter()
            .any(|l| l.trim_end() == "kiln: net: eth0 10.77.0.2/24 gw 10.77.0.1"),
        "no address line:\n{}",
        seen.join("\n")
    );
    if ping {
        for (v6, addr) in [(false, "10.77.0.2"), (true, "fd77::2")] {
            let mut ping = ns.command("ping");
            if v6 {
                ping.arg("-6");
            }
            let out = ping
                .args(["-c", "3", "-i", "0.2", "-W", "5", addr])
                .output()
                .expect("running ping");
            assert!(
                out.status.success(),
                "ping {addr} failed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        // An address nobody has: no answer, so the pings above can fail.
        let out = ns
            .command("ping")
            .args(["-c", "1", "-W", "1", "10.77.0.3"])
            .output()
            .expect("running ping");
        assert!(!out.status.success(), "10.77.0.3 answered ping");
    }

    let client = run_with_deadline(ns.command("python3").args(["-c", client]), DEADLINE);
    let finished = if client.status == 0 {
        wait_until_deadline(child)
    } else {
        None
    };
    drop(guest);
    let console = reader.join().unwrap_or_default();
    assert!(
        client.status == 0,
        "the {name} client failed\n{}\n--- guest console ---\n{}",
        client.describe(),
        console.join("\n")
    );
    assert_eq!(
        finished,
        Some(0),
        "the guest did not end with status 0 after \"quit\":\n{}",
        console.join("\n")
    );
}

/// A child started in a process group of its own (run.sh, its `timeout` and QEMU), sent
/// SIGTERM as a group on drop, so a failing test leaves no VM behind.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", self.0.id())])
                .status();
            let _ = self.0.wait();
        }
    }
}

/// Waits for `child` (run.sh, which has its own timeout) and returns its exit code.
fn wait_until_deadline(child: &mut Child) -> Option<i32> {
    let start = std::time::Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if start.elapsed() > DEADLINE {
            return None; // the Group guard ends it
        }
        thread::sleep(Duration::from_millis(50));
    }
}
