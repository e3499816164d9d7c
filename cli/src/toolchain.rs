//! The one source of the compile and link flags, and of where the host tools are.
//!
//! `kiln config` prints these for the CMake toolchain file; `kiln runtime` compiles libc-shim
//! with them; `kiln link` links with them. DESIGN.md §2 fixes the header order for C++:
//! libc++'s headers, then musl's, then clang's own resource headers last.

use crate::{root, Failure, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The target triple applications are compiled for.
pub const TARGET: &str = "x86_64-linux-musl";
/// Debian's musl headers and libraries.
pub const MUSL_INCLUDE: &str = "/usr/include/x86_64-linux-musl";
pub const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";
/// Debian's LLVM 14 libc++ headers and archives.
pub const LIBCXX_INCLUDE: &str = "/usr/lib/llvm-14/include/c++/v1";
pub const LLVM_LIB: &str = "/usr/lib/llvm-14/lib";
/// The C++ runtime archives `kiln link --cxx` adds, in this order.
pub const CXX_ARCHIVES: [&str; 3] = ["libc++.a", "libc++abi.a", "libunwind.a"];

/// Code generation flags shared by C and C++.
const CODEGEN: [&str; 4] = [
    "-fno-omit-frame-pointer",
    "-fstack-protector-strong",
    "-ffunction-sections",
    "-fdata-sections",
];

/// The clang driver: `clang`, else `clang-14`.
pub fn clang() -> Result<&'static Path> {
    static CLANG: OnceLock<Option<PathBuf>> = OnceLock::new();
    CLANG
        .get_or_init(|| {
            ["clang", "clang-14"]
                .iter()
                .find_map(|name| find_in_path(name))
        })
        .as_deref()
        .ok_or_else(|| {
            Failure::usage("clang not found (tried clang, clang-14); run `kiln doctor --install`")
                .into()
        })
}

/// clang's resource directory (its own `stddef.h`, `stdarg.h`, intrinsics).
pub fn resource_dir() -> Result<&'static Path> {
    static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let clang = clang().map_err(|e| e.to_string())?;
        let out = Command::new(clang)
            .arg("-print-resource-dir")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", clang.display()))?;
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || dir.is_empty() {
            return Err(format!("`{} -print-resource-dir` failed", clang.display()));
        }
        Ok(PathBuf::from(dir))
    })
    .as_deref()
    .map_err(|e| Failure::usage(e.clone()).into())
}

/// Flags for compiling C for a Kiln image (or a host build of the same program): musl's
/// headers, then the Kiln sysroot's (libraries built by `kiln pkg`), Linux's UAPI headers,
/// then clang's own; never the rest of the host's (`-nostdinc`).
pub fn cflags() -> Result<Vec<String>> {
    let resource = resource_dir()?;
    let mut flags = vec![format!("--target={TARGET}"), "-nostdinc".into()];
    flags.extend(isystem(MUSL_INCLUDE));
    flags.extend(isystem(&sysroot_include().to_string_lossy()));
    flags.extend(isystem(&linux_uapi_dir().to_string_lossy()));
    flags.extend(isystem(&resource.join("include").to_string_lossy()));
    flags.extend([
        "-I".into(),
        root().join("include").to_string_lossy().into_owned(),
    ]);
    flags.extend(CODEGEN.map(String::from));
    Ok(flags)
}

/// Flags for compiling C++: libc-shim's glue for libc++'s `<__locale>` first (it makes
/// ctype_base match the glibc-built libc++.a: see libc-shim/include/__locale), then the
/// libc++ headers, musl's, and clang's resource headers last.
pub fn cxxflags() -> Result<Vec<String>> {
    let resource = resource_dir()?;
    let mut flags = vec![
        format!("--target={TARGET}"),
        "-nostdinc".into(),
        "-nostdinc++".into(),
        "-D_LIBCPP_HAS_MUSL_LIBC".into(),
    ];
    flags.extend(isystem(&root().join("libc-shim/include").to_string_lossy()));
    flags.extend(isystem(LIBCXX_INCLUDE));
    flags.extend(isystem(MUSL_INCLUDE));
    flags.extend(isystem(&sysroot_include().to_string_lossy()));
    flags.extend(isystem(&linux_uapi_dir().to_string_lossy()));
    flags.extend(isystem(&resource.join("include").to_string_lossy()));
    flags.extend([
        "-I".into(),
        root().join("include").to_string_lossy().into_owned(),
    ]);
    flags.extend(CODEGEN.map(String::from));
    Ok(flags)
}

fn isystem(dir: &str) -> [String; 2] {
    ["-isystem".into(), dir.into()]
}

/// Linux's user-space API headers (`<linux/...>`, `<asm/...>`: Debian's linux-libc-dev, the
/// kernel's `make headers_install`), which belong to no C library: musl's tree has none, and
/// programs that talk to Linux directly (OpenSSL's secure heap includes `<linux/mman.h>`)
/// need them, as on Alpine. `target/kiln/linux-uapi` links to just these directories, so the
/// rest of the host's `/usr/include` (glibc's) stays out of reach.
pub const LINUX_UAPI: [(&str, &str); 9] = [
    ("linux", "/usr/include/linux"),
    ("asm", "/usr/include/x86_64-linux-gnu/asm"),
    ("asm-generic", "/usr/include/asm-generic"),
    ("misc", "/usr/include/misc"),
    ("mtd", "/usr/include/mtd"),
    ("rdma", "/usr/include/rdma"),
    ("sound", "/usr/include/sound"),
    ("video", "/usr/include/video"),
    ("xen", "/usr/include/xen"),
];

/// `target/kiln/linux-uapi`, made (its links, see [`LINUX_UAPI`]) if missing.
pub fn linux_uapi_dir() -> PathBuf {
    let dir = crate::kiln_dir().join("linux-uapi");
    if std::fs::create_dir_all(&dir).is_ok() {
        for (name, target) in LINUX_UAPI {
            let link = dir.join(name);
            if link.symlink_metadata().is_err() && Path::new(target).is_dir() {
                // Another process may make the same link at the same moment: either wins.
                let _ = std::os::unix::fs::symlink(target, &link);
            }
        }
    }
    dir
}

/// The Kiln sysroot, `target/kiln/sysroot`: `usr/include` and `usr/lib` hold the libraries
/// built for Kiln (`kiln pkg`), searched by every compile and link after musl's own.
pub fn sysroot() -> PathBuf {
    crate::kiln_dir().join("sysroot")
}

/// Makes the sysroot's directories. A build tree from before the sysroot held libraries has
/// `usr/lib` and `usr/include` as symbolic links to musl's directories (the CMake toolchain
/// made them): those links are removed, never written through.
pub fn ensure_sysroot() -> Result<PathBuf> {
    let root = sysroot();
    for dir in [sysroot_lib(), sysroot_include()] {
        if dir
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            std::fs::remove_file(&dir)?;
        }
    }
    for dir in [
        sysroot_include(),
        sysroot_lib().join("pkgconfig"),
        sysroot_lib().join("cmake"),
    ] {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::new(1, format!("creating {}: {e}", dir.display())))?;
    }
    Ok(root)
}

/// The sysroot's library directory (also `pkgconfig/` and `cmake/` under it).
pub fn sysroot_lib() -> PathBuf {
    sysroot().join("usr").join("lib")
}

/// The sysroot's header directory.
pub fn sysroot_include() -> PathBuf {
    sysroot().join("usr").join("include")
}

/// The driver flags `kiln link` puts before the caller's arguments for an image (host links
/// drop the linker script). `--sysroot` and `--gcc-toolchain` at the Kiln sysroot keep clang
/// from adding the host's library directories (`/usr/lib/x86_64-linux-gnu`, GCC's, where
/// `libstdc++.a` is) to the link: libraries come only from where [`crate::libs`] says.
pub fn ldflags(host: bool) -> Vec<String> {
    let mut flags = vec![
        format!("--target={TARGET}"),
        "-nostdlib".into(),
        "-static".into(),
        "-fuse-ld=lld".into(),
        format!("--sysroot={}", sysroot().display()),
        format!("--gcc-toolchain={}", sysroot().display()),
    ];
    if !host {
        let script = root().join("runtime").join("kiln.ld");
        flags.push(format!("-Wl,-T,{}", script.display()));
    }
    flags.extend(["-Wl,--eh-frame-hdr".into(), "-Wl,--gc-sections".into()]);
    flags
}

/// musl's start files: `crt1.o`, `crti.o`, `crtn.o`.
pub fn musl_crt(name: &str) -> PathBuf {
    Path::new(MUSL_LIB).join(name)
}

/// The compiler support library: gcc's `libgcc.a`, else clang's builtins.
pub fn libgcc() -> Result<&'static Path> {
    static LIB: OnceLock<Option<PathBuf>> = OnceLock::new();
    LIB.get_or_init(|| {
        let ask = |tool: &Path, args: &[&str]| -> Option<PathBuf> {
            let out = Command::new(tool).args(args).output().ok()?;
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
        };
        find_in_path("gcc")
            .and_then(|gcc| ask(&gcc, &["-print-libgcc-file-name"]))
            .or_else(|| {
                let clang = clang().ok()?;
                let target = format!("--target={TARGET}");
                ask(
                    clang,
                    &[&target, "-rtlib=compiler-rt", "-print-libgcc-file-name"],
                )
            })
    })
    .as_deref()
    .ok_or_else(|| {
        Failure::usage(
            "no libgcc.a found (neither gcc nor clang knows one); run `kiln doctor --install`",
        )
        .into()
    })
}

/// Finds an executable on `$PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Joins words into one shell line, quoting only the words that need it.
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes one word for a POSIX shell if (and only if) it needs quoting.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(shell_quote("-I/usr/include"), "-I/usr/include");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_join(&["-x", "y z"]), "-x 'y z'");
    }

    #[test]
    fn cxx_headers_are_ordered_libcxx_musl_resource() {
        let flags = cxxflags().unwrap();
        let pos = |needle: &str| flags.iter().position(|f| f.contains(needle)).unwrap();
        assert!(pos(LIBCXX_INCLUDE) < pos(MUSL_INCLUDE));
        let resource = resource_dir().unwrap().join("include");
        assert!(pos(MUSL_INCLUDE) < pos(&resource.to_string_lossy()));
        assert!(flags.contains(&"-D_LIBCPP_HAS_MUSL_LIBC".to_owned()));
    }

    #[test]
    fn host_links_have_no_linker_script() {
        assert!(ldflags(false).iter().any(|f| f.starts_with("-Wl,-T,")));
        assert!(!ldflags(true).iter().any(|f| f.starts_with("-Wl,-T,")));
    }
}
