//! The sealed link: where `kiln link` finds the libraries a link names, and what it refuses.
//!
//! An image (and a `--host` twin) links against musl, libc++ and the libraries built for Kiln,
//! never against the host's, which are built for glibc. clang's Linux driver would add the
//! host's directories (`/usr/lib/x86_64-linux-gnu`, GCC's with `libstdc++.a`) to every link,
//! so the link driver turns them off (`--sysroot`, `--gcc-toolchain`: see
//! [`crate::toolchain::ldflags`]) and resolves each `-lNAME` itself, in this order:
//!
//! 1. the caller's `-L` directories, except the host's library directories ([`is_host_path`]),
//!    which are dropped with a warning;
//! 2. the names whose contents musl's `libc.a` or Kiln's C++ runtime already hold, as on
//!    Alpine: `-lc -lm -lpthread -lrt -ldl -lutil -lcrypt -lresolv -lxnet` are musl's libc,
//!    `-lgcc` the compiler support library every link has, `-lstdc++`/`-lc++` libc++ (with
//!    libc++abi and libunwind), `-lsupc++`/`-lc++abi` libc++abi, `-lunwind`/`-lgcc_eh`/
//!    `-lgcc_s` LLVM's libunwind;
//! 3. the Kiln sysroot's `usr/lib` (libraries `kiln pkg` built) and musl's library directory.
//!
//! Only static archives (`libNAME.a`) count. A library found nowhere fails the link with a
//! message that names it, says where the host has it (if it does) and how to provide it.
//! Explicit inputs from the host's library directories and shared objects are refused too.

use crate::Failure;
use std::path::{Path, PathBuf};

/// The host's library directories: nothing in them is built for musl. Paths are compared
/// after resolving symlinks (`/lib` is `/usr/lib` on a merged-/usr system).
pub const HOST_LIB_DIRS: [&str; 10] = [
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
    "/usr/local/lib64",
];

/// Where the message for a missing library looks for the host's copy of it.
const HOST_HINT_DIRS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/local/lib",
    "/usr/lib",
    "/usr/lib/gcc/x86_64-linux-gnu/12",
];

/// The parts of the C++ runtime a link needs, each including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CxxRuntime {
    #[default]
    None,
    /// LLVM's `libunwind.a`.
    Unwind,
    /// `libc++abi.a` (and libunwind).
    Abi,
    /// `libc++.a` (and libc++abi, libunwind).
    Full,
}

/// What a name means before the system directories are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    /// Part of musl's `libc.a`, which every link has.
    Libc,
    /// The compiler support library every link has.
    Libgcc,
    Cxx(CxxRuntime),
}

fn builtin(name: &str) -> Option<Builtin> {
    Some(match name {
        "c" | "m" | "pthread" | "rt" | "dl" | "util" | "crypt" | "resolv" | "xnet" => Builtin::Libc,
        "gcc" => Builtin::Libgcc,
        "stdc++" | "c++" => Builtin::Cxx(CxxRuntime::Full),
        "supc++" | "c++abi" => Builtin::Cxx(CxxRuntime::Abi),
        "unwind" | "gcc_eh" | "gcc_s" => Builtin::Cxx(CxxRuntime::Unwind),
        _ => return None,
    })
}

/// The caller's arguments made safe to link, and what they need besides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealed {
    /// The arguments in their order: `-lNAME` replaced by the archive's path (or dropped when
    /// it names a builtin), the host's `-L` directories dropped.
    pub args: Vec<String>,
    /// The C++ runtime the `-l` names asked for.
    pub cxx: CxxRuntime,
    /// One line each, for stderr (dropped `-L` directories).
    pub warnings: Vec<String>,
}

/// The directories the sealed link may read besides the caller's: `system` is searched for
/// `-l` names after the caller's `-L` directories; `allowed` are never host paths even if
/// they lie under one (musl's own directory, the Kiln checkout).
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub system: Vec<PathBuf>,
    pub allowed: Vec<PathBuf>,
}

impl SearchPath {
    /// Is `path` (a directory or a file) inside one of the host's library directories?
    pub fn is_host_path(&self, path: &Path) -> bool {
        is_host_path(path, &self.allowed)
    }
}

/// True when `path` lies in one of [`HOST_LIB_DIRS`] and in none of `allowed`.
pub fn is_host_path(path: &Path, allowed: &[PathBuf]) -> bool {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if allowed
        .iter()
        .any(|dir| canonical.starts_with(dir.canonicalize().unwrap_or_else(|_| dir.clone())))
    {
        return false;
    }
    HOST_LIB_DIRS.iter().any(|dir| {
        let dir = Path::new(dir);
        canonical.starts_with(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
            || canonical.starts_with(dir)
    })
}

/// One `-l` request: `-lNAME` searches `libNAME.a`, `-l:FILE` searches `FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lib<'a> {
    Name(&'a str),
    File(&'a str),
}

impl Lib<'_> {
    fn parse(spec: &str) -> Lib<'_> {
        match spec.strip_prefix(':') {
            Some(file) => Lib::File(file),
            None => Lib::Name(spec),
        }
    }

    fn file_name(&self) -> String {
        match self {
            Lib::Name(name) => format!("lib{name}.a"),
            Lib::File(file) => (*file).to_owned(),
        }
    }

    fn flag(&self) -> String {
        match self {
            Lib::Name(name) => format!("-l{name}"),
            Lib::File(file) => format!("-l:{file}"),
        }
    }
}

/// Resolves the caller's `-l`, `-L` and input arguments of a link (see the module docs).
pub fn seal(args: &[String], search: &SearchPath) -> Result<Sealed, Failure> {
    let mut sealed = Sealed::default();
    // -L applies to every -l wherever it stands (as in GNU ld and lld): collect them first.
    let mut user_dirs = Vec::new();
    for word in linker_words(args) {
        if let Word::Dir(dir) = word {
            if !search.is_host_path(Path::new(dir)) {
                user_dirs.push(PathBuf::from(dir));
            }
        }
    }
    let one = |word: Word<'_>, sealed: &mut Sealed| -> Result<Option<String>, Failure> {
        Ok(match word {
            Word::Dir(dir) if search.is_host_path(Path::new(dir)) => {
                sealed.warnings.push(dropped_dir(dir));
                None
            }
            Word::Dir(dir) => Some(format!("-L{dir}")),
            Word::Lib(spec) => resolve(Lib::parse(spec), &user_dirs, search, sealed)?,
            Word::Other(other) => Some(other.to_owned()),
        })
    };

    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if let Some(list) = arg.strip_prefix("-Wl,") {
            let mut kept = Vec::new();
            for word in wl_words(list) {
                kept.extend(one(word, &mut sealed)?);
            }
            if !kept.is_empty() {
                sealed.args.push(format!("-Wl,{}", kept.join(",")));
            }
        } else if arg == "-Xlinker" && i < args.len() {
            // One linker word, taken verbatim (commas included).
            i += 1;
            if let Some(word) = one(long_word(&args[i - 1]), &mut sealed)? {
                sealed.args.extend(["-Xlinker".to_owned(), word]);
            }
        } else if (arg == "-L" || arg == "-l") && i < args.len() {
            i += 1;
            let value = args[i - 1].as_str();
            let word = if arg == "-L" {
                Word::Dir(value)
            } else {
                Word::Lib(value)
            };
            let kept = one(word, &mut sealed)?;
            sealed.args.extend(kept);
        } else if is_input(arg) {
            check_input(Path::new(arg), search)?;
            sealed.args.push(arg.to_owned());
        } else {
            let kept = one(short_word(arg), &mut sealed)?;
            sealed.args.extend(kept);
        }
    }
    Ok(sealed)
}

/// One word of a link line as far as library search is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word<'a> {
    /// `-LDIR`.
    Dir(&'a str),
    /// `-lNAME` or `-l:FILE` (the part after `-l`).
    Lib(&'a str),
    /// Anything else, passed through.
    Other(&'a str),
}

/// Every library word of the arguments: plain, `-Wl,` lists and `-Xlinker` words.
fn linker_words(args: &[String]) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if let Some(list) = arg.strip_prefix("-Wl,") {
            words.extend(wl_words(list));
        } else if (arg == "-L" || arg == "-l" || arg == "-Xlinker") && i < args.len() {
            i += 1;
            let value = args[i - 1].as_str();
            words.push(match arg {
                "-L" => Word::Dir(value),
                "-l" => Word::Lib(value),
                _ => long_word(value),
            });
        } else {
            words.push(short_word(arg));
        }
    }
    words
}

/// The words of a `-Wl,` list; `-L,DIR` and `-l,NAME` take the next item as their value.
fn wl_words(list: &str) -> Vec<Word<'_>> {
    let items: Vec<&str> = list.split(',').collect();
    let mut words = Vec::new();
    let mut j = 0;
    while j < items.len() {
        let item = items[j];
        j += 1;
        match item {
            "-L" if j < items.len() => {
                j += 1;
                words.push(Word::Dir(items[j - 1]));
            }
            "-l" if j < items.len() => {
                j += 1;
                words.push(Word::Lib(items[j - 1]));
            }
            _ => words.push(long_word(item)),
        }
    }
    words
}

/// A linker word: the driver's short forms and the linker's long ones.
fn long_word(word: &str) -> Word<'_> {
    if let Some(dir) = word.strip_prefix("--library-path=") {
        return Word::Dir(dir);
    }
    if let Some(lib) = word.strip_prefix("--library=") {
        return Word::Lib(lib);
    }
    short_word(word)
}

/// `-LDIR`, `-lNAME`, or anything else.
fn short_word(word: &str) -> Word<'_> {
    if let Some(dir) = word.strip_prefix("-L").filter(|v| !v.is_empty()) {
        return Word::Dir(dir);
    }
    if let Some(lib) = word.strip_prefix("-l").filter(|v| !v.is_empty()) {
        return Word::Lib(lib);
    }
    Word::Other(word)
}

fn dropped_dir(dir: &str) -> String {
    format!(
        "kiln: ignoring -L{dir}: the host's libraries are built for glibc and never link into an image"
    )
}

/// Objects, archives and shared objects named as inputs.
fn is_input(arg: &str) -> bool {
    !arg.starts_with('-')
        && (arg.ends_with(".o")
            || arg.ends_with(".a")
            || arg.ends_with(".so")
            || arg.contains(".so.")
            || arg.ends_with(".lo"))
}

fn check_input(path: &Path, search: &SearchPath) -> Result<(), Failure> {
    let shown = path.display();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.ends_with(".so") || name.contains(".so.") {
        return Err(Failure::new(
            1,
            format!(
                "{shown}: a shared library cannot go into an image (no dynamic loader); link its static archive (.a) built for Kiln instead"
            ),
        ));
    }
    if search.is_host_path(path) {
        return Err(Failure::new(
            1,
            format!(
                "{shown} is one of the host's libraries, built for glibc; it never links into an image: {}",
                how_to_provide(&name)
            ),
        ));
    }
    Ok(())
}

/// The path to link for `lib`, `None` when a builtin covers it.
fn resolve(
    lib: Lib<'_>,
    user_dirs: &[PathBuf],
    search: &SearchPath,
    sealed: &mut Sealed,
) -> Result<Option<String>, Failure> {
    let file = lib.file_name();
    let find = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file());
    if let Some(found) = find(user_dirs) {
        return Ok(Some(found.display().to_string()));
    }
    if let Lib::Name(name) = lib {
        match builtin(name) {
            Some(Builtin::Libc | Builtin::Libgcc) => return Ok(None),
            Some(Builtin::Cxx(part)) => {
                sealed.cxx = sealed.cxx.max(part);
                return Ok(None);
            }
            None => {}
        }
    }
    if let Some(found) = find(&search.system) {
        return Ok(Some(found.display().to_string()));
    }
    Err(Failure::new(1, missing_message(&lib, user_dirs, search)))
}

/// The message for a library found nowhere: what was searched, the host's copy if there is
/// one, and how to provide it.
pub fn missing_message_for(flag: &str, search: &SearchPath) -> String {
    let spec = flag.strip_prefix("-l").unwrap_or(flag);
    missing_message(&Lib::parse(spec), &[], search)
}

fn missing_message(lib: &Lib<'_>, user_dirs: &[PathBuf], search: &SearchPath) -> String {
    let file = lib.file_name();
    let searched: Vec<String> = user_dirs
        .iter()
        .chain(&search.system)
        .map(|d| d.display().to_string())
        .collect();
    let mut message = format!(
        "{}: no {file} built for Kiln (searched {})",
        lib.flag(),
        searched.join(", ")
    );
    let shared = match lib {
        Lib::Name(name) => format!("lib{name}.so"),
        Lib::File(file) => (*file).to_owned(),
    };
    let host_copy = HOST_HINT_DIRS
        .iter()
        .flat_map(|dir| [Path::new(dir).join(&file), Path::new(dir).join(&shared)])
        .find(|p| p.exists());
    if let Some(host) = host_copy {
        message.push_str(&format!(
            ". The host's {} is built for glibc and never links into an image",
            host.display()
        ));
    }
    message.push_str(&format!(": {}", how_to_provide(&file)));
    message
}

fn how_to_provide(file: &str) -> String {
    let stem = file
        .strip_prefix("lib")
        .unwrap_or(file)
        .split(".so")
        .next()
        .unwrap_or(file)
        .trim_end_matches(".a");
    format!(
        "build {stem} with Kiln's toolchain as a static library (cmake -DCMAKE_TOOLCHAIN_FILE=<kiln>/cmake/kiln.cmake, or CC=<kiln>/bin/kiln-cc) and pass -L with its directory; see docs/porting.md, \"Libraries\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let dir = std::env::temp_dir().join(format!("kiln-libs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for sub in ["user", "sysroot", "musl"] {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
            }
            Tree(dir)
        }
        fn touch(&self, path: &str) -> PathBuf {
            let p = self.0.join(path);
            std::fs::write(&p, b"!<arch>\n").unwrap();
            p
        }
        fn search(&self) -> SearchPath {
            SearchPath {
                system: vec![self.0.join("sysroot"), self.0.join("musl")],
                allowed: vec![],
            }
        }
        fn user(&self) -> String {
            format!("-L{}", self.0.join("user").display())
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn musl_names_and_cxx_names_need_no_archive() {
        let tree = Tree::new("builtin");
        let args = strings(&[
            "main.o",
            "-lpthread",
            "-lrt",
            "-ldl",
            "-lm",
            "-lutil",
            "-lcrypt",
            "-lresolv",
            "-lxnet",
            "-lc",
            "-lgcc",
        ]);
        let sealed = seal(&args, &tree.search()).unwrap();
        assert_eq!(sealed.args, ["main.o"]);
        assert_eq!(sealed.cxx, CxxRuntime::None);
        let sealed = seal(&strings(&["-lgcc_eh"]), &tree.search()).unwrap();
        assert_eq!(sealed.cxx, CxxRuntime::Unwind);
        let sealed = seal(&strings(&["-lsupc++", "-lgcc_s"]), &tree.search()).unwrap();
        assert_eq!(sealed.cxx, CxxRuntime::Abi);
        let sealed = seal(&strings(&["-lsupc++", "-Wl,-lstdc++"]), &tree.search()).unwrap();
        assert_eq!(sealed.cxx, CxxRuntime::Full);
        assert!(sealed.args.is_empty(), "{:?}", sealed.args);
    }

    #[test]
    fn the_callers_directories_come_first_then_the_builtins_then_the_system() {
        let tree = Tree::new("order");
        let own_util = tree.touch("user/libutil.a");
        let z_sysroot = tree.touch("sysroot/libz.a");
        tree.touch("musl/libz.a");
        let own_z = tree.touch("user/libz.a");
        // -L after the -l still applies.
        let args = strings(&["-lutil", "-lz", &tree.user()]);
        let sealed = seal(&args, &tree.search()).unwrap();
        assert_eq!(
            sealed.args,
            [
                own_util.display().to_string(),
                own_z.display().to_string(),
                tree.user()
            ]
        );
        std::fs::remove_file(&own_z).unwrap();
        let sealed = seal(&strings(&["-l", "z"]), &tree.search()).unwrap();
        assert_eq!(sealed.args, [z_sysroot.display().to_string()]);
    }

    #[test]
    fn a_missing_library_names_itself_and_says_what_to_do() {
        let tree = Tree::new("missing");
        let err = seal(&strings(&["-lnosuchlib_kiln"]), &tree.search()).unwrap_err();
        assert_eq!(err.code, 1);
        assert!(
            err.message
                .starts_with("-lnosuchlib_kiln: no libnosuchlib_kiln.a built for Kiln (searched "),
            "{}",
            err.message
        );
        assert!(err.message.contains("docs/porting.md"), "{}", err.message);
        // Only a shared library in the way: still missing (images link statically).
        tree.touch("user/libshared.so");
        let err = seal(&strings(&[&tree.user(), "-lshared"]), &tree.search()).unwrap_err();
        assert!(
            err.message.starts_with("-lshared: no libshared.a"),
            "{}",
            err.message
        );
        let err = seal(&strings(&["-Wl,--library=:libabc.a"]), &tree.search()).unwrap_err();
        assert!(
            err.message.starts_with("-l:libabc.a: no libabc.a"),
            "{}",
            err.message
        );
    }

    #[test]
    fn host_directories_and_host_inputs_are_refused() {
        let tree = Tree::new("host");
        let sealed = seal(
            &strings(&[
                "-L/usr/lib/x86_64-linux-gnu",
                "-L",
                "/lib",
                "-Wl,-L/usr/local/lib,--gc-sections",
                "-Wl,-rpath,/x",
            ]),
            &tree.search(),
        )
        .unwrap();
        assert_eq!(sealed.args, ["-Wl,--gc-sections", "-Wl,-rpath,/x"]);
        assert_eq!(sealed.warnings.len(), 3, "{:?}", sealed.warnings);
        assert!(sealed.warnings[0].contains("ignoring -L/usr/lib/x86_64-linux-gnu"));

        let err = seal(
            &strings(&["/usr/lib/x86_64-linux-gnu/libc_nonshared.a"]),
            &tree.search(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("one of the host's libraries"),
            "{}",
            err.message
        );
        let err = seal(&strings(&["libfoo.so.1"]), &tree.search()).unwrap_err();
        assert!(err.message.contains("shared library"), "{}", err.message);
        // musl's own directory is allowed even though it lies under /usr/lib.
        let search = SearchPath {
            allowed: vec![PathBuf::from("/usr/lib/x86_64-linux-musl")],
            ..tree.search()
        };
        let sealed = seal(&strings(&["-L/usr/lib/x86_64-linux-musl"]), &search).unwrap();
        assert_eq!(sealed.args, ["-L/usr/lib/x86_64-linux-musl"]);
        assert!(!is_host_path(Path::new("/home/me/lib"), &[]));
        assert!(is_host_path(
            Path::new("/usr/lib/gcc/x86_64-linux-gnu/12"),
            &[]
        ));
    }

    #[test]
    fn xlinker_words_follow_the_same_rules() {
        let tree = Tree::new("xlinker");
        let z = tree.touch("sysroot/libz.a");
        let sealed = seal(
            &strings(&[
                "-Xlinker",
                "-lz",
                "-Xlinker",
                "-L/usr/lib",
                "-Xlinker",
                "-lstdc++",
            ]),
            &tree.search(),
        )
        .unwrap();
        assert_eq!(
            sealed.args,
            ["-Xlinker".to_owned(), z.display().to_string()]
        );
        assert_eq!(sealed.cxx, CxxRuntime::Full);
        assert_eq!(sealed.warnings.len(), 1);
    }
}
