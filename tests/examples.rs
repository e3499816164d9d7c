//! The shipped examples boot and print what they should; a program's return value and its
//! arguments cross the VM boundary.

use kiln_tests::{image, run_image, run_kiln, GUEST_TIMEOUT_SECS};

fn run_example(dir: &str) -> kiln_tests::Output {
    run_kiln(["run", dir, "--timeout", &GUEST_TIMEOUT_SECS.to_string()])
}

#[test]
fn c_hello_prints_its_greeting_and_exits_0() {
    let out = run_example("examples-c/hello");
    out.assert_status(0);
    assert_eq!(
        out.app(),
        "Hello from Kiln!\nargv[0] = hello\npi is about 3.14159\n",
        "{}",
        out.describe()
    );
    assert!(
        out.kiln_lines().iter().any(|l| l == "kiln: exit status 0"),
        "no final `kiln: exit status 0` line\n{}",
        out.describe()
    );
}

#[test]
fn cpp_hello_runs_to_all_ok_and_exits_0() {
    let out = run_example("examples-cpp/hello");
    out.assert_status(0);
    let app = out.app();
    let lines: Vec<&str> = app.lines().collect();
    assert!(
        !app.contains("FAILED"),
        "examples-cpp/hello reports a failed check\n{}",
        out.describe()
    );
    // main ends with `all ok`; only the static and thread_local destructors print after it.
    let all_ok = lines.iter().position(|line| *line == "all ok");
    assert!(
        all_ok.is_some_and(|i| i > 0
            && lines[i + 1..]
                .iter()
                .all(|line| line.ends_with("destructor ran"))),
        "examples-cpp/hello did not end with `all ok`\n{}",
        out.describe()
    );
}

#[test]
fn return_value_of_main_is_the_exit_status() {
    let out = run_image(&image("exit3"), &[], &[]);
    out.assert_status(3);
    assert_eq!(out.app(), "returning 3\n", "{}", out.describe());
    assert!(
        out.kiln_lines().iter().any(|l| l == "kiln: exit status 3"),
        "no final `kiln: exit status 3` line\n{}",
        out.describe()
    );
}

#[test]
fn arguments_after_the_double_dash_reach_main() {
    let out = run_image(
        &image("args_env"),
        &[],
        &["first", "two words", "NAME=value", "--x"],
    );
    out.assert_status(0);
    let app = out.app();
    let expected = [
        "argc=5",
        "argv[0]=[args_env]",
        "argv[1]=[first]",
        "argv[2]=[two words]",
        "argv[3]=[NAME=value]",
        "argv[4]=[--x]",
        "argv[argc]=NULL",
    ];
    let got: Vec<&str> = app.lines().take(expected.len()).collect();
    assert_eq!(got, expected, "{}", out.describe());
}
