//! `kiln run` as the process it wraps. A supervisor, a shell or a test harness treats it as
//! the program itself:
//!
//! - **Signals.** SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to `kiln run`
//!   reach the program as that signal, through the host channel on the VM's second UART
//!   (`kiln.ctl=com2`; its line protocol is described in `runtime/src/drivers/hostctl.rs`,
//!   the one place for it). Why a UART: it carries any signal
//!   and the end of stdin in order, needs no ACPI (microvm and Firecracker-style guests have
//!   none) and no QEMU monitor protocol, works the same under TCG and KVM, and keeps COM1 for
//!   the program's stdio alone. A disk or ISO image (whose command line GRUB fixes) gets the
//!   ACPI power button through QMP instead, which the runtime turns into SIGTERM.
//!   After SIGINT, SIGTERM or SIGQUIT the program has `--stop-timeout` (10 s) to end; then, or
//!   at a second SIGINT, QEMU is stopped hard and `kiln run` exits 128 + the signal.
//! - **QEMU never outlives `kiln run`**: it runs in a process group of its own (so a
//!   terminal's Ctrl-C reaches `kiln run`, which forwards it) with `PR_SET_PDEATHSIG` set to
//!   SIGKILL, so it dies with `kiln run` whatever ends it, SIGKILL included.
//! - **Stdio.** COM1 carries the program's stdin and stdout and nothing else: its output is
//!   copied to our stdout byte for byte (the runtime adds no `\r`; a terminal's own ONLCR
//!   does), and our stdin (terminal or pipe) is copied to it, its end told to the guest with
//!   the byte count (`eof N`; `eot N` for a terminal's Ctrl-D). The program's stderr and the
//!   runtime's own `kiln:` lines come over the host channel and go to our stderr.
//! - **Exit status**: the program's (from isa-debug-exit, or the runtime's last line), which is
//!   128 + n after a fatal signal, as a shell reports a process killed by it.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::qemu::{self, RunOptions};
use crate::Result;

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGUSR1: i32 = 10;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;

/// The signals `kiln run` forwards to the program.
pub const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

// The host channel's protocol is described once, in runtime/src/drivers/hostctl.rs; the
// host's side of it is here: READY, time_message, signal_message, end_of_input, and `run`'s
// pumps.

/// The runtime's first byte on the host channel: COM1 is set up, stdin may be sent.
pub const READY: u8 = 0x06;

/// Right after READY (or another of itself), the runtime asks for the host's time again
/// (ASCII ENQ), when the last answer's round trip was slow.
pub const TIME_AGAIN: u8 = 0x05;

/// The stop timeout unless `--stop-timeout` says otherwise.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What `kiln run` does with a signal it received.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Pass it on to the program.
    Forward(i32),
    /// Stop QEMU now; `kiln run` exits with this status.
    HardStop(i32),
}

/// The stop rules, apart from the processes (tested with values): SIGINT, SIGTERM and SIGQUIT
/// ask the program to stop and start the grace period; a second SIGINT ends it at once; the
/// others are only passed on (a SIGHUP asks a server to reload, not to stop).
#[derive(Clone, Copy, Debug)]
pub struct StopPolicy {
    grace: Duration,
    /// The signal that asked for the stop, and when the grace period ends.
    stopping: Option<(i32, Instant)>,
}

impl StopPolicy {
    pub fn new(grace: Duration) -> StopPolicy {
        StopPolicy {
            grace,
            stopping: None,
        }
    }

    pub fn on_signal(&mut self, sig: i32, now: Instant) -> Action {
        let stop = matches!(sig, SIGINT | SIGTERM | SIGQUIT);
        match self.stopping {
            Some(_) if sig == SIGINT => Action::HardStop(128 + SIGINT),
            None if stop => {
                self.stopping = Some((sig, now + self.grace));
                Action::Forward(sig)
            }
            _ => Action::Forward(sig),
        }
    }

    /// When the grace period is over: the status `kiln run` exits with.
    pub fn overdue(&self, now: Instant) -> Option<i32> {
        self.stopping
            .filter(|&(_, deadline)| now >= deadline)
            .map(|(sig, _)| 128 + sig)
    }

    /// The signal that started a stop, if one did.
    pub fn stopping(&self) -> Option<i32> {
        self.stopping.map(|(sig, _)| sig)
    }
}

/// The host channel's message with the host's time `now` (sent when the runtime's first byte
/// arrives: the guest's wall clock starts from it).
pub fn time_message(now: SystemTime) -> String {
    let ns = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("time {ns}\n")
}

/// The host channel's message for signal `sig`.
pub fn signal_message(sig: i32) -> String {
    format!("signal {sig}\n")
}

/// The host channel's message for an end of stdin after `bytes` bytes: for good (a pipe, a
/// file, /dev/null) or once (a terminal's Ctrl-D).
pub fn end_of_input(bytes: u64, terminal: bool) -> String {
    if terminal {
        format!("eot {bytes}\n")
    } else {
        format!("eof {bytes}\n")
    }
}

/// The runtime option words for a guest supervised over the host channel: the channel, and
/// which of fds 0-2 are terminals here.
pub fn channel_options(ttys: [bool; 3]) -> String {
    let digits: String = ttys
        .iter()
        .enumerate()
        .filter(|(_, &t)| t)
        .map(|(fd, _)| char::from(b'0' + fd as u8))
        .collect();
    let ttys = if digits.is_empty() {
        "none".to_owned()
    } else {
        digits
    };
    format!("kiln.ctl=com2 kiln.tty={ttys}")
}

/// The QEMU arguments of the host channel: COM2 on the socket QEMU inherits as `fd`.
pub fn channel_args(fd: i32) -> Vec<String> {
    vec![
        "-chardev".into(),
        format!("socket,id=kilnctl,fd={fd}"),
        "-device".into(),
        "isa-serial,chardev=kilnctl,iobase=0x2f8,irq=3".into(),
    ]
}

/// The QEMU arguments of a QMP monitor on the socket QEMU inherits as `fd`.
pub fn qmp_args(fd: i32) -> Vec<String> {
    vec![
        "-chardev".into(),
        format!("socket,id=kilnqmp,fd={fd}"),
        "-mon".into(),
        "chardev=kilnqmp,mode=control".into(),
    ]
}

/// How a signal reaches the guest.
enum Link {
    /// The host channel (bare images).
    Channel(Arc<Mutex<UnixStream>>),
    /// QMP: the ACPI power button (disk and ISO images).
    Qmp(Arc<Mutex<UnixStream>>),
}

impl Link {
    fn send_signal(&self, sig: i32) {
        match self {
            Link::Channel(ctl) => {
                let _ = ctl
                    .lock()
                    .map(|mut c| c.write_all(signal_message(sig).as_bytes()));
            }
            Link::Qmp(qmp) if matches!(sig, SIGINT | SIGTERM | SIGQUIT) => {
                let _ = qmp.lock().map(|mut q| {
                    q.write_all(
                        b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"system_powerdown\"}\n",
                    )
                });
            }
            Link::Qmp(_) => {
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| {
                    eprintln!(
                        "kiln: signal {sig} cannot reach a disk image's program (only a stop, as \
                         the ACPI power button); boot the bare image for every signal"
                    )
                });
            }
        }
    }
}

/// Runs `image` as described in the module comment; returns `kiln run`'s exit status.
pub fn run(image: &Path, opts: &RunOptions) -> Result<i32> {
    let disk = crate::media::detect(image).is_some();
    let (ours, theirs) = UnixStream::pair()?;
    let ttys = [
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    ];
    let fd = theirs.as_raw_fd();
    let extra = if disk { qmp_args(fd) } else { channel_args(fd) };
    let words = (!disk).then(|| channel_options(ttys));
    let mut launch = qemu::prepare(image, opts, words.as_deref(), &extra)?;
    if opts.gdb {
        eprintln!(
            "kiln: QEMU waits for a debugger; in another terminal run: gdb {} -ex 'target remote localhost:1234'",
            crate::toolchain::shell_quote(&image.display().to_string())
        );
    }
    let mut command = Command::new(qemu::QEMU);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // QEMU holds the only copy of its end of the channel once started: when it exits, the
    // channel's reader here sees the end.
    let mut child = launch.spawn(command, vec![Arc::new(OwnedFd::from(theirs))])?;
    let signals = signal_hook::iterator::Signals::new(FORWARDED)?;
    let handle = signals.handle();
    let (sig_tx, sig_rx) = mpsc::channel();
    let mut signals = signals;
    thread::spawn(move || {
        for sig in signals.forever() {
            if sig_tx.send(sig).is_err() {
                break;
            }
        }
    });

    let writer = Arc::new(Mutex::new(ours.try_clone()?));
    let link = if disk {
        Link::Qmp(writer.clone())
    } else {
        Link::Channel(writer.clone())
    };
    let exit_line = Arc::new(Mutex::new(None));
    let ready = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let stdout_gone = Arc::new(AtomicBool::new(false));
    let out_pump = {
        let stdout = child.stdout.take().expect("stdout is piped");
        let exit_line = exit_line.clone();
        let gone = stdout_gone.clone();
        // A disk image's runtime writes its lines to COM1 (no channel): look there too.
        thread::spawn(move || copy_out(stdout, std::io::stdout(), disk.then_some(exit_line), gone))
    };
    let ctl_pump = {
        let mut reader = ours;
        let exit_line = exit_line.clone();
        let ready = ready.clone();
        let ctl = writer.clone();
        thread::spawn(move || {
            // What the runtime wrote after its handshake (the start of its text).
            let mut text_start = Vec::new();
            if !disk {
                // The runtime's first byte: COM1 is ready for stdin. Then it waits for our
                // time (it sets the guest's wall clock), asking again with ENQ while the
                // round trip was slow: each goes out the moment its request arrives.
                let send_time = || {
                    if let Ok(mut ctl) = ctl.lock() {
                        let _ = ctl.write_all(time_message(SystemTime::now()).as_bytes());
                    }
                };
                let mut byte = [0u8; 1];
                let got = reader.read(&mut byte).unwrap_or(0);
                if got == 1 && byte[0] == READY {
                    send_time();
                }
                let (flag, wake) = &*ready;
                if let Ok(mut f) = flag.lock() {
                    *f = true;
                }
                wake.notify_all();
                if got == 1 && byte[0] != READY {
                    text_start.push(byte[0]);
                } else if got == 1 {
                    while reader.read(&mut byte).unwrap_or(0) == 1 {
                        if byte[0] != TIME_AGAIN {
                            text_start.push(byte[0]);
                            break;
                        }
                        send_time();
                    }
                }
            }
            if disk {
                // QMP's replies: nothing to do with them.
                let mut sink = std::io::sink();
                let mut reader = reader;
                let _ = std::io::copy(&mut reader, &mut sink);
            } else {
                copy_out(
                    std::io::Cursor::new(text_start).chain(reader),
                    std::io::stderr(),
                    Some(exit_line),
                    Arc::new(AtomicBool::new(false)),
                );
            }
        })
    };
    let stdin = child.stdin.take().expect("stdin is piped");
    if !disk {
        let ctl = writer.clone();
        let ready = ready.clone();
        thread::spawn(move || {
            let (flag, wake) = &*ready;
            let mut f = flag.lock().unwrap_or_else(|e| e.into_inner());
            while !*f {
                f = wake.wait(f).unwrap_or_else(|e| e.into_inner());
            }
            drop(f);
            copy_in(stdin, ttys[0], ctl)
        });
    } else {
        // A disk image's program gets the terminal's input only through COM1 as it is.
        thread::spawn(move || copy_in_plain(stdin));
    }

    let mut policy = StopPolicy::new(opts.stop_timeout);
    let timeout = if opts.gdb { None } else { opts.timeout };
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut sigpipe_sent = false;
    let outcome = loop {
        if let Some(status) = child.try_wait()? {
            break Outcome::Exited(status);
        }
        let now = Instant::now();
        if let Some(status) = policy.overdue(now) {
            eprintln!(
                "kiln: the program did not stop within {} s of {}; QEMU was stopped",
                opts.stop_timeout.as_secs_f64(),
                signal_name(policy.stopping().unwrap_or(SIGTERM))
            );
            qemu::stop(&mut child);
            break Outcome::Stopped(status);
        }
        if deadline.is_some_and(|d| now >= d) {
            qemu::stop(&mut child);
            break Outcome::TimedOut;
        }
        if !sigpipe_sent && stdout_gone.load(Ordering::Relaxed) {
            // Our stdout's reader went away: the program's next write would raise SIGPIPE.
            sigpipe_sent = true;
            link.send_signal(SIGPIPE);
        }
        match sig_rx.recv_timeout(Duration::from_millis(5)) {
            Ok(sig) => match policy.on_signal(sig, Instant::now()) {
                Action::Forward(sig) => link.send_signal(sig),
                Action::HardStop(status) => {
                    eprintln!("kiln: second SIGINT: QEMU was stopped");
                    qemu::stop(&mut child);
                    break Outcome::Stopped(status);
                }
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => thread::sleep(Duration::from_millis(5)),
        }
    };
    handle.close();
    launch.finish();
    let _ = out_pump.join();
    let _ = ctl_pump.join();
    let line = *exit_line
        .lock()
        .map_err(|_| anyhow::anyhow!("exit line lock"))?;
    Ok(match outcome {
        Outcome::Stopped(status) => status,
        Outcome::TimedOut => {
            let secs = opts.timeout.unwrap_or_default().as_secs_f64();
            eprintln!("kiln: timed out after {secs} s; QEMU was killed");
            qemu::TIMEOUT_STATUS
        }
        // isa-debug-exit carries 7 bits of the status ((n << 1) | 1 in QEMU's 8-bit exit
        // code): the runtime's last line gives the whole of it when the two agree.
        Outcome::Exited(status) => match guest_status(qemu::decode_qemu_exit(status), line) {
            Some(n) => n,
            None => qemu::unreported_exit(status),
        },
    })
}

/// The guest's exit status from isa-debug-exit's `code` and the runtime's last line `line`:
/// the exit port carries 7 bits ((n << 1) | 1 in QEMU's 8-bit exit code), so the line gives
/// the whole status when the two agree, as after a fatal signal (128 + n).
pub fn guest_status(code: Option<i32>, line: Option<i32>) -> Option<i32> {
    match (code, line) {
        (Some(code), Some(n)) if n & 0x7f == code => Some(n),
        (code, n) => code.or(n),
    }
}

enum Outcome {
    Exited(std::process::ExitStatus),
    Stopped(i32),
    TimedOut,
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGQUIT => "SIGQUIT",
        SIGHUP => "SIGHUP",
        _ => "the signal",
    }
}

/// Copies a guest stream to ours as it arrives, byte for byte, noting the runtime's last
/// `kiln: exit status N` line; when ours is gone (EPIPE), says so and keeps draining so QEMU
/// never blocks.
fn copy_out(
    mut from: impl Read,
    mut to: impl Write,
    exit_line: Option<Arc<Mutex<Option<i32>>>>,
    gone: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 8192];
    let mut line = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !gone.load(Ordering::Relaxed)
            && (to.write_all(&buf[..n]).is_err() || to.flush().is_err())
        {
            gone.store(true, Ordering::Relaxed);
        }
        if let Some(exit_line) = &exit_line {
            for &byte in &buf[..n] {
                if byte == b'\n' {
                    if let Some(status) = qemu::parse_exit_line(&String::from_utf8_lossy(&line)) {
                        if let Ok(mut slot) = exit_line.lock() {
                            *slot = Some(status);
                        }
                    }
                    line.clear();
                } else if line.len() < 256 {
                    line.push(byte);
                }
            }
        }
    }
}

/// Copies our stdin to the guest's COM1 and tells the guest where it ends: for good at the
/// end of a pipe or file; once per Ctrl-D on a terminal, whose input then goes on. A
/// terminal we do not own (a background `kiln run &`) is not read at all.
fn copy_in(mut to: impl Write, terminal: bool, ctl: Arc<Mutex<UnixStream>>) {
    if terminal {
        crate::process::ignore_terminal_stops();
        if !crate::process::owns_terminal_stdin() {
            return;
        }
    }
    let mut from = std::io::stdin().lock();
    let mut buf = [0u8; 8192];
    let mut total = 0u64;
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.flush();
                let message = end_of_input(total, terminal);
                if ctl
                    .lock()
                    .map(|mut c| c.write_all(message.as_bytes()))
                    .is_err()
                    || !terminal
                {
                    return;
                }
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() || to.flush().is_err() {
                    return;
                }
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: a terminal lost to the background; anything else: no more input.
            Err(_) => return,
        }
    }
}

fn copy_in_plain(mut to: impl Write) {
    if std::io::stdin().is_terminal() {
        crate::process::ignore_terminal_stops();
        if !crate::process::owns_terminal_stdin() {
            return;
        }
    }
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_rules() {
        let t0 = Instant::now();
        let mut p = StopPolicy::new(Duration::from_secs(10));
        assert_eq!(p.on_signal(SIGHUP, t0), Action::Forward(SIGHUP));
        assert_eq!(
            p.overdue(t0 + Duration::from_secs(60)),
            None,
            "SIGHUP is no stop"
        );
        assert_eq!(p.on_signal(SIGTERM, t0), Action::Forward(SIGTERM));
        assert_eq!(p.overdue(t0 + Duration::from_secs(9)), None);
        assert_eq!(p.overdue(t0 + Duration::from_secs(10)), Some(143));
        assert_eq!(
            p.on_signal(SIGTERM, t0),
            Action::Forward(SIGTERM),
            "passed on again"
        );
        assert_eq!(
            p.on_signal(SIGINT, t0),
            Action::HardStop(130),
            "a second Ctrl-C"
        );
        let mut q = StopPolicy::new(Duration::from_secs(1));
        assert_eq!(q.on_signal(SIGINT, t0), Action::Forward(SIGINT));
        assert_eq!(q.on_signal(SIGINT, t0), Action::HardStop(130));
        let mut r = StopPolicy::new(Duration::from_secs(1));
        r.on_signal(SIGQUIT, t0);
        assert_eq!(r.overdue(t0 + Duration::from_secs(2)), Some(131));
    }

    #[test]
    fn statuses_above_127_come_from_the_runtimes_line() {
        assert_eq!(guest_status(Some(2), Some(130)), Some(130));
        assert_eq!(guest_status(Some(3), None), Some(3));
        assert_eq!(
            guest_status(Some(3), Some(7)),
            Some(3),
            "the port wins a disagreement"
        );
        assert_eq!(guest_status(None, Some(143)), Some(143));
    }

    #[test]
    fn channel_words_and_messages() {
        assert_eq!(
            channel_options([false, true, false]),
            "kiln.ctl=com2 kiln.tty=1"
        );
        assert_eq!(channel_options([false; 3]), "kiln.ctl=com2 kiln.tty=none");
        assert_eq!(signal_message(SIGTERM), "signal 15\n");
        assert_eq!(end_of_input(12, false), "eof 12\n");
        assert_eq!(end_of_input(0, true), "eot 0\n");
        assert_eq!(
            time_message(UNIX_EPOCH + Duration::new(1_796_601_600, 123_456_789)),
            "time 1796601600123456789\n"
        );
        assert_eq!(
            channel_args(7).join(" "),
            "-chardev socket,id=kilnctl,fd=7 -device isa-serial,chardev=kilnctl,iobase=0x2f8,irq=3"
        );
    }
}
