//! Porting without CMake: `bin/kiln-cc` and `bin/kiln-c++` as CC/CXX turn an ordinary
//! Makefile project and an autotools project (`./configure`, which runs what it builds, or a
//! cross build with `--host=x86_64-linux-musl`) into bootable images that also run natively
//! on the Linux host (docs/porting.md); the link is sealed against the host's libraries.

use kiln_tests::{root, run_host, run_image, run_ok, runtime_dir, scratch_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn wrapper(name: &str) -> PathBuf {
    root().join("bin").join(name)
}

/// Copies `tests/<name>` into a fresh scratch directory `scratch` (builds never touch the
/// sources; tests running at once each get their own copy).
fn copy_project(name: &str, scratch: &str) -> PathBuf {
    let dest = scratch_dir(scratch);
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
    let dir = copy_project("make-project", "make-project");
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

    // The same images executed on the host run natively (issue 13)...
    let programs: [(&str, &[&str]); 3] = [("greet", &["world"]), ("shout", &[]), ("quick", &[])];
    let native: Vec<_> = programs
        .iter()
        .map(|(name, args)| run_host(&dir.join(name), &[], args))
        .collect();
    // ...as the KILN_HOST=1 build (plain static Linux executables of the same program) does.
    run_ok(Command::new("make").current_dir(&dir).arg("clean"));
    make(&dir, &[("KILN_HOST", "1")]);
    for ((name, args), native) in programs.iter().zip(&native) {
        let host = run_host(&dir.join(name), &[], args);
        assert!(!host.stdout.is_empty(), "{}", host.describe());
        assert_eq!(native.stdout, host.stdout, "{name}: {}", native.describe());
        assert_eq!(native.status, host.status, "{name}: {}", native.describe());
    }
    assert_eq!(native[0].status, 3);
    assert_eq!(native[0].stdout, "hello, world\nfrom a static library\n");
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

/// Runs autoheader, autoconf and `./configure CC=kiln-cc EXTRA...` in a fresh copy of
/// tests/autotools-project; returns the directory and configure's output.
fn configure_autotools(scratch: &str, extra: &[&str]) -> (PathBuf, String) {
    require("make");
    require("autoconf");
    require("autoheader");
    runtime_dir();
    let dir = copy_project("autotools-project", scratch);
    run_ok(Command::new("autoheader").current_dir(&dir));
    run_ok(Command::new("autoconf").current_dir(&dir));
    let log = run_ok(
        Command::new(dir.join("configure"))
            .current_dir(&dir)
            .args(extra)
            .arg(format!("CC={}", wrapper("kiln-cc").display())),
    );
    (dir, log)
}

/// The issue-13 case: a configure that runs what it compiles, without `--host`. Its
/// programs are Kiln images, which run natively on the Linux host, so configure is not a
/// cross build, its AC_RUN_IFELSE checks run, and the image it builds runs natively and
/// boots with the same output.
#[test]
fn an_autotools_project_configures_without_host_running_its_checks() {
    let (dir, log) = configure_autotools("autotools-native", &[]);
    for line in [
        "checking whether the C compiler works... yes",
        "checking whether we are cross compiling... no",
        "checking whether getrandom fills a buffer... yes",
        "checking the digits strtod reads back from 0x1.8p3... 12",
    ] {
        assert!(
            log.contains(line),
            "configure did not print {line:?}:\n{log}"
        );
    }
    let config = std::fs::read_to_string(dir.join("config.h")).unwrap();
    for define in [
        "HAVE_GETRANDOM 1",
        "HAVE_SYS_EPOLL_H 1",
        "SIZEOF_LONG 8",
        "GETRANDOM_FILLS 1",
        "STRTOD_VALUE \"12\"",
    ] {
        assert!(
            config.contains(define),
            "config.h lacks {define}:\n{config}"
        );
    }
    run_ok(Command::new("make").current_dir(&dir));
    let expected =
        "configured kiln-autotools-probe 1.0: long is 8 bytes\ngetrandom and epoll found\n\
                    little endian\nconfigure ran getrandom\nconfigure ran strtod: 12\n";
    let native = run_host(&dir.join("probe"), &[], &[]);
    native.assert_status(0);
    assert_eq!(native.stdout, expected, "{}", native.describe());
    let out = run_image(&dir.join("probe"), &[], &[]);
    out.assert_status(0);
    assert_eq!(out.app(), expected, "{}", out.describe());
}

/// A real cross build (`--build` and `--host` both given) still works: the checks that would
/// run a program take their cross-compiling answers. (`--host` alone lets configure find out
/// that it can run what it builds, and it does.)
#[test]
fn an_autotools_project_configures_as_a_cross_build_with_build_and_host() {
    let (dir, log) = configure_autotools(
        "autotools-cross",
        &["--build=x86_64-pc-linux-gnu", "--host=x86_64-linux-musl"],
    );
    for line in [
        "checking whether we are cross compiling... yes",
        "checking whether getrandom fills a buffer... cross",
    ] {
        assert!(
            log.contains(line),
            "configure did not print {line:?}:\n{log}"
        );
    }
    let config = std::fs::read_to_string(dir.join("config.h")).unwrap();
    assert!(config.contains("STRTOD_VALUE \"cross\""), "{config}");
    assert!(config.contains("HAVE_GETRANDOM 1"), "{config}");
    run_ok(Command::new("make").current_dir(&dir));
    let out = run_image(&dir.join("probe"), &[], &[]);
    out.assert_status(0);
    assert!(
        out.app().contains("configure ran strtod: cross\n"),
        "{}",
        out.describe()
    );
}

/// Runs a wrapper with `args` in `dir`.
fn wrapper_in(dir: &Path, name: &str, args: &[&str]) -> kiln_tests::Output {
    kiln_tests::run_with_deadline(
        Command::new(wrapper(name)).current_dir(dir).args(args),
        std::time::Duration::from_secs(300),
    )
}

/// Issue 13: a library only the host has (Debian's glibc-built libbz2.a) never links into an
/// image, by -l, by -L to the host's directory or by path; its header is not found either.
/// The message names the library and says how to provide it.
#[test]
fn host_only_libraries_are_refused_with_a_message() {
    runtime_dir();
    let host_lib = Path::new("/usr/lib/x86_64-linux-gnu/libbz2.a");
    assert!(
        host_lib.is_file(),
        "{} is missing (Debian's libbz2-dev): run `./kiln doctor --install`",
        host_lib.display()
    );
    let dir = scratch_dir("host-libs");
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    for args in [
        &["main.c", "-lbz2", "-o", "prog"][..],
        &[
            "main.c",
            "-L/usr/lib/x86_64-linux-gnu",
            "-lbz2",
            "-o",
            "prog",
        ],
        &[
            "main.c",
            "-Wl,-L,/usr/lib/x86_64-linux-gnu,-lbz2",
            "-o",
            "prog",
        ],
    ] {
        let out = wrapper_in(&dir, "kiln-cc", args);
        assert_eq!(out.status, 1, "{args:?} linked\n{}", out.describe());
        assert!(
            out.stderr
                .contains("kiln: -lbz2: no libbz2.a built for Kiln (searched "),
            "{args:?}\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains(&format!(
                "The host's {} is built for glibc and never links into an image",
                host_lib.display()
            )) && out
                .stderr
                .contains("build bz2 with Kiln's toolchain as a static library")
                && out.stderr.contains("docs/porting.md"),
            "{}",
            out.describe()
        );
        assert!(!dir.join("prog").exists(), "{args:?} left an image");
    }
    let out = wrapper_in(
        &dir,
        "kiln-cc",
        &["main.c", host_lib.to_str().unwrap(), "-o", "prog"],
    );
    assert_eq!(out.status, 1, "{}", out.describe());
    assert!(
        out.stderr
            .contains("is one of the host's libraries, built for glibc"),
        "{}",
        out.describe()
    );
    // The compile side: the host's /usr/include is not searched, even when asked for.
    std::fs::write(
        dir.join("bz.c"),
        "#include <bzlib.h>\nint main(void) { return 0; }\n",
    )
    .unwrap();
    for args in [&["-c", "bz.c"][..], &["-I/usr/include", "-c", "bz.c"]] {
        let out = wrapper_in(&dir, "kiln-cc", args);
        assert_ne!(out.status, 0, "{args:?} compiled\n{}", out.describe());
        assert!(
            out.stderr.contains("'bzlib.h' file not found"),
            "{}",
            out.describe()
        );
    }
}

/// Issue 13: the libraries glibc systems split out of libc resolve to musl's libc (as on
/// Alpine), and `-lstdc++` is libc++: a C++ program linked by the C driver with -lstdc++
/// runs, natively and in the VM, with libc++ in it and none of GNU libstdc++.
#[test]
fn musl_library_names_and_lstdcxx_resolve_to_kilns_own() {
    runtime_dir();
    let dir = scratch_dir("lstdcxx");
    std::fs::write(
        dir.join("main.c"),
        "#include <math.h>\n#include <pthread.h>\n#include <stdio.h>\n\
         int main(void) { printf(\"%.3f %d\\n\", sqrt(2.0), pthread_self() != 0); return 0; }\n",
    )
    .unwrap();
    let out = wrapper_in(
        &dir,
        "kiln-cc",
        &[
            "main.c",
            "-lpthread",
            "-lrt",
            "-ldl",
            "-lm",
            "-lutil",
            "-lcrypt",
            "-lresolv",
            "-lxnet",
            "-o",
            "cprog",
        ],
    );
    out.assert_status(0);
    let native = run_host(&dir.join("cprog"), &[], &[]);
    native.assert_status(0);
    assert_eq!(native.stdout, "1.414 1\n", "{}", native.describe());

    std::fs::write(
        dir.join("lib.cpp"),
        "#include <map>\n#include <stdexcept>\n#include <string>\n\
         extern \"C\" int count_keys(void) {\n\
           std::map<std::string, int> m{{\"a\", 1}, {\"b\", 2}, {\"c\", 3}};\n\
           try { throw std::runtime_error(\"through libc++abi\"); }\n\
           catch (const std::exception &e) { return (int)m.size() + (int)std::string(e.what()).size(); }\n\
         }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("use.c"),
        "#include <stdio.h>\nint count_keys(void);\n\
         int main(void) { printf(\"%d\\n\", count_keys()); return 0; }\n",
    )
    .unwrap();
    wrapper_in(&dir, "kiln-c++", &["-c", "lib.cpp", "-o", "lib.o"]).assert_status(0);
    let out = wrapper_in(
        &dir,
        "kiln-cc",
        &["use.c", "lib.o", "-lstdc++", "-o", "cxxprog"],
    );
    out.assert_status(0);
    let symbols = run_ok(Command::new("nm").arg("-C").arg(dir.join("cxxprog")));
    assert!(
        symbols.contains("std::__1::"),
        "no libc++ symbols in the image"
    );
    for gnu in ["__gnu_cxx", "GLIBCXX", "__libc_single_threaded"] {
        assert!(!symbols.contains(gnu), "GNU libstdc++'s {gnu} in the image");
    }
    let native = run_host(&dir.join("cxxprog"), &[], &[]);
    native.assert_status(0);
    assert_eq!(native.stdout, "20\n", "{}", native.describe());
    let out = run_image(&dir.join("cxxprog"), &[], &[]);
    out.assert_status(0);
    assert_eq!(out.app(), "20\n", "{}", out.describe());
}
