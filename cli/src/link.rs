//! The link driver: turns objects and libraries into a bootable image (or, with `--host`, an
//! ordinary static Linux executable of the same program).
//!
//! An image is linked twice. Pass 1 links with an empty `.kiln_syms` table; the driver reads
//! the function symbols of the result, writes them into the table ([`crate::symtab`]), and
//! pass 2 links again with the filled table. The linker script puts `.kiln_syms` after
//! everything else, and the driver checks that no text symbol moved between the passes.

use crate::libs::{self, CxxRuntime, SearchPath};
use crate::runtime::{libcxx_archive, runtime_archive, shim_archive};
use crate::symtab::{self, Symbol};
use crate::{list_entries, root, toolchain, Failure, Result};
use anyhow::Context;
use object::{Object, ObjectSection, ObjectSymbol, SymbolFlags, SymbolKind};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `kiln link`'s inputs.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Add libc++, libc++abi and libunwind.
    pub cxx: bool,
    /// A static Linux executable instead of an image: no runtime, no linker script.
    pub host: bool,
    pub output: PathBuf,
    /// Objects, archives, `-L`/`-l`, `-Wl,` and other driver flags, passed through in order.
    pub args: Vec<String>,
}

/// The ELF section that carries the symbol table.
pub const SYMS_SECTION: &str = ".kiln_syms";
const STT_FUNC: u8 = 2;

/// Links per `opts`. Linker errors reach stderr verbatim; the error then carries the
/// linker's exit code and no message of its own.
pub fn link(opts: &LinkOptions) -> Result<()> {
    let mut archives = vec![shim_archive()];
    if !opts.host {
        archives.push(runtime_archive());
    }
    if opts.cxx {
        crate::runtime::ensure_libcxx()?;
    }
    for archive in &archives {
        if !archive.is_file() {
            return Err(Failure::usage(format!(
                "{} is missing; run `kiln runtime` first",
                archive.display()
            ))
            .into());
        }
    }
    // Refuse what cannot link before the first pass, and warn once.
    let sealed = libs::seal(&opts.args, &search_path())?;
    for warning in &sealed.warnings {
        eprintln!("{warning}");
    }
    if opts.host {
        return run_linker(opts, &opts.output, None);
    }

    let work = with_suffix(&opts.output, ".kiln-link");
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = link_image(opts, &work);
    let _ = fs::remove_dir_all(&work);
    result
}

fn link_image(opts: &LinkOptions, work: &Path) -> Result<()> {
    let pass1 = work.join("pass1");
    let empty = syms_object(work, "empty", &symtab::write_blob(&[]))?;
    run_linker(opts, &pass1, Some(&empty))?;
    let first = fs::read(&pass1)?;
    let blob = symtab::write_blob(&function_symbols(&first)?);
    let table = syms_object(work, "table", &blob)?;
    run_linker(opts, &opts.output, Some(&table))?;

    let second = fs::read(&opts.output)?;
    let placed = section_size(&second, SYMS_SECTION)?;
    if placed != Some(blob.len() as u64) {
        return Err(Failure::new(1, format!(
            "{}: the linker script did not keep {SYMS_SECTION} ({} of {} bytes); runtime/kiln.ld must place it last with KEEP",
            opts.output.display(), placed.unwrap_or(0), blob.len()
        )).into());
    }
    let (before, after) = (text_symbols(&first)?, text_symbols(&second)?);
    if let Some((name, addr)) = before
        .iter()
        .find(|(name, addr)| after.get(*name) != Some(addr))
    {
        return Err(Failure::new(1, format!(
            "{}: adding {SYMS_SECTION} moved code ({name} was at {addr:#x}, now {}); runtime/kiln.ld must place {SYMS_SECTION} after everything else",
            opts.output.display(),
            after.get(name).map_or("gone".to_owned(), |a| format!("{a:#x}"))
        )).into());
    }
    Ok(())
}

/// The full linker command line (without the driver itself).
pub fn link_args(
    opts: &LinkOptions,
    output: &Path,
    syms_object: Option<&Path>,
) -> Result<Vec<String>> {
    let path = |p: PathBuf| p.display().to_string();
    let sealed = libs::seal(&opts.args, &search_path())?;
    let mut args = toolchain::ldflags(opts.host);
    // CMake repeats the compile flags at link time, where clang would warn about each.
    args.push("-Wno-unused-command-line-argument".into());
    args.push(path(toolchain::musl_crt("crt1.o")));
    args.push(path(toolchain::musl_crt("crti.o")));
    args.extend(sealed.args);
    args.extend(syms_object.map(|p| path(p.to_path_buf())));
    args.push(path(shim_archive()));
    if !opts.host {
        args.push(path(runtime_archive()));
    }
    let cxx = if opts.cxx {
        CxxRuntime::Full
    } else {
        sealed.cxx
    };
    // libc++ from target/kiln (see `libcxx_archive`), the other two as Debian ships them;
    // each part needs the ones after it.
    let skip = match cxx {
        CxxRuntime::None => toolchain::CXX_ARCHIVES.len(),
        CxxRuntime::Unwind => 2,
        CxxRuntime::Abi => 1,
        CxxRuntime::Full => 0,
    };
    args.extend(toolchain::CXX_ARCHIVES[skip..].iter().map(|a| match *a {
        "libc++.a" => path(libcxx_archive()),
        _ => path(Path::new(toolchain::LLVM_LIB).join(a)),
    }));
    // For libraries named inside linker scripts and the like; `-l` on the command line was
    // resolved by `libs::seal` already.
    args.push(format!("-L{}", toolchain::sysroot_lib().display()));
    args.push(format!("-L{}", toolchain::MUSL_LIB));
    args.push("-lc".into());
    args.push(path(toolchain::libgcc()?.to_path_buf()));
    args.push(path(toolchain::musl_crt("crtn.o")));
    args.extend(
        wrapped_symbols()?
            .into_iter()
            .map(|sym| format!("-Wl,--wrap={sym}")),
    );
    args.push("-o".into());
    args.push(path(output.to_path_buf()));
    Ok(args)
}

/// Where the sealed link looks for `-l` libraries after the caller's `-L` directories.
pub fn search_path() -> SearchPath {
    SearchPath {
        system: vec![toolchain::sysroot_lib(), PathBuf::from(toolchain::MUSL_LIB)],
        allowed: vec![PathBuf::from(toolchain::MUSL_LIB), root()],
    }
}

/// The symbols of `libc-shim/wraps.txt` (none when the file does not exist).
pub fn wrapped_symbols() -> Result<Vec<String>> {
    match fs::read_to_string(root().join("libc-shim").join("wraps.txt")) {
        Ok(text) => Ok(list_entries(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).context("reading libc-shim/wraps.txt"),
    }
}

fn run_linker(opts: &LinkOptions, output: &Path, syms_object: Option<&Path>) -> Result<()> {
    let args = link_args(opts, output, syms_object)?;
    let out = Command::new(toolchain::clang()?).args(&args).output()?;
    // The linker's own words go through verbatim; a missing entry point gets one more line
    // that says what to do.
    std::io::Write::write_all(&mut std::io::stderr(), &out.stderr)?;
    std::io::Write::write_all(&mut std::io::stdout(), &out.stdout)?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = if stderr.contains("undefined symbol: OS_start") {
        "the program defines neither main() nor OS_start(): define one of them \
         (OS_start is declared in <kiln/os.h>)"
            .to_owned()
    } else if let Some(flag) = stderr
        .lines()
        .find_map(|l| l.split("unable to find library ").nth(1))
    {
        // A library named where the driver does not look (a linker script, say).
        libs::missing_message_for(flag.trim(), &search_path())
    } else {
        String::new()
    };
    Err(Failure::new(out.status.code().unwrap_or(1), message).into())
}

/// Assembles an object whose `.kiln_syms` section holds `blob`.
fn syms_object(work: &Path, name: &str, blob: &[u8]) -> Result<PathBuf> {
    let bin = work.join(format!("{name}.bin"));
    let asm = work.join(format!("{name}.s"));
    let obj = work.join(format!("{name}.o"));
    fs::write(&bin, blob)?;
    let quoted = bin
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    fs::write(
        &asm,
        format!(".section {SYMS_SECTION},\"a\",@progbits\n.incbin \"{quoted}\"\n"),
    )?;
    let status = Command::new(toolchain::clang()?)
        .arg(format!("--target={}", toolchain::TARGET))
        .arg("-c")
        .arg(&asm)
        .arg("-o")
        .arg(&obj)
        .status()?;
    if !status.success() {
        return Err(Failure::new(
            1,
            "assembling the symbol table failed (clang's error is above)",
        )
        .into());
    }
    Ok(obj)
}

/// The function symbols (`STT_FUNC`, size > 0) of an ELF file, demangled.
pub fn function_symbols(elf: &[u8]) -> Result<Vec<Symbol>> {
    let file = object::File::parse(elf).context("reading the first link's output")?;
    Ok(file
        .symbols()
        .filter(|sym| sym.size() > 0)
        .filter(|sym| matches!(sym.flags(), SymbolFlags::Elf { st_info, .. } if st_info & 0xf == STT_FUNC))
        .filter_map(|sym| {
            let name = sym.name().ok().filter(|n| !n.is_empty())?;
            let size = u32::try_from(sym.size()).unwrap_or(u32::MAX);
            Some(Symbol { addr: sym.address(), size, name: symtab::demangle(name).into_owned() })
        })
        .collect())
}

/// Every text symbol's address, by name (for the pass 1 / pass 2 comparison).
fn text_symbols(elf: &[u8]) -> Result<BTreeMap<String, u64>> {
    let file = object::File::parse(elf).context("reading a link's output")?;
    Ok(file
        .symbols()
        .filter(|sym| sym.kind() == SymbolKind::Text)
        .filter_map(|sym| Some((sym.name().ok()?.to_owned(), sym.address())))
        .collect())
}

fn section_size(elf: &[u8], name: &str) -> Result<Option<u64>> {
    let file = object::File::parse(elf).context("reading the image")?;
    Ok(file.section_by_name(name).map(|s| s.size()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_order_follows_the_contract() {
        let opts = LinkOptions {
            cxx: true,
            host: false,
            output: "app".into(),
            args: vec!["main.o".into(), "libextra.a".into(), "-lm".into()],
        };
        let args = link_args(&opts, Path::new("out"), Some(Path::new("syms.o"))).unwrap();
        let pos = |needle: &str| {
            args.iter()
                .position(|a| a.ends_with(needle))
                .unwrap_or_else(|| panic!("{needle} in {args:?}"))
        };
        assert!(args
            .iter()
            .any(|a| a.starts_with("-Wl,-T,") && a.ends_with("runtime/kiln.ld")));
        let order = [
            "crt1.o",
            "crti.o",
            "main.o",
            "libextra.a",
            "syms.o",
            "libkiln_shim.a",
            "libkiln_runtime.a",
            "libc++.a",
            "libc++abi.a",
            "libunwind.a",
            "-lc",
            "libgcc.a",
            "crtn.o",
        ];
        for pair in order.windows(2) {
            assert!(
                pos(pair[0]) < pos(pair[1]),
                "{} before {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(&args[args.len() - 2..], ["-o", "out"]);
        // -lm is musl's libc; clang adds none of the host's directories.
        assert!(!args.iter().any(|a| a == "-lm"), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("--sysroot=")));
        assert!(args.iter().any(|a| a.starts_with("--gcc-toolchain=")));
    }

    #[test]
    fn host_links_leave_out_the_kernel() {
        let opts = LinkOptions {
            host: true,
            output: "app".into(),
            args: vec!["main.o".into()],
            ..Default::default()
        };
        let args = link_args(&opts, Path::new("app"), None).unwrap();
        assert!(!args.iter().any(|a| a.contains("libkiln_runtime.a")
            || a.contains("kiln.ld")
            || a.contains("libc++")));
        assert!(args.iter().any(|a| a.ends_with("libkiln_shim.a")));
    }

    #[test]
    fn function_symbols_of_this_test_binary() {
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        let syms = function_symbols(&me).unwrap();
        assert!(
            syms.iter()
                .any(|s| s.name.ends_with("function_symbols_of_this_test_binary")),
            "demangled Rust name"
        );
        assert!(syms.iter().all(|s| s.size > 0));
    }
}
