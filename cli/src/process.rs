//! The helper processes of a run (QEMU, and passt for user networking): how they are started
//! so that none outlives `kiln`, and how they are stopped; and the little of `kiln run`'s own
//! process state it needs as the process it wraps (the terminal's foreground group). Every
//! child `kiln` starts goes through [`spawn`]; this is the one place that ties processes
//! together, and the crate's only `unsafe`.
//!
//! - **Parent death**: a child gets `PR_SET_PDEATHSIG`, so when `kiln` dies — even by
//!   SIGKILL — the kernel signals it (QEMU gets SIGKILL: nothing of it needs an orderly end,
//!   since `kiln run` pipes its stdio and it never touches the terminal). The signal is sent
//!   when the *thread* that spawned the child exits, so spawn from the thread that also waits
//!   for the child (as `kiln run` does, from its main thread).
//!   A child that changes its user id loses the setting (passt does, when started as root:
//!   it drops to `nobody`); such a child must also be tied by its input — passt quits when
//!   its end of the socket pair to QEMU closes (see [`crate::usernet`]).
//! - **Process group**: a child may get a process group of its own, so a terminal's Ctrl-C
//!   (sent to the foreground group) does not reach it; `kiln` then decides when it stops
//!   ([`crate::lifecycle`] passes the signal to the program).
//! - **Inherited descriptors**: everything `kiln` opens is close-on-exec (Rust's default);
//!   [`Tie::keep_fds`] names the descriptors one child inherits, at the same numbers. The
//!   `Command` holds copies until it is dropped: drop it after [`spawn`] where a child must
//!   hold the only copy (a socket whose end of file matters).

// Two `unsafe` blocks: `CommandExt::pre_exec`, the only way std offers to run code (prctl,
// fcntl) in the child between fork and exec; and ignoring SIGTTIN, for which neither std nor
// rustix (outside its unstable `runtime` module) has a safe call.
#![allow(unsafe_code)]

use rustix::io::{fcntl_setfd, FdFlags};
use rustix::process::{self as rp, Pid, Signal};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How a child is tied to `kiln`.
#[derive(Debug, Clone, Default)]
pub struct Tie {
    /// The signal the child gets when the spawning thread of `kiln` exits.
    pub parent_death: Option<Signal>,
    /// A process group of its own (out of reach of the terminal's Ctrl-C).
    pub own_group: bool,
    /// Descriptors the child inherits (at the same numbers).
    pub keep_fds: Vec<Arc<OwnedFd>>,
}

/// Starts `command` tied as `tie` says.
pub fn spawn(command: &mut Command, tie: &Tie) -> std::io::Result<Child> {
    if tie.own_group {
        command.process_group(0);
    }
    let parent = rp::getpid();
    let death = tie.parent_death;
    let keep = tie.keep_fds.clone();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed: it makes three kinds of raw system calls through
    // rustix (prctl, getppid, fcntl) and allocates nothing (`keep` was built before the fork).
    unsafe {
        command.pre_exec(move || {
            if let Some(signal) = death {
                rp::set_parent_process_death_signal(Some(signal))?;
                // If kiln died before the prctl, no signal will come: stop here.
                if rp::getppid() != Some(parent) {
                    return Err(std::io::Error::other("kiln exited while starting a child"));
                }
            }
            for fd in &keep {
                fcntl_setfd(&**fd, FdFlags::empty())?;
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Sends `signal` to `child` (nothing if it was already reaped).
pub fn signal(child: &Child, signal: Signal) {
    // A child that exited but was not reaped yet still has its pid: the signal is harmless.
    if let Some(pid) = Pid::from_raw(child.id() as i32) {
        let _ = rp::kill_process(pid, signal);
    }
}

/// Ends `child`: SIGTERM, then SIGKILL if it is still there after `grace`; reaps it.
pub fn stop(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child, Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// True when this process runs as root (passt then needs a user to switch to).
pub fn is_root() -> bool {
    rp::geteuid().is_root()
}

/// True if this process may read its stdin terminal: it is in the terminal's foreground
/// process group (a background `kiln run &` must not, or the terminal would stop it).
pub fn owns_terminal_stdin() -> bool {
    let stdin = std::io::stdin();
    rustix::termios::tcgetpgrp(&stdin).is_ok_and(|group| group == rp::getpgrp())
}

/// Reading a terminal we lost to the background fails with EIO instead of stopping us
/// (`kiln run` reads its stdin ahead of the program, which may never read it at all).
pub fn ignore_terminal_stops() {
    // SAFETY: SIG_IGN installs no handler code, and nothing else in kiln handles SIGTTIN.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::process::Stdio;

    #[test]
    fn kept_descriptors_are_inherited_and_others_are_not() {
        let (kept, _peer) = UnixStream::pair().unwrap();
        let (other, _peer2) = UnixStream::pair().unwrap();
        let kept: Arc<OwnedFd> = Arc::new(kept.into());
        let tie = Tie {
            keep_fds: vec![kept.clone()],
            ..Tie::default()
        };
        let script = format!(
            "test -e /proc/self/fd/{} && ! test -e /proc/self/fd/{} && echo ok",
            kept.as_raw_fd(),
            other.as_raw_fd()
        );
        let mut child = spawn(
            Command::new("sh")
                .args(["-c", &script])
                .stdout(Stdio::piped()),
            &tie,
        )
        .unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(out.trim(), "ok");
    }

    #[test]
    fn a_child_is_signalled_when_its_spawning_thread_ends() {
        // PR_SET_PDEATHSIG fires when the thread that forked the child exits: a thread that
        // spawns and returns stands for a `kiln` that died.
        for sig in [Signal::TERM, Signal::KILL] {
            let tie = Tie {
                parent_death: Some(sig),
                own_group: true,
                ..Tie::default()
            };
            let mut child = thread::spawn(move || spawn(Command::new("sleep").arg("600"), &tie))
                .join()
                .unwrap()
                .unwrap();
            let status = child.wait().unwrap();
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(sig.as_raw()), "{status}");
        }
    }

    #[test]
    fn own_group_makes_the_child_a_group_leader() {
        let tie = Tie {
            own_group: true,
            ..Tie::default()
        };
        // /proc/PID/stat: field 1 is the pid, field 5 the process group.
        let mut child = spawn(
            Command::new("sh")
                .args(["-c", "cut -d' ' -f1,5 /proc/$$/stat"])
                .stdout(Stdio::piped()),
            &tie,
        )
        .unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        let fields: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(fields.len(), 2, "{out}");
        assert_eq!(fields[0], fields[1], "{out}");
    }

    #[test]
    fn stop_ends_a_child_that_ignores_sigterm() {
        // The shell ignores SIGTERM and waits on a pipe nobody writes to.
        let mut child = Command::new("sh")
            .args(["-c", "trap '' TERM; echo up; read line"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut up = [0u8; 3];
        child.stdout.take().unwrap().read_exact(&mut up).unwrap();
        stop(&mut child, Duration::from_millis(200));
        use std::os::unix::process::ExitStatusExt;
        let status = child.try_wait().unwrap().expect("reaped");
        assert_eq!(status.signal(), Some(Signal::KILL.as_raw()), "{status}");
    }
}
