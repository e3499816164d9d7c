//! Unmodified third-party C code — SQLite and Lua from registry packages that vendor them —
//! built with Kiln's flags and run through our drivers (`tests/thirdparty/`). For now on the
//! host (a static musl executable from `kiln link --host`): the VM runs compare against
//! these outputs once the file syscalls are attached.

use kiln_tests::thirdparty::{build, dir, Program, Target};
use kiln_tests::{run_host, scratch_dir};

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
