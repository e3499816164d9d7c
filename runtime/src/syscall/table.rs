//! The one table from syscall numbers to handlers. Every entry is listed with its status
//! and limits in docs/syscalls.md; a number missing here is `-ENOSYS` plus one console line.
#![forbid(unsafe_code)]

use super::numbers::nr;
use super::{fs, mm, poll, process, time, timerfd};
use crate::errno::SysResult;

pub type Handler = fn(&[u64; 6]) -> SysResult;

pub fn handler(number: usize) -> Option<Handler> {
    let h: Handler = match number {
        // I/O and descriptors
        nr::read => fs::read,
        nr::write => fs::write,
        nr::readv => fs::readv,
        nr::writev => fs::writev,
        nr::open => fs::open,
        nr::openat => fs::openat,
        nr::close => fs::close,
        nr::lseek => fs::lseek,
        nr::fstat => fs::fstat,
        nr::newfstatat => fs::newfstatat,
        nr::stat | nr::lstat => fs::stat,
        nr::pread64 => fs::pread64,
        nr::pwrite64 => fs::pwrite64,
        nr::preadv => fs::preadv,
        nr::pwritev => fs::pwritev,
        nr::pipe => fs::pipe,
        nr::pipe2 => fs::pipe2,
        nr::eventfd => fs::eventfd,
        nr::eventfd2 => fs::eventfd2,
        nr::ioctl => fs::ioctl,
        nr::fcntl => fs::fcntl,
        nr::dup => fs::dup,
        nr::dup2 => fs::dup2,
        nr::dup3 => fs::dup3,
        nr::getcwd => fs::getcwd,
        // readiness
        nr::poll => poll::poll,
        nr::ppoll => poll::ppoll,
        nr::select => poll::select,
        nr::pselect6 => poll::pselect6,
        nr::epoll_create => poll::epoll_create,
        nr::epoll_create1 => poll::epoll_create1,
        nr::epoll_ctl => poll::epoll_ctl,
        nr::epoll_wait => poll::epoll_wait,
        nr::epoll_pwait => poll::epoll_pwait,
        nr::epoll_pwait2 => poll::epoll_pwait2,
        // memory
        nr::brk => mm::brk,
        nr::mmap => mm::mmap,
        nr::munmap => mm::munmap,
        nr::mprotect => mm::mprotect,
        nr::mremap => mm::mremap,
        nr::madvise => mm::madvise,
        // time
        nr::clock_gettime => time::clock_gettime,
        nr::clock_getres => time::clock_getres,
        nr::gettimeofday => time::gettimeofday,
        nr::time => time::time,
        nr::nanosleep => time::nanosleep,
        nr::clock_nanosleep => time::clock_nanosleep,
        nr::timerfd_create => timerfd::timerfd_create,
        nr::timerfd_settime => timerfd::timerfd_settime,
        nr::timerfd_gettime => timerfd::timerfd_gettime,
        // process, identity, limits
        nr::exit => process::exit,
        nr::exit_group => process::exit_group,
        nr::getpid => process::getpid,
        nr::gettid => process::gettid,
        nr::getppid => process::getppid,
        nr::getuid | nr::geteuid | nr::getgid | nr::getegid => process::getuid,
        nr::set_tid_address => process::set_tid_address,
        nr::set_robust_list => process::set_robust_list,
        nr::arch_prctl => process::arch_prctl,
        nr::uname => process::uname,
        nr::getrandom => process::getrandom,
        nr::prlimit64 => process::prlimit64,
        nr::getrlimit => process::getrlimit,
        nr::setrlimit => process::setrlimit,
        nr::sysinfo => process::sysinfo,
        nr::umask => process::umask,
        // signals
        nr::rt_sigaction => process::rt_sigaction,
        nr::rt_sigprocmask => process::rt_sigprocmask,
        nr::sigaltstack => process::sigaltstack,
        nr::kill => process::kill,
        nr::tkill => process::tkill,
        nr::tgkill => process::tgkill,
        // threads and scheduling (one thread on one CPU)
        nr::futex => process::futex,
        nr::sched_yield => process::sched_yield,
        nr::sched_getaffinity => process::sched_getaffinity,
        nr::sched_setaffinity => process::sched_setaffinity,
        _ => return None,
    };
    Some(h)
}
