//! The image format and the CLI's contract: multiboot2 and PVH boots, one-line errors for
//! things that are not images, the `OS_start` link error, and the runtime archive's exports.

use kiln_tests::{compile, image, root, run_kiln, runtime_dir, scratch_dir, Output};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn grub_accepts_the_image_as_multiboot2() {
    let img = image("hello");
    let status = Command::new("grub-file")
        .arg("--is-x86-multiboot2")
        .arg(&img)
        .status()
        .expect("grub-file not found: run `./kiln doctor --install`");
    assert!(
        status.success(),
        "grub-file rejects {} as multiboot2",
        img.display()
    );
}

#[test]
fn boots_under_plain_qemu_microvm_via_pvh() {
    let img = image("hello");
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-M",
            "microvm",
            "-nodefaults",
            "-nographic",
            "-serial",
            "stdio",
            "-kernel",
        ])
        .arg(&img)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 not found: run `./kiln doctor --install`");
    let stdout = qemu.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Without isa-debug-exit the guest cannot end QEMU; read until its final line.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let mut finished = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let line = line.trim_end_matches('\r').to_owned();
                finished = line == "kiln: exit status 0";
                seen.push(line);
                if finished {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    // QEMU may already have stopped; either way reap it.
    let _ = qemu.kill();
    let _ = qemu.wait();
    let mut stderr = String::new();
    if let Some(mut err) = qemu.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut stderr);
    }
    let console = seen.join("\n");
    assert!(
        finished,
        "no `kiln: exit status 0` within 120 s\n{console}\n--- stderr ---\n{stderr}"
    );
    assert!(
        seen.iter().any(|l| l == "hello from a kiln test image"),
        "the program's line is missing\n{console}"
    );
}

/// `./kiln run PATH` must fail with status 2 and exactly one line of explanation.
fn rejects_with_one_line(path: &std::path::Path) -> Output {
    let out = run_kiln(["run".as_ref(), path.as_os_str()]);
    out.assert_status(2);
    let all = out.all();
    let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line for {}\n{}",
        path.display(),
        out.describe()
    );
    out
}

#[test]
fn run_rejects_a_missing_file() {
    let dir = scratch_dir("run-missing");
    rejects_with_one_line(&dir.join("no-such-image"));
}

#[test]
fn run_rejects_a_file_that_is_not_elf() {
    let dir = scratch_dir("run-not-elf");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "this is not an ELF file\n").expect("write scratch file");
    rejects_with_one_line(&path);
}

#[test]
fn run_rejects_a_directory_without_cmakelists() {
    let dir = scratch_dir("run-empty-dir");
    rejects_with_one_line(&dir);
}

#[test]
fn run_rejects_an_elf_that_is_not_a_kiln_image() {
    rejects_with_one_line(std::path::Path::new("/bin/true"));
}

#[test]
fn link_without_main_or_os_start_names_os_start() {
    let dir = scratch_dir("link-no-entry");
    let source = dir.join("helper.c");
    std::fs::write(&source, "int kiln_test_helper(int x) { return x + 1; }\n")
        .expect("write helper.c");
    let object = dir.join("helper.o");
    compile(&source, &object, &[]);
    let out = run_kiln([
        "link".as_ref(),
        "-o".as_ref(),
        dir.join("app").as_os_str(),
        object.as_os_str(),
    ]);
    assert_ne!(
        out.status,
        0,
        "linking without main or OS_start succeeded\n{}",
        out.describe()
    );
    assert!(
        out.all().contains("OS_start"),
        "the link error does not name OS_start\n{}",
        out.describe()
    );
    assert!(
        !dir.join("app").exists(),
        "a failed link left an image behind"
    );
}

#[test]
fn runtime_archive_exports_exactly_its_abi() {
    let archive = runtime_dir().join("libkiln_runtime.a");
    let out = Command::new("nm")
        .args(["--defined-only", "-g", "--format=posix"])
        .arg(&archive)
        .output()
        .expect("run nm");
    assert!(out.status.success(), "nm failed on {}", archive.display());
    // POSIX format: `name type value size`; archive member headers end with `]:`.
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| !line.ends_with(':'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let kind = words.next()?;
            (kind != "U").then(|| name.to_owned())
        })
        .collect();
    let abi_path = root().join("runtime").join("abi.txt");
    let abi_text = std::fs::read_to_string(&abi_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", abi_path.display()));
    let abi: BTreeSet<String> = abi_text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!abi.is_empty(), "{} lists no symbols", abi_path.display());
    let extra: Vec<_> = exported.difference(&abi).collect();
    let missing: Vec<_> = abi.difference(&exported).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{} exports symbols outside runtime/abi.txt: {extra:?}; abi.txt symbols not exported: \
         {missing:?}",
        archive.display()
    );
}
