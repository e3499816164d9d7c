//! `kiln link` end to end against a stand-in runtime: a few lines of assembly with the PVH
//! note and an entry that exits with status 0x21 at once (it never reaches `main`). The real linker script, libc-shim
//! and musl are used, so the two link passes, the symbol table and the image checks are the
//! real ones, independent of the state of the real runtime.

use kiln_cli::image;
use kiln_cli::symtab::{ENTRY_SIZE, MAGIC};
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FAKE_RUNTIME: &str = r#"
    .section .note.Xen,"a",@note
    .p2align 2
    .long 4, 4, 18
    .asciz "Xen"
    .long kiln_pvh_entry
    .section .text.boot,"ax",@progbits
    .code32
    .globl kiln_pvh_entry, kiln_mb2_entry, kiln_linux_entry
kiln_pvh_entry:
kiln_mb2_entry:
kiln_linux_entry:
    mov $0x21, %eax
    out %eax, $0xf4
1:  hlt
    jmp 1b
    .long _start            # like the real runtime, keep musl's entry (and main) alive
"#;

/// A checkout with the real linker script and wraps list, the real shim archive and the
/// stand-in runtime archive.
struct FakeRoot(PathBuf);

impl FakeRoot {
    fn new(name: &str) -> FakeRoot {
        let real = kiln_cli::root();
        let kiln_dir = kiln_cli::ensure_shim().unwrap();
        let dir = std::env::temp_dir().join(format!("kiln-link-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["runtime", "libc-shim", "target/kiln"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(real.join("runtime/kiln.ld"), dir.join("runtime/kiln.ld"))
            .unwrap();
        let wraps = real.join("libc-shim/wraps.txt");
        if wraps.exists() {
            std::os::unix::fs::symlink(wraps, dir.join("libc-shim/wraps.txt")).unwrap();
        }
        std::fs::copy(
            kiln_dir.join("libkiln_shim.a"),
            dir.join("target/kiln/libkiln_shim.a"),
        )
        .unwrap();
        let asm = dir.join("fake.s");
        let obj = dir.join("fake.o");
        std::fs::write(&asm, FAKE_RUNTIME).unwrap();
        clang(&[
            "--target=x86_64-linux-musl",
            "-c",
            path(&asm),
            "-o",
            path(&obj),
        ]);
        let status = Command::new("ar")
            .arg("rcs")
            .arg(dir.join("target/kiln/libkiln_runtime.a"))
            .arg(&obj)
            .status()
            .unwrap();
        assert!(status.success());
        FakeRoot(dir)
    }

    fn kiln(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .env("KILN_ROOT", &self.0)
            .args(args)
            .output()
            .unwrap()
    }

    fn compile(&self, name: &str, source: &str) -> PathBuf {
        let src = self.0.join(format!("{name}.c"));
        let obj = self.0.join(format!("{name}.o"));
        std::fs::write(&src, source).unwrap();
        let mut args = kiln_cli::toolchain::cflags().unwrap();
        args.extend([
            "-c".into(),
            path(&src).into(),
            "-o".into(),
            path(&obj).into(),
        ]);
        clang(&args.iter().map(String::as_str).collect::<Vec<_>>());
        obj
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn clang(args: &[&str]) {
    let status = Command::new(kiln_cli::toolchain::clang().unwrap())
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "clang {args:?}");
}

/// Reads the `.kiln_syms` blob back: (address, name) pairs.
fn read_table(blob: &[u8]) -> Vec<(u64, String)> {
    assert_eq!(&blob[..4], MAGIC);
    let count = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
    let strings = &blob[8 + count * ENTRY_SIZE..];
    (0..count)
        .map(|i| {
            let e = &blob[8 + i * ENTRY_SIZE..8 + (i + 1) * ENTRY_SIZE];
            let addr = u64::from_le_bytes(e[..8].try_into().unwrap());
            let off = u32::from_le_bytes(e[12..16].try_into().unwrap()) as usize;
            let len = strings[off..].iter().position(|&b| b == 0).unwrap();
            (
                addr,
                String::from_utf8(strings[off..off + len].to_vec()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn image_link_adds_a_symbol_table_and_boots() {
    let root = FakeRoot::new("image");
    let obj = root.compile(
        "hello",
        "#include <stdio.h>\nstatic int twice(int x) { return 2 * x; }\n\
         int main(void) { printf(\"%d\\n\", twice(21)); return 0; }\n",
    );
    let out_path = root.0.join("hello");
    let out = root.kiln(&["link", path(&obj), "-o", path(&out_path)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !root.0.join("hello.kiln-link").exists(),
        "scratch files are removed"
    );

    let bytes = std::fs::read(&out_path).unwrap();
    assert_eq!(image::classify(&bytes), Ok(()));
    let elf = object::File::parse(&*bytes).unwrap();
    let table = read_table(elf.section_by_name(".kiln_syms").unwrap().data().unwrap());
    assert!(
        table.windows(2).all(|w| w[0].0 <= w[1].0),
        "sorted by address"
    );
    let main = elf
        .symbols()
        .find(|s| s.name() == Ok("main"))
        .unwrap()
        .address();
    assert!(
        table.contains(&(main, "main".to_owned())),
        "main at {main:#x}"
    );
    assert!(
        table.iter().any(|(_, n)| n == "printf"),
        "musl's functions are listed"
    );
    // The table is the last thing in the image.
    let syms_start = elf
        .symbols()
        .find(|s| s.name() == Ok("__kiln_syms_start"))
        .unwrap()
        .address();
    assert!(table.iter().all(|(addr, _)| *addr < syms_start));

    // The stand-in runtime exits at once with 0x21: the image boots.
    let run = kiln_cli::run_image(
        &out_path,
        &kiln_cli::RunOptions {
            accel: kiln_cli::Accel::Tcg,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(run.status, 0x21, "{}", run.stderr);
}

#[test]
fn a_program_without_main_or_os_start_fails_with_lld_s_message() {
    let root = FakeRoot::new("nomain");
    let obj = root.compile("lib", "int helper(int x) { return x + 1; }\n");
    let out = root.kiln(&["link", path(&obj), "-o", path(&root.0.join("app"))]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("undefined symbol: OS_start"), "{err}");
}
