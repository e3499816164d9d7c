//! Threads on the guest's scheduler beyond the differential programs (tests/diff.rs runs
//! `threads` and `threads_cpp` against Linux): memory comes back after 1,000 threads, and a
//! thread that overflows its stack hits its guard page with a clean report.

use kiln_tests::{image, run_image};

#[test]
fn a_thousand_threads_give_their_memory_back() {
    let out = run_image(&image("thread_memory"), &[], &[]);
    out.assert_status(0);
    assert!(
        out.app().contains("memory back where it started: 1"),
        "{}",
        out.describe()
    );
}

#[test]
fn stack_overflow_in_a_thread_hits_its_guard_page() {
    let out = run_image(&image("thread_overflow"), &[], &[]);
    out.assert_status(139);
    let all = out.all();
    assert!(out.app().contains("thread recursing"), "{}", out.describe());
    assert!(!all.contains("not reached"), "{}", out.describe());
    assert!(all.contains("page fault"), "{}", out.describe());
    assert!(
        all.contains("guard page"),
        "the report should say it hit a guard page\n{}",
        out.describe()
    );
    assert!(
        all.contains("recurse"),
        "the backtrace should name the function\n{}",
        out.describe()
    );
}
