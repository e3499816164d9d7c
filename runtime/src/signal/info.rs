//! `siginfo_t`: what a signal carries (who sent it, why, the faulting address, a timer's
//! value), in Linux's 128-byte layout, and its `struct signalfd_siginfo` form.
#![forbid(unsafe_code)]

/// Sent by kill(2) (or raised by the kernel for the sender, like SIGPIPE).
pub const SI_USER: i32 = 0;
/// Sent by the kernel itself (timers of setitimer, the host through `kiln run`).
pub const SI_KERNEL: i32 = 0x80;
/// sigqueue(3) / rt_sigqueueinfo.
pub const SI_QUEUE: i32 = -1;
/// A POSIX timer (timer_create) expired.
pub const SI_TIMER: i32 = -2;
/// tkill/tgkill (raise, pthread_kill).
pub const SI_TKILL: i32 = -6;

pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const FPE_INTDIV: i32 = 1;
pub const FPE_INTOVF: i32 = 2;
pub const FPE_FLTDIV: i32 = 3;
pub const FPE_FLTOVF: i32 = 4;
pub const FPE_FLTUND: i32 = 5;
pub const FPE_FLTRES: i32 = 6;
pub const FPE_FLTINV: i32 = 7;
pub const ILL_ILLOPN: i32 = 2;
pub const TRAP_BRKPT: i32 = 1;

/// The size of `siginfo_t` and of `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// Which fields of the union a siginfo carries (Linux's `siginfo_layout`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    /// si_pid, si_uid.
    Kill,
    /// si_tid (the timer id), si_overrun, si_value.
    Timer,
    /// si_pid, si_uid, si_value.
    Rt,
    /// si_addr.
    Fault,
    /// si_pid, si_uid, si_status, si_utime, si_stime.
    Child,
    /// si_band, si_fd.
    Poll,
}

/// One signal's information, as the program reads it from `siginfo_t`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SigInfo {
    bytes: [u8; SIGINFO_SIZE],
}

fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get_i32(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(w)
}

// Offsets in siginfo_t (x86-64).
const SIGNO: usize = 0;
const ERRNO: usize = 4;
const CODE: usize = 8;
const PID: usize = 16; // also si_tid (timer), si_addr (fault), si_band (poll)
const UID: usize = 20; // also si_overrun (timer)
const VALUE: usize = 24; // si_value (rt, timer), si_status (child), si_fd (poll)
const UTIME: usize = 32;
const STIME: usize = 40;

impl SigInfo {
    fn new(signo: u32, code: i32) -> SigInfo {
        let mut bytes = [0u8; SIGINFO_SIZE];
        put_i32(&mut bytes, SIGNO, signo as i32);
        put_i32(&mut bytes, CODE, code);
        SigInfo { bytes }
    }

    /// Sent by process `pid` (user `uid`) with kill(2) (`SI_USER`), tkill (`SI_TKILL`), or
    /// another code whose fields are the sender's.
    pub fn from_sender(signo: u32, code: i32, pid: u32, uid: u32) -> SigInfo {
        let mut info = SigInfo::new(signo, code);
        put_i32(&mut info.bytes, PID, pid as i32);
        put_i32(&mut info.bytes, UID, uid as i32);
        info
    }

    /// Sent by the kernel (`SI_KERNEL`): no sender.
    pub fn kernel(signo: u32) -> SigInfo {
        SigInfo::new(signo, SI_KERNEL)
    }

    /// A POSIX timer's expiry: its id, the overruns so far, and the `sigev_value`.
    pub fn timer(signo: u32, timer_id: i32, overrun: i32, value: u64) -> SigInfo {
        let mut info = SigInfo::new(signo, SI_TIMER);
        put_i32(&mut info.bytes, PID, timer_id);
        put_i32(&mut info.bytes, UID, overrun);
        put_u64(&mut info.bytes, VALUE, value);
        info
    }

    /// A CPU fault: `code` (SEGV_MAPERR, FPE_INTDIV, ...) at `addr`.
    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        let mut info = SigInfo::new(signo, code);
        put_u64(&mut info.bytes, PID, addr);
        info
    }

    /// What the program passed to rt_sigqueueinfo, with the signal number set as the call's
    /// argument says (Linux keeps the rest as given).
    pub fn from_program(signo: u32, bytes: &[u8; SIGINFO_SIZE]) -> SigInfo {
        let mut info = SigInfo { bytes: *bytes };
        put_i32(&mut info.bytes, SIGNO, signo as i32);
        info
    }

    pub fn signo(&self) -> u32 {
        get_i32(&self.bytes, SIGNO) as u32
    }

    pub fn code(&self) -> i32 {
        get_i32(&self.bytes, CODE)
    }

    /// si_tid of a timer's signal: the timer id.
    pub fn timer_id(&self) -> i32 {
        get_i32(&self.bytes, PID)
    }

    /// Sets si_overrun of a timer's signal (filled in when it is taken, as Linux does).
    pub fn set_overrun(&mut self, overrun: i32) {
        put_i32(&mut self.bytes, UID, overrun);
    }

    /// si_addr of a fault.
    pub fn addr(&self) -> u64 {
        get_u64(&self.bytes, PID)
    }

    pub fn bytes(&self) -> &[u8; SIGINFO_SIZE] {
        &self.bytes
    }

    /// Which union member the fields are, from the signal and the code (Linux's rule).
    pub fn layout(&self) -> Layout {
        use super::*;
        let code = self.code();
        if code > SI_USER && code < SI_KERNEL {
            match self.signo() {
                SIGILL | SIGFPE | SIGSEGV | SIGBUS | SIGTRAP => Layout::Fault,
                SIGCHLD => Layout::Child,
                SIGIO => Layout::Poll,
                _ => Layout::Kill,
            }
        } else if code == SI_TIMER {
            Layout::Timer
        } else if code == -5 {
            // SI_SIGIO
            Layout::Poll
        } else if code < 0 {
            Layout::Rt
        } else {
            Layout::Kill
        }
    }

    /// `struct signalfd_siginfo`, which signalfd's read returns: the same facts, laid out
    /// flat (Linux's `signalfd_copyinfo`).
    pub fn to_signalfd(&self) -> [u8; SIGINFO_SIZE] {
        let b = &self.bytes;
        let mut s = [0u8; SIGINFO_SIZE];
        s[0..4].copy_from_slice(&b[SIGNO..SIGNO + 4]);
        s[4..8].copy_from_slice(&b[ERRNO..ERRNO + 4]);
        s[8..12].copy_from_slice(&b[CODE..CODE + 4]);
        // ssi_pid 12, ssi_uid 16, ssi_fd 20, ssi_tid 24, ssi_band 28, ssi_overrun 32,
        // ssi_trapno 36, ssi_status 40, ssi_int 44, ssi_ptr 48, ssi_utime 56, ssi_stime 64,
        // ssi_addr 72.
        let copy32 = |s: &mut [u8; SIGINFO_SIZE], to: usize, from: usize| {
            s[to..to + 4].copy_from_slice(&b[from..from + 4]);
        };
        match self.layout() {
            Layout::Kill => {
                copy32(&mut s, 12, PID);
                copy32(&mut s, 16, UID);
            }
            Layout::Timer => {
                copy32(&mut s, 24, PID);
                copy32(&mut s, 32, UID);
                copy32(&mut s, 44, VALUE);
                s[48..56].copy_from_slice(&b[VALUE..VALUE + 8]);
            }
            Layout::Rt => {
                copy32(&mut s, 12, PID);
                copy32(&mut s, 16, UID);
                copy32(&mut s, 44, VALUE);
                s[48..56].copy_from_slice(&b[VALUE..VALUE + 8]);
            }
            Layout::Fault => s[72..80].copy_from_slice(&b[PID..PID + 8]),
            Layout::Child => {
                copy32(&mut s, 12, PID);
                copy32(&mut s, 16, UID);
                copy32(&mut s, 40, VALUE);
                s[56..64].copy_from_slice(&b[UTIME..UTIME + 8]);
                s[64..72].copy_from_slice(&b[STIME..STIME + 8]);
            }
            Layout::Poll => {
                copy32(&mut s, 28, PID);
                copy32(&mut s, 20, VALUE);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::*;
    use crate::testutil::{c_probe, MUSL};

    /// siginfo_t and signalfd_siginfo offsets against musl's headers.
    #[test]
    fn layouts_match_musl_headers() {
        let text = c_probe(
            "siginfo",
            MUSL,
            r#"#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <sys/signalfd.h>
#define S(f) printf("%s %zu\n", #f, offsetof(siginfo_t, f))
#define F(f) printf("%s %zu\n", #f, offsetof(struct signalfd_siginfo, f))
int main(void) {
    printf("siginfo %zu signalfd %zu\n", sizeof(siginfo_t), sizeof(struct signalfd_siginfo));
    S(si_signo); S(si_errno); S(si_code); S(si_pid); S(si_uid); S(si_timerid);
    S(si_overrun); S(si_value); S(si_addr); S(si_status); S(si_utime); S(si_stime);
    S(si_band); S(si_fd);
    F(ssi_signo); F(ssi_errno); F(ssi_code); F(ssi_pid); F(ssi_uid); F(ssi_fd); F(ssi_tid);
    F(ssi_band); F(ssi_overrun); F(ssi_trapno); F(ssi_status); F(ssi_int); F(ssi_ptr);
    F(ssi_utime); F(ssi_stime); F(ssi_addr);
    printf("SI_USER %d SI_KERNEL %d SI_QUEUE %d SI_TIMER %d SI_TKILL %d\n",
        SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL);
    printf("SEGV %d %d BUS %d %d FPE %d %d ILL %d TRAP %d\n", SEGV_MAPERR, SEGV_ACCERR,
        BUS_ADRALN, BUS_ADRERR, FPE_INTDIV, FPE_FLTINV, ILL_ILLOPN, TRAP_BRKPT);
    return 0;
}
"#,
            "compiling against musl's headers failed (musl-dev?)",
        );
        let expected = "siginfo 128 signalfd 128\n\
            si_signo 0\nsi_errno 4\nsi_code 8\nsi_pid 16\nsi_uid 20\nsi_timerid 16\n\
            si_overrun 20\nsi_value 24\nsi_addr 16\nsi_status 24\nsi_utime 32\nsi_stime 40\n\
            si_band 16\nsi_fd 24\n\
            ssi_signo 0\nssi_errno 4\nssi_code 8\nssi_pid 12\nssi_uid 16\nssi_fd 20\n\
            ssi_tid 24\nssi_band 28\nssi_overrun 32\nssi_trapno 36\nssi_status 40\n\
            ssi_int 44\nssi_ptr 48\nssi_utime 56\nssi_stime 64\nssi_addr 72\n";
        let codes = alloc::format!(
            "SI_USER {SI_USER} SI_KERNEL {SI_KERNEL} SI_QUEUE {SI_QUEUE} SI_TIMER {SI_TIMER} \
             SI_TKILL {SI_TKILL}\nSEGV {SEGV_MAPERR} {SEGV_ACCERR} BUS {BUS_ADRALN} \
             {BUS_ADRERR} FPE {FPE_INTDIV} {FPE_FLTINV} ILL {ILL_ILLOPN} TRAP {TRAP_BRKPT}\n"
        );
        assert_eq!(text, alloc::format!("{expected}{codes}"));
    }

    #[test]
    fn senders_timers_and_faults_fill_their_fields() {
        let k = SigInfo::from_sender(SIGTERM, SI_USER, 1, 0);
        assert_eq!(
            (k.signo(), k.code(), k.layout()),
            (SIGTERM, SI_USER, Layout::Kill)
        );
        let sfd = k.to_signalfd();
        assert_eq!(&sfd[0..4], &15i32.to_ne_bytes());
        assert_eq!(&sfd[12..16], &1i32.to_ne_bytes());

        let mut t = SigInfo::timer(SIGALRM, 3, 0, 0xdead_beef_0000_0007);
        t.set_overrun(5);
        assert_eq!((t.layout(), t.timer_id()), (Layout::Timer, 3));
        let sfd = t.to_signalfd();
        assert_eq!(&sfd[24..28], &3i32.to_ne_bytes(), "ssi_tid");
        assert_eq!(&sfd[32..36], &5i32.to_ne_bytes(), "ssi_overrun");
        assert_eq!(&sfd[44..48], &7i32.to_ne_bytes(), "ssi_int");
        assert_eq!(
            &sfd[48..56],
            &0xdead_beef_0000_0007u64.to_ne_bytes(),
            "ssi_ptr"
        );

        let f = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x10);
        assert_eq!((f.layout(), f.addr()), (Layout::Fault, 0x10));
        assert_eq!(&f.to_signalfd()[72..80], &0x10u64.to_ne_bytes());
        // SI_KERNEL carries no sender: the kill layout with zeros.
        assert_eq!(SigInfo::kernel(SIGHUP).layout(), Layout::Kill);
        assert_eq!(
            SigInfo::from_sender(40, SI_QUEUE, 1, 0).layout(),
            Layout::Rt
        );
    }
}
