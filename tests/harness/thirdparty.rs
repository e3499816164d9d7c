//! Third-party C code for the tests, from registry packages that vendor it: SQLite's
//! amalgamation from the `libsqlite3-sys` crate and Lua 5.4 from `lua-src`, both fetched by
//! cargo (`tests/thirdparty/sources/Cargo.toml` names them; `cargo metadata` downloads them
//! into ~/.cargo/registry and says where). Compiled once with Kiln's flags, then linked both
//! as a static Linux executable (`kiln link --host`) and as a Kiln image, with the drivers in
//! `tests/thirdparty/`.

use crate::{compile, kiln, root, run_ok, runtime_dir, work_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Which program to build.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Program {
    /// `sqlite_driver DATABASE SCRIPT...`
    Sqlite,
    /// `lua_driver SCRIPT ARGS...`
    Lua,
}

/// A static Linux executable, or a Kiln image.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Host,
    Image,
}

/// `tests/thirdparty/`.
pub fn dir() -> PathBuf {
    root().join("tests").join("thirdparty")
}

/// The source directories: (SQLite's `sqlite3/`, Lua's `lua-5.4.x/`).
fn sources() -> &'static (PathBuf, PathBuf) {
    static SOURCES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SOURCES.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = dir().join("sources").join("Cargo.toml");
        let json = run_ok(
            Command::new(cargo)
                .args(["metadata", "--format-version", "1", "--manifest-path"])
                .arg(&manifest),
        );
        let package_dir = |name: &str| -> PathBuf {
            // Each package's "manifest_path":"…/NAME-VERSION/Cargo.toml".
            json.split("\"manifest_path\":\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .map(Path::new)
                .find(|p| {
                    p.parent()
                        .and_then(Path::file_name)
                        .is_some_and(|d| d.to_string_lossy().starts_with(&format!("{name}-")))
                })
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| {
                    panic!(
                        "`cargo metadata` on {} did not list {name}",
                        manifest.display()
                    )
                })
        };
        let sqlite = package_dir("libsqlite3-sys").join("sqlite3");
        let lua_src = package_dir("lua-src");
        let lua = std::fs::read_dir(&lua_src)
            .expect("read the lua-src package")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("lua-5.4"))
            })
            .unwrap_or_else(|| panic!("{} has no lua-5.4 sources", lua_src.display()));
        assert!(
            sqlite.join("sqlite3.c").is_file(),
            "{} has no sqlite3.c",
            sqlite.display()
        );
        (sqlite, lua)
    })
}

fn newer(output: &Path, inputs: &[&Path]) -> bool {
    let Ok(out) = output.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    inputs.iter().all(|i| {
        i.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t <= out)
    })
}

/// Compiles `source` into `obj_dir` unless an up-to-date object is there.
fn object(source: &Path, obj_dir: &Path, extra: &[&str]) -> PathBuf {
    let stem = source
        .file_stem()
        .expect("a source file name")
        .to_string_lossy();
    let obj = obj_dir.join(format!("{stem}.o"));
    if !newer(&obj, &[source]) {
        compile(source, &obj, extra);
    }
    obj
}

/// The objects of `program` (library and driver), compiled once with Kiln's flags.
fn objects(program: Program) -> Vec<PathBuf> {
    let (sqlite, lua) = sources();
    let out = work_dir().join("thirdparty");
    match program {
        Program::Sqlite => {
            let dir_obj = out.join("sqlite");
            std::fs::create_dir_all(&dir_obj).expect("create the sqlite object directory");
            let inc = format!("-I{}", sqlite.display());
            let defines = [
                "-DSQLITE_THREADSAFE=0",
                "-DSQLITE_OMIT_LOAD_EXTENSION",
                "-w",
            ];
            vec![
                object(&sqlite.join("sqlite3.c"), &dir_obj, &defines),
                object(&dir().join("sqlite_driver.c"), &dir_obj, &[inc.as_str()]),
            ]
        }
        Program::Lua => {
            let dir_obj = out.join("lua");
            std::fs::create_dir_all(&dir_obj).expect("create the lua object directory");
            let inc = format!("-I{}", lua.display());
            let mut sources: Vec<PathBuf> = std::fs::read_dir(lua)
                .expect("read the Lua sources")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "c"))
                .filter(|p| !p.ends_with("lua.c") && !p.ends_with("luac.c"))
                .collect();
            sources.sort();
            let mut objs: Vec<PathBuf> = sources
                .iter()
                .map(|s| object(s, &dir_obj, &["-DLUA_USE_POSIX", "-w"]))
                .collect();
            objs.push(object(
                &dir().join("lua_driver.c"),
                &dir_obj,
                &[inc.as_str()],
            ));
            objs
        }
    }
}

/// The executable or image of `program`, built at most once per test process.
pub fn build(program: Program, target: Target) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    runtime_dir();
    let objs = objects(program);
    let name = match program {
        Program::Sqlite => "sqlite_driver",
        Program::Lua => "lua_driver",
    };
    let out_dir = work_dir().join("thirdparty").join(match target {
        Target::Host => "host",
        Target::Image => "image",
    });
    std::fs::create_dir_all(&out_dir).expect("create the output directory");
    let exe = out_dir.join(name);
    let mut link = kiln();
    link.arg("link");
    if target == Target::Host {
        link.arg("--host");
    }
    run_ok(link.arg("-o").arg(&exe).args(&objs));
    exe
}
