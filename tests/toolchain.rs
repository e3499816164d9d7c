//! The CMake toolchain file as a user drives it: plain `cmake` with
//! `-DCMAKE_TOOLCHAIN_FILE=cmake/kiln.cmake` on a project that knows nothing of Kiln
//! (tests/cmake-project): CMake's own compiler checks pass, C17 and C++20 build, try_run and
//! ctest boot VMs, and the host's libraries stay out of reach.

use kiln_tests::{require_tools, root, run_with_deadline, scratch_dir};
use std::process::Command;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(600);

#[test]
fn an_unchanged_cmake_project_builds_images_and_ctest_boots_them() {
    require_tools();
    let src = root().join("tests/cmake-project");
    let build = scratch_dir("cmake-project");
    let toolchain = root().join("cmake/kiln.cmake");

    let configure = run_with_deadline(
        Command::new("cmake")
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(&build)
            .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display())),
        DEADLINE,
    );
    assert_eq!(
        configure.status,
        0,
        "configure failed\n{}",
        configure.describe()
    );
    let log = &configure.stdout;
    // try_run built the probe, booted it, and saw its exit status and output.
    assert!(
        log.contains("kiln-test: try_run compiled=TRUE status=42"),
        "{log}"
    );
    assert!(!log.contains("kiln-test: try_run output found=-1"), "{log}");
    // musl's libm from the musl sysroot; the host's zlib invisible.
    let libm = log
        .lines()
        .find_map(|l| l.strip_prefix("-- kiln-test: libm="))
        .unwrap_or_else(|| panic!("no libm line\n{log}"));
    let libm = std::fs::canonicalize(libm).unwrap_or_else(|e| panic!("{libm}: {e}"));
    assert!(
        libm.starts_with("/usr/lib/x86_64-linux-musl"),
        "libm found at {}",
        libm.display()
    );
    // No zlib, or the one `kiln pkg` built (tests/pkg.rs builds it): never the host's.
    let zlib = log
        .lines()
        .find_map(|l| l.strip_prefix("-- kiln-test: zlib found="))
        .unwrap_or_else(|| panic!("no zlib line\n{log}"));
    let sysroot = root().join("target/kiln/sysroot");
    assert!(
        zlib.starts_with("FALSE")
            || zlib
                .strip_prefix("TRUE at ")
                .is_some_and(|path| std::path::Path::new(path).starts_with(&sysroot)),
        "zlib: {zlib}\n{log}"
    );
    let bz2 = log
        .lines()
        .find_map(|l| l.strip_prefix("-- kiln-test: host bz2 links="))
        .unwrap_or_else(|| panic!("no bz2 line\n{log}"));
    assert!(
        bz2.starts_with("FALSE refused=") && !bz2.ends_with("refused=-1"),
        "linking the host's bz2: {bz2}\n{log}"
    );
    assert!(!log.contains("CMAKE_C_COMPILER_WORKS"), "{log}");

    let build_out = run_with_deadline(Command::new("cmake").arg("--build").arg(&build), DEADLINE);
    assert_eq!(
        build_out.status,
        0,
        "build failed\n{}",
        build_out.describe()
    );

    // Both images carry the PVH note, i.e. are Kiln images, not host programs.
    for name in ["c17", "cxx20"] {
        let image = build.join(name);
        let bytes = std::fs::read(&image).expect("image exists");
        assert!(bytes.starts_with(b"\x7fELF"), "{name} is not an ELF");
        assert!(
            bytes.windows(4).any(|w| w == b"Xen\0"),
            "{name} has no PVH note"
        );
    }

    let ctest = run_with_deadline(
        Command::new("ctest")
            .arg("--test-dir")
            .arg(&build)
            .arg("--output-on-failure"),
        DEADLINE,
    );
    assert_eq!(ctest.status, 0, "ctest failed\n{}", ctest.describe());
    assert!(
        ctest
            .stdout
            .contains("100% tests passed, 0 tests failed out of 2"),
        "{}",
        ctest.stdout
    );
}
