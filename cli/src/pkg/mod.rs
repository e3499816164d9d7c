//! `kiln pkg`: well-known C libraries built for Kiln from Debian source packages, installed
//! into the Kiln sysroot (`target/kiln/sysroot`) that every compile and link searches.
//!
//! `kiln pkg build NAME[=VERSION]...` takes the recipe `pkg/NAME.sh` ([`recipe`]), picks the
//! newest version of its Debian source package the archive delivers ([`apt`]), and builds it
//! with `bin/kiln-cc`/`bin/kiln-c++` — the compiler and flags of images, `kiln config
//! --cflags` — into a staging directory, then copies what it installed (headers, static
//! libraries, pkg-config files, CMake package files, programs) into the sysroot.
//!
//! Everything lives under `target/kiln/pkg`: `apt/` (the private apt state), `src/SOURCE/
//! VERSION/` (the downloaded and unpacked source), `build/NAME-UPSTREAM-KEY/` (one build:
//! `work/` the source tree it was built in, `stage/` what it installed, `tests/` the
//! package's test programs and data, `build.log`), `installed/NAME` (the key and the files
//! the sysroot holds for NAME). The key hashes the recipe, the Debian version, the compile
//! flags and the keys of the dependencies, so a build is reused until one of them changes;
//! switching back to an earlier version reinstalls its kept build without compiling.
//!
//! `kiln pkg tests NAME` (re)links the package's test programs (its `tests()` function) into
//! `build/.../tests/` whenever the runtime, libc-shim or the linker script changed since
//! the last time, and prints that directory: the test suite boots them.

pub mod apt;
pub mod recipe;

use crate::{kiln_dir, root, toolchain, Failure, Result};
use anyhow::Context;
use recipe::Recipe;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `kiln pkg build` options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Parallel jobs for make (0: as many as the machine has CPUs).
    pub jobs: usize,
    /// Refresh the Debian source indexes even if they are recent.
    pub refresh: bool,
    /// Stream the build's output instead of only logging it.
    pub verbose: bool,
}

/// One package built and installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub name: String,
    /// The Debian version of the source package.
    pub version: String,
    /// The build directory (`work/`, `stage/`, `tests/`, `build.log`).
    pub dir: PathBuf,
    pub key: String,
}

/// `target/kiln/pkg`.
pub fn pkg_dir() -> PathBuf {
    kiln_dir().join("pkg")
}

fn apt() -> apt::Apt {
    apt::Apt::new(pkg_dir().join("apt"))
}

/// Holds `target/kiln/pkg/.lock` (an exclusive `flock`) while a `kiln pkg` command works,
/// so builds started at once (parallel tests, two terminals) take turns.
struct Lock(#[allow(dead_code)] fs::File);

fn lock() -> Result<Lock> {
    fs::create_dir_all(pkg_dir())?;
    let path = pkg_dir().join(".lock");
    let file = fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(Lock(file))
}

/// `name` or `name=version`.
fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('=') {
        Some((name, version)) => (name, Some(version)),
        None => (spec, None),
    }
}

/// The recipes for `specs` and everything they depend on, dependencies first.
fn plan(specs: &[String]) -> Result<Vec<(Recipe, Option<String>)>> {
    fn visit(
        name: &str,
        pin: Option<String>,
        stack: &mut Vec<String>,
        out: &mut Vec<(Recipe, Option<String>)>,
    ) -> Result<()> {
        if let Some(entry) = out.iter_mut().find(|(r, _)| r.name == name) {
            if pin.is_some() {
                entry.1 = pin;
            }
            return Ok(());
        }
        if stack.iter().any(|s| s == name) {
            return Err(Failure::usage(format!(
                "kiln pkg: the recipes depend on each other in a cycle: {} -> {name}",
                stack.join(" -> ")
            ))
            .into());
        }
        let recipe = recipe::find(name)?;
        stack.push(name.to_owned());
        for dep in recipe.deps.clone() {
            visit(&dep, None, stack, out)?;
        }
        stack.pop();
        out.push((recipe, pin));
        Ok(())
    }
    let mut out = Vec::new();
    for spec in specs {
        let (name, pin) = split_spec(spec);
        visit(name, pin.map(str::to_owned), &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

/// Builds (or reuses) and installs the packages `specs` name, with their dependencies.
pub fn build(specs: &[String], opts: &Options) -> Result<Vec<Built>> {
    if specs.is_empty() {
        return Err(Failure::usage(
            "kiln pkg build: name the packages to build (`kiln pkg list` shows them)",
        )
        .into());
    }
    let _lock = lock()?;
    build_locked(specs, opts)
}

fn build_locked(specs: &[String], opts: &Options) -> Result<Vec<Built>> {
    crate::runtime::ensure_runtime()?;
    toolchain::ensure_sysroot()?;
    let apt = apt();
    apt.update(opts.refresh)?;
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut built = Vec::new();
    for (recipe, pin) in plan(specs)? {
        let dep_keys: Vec<&str> = recipe
            .deps
            .iter()
            .filter_map(|d| keys.get(d).map(String::as_str))
            .collect();
        let one = build_one(&apt, &recipe, pin.as_deref(), &dep_keys, opts)?;
        install(&one)?;
        keys.insert(one.name.clone(), one.key.clone());
        built.push(one);
    }
    Ok(built)
}

/// The inputs of a build besides the recipe and the version: the compile flags (through
/// them the compiler, musl, libc++ and the sysroot paths).
fn flags_fingerprint() -> Result<String> {
    let mut text = toolchain::cflags()?.join(" ");
    text.push('\n');
    text.push_str(&toolchain::cxxflags()?.join(" "));
    Ok(text)
}

/// FNV-1a, 64 bits: a cache key, not a security boundary (a few lines rather than a crate).
fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0u8]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The cache key of one build.
pub fn build_key(recipe: &Recipe, version: &str, flags: &str, dep_keys: &[&str]) -> String {
    let text = recipe.build_text();
    let mut parts: Vec<&[u8]> = vec![text.as_bytes(), version.as_bytes(), flags.as_bytes()];
    parts.extend(dep_keys.iter().map(|k| k.as_bytes()));
    format!("{:012x}", fnv64(&parts) & 0xffff_ffff_ffff)
}

/// A version as a directory name (epochs' `:` and `~` are fine in names, `/` is not).
fn version_dir(version: &str) -> String {
    version.replace('/', "_")
}

fn build_dir_for(recipe: &Recipe, version: &str, key: &str) -> PathBuf {
    pkg_dir().join("build").join(format!(
        "{}-{}-{key}",
        recipe.name,
        version_dir(apt::upstream_version(version))
    ))
}

fn build_one(
    apt: &apt::Apt,
    recipe: &Recipe,
    pin: Option<&str>,
    dep_keys: &[&str],
    opts: &Options,
) -> Result<Built> {
    let flags = flags_fingerprint()?;
    let mut versions = apt.versions(&recipe.source)?;
    if let Some(pin) = pin {
        if !versions.iter().any(|v| v == pin) {
            return Err(Failure::usage(format!(
                "kiln pkg: Debian has no version {pin} of {} (it has: {})",
                recipe.source,
                versions.join(", ")
            ))
            .into());
        }
        versions.retain(|v| v == pin);
    }
    if versions.is_empty() {
        return Err(Failure::new(
            1,
            format!(
                "kiln pkg: the Debian source indexes list no package {:?} (recipe {}); check the host's apt sources",
                recipe.source,
                recipe.path.display()
            ),
        )
        .into());
    }
    let mut last_error = None;
    for (i, version) in versions.iter().enumerate() {
        let key = build_key(recipe, version, &flags, dep_keys);
        let dir = build_dir_for(recipe, version, &key);
        let built = Built {
            name: recipe.name.clone(),
            version: version.clone(),
            dir: dir.clone(),
            key,
        };
        if dir.join("done").is_file() {
            if i > 0 {
                eprintln!(
                    "kiln pkg: {}: using the kept build of {version} ({} could not be fetched)",
                    recipe.name, versions[0]
                );
            }
            return Ok(built);
        }
        let src = pkg_dir()
            .join("src")
            .join(&recipe.source)
            .join(version_dir(version));
        if apt.known_unavailable(&src) {
            continue;
        }
        eprintln!(
            "kiln pkg: {}: fetching {} {version}",
            recipe.name, recipe.source
        );
        let tree = match apt.fetch(&recipe.source, version, &src) {
            Ok(tree) => tree,
            Err(e) => {
                eprintln!("kiln pkg: warning: {e:#}; trying an older version");
                last_error = Some(e);
                continue;
            }
        };
        run_build(recipe, version, &tree, &dir, opts)?;
        return Ok(built);
    }
    Err(last_error.unwrap_or_else(|| {
        Failure::new(
            1,
            format!("kiln pkg: no version of {} could be fetched", recipe.source),
        )
        .into()
    }))
}

/// The environment every recipe function runs in.
fn recipe_env(cmd: &mut Command, version: &str, dir: &Path, work: &Path, opts: &Options) {
    let jobs = if opts.jobs > 0 {
        opts.jobs
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    };
    let bin = root().join("bin");
    let prefix = toolchain::sysroot().join("usr");
    cmd.env("KILN_ROOT", root())
        .env("KILN", root().join("target/release/kiln"))
        .env("CC", bin.join("kiln-cc"))
        .env("CXX", bin.join("kiln-c++"))
        .env("AR", "ar")
        .env("RANLIB", "ranlib")
        .env("NM", "nm")
        .env("CFLAGS", "-O2")
        .env("CXXFLAGS", "-O2")
        .env("LDFLAGS", "")
        .env("CPPFLAGS", "")
        .env("PKG_CONFIG", bin.join("kiln-pkg-config"))
        .env("PKG_CONFIG_LIBDIR", prefix.join("lib/pkgconfig"))
        .env_remove("PKG_CONFIG_PATH")
        .env_remove("PKG_CONFIG_SYSROOT_DIR")
        .env_remove("KILN_HOST")
        .env("LC_ALL", "C")
        .env("KILN_PKG_VERSION", version)
        .env("KILN_PKG_UPSTREAM_VERSION", apt::upstream_version(version))
        .env("KILN_PKG_PREFIX", &prefix)
        .env("KILN_PKG_SYSROOT", toolchain::sysroot())
        .env("KILN_PKG_DESTDIR", dir.join("stage"))
        .env("KILN_PKG_TESTS", dir.join("tests"))
        .env("KILN_PKG_SRC", work)
        .env("KILN_PKG_JOBS", jobs.to_string());
}

/// Runs `function` of the recipe in `work`, logging to `dir/build.log` (appending).
fn run_function(
    recipe: &Recipe,
    function: &str,
    version: &str,
    dir: &Path,
    work: &Path,
    opts: &Options,
) -> Result<()> {
    let log_path = dir.join("build.log");
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    writeln!(log, "== kiln pkg: {} {version}: {function}()", recipe.name)?;
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "set -euo pipefail; source \"$1\"; cd \"$KILN_PKG_SRC\"; set -x; {function}"
        ))
        .arg("kiln-pkg")
        .arg(&recipe.path)
        .current_dir(work)
        .stdin(Stdio::null());
    recipe_env(&mut cmd, version, dir, work, opts);
    let status = if opts.verbose {
        cmd.status()?
    } else {
        cmd.stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .status()?
    };
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    for line in tail.iter().rev() {
        eprintln!("  {line}");
    }
    Err(Failure::new(
        1,
        format!(
            "kiln pkg: {} {version}: the recipe's {function}() failed (the end of its log is above; all of it: {})",
            recipe.name,
            log_path.display()
        ),
    )
    .into())
}

fn run_build(
    recipe: &Recipe,
    version: &str,
    tree: &Path,
    dir: &Path,
    opts: &Options,
) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    let work = dir.join("work");
    let status = Command::new("cp").arg("-a").arg(tree).arg(&work).status()?;
    if !status.success() {
        return Err(Failure::new(1, format!("copying {} failed", tree.display())).into());
    }
    fs::create_dir_all(dir.join("stage"))?;
    eprintln!(
        "kiln pkg: {}: building {version} (log: {})",
        recipe.name,
        dir.join("build.log").display()
    );
    run_function(recipe, "build", version, dir, &work, opts)?;
    check_stage(recipe, dir)?;
    fs::write(dir.join("done"), version)?;
    Ok(())
}

/// What the recipe installed must lie under the sysroot prefix, with static libraries only;
/// libtool's `.la` files (absolute paths, useless without libtool) are dropped.
fn check_stage(recipe: &Recipe, dir: &Path) -> Result<()> {
    let stage = dir.join("stage");
    let prefix = stage_prefix(dir);
    let mut outside = Vec::new();
    let mut shared = Vec::new();
    for file in walk(&stage)? {
        if !file.starts_with(&prefix) {
            outside.push(
                file.strip_prefix(&stage)
                    .unwrap_or(&file)
                    .display()
                    .to_string(),
            );
            continue;
        }
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".la") {
            fs::remove_file(&file)?;
        } else if name.ends_with(".so") || name.contains(".so.") {
            shared.push(name.into_owned());
        }
    }
    if !outside.is_empty() {
        return Err(Failure::new(
            1,
            format!(
                "kiln pkg: {}: the recipe installed files outside the sysroot prefix: {}",
                recipe.name,
                outside.join(", ")
            ),
        )
        .into());
    }
    if !shared.is_empty() {
        return Err(Failure::new(
            1,
            format!(
                "kiln pkg: {}: the recipe built shared libraries ({}); images link statically: configure it with --disable-shared (or its equivalent)",
                recipe.name,
                shared.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// `stage/` + the sysroot prefix: where `make install DESTDIR=stage` put the files.
fn stage_prefix(dir: &Path) -> PathBuf {
    let prefix = toolchain::sysroot().join("usr");
    let relative = prefix.strip_prefix("/").unwrap_or(&prefix).to_path_buf();
    dir.join("stage").join(relative)
}

/// Every file and symlink under `dir` (not directories), sorted.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn installed_record(name: &str) -> PathBuf {
    pkg_dir().join("installed").join(name)
}

/// The key of the build of `name` the sysroot holds, if any.
pub fn installed_key(name: &str) -> Option<String> {
    let text = fs::read_to_string(installed_record(name)).ok()?;
    text.lines().next().map(str::to_owned)
}

/// Copies the build's staged files into the sysroot (after removing the files an earlier
/// build of the same package put there) and records them.
fn install(built: &Built) -> Result<()> {
    if installed_key(&built.name).as_deref() == Some(built.key.as_str()) {
        return Ok(());
    }
    let sysroot_usr = toolchain::sysroot().join("usr");
    uninstall(&built.name)?;
    let prefix = stage_prefix(&built.dir);
    let mut record = format!("{}\n{}\n", built.key, built.version);
    for file in walk(&prefix)? {
        let relative = file.strip_prefix(&prefix).unwrap_or(&file);
        let dest = sysroot_usr.join(relative);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let _ = fs::remove_file(&dest);
        let meta = file.symlink_metadata()?;
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&file)?, &dest)?;
        } else {
            fs::copy(&file, &dest).with_context(|| format!("installing {}", dest.display()))?;
        }
        record.push_str(&format!("usr/{}\n", relative.display()));
    }
    fs::create_dir_all(pkg_dir().join("installed"))?;
    fs::write(installed_record(&built.name), record)?;
    eprintln!(
        "kiln pkg: {}: {} installed into {}",
        built.name,
        built.version,
        toolchain::sysroot().display()
    );
    Ok(())
}

/// Removes the files the sysroot holds for `name`.
fn uninstall(name: &str) -> Result<()> {
    let Ok(text) = fs::read_to_string(installed_record(name)) else {
        return Ok(());
    };
    for line in text.lines().skip(2) {
        let path = toolchain::sysroot().join(line);
        let _ = fs::remove_file(path);
    }
    fs::remove_file(installed_record(name))?;
    Ok(())
}

/// The inputs the test programs are linked with: when one changes, they are linked again.
fn tests_fingerprint() -> Result<String> {
    let dir = kiln_dir();
    let mut parts = Vec::new();
    for path in [
        dir.join("libkiln_runtime.a"),
        dir.join("libkiln_shim.a"),
        dir.join("libc++.a"),
        root().join("runtime/kiln.ld"),
        root().join("bin/kiln-cc"),
    ] {
        parts.push(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(format!("{:016x}", fnv64(&slices)))
}

/// Builds `spec` (and its dependencies) if needed, (re)links its test programs if the
/// runtime changed since, and returns the tests directory.
pub fn tests(spec: &str, opts: &Options) -> Result<PathBuf> {
    let _lock = lock()?;
    let built = build_locked(&[spec.to_owned()], opts)?;
    let built = built
        .into_iter()
        .last()
        .ok_or_else(|| Failure::new(1, "kiln pkg tests: nothing was built"))?;
    let recipe = recipe::find(&built.name)?;
    if !recipe.has_tests {
        return Err(Failure::usage(format!(
            "kiln pkg: the recipe {} has no tests()",
            recipe.path.display()
        ))
        .into());
    }
    let tests = built.dir.join("tests");
    let stamp = built.dir.join("tests.stamp");
    let fingerprint = tests_fingerprint()?;
    if fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str()) {
        return Ok(tests);
    }
    let work = built.dir.join("work");
    if !work.is_dir() {
        return Err(Failure::new(
            1,
            format!(
                "kiln pkg: {}: the build tree {} is gone; `kiln pkg clean {}` and build again",
                built.name,
                work.display(),
                built.name
            ),
        )
        .into());
    }
    let _ = fs::remove_dir_all(&tests);
    fs::create_dir_all(&tests)?;
    eprintln!("kiln pkg: {}: linking its test programs", built.name);
    run_function(&recipe, "tests", &built.version, &built.dir, &work, opts)?;
    fs::write(&stamp, fingerprint)?;
    Ok(tests)
}

/// `kiln pkg source NAME[=VERSION]`: fetches and unpacks any Debian source package (the
/// newest version the archive delivers, or VERSION), with Debian's patches applied, and
/// returns the tree: the start of porting a project Kiln has no recipe for.
pub fn source(spec: &str, opts: &Options) -> Result<PathBuf> {
    let (name, pin) = split_spec(spec);
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-+.".contains(c))
    {
        return Err(Failure::usage(format!(
            "kiln pkg source: {name:?} is not a Debian source package name"
        ))
        .into());
    }
    let _lock = lock()?;
    let apt = apt();
    apt.update(opts.refresh)?;
    let mut versions = apt.versions(name)?;
    if let Some(pin) = pin {
        versions.retain(|v| v == pin);
    }
    if versions.is_empty() {
        return Err(Failure::usage(format!(
            "kiln pkg source: the Debian source indexes list no {spec}"
        ))
        .into());
    }
    let mut last_error = None;
    for version in &versions {
        let dir = pkg_dir().join("src").join(name).join(version_dir(version));
        if apt.known_unavailable(&dir) {
            continue;
        }
        match apt.fetch(name, version, &dir) {
            Ok(tree) => return Ok(tree),
            Err(e) => {
                eprintln!("kiln pkg: warning: {e:#}; trying an older version");
                last_error = Some(e);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        Failure::new(
            1,
            format!("kiln pkg: no version of {name} could be fetched"),
        )
        .into()
    }))
}

/// Removes the builds, sources and sysroot files of `names` (every package when empty).
pub fn clean(names: &[String]) -> Result<()> {
    let _lock = lock()?;
    let names: Vec<String> = if names.is_empty() {
        recipe::all()?.into_iter().map(|r| r.name).collect()
    } else {
        names.to_vec()
    };
    for name in &names {
        let recipe = recipe::find(name)?;
        uninstall(name)?;
        if let Ok(entries) = fs::read_dir(pkg_dir().join("build")) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                // NAME-UPSTREAM-KEY, and no other recipe's name is NAME-...
                if file.starts_with(&format!("{name}-"))
                    && !recipe::all()?.iter().any(|r| {
                        r.name != *name
                            && r.name.starts_with(&format!("{name}-"))
                            && file.starts_with(&format!("{}-", r.name))
                    })
                {
                    fs::remove_dir_all(entry.path())?;
                }
            }
        }
        let _ = fs::remove_dir_all(pkg_dir().join("src").join(&recipe.source));
        eprintln!("kiln pkg: {name}: cleaned");
    }
    Ok(())
}

/// `kiln pkg list`: every recipe, its Debian source package and what the sysroot holds.
pub fn list() -> Result<String> {
    let mut out = String::new();
    for recipe in recipe::all()? {
        let installed = fs::read_to_string(installed_record(&recipe.name))
            .ok()
            .and_then(|t| t.lines().nth(1).map(str::to_owned))
            .unwrap_or_else(|| "-".to_owned());
        let deps = if recipe.deps.is_empty() {
            String::new()
        } else {
            format!(" (needs {})", recipe.deps.join(", "))
        };
        out.push_str(&format!(
            "{:<10} {:<22} Debian source {:<10} {}{deps}\n",
            recipe.name, installed, recipe.source, recipe.summary
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_every_input() {
        let recipe = recipe::parse(
            "z",
            Path::new("z.sh"),
            "summary=z\nsource=zlib\nbuild() { :; }\n",
        )
        .unwrap();
        let base = build_key(&recipe, "1.0-1", "-O2", &[]);
        assert_eq!(base.len(), 12);
        assert_eq!(base, build_key(&recipe, "1.0-1", "-O2", &[]));
        assert_ne!(base, build_key(&recipe, "1.0-2", "-O2", &[]));
        assert_ne!(base, build_key(&recipe, "1.0-1", "-O3", &[]));
        assert_ne!(base, build_key(&recipe, "1.0-1", "-O2", &["abc"]));
        let mut other = recipe.clone();
        other.text.push('\n');
        assert_ne!(base, build_key(&other, "1.0-1", "-O2", &[]));
        // A tests() function is not part of the library build.
        let mut with_tests = recipe.clone();
        with_tests.text.push_str("tests() {\n  cp a b\n}\n");
        assert_eq!(base, build_key(&with_tests, "1.0-1", "-O2", &[]));
        // Parts are separated: moving a byte between them changes the key.
        assert_ne!(fnv64(&[b"ab", b"c"]), fnv64(&[b"a", b"bc"]));
    }

    #[test]
    fn specs_and_plans() {
        assert_eq!(split_spec("openssl"), ("openssl", None));
        assert_eq!(
            split_spec("zlib=1:1.2.13.dfsg-1"),
            ("zlib", Some("1:1.2.13.dfsg-1"))
        );
        let order = plan(&["libevent".to_owned(), "zlib".to_owned()]).unwrap();
        let names: Vec<&str> = order.iter().map(|(r, _)| r.name.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("openssl") < pos("libevent"), "{names:?}");
        assert_eq!(names.iter().filter(|n| **n == "zlib").count(), 1);
        assert!(plan(&["no-such-recipe".to_owned()]).is_err());
    }
}
