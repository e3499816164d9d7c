//! Differential tests: each C program runs as a static musl Linux executable and as a Kiln
//! image with the same arguments and environment; both must print the same (minus the
//! kernel's `kiln:` lines) and exit with the same status.

use kiln_tests::{host_binary, image};

/// Runs `tests/programs/<name>.c` on the host and in a guest and compares (see
/// [`kiln_tests::same_on_host_and_guest`]). `kiln run` names argv[0] after the image file, as
/// the host does, and the programs print only its last path component.
fn same_on_host_and_guest(name: &str, env: &[(&str, &str)], args: &[&str]) {
    kiln_tests::same_on_host_and_guest(&host_binary(name), &image(name), env, args);
}

#[test]
fn printf_and_scanf_formats() {
    same_on_host_and_guest("formats", &[], &[]);
}

#[test]
fn strtod_and_strtol_edge_cases() {
    same_on_host_and_guest("strto", &[], &[]);
}

#[test]
fn qsort_and_bsearch() {
    same_on_host_and_guest("sort", &[], &[]);
}

#[test]
fn malloc_stress() {
    same_on_host_and_guest("malloc_stress", &[], &[]);
}

#[test]
fn clocks_and_sleeping() {
    same_on_host_and_guest("clocks", &[], &[]);
}

#[test]
fn argv_and_environment() {
    same_on_host_and_guest(
        "args_env",
        // An explicit PATH replaces the runtime's default one on both sides.
        &[("KILN_TEST", "1"), ("PATH", "/opt/kiln-test/bin")],
        &["plain", "with spaces", "x=y", "--", "-v", "last"],
    );
}

#[test]
fn getrandom() {
    same_on_host_and_guest("random", &[], &[]);
}

#[test]
fn setjmp_and_longjmp() {
    same_on_host_and_guest("jumps", &[], &[]);
}

#[test]
fn errno_of_failing_calls() {
    same_on_host_and_guest("errnos", &[], &[]);
}

#[test]
fn pipes_eventfd_poll_select_and_epoll() {
    same_on_host_and_guest("readiness", &[], &[]);
}

#[test]
fn pthreads() {
    same_on_host_and_guest("threads", &[], &[]);
}

#[test]
fn cxx_threads_futures_and_condition_variables() {
    same_on_host_and_guest("threads_cpp", &[], &[]);
}

#[test]
fn timerfd_with_poll_and_epoll() {
    same_on_host_and_guest("timers", &[], &[]);
}

/// A program serving and connecting to itself over 127.0.0.1 and ::1 (TCP and UDP, blocking
/// and non-blocking with epoll, a dual-stack listener) behaves as on Linux in a guest with
/// no network device: `lo` is always there. (With a NIC: tests/net.rs.)
#[test]
fn loopback_without_a_network_device() {
    same_on_host_and_guest("loopback", &[], &[]);
}

/// The socket error table (issue 3): each error case over loopback gets Linux's errno.
#[test]
fn socket_errnos_over_loopback() {
    same_on_host_and_guest("sock_errnos", &[], &[]);
}

/// prctl with Linux's answers for a root process (unknown options EINVAL, PR_CAP_AMBIENT,
/// the recorded flags with their argument checks) and thread names through prctl,
/// pthread_{set,get}name_np and /proc/self/task/TID/comm (issue 13).
#[test]
fn prctl_and_thread_names() {
    same_on_host_and_guest("prctl", &[], &[]);
}

/// getrusage, times, clock_getres and the CPU-time clocks, per process and per thread: CPU
/// time grows while computing, not while asleep, and maxrss is real (issue 13).
#[test]
fn getrusage_times_and_cpu_clocks() {
    same_on_host_and_guest("rusage", &[], &[]);
}

/// AF_UNIX stream, datagram and seqpacket sockets: socketpair, path and abstract names,
/// autobind, SCM_RIGHTS (a pipe and a file, MSG_CTRUNC, descriptors closed unreceived),
/// SCM_CREDENTIALS and SO_PEERCRED, readiness, shutdown and close, the errors (issue 13).
#[test]
fn unix_sockets() {
    same_on_host_and_guest("unix_sockets", &[], &[]);
}

/// TCP options over 127.0.0.1: getsockopt returns what was set (Linux's units and range
/// checks), accepted connections inherit them, TCP_CORK holds a partial segment until
/// uncorked or ~200 ms, TCP_DEFER_ACCEPT waits for data, SO_REUSEPORT shares a port,
/// TCP_USER_TIMEOUT leaves an idle connection alone (issue 13).
#[test]
fn tcp_options_over_loopback() {
    same_on_host_and_guest("tcp_options", &[], &[]);
}

/// The generated /etc/services and /etc/protocols answer like Debian's netbase files
/// (getservbyname/getservbyport, the protocol numbers), /var/tmp is writable and /var/run
/// leads to /run (issue 13).
#[test]
fn netdb_files_and_var() {
    same_on_host_and_guest("netdb", &[], &[]);
}

/// Threads computing without syscalls are preempted, the main thread included: every
/// spinner gets its share and a sleeper wakes on time under that load (issue 13).
#[test]
fn spinning_threads_are_preempted_fairly() {
    same_on_host_and_guest("spin_fair", &[], &[]);
}

/// A thread preempted inside musl's backward memmove (DF set) does not make the next
/// thread's kernel code copy backwards (issue 23).
#[test]
fn direction_flag_never_reaches_kernel_code() {
    same_on_host_and_guest("df_memmove", &[], &[]);
}

/// A listener bound again while its accepted connections live, close with unread data and
/// SO_LINGER {1, 0} resetting, data after close resetting (issue 23).
#[test]
fn how_tcp_connections_and_listeners_end() {
    same_on_host_and_guest("tcp_lifecycle", &[], &[]);
}

/// The kernel under a mixed load for 10 s — memmoves both ways, futex waits with timeouts,
/// threads created and joined, TCP connections opened and reset (issue 23; an hour in
/// bench/stress.sh).
#[test]
fn stress_for_ten_seconds() {
    same_on_host_and_guest("stress", &[], &["10"]);
}
