//! The few Linux process calls `kiln run` needs that std has no safe wrapper for: a child
//! that dies with us (`PR_SET_PDEATHSIG`) in a process group of its own, and the terminal's
//! foreground group. The crate's only `unsafe`, each block justified.
#![allow(unsafe_code)]

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the process `cmd` starts lead a process group of its own (a Ctrl-C at the terminal
/// reaches `kiln run` only, which forwards it) and receive SIGKILL the moment this process
/// ends, however it ends (SIGKILL included); `keep` stay open in it across exec (the
/// channel's socket). Call it from the thread that lives as long as the process (the parent
/// death signal follows the thread that forked): the main thread.
pub fn supervised(cmd: &mut Command, keep: &[RawFd]) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let keep = keep.to_vec();
    cmd.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and only makes
    // async-signal-safe calls (prctl, getppid, fcntl, _exit) on values copied before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the line above: then nobody is left to kill
            // us, and we must not run.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            for &fd in &keep {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// True if this process may read its stdin terminal: it is in the terminal's foreground
/// process group (a background `kiln run &` must not, or the terminal would stop it).
pub fn owns_terminal_stdin() -> bool {
    // SAFETY: tcgetpgrp and getpgrp only read process state; fd 0 may be anything (an error
    // is -1, which never equals a process group).
    unsafe { libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Reading a terminal we lost to the background fails with EIO instead of stopping us.
pub fn ignore_terminal_stops() {
    // SAFETY: SIG_IGN for SIGTTIN installs no handler code; nothing else in kiln uses it.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
}
