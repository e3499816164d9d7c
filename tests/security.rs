//! The unikernel security checklist as attacks (docs/security.md lists each mitigation and its
//! test). Every attack is a real program booted in a real VM; each must end in a clean fault
//! report and a non-zero status, never continue. Writing into text, executing the stack, a
//! NULL read at offset 8, the main stack's guard page and the stack canary are in faults.rs;
//! AT_RANDOM's freshness is in entropy.rs.

use kiln_tests::{image, run_image, run_image_with, Output};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::thread;

/// One boot (or anything else) to run on a thread of its own.
type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` a few at a time on threads (boots are short; the machine has few cores);
/// returns their results in order.
fn in_parallel<T: Send>(jobs: Vec<Job<'_, T>>) -> Vec<T> {
    const WIDTH: usize = 5;
    let mut results = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let batch: Vec<_> = jobs.by_ref().take(WIDTH).collect();
        results.extend(thread::scope(|s| {
            let handles: Vec<_> = batch.into_iter().map(|job| s.spawn(job)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("boot thread"))
                .collect::<Vec<_>>()
        }));
    }
    results
}

/// Boots `attacks MODE ARGS...`.
fn attack(mode: &str, extra: &[&str]) -> Output {
    let mut args = vec![mode];
    args.extend_from_slice(extra);
    run_image(&image("attacks"), &[], &args)
}

/// The first hexadecimal number after `label` on a line of `text`.
fn hex_after(text: &str, label: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let start = line.find(label)? + label.len();
        let rest = line[start..].trim_start();
        let rest = rest.strip_prefix("0x").unwrap_or(rest);
        let digits: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        u64::from_str_radix(&digits, 16).ok()
    })
}

/// Checks a fault report: the program got as far as `before`, then a page fault ended it
/// with status 139, the report names the `access` of `addr` and `what` lives there, and
/// the backtrace names `function`.
fn expect_fault(out: &Output, before: &str, access: &str, addr: u64, what: &str, function: &str) {
    let all = out.all();
    assert!(
        out.app().contains(before),
        "the program did not reach the attack (`{before}` missing)\n{}",
        out.describe()
    );
    assert!(
        !all.contains("survived"),
        "the attack `{before}` succeeded\n{}",
        out.describe()
    );
    out.assert_status(139);
    assert!(
        all.contains("kiln: fault: page fault (#PF"),
        "no page fault report\n{}",
        out.describe()
    );
    assert_eq!(
        hex_after(&all, &format!("{access} of address")),
        Some(addr),
        "the report does not name the {access} of {addr:#x}\n{}",
        out.describe()
    );
    assert!(
        all.contains(&format!("({what}")),
        "the report does not say the address is in {what}\n{}",
        out.describe()
    );
    assert!(
        all.contains("kiln: backtrace:") && all.contains(function),
        "the backtrace does not name {function}\n{}",
        out.describe()
    );
}

#[test]
fn reading_and_writing_address_zero_fault() {
    let outs = in_parallel::<Output>(vec![
        Box::new(|| attack("read0", &[])),
        Box::new(|| attack("write0", &[])),
    ]);
    expect_fault(
        &outs[0],
        "reading address 0",
        "read",
        0,
        "the null page",
        "main+",
    );
    expect_fault(
        &outs[1],
        "writing address 0",
        "write",
        0,
        "the null page",
        "main+",
    );
}

#[test]
fn executing_data_the_heap_and_mappings_faults() {
    // (mode, what the program prints before the jump, where the report must place the code)
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "exec_data",
            "executing a data page at",
            &["the image's data"],
        ),
        ("exec_brk", "executing the brk heap at", &["the brk heap"]),
        (
            "exec_mmap",
            "executing an anonymous mapping at",
            &["an anonymous mapping"],
        ),
        // musl's malloc takes memory from brk or mmap, whichever it likes.
        (
            "exec_malloc",
            "executing the malloc heap at",
            &["the brk heap", "an anonymous mapping"],
        ),
    ];
    let outs = in_parallel(
        cases
            .iter()
            .map(|&(mode, ..)| Box::new(move || attack(mode, &[])) as Job<Output>)
            .collect(),
    );
    for ((mode, before, places), out) in cases.iter().zip(&outs) {
        let code = hex_after(&out.app(), before)
            .unwrap_or_else(|| panic!("{mode}: no address printed\n{}", out.describe()));
        let all = out.all();
        let place = places
            .iter()
            .find(|p| all.contains(&format!("({p}")))
            .unwrap_or(&places[0]);
        expect_fault(out, before, "instruction fetch", code, place, "main+");
        assert!(
            all.lines()
                .any(|l| l.contains("called from") && l.contains("kiln_test_call+")),
            "{mode}: the report does not name the caller of the bad jump\n{}",
            out.describe()
        );
        assert!(
            all.contains("protection violation"),
            "{mode}: the page was not mapped no-execute\n{}",
            out.describe()
        );
        assert_eq!(
            hex_after(&all, "at rip"),
            Some(code),
            "{mode}: the fault is not at the jump target\n{}",
            out.describe()
        );
    }
}

#[test]
fn mprotect_flips_rw_to_rx_and_wx_is_refused() {
    let out = attack("flip", &[]);
    let app = out.app();
    assert!(
        app.contains("flip: 42"),
        "code written RW and flipped to RX did not run\n{}",
        out.describe()
    );
    for call in ["mprotect rwx", "mmap rwx"] {
        assert!(
            app.contains(&format!("{call}: Permission denied")),
            "{call} was not refused with EACCES\n{}",
            out.describe()
        );
    }
    let refusals = out
        .kiln_lines()
        .iter()
        .filter(|l| l.contains("refused a writable and executable mapping"))
        .count();
    assert_eq!(
        refusals,
        2,
        "one console line per refusal\n{}",
        out.describe()
    );
    // The page is RX now: writing it faults.
    let page = hex_after(&app, "writing the RX page at")
        .unwrap_or_else(|| panic!("no page address printed\n{}", out.describe()));
    expect_fault(
        &out,
        "writing the RX page at",
        "write",
        page,
        "an anonymous mapping",
        "main+",
    );
    assert!(
        out.all().contains("protection violation"),
        "{}",
        out.describe()
    );
}

#[test]
fn wx_allow_permits_writable_executable_mappings_and_says_so() {
    let out = run_image(&image("attacks"), &["kiln.wx=allow"], &["wx"]);
    out.assert_status(0);
    assert!(
        out.app().contains("wx: 42"),
        "code in a W+X mapping did not run\n{}",
        out.describe()
    );
    let lines = out.kiln_lines();
    for expected in [
        "kiln.wx=allow: mappings may be writable and executable at once",
        "granted a writable and executable mapping (kiln.wx=allow)",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(expected)),
            "no console line `{expected}`\n{}",
            out.describe()
        );
    }
}

#[test]
fn syscalls_refuse_bad_pointers_with_efault() {
    let out = attack("efault", &[]);
    out.assert_status(0);
    let app = out.app();
    for call in [
        "write from NULL",
        "getrandom into text",
        "write from a runtime stack",
        "clock_gettime into a runtime stack",
    ] {
        assert!(
            app.contains(&format!("{call}: -1 Bad address")),
            "{call} did not fail with EFAULT\n{}",
            out.describe()
        );
    }
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

// The runtime's stacks, as runtime/src/mm/layout.rs and kstack.rs place them: the stack in
// slot i has its lowest byte at KERNEL_STACKS + i * (KERNEL_STACK_SIZE + page) + page, with
// the page below it unmapped. Slots 0-4 are the IST stacks; slot 8 is the first thread kernel
// stack, the main thread's (syscalls run on it).
const KERNEL_STACKS: u64 = 0x4000_0000_0000;
const KERNEL_STACK_SIZE: u64 = 32 * 1024;
const KERNEL_STACK_COUNT: u64 = 5;
const MAIN_THREAD_KSTACK_SLOT: u64 = 8;
const PAGE: u64 = 4096;

const fn kernel_stack_bottom(slot: u64) -> u64 {
    KERNEL_STACKS + slot * (KERNEL_STACK_SIZE + PAGE) + PAGE
}

#[test]
fn runtime_stacks_overflow_into_guard_pages() {
    // Ring 0 lets the program run any of the runtime's stacks past its bottom, exactly as a
    // runaway runtime function would: the push into the guard page must fault cleanly (the
    // fault is taken on its own IST stack) instead of overwriting what lies below.
    let boot_bottom = symbol_address(&image("attacks"), "kiln_boot_stack_bottom");
    let mut stacks = vec![(boot_bottom, "the guard page below the boot stack")];
    for i in 0..KERNEL_STACK_COUNT {
        stacks.push((
            kernel_stack_bottom(i),
            "the guard page below a runtime (IST) stack",
        ));
    }
    stacks.push((
        kernel_stack_bottom(MAIN_THREAD_KSTACK_SLOT),
        "the guard page below a thread's kernel stack",
    ));
    let outs = in_parallel(
        stacks
            .iter()
            .map(|&(bottom, _)| {
                Box::new(move || attack("overflow", &[&format!("{bottom:x}")])) as Job<Output>
            })
            .collect(),
    );
    for ((bottom, guard), out) in stacks.iter().zip(&outs) {
        expect_fault(
            out,
            "overflowing the stack at",
            "write",
            bottom - 8,
            guard,
            "kiln_test_overflow",
        );
    }
}

struct Layout {
    stack: u64,
    brk: u64,
    mmap: u64,
    canary: u64,
}

fn field(out: &Output, name: &str) -> u64 {
    let app = out.app();
    app.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or_else(|| panic!("aslr printed no `{name}=HEX` line\n{}", out.describe()))
}

fn boot_layout() -> Layout {
    let out = run_image(&image("aslr"), &[], &[]);
    out.assert_status(0);
    Layout {
        stack: field(&out, "stack"),
        brk: field(&out, "brk"),
        mmap: field(&out, "mmap"),
        canary: field(&out, "canary"),
    }
}

/// Asserts `values` are distinct, lie in `[lo, hi)`, and that at least `min_bits` of the
/// page-number bits vary among them.
fn check_random(name: &str, values: &[u64], lo: u64, hi: u64, min_bits: u32) {
    let distinct: HashSet<_> = values.iter().collect();
    assert_eq!(
        distinct.len(),
        values.len(),
        "{name}: repeated between boots: {values:x?}"
    );
    for &v in values {
        assert!(
            (lo..hi).contains(&v),
            "{name} {v:#x} outside {lo:#x}..{hi:#x}"
        );
    }
    let varied = values.iter().fold(0, |acc, v| acc | (v ^ values[0])) >> 12;
    assert!(
        varied.count_ones() >= min_bits,
        "{name}: only {} page-number bits vary across {} boots: {values:x?}",
        varied.count_ones(),
        values.len()
    );
}

#[test]
fn twenty_boots_get_twenty_layouts_and_canaries() {
    const BOOTS: usize = 20;
    let boots = in_parallel(
        (0..BOOTS)
            .map(|_| Box::new(boot_layout) as Job<Layout>)
            .collect(),
    );
    let pick = |f: fn(&Layout) -> u64| boots.iter().map(f).collect::<Vec<_>>();
    // The runtime gives the stack and mmap bases 30 random bits and brk 28: across 20 boots,
    // all but a couple of those bits must have changed at least once.
    check_random(
        "stack",
        &pick(|l| l.stack),
        0x7bff_0000_0000,
        0x7fff_ffff_0000,
        28,
    );
    check_random(
        "mmap",
        &pick(|l| l.mmap),
        0x6800_0000_0000 - PAGE,
        0x6c00_0000_0000,
        28,
    );
    check_random(
        "brk",
        &pick(|l| l.brk),
        0x5000_0000_0000,
        0x5100_0000_0000,
        26,
    );
    let canaries = pick(|l| l.canary);
    let distinct: HashSet<_> = canaries.iter().collect();
    assert_eq!(
        distinct.len(),
        BOOTS,
        "canaries repeated between boots: {canaries:x?}"
    );
    for c in canaries {
        assert_eq!(c & 0xff, 0, "canary {c:#018x}: the low byte is not zero");
    }
}

const NO_HW_ENTROPY: &[&str] = &["--cpu", "max,-rdrand,-rdseed"];

#[test]
fn without_rdrand_and_rdseed_the_boot_warns_and_strict_refuses() {
    let canary = image("canary");
    let canary = canary.as_path();
    let outs = in_parallel::<Output>(vec![
        Box::new(move || run_image_with(canary, NO_HW_ENTROPY, &[], &[])),
        Box::new(move || run_image_with(canary, NO_HW_ENTROPY, &["kiln.entropy=strict"], &[])),
        Box::new(move || run_image(canary, &["kiln.entropy=strict"], &[])),
    ]);
    let (weak, refused, strict_ok) = (&outs[0], &outs[1], &outs[2]);

    weak.assert_status(0);
    assert!(
        weak.kiln_lines()
            .iter()
            .any(|l| l.contains("WARNING: no hardware entropy (RDRAND/RDSEED)")),
        "no loud warning without RDRAND/RDSEED\n{}",
        weak.describe()
    );
    assert!(weak.app().contains("canary="), "{}", weak.describe());

    assert!(
        refused.status != 0 && !refused.timed_out,
        "kiln.entropy=strict booted without hardware entropy\n{}",
        refused.describe()
    );
    refused.assert_status(125);
    assert!(
        refused.kiln_lines().iter().any(|l| l
            .contains("refusing to start: kiln.entropy=strict but no hardware entropy")
            && l.contains("-cpu max")),
        "no line that says why and what to do\n{}",
        refused.describe()
    );
    assert!(
        !refused.app().contains("canary="),
        "the program ran\n{}",
        refused.describe()
    );

    // With RDRAND/RDSEED, strict mode boots, and says nothing about entropy. (Other warnings,
    // such as a PIT calibration that a loaded host disturbed, are not this test's business.)
    strict_ok.assert_status(0);
    assert!(
        !strict_ok
            .kiln_lines()
            .iter()
            .any(|l| l.contains("WARNING") || l.contains("entropy")),
        "a boot with hardware entropy warns about it\n{}",
        strict_ok.describe()
    );
}

/// A virtio-rng device (`./kiln run --rng`: virtio-rng-device on microvm, virtio-rng-pci on
/// q35) is a hardware entropy source on its own: without RDRAND/RDSEED the boot is quiet and
/// `kiln.entropy=strict` boots.
#[test]
fn virtio_rng_alone_is_enough_entropy() {
    let canary = image("canary");
    let canary = canary.as_path();
    let with_rng = |machine: &'static str| -> Job<'_, Output> {
        Box::new(move || {
            let mut options = NO_HW_ENTROPY.to_vec();
            options.extend(["--rng", "--machine", machine]);
            run_image_with(canary, &options, &["kiln.entropy=strict"], &[])
        })
    };
    let outs = in_parallel::<Output>(vec![with_rng("microvm"), with_rng("q35")]);
    for out in &outs {
        out.assert_status(0);
        assert!(
            out.app().contains("canary="),
            "the program did not run\n{}",
            out.describe()
        );
        assert!(
            !out.kiln_lines()
                .iter()
                .any(|l| l.contains("WARNING") || l.contains("entropy") || l.contains("rng")),
            "a boot with virtio-rng warns about entropy\n{}",
            out.describe()
        );
    }
}
