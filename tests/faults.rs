//! CPU faults in the application end the VM with a report on the console (the fault, the
//! faulting address, a symbolized backtrace) and status 139; a smashed stack canary ends it
//! with `stack smashing detected` and status 134; a fault in the runtime itself is reported
//! as the kernel's (`kiln: kernel fault`) and ends with status 70, never the program's.

use kiln_tests::{image, run_image, Output};
use std::path::Path;
use std::process::Command;

/// Boots the fault program `name` and checks what every fault report must show.
fn expect_page_fault(name: &str, before: &str, survived: &str, function: &str) -> Output {
    let out = run_image(&image(name), &[], &[]);
    out.assert_status(139);
    let all = out.all();
    let lower = all.to_lowercase();
    assert!(
        out.app().contains(before),
        "{name} did not reach the faulting code (`{before}` missing)\n{}",
        out.describe()
    );
    assert!(
        !all.contains(survived),
        "{name} survived its fault\n{}",
        out.describe()
    );
    assert!(
        lower.contains("page fault"),
        "no `page fault` in the report\n{}",
        out.describe()
    );
    assert!(
        lower.contains("backtrace"),
        "no `backtrace` in the report\n{}",
        out.describe()
    );
    assert!(
        all.contains(function),
        "the report does not name the faulting function {function}\n{}",
        out.describe()
    );
    out
}

/// The first hexadecimal number after `label` (case-insensitive) on a line of `text`.
fn hex_after(text: &str, label: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let lower = line.to_lowercase();
        let start = lower.find(&label.to_lowercase())? + label.len();
        let rest = lower[start..].trim_start_matches(|c: char| !c.is_ascii_hexdigit());
        let rest = rest.strip_prefix("0x").unwrap_or(rest);
        let digits: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        u64::from_str_radix(&digits, 16).ok()
    })
}

/// The address of `symbol` in the ELF file `path`, from `nm`.
fn symbol_address(path: &Path, symbol: &str) -> u64 {
    let out = Command::new("nm").arg(path).output().expect("run nm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            let (addr, _kind, name) = (words.next()?, words.next()?, words.next()?);
            (name == symbol)
                .then(|| u64::from_str_radix(addr, 16).ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("{} has no symbol {symbol}", path.display()))
}

#[test]
fn null_read_reports_a_page_fault_at_the_address() {
    let out = expect_page_fault(
        "null_read",
        "reading through NULL",
        "survived",
        "kiln_test_null_read",
    );
    // The program loads n->next with n == NULL: offset 8 of page 0.
    assert_eq!(
        hex_after(&out.all(), "read of address"),
        Some(0x8),
        "the report does not name the read of address 0x8\n{}",
        out.describe()
    );
}

#[test]
fn write_into_text_reports_a_page_fault() {
    let out = expect_page_fault(
        "write_text",
        "writing into text",
        "survived",
        "kiln_test_write_text",
    );
    let target = symbol_address(&image("write_text"), "kiln_test_text_target");
    assert_eq!(
        hex_after(&out.all(), "write of address"),
        Some(target),
        "the report does not name the write to the function at {target:#x}\n{}",
        out.describe()
    );
}

#[test]
fn jump_into_the_stack_reports_a_page_fault() {
    // The jump is a tail call: the frames left to walk are main's.
    let out = expect_page_fault("exec_stack", "jumping into the stack", "survived", "main+");
    // An instruction fetch faults at the instruction itself: the address is RIP.
    let all = out.all();
    let fetched = hex_after(&all, "instruction fetch of address");
    let rip = hex_after(&all, "at rip");
    assert!(
        fetched.is_some() && fetched == rip,
        "no instruction fetch at RIP ({fetched:x?} vs {rip:x?})\n{}",
        out.describe()
    );
    assert!(
        fetched.unwrap_or_default() >= 0x7000_0000_0000,
        "the fetch at {fetched:x?} is not on the stack\n{}",
        out.describe()
    );
}

#[test]
fn unbounded_recursion_hits_the_guard_page() {
    let out = expect_page_fault(
        "stack_overflow",
        "recursing without end",
        "survived",
        "kiln_test_recurse",
    );
    assert!(
        out.all()
            .contains("the guard page below the main stack: stack overflow"),
        "the report does not name the main stack's guard page\n{}",
        out.describe()
    );
}

#[test]
fn smashed_stack_canary_is_detected() {
    let out = run_image(&image("stack_smash"), &[], &[]);
    assert!(
        out.app().contains("overflowing a stack buffer"),
        "stack_smash did not reach the overflow\n{}",
        out.describe()
    );
    assert!(
        out.all().contains("stack smashing detected"),
        "no `stack smashing detected` report\n{}",
        out.describe()
    );
    assert!(
        !out.all().contains("survived"),
        "stack_smash survived\n{}",
        out.describe()
    );
    out.assert_status(134);
}

/// A fault in kernel code (here the crash `/proc/sysrq-trigger` asks for, as on Linux) is
/// loud and distinct: the report names the kernel and the VM ends with the kernel-fault
/// status, not the SIGSEGV status a supervisor would blame the program for.
#[test]
fn a_fault_in_the_kernel_is_reported_as_the_kernels() {
    let out = run_image(&image("kernel_crash"), &[], &[]);
    out.assert_status(70);
    let all = out.all();
    assert!(
        out.app().contains("asking the kernel to crash"),
        "{}",
        out.describe()
    );
    assert!(!all.contains("not reached"), "{}", out.describe());
    assert!(
        all.contains("kiln: kernel fault: page fault") && all.contains("a bug in Kiln"),
        "the report should name the kernel\n{}",
        out.describe()
    );
    assert!(
        all.contains("sysrq"),
        "the backtrace should name the kernel's function\n{}",
        out.describe()
    );
}
