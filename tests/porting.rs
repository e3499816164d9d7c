//! Porting without CMake: `bin/kiln-cc` and `bin/kiln-c++` as CC/CXX turn an ordinary
//! Makefile project and an autotools project (`./configure --host=x86_64-linux-musl`) into
//! bootable images (docs/porting.md).

use kiln_tests::{root, run_host, run_image, run_ok, runtime_dir, scratch_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn wrapper(name: &str) -> PathBuf {
    root().join("bin").join(name)
}

/// Copies `tests/<name>` into a fresh scratch directory (builds never touch the sources).
fn copy_project(name: &str) -> PathBuf {
    let dest = scratch_dir(name);
    run_ok(
        Command::new("cp")
            .arg("-R")
            .arg(root().join("tests").join(name).join("."))
            .arg(&dest),
    );
    dest
}

fn make(dir: &Path, extra_env: &[(&str, &str)]) {
    let mut cmd = Command::new("make");
    cmd.current_dir(dir)
        .arg(format!("CC={}", wrapper("kiln-cc").display()))
        .arg(format!("CXX={}", wrapper("kiln-c++").display()));
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd);
}

fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    assert!(
        found,
        "{tool} not found on PATH: run `./kiln doctor --install` to install what Kiln needs"
    );
}

#[test]
fn a_makefile_project_builds_images_with_kiln_cc() {
    require("make");
    runtime_dir();
    let dir = copy_project("make-project");
    make(&dir, &[]);
    let out = run_image(&dir.join("greet"), &[], &["world"]);
    out.assert_status(3);
    assert_eq!(
        out.app(),
        "hello, world\nfrom a static library\n",
        "{}",
        out.describe()
    );
    let out = run_image(&dir.join("shout"), &[], &[]);
    out.assert_status(0);
    assert_eq!(out.app(), "C++ THROUGH KILN-C++\n", "{}", out.describe());
    let out = run_image(&dir.join("quick"), &[], &[]);
    out.assert_status(0);
    assert_eq!(out.app(), "quick 42\n", "{}", out.describe());

    // KILN_HOST=1: the same build makes static Linux executables that run here.
    run_ok(Command::new("make").current_dir(&dir).arg("clean"));
    make(&dir, &[("KILN_HOST", "1")]);
    let host = run_host(&dir.join("greet"), &[], &["world"]);
    host.assert_status(3);
    assert_eq!(host.stdout, "hello, world\nfrom a static library\n");
}

#[test]
fn the_wrapper_compiles_with_kilns_flags_and_refuses_shared_libraries() {
    runtime_dir();
    let out = kiln_tests::run_with_deadline(
        Command::new(wrapper("kiln-cc")).args(["-dM", "-E", "-x", "c", "/dev/null"]),
        std::time::Duration::from_secs(60),
    );
    out.assert_status(0);
    // musl's headers, not the host's glibc.
    assert!(
        out.stdout.contains("#define __x86_64__ 1"),
        "{}",
        out.describe()
    );
    assert!(!out.stdout.contains("__GLIBC__"), "{}", out.describe());
    let out = kiln_tests::run_with_deadline(
        Command::new(wrapper("kiln-cc")).args(["-shared", "-o", "/tmp/x.so", "x.c"]),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(out.status, 1);
    assert!(
        out.stderr
            .contains("-shared: an image is one static program"),
        "{}",
        out.describe()
    );
}

#[test]
fn an_autotools_project_configures_for_the_musl_host_and_boots() {
    require("make");
    require("autoconf");
    require("autoheader");
    runtime_dir();
    let dir = copy_project("autotools-project");
    run_ok(Command::new("autoheader").current_dir(&dir));
    run_ok(Command::new("autoconf").current_dir(&dir));
    run_ok(
        Command::new(dir.join("configure"))
            .current_dir(&dir)
            .arg("--host=x86_64-linux-musl")
            .arg(format!("CC={}", wrapper("kiln-cc").display())),
    );
    let config = std::fs::read_to_string(dir.join("config.h")).unwrap();
    for define in ["HAVE_GETRANDOM 1", "HAVE_SYS_EPOLL_H 1", "SIZEOF_LONG 8"] {
        assert!(
            config.contains(define),
            "config.h lacks {define}:\n{config}"
        );
    }
    run_ok(Command::new("make").current_dir(&dir));
    let out = run_image(&dir.join("probe"), &[], &[]);
    out.assert_status(0);
    assert_eq!(
        out.app(),
        "configured kiln-autotools-probe 1.0: long is 8 bytes\ngetrandom and epoll found\nlittle endian\n",
        "{}",
        out.describe()
    );
}
