//! `kiln build` and `kiln run DIR` end to end in a stand-in checkout: a tiny no_std
//! `kiln-runtime` crate whose entry exits with status 0x21 at once, the real linker script and
//! libc-shim, and a minimal toolchain file of this test's own (cmake/kiln.cmake proper is
//! tested with the real runtime by tests/). This checks the CLI's plumbing: cargo, objcopy,
//! the shim archive, CMake configure/build, finding and picking the image, and booting it.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RUNTIME_LIB: &str = r#"#![no_std]
core::arch::global_asm!(
    ".pushsection .note.Xen,\"a\",@note",
    ".p2align 2",
    ".long 4, 4, 18",
    ".asciz \"Xen\"",
    ".long kiln_pvh_entry",
    ".popsection",
    ".pushsection .text.boot,\"ax\",@progbits",
    ".code32",
    ".globl kiln_pvh_entry, kiln_mb2_entry, kiln_linux_entry",
    "kiln_pvh_entry:",
    "kiln_mb2_entry:",
    "kiln_linux_entry:",
    "mov $0x21, %eax",
    "out %eax, $0xf4",
    "1: hlt",
    "jmp 1b",
    ".long _start",
    ".code64",
    ".popsection",
    options(att_syntax)
);
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
"#;

const TOOLCHAIN: &str = r#"set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(KILN "$ENV{KILN}")
execute_process(COMMAND "${KILN}" config --cc OUTPUT_VARIABLE cc OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND "${KILN}" config --cflags OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE)
set(CMAKE_C_COMPILER "${cc}")
set(CMAKE_C_COMPILER_TARGET x86_64-linux-musl)
set(CMAKE_C_FLAGS_INIT "${cflags}")
set(CMAKE_C_LINK_EXECUTABLE "\"${KILN}\" link <FLAGS> <CMAKE_C_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
"#;

struct Checkout(PathBuf);

impl Checkout {
    fn new() -> Checkout {
        let real = kiln_cli::root();
        let dir = std::env::temp_dir().join(format!("kiln-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["runtime/src", "cmake", "project/greet"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let write = |path: &str, text: &str| std::fs::write(dir.join(path), text).unwrap();
        write("Cargo.toml", "[workspace]\nmembers = [\"runtime\"]\nresolver = \"2\"\n[profile.release]\npanic = \"abort\"\n");
        write(
            "runtime/Cargo.toml",
            "[package]\nname = \"kiln-runtime\"\nversion = \"0.0.0\"\nedition = \"2021\"\n[lib]\ncrate-type = [\"staticlib\"]\n",
        );
        write("runtime/src/lib.rs", RUNTIME_LIB);
        write(
            "runtime/abi.txt",
            "# entries\nkiln_pvh_entry\nkiln_mb2_entry\nkiln_linux_entry\n",
        );
        write("cmake/kiln.cmake", TOOLCHAIN);
        write("project/greet/CMakeLists.txt", "cmake_minimum_required(VERSION 3.16)\nproject(greet C)\nadd_executable(greet main.c)\n");
        write(
            "project/greet/main.c",
            "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
        );
        symlink(real.join("runtime/kiln.ld"), dir.join("runtime/kiln.ld")).unwrap();
        symlink(real.join("libc-shim"), dir.join("libc-shim")).unwrap();
        symlink(real.join("include"), dir.join("include")).unwrap();
        Checkout(dir)
    }

    fn kiln(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .env("KILN_ROOT", &self.0)
            .env("KILN", env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn build_then_run_a_project_directory() {
    let checkout = Checkout::new();
    let project = checkout.0.join("project/greet");

    let out = checkout.kiln(&["runtime"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kiln_dir = checkout.0.join("target/kiln").canonicalize().unwrap();
    assert_eq!(text(&out.stdout).trim(), kiln_dir.display().to_string());
    // Only the ABI stays global in the localized archive.
    let nm = Command::new("nm")
        .arg("-g")
        .arg("--defined-only")
        .arg(kiln_dir.join("libkiln_runtime.a"))
        .output()
        .unwrap();
    // GNU nm also prints its LLVM plugin's complaints about Rust's embedded bitcode: keep
    // only `ADDRESS TYPE NAME` lines.
    let globals: Vec<String> = text(&nm.stdout)
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [_, kind, name] if kind.len() == 1 => Some(name.to_owned()),
                _ => None,
            },
        )
        .collect();
    assert!(
        !globals.is_empty()
            && globals
                .iter()
                .all(|g| ["kiln_pvh_entry", "kiln_mb2_entry", "kiln_linux_entry"]
                    .contains(&g.as_str())),
        "{globals:?}"
    );

    let out = checkout.kiln(&["build", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let image = project.join("build-kiln/greet");
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", image.display()),
        "stdout holds only the image paths"
    );

    let out = checkout.kiln(&[
        "run",
        project.to_str().unwrap(),
        "--accel",
        "tcg",
        "--timeout",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(0x21), "{}", text(&out.stderr));
}

#[test]
fn pick_image_prefers_the_directory_name() {
    let images = [PathBuf::from("/b/other"), PathBuf::from("/b/greet")];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // "cli" is not among them and there are two: an error that lists them.
    let err = kiln_cli::build::pick_image(dir, &images)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/b/other") && err.contains("/b/greet"),
        "{err}"
    );
}
