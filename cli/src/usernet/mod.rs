//! User networking through passt (Debian's `passt`): the guest's network for `--net user` and
//! `-p`, with port forwards that accept connections as a real server does.
//!
//! QEMU's own user networking (slirp) listens for a forward with a backlog of 1 and forwards
//! IPv4 only; passt accepts every connection at once (its listeners have a backlog of 128 and
//! it takes each connection as it arrives) and forwards IPv6 too. It is a separate process
//! that speaks to QEMU over a stream socket (`-netdev stream`, QEMU 7.2+).
//!
//! **Two instances, one per family.** Debian 12's passt binds a forwarded host port to one
//! address only (a second `-t` for the same port is an "overlapping port specifier"), and
//! `-p` publishes on both loopbacks, `127.0.0.1` and `::1`. So one passt serves IPv4
//! (`--ipv4-only`: DHCP, ARP, the forwards on 127.0.0.1) and one IPv6 (`--ipv6-only`: NDP,
//! router advertisements, DHCPv6, the forwards on ::1). QEMU has one network backend, a
//! datagram socket to kiln, which relays the guest's frames by EtherType — ARP and IPv4 to the
//! one, IPv6 to the other — and both instances' frames back ([`relay`], which also says why
//! datagrams). A QEMU hub joining two stream netdevs does not do: it repeats every frame to
//! every port, so each passt would learn its peer's MAC address as the guest's.
//!
//! **The guest's addresses** are slirp's for IPv4 (10.0.2.15/24, gateway 10.0.2.2, which
//! leads to the host as with slirp); DNS servers are the host's (passt's default). For IPv6 the
//! guest gets the host's prefix (SLAAC, passt's default) and the gateway fe80::2
//! ([`GATEWAY6`]); a connection or datagram to `::1` reaches the guest from fe80::2 at its
//! link-local address.
//! A family the host has no default route for is left out with a notice (passt needs one).
//!
//! **Lifecycle** (started by [`UserNet::start`], stopped by [`UserNet::stop`] or on drop).
//! Each instance gets one end of a socket pair (`--fd`), kiln's relay the other, and QEMU one
//! end of a datagram socket pair (`-netdev dgram,local.type=fd`) whose other end is the
//! relay's: no socket file, and passt quits as soon as its peer is gone — once QEMU exited
//! (kiln then stops the relay), or when `kiln` dies (its relay goes with it). passt is ready once
//! it wrote its pid file (after binding every forward). It runs in a process group of its own,
//! so a terminal's Ctrl-C stops QEMU first and the guest keeps its network while it shuts
//! down; it also gets SIGTERM when kiln dies, where kiln is not root (passt started as root
//! switches to `nobody`, which clears that setting; see [`crate::process`]).

pub mod handshake;
pub mod relay;

use crate::network::Forward;
use crate::process::{self, Tie};
use crate::{Failure, Result};
use rustix::process::Signal;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The MAC address of the guest's NIC on user networking (QEMU's default for the first NIC,
/// set explicitly: the guest's SLAAC address derives from it).
pub const GUEST_MAC: &str = "52:54:00:12:34:56";
/// The MAC address passt answers with (its default is the host interface's, and a host whose
/// default route leaves through an interface without one — a VPN's tun — would get none).
pub const GATEWAY_MAC: &str = "52:54:00:12:34:02";
/// The guest's IPv4 address, prefix and gateway (slirp's, so `--net user` means what it meant).
pub const GUEST4: &str = "10.0.2.15";
pub const PREFIX4: u8 = 24;
pub const GATEWAY4: &str = "10.0.2.2";
/// The IPv6 gateway passt plays: link-local, so that it is also the source of what arrives
/// from the host's loopback and of router advertisements. (Left to its default — the host's
/// gateway, a global address — passt sends a guest's UDP replies to its own link-local
/// address instead of back to `::1`: a `dig @::1` never gets its answer.)
pub const GATEWAY6: &str = "fe80::2";
/// The user passt switches to when started as root (Debian's `nobody:nogroup`).
const NOBODY: &str = "65534:65534";
/// How long passt may take to bind its forwards and write its pid file.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// What of passt's messages is kept (the last part), for the error when it fails.
const STDERR_KEEP: usize = 16 * 1024;

/// The environment variable that names the passt binary (default: `passt` on PATH); tests
/// point it at a missing file to exercise the fallback to slirp.
pub const PASST_ENV: &str = "KILN_PASST";

/// One address family of the user network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// The loopback address forwards listen on by default.
    pub fn loopback(self) -> &'static str {
        match self {
            Family::V4 => "127.0.0.1",
            Family::V6 => "::1",
        }
    }

    /// The address of this family `forward` listens on (`None`: it listens on the other
    /// family only).
    pub fn address(self, forward: &Forward) -> Option<String> {
        match self {
            Family::V4 => forward.bind.v4().map(|a| a.to_string()),
            Family::V6 => forward.bind.v6().map(|a| a.to_string()),
        }
    }

    /// The name of this family's passt (its pid file).
    fn tag(self) -> &'static str {
        match self {
            Family::V4 => "passt4",
            Family::V6 => "passt6",
        }
    }
}

/// passt's arguments for `family` with `forwards`: foreground, quiet, the socket pair end
/// `fd`, the pid file (written once the forwards are bound), the user to switch to when run
/// as root (`runas`), the family's addresses and the forwards on its loopback address.
pub fn passt_args(
    family: Family,
    forwards: &[Forward],
    fd: i32,
    pid_file: &Path,
    runas: Option<&str>,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--foreground".into(),
        "--quiet".into(),
        "--fd".into(),
        fd.to_string(),
        "--pid".into(),
        pid_file.display().to_string(),
    ];
    if let Some(user) = runas {
        args.extend(["--runas".into(), user.into()]);
    }
    args.extend(["--mac-addr".into(), GATEWAY_MAC.into()]);
    // The NIC is Ethernet: passt would otherwise offer a 65520-byte MTU.
    args.extend(["--mtu".into(), "1500".into()]);
    match family {
        Family::V4 => args.extend(
            [
                "--ipv4-only",
                "--address",
                GUEST4,
                "--netmask",
                &PREFIX4.to_string(),
                "--gateway",
                GATEWAY4,
            ]
            .map(String::from),
        ),
        Family::V6 => args.extend(["--ipv6-only", "--gateway", GATEWAY6].map(String::from)),
    }
    for (flag, udp) in [("--tcp-ports", false), ("--udp-ports", true)] {
        let specs: Vec<String> = forwards
            .iter()
            .filter(|f| f.udp == udp)
            .filter_map(|f| Some(format!("{}/{}:{}", family.address(f)?, f.host, f.guest)))
            .collect();
        if specs.is_empty() {
            // Explicitly none: passt would otherwise forward UDP ports that match TCP ones.
            args.extend([flag.into(), "none".into()]);
        }
        for spec in specs {
            args.extend([flag.into(), spec]);
        }
    }
    args
}

/// Why one instance did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The host has no default route for the family (passt: "External interface not
    /// usable"); the network goes without it.
    NoRoute,
    /// passt cannot run here at all (its sandbox needs user and mount namespaces).
    Sandbox(String),
    /// Anything else, e.g. a forwarded port already in use: passt's last message.
    Failed(String),
}

/// Sorts passt's messages after it exited early.
pub fn classify_failure(stderr: &str) -> StartError {
    let last = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("Failed to send"))
        .unwrap_or("exited without a message")
        .to_owned();
    if stderr.contains("External interface not usable") {
        StartError::NoRoute
    } else if ["namespace", "sandbox", "unshare", "pivot_root", "mount "]
        .iter()
        .any(|w| last.contains(w))
    {
        StartError::Sandbox(last)
    } else {
        StartError::Failed(last)
    }
}

/// One running passt.
#[derive(Debug)]
struct Instance {
    child: Child,
}

/// passt, running for one guest, and the relay between it and QEMU.
#[derive(Debug)]
pub struct UserNet {
    instances: Vec<Instance>,
    /// The end of the socket pair QEMU gets (kiln's copy, until QEMU has it).
    qemu_end: Option<Arc<OwnedFd>>,
    relay: Option<relay::Relay>,
    run_dir: PathBuf,
}

/// Reads a child's stderr to its end, keeping the last [`STDERR_KEEP`] bytes.
fn keep_tail(mut from: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let sink = tail.clone();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
            kept.extend_from_slice(&buf[..n]);
            let excess = kept.len().saturating_sub(STDERR_KEEP);
            kept.drain(..excess);
        }
    });
    (tail, reader)
}

/// The prefix of the run directories: `kiln-passt-PID-N` in the temporary directory.
const RUN_DIR_PREFIX: &str = "kiln-passt-";

/// The pid of the kiln that made the run directory `name`, if `name` is one.
pub fn run_dir_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(RUN_DIR_PREFIX)?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<usize>().ok()?;
    pid.parse().ok()
}

/// Removes the run directories of kiln processes that are gone (a kiln killed by SIGKILL
/// cannot remove its own).
fn remove_stale_run_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = run_dir_owner(&name.to_string_lossy()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            // Another user's directory may not be ours to remove: then it stays.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A private directory for the pid files, owned by the user passt runs as.
fn make_run_dir(runas: Option<&str>) -> Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let tmp = std::env::temp_dir();
    remove_stale_run_dirs(&tmp);
    let dir = tmp.join(format!(
        "{RUN_DIR_PREFIX}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    if let Some(user) = runas {
        let (uid, gid) = user.split_once(':').unwrap_or((user, user));
        std::os::unix::fs::chown(&dir, uid.parse().ok(), gid.parse().ok())?;
    }
    Ok(dir)
}

impl UserNet {
    /// Starts passt for a guest with `forwards`. `Ok(None)` (after a one-line notice) when
    /// passt is not installed or cannot run here: the caller then uses QEMU's slirp.
    pub fn start(forwards: &[Forward]) -> Result<Option<UserNet>> {
        let binary = std::env::var_os(PASST_ENV)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "passt".into());
        let runas = process::is_root().then_some(NOBODY);
        let mut net = UserNet {
            instances: Vec::new(),
            qemu_end: None,
            relay: None,
            run_dir: make_run_dir(runas)?,
        };
        let mut missing = Vec::new();
        let mut sides = Vec::new();
        for family in [Family::V4, Family::V6] {
            match net.start_one(Path::new(&binary), family, forwards, runas) {
                Ok((instance, side)) => {
                    net.instances.push(instance);
                    sides.push((family, side));
                }
                Err(Started::NotInstalled) => {
                    eprintln!(
                        "kiln: passt is not installed: user networking falls back to QEMU's slirp (IPv4 only; a forward takes one pending connection at a time); `kiln doctor --install` installs passt"
                    );
                    return Ok(None);
                }
                Err(Started::Failed(StartError::NoRoute)) => missing.push(family),
                Err(Started::Failed(StartError::Sandbox(why))) => {
                    eprintln!(
                        "kiln: passt cannot run here ({why}): user networking falls back to QEMU's slirp (IPv4 only; a forward takes one pending connection at a time)"
                    );
                    return Ok(None);
                }
                Err(Started::Failed(StartError::Failed(why))) => {
                    let ports = forwards
                        .iter()
                        .filter_map(|f| {
                            let addr = family.address(f)?;
                            let udp = if f.udp { "/udp" } else { "" };
                            Some(format!("{}{udp} on {addr}", f.host))
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let hint = if ports.is_empty() {
                        String::new()
                    } else {
                        format!(" (is another program using port {ports}?)")
                    };
                    return Err(Failure::usage(format!(
                        "user networking ({}): passt failed: {why}{hint}",
                        family.name()
                    ))
                    .into());
                }
                Err(Started::Io(e)) => return Err(e.into()),
            }
        }
        match missing.as_slice() {
            [] => {}
            [family] => eprintln!(
                "kiln: this host has no {} default route (passt needs one): the guest's user network is {} only",
                family.name(),
                if *family == Family::V4 { "IPv6" } else { "IPv4" }
            ),
            _ => {
                eprintln!(
                    "kiln: this host has no default route (passt needs one): user networking falls back to QEMU's slirp (IPv4 only; a forward takes one pending connection at a time)"
                );
                return Ok(None);
            }
        }
        let (qemu_end, relay_end) = UnixDatagram::pair()?;
        enlarge_buffers(&qemu_end);
        enlarge_buffers(&relay_end);
        let mut v4 = None;
        let mut v6 = None;
        for (family, side) in sides {
            match family {
                Family::V4 => v4 = Some(side),
                Family::V6 => v6 = Some(side),
            }
        }
        net.relay = Some(relay::Relay::start(relay_end, v4, v6)?);
        let qemu_end = Some(qemu_end);
        net.qemu_end = qemu_end.map(|end| Arc::new(end.into()));
        Ok(Some(net))
    }

    fn start_one(
        &self,
        binary: &Path,
        family: Family,
        forwards: &[Forward],
        runas: Option<&str>,
    ) -> std::result::Result<(Instance, UnixStream), Started> {
        let (passt_end, side) = UnixStream::pair().map_err(Started::Io)?;
        enlarge_buffers(&passt_end);
        enlarge_buffers(&side);
        let passt_end: Arc<OwnedFd> = Arc::new(passt_end.into());
        let pid_file = self.run_dir.join(format!("{}.pid", family.tag()));
        let mut command = Command::new(binary);
        command
            .args(passt_args(
                family,
                forwards,
                passt_end.as_raw_fd(),
                &pid_file,
                runas,
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let tie = Tie {
            parent_death: Some(Signal::TERM),
            own_group: true,
            keep_fds: vec![passt_end.clone()],
        };
        let mut child = match process::spawn(&mut command, &tie) {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Started::NotInstalled)
            }
            Err(e) => return Err(Started::Io(e)),
        };
        // Only passt may hold its end: kiln's copies close here.
        drop(command);
        drop(tie);
        drop(passt_end);
        let (stderr, reader) = keep_tail(child.stderr.take().expect("stderr is piped"));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if std::fs::read_to_string(&pid_file).is_ok_and(|pid| !pid.trim().is_empty()) {
                return Ok((Instance { child }, side));
            }
            if let Ok(Some(_)) = child.try_wait() {
                let _ = reader.join();
                let text =
                    String::from_utf8_lossy(&stderr.lock().unwrap_or_else(|p| p.into_inner()))
                        .into_owned();
                return Err(Started::Failed(classify_failure(&text)));
            }
            if Instant::now() >= deadline {
                process::stop(&mut child, Duration::from_secs(1));
                return Err(Started::Failed(StartError::Failed(format!(
                    "not ready after {} s",
                    READY_TIMEOUT.as_secs()
                ))));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// QEMU's `-netdev` argument: one datagram netdev, `net0`, on the descriptor QEMU inherits.
    pub fn qemu_args(&self) -> Vec<String> {
        let fd = self.qemu_end.as_ref().map_or(-1, |fd| fd.as_raw_fd());
        netdev_args(fd)
    }

    /// The descriptor QEMU inherits.
    pub fn qemu_fds(&self) -> Vec<Arc<OwnedFd>> {
        self.qemu_end.iter().cloned().collect()
    }

    /// Closes kiln's copy of QEMU's end, once QEMU has it (from then on passt lives as long as
    /// QEMU).
    pub fn release_qemu_ends(&mut self) {
        self.qemu_end = None;
    }

    /// Stops the relay and every instance (they quit by themselves once QEMU is gone; this
    /// makes sure).
    pub fn stop(&mut self) {
        self.qemu_end = None;
        if let Some(relay) = self.relay.take() {
            relay.stop();
        }
        for instance in &mut self.instances {
            process::stop(&mut instance.child, Duration::from_secs(1));
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

impl Drop for UserNet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The socket buffers of each end of a socket pair: passt drops a frame it cannot write at
/// once (it does not queue), so a burst towards a guest that is slow to take it must fit
/// while the relay waits for QEMU. passt enlarges the buffers of a socket it accepts itself
/// (to `net.core.wmem_max`), not of one it is given (`--fd`).
const SOCKET_BUFFER: usize = 4 << 20;

/// Sets `socket`'s buffers to [`SOCKET_BUFFER`]: past the system's limits
/// (`net.core.wmem_max`/`rmem_max`) as root, up to them otherwise.
fn enlarge_buffers(socket: impl std::os::fd::AsFd) {
    let socket = socket.as_fd();
    use rustix::net::sockopt;
    // Failing leaves the defaults: a smaller burst fits, nothing else changes.
    if sockopt::set_socket_send_buffer_size_force(socket, SOCKET_BUFFER).is_err() {
        let _ = sockopt::set_socket_send_buffer_size(socket, SOCKET_BUFFER);
    }
    if sockopt::set_socket_recv_buffer_size_force(socket, SOCKET_BUFFER).is_err() {
        let _ = sockopt::set_socket_recv_buffer_size(socket, SOCKET_BUFFER);
    }
}

/// How starting one instance went wrong.
enum Started {
    NotInstalled,
    Failed(StartError),
    Io(std::io::Error),
}

/// QEMU's `-netdev` arguments for a datagram netdev `net0` on the inherited descriptor `fd`.
pub fn netdev_args(fd: i32) -> Vec<String> {
    vec![
        "-netdev".into(),
        format!("dgram,id=net0,local.type=fd,local.str={fd}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::parse_forward;

    #[test]
    fn passt_arguments_per_family() {
        let forwards = [
            parse_forward("8080:80").unwrap(),
            parse_forward("5353:53/udp").unwrap(),
            parse_forward("5353:53").unwrap(),
        ];
        let v4 = passt_args(
            Family::V4,
            &forwards,
            7,
            Path::new("/run/k/passt4.pid"),
            Some(NOBODY),
        )
        .join(" ");
        assert_eq!(
            v4,
            "--foreground --quiet --fd 7 --pid /run/k/passt4.pid --runas 65534:65534 \
             --mac-addr 52:54:00:12:34:02 --mtu 1500 --ipv4-only --address 10.0.2.15 \
             --netmask 24 --gateway 10.0.2.2 --tcp-ports 127.0.0.1/8080:80 \
             --tcp-ports 127.0.0.1/5353:53 --udp-ports 127.0.0.1/5353:53"
        );
        let v6 = passt_args(Family::V6, &forwards[..1], 9, Path::new("/p"), None).join(" ");
        assert_eq!(
            v6,
            "--foreground --quiet --fd 9 --pid /p --mac-addr 52:54:00:12:34:02 --mtu 1500 \
             --ipv6-only --gateway fe80::2 --tcp-ports ::1/8080:80 --udp-ports none"
        );
        let addressed = [
            parse_forward("0.0.0.0:53:53/udp").unwrap(),
            parse_forward("[::]:53:53/udp").unwrap(),
            parse_forward("[fd00::1]:8080:80").unwrap(),
        ];
        let v4 = passt_args(Family::V4, &addressed, 7, Path::new("/p"), None).join(" ");
        assert!(
            v4.ends_with("--tcp-ports none --udp-ports 0.0.0.0/53:53"),
            "{v4}"
        );
        let v6 = passt_args(Family::V6, &addressed, 7, Path::new("/p"), None).join(" ");
        assert!(
            v6.ends_with("--tcp-ports fd00::1/8080:80 --udp-ports ::/53:53"),
            "{v6}"
        );
        let none = passt_args(Family::V6, &[], 9, Path::new("/p"), None).join(" ");
        assert!(
            none.ends_with("--tcp-ports none --udp-ports none"),
            "{none}"
        );
    }

    #[test]
    fn one_datagram_netdev() {
        assert_eq!(
            netdev_args(5),
            ["-netdev", "dgram,id=net0,local.type=fd,local.str=5"]
        );
    }

    #[test]
    fn run_directories_name_their_kiln() {
        assert_eq!(run_dir_owner("kiln-passt-1234-0"), Some(1234));
        assert_eq!(run_dir_owner("kiln-passt-1234"), None);
        assert_eq!(run_dir_owner("kiln-passt-x-0"), None);
        assert_eq!(run_dir_owner("kiln-files-1234.cpio"), None);
    }

    #[test]
    fn failures_are_sorted() {
        let no_route = "Failed to send 47 bytes to syslog\nNo external routable interface for IPv6\nExternal interface not usable\n";
        assert_eq!(classify_failure(no_route), StartError::NoRoute);
        let busy = "Don't run as root. Changing to nobody...\nFailed to bind any port for '-t 127.0.0.1/8080:80', exiting\n";
        assert_eq!(
            classify_failure(busy),
            StartError::Failed(
                "Failed to bind any port for '-t 127.0.0.1/8080:80', exiting".into()
            )
        );
        assert!(matches!(
            classify_failure("Couldn't create user namespace: Operation not permitted\n"),
            StartError::Sandbox(_)
        ));
        assert_eq!(
            classify_failure(""),
            StartError::Failed("exited without a message".into())
        );
    }
}
