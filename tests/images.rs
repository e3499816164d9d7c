//! Disk and ISO images (`kiln image`): GRUB loads the Kiln image by multiboot2 from a raw or
//! qcow2 disk under SeaBIOS (no `-kernel`), from an ISO in Bochs, and from both under OVMF
//! (UEFI); the command line baked into grub.cfg reaches `main`, and the exit status comes
//! back. Also the microvm / Firecracker contract: the status is printed on the console where
//! no exit port exists.
//!
//! Nothing skips: a missing tool fails the test with a message that says to run
//! `./kiln doctor --install`.

use kiln_tests::{
    image, kiln, root, run_kiln, run_with_deadline, strip_kiln_lines, work_dir, Output,
    GUEST_TIMEOUT_SECS,
};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// What examples-c/hello prints with `-- first "two words"` baked into its grub.cfg.
const HELLO_WITH_ARGS: &str =
    "Hello from Kiln!\nargv[0] = hello\nargv[1] = first\nargv[2] = two words\npi is about 3.14159\n";
/// The arguments baked into the hello disks.
const HELLO_ARGS: [&str; 2] = ["first", "two words"];

fn dir() -> PathBuf {
    let dir = work_dir().join("images");
    std::fs::create_dir_all(&dir).expect("create target/kiln-tests/images");
    dir
}

fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()));
    assert!(
        found,
        "{tool} not found on PATH: run `./kiln doctor --install` to install what Kiln needs"
    );
}

fn require_file(path: &str) {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: run `./kiln doctor --install` to install what Kiln needs"
    );
}

/// examples-c/hello built into `target/kiln-tests/images/hello-build` (once per process).
fn hello() -> &'static Path {
    static IMAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = IMAGE.get_or_init(|| {
        let build = dir().join("hello-build");
        let out = run_kiln([
            "build".as_ref(),
            root().join("examples-c/hello").as_os_str(),
            "-B".as_ref(),
            build.as_os_str(),
        ]);
        if out.status != 0 {
            return Err(format!(
                "building examples-c/hello failed\n{}",
                out.describe()
            ));
        }
        Ok(build.join("hello"))
    });
    match built {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

/// `./kiln image IMAGE --format FORMAT -o OUT [extra...]`; panics unless it prints OUT.
fn package(image: &Path, format: &str, name: &str, extra: &[&str]) -> PathBuf {
    let out_path = dir().join(name);
    let out = run_kiln(
        [
            "image".as_ref(),
            image.as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ]
        .into_iter()
        .chain(extra.iter().map(|s| s.as_ref())),
    );
    out.assert_status(0);
    assert_eq!(
        out.stdout.trim(),
        out_path.display().to_string(),
        "{}",
        out.describe()
    );
    assert!(out_path.is_file(), "{} was not written", out_path.display());
    out_path
}

/// The hello example packaged as `format` with [`HELLO_ARGS`] baked in (once per format).
fn hello_as(format: &str) -> PathBuf {
    static MADE: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, path)) = made.iter().find(|(f, _)| f == format) {
        return path.clone();
    }
    let mut extra = vec!["--"];
    extra.extend(HELLO_ARGS);
    let path = package(hello(), format, &format!("hello.{format}"), &extra);
    made.push((format.to_owned(), path.clone()));
    path
}

/// `./kiln run MEDIA --timeout 120 [extra...]`.
fn boot(media: &Path, extra: &[&str]) -> Output {
    let mut cmd = kiln();
    cmd.arg("run")
        .arg(media)
        .args(["--timeout", &GUEST_TIMEOUT_SECS.to_string()])
        .args(extra);
    run_with_deadline(&mut cmd, Duration::from_secs(GUEST_TIMEOUT_SECS + 60))
}

/// Console text with terminal escape sequences removed (firmware such as OVMF draws with
/// them before GRUB starts).
fn without_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next_if_eq(&'[').is_some() {
                while chars.next_if(|c| !c.is_ascii_alphabetic()).is_some() {}
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Asserts that the console's last lines are the hello program's output and its exit line.
fn assert_hello_at_the_end(out: &Output) {
    let console = without_escapes(&out.stdout);
    let app = strip_kiln_lines(&console);
    assert!(
        app.ends_with(HELLO_WITH_ARGS),
        "the console does not end with hello's output\n{}",
        out.describe()
    );
    assert!(
        out.kiln_lines().iter().any(|l| l == "kiln: exit status 0"),
        "no `kiln: exit status 0` line\n{}",
        out.describe()
    );
}

#[test]
fn raw_disk_boots_under_seabios_without_kernel() {
    require_file("/usr/lib/grub/i386-pc/boot.img");
    let disk = hello_as("raw");
    let bytes = std::fs::read(&disk).expect("read the disk");
    assert_eq!(&bytes[510..512], &[0x55, 0xaa], "no MBR boot signature");
    assert_eq!(
        bytes[0x1c2], 0xef,
        "partition 1 is not an EFI System partition"
    );
    let out = boot(&disk, &[]);
    out.assert_status(0);
    // SeaBIOS and GRUB leave COM1 alone: the console is exactly the program's.
    assert_eq!(out.app(), HELLO_WITH_ARGS, "{}", out.describe());
    assert_hello_at_the_end(&out);
}

#[test]
fn qcow2_disk_boots_under_seabios_and_returns_the_exit_status() {
    require("qemu-img");
    let disk = hello_as("qcow2");
    let info = run_with_deadline(
        Command::new("qemu-img").arg("info").arg(&disk),
        Duration::from_secs(30),
    );
    assert!(
        info.stdout.contains("file format: qcow2"),
        "{} is not qcow2\n{}",
        disk.display(),
        info.describe()
    );
    let out = boot(&disk, &["--machine", "q35"]);
    out.assert_status(0);
    assert_eq!(out.app(), HELLO_WITH_ARGS, "{}", out.describe());

    // A non-zero status crosses GRUB's boot path too.
    let exit3 = package(&image("exit3"), "qcow2", "exit3.qcow2", &[]);
    let out = boot(&exit3, &[]);
    out.assert_status(3);
    assert_eq!(out.app(), "returning 3\n", "{}", out.describe());
}

#[test]
fn the_command_line_baked_into_grub_cfg_reaches_main() {
    let iso = package(
        &image("args_env"),
        "iso",
        "args_env.iso",
        &[
            "--append",
            "GREETING=\"hello world\" kiln.quiet",
            "--",
            "one",
            "two words",
            "A=b",
            "x$y",
        ],
    );
    let out = boot(&iso, &[]);
    out.assert_status(0);
    let app = out.app();
    for line in [
        "argc=5",
        "argv[0]=[args_env]",
        "argv[1]=[one]",
        "argv[2]=[two words]",
        "argv[3]=[A=b]",
        "argv[4]=[x$y]",
        "env=[GREETING=hello world]",
    ] {
        assert!(
            app.lines().any(|l| l == line),
            "no line {line:?}\n{}",
            out.describe()
        );
    }
}

#[test]
fn disk_and_iso_boot_under_uefi() {
    require_file("/usr/share/ovmf/OVMF.fd");
    for format in ["raw", "iso"] {
        let out = boot(&hello_as(format), &["--firmware", "uefi"]);
        out.assert_status(0);
        assert_hello_at_the_end(&out);
    }
}

#[test]
fn iso_boots_under_seabios() {
    let out = boot(&hello_as("iso"), &[]);
    out.assert_status(0);
    assert_eq!(out.app(), HELLO_WITH_ARGS, "{}", out.describe());
}

#[test]
fn iso_boots_in_bochs() {
    require("bochs");
    for file in [
        "/usr/share/bochs/BIOS-bochs-latest",
        "/usr/share/vgabios/vgabios.bin",
        "/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_sdl2_gui.so",
    ] {
        require_file(file);
    }
    let iso = hello_as("iso");
    let work = dir().join("bochs");
    if work.exists() {
        std::fs::remove_dir_all(&work).expect("clear the Bochs directory");
    }
    std::fs::create_dir_all(&work).expect("create the Bochs directory");
    let serial = work.join("serial.txt");
    // Debian's Bochs has no `nogui` display: SDL2 with SDL's dummy video driver shows nothing.
    // Its debugger is built in and stops before the first instruction: `-rc` continues.
    let bochsrc = format!(
        "megs: 256\n\
         cpu: model=corei7_skylake_x, ips=200000000\n\
         romimage: file=/usr/share/bochs/BIOS-bochs-latest\n\
         vgaromimage: file=/usr/share/vgabios/vgabios.bin\n\
         display_library: sdl2\n\
         ata0-master: type=cdrom, path={}, status=inserted\n\
         boot: cdrom\n\
         com1: enabled=1, mode=file, dev={}\n\
         speaker: enabled=0\n\
         sound: driver=dummy\n\
         clock: sync=none\n\
         log: {}\n\
         panic: action=fatal\n\
         error: action=report\n",
        iso.display(),
        serial.display(),
        work.join("bochs.log").display()
    );
    std::fs::write(work.join("bochsrc"), bochsrc).expect("write bochsrc");
    std::fs::write(work.join("debugger.rc"), "continue\nquit\n").expect("write debugger.rc");
    let run = run_with_deadline(
        Command::new("bochs")
            .current_dir(&work)
            .env("SDL_VIDEODRIVER", "dummy")
            .args(["-q", "-f", "bochsrc", "-rc", "debugger.rc"]),
        Duration::from_secs(GUEST_TIMEOUT_SECS),
    );
    let console = std::fs::read_to_string(&serial).unwrap_or_default();
    let console = without_escapes(&console);
    let context = format!(
        "--- serial ---\n{console}\n--- bochs (last lines) ---\n{}",
        run.all()
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        !run.timed_out,
        "Bochs ran past {GUEST_TIMEOUT_SECS} s\n{context}"
    );
    assert!(
        strip_kiln_lines(&console).ends_with(HELLO_WITH_ARGS),
        "Bochs's serial port does not end with hello's output\n{context}"
    );
    assert!(
        console
            .lines()
            .any(|l| l.trim_end() == "kiln: exit status 0"),
        "no `kiln: exit status 0` line on Bochs's serial port\n{context}"
    );
    // Without an exit port the runtime powers off through ACPI, which ends Bochs.
    assert!(
        run.all().contains("ACPI control: soft power off"),
        "Bochs did not end by ACPI power-off\n{context}"
    );
}

#[test]
fn image_refuses_words_grub_would_alter_in_one_line() {
    let out = run_kiln([
        "image".as_ref(),
        hello().as_os_str(),
        "--format".as_ref(),
        "iso".as_ref(),
        "-o".as_ref(),
        dir().join("refused.iso").as_os_str(),
        "--".as_ref(),
        "it's".as_ref(),
    ]);
    assert_eq!(out.status, 2, "{}", out.describe());
    assert!(
        out.stderr.contains("cannot carry") && out.stderr.trim().lines().count() == 1,
        "{}",
        out.describe()
    );
}

#[test]
fn run_refuses_a_command_line_or_microvm_for_a_disk() {
    let disk = hello_as("raw");
    for (extra, says) in [
        (&["--append", "A=1"][..], "carries its command line"),
        (&["--", "x"][..], "carries its command line"),
        (&["--machine", "microvm"][..], "no firmware"),
    ] {
        let out = boot(&disk, extra);
        assert_eq!(out.status, 2, "{extra:?}\n{}", out.describe());
        assert!(out.stderr.contains(says), "{extra:?}\n{}", out.describe());
    }
}

/// Boots `image` with plain QEMU on `machine` (no isa-debug-exit) and reads the console until
/// `kiln: exit status N` or the deadline; returns the lines and whether QEMU ended by itself
/// within a few seconds of that line.
fn boot_without_exit_port(machine: &str, image: &Path) -> (Vec<String>, bool) {
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-M", machine, "-accel", "tcg", "-cpu", "max", "-m", "256M"])
        .args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-serial", "stdio", "-no-reboot", "-kernel"])
        .arg(image)
        .args(["-append", "kiln.argv0=exit3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 not found: run `./kiln doctor --install`");
    let stdout = qemu.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim_end_matches('\r').to_owned()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(GUEST_TIMEOUT_SECS);
    let mut lines = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.starts_with("kiln: exit status");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let grace = Instant::now() + Duration::from_secs(5);
    let mut ended = false;
    while Instant::now() < grace {
        if let Ok(Some(_)) = qemu.try_wait() {
            ended = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = qemu.kill();
    let _ = qemu.wait();
    (lines, ended)
}

#[test]
fn microvm_prints_the_exit_status_and_powers_off_through_acpi() {
    let (lines, ended) = boot_without_exit_port("microvm", &image("exit3"));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("kiln: exit status 3"),
        "{lines:#?}"
    );
    assert!(ended, "QEMU microvm did not power off after the exit line");
}

#[test]
fn firecracker_style_microvm_without_acpi_still_prints_the_exit_status() {
    // Firecracker has no exit port; the console line is how the status leaves the VM.
    let (lines, _) = boot_without_exit_port("microvm,acpi=off", &image("exit3"));
    assert!(lines.iter().any(|l| l == "returning 3"), "{lines:#?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("kiln: exit status 3"),
        "{lines:#?}"
    );
}

#[test]
fn a_fault_under_grub_reports_symbols_and_exits_139() {
    // GRUB loads every PT_LOAD segment, the symbol table's included: the fault report of a
    // disk-booted image names the function just as under -kernel.
    let iso = package(&image("null_read"), "iso", "null_read.iso", &[]);
    let out = boot(&iso, &[]);
    out.assert_status(139);
    assert!(
        out.all().contains("kiln_test_null_read"),
        "the fault report does not name kiln_test_null_read\n{}",
        out.describe()
    );
}

#[test]
fn a_disk_whose_image_is_gone_says_so_on_the_console_and_ends() {
    require("mdel");
    let disk = package(hello(), "raw", "broken.img", &[]);
    let mut part = disk.as_os_str().to_owned();
    part.push("@@1M");
    let del = run_with_deadline(
        Command::new("mdel")
            .env("MTOOLS_SKIP_CHECK", "1")
            .arg("-i")
            .arg(&part)
            .arg("::/boot/kiln"),
        Duration::from_secs(30),
    );
    assert_eq!(del.status, 0, "{}", del.describe());
    let out = boot(&disk, &[]);
    assert!(!out.timed_out, "GRUB did not power off\n{}", out.describe());
    assert_eq!(out.status, 1, "{}", out.describe());
    let console = without_escapes(&out.stdout);
    assert!(
        console.contains("error: file `/boot/kiln' not found")
            && console.contains("kiln: GRUB could not load /boot/kiln"),
        "{}",
        out.describe()
    );
}
