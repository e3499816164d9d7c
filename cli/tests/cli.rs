//! The `kiln` command end to end: the binary's errors and exit codes, `run` on the probe
//! image under TCG, `link --host` on a C program run natively.

use kiln_cli::{image, run_image, Accel, RunOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("kiln runs")
}

fn kiln_in(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .env("KILN_ROOT", root)
        .args(args)
        .output()
        .expect("kiln runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch directory of this test binary's own, removed at drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kiln-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tcg() -> RunOptions {
    RunOptions {
        accel: Accel::Tcg,
        timeout: Some(Duration::from_secs(60)),
        ..RunOptions::default()
    }
}

#[test]
fn probe_image_runs_under_tcg_and_its_status_is_decoded() {
    let dir = Scratch::new("probe");
    let path = dir.0.join("probe");
    std::fs::write(&path, image::probe_image()).unwrap();
    let out = run_image(&path, &tcg()).unwrap();
    assert_eq!(
        (out.status, out.timed_out),
        (0x21, false),
        "stderr: {}",
        out.stderr
    );

    // The same through the binary: the exit code is the guest's status.
    let out = kiln(&[
        "run",
        path.to_str().unwrap(),
        "--accel",
        "tcg",
        "--timeout",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(0x21), "stderr: {}", stderr(&out));
}

#[test]
fn timeout_kills_a_hanging_guest() {
    let dir = Scratch::new("hang");
    let path = dir.0.join("hang");
    let mut hang = image::probe_image();
    // Replace `out %eax,$0xf4` with `jmp .`: the guest never exits.
    let at = hang.windows(2).position(|w| w == [0xe7, 0xf4]).unwrap();
    hang[at..at + 2].copy_from_slice(&[0xeb, 0xfe]);
    std::fs::write(&path, hang).unwrap();
    let started = Instant::now();
    let out = kiln(&[
        "run",
        path.to_str().unwrap(),
        "--accel",
        "tcg",
        "--timeout",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(124));
    assert!(
        stderr(&out).contains("timed out after 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn run_refuses_what_is_not_an_image() {
    let dir = Scratch::new("notimage");
    let text = dir.0.join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let cases = [
        (dir.0.join("absent"), "does not exist"),
        (text, "is neither a Kiln image nor a disk or ISO image"),
        (
            PathBuf::from(env!("CARGO_BIN_EXE_kiln")),
            "not a Kiln image",
        ),
    ];
    for (path, says) in cases {
        let out = kiln(&["run", path.to_str().unwrap(), "--accel", "tcg"]);
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let err = stderr(&out);
        assert!(err.contains(says) && err.lines().count() == 1, "{err}");
    }
}

#[test]
fn build_wants_a_cmake_project() {
    let dir = Scratch::new("nocmake");
    let out = kiln(&["build", dir.0.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no CMakeLists.txt"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);
}

#[test]
fn link_without_archives_says_to_run_kiln_runtime() {
    let fake_root = Scratch::new("fakeroot");
    let out = kiln_in(&fake_root.0, &["link", "-o", "x", "main.o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("run `kiln runtime` first"),
        "{}",
        stderr(&out)
    );
    let out = kiln_in(&fake_root.0, &["link", "main.o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs -o OUT"), "{}", stderr(&out));
}

#[test]
fn config_prints_the_flags() {
    let out = kiln(&["config", "--cflags"]);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(line.lines().count(), 1);
    assert!(line.starts_with(
        "--target=x86_64-linux-musl -nostdinc -isystem /usr/include/x86_64-linux-musl"
    ));
    let out = kiln(&["config", "--root"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        kiln_cli::root().display().to_string()
    );
}

/// Compiles `source` with the C flags `kiln config --cflags` prints.
fn compile_c(source: &Path, object: &Path) {
    let flags = kiln_cli::toolchain::cflags().unwrap();
    let clang = kiln_cli::toolchain::clang().unwrap();
    let status = Command::new(clang)
        .args(&flags)
        .arg("-O2")
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(object)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn host_link_makes_a_static_linux_program() {
    kiln_cli::ensure_shim().unwrap();
    let dir = Scratch::new("host");
    let source = dir.0.join("hello.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include <stdlib.h>\nint main(int argc, char **argv) {\n\
         printf(\"hello %s %d\\n\", argv[1], argc);\n return 3; }\n",
    )
    .unwrap();
    let object = dir.0.join("hello.o");
    compile_c(&source, &object);
    let exe = dir.0.join("hello");
    let out = kiln(&[
        "link",
        "--host",
        object.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ran = Command::new(&exe).arg("world").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "hello world 2\n");
    assert_eq!(ran.status.code(), Some(3));
    assert!(!image::is_image(&exe), "a host program carries no PVH note");
}
