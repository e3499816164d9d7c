//! Linux x86-64 syscall numbers and names, generated from musl's `bits/syscall.h`
//! (the header musl itself is built with). `tests::matches_musl_header` re-reads that header
//! on the host and fails if anything here differs from it.
#![forbid(unsafe_code)]

/// Syscall numbers, named as in `<sys/syscall.h>` without the `__NR_` prefix.
#[allow(non_upper_case_globals)]
pub mod nr {
    pub const read: usize = 0;
    pub const write: usize = 1;
    pub const open: usize = 2;
    pub const close: usize = 3;
    pub const stat: usize = 4;
    pub const fstat: usize = 5;
    pub const lstat: usize = 6;
    pub const poll: usize = 7;
    pub const lseek: usize = 8;
    pub const mmap: usize = 9;
    pub const mprotect: usize = 10;
    pub const munmap: usize = 11;
    pub const brk: usize = 12;
    pub const rt_sigaction: usize = 13;
    pub const rt_sigprocmask: usize = 14;
    pub const rt_sigreturn: usize = 15;
    pub const ioctl: usize = 16;
    pub const pread64: usize = 17;
    pub const pwrite64: usize = 18;
    pub const readv: usize = 19;
    pub const writev: usize = 20;
    pub const access: usize = 21;
    pub const pipe: usize = 22;
    pub const select: usize = 23;
    pub const sched_yield: usize = 24;
    pub const mremap: usize = 25;
    pub const msync: usize = 26;
    pub const mincore: usize = 27;
    pub const madvise: usize = 28;
    pub const shmget: usize = 29;
    pub const shmat: usize = 30;
    pub const shmctl: usize = 31;
    pub const dup: usize = 32;
    pub const dup2: usize = 33;
    pub const pause: usize = 34;
    pub const nanosleep: usize = 35;
    pub const getitimer: usize = 36;
    pub const alarm: usize = 37;
    pub const setitimer: usize = 38;
    pub const getpid: usize = 39;
    pub const sendfile: usize = 40;
    pub const socket: usize = 41;
    pub const connect: usize = 42;
    pub const accept: usize = 43;
    pub const sendto: usize = 44;
    pub const recvfrom: usize = 45;
    pub const sendmsg: usize = 46;
    pub const recvmsg: usize = 47;
    pub const shutdown: usize = 48;
    pub const bind: usize = 49;
    pub const listen: usize = 50;
    pub const getsockname: usize = 51;
    pub const getpeername: usize = 52;
    pub const socketpair: usize = 53;
    pub const setsockopt: usize = 54;
    pub const getsockopt: usize = 55;
    pub const clone: usize = 56;
    pub const fork: usize = 57;
    pub const vfork: usize = 58;
    pub const execve: usize = 59;
    pub const exit: usize = 60;
    pub const wait4: usize = 61;
    pub const kill: usize = 62;
    pub const uname: usize = 63;
    pub const semget: usize = 64;
    pub const semop: usize = 65;
    pub const semctl: usize = 66;
    pub const shmdt: usize = 67;
    pub const msgget: usize = 68;
    pub const msgsnd: usize = 69;
    pub const msgrcv: usize = 70;
    pub const msgctl: usize = 71;
    pub const fcntl: usize = 72;
    pub const flock: usize = 73;
    pub const fsync: usize = 74;
    pub const fdatasync: usize = 75;
    pub const truncate: usize = 76;
    pub const ftruncate: usize = 77;
    pub const getdents: usize = 78;
    pub const getcwd: usize = 79;
    pub const chdir: usize = 80;
    pub const fchdir: usize = 81;
    pub const rename: usize = 82;
    pub const mkdir: usize = 83;
    pub const rmdir: usize = 84;
    pub const creat: usize = 85;
    pub const link: usize = 86;
    pub const unlink: usize = 87;
    pub const symlink: usize = 88;
    pub const readlink: usize = 89;
    pub const chmod: usize = 90;
    pub const fchmod: usize = 91;
    pub const chown: usize = 92;
    pub const fchown: usize = 93;
    pub const lchown: usize = 94;
    pub const umask: usize = 95;
    pub const gettimeofday: usize = 96;
    pub const getrlimit: usize = 97;
    pub const getrusage: usize = 98;
    pub const sysinfo: usize = 99;
    pub const times: usize = 100;
    pub const ptrace: usize = 101;
    pub const getuid: usize = 102;
    pub const syslog: usize = 103;
    pub const getgid: usize = 104;
    pub const setuid: usize = 105;
    pub const setgid: usize = 106;
    pub const geteuid: usize = 107;
    pub const getegid: usize = 108;
    pub const setpgid: usize = 109;
    pub const getppid: usize = 110;
    pub const getpgrp: usize = 111;
    pub const setsid: usize = 112;
    pub const setreuid: usize = 113;
    pub const setregid: usize = 114;
    pub const getgroups: usize = 115;
    pub const setgroups: usize = 116;
    pub const setresuid: usize = 117;
    pub const getresuid: usize = 118;
    pub const setresgid: usize = 119;
    pub const getresgid: usize = 120;
    pub const getpgid: usize = 121;
    pub const setfsuid: usize = 122;
    pub const setfsgid: usize = 123;
    pub const getsid: usize = 124;
    pub const capget: usize = 125;
    pub const capset: usize = 126;
    pub const rt_sigpending: usize = 127;
    pub const rt_sigtimedwait: usize = 128;
    pub const rt_sigqueueinfo: usize = 129;
    pub const rt_sigsuspend: usize = 130;
    pub const sigaltstack: usize = 131;
    pub const utime: usize = 132;
    pub const mknod: usize = 133;
    pub const uselib: usize = 134;
    pub const personality: usize = 135;
    pub const ustat: usize = 136;
    pub const statfs: usize = 137;
    pub const fstatfs: usize = 138;
    pub const sysfs: usize = 139;
    pub const getpriority: usize = 140;
    pub const setpriority: usize = 141;
    pub const sched_setparam: usize = 142;
    pub const sched_getparam: usize = 143;
    pub const sched_setscheduler: usize = 144;
    pub const sched_getscheduler: usize = 145;
    pub const sched_get_priority_max: usize = 146;
    pub const sched_get_priority_min: usize = 147;
    pub const sched_rr_get_interval: usize = 148;
    pub const mlock: usize = 149;
    pub const munlock: usize = 150;
    pub const mlockall: usize = 151;
    pub const munlockall: usize = 152;
    pub const vhangup: usize = 153;
    pub const modify_ldt: usize = 154;
    pub const pivot_root: usize = 155;
    pub const _sysctl: usize = 156;
    pub const prctl: usize = 157;
    pub const arch_prctl: usize = 158;
    pub const adjtimex: usize = 159;
    pub const setrlimit: usize = 160;
    pub const chroot: usize = 161;
    pub const sync: usize = 162;
    pub const acct: usize = 163;
    pub const settimeofday: usize = 164;
    pub const mount: usize = 165;
    pub const umount2: usize = 166;
    pub const swapon: usize = 167;
    pub const swapoff: usize = 168;
    pub const reboot: usize = 169;
    pub const sethostname: usize = 170;
    pub const setdomainname: usize = 171;
    pub const iopl: usize = 172;
    pub const ioperm: usize = 173;
    pub const create_module: usize = 174;
    pub const init_module: usize = 175;
    pub const delete_module: usize = 176;
    pub const get_kernel_syms: usize = 177;
    pub const query_module: usize = 178;
    pub const quotactl: usize = 179;
    pub const nfsservctl: usize = 180;
    pub const getpmsg: usize = 181;
    pub const putpmsg: usize = 182;
    pub const afs_syscall: usize = 183;
    pub const tuxcall: usize = 184;
    pub const security: usize = 185;
    pub const gettid: usize = 186;
    pub const readahead: usize = 187;
    pub const setxattr: usize = 188;
    pub const lsetxattr: usize = 189;
    pub const fsetxattr: usize = 190;
    pub const getxattr: usize = 191;
    pub const lgetxattr: usize = 192;
    pub const fgetxattr: usize = 193;
    pub const listxattr: usize = 194;
    pub const llistxattr: usize = 195;
    pub const flistxattr: usize = 196;
    pub const removexattr: usize = 197;
    pub const lremovexattr: usize = 198;
    pub const fremovexattr: usize = 199;
    pub const tkill: usize = 200;
    pub const time: usize = 201;
    pub const futex: usize = 202;
    pub const sched_setaffinity: usize = 203;
    pub const sched_getaffinity: usize = 204;
    pub const set_thread_area: usize = 205;
    pub const io_setup: usize = 206;
    pub const io_destroy: usize = 207;
    pub const io_getevents: usize = 208;
    pub const io_submit: usize = 209;
    pub const io_cancel: usize = 210;
    pub const get_thread_area: usize = 211;
    pub const lookup_dcookie: usize = 212;
    pub const epoll_create: usize = 213;
    pub const epoll_ctl_old: usize = 214;
    pub const epoll_wait_old: usize = 215;
    pub const remap_file_pages: usize = 216;
    pub const getdents64: usize = 217;
    pub const set_tid_address: usize = 218;
    pub const restart_syscall: usize = 219;
    pub const semtimedop: usize = 220;
    pub const fadvise64: usize = 221;
    pub const timer_create: usize = 222;
    pub const timer_settime: usize = 223;
    pub const timer_gettime: usize = 224;
    pub const timer_getoverrun: usize = 225;
    pub const timer_delete: usize = 226;
    pub const clock_settime: usize = 227;
    pub const clock_gettime: usize = 228;
    pub const clock_getres: usize = 229;
    pub const clock_nanosleep: usize = 230;
    pub const exit_group: usize = 231;
    pub const epoll_wait: usize = 232;
    pub const epoll_ctl: usize = 233;
    pub const tgkill: usize = 234;
    pub const utimes: usize = 235;
    pub const vserver: usize = 236;
    pub const mbind: usize = 237;
    pub const set_mempolicy: usize = 238;
    pub const get_mempolicy: usize = 239;
    pub const mq_open: usize = 240;
    pub const mq_unlink: usize = 241;
    pub const mq_timedsend: usize = 242;
    pub const mq_timedreceive: usize = 243;
    pub const mq_notify: usize = 244;
    pub const mq_getsetattr: usize = 245;
    pub const kexec_load: usize = 246;
    pub const waitid: usize = 247;
    pub const add_key: usize = 248;
    pub const request_key: usize = 249;
    pub const keyctl: usize = 250;
    pub const ioprio_set: usize = 251;
    pub const ioprio_get: usize = 252;
    pub const inotify_init: usize = 253;
    pub const inotify_add_watch: usize = 254;
    pub const inotify_rm_watch: usize = 255;
    pub const migrate_pages: usize = 256;
    pub const openat: usize = 257;
    pub const mkdirat: usize = 258;
    pub const mknodat: usize = 259;
    pub const fchownat: usize = 260;
    pub const futimesat: usize = 261;
    pub const newfstatat: usize = 262;
    pub const unlinkat: usize = 263;
    pub const renameat: usize = 264;
    pub const linkat: usize = 265;
    pub const symlinkat: usize = 266;
    pub const readlinkat: usize = 267;
    pub const fchmodat: usize = 268;
    pub const faccessat: usize = 269;
    pub const pselect6: usize = 270;
    pub const ppoll: usize = 271;
    pub const unshare: usize = 272;
    pub const set_robust_list: usize = 273;
    pub const get_robust_list: usize = 274;
    pub const splice: usize = 275;
    pub const tee: usize = 276;
    pub const sync_file_range: usize = 277;
    pub const vmsplice: usize = 278;
    pub const move_pages: usize = 279;
    pub const utimensat: usize = 280;
    pub const epoll_pwait: usize = 281;
    pub const signalfd: usize = 282;
    pub const timerfd_create: usize = 283;
    pub const eventfd: usize = 284;
    pub const fallocate: usize = 285;
    pub const timerfd_settime: usize = 286;
    pub const timerfd_gettime: usize = 287;
    pub const accept4: usize = 288;
    pub const signalfd4: usize = 289;
    pub const eventfd2: usize = 290;
    pub const epoll_create1: usize = 291;
    pub const dup3: usize = 292;
    pub const pipe2: usize = 293;
    pub const inotify_init1: usize = 294;
    pub const preadv: usize = 295;
    pub const pwritev: usize = 296;
    pub const rt_tgsigqueueinfo: usize = 297;
    pub const perf_event_open: usize = 298;
    pub const recvmmsg: usize = 299;
    pub const fanotify_init: usize = 300;
    pub const fanotify_mark: usize = 301;
    pub const prlimit64: usize = 302;
    pub const name_to_handle_at: usize = 303;
    pub const open_by_handle_at: usize = 304;
    pub const clock_adjtime: usize = 305;
    pub const syncfs: usize = 306;
    pub const sendmmsg: usize = 307;
    pub const setns: usize = 308;
    pub const getcpu: usize = 309;
    pub const process_vm_readv: usize = 310;
    pub const process_vm_writev: usize = 311;
    pub const kcmp: usize = 312;
    pub const finit_module: usize = 313;
    pub const sched_setattr: usize = 314;
    pub const sched_getattr: usize = 315;
    pub const renameat2: usize = 316;
    pub const seccomp: usize = 317;
    pub const getrandom: usize = 318;
    pub const memfd_create: usize = 319;
    pub const kexec_file_load: usize = 320;
    pub const bpf: usize = 321;
    pub const execveat: usize = 322;
    pub const userfaultfd: usize = 323;
    pub const membarrier: usize = 324;
    pub const mlock2: usize = 325;
    pub const copy_file_range: usize = 326;
    pub const preadv2: usize = 327;
    pub const pwritev2: usize = 328;
    pub const pkey_mprotect: usize = 329;
    pub const pkey_alloc: usize = 330;
    pub const pkey_free: usize = 331;
    pub const statx: usize = 332;
    pub const io_pgetevents: usize = 333;
    pub const rseq: usize = 334;
    pub const pidfd_send_signal: usize = 424;
    pub const io_uring_setup: usize = 425;
    pub const io_uring_enter: usize = 426;
    pub const io_uring_register: usize = 427;
    pub const open_tree: usize = 428;
    pub const move_mount: usize = 429;
    pub const fsopen: usize = 430;
    pub const fsconfig: usize = 431;
    pub const fsmount: usize = 432;
    pub const fspick: usize = 433;
    pub const pidfd_open: usize = 434;
    pub const clone3: usize = 435;
    pub const close_range: usize = 436;
    pub const openat2: usize = 437;
    pub const pidfd_getfd: usize = 438;
    pub const faccessat2: usize = 439;
    pub const process_madvise: usize = 440;
    pub const epoll_pwait2: usize = 441;
    pub const mount_setattr: usize = 442;
    pub const landlock_create_ruleset: usize = 444;
    pub const landlock_add_rule: usize = 445;
    pub const landlock_restrict_self: usize = 446;
}

/// Every (name, number) pair, in header order.
pub const ALL: &[(&str, usize)] = &[
    ("read", nr::read),
    ("write", nr::write),
    ("open", nr::open),
    ("close", nr::close),
    ("stat", nr::stat),
    ("fstat", nr::fstat),
    ("lstat", nr::lstat),
    ("poll", nr::poll),
    ("lseek", nr::lseek),
    ("mmap", nr::mmap),
    ("mprotect", nr::mprotect),
    ("munmap", nr::munmap),
    ("brk", nr::brk),
    ("rt_sigaction", nr::rt_sigaction),
    ("rt_sigprocmask", nr::rt_sigprocmask),
    ("rt_sigreturn", nr::rt_sigreturn),
    ("ioctl", nr::ioctl),
    ("pread64", nr::pread64),
    ("pwrite64", nr::pwrite64),
    ("readv", nr::readv),
    ("writev", nr::writev),
    ("access", nr::access),
    ("pipe", nr::pipe),
    ("select", nr::select),
    ("sched_yield", nr::sched_yield),
    ("mremap", nr::mremap),
    ("msync", nr::msync),
    ("mincore", nr::mincore),
    ("madvise", nr::madvise),
    ("shmget", nr::shmget),
    ("shmat", nr::shmat),
    ("shmctl", nr::shmctl),
    ("dup", nr::dup),
    ("dup2", nr::dup2),
    ("pause", nr::pause),
    ("nanosleep", nr::nanosleep),
    ("getitimer", nr::getitimer),
    ("alarm", nr::alarm),
    ("setitimer", nr::setitimer),
    ("getpid", nr::getpid),
    ("sendfile", nr::sendfile),
    ("socket", nr::socket),
    ("connect", nr::connect),
    ("accept", nr::accept),
    ("sendto", nr::sendto),
    ("recvfrom", nr::recvfrom),
    ("sendmsg", nr::sendmsg),
    ("recvmsg", nr::recvmsg),
    ("shutdown", nr::shutdown),
    ("bind", nr::bind),
    ("listen", nr::listen),
    ("getsockname", nr::getsockname),
    ("getpeername", nr::getpeername),
    ("socketpair", nr::socketpair),
    ("setsockopt", nr::setsockopt),
    ("getsockopt", nr::getsockopt),
    ("clone", nr::clone),
    ("fork", nr::fork),
    ("vfork", nr::vfork),
    ("execve", nr::execve),
    ("exit", nr::exit),
    ("wait4", nr::wait4),
    ("kill", nr::kill),
    ("uname", nr::uname),
    ("semget", nr::semget),
    ("semop", nr::semop),
    ("semctl", nr::semctl),
    ("shmdt", nr::shmdt),
    ("msgget", nr::msgget),
    ("msgsnd", nr::msgsnd),
    ("msgrcv", nr::msgrcv),
    ("msgctl", nr::msgctl),
    ("fcntl", nr::fcntl),
    ("flock", nr::flock),
    ("fsync", nr::fsync),
    ("fdatasync", nr::fdatasync),
    ("truncate", nr::truncate),
    ("ftruncate", nr::ftruncate),
    ("getdents", nr::getdents),
    ("getcwd", nr::getcwd),
    ("chdir", nr::chdir),
    ("fchdir", nr::fchdir),
    ("rename", nr::rename),
    ("mkdir", nr::mkdir),
    ("rmdir", nr::rmdir),
    ("creat", nr::creat),
    ("link", nr::link),
    ("unlink", nr::unlink),
    ("symlink", nr::symlink),
    ("readlink", nr::readlink),
    ("chmod", nr::chmod),
    ("fchmod", nr::fchmod),
    ("chown", nr::chown),
    ("fchown", nr::fchown),
    ("lchown", nr::lchown),
    ("umask", nr::umask),
    ("gettimeofday", nr::gettimeofday),
    ("getrlimit", nr::getrlimit),
    ("getrusage", nr::getrusage),
    ("sysinfo", nr::sysinfo),
    ("times", nr::times),
    ("ptrace", nr::ptrace),
    ("getuid", nr::getuid),
    ("syslog", nr::syslog),
    ("getgid", nr::getgid),
    ("setuid", nr::setuid),
    ("setgid", nr::setgid),
    ("geteuid", nr::geteuid),
    ("getegid", nr::getegid),
    ("setpgid", nr::setpgid),
    ("getppid", nr::getppid),
    ("getpgrp", nr::getpgrp),
    ("setsid", nr::setsid),
    ("setreuid", nr::setreuid),
    ("setregid", nr::setregid),
    ("getgroups", nr::getgroups),
    ("setgroups", nr::setgroups),
    ("setresuid", nr::setresuid),
    ("getresuid", nr::getresuid),
    ("setresgid", nr::setresgid),
    ("getresgid", nr::getresgid),
    ("getpgid", nr::getpgid),
    ("setfsuid", nr::setfsuid),
    ("setfsgid", nr::setfsgid),
    ("getsid", nr::getsid),
    ("capget", nr::capget),
    ("capset", nr::capset),
    ("rt_sigpending", nr::rt_sigpending),
    ("rt_sigtimedwait", nr::rt_sigtimedwait),
    ("rt_sigqueueinfo", nr::rt_sigqueueinfo),
    ("rt_sigsuspend", nr::rt_sigsuspend),
    ("sigaltstack", nr::sigaltstack),
    ("utime", nr::utime),
    ("mknod", nr::mknod),
    ("uselib", nr::uselib),
    ("personality", nr::personality),
    ("ustat", nr::ustat),
    ("statfs", nr::statfs),
    ("fstatfs", nr::fstatfs),
    ("sysfs", nr::sysfs),
    ("getpriority", nr::getpriority),
    ("setpriority", nr::setpriority),
    ("sched_setparam", nr::sched_setparam),
    ("sched_getparam", nr::sched_getparam),
    ("sched_setscheduler", nr::sched_setscheduler),
    ("sched_getscheduler", nr::sched_getscheduler),
    ("sched_get_priority_max", nr::sched_get_priority_max),
    ("sched_get_priority_min", nr::sched_get_priority_min),
    ("sched_rr_get_interval", nr::sched_rr_get_interval),
    ("mlock", nr::mlock),
    ("munlock", nr::munlock),
    ("mlockall", nr::mlockall),
    ("munlockall", nr::munlockall),
    ("vhangup", nr::vhangup),
    ("modify_ldt", nr::modify_ldt),
    ("pivot_root", nr::pivot_root),
    ("_sysctl", nr::_sysctl),
    ("prctl", nr::prctl),
    ("arch_prctl", nr::arch_prctl),
    ("adjtimex", nr::adjtimex),
    ("setrlimit", nr::setrlimit),
    ("chroot", nr::chroot),
    ("sync", nr::sync),
    ("acct", nr::acct),
    ("settimeofday", nr::settimeofday),
    ("mount", nr::mount),
    ("umount2", nr::umount2),
    ("swapon", nr::swapon),
    ("swapoff", nr::swapoff),
    ("reboot", nr::reboot),
    ("sethostname", nr::sethostname),
    ("setdomainname", nr::setdomainname),
    ("iopl", nr::iopl),
    ("ioperm", nr::ioperm),
    ("create_module", nr::create_module),
    ("init_module", nr::init_module),
    ("delete_module", nr::delete_module),
    ("get_kernel_syms", nr::get_kernel_syms),
    ("query_module", nr::query_module),
    ("quotactl", nr::quotactl),
    ("nfsservctl", nr::nfsservctl),
    ("getpmsg", nr::getpmsg),
    ("putpmsg", nr::putpmsg),
    ("afs_syscall", nr::afs_syscall),
    ("tuxcall", nr::tuxcall),
    ("security", nr::security),
    ("gettid", nr::gettid),
    ("readahead", nr::readahead),
    ("setxattr", nr::setxattr),
    ("lsetxattr", nr::lsetxattr),
    ("fsetxattr", nr::fsetxattr),
    ("getxattr", nr::getxattr),
    ("lgetxattr", nr::lgetxattr),
    ("fgetxattr", nr::fgetxattr),
    ("listxattr", nr::listxattr),
    ("llistxattr", nr::llistxattr),
    ("flistxattr", nr::flistxattr),
    ("removexattr", nr::removexattr),
    ("lremovexattr", nr::lremovexattr),
    ("fremovexattr", nr::fremovexattr),
    ("tkill", nr::tkill),
    ("time", nr::time),
    ("futex", nr::futex),
    ("sched_setaffinity", nr::sched_setaffinity),
    ("sched_getaffinity", nr::sched_getaffinity),
    ("set_thread_area", nr::set_thread_area),
    ("io_setup", nr::io_setup),
    ("io_destroy", nr::io_destroy),
    ("io_getevents", nr::io_getevents),
    ("io_submit", nr::io_submit),
    ("io_cancel", nr::io_cancel),
    ("get_thread_area", nr::get_thread_area),
    ("lookup_dcookie", nr::lookup_dcookie),
    ("epoll_create", nr::epoll_create),
    ("epoll_ctl_old", nr::epoll_ctl_old),
    ("epoll_wait_old", nr::epoll_wait_old),
    ("remap_file_pages", nr::remap_file_pages),
    ("getdents64", nr::getdents64),
    ("set_tid_address", nr::set_tid_address),
    ("restart_syscall", nr::restart_syscall),
    ("semtimedop", nr::semtimedop),
    ("fadvise64", nr::fadvise64),
    ("timer_create", nr::timer_create),
    ("timer_settime", nr::timer_settime),
    ("timer_gettime", nr::timer_gettime),
    ("timer_getoverrun", nr::timer_getoverrun),
    ("timer_delete", nr::timer_delete),
    ("clock_settime", nr::clock_settime),
    ("clock_gettime", nr::clock_gettime),
    ("clock_getres", nr::clock_getres),
    ("clock_nanosleep", nr::clock_nanosleep),
    ("exit_group", nr::exit_group),
    ("epoll_wait", nr::epoll_wait),
    ("epoll_ctl", nr::epoll_ctl),
    ("tgkill", nr::tgkill),
    ("utimes", nr::utimes),
    ("vserver", nr::vserver),
    ("mbind", nr::mbind),
    ("set_mempolicy", nr::set_mempolicy),
    ("get_mempolicy", nr::get_mempolicy),
    ("mq_open", nr::mq_open),
    ("mq_unlink", nr::mq_unlink),
    ("mq_timedsend", nr::mq_timedsend),
    ("mq_timedreceive", nr::mq_timedreceive),
    ("mq_notify", nr::mq_notify),
    ("mq_getsetattr", nr::mq_getsetattr),
    ("kexec_load", nr::kexec_load),
    ("waitid", nr::waitid),
    ("add_key", nr::add_key),
    ("request_key", nr::request_key),
    ("keyctl", nr::keyctl),
    ("ioprio_set", nr::ioprio_set),
    ("ioprio_get", nr::ioprio_get),
    ("inotify_init", nr::inotify_init),
    ("inotify_add_watch", nr::inotify_add_watch),
    ("inotify_rm_watch", nr::inotify_rm_watch),
    ("migrate_pages", nr::migrate_pages),
    ("openat", nr::openat),
    ("mkdirat", nr::mkdirat),
    ("mknodat", nr::mknodat),
    ("fchownat", nr::fchownat),
    ("futimesat", nr::futimesat),
    ("newfstatat", nr::newfstatat),
    ("unlinkat", nr::unlinkat),
    ("renameat", nr::renameat),
    ("linkat", nr::linkat),
    ("symlinkat", nr::symlinkat),
    ("readlinkat", nr::readlinkat),
    ("fchmodat", nr::fchmodat),
    ("faccessat", nr::faccessat),
    ("pselect6", nr::pselect6),
    ("ppoll", nr::ppoll),
    ("unshare", nr::unshare),
    ("set_robust_list", nr::set_robust_list),
    ("get_robust_list", nr::get_robust_list),
    ("splice", nr::splice),
    ("tee", nr::tee),
    ("sync_file_range", nr::sync_file_range),
    ("vmsplice", nr::vmsplice),
    ("move_pages", nr::move_pages),
    ("utimensat", nr::utimensat),
    ("epoll_pwait", nr::epoll_pwait),
    ("signalfd", nr::signalfd),
    ("timerfd_create", nr::timerfd_create),
    ("eventfd", nr::eventfd),
    ("fallocate", nr::fallocate),
    ("timerfd_settime", nr::timerfd_settime),
    ("timerfd_gettime", nr::timerfd_gettime),
    ("accept4", nr::accept4),
    ("signalfd4", nr::signalfd4),
    ("eventfd2", nr::eventfd2),
    ("epoll_create1", nr::epoll_create1),
    ("dup3", nr::dup3),
    ("pipe2", nr::pipe2),
    ("inotify_init1", nr::inotify_init1),
    ("preadv", nr::preadv),
    ("pwritev", nr::pwritev),
    ("rt_tgsigqueueinfo", nr::rt_tgsigqueueinfo),
    ("perf_event_open", nr::perf_event_open),
    ("recvmmsg", nr::recvmmsg),
    ("fanotify_init", nr::fanotify_init),
    ("fanotify_mark", nr::fanotify_mark),
    ("prlimit64", nr::prlimit64),
    ("name_to_handle_at", nr::name_to_handle_at),
    ("open_by_handle_at", nr::open_by_handle_at),
    ("clock_adjtime", nr::clock_adjtime),
    ("syncfs", nr::syncfs),
    ("sendmmsg", nr::sendmmsg),
    ("setns", nr::setns),
    ("getcpu", nr::getcpu),
    ("process_vm_readv", nr::process_vm_readv),
    ("process_vm_writev", nr::process_vm_writev),
    ("kcmp", nr::kcmp),
    ("finit_module", nr::finit_module),
    ("sched_setattr", nr::sched_setattr),
    ("sched_getattr", nr::sched_getattr),
    ("renameat2", nr::renameat2),
    ("seccomp", nr::seccomp),
    ("getrandom", nr::getrandom),
    ("memfd_create", nr::memfd_create),
    ("kexec_file_load", nr::kexec_file_load),
    ("bpf", nr::bpf),
    ("execveat", nr::execveat),
    ("userfaultfd", nr::userfaultfd),
    ("membarrier", nr::membarrier),
    ("mlock2", nr::mlock2),
    ("copy_file_range", nr::copy_file_range),
    ("preadv2", nr::preadv2),
    ("pwritev2", nr::pwritev2),
    ("pkey_mprotect", nr::pkey_mprotect),
    ("pkey_alloc", nr::pkey_alloc),
    ("pkey_free", nr::pkey_free),
    ("statx", nr::statx),
    ("io_pgetevents", nr::io_pgetevents),
    ("rseq", nr::rseq),
    ("pidfd_send_signal", nr::pidfd_send_signal),
    ("io_uring_setup", nr::io_uring_setup),
    ("io_uring_enter", nr::io_uring_enter),
    ("io_uring_register", nr::io_uring_register),
    ("open_tree", nr::open_tree),
    ("move_mount", nr::move_mount),
    ("fsopen", nr::fsopen),
    ("fsconfig", nr::fsconfig),
    ("fsmount", nr::fsmount),
    ("fspick", nr::fspick),
    ("pidfd_open", nr::pidfd_open),
    ("clone3", nr::clone3),
    ("close_range", nr::close_range),
    ("openat2", nr::openat2),
    ("pidfd_getfd", nr::pidfd_getfd),
    ("faccessat2", nr::faccessat2),
    ("process_madvise", nr::process_madvise),
    ("epoll_pwait2", nr::epoll_pwait2),
    ("mount_setattr", nr::mount_setattr),
    ("landlock_create_ruleset", nr::landlock_create_ruleset),
    ("landlock_add_rule", nr::landlock_add_rule),
    ("landlock_restrict_self", nr::landlock_restrict_self),
];

/// The name of syscall `number`, for log lines.
pub fn name(number: usize) -> Option<&'static str> {
    ALL.iter()
        .find(|&&(_, n)| n == number)
        .map(|&(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_musl_header() {
        let path = "/usr/include/x86_64-linux-musl/bits/syscall.h";
        let header = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (install musl-dev: ./kiln doctor --install)"));
        let mut from_header = Vec::new();
        for line in header.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            let Some(name) = name.strip_prefix("__NR_") else {
                continue;
            };
            if let Ok(v) = value.parse::<usize>() {
                from_header.push((name.to_string(), v));
            }
        }
        let ours: Vec<(String, usize)> = ALL.iter().map(|&(n, v)| (n.to_string(), v)).collect();
        assert_eq!(ours, from_header);
    }

    #[test]
    fn names() {
        assert_eq!(name(0), Some("read"));
        assert_eq!(name(231), Some("exit_group"));
        assert_eq!(name(100_000), None);
    }
}
