//! The C libraries `kiln pkg` builds from Debian source packages (pkg/*.sh), each checked with
//! its own test program or a representative one, built for Kiln by the package's own build
//! and booted in a VM, against the same image run natively on the Linux host (an image is
//! also a Linux program: tests/native.rs) and, where the package ships them, its expected
//! outputs: zlib's example round trip, pcre2test on its test inputs, libevent's sample
//! servers answered by clients, the SQLite shell on a workload, and a subset of OpenSSL's
//! test/ programs that runs without fork. Then CMake and autotools projects that need these
//! libraries find them through the toolchain file and bin/kiln-pkg-config, unchanged.
//!
//! The first run builds the packages into target/kiln/pkg (OpenSSL takes minutes); later
//! runs reuse them (`kiln pkg` keys each build by version, recipe and flags).

use kiln_tests::netns::{console_lines, expect_line};
use kiln_tests::{
    kiln, pkg_build, pkg_tests, root, run_ok, run_with_deadline, scratch_dir, GroupChild, Output,
};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Boots `image` with `--files files` (if any) and `args`; 1 GiB of memory.
fn in_vm(image: &Path, files: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = kiln();
    cmd.arg("run")
        .arg(image)
        .args(["-m", "1G", "--timeout", "600"]);
    if let Some(files) = files {
        cmd.arg("--files").arg(files);
    }
    cmd.arg("--").args(args);
    run_with_deadline(&mut cmd, Duration::from_secs(700))
}

/// Runs `image` natively on the host in `cwd`.
fn natively(image: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(image);
    cmd.current_dir(cwd).env_clear().args(args);
    run_with_deadline(&mut cmd, Duration::from_secs(300))
}

/// Panics unless the VM printed what the native run printed, with the same status.
fn assert_same(what: &str, native: &Output, vm: &Output) {
    assert!(
        !native.stdout.is_empty(),
        "{what}: the native run printed nothing\n{}",
        native.describe()
    );
    let (n, v) = (kiln_tests::strip_kiln_lines(&native.stdout), vm.app());
    if n != v {
        let line = n
            .lines()
            .zip(v.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| n.lines().count().min(v.lines().count()));
        panic!(
            "{what}: the VM's output differs from the native run's at line {}:\n  native: {:?}\n  vm:     {:?}\n{}",
            line + 1,
            n.lines().nth(line),
            v.lines().nth(line),
            vm.describe()
        );
    }
    assert_eq!(
        vm.status,
        native.status,
        "{what}: exit status\n{}",
        vm.describe()
    );
}

#[test]
fn zlib_example_round_trips_in_the_vm_as_natively() {
    let tests = pkg_tests("zlib");
    let example = tests.join("example");
    let scratch = scratch_dir("pkg-zlib");
    let native = natively(&example, &scratch, &[]);
    native.assert_status(0);
    assert!(
        native.stdout.starts_with("zlib version 1.")
            && native
                .stdout
                .contains("inflate with dictionary: hello, hello!"),
        "{}",
        native.describe()
    );
    // The gzip file goes to the VM's tmpfs.
    let vm = in_vm(&example, None, &["/tmp/foo.gz"]);
    assert_same("zlib example", &native, &vm);
}

/// pcre2test on PCRE2's own test inputs (RunTest's tests 1, 2, 4, 5, 6 and 7: Perl
/// compatibility, the API and errors, UTF and Unicode properties, the DFA matcher): the VM
/// must print exactly the expected output PCRE2 ships (test 2's file ends with lines from a
/// second run RunTest appends; the rest must match) and the same as natively.
#[test]
fn pcre2test_passes_its_test_inputs_in_the_vm() {
    let tests = pkg_tests("pcre2");
    let pcre2test = tests.join("pcre2test");
    let data = tests.join("testdata");
    for n in [1, 2, 4, 5, 6, 7] {
        let input = format!("testinput{n}");
        // The expected outputs hold bytes that are not UTF-8; both sides are read lossily.
        let expected =
            String::from_utf8_lossy(&std::fs::read(data.join(format!("testoutput{n}"))).unwrap())
                .into_owned();
        let native = natively(&pcre2test, &data, &["-q", &input]);
        let vm = in_vm(&pcre2test, Some(&data), &["-q", &input]);
        vm.assert_status(0);
        let out = vm.app();
        let matches = if n == 2 {
            expected.starts_with(&out) && expected.len() - out.len() < 1000
        } else {
            out == expected
        };
        assert!(
            matches,
            "pcre2test {input}: the VM's output is not testoutput{n}\n{}",
            vm.describe()
        );
        assert_same(&format!("pcre2test {input}"), &native, &vm);
    }
}

/// The SQLite shell from the package runs tests/pkg/sqlite-shell.sql (100,000 rows, an index,
/// joins, window and JSON functions, a rollback, the file closed and reopened, FTS5, an
/// R*Tree) with the database on the VM's tmpfs, printing what it prints natively.
#[test]
fn the_sqlite_shell_runs_a_workload_in_the_vm_as_natively() {
    let tests = pkg_tests("sqlite");
    let shell = tests.join("sqlite3");
    let files = scratch_dir("pkg-sqlite-files");
    std::fs::copy(
        root().join("tests/pkg/sqlite-shell.sql"),
        files.join("workload.sql"),
    )
    .unwrap();
    let scratch = scratch_dir("pkg-sqlite");
    let script = files.join("workload.sql");
    let native = natively(
        &shell,
        &scratch,
        &["-batch", "test.db", &format!(".read {}", script.display())],
    );
    native.assert_status(0);
    for line in [
        "100000|12487500.0",
        "changed",
        "3|kiln turns [programs] into VMs",
        "1|1",
    ] {
        assert!(
            native.stdout.contains(line),
            "{line}\n{}",
            native.describe()
        );
    }
    let vm = in_vm(
        &shell,
        Some(&files),
        &["-batch", "test.db", ".read /workload.sql"],
    );
    assert_same("sqlite3 workload", &native, &vm);
}

/// A free TCP port on the host's loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Reads what the server at 127.0.0.1:`port` sends until it closes (retrying the connect
/// while the server starts).
fn read_all_from(port: u16) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut text = String::new();
            if stream.read_to_string(&mut text).is_ok() && !text.is_empty() {
                return text;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// libevent's sample servers, in the VM (through `kiln run -p`) and natively, answered by
/// clients: hello-world's greeting to raw TCP clients, http-server's files and directory
/// listing to curl.
#[test]
fn libevent_sample_servers_answer_clients_in_the_vm_and_natively() {
    let tests = pkg_tests("libevent");
    // hello-world: listens on 9995, writes its greeting to each connection and closes it.
    let hello = tests.join("hello-world");
    let port = free_port();
    let mut vm = GroupChild::spawn(
        kiln()
            .args(["run", "--timeout", "300", "-p", &format!("{port}:9995")])
            .arg(&hello)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // kiln run's stderr too: the runtime's lines come over the host channel.
    let rx = console_lines(&mut vm.0);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2");
    for _ in 0..3 {
        assert_eq!(read_all_from(port), "Hello, World!\n");
    }
    drop(vm);
    let mut native = GroupChild::spawn(
        Command::new(&hello)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    assert_eq!(read_all_from(9995), "Hello, World!\n");
    let _ = native.0.kill();

    // http-server: serves the files of its document root.
    let docroot = scratch_dir("pkg-libevent-www");
    std::fs::create_dir_all(docroot.join("www")).unwrap();
    std::fs::write(
        docroot.join("www/hello.txt"),
        "hello from libevent in Kiln\n",
    )
    .unwrap();
    let http = tests.join("http-server");
    let fetch = |base: &str| {
        let body = kiln_tests::http::run_tool(
            Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "20",
                    "--retry",
                    "20",
                    "--retry-connrefused",
                ])
                .arg(format!("{base}/hello.txt")),
        )
        .0;
        let listing = kiln_tests::http::run_tool(
            Command::new("curl")
                .args(["-sS", "--max-time", "20"])
                .arg(format!("{base}/")),
        )
        .0;
        (body, listing)
    };
    let port = free_port();
    let mut vm = GroupChild::spawn(
        kiln()
            .args(["run", "--timeout", "300", "-p", &format!("{port}:8080")])
            .arg("--files")
            .arg(&docroot)
            .arg(&http)
            .args(["--", "-p", "8080", "/www"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // kiln run's stderr too: the runtime's lines come over the host channel.
    let rx = console_lines(&mut vm.0);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "Listening on 0.0.0.0:8080");
    let (body, listing) = fetch(&format!("http://127.0.0.1:{port}"));
    assert_eq!(body, "hello from libevent in Kiln\n");
    assert!(listing.contains("hello.txt"), "{listing}");
    drop(vm);
    let port = free_port();
    let mut native = GroupChild::spawn(
        Command::new(&http)
            .env_clear()
            .args(["-p", &port.to_string()])
            .arg(docroot.join("www"))
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let (native_body, native_listing) = fetch(&format!("http://127.0.0.1:{port}"));
    let _ = native.0.kill();
    assert_eq!(native_body, body);
    // readdir's order is the file system's (ext4's hash order natively): compare the lines.
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&native_listing), sorted(&listing));
}

/// The TAP lines (`ok N - name`, `not ok ...`, plans) of an OpenSSL test's output.
fn tap_results(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r').trim_start())
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok") || l.starts_with("1.."))
        .map(str::to_owned)
        .collect()
}

/// OpenSSL's own test programs (TAP output) that run without fork, each in a VM and
/// natively: evp_test over digest, cipher, MAC, KDF and signature vectors, the RSA and
/// ASN.1/X.509 time tests, TLS 1.3's record protection against RFC 8448's
/// vectors, TLS 1.3 handshakes with middlebox-compatible CCS records, SNI and record-length
/// limits between two SSL objects, and sslapitest
/// (hundreds of TLS 1.2 and 1.3 handshakes in memory: resumption, tickets, key updates,
/// early data, ALPN, ...). Every test must pass in both, with the same results. (bntest and
/// ecdsatest take minutes under TCG: bench/openssl-tests.sh runs them with these.)
#[test]
fn openssl_test_programs_pass_in_the_vm() {
    let tests = pkg_tests("openssl");
    let files = tests.join("files");
    let evp_data = "test/recipes/30-test_evp_data";
    let server_pem = || {
        ["apps/server.pem", "apps/server.pem"]
            .map(String::from)
            .to_vec()
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("tls13encryptiontest", vec![]),
        ("tls13ccstest", server_pem()),
        ("servername_test", server_pem()),
        ("recordlentest", server_pem()),
        ("rsa_test", vec![]),
        ("x509_time_test", vec![]),
        ("asn1_time_test", vec![]),
        (
            "sslapitest",
            [
                "test/certs",
                "test/recipes/90-test_sslapi_data/passwd.txt",
                "/tmp/sslapitest.tmp",
                "default",
                "test/default.cnf",
                "test/recipes/90-test_sslapi_data/dhparams.pem",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ]
    .into_iter()
    .chain(
        [
            "evpmd_sha.txt",
            "evpciph_aes_common.txt",
            "evpciph_chacha.txt",
            "evpmac_common.txt",
            "evpkdf_hkdf.txt",
            "evpkdf_tls13_kdf.txt",
            "evppkey_ecdsa.txt",
            "evppkey_ecx.txt",
        ]
        .into_iter()
        .map(|f| {
            (
                "evp_test",
                vec![
                    "-config".into(),
                    "test/default.cnf".into(),
                    format!("{evp_data}/{f}"),
                ],
            )
        }),
    )
    .collect();
    for (program, args) in &cases {
        let image = tests.join("bin").join(program);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Natively the test files are relative to files/, as they are to / in the VM.
        let native_args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace(
                    "/tmp/sslapitest.tmp",
                    &scratch_dir("pkg-ssl").join("tmp").display().to_string(),
                )
            })
            .collect();
        let native_args: Vec<&str> = native_args.iter().map(String::as_str).collect();
        let native = natively(&image, &files, &native_args);
        native.assert_status(0);
        let vm = in_vm(&image, Some(&files), &args);
        let what = format!("{program} {}", args.join(" "));
        vm.assert_status(0);
        let results = tap_results(&vm.app());
        assert!(
            !results.is_empty(),
            "{what}: no TAP results\n{}",
            vm.describe()
        );
        assert!(
            !results.iter().any(|r| r.starts_with("not ok")),
            "{what}: a test failed in the VM\n{}",
            vm.describe()
        );
        assert_eq!(
            results,
            tap_results(&native.stdout),
            "{what}\n{}",
            vm.describe()
        );
    }
}

/// The openssl program from the package: its version, digests equal to the host's openssl,
/// and random bytes (RAND_status is 1 after boot: getrandom from the runtime's CSPRNG).
#[test]
fn the_openssl_program_digests_and_draws_random_bytes_in_the_vm() {
    let tests = pkg_tests("openssl");
    let openssl = tests.join("bin/openssl");
    let files = scratch_dir("pkg-openssl-files");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(files.join("data.bin"), &data).unwrap();
    let out = in_vm(&openssl, None, &["version"]);
    out.assert_status(0);
    assert!(out.app().starts_with("OpenSSL 3.0."), "{}", out.describe());
    for digest in ["-sha256", "-sha3-256", "-sha512"] {
        let host = run_ok(
            Command::new("openssl")
                .args(["dgst", digest, "-r"])
                .arg(files.join("data.bin")),
        );
        let host = host.split_whitespace().next().unwrap().to_owned();
        let vm = in_vm(&openssl, Some(&files), &["dgst", digest, "-r", "/data.bin"]);
        vm.assert_status(0);
        assert!(
            vm.app().starts_with(&host),
            "openssl dgst {digest}\n{}",
            vm.describe()
        );
    }
    let vm = in_vm(&openssl, None, &["rand", "-hex", "32"]);
    vm.assert_status(0);
    let hex = vm.app().trim().to_owned();
    assert!(
        hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        vm.describe()
    );
    let again = in_vm(&openssl, None, &["rand", "-hex", "32"]);
    assert_ne!(
        again.app().trim(),
        hex,
        "two boots drew the same random bytes"
    );
}

/// Copies `tests/<name>` into a fresh scratch directory.
fn copy_project(name: &str) -> PathBuf {
    let dest = scratch_dir(name);
    run_ok(
        Command::new("cp")
            .arg("-R")
            .arg(root().join("tests").join(name).join("."))
            .arg(&dest),
    );
    dest
}

/// tests/cmake-libs: a CMake project that knows nothing of Kiln and needs every library:
/// find_package(OpenSSL REQUIRED), find_package(ZLIB REQUIRED), find_package(SQLite3
/// REQUIRED), pkg_check_modules for PCRE2 and libevent (with its OpenSSL part). Configured
/// with only -DCMAKE_TOOLCHAIN_FILE, it finds them in the Kiln sysroot (never the host's
/// libssl-dev or zlib1g-dev), builds, and the image uses each library in the VM.
#[test]
fn a_cmake_project_finds_the_libraries_with_only_the_toolchain_file() {
    pkg_build(&["openssl", "zlib", "sqlite", "pcre2", "libevent"]);
    let src = copy_project("cmake-libs");
    let build = src.join("build");
    let toolchain = root().join("cmake/kiln.cmake");
    let configure = run_with_deadline(
        Command::new("cmake")
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(&build)
            .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display())),
        Duration::from_secs(600),
    );
    configure.assert_status(0);
    let sysroot = root().join("target/kiln/sysroot");
    for name in ["OPENSSL_SSL", "ZLIB", "SQLITE3", "PCRE2", "LIBEVENT"] {
        let line = configure
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("-- kiln-libs: {name}=")))
            .unwrap_or_else(|| panic!("no {name} line\n{}", configure.describe()));
        assert!(
            line.contains(&sysroot.display().to_string()),
            "{name} found outside the Kiln sysroot: {line}"
        );
    }
    let built = run_with_deadline(
        Command::new("cmake").arg("--build").arg(&build),
        Duration::from_secs(600),
    );
    built.assert_status(0);
    let vm = in_vm(&build.join("uses-libs"), None, &[]);
    vm.assert_status(0);
    assert_same(
        "uses-libs",
        &natively(&build.join("uses-libs"), &build, &[]),
        &vm,
    );
    let out = vm.app();
    for line in [
        "openssl: OpenSSL 3.0.",
        "sha256(abc): ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "zlib: 1.2.13 round trip ok",
        "sqlite: 3.40.1 select 42",
        "pcre2: matched 2024-06-01",
        "libevent: 2.1.12-stable timer fired",
        "libevent_openssl: bufferevent over an SSL object ok",
    ] {
        assert!(out.contains(line), "{line:?} missing\n{}", vm.describe());
    }
}

/// tests/autotools-libs: an autotools project that finds OpenSSL and zlib with
/// PKG_CHECK_MODULES and libevent with AC_CHECK_LIB, configured without --host through
/// bin/kiln-pkg-config; the image uses them in the VM.
#[test]
fn an_autotools_project_finds_the_libraries_through_kiln_pkg_config() {
    pkg_build(&["openssl", "zlib", "libevent"]);
    for tool in ["autoreconf", "make"] {
        assert!(
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .status()
                .unwrap()
                .success(),
            "{tool} not found: run `./kiln doctor --install`"
        );
    }
    let dir = copy_project("autotools-libs");
    run_ok(Command::new("autoreconf").arg("-fi").current_dir(&dir));
    let log = run_ok(
        Command::new(dir.join("configure"))
            .current_dir(&dir)
            .arg(format!("CC={}", root().join("bin/kiln-cc").display()))
            .arg(format!(
                "PKG_CONFIG={}",
                root().join("bin/kiln-pkg-config").display()
            )),
    );
    for line in [
        "checking whether we are cross compiling... no",
        "checking for openssl >= 3.0... yes",
        "checking for zlib... yes",
        "checking for event_base_new in -levent... yes",
    ] {
        assert!(
            log.contains(line),
            "configure did not print {line:?}\n{log}"
        );
    }
    let makefile = std::fs::read_to_string(dir.join("Makefile")).unwrap();
    assert!(
        makefile.contains(
            &root()
                .join("target/kiln/sysroot/usr/include")
                .display()
                .to_string()
        ),
        "the OpenSSL flags do not point into the Kiln sysroot"
    );
    run_ok(Command::new("make").current_dir(&dir));
    let vm = in_vm(&dir.join("uses-libs"), None, &[]);
    vm.assert_status(0);
    assert_same(
        "autotools uses-libs",
        &natively(&dir.join("uses-libs"), &dir, &[]),
        &vm,
    );
    assert!(
        vm.app().contains("zlib: 1.2.13 round trip ok"),
        "{}",
        vm.describe()
    );
}

/// `kiln pkg` refuses what it cannot do with a clear message.
#[test]
fn kiln_pkg_names_unknown_recipes_and_versions() {
    let out = kiln_tests::run_kiln(["pkg", "build", "no-such-library"]);
    assert_eq!(out.status, 2, "{}", out.describe());
    assert!(
        out.stderr
            .contains("no recipe named \"no-such-library\" (known: ")
            && out.stderr.contains("openssl"),
        "{}",
        out.describe()
    );
    let out = kiln_tests::run_kiln(["pkg", "list"]);
    out.assert_status(0);
    for name in ["openssl", "zlib", "pcre2", "libevent", "sqlite"] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(name)),
            "{}",
            out.describe()
        );
    }
}

/// An existing CMake project, curl from its Debian source package (`kiln pkg source curl`),
/// whose CMakeLists uses find_package(OpenSSL REQUIRED) and find_package(ZLIB): configured
/// with only -DCMAKE_TOOLCHAIN_FILE, it finds both in the Kiln sysroot, builds, and its curl
/// (libcurl over OpenSSL and zlib) runs in the VM as natively.
#[test]
fn curls_cmake_build_finds_openssl_and_zlib_with_only_the_toolchain_file() {
    pkg_build(&["openssl", "zlib"]);
    let out = run_with_deadline(
        kiln().args(["pkg", "source", "curl"]),
        Duration::from_secs(600),
    );
    out.assert_status(0);
    let tree = PathBuf::from(out.stdout.trim());
    assert!(tree.join("CMakeLists.txt").is_file(), "{}", out.describe());
    let build = scratch_dir("pkg-curl");
    let toolchain = root().join("cmake/kiln.cmake");
    let configure = run_with_deadline(
        Command::new("cmake")
            .arg("-S")
            .arg(&tree)
            .arg("-B")
            .arg(&build)
            .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display())),
        Duration::from_secs(900),
    );
    configure.assert_status(0);
    let sysroot = root()
        .join("target/kiln/sysroot/usr/lib")
        .display()
        .to_string();
    for found in [
        format!("Found OpenSSL: {sysroot}/libcrypto.a"),
        format!("Found ZLIB: {sysroot}/libz.a"),
    ] {
        assert!(
            configure.stdout.contains(&found),
            "no {found:?}\n{}",
            configure.describe()
        );
    }
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    run_with_deadline(
        Command::new("cmake")
            .arg("--build")
            .arg(&build)
            .args(["--target", "curl", "-j", &jobs]),
        Duration::from_secs(1800),
    )
    .assert_status(0);
    let curl = build.join("src/curl");
    let files = scratch_dir("pkg-curl-files");
    std::fs::write(files.join("note.txt"), "read by libcurl\n").unwrap();
    let vm = in_vm(&curl, Some(&files), &["--version"]);
    vm.assert_status(0);
    let version = vm.app();
    for part in ["OpenSSL/3.0.", "zlib/1.2.13", "https"] {
        assert!(
            version.contains(part),
            "{part} missing from curl --version\n{version}"
        );
    }
    assert_same(
        "curl --version",
        &natively(&curl, &build, &["--version"]),
        &vm,
    );
    let vm = in_vm(&curl, Some(&files), &["-sS", "file:///note.txt"]);
    vm.assert_status(0);
    assert_eq!(vm.app(), "read by libcurl\n", "{}", vm.describe());
}
