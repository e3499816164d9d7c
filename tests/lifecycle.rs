//! `kiln run` as the process it wraps (issue 14): signals sent to it reach the program, the
//! grace period and the hard stop, QEMU never outliving it (checked by pid), stdout passed
//! through byte for byte (compared with `cmp` against the native run), stdin piped through
//! with its end; and the ACPI power button as SIGTERM, for an image booted by QEMU alone and
//! for a disk image under `kiln run`. The program is `tests/programs/lifecycle.c`.

use kiln_tests::{host_binary, image, kiln, work_dir, xorshift_bytes, GUEST_TIMEOUT_SECS};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A `./kiln run` of the lifecycle program; SIGKILLed (and so its QEMU) when dropped.
struct Run {
    child: Child,
    out: Receiver<String>,
    err: Arc<Mutex<String>>,
    seen: Vec<String>,
}

impl Run {
    fn start(mode: &str, options: &[&str]) -> Run {
        let mut cmd = kiln();
        cmd.args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
            .args(options)
            .arg(image("lifecycle"))
            .args(["--", mode]);
        Run::spawn(cmd)
    }

    /// Starts `cmd` (`./kiln run ...`, or QEMU itself) with stdout and stderr piped.
    fn spawn(mut cmd: Command) -> Run {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the run");
        let (tx, out) = channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let sink = err.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Run {
            child,
            out,
            err,
            seen: Vec::new(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.seen.join("\n"),
            self.err.lock().unwrap()
        )
    }

    /// Waits (up to 120 s) for the program to print `line` on stdout.
    fn expect(&mut self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.out.recv_timeout(left) {
                Ok(l) => {
                    // A console without `kiln run` ends lines with \r\n (ONLCR).
                    let found = l.trim_end_matches('\r') == line;
                    self.seen.push(l);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("the program never printed {line:?}\n{}", self.describe());
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// The status `kiln run` exits with, within `secs`.
    fn wait(&mut self, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for kiln") {
                use std::os::unix::process::ExitStatusExt;
                // The rest of stdout, for the assertions.
                while let Ok(l) = self.out.recv_timeout(Duration::from_millis(500)) {
                    self.seen.push(l);
                }
                return status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            }
            assert!(
                Instant::now() < deadline,
                "kiln run did not exit within {secs} s\n{}",
                self.describe()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The QEMU process this `kiln run` started.
    fn qemu_pid(&self) -> u32 {
        qemu_child_of(self.child.id()).unwrap_or_else(|| {
            panic!(
                "kiln run {} has no QEMU child\n{}",
                self.child.id(),
                self.describe()
            )
        })
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pid of the `qemu-system-x86_64` whose parent is `parent`, from /proc.
fn qemu_child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid ...
            let (comm, rest) = stat.split_once(") ")?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent && comm.ends_with("(qemu-system-x86")).then_some(pid)
        })
}

/// True once `pid` is no longer running: gone, or a zombie waiting for its reaper.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("Z (zombie)")),
    }
}

fn assert_dead_within(pid: u32, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while !dead(pid) {
        assert!(
            Instant::now() < deadline,
            "QEMU (pid {pid}) still runs {within:?} after {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to `kiln run` reaches the program's handler, which prints and exits 0; kiln exits
/// 0 and its QEMU is gone. SIGHUP and SIGUSR1 arrive on the way, each as itself.
#[test]
fn sigterm_reaches_the_programs_handler_and_no_qemu_is_left() {
    let mut run = Run::start("handler", &[]);
    run.expect("ready");
    let qemu = run.qemu_pid();
    run.signal("HUP");
    run.expect("SIGHUP 1");
    run.signal("USR1");
    run.expect("SIGUSR1 1");
    run.signal("TERM");
    run.expect("SIGTERM after 1 SIGHUP");
    let status = run.wait(60);
    assert_eq!(status, 0, "{}", run.describe());
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run exited");
}

/// A signal whose default action ends the program (SIGINT without a handler): kiln exits as
/// the program did, 128 + 2.
#[test]
fn a_fatal_signal_gives_the_shells_status() {
    let mut run = Run::start("handler", &[]);
    run.expect("ready");
    let qemu = run.qemu_pid();
    run.signal("INT");
    let status = run.wait(60);
    assert_eq!(status, 130, "{}", run.describe());
    assert!(
        run.err
            .lock()
            .unwrap()
            .contains("kiln: killed by signal SIGINT (2)"),
        "{}",
        run.describe()
    );
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run exited");
}

/// SIGKILL to `kiln run` (which it cannot catch) takes QEMU with it within 2 s.
#[test]
fn sigkill_to_kiln_takes_qemu_down_within_2_s() {
    let mut run = Run::start("ignore", &[]);
    run.expect("ready");
    let qemu = run.qemu_pid();
    run.signal("KILL");
    let status = run.wait(10);
    assert_eq!(status, 137);
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run was killed");
}

/// A program that ignores SIGTERM is stopped after the grace period (`--stop-timeout`), and
/// kiln exits 143 as if SIGTERM had ended it.
#[test]
fn a_program_ignoring_sigterm_is_stopped_after_the_grace_period_with_143() {
    let mut run = Run::start("ignore", &["--stop-timeout", "3"]);
    run.expect("ready");
    let qemu = run.qemu_pid();
    let sent = Instant::now();
    run.signal("TERM");
    let status = run.wait(60);
    assert_eq!(status, 143, "{}", run.describe());
    assert!(
        sent.elapsed() >= Duration::from_secs(3),
        "stopped before the grace period ended"
    );
    assert!(
        run.err
            .lock()
            .unwrap()
            .contains("the program did not stop within 3 s of SIGTERM"),
        "{}",
        run.describe()
    );
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run exited");
}

/// A second SIGINT stops QEMU at once (status 130), however long the grace period.
#[test]
fn a_second_sigint_stops_qemu_at_once() {
    let mut run = Run::start("ignore", &["--stop-timeout", "600"]);
    run.expect("ready");
    let qemu = run.qemu_pid();
    run.signal("INT");
    thread::sleep(Duration::from_millis(500));
    run.signal("INT");
    let status = run.wait(30);
    assert_eq!(status, 130, "{}", run.describe());
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run exited");
}

/// Run natively and in a VM with stdout to a file, the outputs are the same bytes (`cmp`):
/// every byte value, `\n` and `\r\n` lines, no newline at the end.
#[test]
fn stdout_to_a_file_is_byte_for_byte_the_native_runs() {
    let dir = work_dir().join("lifecycle");
    std::fs::create_dir_all(&dir).expect("create a directory");
    let native = dir.join("bytes.native");
    let guest = dir.join("bytes.guest");
    let status = Command::new(host_binary("lifecycle"))
        .arg("bytes")
        .stdout(std::fs::File::create(&native).unwrap())
        .status()
        .expect("run the native program");
    assert!(status.success());
    let status = kiln()
        .args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .arg(image("lifecycle"))
        .args(["--", "bytes"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&guest).unwrap())
        .stderr(Stdio::null())
        .status()
        .expect("run ./kiln run");
    assert!(status.success(), "kiln run exited with {status}");
    let cmp = Command::new("cmp")
        .arg(&native)
        .arg(&guest)
        .output()
        .expect("run cmp (diffutils)");
    assert!(
        cmp.status.success(),
        "the guest's stdout differs from the native run's: {}",
        String::from_utf8_lossy(&cmp.stdout)
    );
}

/// `... | kiln run IMAGE` feeds the program's stdin, and the end of the pipe reaches it: a
/// copying program gets every byte (200 KiB, all byte values) and then end of file. An empty
/// stdin (/dev/null) is at its end at once.
#[test]
fn stdin_is_piped_through_and_its_end_reaches_the_program() {
    let mut x = 0x1234_5678_9abc_def1u64;
    let data = xorshift_bytes(&mut x, 200 * 1024);
    let mut child = kiln()
        .args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .arg(image("lifecycle"))
        .args(["--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ./kiln run");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.clone();
    let writer = thread::spawn(move || {
        stdin.write_all(&input).expect("write kiln's stdin");
        // Dropping it closes the pipe: the end of the input.
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        err
    });
    writer.join().unwrap();
    let out = reader.join().unwrap();
    let status = child.wait().unwrap();
    let err = err_reader.join().unwrap();
    assert!(status.success(), "kiln run exited with {status}\n{err}");
    assert!(
        out == data,
        "stdout differs from stdin ({} bytes of {})",
        out.len(),
        data.len()
    );
    assert!(err.contains("cat: 204800 bytes, end of input"), "{err}");

    let empty = kiln()
        .args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .arg(image("lifecycle"))
        .args(["--", "cat"])
        .stdin(Stdio::null())
        .output()
        .expect("run ./kiln run");
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(empty.status.success(), "{err}");
    assert!(
        empty.stdout.is_empty() && err.contains("cat: 0 bytes, end of input"),
        "{err}"
    );
}

/// The QMP monitor of a QEMU on the Unix socket `path`: capabilities negotiated, then
/// `command` executed; returns QMP's replies up to the command's.
fn qmp(path: &std::path::Path, command: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let stream = loop {
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "no QMP socket at {path:?}: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut replies = String::new();
    let mut line = String::new();
    reader.read_line(&mut line).expect("QMP greeting");
    replies.push_str(&line);
    for execute in ["qmp_capabilities", command] {
        writeln!(writer, "{{\"execute\":\"{execute}\"}}").expect("write to QMP");
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return replies;
            }
            replies.push_str(&line);
            if line.contains("\"return\"") || line.contains("\"error\"") {
                break;
            }
        }
    }
    replies
}

/// Booted by QEMU alone (no `kiln`, the console on stdio), an image stops gracefully on the
/// ACPI power button (QMP's `system_powerdown`, a hypervisor's "shut down"): the program's
/// SIGTERM handler runs and its status is the VM's — on microvm (its Generic Event Device),
/// pc and q35 (the fixed-feature button, under SeaBIOS).
#[test]
fn the_acpi_power_button_is_sigterm_for_an_image_booted_without_kiln() {
    let dir = work_dir().join("lifecycle");
    std::fs::create_dir_all(&dir).expect("create a directory");
    for machine in ["microvm", "pc", "q35"] {
        let socket = dir.join(format!("qmp-{machine}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(["-M", machine, "-accel", "tcg", "-cpu", "max", "-m", "256M"])
            .args(["-nodefaults", "-display", "none", "-serial", "stdio"])
            .args([
                "-device",
                "isa-debug-exit,iobase=0xf4,iosize=4",
                "-no-reboot",
            ])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .arg("-kernel")
            .arg(image("lifecycle"))
            .args(["-append", "kiln.argv0=lifecycle -- handler"]);
        let mut run = Run::spawn(cmd);
        run.expect("ready");
        let replies = qmp(&socket, "system_powerdown");
        assert!(
            !replies.contains("\"error\""),
            "{machine}: QMP said {replies}"
        );
        run.expect("SIGTERM after 0 SIGHUP");
        run.expect("kiln: exit status 0");
        // isa-debug-exit: QEMU exits (0 << 1) | 1.
        let status = run.wait(60);
        assert_eq!(status, 1, "{machine}: {}", run.describe());
        let _ = std::fs::remove_file(&socket);
    }
}

/// A disk image made by `kiln image` (its command line baked into GRUB's configuration) gets
/// SIGTERM sent to `kiln run` as the ACPI power button: the program's handler runs and kiln
/// exits 0, with QEMU gone.
#[test]
fn sigterm_reaches_a_disk_images_program_as_the_power_button() {
    let dir = work_dir().join("lifecycle");
    std::fs::create_dir_all(&dir).expect("create a directory");
    let disk = dir.join("lifecycle-handler.img");
    let out = kiln()
        .args(["image", "--format", "raw", "-o"])
        .arg(&disk)
        .arg(image("lifecycle"))
        .args(["--", "handler"])
        .output()
        .expect("run ./kiln image");
    assert!(
        out.status.success(),
        "kiln image failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = kiln();
    cmd.args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .arg(&disk);
    let mut run = Run::spawn(cmd);
    run.expect("ready");
    let qemu = run.qemu_pid();
    run.signal("TERM");
    run.expect("SIGTERM after 0 SIGHUP");
    let status = run.wait(60);
    assert_eq!(status, 0, "{}", run.describe());
    assert_dead_within(qemu, Duration::from_secs(2), "kiln run exited");
}

/// `kiln run IMAGE | head`: once the reader of `kiln run`'s stdout is gone, the program's
/// writes raise SIGPIPE as they would on Linux (`yes | head`), so it ends with 141, and so
/// does `kiln run`; natively the same program ends the same way.
#[test]
fn a_closed_stdout_pipe_ends_the_program_with_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    let mut flood = Command::new(host_binary("lifecycle"))
        .arg("flood")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the native program");
    let mut out = flood.stdout.take().unwrap();
    let mut first = [0u8; 64];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let status = flood.wait().unwrap();
    assert_eq!(status.signal(), Some(13), "natively: {status}");

    let mut cmd = kiln();
    cmd.args(["run", "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .arg(image("lifecycle"))
        .args(["--", "flood"]);
    let mut run = Run::spawn(cmd);
    run.expect("line 0");
    run.expect("line 100");
    // Stop reading: the lines' receiver and with it kiln's stdout pipe go away.
    let (_, dead) = channel();
    run.out = dead;
    let status = run.wait(120);
    assert_eq!(status, 141, "{}", run.describe());
    assert!(
        run.err
            .lock()
            .unwrap()
            .contains("kiln: killed by signal SIGPIPE (13)"),
        "{}",
        run.describe()
    );
}
