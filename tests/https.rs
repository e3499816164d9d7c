//! HTTPS from a VM: examples-c/https-hello (OpenSSL 3 from `kiln pkg`, TLS 1.2 and 1.3,
//! HTTP/1.1 keep-alive) with a certificate and key from the VM's files (`--files`), against
//! real clients: curl with `--cacert` over IPv4 through `kiln run -p` and over IPv6 (and
//! IPv4) on a tap in a private namespace; `openssl s_client` for TLS 1.2, TLS 1.3 and
//! session resumption of both; `wrk` over TLS with zero errors; testssl.sh (Debian's) with
//! no finding rated CRITICAL or HIGH. The server reports OpenSSL's RAND_status at start: 1,
//! seeded from getrandom (the runtime's ChaCha20 CSPRNG), also with `kiln.entropy=strict`
//! and on a CPU without RDRAND/RDSEED given a virtio-rng.
//!
//! The tap tests need root (network namespaces, tap devices) and fail without it; CI runs
//! them as root. Traffic stays on the host's loopback or inside the namespace.

use kiln_tests::http::{self, curl, response_headers, wrk_without_errors_within, Tools};
use kiln_tests::netns::{
    console_lines, expect_line, expect_static_addresses, static_append, wait_for,
};
use kiln_tests::netns::{Netns, MICROVM};
use kiln_tests::netns::{GUEST4, GUEST6};
use kiln_tests::{example_image, kiln, pkg_build, run_ok, scratch_dir, GroupChild};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Kiln</title></head>\n\
                    <body><h1>Hello from Kiln over TLS!</h1></body></html>\n";
/// The name the certificate is for (with the guest's addresses and loopback as IP names).
const NAME: &str = "kiln.test";

/// The image, built against the Kiln sysroot's OpenSSL.
fn image() -> PathBuf {
    pkg_build(&["openssl"]);
    example_image("https-hello", "https-hello")
}

/// A test CA and a server certificate (ECDSA P-256, SHA-256, a year) signed by it, made with
/// the host's openssl: `DIR/ca.pem`, and the VM's files `DIR/files/etc/https-hello/{cert,key}.pem`.
fn certificates(tag: &str) -> PathBuf {
    let dir = scratch_dir(tag);
    let files = dir.join("files/etc/https-hello");
    std::fs::create_dir_all(&files).unwrap();
    let openssl = |args: &[&str]| {
        run_ok(Command::new("openssl").current_dir(&dir).args(args));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "365",
        "-subj",
        "/CN=Kiln test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        &format!("/CN={NAME}"),
        "-keyout",
        "files/etc/https-hello/key.pem",
        "-out",
        "server.csr",
    ]);
    // testssl.sh rates a certificate without a CRL or OCSP address HIGH: name both (they are
    // never fetched).
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "subjectAltName=DNS:{NAME},DNS:localhost,IP:127.0.0.1,IP:::1,IP:{GUEST4},IP:{GUEST6}\n\
             basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\ncrlDistributionPoints=URI:http://{NAME}/ca.crl\n\
             authorityInfoAccess=OCSP;URI:http://{NAME}/ocsp\n"
        ),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        "server.ext",
        "-out",
        "files/etc/https-hello/cert.pem",
    ]);
    dir
}

/// The value of the last response header `name` (lowercase) in curl's log.
fn header(log: &str, name: &str) -> Option<String> {
    response_headers(log)
        .into_iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// curl against `base` (`https://NAME:PORT`) with `--cacert`: the page twice over one
/// keep-alive connection (TLS 1.3), HEAD, a 404, TLS 1.2 when asked for, `Connection: close`.
fn pages(tools: Tools, base: &str, ca: &Path, extra: &[&str]) {
    let ca = ca.display().to_string();
    let mut args = vec!["--cacert", ca.as_str()];
    args.extend(extra);
    let root = format!("{base}/");
    let (body, log) = curl(tools, &args, &[&root, &root]);
    assert_eq!(body, format!("{PAGE}{PAGE}"), "{log}");
    http::assert_reused(&log);
    assert!(log.contains("SSL certificate verify ok"), "{log}");
    let tls = header(&log, "x-kiln-tls").unwrap_or_default();
    assert!(tls.starts_with("TLSv1.3 TLS_"), "X-Kiln-TLS: {tls}\n{log}");
    assert_eq!(header(&log, "connection").as_deref(), Some("keep-alive"));

    let mut head = args.clone();
    head.push("-I");
    let (body, _) = curl(tools, &head, &[&root]);
    assert!(
        body.starts_with("HTTP/1.1 200 OK\r\n") && !body.contains("Hello"),
        "{body}"
    );

    let mut code = args.clone();
    code.extend(["-w", "[%{http_code}]"]);
    let (body, _) = curl(tools, &code, &[&format!("{base}/missing")]);
    assert_eq!(body, "Not Found[404]");

    let mut tls12 = args.clone();
    tls12.extend(["--tlsv1.2", "--tls-max", "1.2"]);
    let (body, log) = curl(tools, &tls12, &[&root]);
    assert_eq!(body, PAGE, "{log}");
    let tls = header(&log, "x-kiln-tls").unwrap_or_default();
    assert!(
        tls.starts_with("TLSv1.2 ECDHE-ECDSA-"),
        "X-Kiln-TLS: {tls}\n{log}"
    );

    let mut close = args.clone();
    close.extend(["-H", "Connection: close"]);
    let (body, log) = curl(tools, &close, &[&root, &root]);
    assert_eq!(body, format!("{PAGE}{PAGE}"), "{log}");
    assert!(!log.contains("Re-using existing connection"), "{log}");
}

/// One `openssl s_client` connection to `host:port` (SNI `NAME`) that sends a request with
/// `Connection: close` and reads to the end; `extra` are its options (`-tls1_2`,
/// `-sess_out FILE`, ...). Returns everything it printed.
fn s_client(tools: Tools, connect: &str, ca: &Path, extra: &[&str]) -> String {
    let mut child = tools("openssl")
        .args([
            "s_client",
            "-connect",
            connect,
            "-servername",
            NAME,
            "-CAfile",
        ])
        .arg(ca)
        .args(["-ign_eof"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("GET / HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "s_client {extra:?} failed\n{text}");
    text
}

/// s_client with TLS 1.2 and with TLS 1.3: the certificate verifies, the protocol is the one
/// asked for, the page comes back; then each resumes its session from the file the first
/// connection saved (a ticket for 1.3; ticket or session ID for 1.2), and the server says so.
fn s_client_versions_and_resumption(tools: Tools, connect: &str, ca: &Path, scratch: &Path) {
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let session = scratch.join(format!("session{flag}.pem"));
        let first = s_client(
            tools,
            connect,
            ca,
            &[flag, "-sess_out", session.to_str().unwrap()],
        );
        assert!(first.contains("Verify return code: 0 (ok)"), "{first}");
        assert!(
            first.contains(&format!("Protocol  : {version}"))
                || first.contains(&format!("New, {version}")),
            "{first}"
        );
        assert!(first.contains("Hello from Kiln over TLS!"), "{first}");
        assert!(
            first.contains(&format!("X-Kiln-TLS: {version} ")) && first.contains("resumed=0"),
            "{first}"
        );
        let again = s_client(
            tools,
            connect,
            ca,
            &[flag, "-sess_in", session.to_str().unwrap()],
        );
        assert!(
            again.contains(&format!("Reused, {version}")),
            "{version} not resumed\n{again}"
        );
        assert!(
            again.contains("resumed=1"),
            "the server did not resume\n{again}"
        );
    }
}

/// Over QEMU's user networking, as a user without root runs it: `kiln run -p PORT:443 --files`.
#[test]
fn https_hello_over_user_networking_serves_curl_s_client_and_wrk() {
    let img = image();
    let certs = certificates("https-usernet");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut guest = GroupChild::spawn(
        kiln()
            .args(["run", "--timeout", "300", "-m", "512M"])
            .args(["-p", &format!("{port}:443")])
            .arg("--files")
            .arg(certs.join("files"))
            .arg(&img)
            .args(["--", "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // The runtime's `kiln:` lines come on kiln run's stderr (the host channel).
    let rx = console_lines(&mut guest.0);
    let mut seen = Vec::new();
    let start = wait_for(&rx, &mut seen, Duration::from_secs(120), |l| {
        l.starts_with("https-hello: OpenSSL 3.")
    });
    assert!(
        start
            .as_deref()
            .is_some_and(|l| l.ends_with("RAND_status 1")),
        "RAND_status after boot:\n{}",
        seen.join("\n")
    );
    expect_line(&rx, &mut seen, "https-hello: listening on port 443");
    let dhcp = wait_for(&rx, &mut seen, Duration::from_secs(60), |l| {
        l.starts_with("kiln: net: eth0 10.0.2.15/")
    });
    assert!(dhcp.is_some(), "no DHCP address:\n{}", seen.join("\n"));

    let ca = certs.join("ca.pem");
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let base = format!("https://{NAME}:{port}");
    pages(&http::host, &base, &ca, &["--resolve", &resolve]);
    s_client_versions_and_resumption(&http::host, &format!("127.0.0.1:{port}"), &ca, &certs);
    wrk_without_errors_within(
        &http::host,
        &format!("https://127.0.0.1:{port}/"),
        4,
        10,
        100,
        15,
    );
    pages(&http::host, &base, &ca, &["--resolve", &resolve]);
}

/// Boots https-hello on a tap (microvm) with the static addresses and the certificates;
/// returns the namespace (dropping it ends the guest) once it listens.
fn boot_on_tap(tag: &str, certs: &Path, append: &str, options: &[&str]) -> (Netns, Vec<String>) {
    let img = image();
    let mut ns = Netns::new(tag);
    ns.set_timeout(600);
    let files = certs.join("files").display().to_string();
    let mut opts = vec!["--files", files.as_str(), "-m", "512M"];
    opts.extend(options);
    let append = format!("{} {append}", static_append());
    let rx = ns.boot_image(MICROVM.machine, &opts, append.trim(), &img, &["-q"]);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "https-hello: listening on port 443");
    expect_static_addresses(&rx, &mut seen);
    (ns, seen)
}

/// On a tap: curl over IPv6 and IPv4, s_client, wrk with 50 connections over IPv6, and
/// testssl.sh over IPv4 with no finding rated CRITICAL or HIGH.
#[test]
fn https_hello_on_a_tap_serves_ipv6_and_ipv4_and_testssl_rates_it_clean() {
    let certs = certificates("https-tap");
    let (ns, seen) = boot_on_tap("https", &certs, "", &[]);
    assert!(
        seen.iter()
            .any(|l| l.starts_with("https-hello: OpenSSL 3.") && l.ends_with("RAND_status 1")),
        "{}",
        seen.join("\n")
    );
    let tools = |t: &str| ns.command(t);
    let ca = certs.join("ca.pem");
    pages(&tools, &format!("https://[{GUEST6}]"), &ca, &[]);
    pages(&tools, &format!("https://{GUEST4}"), &ca, &[]);
    s_client_versions_and_resumption(&tools, &format!("[{GUEST6}]:443"), &ca, &certs);
    // Every connection starts with a handshake (an ECDSA signature and an X25519 exchange in
    // the guest): under TCG 50 of them at once queue for a second or more, past wrk's default
    // 2 s request timeout on a busy host. The test is about errors, not latency.
    wrk_without_errors_within(&tools, &format!("https://[{GUEST6}]/"), 50, 10, 200, 15);

    kiln_tests::require_system_tools(&["testssl"]);
    let json = certs.join("testssl.json");
    let mut cmd = tools("testssl");
    // Every check that rates findings (protocols, certificate and server defaults, server
    // preference, cipher categories, forward secrecy, vulnerabilities, headers); only the
    // client simulation, which rates nothing and takes most of the time, is left out.
    cmd.args(["--quiet", "--color", "0", "--warnings", "off"])
        .args(["-p", "-S", "-P", "-s", "-f", "-U", "-h", "--add-ca"])
        .arg(&ca)
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("{GUEST4}:443"));
    let out = cmd.output().expect("testssl");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("testssl.sh:\n{report}");
    let findings = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("{}: {e}\n{report}", json.display()));
    let bad: Vec<&str> = findings
        .lines()
        .filter(|l| {
            l.contains("\"severity\"") && (l.contains("\"CRITICAL\"") || l.contains("\"HIGH\""))
        })
        .collect();
    // The JSON lists one object per finding; a severity line sits between its id and finding.
    let ids: Vec<String> = findings
        .split("},")
        .filter(|obj| obj.contains("\"CRITICAL\"") || obj.contains("\"HIGH\""))
        .map(|obj| obj.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        bad.is_empty(),
        "testssl.sh rated findings CRITICAL or HIGH:\n{}\n{report}",
        ids.join("\n")
    );
    assert!(
        findings.contains("\"TLS1_3\"") && findings.contains("\"offered with final\""),
        "{findings}"
    );
}

/// Entropy for TLS: with `kiln.entropy=strict` the VM boots only with a hardware source, and
/// OpenSSL is seeded; on a CPU without RDRAND/RDSEED, a virtio-rng is the source.
#[test]
fn openssl_is_seeded_under_strict_entropy_and_from_virtio_rng() {
    let certs = certificates("https-entropy");
    for options in [&[][..], &["--cpu", "max,-rdrand,-rdseed", "--rng"]] {
        let (_ns, seen) = boot_on_tap("https-rng", &certs, "kiln.entropy=strict", options);
        assert!(
            seen.iter()
                .any(|l| l.starts_with("https-hello: OpenSSL 3.") && l.ends_with("RAND_status 1")),
            "{options:?}\n{}",
            seen.join("\n")
        );
    }
    // Strict without any source refuses to boot (status 125) before the program runs.
    let out = kiln_tests::run_image_with(
        &image(),
        &[
            "--cpu",
            "max,-rdrand,-rdseed",
            "--files",
            certs.join("files").to_str().unwrap(),
        ],
        &["kiln.entropy=strict"],
        &["-q"],
    );
    assert_eq!(out.status, 125, "{}", out.describe());
    assert!(!out.stdout.contains("https-hello:"), "{}", out.describe());
}
