//! Builds the two archives every image links: the localized runtime and libc-shim.
//!
//! `target/kiln/libkiln_runtime.a` is cargo's staticlib with every symbol not listed in
//! `runtime/abi.txt` made local (so Rust's and compiler-builtins' `memcpy` & co. never clash
//! with musl); `target/kiln/libkiln_shim.a` is `libc-shim/*.c` compiled with the C flags of
//! [`crate::toolchain`]. Both are rebuilt only when their inputs changed, so the archives'
//! timestamps do not make every downstream image relink. Beside them, `target/kiln/libc++.a`
//! is Debian's libc++ with its one glibc-only call renamed ([`libcxx_archive`]).

use crate::{kiln_dir, list_entries, root, toolchain, Failure, Result};
use anyhow::Context;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// The runtime's cargo target.
pub const RUNTIME_TARGET: &str = "x86_64-unknown-none";

/// Serializes the builds of one process (tests call these from several threads); separate
/// processes are safe because every output is written to a unique name and renamed.
static BUILDING: Mutex<()> = Mutex::new(());

/// Builds both archives if needed and returns `target/kiln` (absolute).
pub fn ensure_runtime() -> Result<PathBuf> {
    let _guard = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out_dir = kiln_dir();
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    build_runtime_archive(&out_dir)?;
    build_shim_archive(&out_dir)?;
    build_libcxx_archive(&out_dir)?;
    toolchain::ensure_sysroot()?;
    Ok(out_dir.canonicalize().unwrap_or(out_dir))
}

/// Builds only `libkiln_shim.a` (all a `kiln link --host` needs) and returns `target/kiln`.
pub fn ensure_shim() -> Result<PathBuf> {
    let _guard = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out_dir = kiln_dir();
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    build_shim_archive(&out_dir)?;
    build_libcxx_archive(&out_dir)?;
    Ok(out_dir.canonicalize().unwrap_or(out_dir))
}

/// Makes `target/kiln/libc++.a` if it is missing or older than Debian's (what `kiln link
/// --cxx` needs beyond the archives above; build trees configured before it existed get it
/// at their next C++ link).
pub fn ensure_libcxx() -> Result<()> {
    let _guard = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out_dir = kiln_dir();
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    build_libcxx_archive(&out_dir)
}

/// The localized runtime archive `kiln link` uses.
pub fn runtime_archive() -> PathBuf {
    kiln_dir().join("libkiln_runtime.a")
}

/// The libc-shim archive `kiln link` uses (also for `--host`).
pub fn shim_archive() -> PathBuf {
    kiln_dir().join("libkiln_shim.a")
}

/// The libc++ archive `kiln link --cxx` uses: Debian's `libc++.a` with the symbol
/// `strerror_r` renamed to `__kiln_gnu_strerror_r` (libc-shim). libc++ was compiled against
/// glibc, whose `strerror_r` (with `_GNU_SOURCE`) returns the message; musl's is the XSI one
/// and returns 0, which libc++ then read as the message: every `std::system_error` (its
/// constructor builds the message) read address 0. Renaming the call in libc++ alone keeps
/// musl's XSI `strerror_r` for C programs.
pub fn libcxx_archive() -> PathBuf {
    kiln_dir().join("libc++.a")
}

/// The symbols renamed in [`libcxx_archive`], `OLD=NEW` as objcopy takes them.
pub const LIBCXX_RENAMES: [&str; 1] = ["strerror_r=__kiln_gnu_strerror_r"];

fn build_libcxx_archive(out_dir: &Path) -> Result<()> {
    let source = Path::new(toolchain::LLVM_LIB).join("libc++.a");
    let archive = out_dir.join("libc++.a");
    if is_up_to_date(&archive, std::slice::from_ref(&source)) {
        return Ok(());
    }
    let objcopy = toolchain::find_in_path("objcopy")
        .or_else(|| toolchain::find_in_path("llvm-objcopy"))
        .ok_or_else(|| Failure::usage("objcopy not found; run `kiln doctor --install`"))?;
    let tmp = unique_tmp(&archive);
    let status = Command::new(objcopy)
        .args(LIBCXX_RENAMES.map(|r| format!("--redefine-sym={r}")))
        .arg(&source)
        .arg(&tmp)
        .status()?;
    if !status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(Failure::new(
            1,
            format!(
                "objcopy failed to copy {} (is libc++-dev installed?)",
                source.display()
            ),
        )
        .into());
    }
    fs::rename(&tmp, &archive)?;
    Ok(())
}

fn build_runtime_archive(out_dir: &Path) -> Result<()> {
    let root = root();
    match std::env::var("KILN_KERNEL").as_deref() {
        Ok("debug" | "release" | "") | Err(_) => {}
        Ok(other) => {
            return Err(Failure::usage(format!(
            "KILN_KERNEL={other}: expected `debug` (the debug kernel) or `release` (the default)"
        ))
            .into())
        }
    }
    let debug = crate::debug_kernel();
    // The debug kernel builds in a target directory of its own, so switching between the
    // two never rebuilds either.
    let target_dir = if debug {
        root.join("target").join("debug-kernel")
    } else {
        root.join("target")
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Run from runtime/ so its .cargo/config.toml (frame pointers, code model) applies.
    let mut build = Command::new(&cargo);
    build
        .current_dir(root.join("runtime"))
        .args([
            "build",
            "--release",
            "-p",
            "kiln-runtime",
            "--target",
            RUNTIME_TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    if debug {
        build.args(["--features", "debug-checks"]);
    }
    let status = build
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| {
            Failure::usage(format!(
                "cannot run cargo ({e}); install Rust from https://rustup.rs"
            ))
        })?;
    if !status.success() {
        return Err(
            Failure::new(1, "the runtime failed to build (cargo's errors are above)").into(),
        );
    }

    let built = target_dir
        .join(RUNTIME_TARGET)
        .join("release")
        .join("libkiln_runtime.a");
    let abi = root.join("runtime").join("abi.txt");
    if !abi.is_file() {
        return Err(Failure::usage(format!(
            "{} is missing: it lists the runtime's exported symbols",
            abi.display()
        ))
        .into());
    }
    let out = out_dir.join("libkiln_runtime.a");
    // Rebuilt whenever an input differs from what the last build read, not only when it is
    // newer: cargo switching back to an older cached runtime (another feature set, a reverted
    // patch) makes an input older than the output, and that build must be taken too.
    let stamp = out_dir.join("libkiln_runtime.inputs");
    let inputs = input_stamp(&[built.clone(), abi.clone()]);
    if out.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(inputs.as_str()) {
        return Ok(());
    }

    // objcopy reads the list raw: comments and blank lines would become symbol names.
    let keep = out_dir.join("abi.keep");
    let symbols = list_entries(&fs::read_to_string(&abi)?);
    write_atomically(&keep, (symbols.join("\n") + "\n").as_bytes())?;

    // The staticlib's members (codegen units, core, compiler-builtins, dependencies) call
    // each other through global symbols: localizing those member by member would leave the
    // calls undefined. So first merge all members into one relocatable object (`ld.lld -r`),
    // in which they are resolved, then localize, then archive that one object.
    let work = unique_tmp(&out_dir.join("runtime-work"));
    fs::create_dir_all(&work)?;
    let result = localize(&built, &keep, &work).and_then(|object| {
        let tmp = unique_tmp(&out);
        archive(&tmp, &[object])?;
        fs::rename(&tmp, &out)?;
        Ok(())
    });
    let _ = fs::remove_dir_all(&work);
    result?;
    write_atomically(&stamp, inputs.as_bytes())
}

/// One line per input: its path, size and modification time in nanoseconds.
fn input_stamp(inputs: &[PathBuf]) -> String {
    inputs
        .iter()
        .map(|input| {
            let (len, nanos) = input
                .metadata()
                .map(|m| {
                    let nanos = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    (m.len(), nanos)
                })
                .unwrap_or((0, 0));
            format!("{} {len} {nanos}\n", input.display())
        })
        .collect()
}

/// Merges the members of `archive` into `work/kiln_runtime.o` and makes every symbol not
/// listed in `keep` local.
fn localize(archive: &Path, keep: &Path, work: &Path) -> Result<PathBuf> {
    let object = work.join("kiln_runtime.o");
    let lld = toolchain::find_in_path("ld.lld")
        .ok_or_else(|| Failure::usage("ld.lld not found; run `kiln doctor --install`"))?;
    let status = Command::new(lld)
        .args(["-r", "--whole-archive"])
        .arg(archive)
        .arg("-o")
        .arg(&object)
        .status()?;
    if !status.success() {
        return Err(Failure::new(
            1,
            format!("ld.lld -r failed to merge {}", archive.display()),
        )
        .into());
    }
    let objcopy = toolchain::find_in_path("objcopy")
        .or_else(|| toolchain::find_in_path("llvm-objcopy"))
        .ok_or_else(|| Failure::usage("objcopy not found; run `kiln doctor --install`"))?;
    let status = Command::new(objcopy)
        .arg(format!("--keep-global-symbols={}", keep.display()))
        // Rust's embedded bitcode is of a newer LLVM than binutils' plugin, which then
        // crashes `ar`; the linker never reads it.
        .args(["--remove-section=.llvmbc", "--remove-section=.llvmcmd"])
        .arg(&object)
        .status()?;
    if !status.success() {
        return Err(Failure::new(
            1,
            format!("objcopy failed to localize {}", archive.display()),
        )
        .into());
    }
    Ok(object)
}

/// Writes a fresh archive (`ar rcs`) of `objects` at `path`.
fn archive(path: &Path, objects: &[PathBuf]) -> Result<()> {
    let ar = toolchain::find_in_path("ar")
        .or_else(|| toolchain::find_in_path("llvm-ar"))
        .ok_or_else(|| Failure::usage("ar not found; run `kiln doctor --install`"))?;
    let status = Command::new(ar)
        .arg("rcs")
        .arg(path)
        .args(objects)
        .status()?;
    if !status.success() {
        return Err(Failure::new(1, format!("ar failed to write {}", path.display())).into());
    }
    Ok(())
}

fn build_shim_archive(out_dir: &Path) -> Result<()> {
    let shim_dir = root().join("libc-shim");
    let obj_dir = out_dir.join("shim");
    fs::create_dir_all(&obj_dir)?;
    let mut sources: Vec<PathBuf> = match fs::read_dir(&shim_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "c"))
            .collect(),
        Err(_) => Vec::new(),
    };
    sources.sort();

    let mut flags = toolchain::cflags()?;
    flags.push("-O2".into());
    // A change of flags, or of any header the shim may include, rebuilds every object.
    let stamp = obj_dir.join("flags.txt");
    let flag_line = flags.join(" ");
    let flags_changed = fs::read_to_string(&stamp).ok().as_deref() != Some(flag_line.as_str());
    let mut headers = files_with_ext(&shim_dir, "h");
    headers.extend(files_with_ext(&root().join("include").join("kiln"), "h"));

    let archive = out_dir.join("libkiln_shim.a");
    let mut objects = Vec::new();
    let mut changed = flags_changed || !archive.exists();
    for source in &sources {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        let object = obj_dir.join(format!("{stem}.o"));
        let mut inputs = headers.clone();
        inputs.push(source.clone());
        if flags_changed || !is_up_to_date(&object, &inputs) {
            eprintln!("kiln: compiling libc-shim/{stem}.c");
            let status = Command::new(toolchain::clang()?)
                .args(&flags)
                .arg("-c")
                .arg(source)
                .arg("-o")
                .arg(&object)
                .status()?;
            if !status.success() {
                return Err(Failure::new(
                    1,
                    format!("libc-shim/{stem}.c failed to compile (errors above)"),
                )
                .into());
            }
            changed = true;
        }
        objects.push(object);
    }
    // A removed source leaves the archive with a stale member: notice by name.
    let listed = obj_dir.join("members.txt");
    let members = objects
        .iter()
        .map(|o| o.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    changed |= fs::read_to_string(&listed).ok().as_deref() != Some(members.as_str());
    if !changed {
        return Ok(());
    }
    let tmp = unique_tmp(&archive);
    self::archive(&tmp, &objects)?;
    fs::rename(&tmp, &archive)?;
    write_atomically(&stamp, flag_line.as_bytes())?;
    write_atomically(&listed, members.as_bytes())?;
    Ok(())
}

/// `path` plus a suffix no other writer (process or thread) uses.
fn unique_tmp(path: &Path) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    PathBuf::from(name)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = unique_tmp(path);
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default()
}

fn mtime(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// True when `output` exists and is at least as new as every input.
fn is_up_to_date(output: &Path, inputs: &[PathBuf]) -> bool {
    let Some(built) = mtime(output) else {
        return false;
    };
    inputs
        .iter()
        .all(|input| mtime(input).is_some_and(|t| t <= built))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An input that becomes *older* (cargo switching back to a cached build) changes the
    /// stamp, as does one that changes size; an untouched one does not.
    #[test]
    fn the_input_stamp_follows_older_inputs_too() {
        let dir = std::env::temp_dir().join(format!("kiln-stamp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let input = dir.join("libkiln_runtime.a");
        fs::write(&input, b"new build").unwrap();
        let first = input_stamp(std::slice::from_ref(&input));
        assert_eq!(first, input_stamp(std::slice::from_ref(&input)));

        let older = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&input)
            .unwrap()
            .set_modified(older)
            .unwrap();
        let second = input_stamp(std::slice::from_ref(&input));
        assert_ne!(first, second);

        fs::write(&input, b"another build").unwrap();
        assert_ne!(second, input_stamp(std::slice::from_ref(&input)));
        fs::remove_dir_all(&dir).unwrap();
    }
}
