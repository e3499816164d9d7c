//! Shared helpers for the integration tests: build the C programs of `tests/programs/` as Kiln
//! images (once per test process) and as static musl host executables, boot images with
//! `./kiln run`, and compare what they print.
//!
//! The tests drive the `./kiln` command at the repository root exactly as a user would, so
//! they exercise the CLI, the CMake toolchain file, libc-shim and the runtime together.
//!
//! Skip policy: nothing skips. A missing tool (QEMU, clang, CMake) makes the test fail with a
//! message that says to run `./kiln doctor --install`; CI installs everything.

pub mod http;
pub mod netns;
pub mod thirdparty;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The prefix of every line the kernel itself prints on the console.
pub const KILN_PREFIX: &str = "kiln:";

/// Seconds `./kiln run` may let a guest run (`--timeout`).
pub const GUEST_TIMEOUT_SECS: u64 = 120;

/// How long the harness waits for any child process before killing it: the guest timeout
/// plus room for `./kiln run` to build and start QEMU.
const CHILD_DEADLINE: Duration = Duration::from_secs(GUEST_TIMEOUT_SECS + 60);

/// The repository root (the parent of this crate's directory).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ has a parent directory")
            .to_path_buf()
    })
}

/// Where the tests keep what they build: `target/kiln-tests/`.
pub fn work_dir() -> PathBuf {
    // Images linked with the debug kernel (`KILN_KERNEL=debug`) are kept apart.
    let debug = std::env::var("KILN_KERNEL").is_ok_and(|v| v == "debug");
    root().join("target").join(if debug {
        "kiln-tests-debug"
    } else {
        "kiln-tests"
    })
}

/// The directory of the C test programs, `tests/programs/`.
pub fn programs_src() -> PathBuf {
    root().join("tests").join("programs")
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// Fails (never skips) unless the test runs as root, saying `why` root is needed: CI runs
/// the suite as root.
pub fn require_root(why: &str) {
    // /proc/self/status names the effective uid (the second field of `Uid:`).
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    assert_eq!(
        euid, "0",
        "{why} needs root: run `cargo test` as root, as CI does"
    );
}

/// Fails unless every one of `tools` is in a system bin directory.
pub fn require_system_tools(tools: &[&str]) {
    for tool in tools {
        let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).is_file());
        assert!(found, "{tool} not found: run `./kiln doctor --install`");
    }
}

/// Fails the test (never skips) if a tool the tests need is missing.
pub fn require_tools() {
    for tool in ["qemu-system-x86_64", "cmake", "grub-file", "nm"] {
        assert!(
            on_path(tool),
            "{tool} not found on PATH: run `./kiln doctor --install` to install what Kiln needs"
        );
    }
    assert!(
        on_path("clang") || on_path("clang-14"),
        "clang not found on PATH: run `./kiln doctor --install` to install what Kiln needs"
    );
    assert!(
        root().join("kiln").is_file(),
        "{} is missing: the kiln command must be at the repository root",
        root().join("kiln").display()
    );
}

/// A `./kiln` command run from the repository root.
pub fn kiln() -> Command {
    let mut cmd = Command::new(root().join("kiln"));
    cmd.current_dir(root());
    cmd
}

/// What a finished process printed and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    pub stdout: String,
    pub stderr: String,
    /// The exit status (a process killed by a signal is reported as 128 + signal, like a shell).
    pub status: i32,
    /// True if the harness killed the process at its deadline.
    pub timed_out: bool,
}

impl Output {
    /// The program's own output: stdout without the kernel's `kiln:` lines and without `\r`.
    pub fn app(&self) -> String {
        strip_kiln_lines(&self.stdout)
    }

    /// The kernel's own lines (those starting with `kiln:`) from stdout and stderr.
    pub fn kiln_lines(&self) -> Vec<String> {
        console_lines(&self.stdout)
            .chain(console_lines(&self.stderr))
            .filter(|line| line.starts_with(KILN_PREFIX))
            .map(str::to_owned)
            .collect()
    }

    /// Everything printed, stdout then stderr, for searching and messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the process exited with `expected`.
    pub fn assert_status(&self, expected: i32) -> &Self {
        assert!(
            !self.timed_out && self.status == expected,
            "`{}` exited with {}{} (expected {expected})\n{}",
            self.command,
            self.status,
            if self.timed_out {
                " after the harness killed it at its deadline"
            } else {
                ""
            },
            self.describe()
        );
        self
    }

    /// The full output, framed, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "--- stdout of `{}` ---\n{}\n--- stderr ---\n{}\n--- end ---",
            self.command, self.stdout, self.stderr
        )
    }
}

/// Lines of console text with any `\r` removed.
pub fn console_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|line| line.trim_end_matches('\r'))
}

/// Console text without the kernel's `kiln:` lines; every kept line ends with `\n`.
pub fn strip_kiln_lines(text: &str) -> String {
    console_lines(text)
        .filter(|line| !line.starts_with(KILN_PREFIX))
        .flat_map(|line| [line, "\n"])
        .collect()
}

fn describe_command(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|arg| {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            format!("'{arg}'")
        } else {
            arg.into_owned()
        }
    }));
    words.join(" ")
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error only truncates what we show; the exit status still decides.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` (stdin closed) to completion or until `deadline`, capturing stdout and stderr.
pub fn run_with_deadline(cmd: &mut Command, deadline: Duration) -> Output {
    let command = describe_command(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let stdout = read_all(child.stdout.take().expect("stdout is piped"));
    let stderr = read_all(child.stderr.take().expect("stderr is piped"));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > deadline {
            timed_out = true;
            // The child may have exited in between; either way it is reaped below.
            let _ = child.kill();
            break child.wait().expect("wait for killed child");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let status = match status.code() {
        Some(code) => code,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Output {
        command,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        status,
        timed_out,
    }
}

/// Runs `cmd` and panics with its output unless it succeeds; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    try_run_ok(cmd).unwrap_or_else(|message| panic!("{message}"))
}

/// Runs `cmd`; its stdout if it succeeds, else a message with all its output.
pub fn try_run_ok(cmd: &mut Command) -> Result<String, String> {
    let out = run_with_deadline(cmd, CHILD_DEADLINE);
    if out.status == 0 && !out.timed_out {
        Ok(out.stdout)
    } else {
        Err(format!(
            "`{}` failed with status {}{}\n{}",
            out.command,
            out.status,
            if out.timed_out {
                " (the harness killed it at its deadline)"
            } else {
                ""
            },
            out.describe()
        ))
    }
}

/// The value of a one-time setup step; a failed step fails every test that needs it without
/// being retried (each retry would repeat a long build only to fail the same way).
fn once<T>(
    cell: &'static OnceLock<Result<T, String>>,
    init: impl FnOnce() -> Result<T, String>,
) -> &'static T {
    match cell.get_or_init(init) {
        Ok(value) => value,
        Err(message) => panic!("{message}"),
    }
}

/// `target/kiln`, after `./kiln runtime` has (re)built the runtime and shim archives.
/// Runs once per test process.
pub fn runtime_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once::<PathBuf>(&DIR, || {
        require_tools();
        let printed = try_run_ok(kiln().arg("runtime"))?;
        let dir = printed
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .map(|line| root().join(line))
            .unwrap_or_else(|| root().join("target").join("kiln"));
        if !dir.join("libkiln_runtime.a").is_file() {
            return Err(format!(
                "`./kiln runtime` printed {printed:?} but {} has no libkiln_runtime.a",
                dir.display()
            ));
        }
        Ok(dir)
    })
}

/// How long `./kiln pkg` may take to build a package and what it needs (OpenSSL: minutes).
const PKG_DEADLINE: Duration = Duration::from_secs(3600);

/// `./kiln pkg tests NAME`: builds the package (and what it needs) into the Kiln sysroot if
/// it is not built yet, (re)links its test programs, and returns their directory. Once per
/// test process and package; `./kiln pkg` serializes concurrent builds itself.
pub fn pkg_tests(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    runtime_dir();
    let mut built = BUILT.lock().unwrap_or_else(|poison| poison.into_inner());
    let result = built
        .get_or_insert_with(HashMap::new)
        .entry(name.to_owned())
        .or_insert_with(|| {
            let out = run_with_deadline(kiln().args(["pkg", "tests", name]), PKG_DEADLINE);
            if out.status != 0 {
                return Err(format!(
                    "`./kiln pkg tests {name}` failed\n{}",
                    out.describe()
                ));
            }
            out.stdout
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .map(|l| PathBuf::from(l.trim()))
                .filter(|p| p.is_dir())
                .ok_or_else(|| {
                    format!(
                        "`./kiln pkg tests {name}` printed no directory\n{}",
                        out.describe()
                    )
                })
        })
        .clone();
    match result {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    }
}

/// `./kiln pkg build NAMES...`: the packages (and what they need) in the Kiln sysroot. Once
/// per test process for each set of names.
pub fn pkg_build(names: &[&str]) {
    static BUILT: Mutex<Option<HashMap<String, Result<(), String>>>> = Mutex::new(None);
    runtime_dir();
    let mut built = BUILT.lock().unwrap_or_else(|poison| poison.into_inner());
    let result = built
        .get_or_insert_with(HashMap::new)
        .entry(names.join(" "))
        .or_insert_with(|| {
            let out = run_with_deadline(kiln().args(["pkg", "build"]).args(names), PKG_DEADLINE);
            if out.status == 0 {
                Ok(())
            } else {
                Err(format!(
                    "`./kiln pkg build {}` failed\n{}",
                    names.join(" "),
                    out.describe()
                ))
            }
        })
        .clone();
    if let Err(message) = result {
        panic!("{message}");
    }
}

/// Builds the CMake project `src` into `build` with `./kiln build SRC -B BUILD` (the Kiln
/// toolchain file): each program's image is `<build>/<name>`.
fn build_project(src: &Path, build: &Path) -> Result<PathBuf, String> {
    runtime_dir();
    try_run_ok(kiln().arg("build").arg(src).arg("-B").arg(build))?;
    Ok(build.to_path_buf())
}

/// The build directory of `tests/programs` (`target/kiln-tests/programs`), built once per test
/// process.
pub fn programs_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once::<PathBuf>(&DIR, || {
        build_project(&programs_src(), &work_dir().join("programs"))
    })
}

/// libc-shim's test programs, `tests/shim/`.
pub fn shim_src() -> PathBuf {
    root().join("tests").join("shim")
}

/// The build directory of `tests/shim` (`target/kiln-tests/shim`), built once per test process.
pub fn shim_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once::<PathBuf>(&DIR, || {
        build_project(&shim_src(), &work_dir().join("shim"))
    })
}

/// The event API's test programs, `tests/event/`.
pub fn event_src() -> PathBuf {
    root().join("tests").join("event")
}

/// The build directory of `tests/event` (`target/kiln-tests/event`), built once per test
/// process.
pub fn event_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once::<PathBuf>(&DIR, || {
        build_project(&event_src(), &work_dir().join("event"))
    })
}

/// The image of the example project `examples-c/<dir>` (or `examples-cpp/<dir>`), named
/// `name`, built once per test process into `target/kiln-tests/examples/<dir>`.
pub fn example_image(dir: &str, name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    runtime_dir();
    let mut built = BUILT.lock().unwrap_or_else(|poison| poison.into_inner());
    let map = built.get_or_insert_with(HashMap::new);
    let result = map
        .entry(dir.to_owned())
        .or_insert_with(|| {
            let src = ["examples-c", "examples-cpp"]
                .iter()
                .map(|top| root().join(top).join(dir))
                .find(|p| p.join("CMakeLists.txt").is_file())
                .ok_or_else(|| format!("no example project named {dir}"))?;
            build_project(&src, &work_dir().join("examples").join(dir))
        })
        .clone();
    match result {
        Ok(build) => build.join(name),
        Err(e) => panic!("building the example {dir} failed:\n{e}"),
    }
}

/// The Kiln image of the test program `name` (`tests/programs/<name>.c`).
pub fn image(name: &str) -> PathBuf {
    let path = programs_dir().join(name);
    assert!(
        path.is_file(),
        "the programs build made no image {}",
        path.display()
    );
    path
}

/// The compiler flags of `./kiln config --cflags`, split into words.
pub fn cflags() -> &'static [String] {
    static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        require_tools();
        shell_words(&run_ok(kiln().args(["config", "--cflags"])))
    })
}

/// The compiler flags of `./kiln config --cxxflags`, split into words.
pub fn cxxflags() -> &'static [String] {
    static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        require_tools();
        shell_words(&run_ok(kiln().args(["config", "--cxxflags"])))
    })
}

/// Splits a shell-quoted line (as `kiln config` prints) into words: whitespace separates,
/// '…' and "…" group, a backslash outside single quotes escapes the next character.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.get_or_insert_with(String::new).push(c),
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// Optimization flags for the host twins; the CMakeLists.txt of `tests/programs` and
/// `tests/shim` use the same.
pub const OPT_FLAGS: &[&str] = &["-O2"];

/// The clang driver Kiln compiles with (`./kiln config --cc`).
pub fn cc() -> &'static Path {
    static CC: OnceLock<PathBuf> = OnceLock::new();
    CC.get_or_init(|| {
        require_tools();
        PathBuf::from(run_ok(kiln().args(["config", "--cc"])).trim())
    })
}

/// Compiles `source` with `./kiln config --cc` and `--cflags` (or `--cxxflags` for a `.cpp`)
/// into the object `object`.
pub fn compile(source: &Path, object: &Path, extra: &[&str]) {
    let flags = if is_cxx(source) { cxxflags() } else { cflags() };
    run_ok(
        Command::new(cc())
            .args(flags)
            .args(OPT_FLAGS)
            .args(extra)
            .arg("-c")
            .arg(source)
            .arg("-o")
            .arg(object),
    );
}

fn is_cxx(source: &Path) -> bool {
    source.extension().is_some_and(|ext| ext == "cpp")
}

/// The host (Linux, static musl) twin of `tests/programs/<name>.c`.
pub fn host_binary(name: &str) -> PathBuf {
    host_binary_in(&programs_src(), name)
}

/// The host (Linux, static musl) twin of the program `<name>.c` or `<name>.cpp` in `src_dir`:
/// compiled with the same flags as its image and linked by `./kiln link --host` (with `--cxx`
/// for C++) into `target/kiln-tests/host/<src_dir's name>/`. Built at most once per test
/// process.
pub fn host_binary_in(src_dir: &Path, name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<PathBuf, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|poison| poison.into_inner());
    let key = src_dir.join(name);
    if let Some(path) = built.get_or_insert_with(HashMap::new).get(&key) {
        return path.clone();
    }
    runtime_dir();
    let group = src_dir.file_name().unwrap_or(OsStr::new("programs"));
    let dir = work_dir().join("host").join(group);
    std::fs::create_dir_all(&dir).expect("create target/kiln-tests/host");
    let source = ["c", "cpp"]
        .iter()
        .map(|ext| src_dir.join(format!("{name}.{ext}")))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{} has no {name}.c or {name}.cpp", src_dir.display()));
    let object = dir.join(format!("{name}.o"));
    let exe = dir.join(name);
    compile(&source, &object, &[]);
    let mut link = kiln();
    link.args(["link", "--host"]);
    if is_cxx(&source) {
        link.arg("--cxx");
    }
    run_ok(link.arg("-o").arg(&exe).arg(&object));
    built
        .get_or_insert_with(HashMap::new)
        .insert(key, exe.clone());
    exe
}

/// Boots `image` with `./kiln run IMAGE --timeout 120 [--append APPEND] -- ARGS`.
/// `append` words go on the kernel command line before `--` (options, `NAME=value`).
pub fn run_image(image: &Path, append: &[&str], args: &[&str]) -> Output {
    run_image_with(image, &[], append, args)
}

/// As [`run_image`], with extra `./kiln run` options (e.g. `--cpu`, `max,-rdrand`) before
/// `--append`.
pub fn run_image_with(image: &Path, options: &[&str], append: &[&str], args: &[&str]) -> Output {
    let mut cmd = kiln();
    cmd.arg("run")
        .arg(image)
        .arg("--timeout")
        .arg(GUEST_TIMEOUT_SECS.to_string())
        .args(options);
    if !append.is_empty() {
        cmd.arg("--append").arg(append.join(" "));
    }
    cmd.arg("--").args(args);
    run_with_deadline(&mut cmd, CHILD_DEADLINE)
}

/// Runs a host executable with exactly the environment `env` and the arguments `args`.
///
/// The program starts with every signal's default action, as a login shell's command does:
/// a test runner started in the background by a non-interactive shell (`cmd &`, nohup)
/// ignores SIGINT and SIGQUIT, and an ignored disposition survives `execve`, which would
/// make the host's run differ from the guest's (which inherits nothing).
pub fn run_host(exe: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(exe);
    cmd.env_clear().args(args);
    // SAFETY: between fork and exec the closure only calls signal(2), which is
    // async-signal-safe, and touches no memory of the parent's.
    unsafe {
        cmd.pre_exec(|| {
            for sig in 1..libc::SIGRTMIN() {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    run_with_deadline(&mut cmd, Duration::from_secs(60))
}

/// Runs `./kiln ARGS` (no guest involved unless the arguments ask for one).
pub fn run_kiln<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    require_tools();
    run_with_deadline(kiln().args(args), CHILD_DEADLINE)
}

/// A fresh, empty scratch directory `target/kiln-tests/tmp/<name>`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = work_dir().join("tmp").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear scratch directory");
    }
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Runs `exe` on the host and boots `image` with the same arguments and environment
/// (`env` is the host's whole environment and goes on the kernel command line before `--`),
/// and panics unless both print the same stdout (minus the kernel's `kiln:` lines) and end
/// with the same status. Returns both outputs for further checks.
pub fn same_on_host_and_guest(
    exe: &Path,
    image: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Output, Output) {
    let append: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let append: Vec<&str> = append.iter().map(String::as_str).collect();
    let (host, guest) = thread::scope(|s| {
        let guest = s.spawn(|| run_image(image, &append, args));
        (run_host(exe, env, args), guest.join().expect("guest run"))
    });
    let name = image.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        !host.timed_out,
        "the host run of {name} timed out\n{}",
        host.describe()
    );
    let host_out = strip_kiln_lines(&host.stdout);
    assert!(
        !host_out.is_empty(),
        "the host run of {name} printed nothing\n{}",
        host.describe()
    );
    let guest_out = guest.app();
    if host_out != guest_out {
        let first = host_out
            .lines()
            .zip(guest_out.lines())
            .position(|(h, g)| h != g)
            .unwrap_or_else(|| host_out.lines().count().min(guest_out.lines().count()));
        panic!(
            "{name}: the guest's output differs from the host's at line {}:\n  host:  {:?}\n  \
             guest: {:?}\n--- host stdout ---\n{host_out}{}",
            first + 1,
            host_out.lines().nth(first),
            guest_out.lines().nth(first),
            guest.describe()
        );
    }
    assert_eq!(
        guest.status,
        host.status,
        "{name}: the guest exited with {} but the host with {}\n{}",
        guest.status,
        host.status,
        guest.describe()
    );
    (host, guest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_handles_quotes_and_escapes() {
        assert_eq!(
            shell_words(r#"-I '/a b' "-DX=1 2" c\ d  -O2 ''"#),
            ["-I", "/a b", "-DX=1 2", "c d", "-O2", ""]
        );
    }

    #[test]
    fn strips_kernel_lines_and_carriage_returns() {
        let text = "kiln: boot\r\nhello\r\nkiln: exit status 0\r\n";
        assert_eq!(strip_kiln_lines(text), "hello\n");
    }
}

/// A child process in a process group of its own (`./kiln run` and the QEMU it starts), killed
/// as a whole group when dropped; for guests that serve until stopped.
#[derive(Debug)]
pub struct GroupChild(pub std::process::Child);

impl GroupChild {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> GroupChild {
        use std::os::unix::process::CommandExt;
        GroupChild(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")),
        )
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// `len` pseudo-random bytes from a xorshift64 generator whose state is `*x` (advanced), so
/// a test's data is reproducible and a dropped, repeated or reordered piece shows.
pub fn xorshift_bytes(x: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x as u8
        })
        .collect()
}
