//! Helpers for the host tests: C probes that print what a C header says (struct layouts,
//! constants), so the Rust side is checked against musl's headers, the one source of truth
//! (DESIGN.md §12).

/// The flags that compile a probe against musl's headers instead of the host libc's.
pub const MUSL: &[&str] = &["-nostdinc", "-isystem", "/usr/include/x86_64-linux-musl"];

/// Compiles the C program `source` with the host's C compiler (`flags` first) in a
/// scratch directory, runs it and returns what it printed. The layout tests print
/// `offsetof`s computed from a header at compile time, so linking against the host's libc
/// changes nothing.
pub fn c_probe(name: &str, flags: &[&str], source: &str, missing: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kiln-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(name);
    let cc = ["clang", "clang-14", "gcc"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("no C compiler (run ./kiln doctor --install)");
    let built = std::process::Command::new(cc)
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("run the C compiler");
    assert!(built.success(), "{missing}");
    let out = std::process::Command::new(&exe)
        .output()
        .expect("run the probe");
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).unwrap()
}
