//! libc-shim: every symbol it provides, exercised by the programs of `tests/shim/` (see its
//! README.md), each run as a static musl host executable and as a Kiln image. Both must print
//! the same and end with the same status, and the output must be the one the README promises.

use kiln_tests::{
    host_binary_in, run_host, run_image, same_on_host_and_guest, shim_dir, shim_src, Output,
};

/// Runs `tests/shim/<name>` on both sides; checks the status and that the app's output ends
/// with `last_lines`.
fn shim_program(name: &str, status: i32, last_lines: &[&str]) -> (Output, Output) {
    let exe = host_binary_in(&shim_src(), name);
    let image = shim_dir().join(name);
    assert!(
        image.is_file(),
        "the shim build made no image {}",
        image.display()
    );
    let (host, guest) = same_on_host_and_guest(&exe, &image, &[], &[]);
    guest.assert_status(status);
    let app = guest.app();
    let lines: Vec<&str> = app.lines().collect();
    assert!(
        lines.ends_with(last_lines),
        "{name} did not end with {last_lines:?}\n{}",
        guest.describe()
    );
    assert!(
        !app.contains("FAIL"),
        "{name} reports a failed check\n{}",
        guest.describe()
    );
    (host, guest)
}

/// A program that must die of `abort()` after the shim prints `message`.
fn aborts_with(name: &str, message: &str) {
    let (host, guest) = shim_program(name, 134, &[]);
    assert!(
        host.stderr.contains(message),
        "the host run of {name} did not print {message:?}\n{}",
        host.describe()
    );
    assert!(
        guest.kiln_lines().iter().any(|line| line == message),
        "the guest run of {name} did not print {message:?}\n{}",
        guest.describe()
    );
    assert!(
        !guest.all().contains("not reached"),
        "{name} went on\n{}",
        guest.describe()
    );
}

#[test]
fn fortified_glibc_entry_points() {
    shim_program("chk", 0, &["status: ok"]);
}

#[test]
fn fortified_check_failure_aborts() {
    aborts_with("chk_fail", "kiln: buffer overflow detected");
}

#[test]
fn stack_check_failure_aborts() {
    aborts_with("stack_chk", "kiln: stack smashing detected");
}

#[test]
fn glibc_locale_bridge() {
    shim_program("locale", 0, &["status: ok"]);
}

#[test]
fn libcxx_streams_over_the_locale_bridge() {
    shim_program("locale_stream", 0, &["status: ok"]);
}

#[test]
fn system_error_messages_through_gnu_strerror_r() {
    shim_program("system_error", 0, &["status: ok"]);
}

#[test]
fn thread_local_destructors_run_at_exit() {
    // Not a strict comparison: its first line reports a thread's exit on the host, and that
    // threads are unavailable in a guest until the runtime implements clone (docs/syscalls.md).
    let name = "thread_local_dtors";
    let expected = [
        "status: ok",
        "main thread_local destroyed",
        "static destroyed",
    ];
    let host = run_host(&host_binary_in(&shim_src(), name), &[], &[]);
    let guest = run_image(&shim_dir().join(name), &[], &[]);
    for out in [&host, &guest] {
        out.assert_status(0);
        let app = out.app();
        let lines: Vec<&str> = app.lines().collect();
        assert!(
            lines.ends_with(&expected),
            "{name} did not end with {expected:?}\n{}",
            out.describe()
        );
        assert!(
            !app.contains("FAIL"),
            "{name} reports a failed check\n{}",
            out.describe()
        );
    }
}

#[test]
fn newlib_style_entry_points() {
    shim_program("newlib", 0, &["status: ok"]);
}

#[test]
fn default_main_calls_os_start_and_os_shutdown_sets_the_status() {
    shim_program(
        "os_start",
        5,
        &[
            "OS_start running",
            "os_shutdown returned",
            "atexit handler ran",
        ],
    );
}

#[test]
fn os_start_returning_idle_exits_0() {
    shim_program("os_start_idle", 0, &["OS_start returning"]);
}

#[test]
fn os_args_gives_os_start_its_arguments() {
    let exe = host_binary_in(&shim_src(), "os_args");
    let image = shim_dir().join("os_args");
    let (_host, guest) = same_on_host_and_guest(&exe, &image, &[], &["alpha", "beta-gamma"]);
    guest.assert_status(0);
    let app = guest.app();
    let lines: Vec<&str> = app.lines().collect();
    assert_eq!(
        lines,
        [
            "argc=3",
            "argv[1]=alpha",
            "argv[2]=beta-gamma",
            "argv[3]=NULL"
        ],
        "{}",
        guest.describe()
    );
}

#[test]
fn os_shutdown_from_main_sets_the_status() {
    shim_program("main_shutdown", 7, &["calling os_shutdown(7)"]);
}
