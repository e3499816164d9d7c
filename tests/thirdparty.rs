//! Unmodified third-party C code — SQLite and Lua from registry packages that vendor them —
//! built with Kiln's flags and run through our drivers (`tests/thirdparty/`): on the host (a
//! static musl executable from `kiln link --host`), checked against known results, and in
//! the VM (the scripts arrive with `--files`, the database and scratch files live on tmpfs),
//! where the output must equal the host's.

use kiln_tests::thirdparty::{build, dir, Program, Target};
use kiln_tests::{kiln, run_host, run_with_deadline, scratch_dir, strip_kiln_lines, Output};
use std::path::Path;
use std::time::Duration;

/// Boots `image` with the files of `files_dir` and `args`, with 1 GiB of memory (the
/// runtime gives tmpfs half of its heap, which grows with the VM's memory).
fn run_in_vm(image: &Path, files_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = kiln();
    cmd.arg("run")
        .arg(image)
        .args(["-m", "1G", "--timeout", "300", "--files"])
        .arg(files_dir)
        .arg("--")
        .args(args);
    run_with_deadline(&mut cmd, Duration::from_secs(400))
}

fn assert_same(name: &str, host: &Output, guest: &Output) {
    let host_out = strip_kiln_lines(&host.stdout);
    let guest_out = guest.app();
    if host_out != guest_out {
        let first = host_out
            .lines()
            .zip(guest_out.lines())
            .position(|(h, g)| h != g)
            .unwrap_or_else(|| host_out.lines().count().min(guest_out.lines().count()));
        panic!(
            "{name}: the VM's output differs from the host's at line {}:\n  host:  {:?}\n  guest: {:?}\n{}",
            first + 1,
            host_out.lines().nth(first),
            guest_out.lines().nth(first),
            guest.describe()
        );
    }
    assert_eq!(
        guest.status,
        host.status,
        "{name}: exit status\n{}",
        guest.describe()
    );
}

#[test]
fn sqlite_gives_the_same_output_in_the_vm() {
    let host_exe = build(Program::Sqlite, Target::Host);
    let image = build(Program::Sqlite, Target::Image);
    let scratch = scratch_dir("sqlite-vm");
    let sql = dir().join("sql");
    let script = sql.join("workload.sql");
    let db = scratch.join("test.db");
    let host = run_host(
        &host_exe,
        &[],
        &[db.to_str().unwrap(), script.to_str().unwrap()],
    );
    let guest = run_in_vm(&image, &sql, &["/tmp/test.db", "/workload.sql"]);
    assert!(
        host.stdout.contains("100000|12487500.0"),
        "{}",
        host.describe()
    );
    assert_same("sqlite", &host, &guest);
}

/// SQLite with `PRAGMA mmap_size`: it reads its database through a shared view of the file
/// (mmap of files) and writes it with pwrite, which the view must see at once.
#[test]
fn sqlite_through_mmap_gives_the_same_output_in_the_vm() {
    let host_exe = build(Program::Sqlite, Target::Host);
    let image = build(Program::Sqlite, Target::Image);
    let scratch = scratch_dir("sqlite-mmap-vm");
    let sql = dir().join("sql");
    let script = sql.join("mmap.sql");
    let db = scratch.join("mmap.db");
    let host = run_host(
        &host_exe,
        &[],
        &[db.to_str().unwrap(), script.to_str().unwrap()],
    );
    let guest = run_in_vm(&image, &sql, &["/tmp/mmap.db", "/mmap.sql"]);
    assert!(
        host.stdout.contains("268435456") && host.stdout.contains("ok\ndone"),
        "{}",
        host.describe()
    );
    assert_same("sqlite (mmap)", &host, &guest);
}

#[test]
fn lua_gives_the_same_output_in_the_vm() {
    let host_exe = build(Program::Lua, Target::Host);
    let image = build(Program::Lua, Target::Image);
    let scratch = scratch_dir("lua-vm");
    let lua = dir().join("lua");
    let script = lua.join("stdlib.lua");
    let host = run_host(
        &host_exe,
        &[],
        &[script.to_str().unwrap(), scratch.to_str().unwrap()],
    );
    let guest = run_in_vm(&image, &lua, &["/stdlib.lua", "/tmp"]);
    assert!(host.stdout.contains("done"), "{}", host.describe());
    assert_same("lua", &host, &guest);
}

#[test]
fn sqlite_runs_the_workload_on_the_host() {
    let exe = build(Program::Sqlite, Target::Host);
    let scratch = scratch_dir("sqlite-host");
    let db = scratch.join("test.db");
    let script = dir().join("sql").join("workload.sql");
    let out = run_host(&exe, &[], &[db.to_str().unwrap(), script.to_str().unwrap()]);
    // The two statements at the end fail on purpose.
    out.assert_status(2);
    let text = out.stdout.as_str();
    let expect = [
        "100000|12487500.0|order-000001|order-100000",
        // Per customer: 20000 orders each; customer k gets i ≡ k-1 (mod 5).
        "ada|20000|",
        "edsger|20000|",
        // Inside the rolled-back transaction, then after it.
        "80000|Nowhere",
        "100000|London",
        // Reopened: the data survived closing.
        "100000|12487500.0",
        "ok",
        "changed",
        "error: UNIQUE constraint failed: customers.id",
        "error: no such table: missing_table",
        "done",
    ];
    let mut at = 0;
    for line in expect {
        match text[at..].find(line) {
            Some(i) => at += i + line.len(),
            None => panic!(
                "the SQLite output lacks {line:?} (in order)\n{}",
                out.describe()
            ),
        }
    }
    assert!(db.is_file(), "the database file was not kept");
}

#[test]
fn the_images_link() {
    for program in [Program::Sqlite, Program::Lua] {
        let image = build(program, Target::Image);
        assert!(
            image.is_file(),
            "{program:?}: no image at {}",
            image.display()
        );
    }
}

#[test]
fn lua_runs_the_stdlib_script_on_the_host() {
    let exe = build(Program::Lua, Target::Host);
    let scratch = scratch_dir("lua-host");
    let script = dir().join("lua").join("stdlib.lua");
    let out = run_host(
        &exe,
        &[],
        &[script.to_str().unwrap(), scratch.to_str().unwrap()],
    );
    out.assert_status(0);
    let text = out.stdout.as_str();
    for line in [
        "1 3 5 7 9",
        "9 7 5 3 1",
        "1000\t17993",
        "line 0001 x\tline\t2",
        "19002\tappended",
        "line ABCD x",
        "2",
        "true\ttrue\ttrue",
        "1709208000",
        "1971-01-01 00:00:00",
        "done",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "the Lua output lacks the line {line:?}\n{}",
            out.describe()
        );
    }
    // An error in a script is reported with its place and fails the run.
    let bad = scratch.join("bad.lua");
    std::fs::write(&bad, "local x = nil\nprint(x.field)\n").unwrap();
    let out = run_host(&exe, &[], &[bad.to_str().unwrap()]);
    assert_eq!(out.status, 1, "{}", out.describe());
    assert!(
        out.stderr
            .contains("bad.lua:2: attempt to index a nil value"),
        "{}",
        out.describe()
    );
}
