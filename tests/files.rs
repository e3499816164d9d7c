//! Files reach the VM: `kiln_add_files` links a directory into the image and
//! `kiln run --files DIR` passes another as the initrd; the runtime unpacks both (the initrd
//! last, so it wins) into its file system, which `kiln.files` lists on the console.

use kiln_tests::{kiln, root, run_image, run_kiln, runtime_dir, try_run_ok, work_dir};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

fn project() -> PathBuf {
    root().join("tests").join("files")
}

/// The image of tests/files, built once.
fn probe_image() -> PathBuf {
    static IMAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = IMAGE.get_or_init(|| {
        runtime_dir();
        let build = work_dir().join("files");
        try_run_ok(kiln().arg("build").arg(project()).arg("-B").arg(&build))?;
        Ok(build.join("files_probe"))
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// The `kiln: files: MODE SIZE PATH` lines of a `kiln.files` boot, as (mode, size, path).
fn listing(text: &str) -> Vec<(u32, u64, String)> {
    text.lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("kiln: files: "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let mode = u32::from_str_radix(words.next()?, 8).ok()?;
            let size = words.next()?.parse().ok()?;
            Some((mode, size, words.next()?.to_owned()))
        })
        .collect()
}

fn find<'a>(list: &'a [(u32, u64, String)], path: &str) -> &'a (u32, u64, String) {
    list.iter()
        .find(|e| e.2 == path)
        .unwrap_or_else(|| panic!("{path} is not in the VM's file listing: {list:#?}"))
}

fn host_mode(rel: &str) -> u32 {
    std::fs::metadata(project().join(rel))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn image_files_and_initrd_files_reach_the_vm() {
    let image = probe_image();
    let mut cmd = kiln();
    cmd.arg("run")
        .arg(&image)
        .arg("--files")
        .arg(project().join("initrd-files"))
        .args(["--append", "kiln.files", "--timeout", "120"]);
    let out = kiln_tests::run_with_deadline(&mut cmd, std::time::Duration::from_secs(180));
    out.assert_status(0);
    assert_eq!(out.app(), "files probe ran\n", "{}", out.describe());
    let all = out.all();
    let list = listing(&all);
    assert!(
        all.contains("kiln: files: the image archive: 4 files, 3 directories, 1 links"),
        "{}",
        out.describe()
    );
    assert!(all.contains("kiln: files: the initrd archive: 2 files, 2 directories, 0 links"));
    let motd = find(&list, "/data/motd");
    assert_eq!(
        (motd.0, motd.1),
        (0o100000 | host_mode("image-files/data/motd"), 15)
    );
    let tool = find(&list, "/bin/tool");
    assert_eq!(tool.0, 0o100755);
    assert_eq!(find(&list, "/motd-link").0 & 0o170000, 0o120000);
    assert_eq!(find(&list, "/etc/app.conf").1, 12);
    // A path in both: the initrd's version.
    assert_eq!(find(&list, "/data/both.txt").1, 27);
    assert_eq!(find(&list, "/extra/x").1, 2);
    // The standard tree is there too.
    assert_eq!(find(&list, "/dev/null").0, 0o020666);
    assert_eq!(find(&list, "/tmp").0, 0o041777);
    assert_eq!(find(&list, "/etc/resolv.conf").0, 0o100644);
}

#[test]
fn without_kiln_files_the_boot_is_silent_about_files() {
    let out = run_image(&probe_image(), &[], &[]);
    out.assert_status(0);
    assert!(
        !out.all().contains("kiln: files:"),
        "a boot with good archives prints nothing about them\n{}",
        out.describe()
    );
}

#[test]
fn a_malformed_initrd_is_reported_and_the_program_still_runs() {
    let bad = work_dir().join("tmp").join("bad.cpio");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    let mut bytes = b"070701".to_vec();
    bytes.resize(200, b'z');
    std::fs::write(&bad, bytes).unwrap();
    let out = run_kiln([
        "run".as_ref(),
        probe_image().as_os_str(),
        "--files".as_ref(),
        bad.as_os_str(),
        "--timeout".as_ref(),
        "120".as_ref(),
    ]);
    out.assert_status(0);
    assert!(
        out.all()
            .contains("kiln: files: the initrd archive is malformed (bad header field in the member at byte 0)"),
        "{}",
        out.describe()
    );
}

#[test]
fn kiln_pack_refuses_what_is_not_a_directory() {
    let out = run_kiln(["pack", "/nonexistent/kiln-dir", "-o", "/tmp/x.cpio"]);
    assert_eq!(out.status, 1, "{}", out.describe());
    assert!(
        out.stderr.contains("cannot read /nonexistent/kiln-dir"),
        "{}",
        out.describe()
    );
    let out = run_kiln(["run", "/bin/true", "--files", "/nonexistent/kiln-dir"]);
    assert_ne!(out.status, 0);
}

#[test]
fn file_syscalls_behave_as_on_linux() {
    same_in_a_scratch_dir("files", "rmdir work");
}

/// mmap of files (private and shared views, coherence both ways, truncation and unlinking
/// under a view, /dev/zero, msync, the errors), and statx.
#[test]
fn file_mappings_and_statx_behave_as_on_linux() {
    same_in_a_scratch_dir("mmap_files", "done");
}

/// preadv/pwritev and their *2 forms, fallocate's modes, renameat2's flags, record and OFD
/// locks, flock and posix_fadvise.
#[test]
fn the_rest_of_the_file_calls_behave_as_on_linux() {
    same_in_a_scratch_dir("posix_rest", "done");
}

/// Touching a page of a file view wholly past the end of the file ends the program with
/// SIGBUS, on Linux and in the VM (whose fault report says why), for shared and private views.
#[test]
fn touching_a_view_past_the_end_of_its_file_is_sigbus() {
    for kind in ["shared", "private"] {
        let (_, guest) = same_in_a_scratch_dir_with("mmap_bus", "touching", &[kind]);
        assert_eq!(guest.status, 135, "{}", guest.describe());
        assert!(
            guest
                .all()
                .contains("kiln:   past the end of the mapped file: SIGBUS"),
            "{}",
            guest.describe()
        );
    }
}

/// Filling tmpfs: writes, creations and mkdir fail with ENOSPC (a short count first) (never a panic), a private
/// view still works, and space freed by punching a hole or unlinking can be used again.
#[test]
fn a_full_tmpfs_gives_enospc_and_recovers() {
    let out = run_image(&kiln_tests::image("tmpfs_full"), &[], &[]);
    out.assert_status(0);
    let app = out.app();
    for line in [
        "filling: ENOSPC after more than 1 MiB: 1\n",
        "pwrite into a hole: -1 ENOSPC\n",
        "ftruncate far beyond (a hole costs nothing): 0 ok\n",
        "writing a small file: -1 ENOSPC\n",
        "creating empty files: ENOSPC\n",
        "mkdir when full: -1 ENOSPC\n",
        "private view when full: mapped, reads the file: x, writable: p\n",
        "punch 2 MiB: 0 ok\n",
        "write 1 MiB after the punch: 1048576 ok\n",
        "filling again: ENOSPC after more than 1 MiB: 1\n",
        "the same room again: 1\n",
        "malloc still works: 1\n",
    ] {
        assert!(app.contains(line), "missing {line:?}\n{}", out.describe());
    }
    assert!(!out.all().contains("panic"), "{}", out.describe());
}

/// A shared view of a hole that tmpfs has no memory for ends the program with SIGBUS.
#[test]
fn a_shared_view_without_memory_for_its_page_is_sigbus() {
    let out = run_image(&kiln_tests::image("tmpfs_full"), &[], &["map"]);
    assert_eq!(out.status, 135, "{}", out.describe());
    assert!(
        out.app().contains("view of a hole: mapped\ntouching it\n"),
        "{}",
        out.describe()
    );
    assert!(
        out.all()
            .contains("kiln:   no memory for the mapped file's page: SIGBUS"),
        "{}",
        out.describe()
    );
}

/// Runs test program `name` on the host in a fresh scratch directory and in the VM in `/tmp`
/// (the directory is its argument) and compares what they print; the host's output must
/// contain `marker`, so a host run that stopped early cannot pass.
fn same_in_a_scratch_dir(name: &str, marker: &str) {
    same_in_a_scratch_dir_with(name, marker, &[]);
}

/// As [`same_in_a_scratch_dir`], with more arguments after the directory; returns the host's
/// and the guest's runs.
fn same_in_a_scratch_dir_with(
    name: &str,
    marker: &str,
    args: &[&str],
) -> (kiln_tests::Output, kiln_tests::Output) {
    let exe = kiln_tests::host_binary(name);
    let image = kiln_tests::image(name);
    let scratch = kiln_tests::scratch_dir(&format!("{name}-diff"));
    let host_args: Vec<&str> = [scratch.to_str().unwrap()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let guest_args: Vec<&str> = ["/tmp"].into_iter().chain(args.iter().copied()).collect();
    let host = kiln_tests::run_host(&exe, &[], &host_args);
    let guest = run_image(&image, &[], &guest_args);
    let host_out = kiln_tests::strip_kiln_lines(&host.stdout);
    assert!(host_out.contains(marker), "{}", host.describe());
    let guest_out = guest.app();
    if host_out != guest_out {
        let first = host_out
            .lines()
            .zip(guest_out.lines())
            .position(|(h, g)| h != g)
            .unwrap_or(0);
        panic!(
            "the guest differs from the host at line {}:\n  host:  {:?}\n  guest: {:?}\n--- host ---\n{host_out}{}",
            first + 1,
            host_out.lines().nth(first),
            guest_out.lines().nth(first),
            guest.describe()
        );
    }
    assert_eq!(guest.status, host.status, "{}", guest.describe());
    (host, guest)
}
