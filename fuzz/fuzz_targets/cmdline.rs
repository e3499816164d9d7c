//! `Cmdline::parse` on arbitrary text, with every accessor. Must never panic, and every word
//! lands in exactly one of options, environment, arguments (or is the lone `--`).
#![no_main]

use kiln_runtime::process::cmdline::{words, Cmdline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let line = Cmdline::parse(s);
    let _ = line.argv0();
    let _ = line.option("argv0");
    let _ = line.has("quiet");
    let sorted = line.args().count() + line.env().count() + line.options().count();
    let total = words(s).count();
    assert!(sorted == total || sorted + 1 == total);
    assert!(line.env().all(|e| e.contains('=')));
    let _ = line
        .unknown_options(&["quiet", "boottime", "argv0"])
        .count();
});
