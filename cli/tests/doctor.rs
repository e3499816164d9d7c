//! `kiln doctor` and the package check of `kiln build`, against stand-in `dpkg-query` and
//! `rustup` scripts that report some packages and the Rust target as missing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A directory with fake `dpkg-query` (only clang and cmake installed) and `rustup` (no
/// targets), put first on PATH.
struct FakeHost(PathBuf);

impl FakeHost {
    fn new(name: &str) -> FakeHost {
        let dir = std::env::temp_dir().join(format!("kiln-doctor-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        script(
            &dir.join("dpkg-query"),
            "printf 'clang\\tii \\ncmake\\tii \\nlld\\trc \\n'\nexit 1\n",
        );
        script(&dir.join("rustup"), "echo x86_64-unknown-linux-gnu\n");
        FakeHost(dir)
    }

    fn kiln(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.0.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .env("PATH", path)
            .env_remove("CI")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn doctor_lists_what_is_missing_and_the_commands() {
    let host = FakeHost::new("list");
    let out = host.kiln(&["doctor"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("     ok  clang "), "{text}");
    assert!(text.contains("missing  lld "), "{text}");
    assert!(text.contains("apt-get install -y lld libc++-dev"), "{text}");
    assert!(!text.contains("install -y clang"), "{text}");
    assert!(
        text.contains("rustup target add x86_64-unknown-none"),
        "{text}"
    );
}

#[test]
fn install_without_a_terminal_or_consent_does_nothing() {
    let host = FakeHost::new("noconsent");
    let out = host.kiln(&["doctor", "--install"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rerun with --yes"));
}

#[test]
fn build_points_at_doctor_when_packages_are_missing() {
    let host = FakeHost::new("build");
    std::fs::write(host.0.join("CMakeLists.txt"), "project(x C)\n").unwrap();
    let out = host.kiln(&["build", host.0.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing Debian packages: lld") && err.contains("kiln doctor --install"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
