//! Running an image under QEMU: the command line, the console stream, the exit status, and
//! the probe that decides whether KVM can be trusted on this host.
//!
//! The guest's serial console is QEMU's stdout. It is forwarded as it arrives and scanned for
//! the runtime's last words, `kiln: exit status N`, which is the most reliable exit status
//! (isa-debug-exit's `(N << 1) | 1` is the fallback, and is all the KVM probe has).

use crate::media::{self, Firmware};
use crate::{image, kiln_dir, Failure, Result};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The board QEMU emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Machine {
    /// No PCI, no BIOS: fastest to boot.
    #[default]
    Microvm,
    /// i440FX PC (with qboot instead of SeaBIOS when installed).
    Pc,
    /// Q35 PC (with qboot instead of SeaBIOS when installed).
    Q35,
}

/// How QEMU executes the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Accel {
    /// KVM when a probe guest proves it works here, else TCG.
    #[default]
    Auto,
    Kvm,
    Tcg,
}

/// How to run an image.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `-m` (QEMU syntax: `256M`, `1G`).
    pub memory: String,
    pub machine: Machine,
    pub accel: Accel,
    /// Extra kernel command-line words, placed before `--`.
    pub append: Option<String>,
    /// The program's arguments (after `--`).
    pub args: Vec<String>,
    /// Kill QEMU after this long (status 124).
    pub timeout: Option<Duration>,
    /// Start QEMU's gdb stub (`-s -S`) and wait for a debugger.
    pub gdb: bool,
    /// A newc cpio archive passed as the initrd (`-initrd`): files for the VM's file system.
    pub initrd: Option<PathBuf>,
    /// QEMU's `-cpu` model and feature flags (e.g. `max,-rdrand,-rdseed`); `None` = `max`.
    pub cpu: Option<String>,
    /// The firmware that boots a disk or ISO image (a bare image needs none).
    pub firmware: Firmware,
    /// The guest's network (none by default).
    pub net: crate::network::Network,
    /// The card on that network (virtio-net by default).
    pub nic: crate::network::Nic,
    /// Add a virtio-rng device fed from the host's /dev/urandom (an entropy source for
    /// guests whose CPU lacks RDRAND/RDSEED).
    pub rng: bool,
    /// How long the program has to end after `kiln run` passed it SIGINT, SIGTERM or SIGQUIT
    /// before QEMU is stopped hard (`--stop-timeout`).
    pub stop_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            memory: "256M".into(),
            machine: Machine::Microvm,
            accel: Accel::Auto,
            append: None,
            args: Vec::new(),
            timeout: None,
            gdb: false,
            initrd: None,
            cpu: None,
            firmware: Firmware::Bios,
            net: crate::network::Network::None,
            nic: crate::network::Nic::Virtio,
            rng: false,
            stop_timeout: crate::lifecycle::DEFAULT_STOP_TIMEOUT,
        }
    }
}

/// What a captured run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The serial console.
    pub stdout: String,
    /// QEMU's own messages.
    pub stderr: String,
    /// The guest's exit status (124 on timeout).
    pub status: i32,
    pub timed_out: bool,
}

/// The exit code `kiln run` uses when `--timeout` expires (as coreutils' `timeout`).
pub const TIMEOUT_STATUS: i32 = 124;
pub const QEMU: &str = "qemu-system-x86_64";
const QBOOT: &str = "/usr/share/qemu/qboot.rom";
/// The CPU model unless `--cpu` says otherwise: every feature the accelerator offers
/// (RDRAND/RDSEED among them, the runtime's entropy source).
pub const DEFAULT_CPU: &str = "max";
const STATUS_PREFIX: &str = "kiln: exit status ";

/// Runs `image` with the console captured (for tools and the KVM probe): COM1 only, no host
/// channel, stdin closed.
pub fn run_image(image: &Path, opts: &RunOptions) -> Result<RunOutput> {
    run(image, opts)
}

/// Runs `image` as the process it wraps (`kiln run`): stdio and signals passed through,
/// QEMU tied to our life; returns the exit status (see [`crate::lifecycle`]).
pub fn run_streaming(image: &Path, opts: &RunOptions) -> Result<i32> {
    crate::lifecycle::run(image, opts)
}

/// A QEMU about to start: its whole command line, and passt running beside it when the guest
/// is on user networking (stopped by [`Launch::finish`], or when the launch is dropped).
#[derive(Debug)]
pub struct Launch {
    pub args: Vec<String>,
    usernet: Option<crate::usernet::UserNet>,
}

/// Prepares QEMU for `image`: a disk or ISO made by `kiln image` boots through firmware, a
/// bare image with `-kernel` and its command line (`kiln_words` first, the runtime options of
/// `kiln run`'s host channel); passt starts for `--net user`; `extra` arguments go last.
pub fn prepare(
    image: &Path,
    opts: &RunOptions,
    kiln_words: Option<&str>,
    extra: &[String],
) -> Result<Launch> {
    crate::network::check_nic(opts.nic, &opts.net, opts.machine != Machine::Microvm)?;
    let mut args = match media::detect(image) {
        // A disk or ISO made by `kiln image`: firmware boots it.
        Some(kind) => {
            media::check_options(opts)?;
            let accel = resolve_accel(opts.accel)?;
            media::qemu_args(image, kind, opts, common_args(opts, accel))
        }
        None => {
            image::check(image)?;
            if opts.firmware == Firmware::Uefi {
                return Err(Failure::usage(
                    "UEFI boots disk and ISO images; make one with `kiln image IMAGE --format raw`",
                )
                .into());
            }
            let accel = resolve_accel(opts.accel)?;
            let argv0 = image
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app".into());
            let user = with_published_ports(opts.append.as_deref(), &opts.net);
            let append = match (kiln_words, user) {
                (Some(k), Some(u)) => Some(format!("{k} {u}")),
                (Some(k), None) => Some(k.to_owned()),
                (None, u) => u,
            };
            let cmdline = kernel_cmdline(&argv0, append.as_deref(), &opts.args)?;
            qemu_args(image, opts, accel, &cmdline)
        }
    };
    // User networking: passt runs beside QEMU (stopped when the launch finishes).
    let usernet = match &opts.net {
        crate::network::Network::User(forwards) => crate::usernet::UserNet::start(forwards)?,
        _ => None,
    };
    let pci = opts.machine != Machine::Microvm;
    args.extend(crate::network::qemu_args(
        &opts.net,
        pci,
        opts.nic,
        usernet.as_ref(),
    ));
    args.extend_from_slice(extra);
    Ok(Launch { args, usernet })
}

impl Launch {
    /// Starts QEMU with these arguments and `command`'s stdio, tied to `kiln` through
    /// [`crate::process`]: SIGKILL when `kiln` dies (call this from the thread that waits for
    /// QEMU), a process group of its own (a terminal's Ctrl-C is `kiln`'s to pass on), and
    /// `keep` plus passt's socket inherited. `command` is dropped here, so QEMU holds the only
    /// copies of those descriptors once this returns.
    pub fn spawn(&mut self, mut command: Command, keep: Vec<Arc<OwnedFd>>) -> Result<Child> {
        command.args(&self.args);
        let mut keep_fds = keep;
        if let Some(net) = &self.usernet {
            keep_fds.extend(net.qemu_fds());
        }
        let tie = crate::process::Tie {
            parent_death: Some(rustix::process::Signal::KILL),
            own_group: true,
            keep_fds,
        };
        let child = crate::process::spawn(&mut command, &tie).map_err(|e| {
            Failure::usage(format!(
                "cannot start {QEMU} ({e}); run `kiln doctor --install`"
            ))
        })?;
        drop(command);
        // QEMU holds passt's peers now; kiln's copies go, so passt ends with QEMU.
        if let Some(net) = self.usernet.as_mut() {
            net.release_qemu_ends();
        }
        Ok(child)
    }

    /// QEMU is gone: stops passt.
    pub fn finish(&mut self) {
        if let Some(mut net) = self.usernet.take() {
            net.stop();
        }
    }
}

fn run(image: &Path, opts: &RunOptions) -> Result<RunOutput> {
    let mut launch = prepare(image, opts, None, &[])?;
    if opts.gdb {
        eprintln!(
            "kiln: QEMU waits for a debugger; in another terminal run: gdb {} -ex 'target remote localhost:1234'",
            crate::toolchain::shell_quote(&image.display().to_string())
        );
    }
    let mut command = Command::new(QEMU);
    command
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let child = launch.spawn(command, Vec::new())?;
    let timeout = if opts.gdb { None } else { opts.timeout };
    let finished = supervise(child, timeout)?;
    launch.finish();

    let status = match (finished.exit_line, finished.status) {
        _ if finished.timed_out => TIMEOUT_STATUS,
        (Some(n), _) => n,
        (None, Some(status)) => match decode_qemu_exit(status) {
            Some(n) => n,
            None => unreported_exit(status),
        },
        (None, None) => 1,
    };
    Ok(RunOutput {
        stdout: finished.stdout,
        stderr: finished.stderr,
        status,
        timed_out: finished.timed_out,
    })
}

/// QEMU ended without the guest saying how it ended: says so, and gives kiln's status 1.
pub fn unreported_exit(status: ExitStatus) -> i32 {
    let how = status
        .code()
        .map_or("was killed by a signal".to_owned(), |c| {
            format!("exited with code {c}")
        });
    eprintln!("kiln: QEMU {how} without the guest reporting an exit status");
    1
}

/// The guest's exit status from QEMU's exit code when isa-debug-exit ended it:
/// `(n << 1) | 1`. Code 1 is left out: it is also how QEMU reports its own errors.
pub fn decode_qemu_exit(status: ExitStatus) -> Option<i32> {
    status
        .code()
        .filter(|c| c % 2 == 1 && *c > 1)
        .map(|c| c >> 1)
}

/// Finds the runtime's final `kiln: exit status N` line.
pub fn parse_exit_line(line: &str) -> Option<i32> {
    line.trim().strip_prefix(STATUS_PREFIX)?.trim().parse().ok()
}

/// `append` with the `KILN_PUBLISHED=...` word added when `-p` forwards ports (see
/// `network::published_word`); the user's own words come after it, so theirs win.
fn with_published_ports(append: Option<&str>, net: &crate::network::Network) -> Option<String> {
    match (crate::network::published_word(net), append) {
        (Some(word), Some(user)) => Some(format!("{word} {user}")),
        (Some(word), None) => Some(word),
        (None, user) => user.map(str::to_owned),
    }
}

/// The kernel command line: `kiln.argv0=NAME [append] [-- ARGS]`; arguments with spaces are
/// double-quoted (the runtime's grammar has no escapes, so a `"` cannot be passed).
pub fn kernel_cmdline(argv0: &str, append: Option<&str>, args: &[String]) -> Result<String> {
    let mut words = vec![format!("kiln.argv0={}", quote_word(argv0)?)];
    words.extend(
        append
            .filter(|a| !a.trim().is_empty())
            .map(|a| a.trim().to_owned()),
    );
    if !args.is_empty() {
        words.push("--".into());
        for arg in args {
            words.push(quote_word(arg)?);
        }
    }
    Ok(words.join(" "))
}

fn quote_word(word: &str) -> Result<String> {
    if word.contains('"') {
        return Err(Failure::usage(format!(
            "argument {word} contains a double quote, which the kernel command line cannot carry"
        ))
        .into());
    }
    Ok(if word.is_empty() || word.contains(char::is_whitespace) {
        format!("\"{word}\"")
    } else {
        word.to_owned()
    })
}

/// QEMU's arguments for booting `image` with `accel` (already resolved to KVM or TCG).
pub fn qemu_args(image: &Path, opts: &RunOptions, accel: Accel, cmdline: &str) -> Vec<String> {
    let machine = match opts.machine {
        Machine::Microvm => "microvm",
        Machine::Pc => "pc",
        Machine::Q35 => "q35",
    };
    let mut args: Vec<String> = vec!["-M".into(), machine.into()];
    if opts.machine != Machine::Microvm && Path::new(QBOOT).is_file() {
        args.extend(["-bios".into(), QBOOT.into()]);
    }
    args.extend(common_args(opts, accel));
    args.extend([
        "-kernel".into(),
        image.display().to_string(),
        "-append".into(),
        cmdline.into(),
    ]);
    if let Some(initrd) = &opts.initrd {
        args.extend(["-initrd".into(), initrd.display().to_string()]);
    }
    args
}

/// The arguments every boot shares, whatever the board and the medium: accelerator, CPU,
/// memory, no default devices, the serial console on stdio, isa-debug-exit, the gdb stub.
/// (The network's arguments come from [`crate::network::qemu_args`] once its backend runs.)
pub fn common_args(opts: &RunOptions, accel: Accel) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-accel".into(),
        if accel == Accel::Kvm { "kvm" } else { "tcg" }.into(),
    ];
    for word in [
        "-cpu",
        opts.cpu.as_deref().unwrap_or(DEFAULT_CPU),
        "-m",
        &opts.memory,
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-no-reboot",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
    ] {
        args.push(word.into());
    }
    let pci = opts.machine != Machine::Microvm;
    if opts.rng {
        args.extend(rng_args(pci));
    }
    if opts.gdb {
        args.extend(["-s".into(), "-S".into()]);
    }
    args
}

/// A virtio-rng device fed from the host's /dev/urandom: PCI on pc and q35, virtio-mmio on
/// microvm.
pub fn rng_args(pci: bool) -> Vec<String> {
    let device = if pci {
        "virtio-rng-pci,rng=rng0"
    } else {
        "virtio-rng-device,rng=rng0"
    };
    [
        "-object",
        "rng-random,filename=/dev/urandom,id=rng0",
        "-device",
        device,
    ]
    .map(String::from)
    .to_vec()
}

struct Finished {
    stdout: String,
    stderr: String,
    exit_line: Option<i32>,
    status: Option<ExitStatus>,
    timed_out: bool,
}

/// Forwards or captures the console until QEMU exits or the timeout kills it.
fn supervise(mut child: Child, timeout: Option<Duration>) -> Result<Finished> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = thread::spawn(move || pump_console(stdout));
    let err_reader = child.stderr.take().map(|mut stderr| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop(&mut child);
            timed_out = true;
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let (stdout, exit_line) = reader.join().unwrap_or_default();
    let stderr = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Finished {
        stdout,
        stderr,
        exit_line,
        status,
        timed_out,
    })
}

/// Ends QEMU: SIGTERM first, so that it restores a terminal it put in raw mode, then
/// SIGKILL if it is still there after a second.
pub fn stop(child: &mut Child) {
    crate::process::stop(child, Duration::from_secs(1));
}

/// Reads the console to its end, capturing it, and scans whole lines for the exit-status
/// line. Returns the captured text and the last status.
fn pump_console(mut from: impl Read) -> (String, Option<i32>) {
    let mut captured = Vec::new();
    let mut line = Vec::new();
    let mut exit_line = None;
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        captured.extend_from_slice(chunk);
        for &byte in chunk {
            if byte == b'\n' {
                exit_line = parse_exit_line(&String::from_utf8_lossy(&line)).or(exit_line);
                line.clear();
            } else {
                line.push(byte);
            }
        }
    }
    exit_line = parse_exit_line(&String::from_utf8_lossy(&line)).or(exit_line);
    (String::from_utf8_lossy(&captured).into_owned(), exit_line)
}

/// Decides between KVM and TCG. `auto` uses KVM only where `/dev/kvm` exists and the probe
/// guest, which executes SSE, exits as it should under `-accel kvm`; the verdict is cached
/// per host kernel and QEMU version.
pub fn resolve_accel(accel: Accel) -> Result<Accel> {
    match accel {
        Accel::Kvm | Accel::Tcg => Ok(accel),
        Accel::Auto if !Path::new("/dev/kvm").exists() => Ok(Accel::Tcg),
        Accel::Auto => {
            if std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
                .is_err()
            {
                eprintln!(
                    "kiln: /dev/kvm is not accessible to this user (join group kvm), using TCG"
                );
                return Ok(Accel::Tcg);
            }
            if kvm_works()? {
                Ok(Accel::Kvm)
            } else {
                eprintln!("kiln: KVM unusable here (probe failed), using TCG");
                Ok(Accel::Tcg)
            }
        }
    }
}

fn kvm_works() -> Result<bool> {
    let dir = kiln_dir();
    std::fs::create_dir_all(&dir)?;
    let cache = dir.join("kvm-probe");
    let key = probe_key();
    if let Some(verdict) = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|text| cached_verdict(&text, &key))
    {
        return Ok(verdict);
    }
    let verdict = run_probe(&dir.join("kvm-probe.elf"))?;
    std::fs::write(
        &cache,
        format!("{key}\n{}\n", if verdict { "kvm" } else { "tcg" }),
    )?;
    Ok(verdict)
}

/// The verdict in a cache file, if it was made for `key`.
pub fn cached_verdict(text: &str, key: &str) -> Option<bool> {
    let mut lines = text.lines();
    if lines.next()? != key {
        return None;
    }
    match lines.next()? {
        "kvm" => Some(true),
        "tcg" => Some(false),
        _ => None,
    }
}

fn probe_key() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let qemu = Command::new(QEMU)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    format!("{} | {}", kernel.trim(), qemu.trim())
}

/// Boots the probe image under KVM with a 5 s limit (a KVM internal error hangs QEMU).
fn run_probe(path: &PathBuf) -> Result<bool> {
    std::fs::write(path, image::probe_image())?;
    let opts = RunOptions {
        timeout: Some(Duration::from_secs(5)),
        ..RunOptions::default()
    };
    let args = qemu_args(path, &opts, Accel::Kvm, "kiln.quiet");
    let mut command = Command::new(QEMU);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut launch = Launch {
        args,
        usernet: None,
    };
    let child = launch.spawn(command, Vec::new())?;
    let finished = supervise(child, opts.timeout)?;
    Ok(finished.status.and_then(|s| s.code()) == Some(image::PROBE_EXIT_CODE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_line_is_recognized() {
        assert_eq!(parse_exit_line("kiln: exit status 7\r"), Some(7));
        assert_eq!(parse_exit_line("kiln: exit status 0"), Some(0));
        assert_eq!(parse_exit_line("app says kiln: exit status 7"), None);
        assert_eq!(parse_exit_line("kiln: exit status x"), None);
    }

    #[test]
    fn the_last_exit_line_wins_even_without_newline() {
        let text = b"hello\nkiln: exit status 3\nmore\nkiln: exit status 5".as_slice();
        let (captured, status) = pump_console(text);
        assert_eq!(status, Some(5));
        assert!(captured.starts_with("hello\n"));
    }

    #[test]
    fn qemu_exit_codes_decode() {
        let code = |c: i32| ExitStatus::from_raw(c << 8);
        assert_eq!(decode_qemu_exit(code(15)), Some(7));
        assert_eq!(decode_qemu_exit(code(67)), Some(0x21));
        assert_eq!(decode_qemu_exit(code(1)), None);
        assert_eq!(decode_qemu_exit(code(0)), None);
        assert_eq!(decode_qemu_exit(ExitStatus::from_raw(9)), None);
    }

    #[test]
    fn published_ports_reach_the_kernel_command_line() {
        use crate::network::{parse_forward, Network};
        let net = Network::User(vec![
            parse_forward("5353:53/udp").unwrap(),
            parse_forward("5353:53").unwrap(),
        ]);
        let append = with_published_ports(Some("kiln.quiet"), &net);
        assert_eq!(
            kernel_cmdline("dns-server", append.as_deref(), &[]).unwrap(),
            "kiln.argv0=dns-server KILN_PUBLISHED=5353:53/udp,5353:53 kiln.quiet"
        );
        assert_eq!(
            with_published_ports(None, &net).as_deref(),
            Some("KILN_PUBLISHED=5353:53/udp,5353:53")
        );
        assert_eq!(
            with_published_ports(Some("X=1"), &Network::None).as_deref(),
            Some("X=1")
        );
        assert_eq!(with_published_ports(None, &Network::None), None);
    }

    #[test]
    fn cmdline_quotes_spaces_and_keeps_order() {
        let args = vec!["a b".to_owned(), "c".to_owned()];
        assert_eq!(
            kernel_cmdline("hello", Some("kiln.quiet X=1"), &args).unwrap(),
            "kiln.argv0=hello kiln.quiet X=1 -- \"a b\" c"
        );
        assert_eq!(
            kernel_cmdline("hello", None, &[]).unwrap(),
            "kiln.argv0=hello"
        );
        assert!(kernel_cmdline("hello", None, &["say \"hi\"".to_owned()]).is_err());
    }

    #[test]
    fn command_line_matches_the_contract() {
        let opts = RunOptions {
            gdb: true,
            ..RunOptions::default()
        };
        let args = qemu_args(Path::new("/x/app"), &opts, Accel::Tcg, "kiln.argv0=app");
        let line = args.join(" ");
        assert!(
            line.starts_with("-M microvm -accel tcg -cpu max -m 256M -nodefaults"),
            "{line}"
        );
        assert!(line.contains("-device isa-debug-exit,iobase=0xf4,iosize=4"));
        assert!(
            line.ends_with("-s -S -kernel /x/app -append kiln.argv0=app"),
            "{line}"
        );
        let pc = RunOptions {
            machine: Machine::Q35,
            ..RunOptions::default()
        };
        let args = qemu_args(Path::new("/x/app"), &pc, Accel::Kvm, "");
        assert_eq!(&args[..2], ["-M", "q35"]);
        assert!(args.contains(&"kvm".to_owned()));
        assert_eq!(args.contains(&QBOOT.to_owned()), Path::new(QBOOT).is_file());
        let files = RunOptions {
            initrd: Some("/x/files.cpio".into()),
            ..RunOptions::default()
        };
        let args = qemu_args(Path::new("/x/app"), &files, Accel::Tcg, "");
        assert!(args
            .join(" ")
            .ends_with("-kernel /x/app -append  -initrd /x/files.cpio"));
        let hidden = RunOptions {
            cpu: Some("max,-rdrand,-rdseed".into()),
            ..RunOptions::default()
        };
        let line = qemu_args(Path::new("/x/app"), &hidden, Accel::Tcg, "").join(" ");
        assert!(line.contains(" -cpu max,-rdrand,-rdseed -m "), "{line}");
    }

    #[test]
    fn rng_and_nic_devices() {
        let plain = qemu_args(Path::new("/x/app"), &RunOptions::default(), Accel::Tcg, "");
        assert!(!plain.iter().any(|a| a.contains("rng")), "{plain:?}");
        let rng = RunOptions {
            rng: true,
            ..RunOptions::default()
        };
        let line = qemu_args(Path::new("/x/app"), &rng, Accel::Tcg, "").join(" ");
        assert!(
            line.contains(
                "-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-device,rng=rng0"
            ),
            "{line}"
        );
        let q35 = RunOptions {
            machine: Machine::Q35,
            net: crate::network::Network::User(vec![]),
            nic: crate::network::Nic::E1000,
            ..rng
        };
        let line = qemu_args(Path::new("/x/app"), &q35, Accel::Tcg, "").join(" ");
        assert!(line.contains("-device virtio-rng-pci,rng=rng0"), "{line}");
        let net = crate::network::qemu_args(&q35.net, true, q35.nic, None).join(" ");
        assert!(net.contains("-device e1000,netdev=net0"), "{net}");
    }

    #[test]
    fn probe_cache_is_keyed() {
        assert_eq!(cached_verdict("k1\nkvm\n", "k1"), Some(true));
        assert_eq!(cached_verdict("k1\ntcg\n", "k1"), Some(false));
        assert_eq!(cached_verdict("k1\nkvm\n", "k2"), None);
        assert_eq!(cached_verdict("", "k1"), None);
    }
}
