//! The DNS server (examples-cpp/dns-server), run natively on loopback: `dig` and `kdig` for
//! every record type and rcode over UDP and TCP, IPv4 and IPv6, with and without EDNS; a
//! differential run against Knot DNS; malformed datagrams; TCP pipelining; zone-file errors;
//! the libFuzzer targets; the same sources built as a static musl+libc++ twin, as C++20
//! with clang and libc++, and as Kiln images: both front ends (event, the default, and
//! posix) booted with `./kiln run -p` and checked with the same dig/kdig cases, rcodes,
//! malformed datagrams and pipelining over IPv4 (QEMU user networking forwards from
//! 127.0.0.1), and booted on a tap in a private network namespace on every platform
//! (microvm, q35 virtio, q35 e1000) and checked the same way over IPv6 (fd77::2), with
//! truncation and IPv4 on the same guest.
//!
//! Network traffic goes to 127.0.0.1, ::1 and the private namespaces only. Nothing skips: a
//! missing tool fails with a message to run `./kiln doctor --install`; the tap tests need
//! root (CI runs as root) and fail with a message saying so without it.

use kiln_tests::netns::{
    expect_static_addresses, static_append, wait_for, Netns, Platform, GUEST4, GUEST6,
};
use kiln_tests::{kiln, on_every_platform, root, run_image, run_ok, run_with_deadline, work_dir};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn src() -> PathBuf {
    root().join("examples-cpp").join("dns-server")
}

/// Finds a tool on PATH or in the sbin directories (knotd lives in /usr/sbin).
fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found: run `./kiln doctor --install` to install what Kiln needs")
        })
}

/// Configures and builds the CMake project with extra cache settings into `dir`.
fn cmake_build(dir: &Path, settings: &[&str]) {
    std::fs::create_dir_all(dir).expect("create build directory");
    let mut configure = Command::new(tool("cmake"));
    configure
        .arg("-S")
        .arg(src())
        .arg("-B")
        .arg(dir)
        .args(settings);
    run_ok(&mut configure);
    run_ok(Command::new(tool("cmake")).arg("--build").arg(dir));
}

/// The server built natively with the host's default C++ compiler (g++ and libstdc++).
fn native_server() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = work_dir().join("dns").join("native");
        cmake_build(&dir, &["-DCMAKE_BUILD_TYPE=Release"]);
        dir.join("dns-server")
    })
}

/// A port that was free a moment ago on both UDP and TCP of 127.0.0.1 and ::1.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
        let port = udp.local_addr().expect("local address").port();
        let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("::1", port)).is_ok()
            && std::net::TcpListener::bind(("::1", port)).is_ok();
        if free {
            return port;
        }
    }
}

/// A running server process, killed when dropped.
struct Running {
    child: Child,
    port: u16,
    what: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `exe ARGS` (which must serve kiln.test. or lab.test. on `port`) and waits until it
/// answers on UDP.
fn start(exe: &Path, args: &[String], port: u16, probe: &str) -> Running {
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let running = Running {
        child,
        port,
        what: format!("{} {}", exe.display(), args.join(" ")),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if udp_exchange("127.0.0.1", port, &query(1, probe, 6, 1, None)).is_some() {
            return running;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} did not answer on port {port}", running.what);
}

fn start_ours(zones: &[&str]) -> Running {
    let port = free_port();
    let mut args: Vec<String> = ["-p", &port.to_string(), "-a", "127.0.0.1", "-a", "::1"]
        .map(String::from)
        .to_vec();
    args.extend(
        zones
            .iter()
            .map(|z| src().join("zones").join(z).display().to_string()),
    );
    let probe = if zones.is_empty() {
        "kiln.test"
    } else {
        "lab.test"
    };
    start(native_server(), &args, port, probe)
}

// ---- raw messages ----

/// A query message: id, name, type, class, and EDNS (payload size) if given.
fn query(id: u16, name: &str, qtype: u16, qclass: u16, edns: Option<u16>) -> Vec<u8> {
    let mut m = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&qclass.to_be_bytes());
    if let Some(size) = edns {
        m[11] = 1;
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    m
}

fn udp_exchange(host: &str, port: u16, msg: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(if host.contains(':') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })
    .expect("bind a UDP socket");
    sock.set_read_timeout(Some(Duration::from_millis(400)))
        .expect("set a timeout");
    sock.send_to(msg, (host, port)).expect("send a datagram");
    let mut buf = [0u8; 65536];
    match sock.recv(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

fn rcode(resp: &[u8]) -> u8 {
    resp[3] & 0xF
}

fn ancount(resp: &[u8]) -> u16 {
    u16::from_be_bytes([resp[6], resp[7]])
}

// ---- dig and kdig ----

/// What dig or kdig printed, reduced to the fields compared.
#[derive(Clone, Debug, Default, PartialEq)]
struct Answer {
    status: String,
    flags: BTreeSet<String>,
    edns_udp: Option<u32>,
    answer: BTreeSet<String>,
    authority: BTreeSet<String>,
    additional: BTreeSet<String>,
}

fn after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.find(key).map(|i| &text[i + key.len()..])
}

/// Parses the output of `dig` or `kdig` (their formats differ in the header lines).
fn parse_tool_output(out: &str) -> Answer {
    let mut a = Answer {
        status: after(out, "status: ")
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect()
            })
            .unwrap_or_default(),
        ..Answer::default()
    };
    let flags_at = out.find(";; flags: ").or_else(|| out.find(";; Flags: "));
    if let Some(i) = flags_at {
        let rest = &out[i + 10..];
        let end = rest.find(';').unwrap_or(rest.len());
        a.flags = rest[..end].split_whitespace().map(String::from).collect();
    }
    a.edns_udp = after(out, "; udp: ")
        .or_else(|| after(out, "UDP size: "))
        .and_then(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        });
    let mut section: Option<&mut BTreeSet<String>> = None;
    for line in out.lines() {
        let line = line.trim();
        if line.starts_with(";;") && line.contains("SECTION:") {
            section = if line.contains("ANSWER") {
                Some(&mut a.answer)
            } else if line.contains("AUTHORITY") {
                Some(&mut a.authority)
            } else if line.contains("ADDITIONAL") {
                Some(&mut a.additional)
            } else {
                None
            };
            continue;
        }
        if line.is_empty() || line.starts_with(';') {
            if line.is_empty() {
                section = None;
            }
            continue;
        }
        if let Some(s) = section.as_deref_mut() {
            s.insert(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    a
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Dig,
    Kdig,
}

fn ask(
    client: Client,
    server: &str,
    port: u16,
    tcp: bool,
    edns: bool,
    question: &[&str],
) -> Answer {
    let mut cmd = match client {
        Client::Dig => Command::new(tool("dig")),
        Client::Kdig => Command::new(tool("kdig")),
    };
    cmd.arg(format!("@{server}"))
        .args(["-p", &port.to_string()])
        .args(["+norecurse", "+nomultiline", "+nocookie"]);
    cmd.arg(if tcp { "+tcp" } else { "+notcp" });
    match (client, edns) {
        (_, true) => cmd.arg("+edns=0"),
        (Client::Dig, false) => cmd.args(["+noedns", "+ignore"]),
        (Client::Kdig, false) => cmd.args(["+noedns", "+ignore"]),
    };
    // Last, so that its options (e.g. +edns=1) override the defaults above.
    cmd.args(question);
    let out = run_with_deadline(&mut cmd, Duration::from_secs(30));
    assert!(
        out.status == 0 || !out.stdout.is_empty(),
        "{}",
        out.describe()
    );
    parse_tool_output(&out.stdout)
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

struct Case {
    question: &'static [&'static str],
    status: &'static str,
    aa: bool,
    answer: &'static [&'static str],
    authority: &'static [&'static str],
    additional: &'static [&'static str],
}

const SOA: &str =
    "kiln.test. 300 IN SOA ns1.kiln.test. hostmaster.kiln.test. 2024060101 7200 3600 1209600 300";

const CASES: &[Case] = &[
    Case {
        question: &["www.kiln.test", "A"],
        status: "NOERROR",
        aa: true,
        answer: &["www.kiln.test. 3600 IN A 192.0.2.80"],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["WwW.KiLn.TeSt", "AAAA"],
        status: "NOERROR",
        aa: true,
        answer: &["WwW.KiLn.TeSt. 3600 IN AAAA 2001:db8::80"],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["kiln.test", "SOA"],
        status: "NOERROR",
        aa: true,
        answer: &[
            "kiln.test. 3600 IN SOA ns1.kiln.test. hostmaster.kiln.test. 2024060101 7200 3600 1209600 300",
        ],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["kiln.test", "NS"],
        status: "NOERROR",
        aa: true,
        answer: &["kiln.test. 3600 IN NS ns1.kiln.test.", "kiln.test. 3600 IN NS ns2.kiln.test."],
        authority: &[],
        additional: &[
            "ns1.kiln.test. 3600 IN A 192.0.2.53",
            "ns1.kiln.test. 3600 IN AAAA 2001:db8::53",
            "ns2.kiln.test. 3600 IN A 192.0.2.54",
        ],
    },
    Case {
        question: &["kiln.test", "MX"],
        status: "NOERROR",
        aa: true,
        answer: &[
            "kiln.test. 3600 IN MX 10 mail.kiln.test.",
            "kiln.test. 3600 IN MX 20 mail2.example.net.",
        ],
        authority: &[],
        additional: &[
            "mail.kiln.test. 3600 IN A 192.0.2.25",
            "mail.kiln.test. 3600 IN AAAA 2001:db8::25",
        ],
    },
    Case {
        question: &["txt.kiln.test", "TXT"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"txt.kiln.test. 3600 IN TXT "hello from Kiln" "a second string; with \"quotes\"""#],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["kiln.test", "CAA"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"kiln.test. 3600 IN CAA 0 issue "letsencrypt.org""#],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["_dns._udp.kiln.test", "SRV"],
        status: "NOERROR",
        aa: true,
        answer: &["_dns._udp.kiln.test. 3600 IN SRV 0 5 53 ns1.kiln.test."],
        authority: &[],
        additional: &[
            "ns1.kiln.test. 3600 IN A 192.0.2.53",
            "ns1.kiln.test. 3600 IN AAAA 2001:db8::53",
        ],
    },
    Case {
        question: &["ptr.kiln.test", "PTR"],
        status: "NOERROR",
        aa: true,
        answer: &["ptr.kiln.test. 3600 IN PTR www.kiln.test."],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["alias.kiln.test", "A"],
        status: "NOERROR",
        aa: true,
        answer: &[
            "alias.kiln.test. 3600 IN CNAME web.kiln.test.",
            "web.kiln.test. 3600 IN CNAME www.kiln.test.",
            "www.kiln.test. 3600 IN A 192.0.2.80",
        ],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["ftp.kiln.test", "A"],
        status: "NOERROR",
        aa: true,
        answer: &["ftp.kiln.test. 3600 IN CNAME files.example.org."],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["anything.wild.kiln.test", "TXT"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"anything.wild.kiln.test. 3600 IN TXT "synthesized from *.wild""#],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["a.b.wild.kiln.test", "A"],
        status: "NOERROR",
        aa: true,
        answer: &["a.b.wild.kiln.test. 3600 IN A 192.0.2.99"],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["nope.kiln.test", "A"],
        status: "NXDOMAIN",
        aa: true,
        answer: &[],
        authority: &[SOA],
        additional: &[],
    },
    Case {
        question: &["www.kiln.test", "MX"],
        status: "NOERROR",
        aa: true,
        answer: &[],
        authority: &[SOA],
        additional: &[],
    },
    Case {
        question: &["a.b.kiln.test", "A"],
        status: "NOERROR",
        aa: true,
        answer: &[],
        authority: &[SOA],
        additional: &[],
    },
    Case {
        question: &["host.sub.kiln.test", "A"],
        status: "NOERROR",
        aa: false,
        answer: &[],
        authority: &[
            "sub.kiln.test. 3600 IN NS ns1.sub.kiln.test.",
            "sub.kiln.test. 3600 IN NS ns.example.net.",
        ],
        additional: &[
            "ns1.sub.kiln.test. 3600 IN A 192.0.2.153",
            "ns1.sub.kiln.test. 3600 IN AAAA 2001:db8::153",
        ],
    },
    Case {
        question: &["kiln.test", "ANY"],
        status: "NOERROR",
        aa: true,
        answer: &["kiln.test. 3600 IN A 192.0.2.1"],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["example.com", "A"],
        status: "REFUSED",
        aa: false,
        answer: &[],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["-c", "CH", "-t", "TXT", "version.bind"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"version.bind. 0 CH TXT "kiln-dns 0.1""#],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["-c", "CH", "-t", "TXT", "id.server"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"id.server. 0 CH TXT "kiln""#],
        authority: &[],
        additional: &[],
    },
];

/// Asks every case with dig and kdig, over UDP and TCP, with and without EDNS, of every
/// target (host, UDP port, TCP port), and compares field by field.
fn check_every_case(targets: &[(&str, u16, u16)]) {
    let mut checked = 0;
    for case in CASES {
        for &target in targets {
            checked += check_case(case, target);
        }
    }
    assert_eq!(checked, CASES.len() * 8 * targets.len());
}

/// Asks one case of a target (host, UDP port, TCP port) with dig and kdig, over UDP and TCP,
/// with and without EDNS; returns how many answers it compared.
fn check_case(case: &Case, (host, udp_port, tcp_port): (&str, u16, u16)) -> usize {
    let mut checked = 0;
    for client in [Client::Dig, Client::Kdig] {
        for tcp in [false, true] {
            for edns in [false, true] {
                let port = if tcp { tcp_port } else { udp_port };
                let got = ask(client, host, port, tcp, edns, case.question);
                let mut flags = set(&["qr"]);
                if case.aa {
                    flags.insert("aa".into());
                }
                let expected = Answer {
                    status: case.status.into(),
                    flags,
                    edns_udp: edns.then_some(1232),
                    answer: match client {
                        Client::Dig => set(case.answer),
                        // kdig sends the query name in lower case.
                        Client::Kdig => case
                            .answer
                            .iter()
                            .map(|l| match l.split_once(' ') {
                                Some((owner, rest)) => {
                                    format!("{} {rest}", owner.to_lowercase())
                                }
                                None => l.to_string(),
                            })
                            .collect(),
                    },
                    authority: set(case.authority),
                    additional: set(case.additional),
                };
                assert_eq!(
                    got,
                    expected,
                    "{client:?} @{host} -p {port} {} {} {:?}",
                    if tcp { "tcp" } else { "udp" },
                    if edns { "edns" } else { "no edns" },
                    case.question
                );
                checked += 1;
            }
        }
    }
    checked
}

/// An rcode the answer table does not reach: asked with `clients`, over UDP and TCP, with
/// EDNS (`+edns=0`) and without as `edns` lists; the answer has `status`, only the QR flag,
/// no records, and an OPT (of version 0, 1232 bytes) exactly when the query had one and
/// `opt` is set.
struct RcodeCase {
    clients: &'static [Client],
    question: &'static [&'static str],
    edns: &'static [bool],
    status: &'static str,
    opt: bool,
}

const BOTH: &[Client] = &[Client::Dig, Client::Kdig];

const RCODE_CASES: &[RcodeCase] = &[
    // No question at all (kdig cannot send one without), the RFC 7873 §5.4 cookie probe:
    // FORMERR, with an OPT when the query had one (RFC 6891 §7; issue 20).
    RcodeCase {
        clients: &[Client::Dig],
        question: &["+header-only"],
        edns: &[false, true],
        status: "FORMERR",
        opt: true,
    },
    // Meta types are not questions: OPT (41) and TSIG (250).
    RcodeCase {
        clients: BOTH,
        question: &["kiln.test", "TYPE41"],
        edns: &[false, true],
        status: "FORMERR",
        opt: true,
    },
    RcodeCase {
        clients: BOTH,
        question: &["kiln.test", "TYPE250"],
        edns: &[false, true],
        status: "FORMERR",
        opt: true,
    },
    // Opcode STATUS (kdig cannot set an opcode).
    RcodeCase {
        clients: &[Client::Dig],
        question: &["kiln.test", "+opcode=status"],
        edns: &[false, true],
        status: "NOTIMP",
        opt: true,
    },
    // EDNS version 1: BADVERS, answered with an OPT of version 0 (only with EDNS, by nature).
    RcodeCase {
        clients: &[Client::Dig],
        question: &["kiln.test", "SOA", "+edns=1", "+noednsnegotiation"],
        edns: &[true],
        status: "BADVERS",
        opt: true,
    },
    RcodeCase {
        clients: &[Client::Kdig],
        question: &["kiln.test", "SOA", "+edns=1"],
        edns: &[true],
        status: "BADVERS",
        opt: true,
    },
    // A class other than IN, CH and ANY.
    RcodeCase {
        clients: BOTH,
        question: &["-c", "CLASS4", "kiln.test", "SOA"],
        edns: &[false, true],
        status: "REFUSED",
        opt: true,
    },
];

/// Asks every [`RCODE_CASES`] entry of a target (host, UDP port, TCP port) and compares
/// field by field.
fn check_rcodes((host, udp_port, tcp_port): (&str, u16, u16)) {
    for case in RCODE_CASES {
        for &client in case.clients {
            for tcp in [false, true] {
                for &edns in case.edns {
                    let port = if tcp { tcp_port } else { udp_port };
                    let got = ask(client, host, port, tcp, edns, case.question);
                    let expected = Answer {
                        status: case.status.into(),
                        flags: set(&["qr"]),
                        edns_udp: (edns && case.opt).then_some(1232),
                        ..Answer::default()
                    };
                    assert_eq!(
                        got,
                        expected,
                        "{client:?} @{host} -p {port} {} {} {:?}",
                        if tcp { "tcp" } else { "udp" },
                        if edns { "edns" } else { "no edns" },
                        case.question
                    );
                }
            }
        }
    }
}

/// Types the demo zone lacks, from lab.test.zone: HINFO and RFC 3597's generic form.
const LAB_CASES: &[Case] = &[
    Case {
        question: &["hinfo.lab.test", "HINFO"],
        status: "NOERROR",
        aa: true,
        answer: &[r#"hinfo.lab.test. 3600 IN HINFO "PDP-11" "UNIX""#],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["generic.lab.test", "TYPE65280"],
        status: "NOERROR",
        aa: true,
        answer: &[r"generic.lab.test. 3600 IN TYPE65280 \# 4 0A000001"],
        authority: &[],
        additional: &[],
    },
    Case {
        question: &["generic2.lab.test", "TYPE65281"],
        status: "NOERROR",
        aa: true,
        answer: &[r"generic2.lab.test. 3600 IN TYPE65281 \# 0"],
        authority: &[],
        additional: &[],
    },
];

/// TC: twelve TXT records of lab.test. do not fit in 512 bytes; with EDNS 1232 they do, and
/// over TCP always (both clients). Needs lab.test.zone loaded.
fn check_truncation((host, udp_port, tcp_port): (&str, u16, u16)) {
    for client in [Client::Dig, Client::Kdig] {
        let question = &["big.lab.test", "TXT"];
        let small = ask(client, host, udp_port, false, false, question);
        assert!(small.flags.contains("tc"), "{client:?} @{host} {small:?}");
        assert!(small.answer.is_empty(), "{client:?} @{host} {small:?}");
        let big = ask(client, host, udp_port, false, true, question);
        assert!(!big.flags.contains("tc"), "{client:?} @{host} {big:?}");
        assert_eq!(big.answer.len(), 12, "{client:?} @{host} {big:?}");
        for edns in [false, true] {
            let tcp = ask(client, host, tcp_port, true, edns, question);
            assert!(!tcp.flags.contains("tc"), "{client:?} @{host} {tcp:?}");
            assert_eq!(tcp.answer.len(), 12, "{client:?} @{host} {tcp:?}");
        }
    }
    // An EDNS payload below 512 counts as 512; the answer then needs TC.
    let resp = udp_exchange(host, udp_port, &query(9, "big.lab.test", 16, 1, Some(100)))
        .expect("an answer");
    assert!(resp[2] & 0x02 != 0, "TC expected");
}

#[test]
fn formerr_notimp_badvers_and_refused_over_udp_and_tcp_ipv4_and_ipv6() {
    let server = start_ours(&[]);
    let port = server.port;
    check_rcodes(("127.0.0.1", port, port));
    check_rcodes(("::1", port, port));
}

#[test]
fn dig_and_kdig_get_every_record_type_and_rcode_right() {
    let server = start_ours(&[]);
    let port = server.port;
    check_every_case(&[("127.0.0.1", port, port), ("::1", port, port)]);
}

#[test]
fn notimp_badvers_formerr_and_truncation() {
    let server = start_ours(&["lab.test.zone"]);
    let port = server.port;
    // NOTIMP for opcodes other than QUERY (dig's +opcode=2 is STATUS).
    let got = ask(
        Client::Dig,
        "127.0.0.1",
        port,
        false,
        true,
        &["lab.test", "+opcode=2"],
    );
    assert_eq!(got.status, "NOTIMP", "{got:?}");
    // BADVERS for EDNS version 1, with an OPT of version 0.
    for client in [Client::Dig, Client::Kdig] {
        let mut cmd = Command::new(tool(match client {
            Client::Dig => "dig",
            Client::Kdig => "kdig",
        }));
        cmd.args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "lab.test",
            "SOA",
            "+edns=1",
        ]);
        if let Client::Dig = client {
            cmd.arg("+noednsnegotiation");
        }
        let out = run_with_deadline(&mut cmd, Duration::from_secs(30));
        assert!(
            out.stdout.contains("BADVERS"),
            "{client:?}\n{}",
            out.describe()
        );
    }
    // FORMERR: two questions.
    let mut two = query(7, "lab.test", 6, 1, None);
    two[5] = 2;
    let resp = udp_exchange("127.0.0.1", port, &two).expect("an answer to a 2-question query");
    assert_eq!(rcode(&resp), 1, "FORMERR expected: {resp:?}");
    check_truncation(("127.0.0.1", port, port));
    check_truncation(("::1", port, port));
    for case in LAB_CASES {
        check_case(case, ("127.0.0.1", port, port));
        check_case(case, ("::1", port, port));
    }
}

// ---- issue 20's protocol fixes, on glue.test.zone ----

/// The name servers of wide.glue.test. (glue.test.zone): long names, each with A and AAAA glue.
fn wide_server(i: u32) -> String {
    format!("ns{i}-a-name-server-that-has-a-rather-long-name.wide.glue.test.")
}

/// The referral to `child` (wide or sibling), whose NS are the five servers above.
fn glue_referral(child: &str, glue: &[(u32, bool)]) -> (BTreeSet<String>, BTreeSet<String>) {
    let authority = (1..=5)
        .map(|i| format!("{child}.glue.test. 3600 IN NS {}", wide_server(i)))
        .collect();
    let additional = glue
        .iter()
        .map(|&(i, aaaa)| {
            if aaaa {
                format!("{} 3600 IN AAAA 2001:db8::10{i}", wide_server(i))
            } else {
                format!("{} 3600 IN A 192.0.2.10{i}", wide_server(i))
            }
        })
        .collect();
    (authority, additional)
}

/// dig's or kdig's whole output for `args` against `host`:`port` (no defaults added): stdout,
/// then stderr (where kdig warns of a TSIG it could not verify).
fn raw(client: Client, host: &str, port: u16, args: &[&str]) -> String {
    let mut cmd = Command::new(tool(match client {
        Client::Dig => "dig",
        Client::Kdig => "kdig",
    }));
    cmd.arg(format!("@{host}")).args(["-p", &port.to_string()]);
    cmd.args(args);
    let out = run_with_deadline(&mut cmd, Duration::from_secs(30));
    assert!(!out.stdout.is_empty(), "{}", out.describe());
    out.stdout + &out.stderr
}

/// A target: (host, UDP port, TCP port) of a server that serves glue.test.zone.
type Target<'a> = (&'a str, u16, u16);

/// Issue 20's four protocol bugs, asked with dig and kdig of `target`.
fn check_protocol_fixes(target: Target) {
    check_referral_glue(target);
    check_formerr_has_opt(target);
    check_cd_only_for_query(target);
    check_tsig_badkey(target);
}

/// Bug 1: a referral whose in-domain glue does not fit in 512 bytes has TC and every glue RRset
/// that fits (RFC 9471 §3.1); sibling glue that does not fit is left out without TC (§3.2).
fn check_referral_glue((host, udp_port, tcp_port): Target) {
    let all: Vec<(u32, bool)> = (1..=5).flat_map(|i| [(i, false), (i, true)]).collect();
    // Without EDNS, 512 bytes: all five A records, the AAAA of ns1..ns3 (ns4's does not fit,
    // ns5's A after it does).
    let fits = [
        (1, false),
        (1, true),
        (2, false),
        (2, true),
        (3, false),
        (3, true),
        (4, false),
        (5, false),
    ];
    for client in BOTH.iter().copied() {
        for (child, tc) in [("wide", true), ("sibling", false)] {
            let question = &[&format!("host.{child}.glue.test")[..], "A"];
            let what = format!("{client:?} @{host} {question:?}");
            let (authority, additional) = glue_referral(child, &fits);
            let mut flags = set(&["qr"]);
            if tc {
                flags.insert("tc".into());
            }
            let expected = Answer {
                status: "NOERROR".into(),
                flags,
                authority,
                additional,
                ..Answer::default()
            };
            let small = ask(client, host, udp_port, false, false, question);
            assert_eq!(small, expected, "{what} over UDP without EDNS");
            let (authority, additional) = glue_referral(child, &all);
            let whole = Answer {
                status: "NOERROR".into(),
                flags: set(&["qr"]),
                authority,
                additional,
                ..Answer::default()
            };
            for edns in [false, true] {
                let tcp = ask(client, host, tcp_port, true, edns, question);
                let expected = Answer {
                    edns_udp: edns.then_some(1232),
                    ..whole.clone()
                };
                assert_eq!(tcp, expected, "{what} over TCP, EDNS {edns}");
            }
            let big = ask(client, host, udp_port, false, true, question);
            let expected = Answer {
                edns_udp: Some(1232),
                ..whole.clone()
            };
            assert_eq!(big, expected, "{what} over UDP with EDNS");
        }
    }
}

/// Bug 2: FORMERR to a query without a question (`dig +header-only`, RFC 7873 §5.4's cookie
/// probe) has an OPT when the query had one (RFC 6891 §7): dig has nothing to warn of.
fn check_formerr_has_opt((host, udp_port, tcp_port): Target) {
    for tcp in [false, true] {
        let port = if tcp { tcp_port } else { udp_port };
        let transport = if tcp { "+tcp" } else { "+notcp" };
        let out = raw(
            Client::Dig,
            host,
            port,
            &[transport, "+header-only", "+nocookie", "+edns=0"],
        );
        let got = parse_tool_output(&out);
        assert_eq!(
            (got.status.as_str(), got.edns_udp),
            ("FORMERR", Some(1232)),
            "{out}"
        );
        assert!(!out.contains("EDNS query returned status FORMERR"), "{out}");
    }
}

/// Bug 3: CD is copied into answers to QUERY, not into the NOTIMP answer to opcode 15.
fn check_cd_only_for_query((host, udp_port, tcp_port): Target) {
    for tcp in [false, true] {
        let port = if tcp { tcp_port } else { udp_port };
        let q = ask(
            Client::Dig,
            host,
            port,
            tcp,
            true,
            &["www.glue.test", "A", "+cdflag"],
        );
        assert_eq!(
            (q.status.as_str(), &q.flags),
            ("NOERROR", &set(&["qr", "aa", "cd"]))
        );
        let q = ask(
            Client::Dig,
            host,
            port,
            tcp,
            true,
            &["www.glue.test", "A", "+cdflag", "+opcode=15"],
        );
        assert_eq!(
            (q.status.as_str(), &q.flags),
            ("NOTIMP", &set(&["qr"])),
            "{q:?}"
        );
    }
}

/// Bug 4: a query signed with a TSIG key the server does not know gets NOTAUTH and an unsigned
/// TSIG record (the query's key name and algorithm, no MAC) with error BADKEY (RFC 8945
/// §5.2), from dig and kdig.
fn check_tsig_badkey((host, udp_port, tcp_port): Target) {
    for tcp in [false, true] {
        let port = if tcp { tcp_port } else { udp_port };
        let transport = if tcp { "+tcp" } else { "+notcp" };
        let key = "hmac-sha256:unknown-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let out = raw(
            Client::Dig,
            host,
            port,
            &[transport, "+norec", "-y", key, "www.glue.test", "A"],
        );
        assert!(out.contains("status: NOTAUTH"), "{out}");
        assert!(
            out.contains("ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 2"),
            "{out}"
        );
        let tsig = out
            .lines()
            .skip_while(|l| !l.contains("TSIG PSEUDOSECTION"))
            .nth(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default();
        // unknown-key. 0 ANY TSIG hmac-sha256. TIME 300 0(MAC size) ID BADKEY 0(other len)
        assert_eq!(tsig.len(), 11, "{out}");
        assert_eq!(
            tsig[..5],
            ["unknown-key.", "0", "ANY", "TSIG", "hmac-sha256."],
            "{out}"
        );
        assert_eq!(
            (tsig[6], tsig[7], tsig[9], tsig[10]),
            ("300", "0", "BADKEY", "0"),
            "{out}"
        );
        let out = raw(
            Client::Kdig,
            host,
            port,
            &[transport, "+norec", "-y", key, "www.glue.test", "A"],
        );
        assert!(out.contains("status: BADKEY"), "{out}"); // kdig shows the TSIG error
        assert!(
            out.contains("ANSWER: 0; AUTHORITY: 0; ADDITIONAL: 1"),
            "{out}"
        );
        assert!(
            out.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() == 11
                    && f[..5] == ["unknown-key.", "0", "ANY", "TSIG", "hmac-sha256."]
                    && f[9] == "BADKEY"
            }),
            "{out}"
        );
    }
}

#[test]
fn responder_unit_tests_pass() {
    // examples-cpp/dns-server/tests/responder_test.cpp, built with the native server.
    let exe = native_server().with_file_name("responder-test");
    let out = run_with_deadline(
        Command::new(&exe).arg(src().join("zones")),
        Duration::from_secs(60),
    );
    assert!(
        out.status == 0 && out.stdout.contains(" checks, 0 failed"),
        "{}",
        out.describe()
    );
}

/// Runs `check` natively against a server of glue.test.zone, over 127.0.0.1 and ::1.
fn natively_on_glue_test(check: fn(Target)) {
    let port = free_port();
    let mut args: Vec<String> = ["-p", &port.to_string(), "-a", "127.0.0.1", "-a", "::1"]
        .map(String::from)
        .to_vec();
    args.push("--tsig-keys".into());
    args.push(src().join("tests").join("test.keys").display().to_string());
    args.push(
        src()
            .join("zones")
            .join("glue.test.zone")
            .display()
            .to_string(),
    );
    let server = start(native_server(), &args, port, "glue.test");
    check(("127.0.0.1", server.port, server.port));
    check(("::1", server.port, server.port));
}

/// The keys of examples-cpp/dns-server/tests/test.keys, as dig -y takes them.
fn test_keys() -> Vec<String> {
    std::fs::read_to_string(src().join("tests").join("test.keys"))
        .expect("read tests/test.keys")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// RFC 8945 with the keys of tests/test.keys (hmac-sha256, hmac-sha512, hmac-sha1): dig and
/// kdig get signed answers that they verify; a wrong secret gets NOTAUTH with BADSIG,
/// unsigned; a query dated 1000 s off gets NOTAUTH with BADTIME, signed (checked by
/// tests/tsig_badtime.py with dnspython, which can backdate a query).
fn check_tsig_known_keys((host, udp_port, tcp_port): Target) {
    let keys = test_keys();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for tcp in [false, true] {
        let port = if tcp { tcp_port } else { udp_port };
        let transport = if tcp { "+tcp" } else { "+notcp" };
        for key in &keys {
            let name = key.split(':').nth(1).expect("ALGORITHM:NAME:SECRET");
            for client in BOTH.iter().copied() {
                let out = raw(
                    client,
                    host,
                    port,
                    &[transport, "+norec", "-y", key, "www.glue.test", "A"],
                );
                let got = parse_tool_output(&out);
                assert_eq!(got.status, "NOERROR", "{client:?} -y {key}\n{out}");
                assert_eq!(
                    got.answer
                        .iter()
                        .next()
                        .map(|l| l.ends_with("IN A 192.0.2.80")),
                    Some(true),
                    "{client:?} -y {key}\n{out}"
                );
                // The answer's TSIG: our key, no error; dig and kdig warn when it does not
                // verify ("Couldn't verify signature", "failed to verify TSIG").
                let tsig = out
                    .lines()
                    .find(|l| l.starts_with(&format!("{name}.")) && l.contains("TSIG"))
                    .unwrap_or_else(|| panic!("no TSIG record\n{out}"));
                assert!(tsig.contains(" NOERROR "), "{tsig}\n{out}");
                for warning in ["verify", "could not be validated", "WARNING -- "] {
                    assert!(
                        !out.contains(warning),
                        "{client:?} -y {key}: {warning}\n{out}"
                    );
                }
            }
        }
        // The name of the first key with another secret.
        let wrong = format!("hmac-sha256:test-sha256:{}", "d3Jvbmcgc2VjcmV0");
        let out = raw(
            Client::Dig,
            host,
            port,
            &[transport, "+norec", "-y", &wrong, "www.glue.test", "A"],
        );
        assert!(out.contains("status: NOTAUTH"), "{out}");
        let tsig: Vec<&str> = out
            .lines()
            .find(|l| l.starts_with("test-sha256.") && l.contains("TSIG"))
            .unwrap_or_else(|| panic!("no TSIG record\n{out}"))
            .split_whitespace()
            .collect();
        // test-sha256. 0 ANY TSIG hmac-sha256. TIME 300 0(MAC size) ID BADSIG 0
        assert_eq!((tsig.len(), tsig[7], tsig[9]), (11, "0", "BADSIG"), "{out}");
        let python = Path::new("/usr/bin/python3");
        for key in &keys {
            let mut cmd = Command::new(python);
            cmd.arg(src().join("tests").join("tsig_badtime.py")).args([
                host,
                &port.to_string(),
                key,
                "-1000",
            ]);
            if tcp {
                cmd.arg("tcp");
            }
            let out = run_with_deadline(&mut cmd, Duration::from_secs(30));
            assert!(
                out.status == 0 && out.stdout.contains("BADTIME ok"),
                "{}\n(python3 needs Debian's python3-dnspython: run `./kiln doctor --install`)",
                out.describe()
            );
        }
    }
}

#[test]
fn a_referral_with_in_domain_glue_left_out_has_tc_and_all_glue_that_fits() {
    natively_on_glue_test(check_referral_glue);
}

#[test]
fn formerr_without_a_question_has_an_opt_when_the_query_had_one() {
    natively_on_glue_test(check_formerr_has_opt);
}

#[test]
fn cd_is_copied_only_for_opcode_query() {
    natively_on_glue_test(check_cd_only_for_query);
}

#[test]
fn a_query_signed_with_an_unknown_tsig_key_gets_notauth_and_badkey() {
    natively_on_glue_test(check_tsig_badkey);
}

#[test]
fn tsig_signed_queries_get_signed_answers_badsig_and_badtime() {
    natively_on_glue_test(check_tsig_known_keys);
}

#[test]
fn a_bad_tsig_key_file_is_refused_with_file_line_and_reason() {
    let dir = work_dir().join("dns").join("bad-keys");
    std::fs::create_dir_all(&dir).expect("create a directory");
    let cases = [
        (
            "hmac-md5:k:c2VjcmV0\n",
            1,
            "unsupported TSIG algorithm 'hmac-md5'",
        ),
        ("# ok\nk1:c2VjcmV0\nk2:not*base64\n", 3, "is not base64"),
        (
            "k1:c2VjcmV0\nhmac-sha1:K1.:c2VjcmV0\n",
            2,
            "TSIG key K1. is given twice",
        ),
        ("no-secret\n", 1, "[ALGORITHM:]NAME:BASE64SECRET"),
    ];
    for (i, (text, line, reason)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.keys"));
        std::fs::write(&path, text).expect("write a key file");
        let out = run_with_deadline(
            Command::new(native_server())
                .args(["--check", "--tsig-keys"])
                .arg(&path),
            Duration::from_secs(30),
        );
        let expected = format!("{}:{line}: ", path.display());
        assert!(
            out.status == 1 && out.stderr.contains(&expected) && out.stderr.contains(reason),
            "expected `{expected}… {reason}`\n{}",
            out.describe()
        );
    }
}

#[test]
fn glue_tc_formerr_with_opt_cd_and_tsig_in_a_kiln_image() {
    // The VM's files: glue.test.zone and the test keys.
    let files = work_dir().join("dns").join("glue-files");
    std::fs::create_dir_all(&files).expect("create a directory");
    for (dir, file) in [("zones", "glue.test.zone"), ("tests", "test.keys")] {
        std::fs::copy(src().join(dir).join(file), files.join(file)).expect("copy a file");
    }
    let udp = free_port();
    let guest = boot_guest_with(
        kiln_image("event"),
        udp,
        udp,
        &["--files", files.to_str().expect("a UTF-8 path")],
        &["--tsig-keys", "/test.keys", "/glue.test.zone"],
    );
    check_protocol_fixes(("127.0.0.1", udp, udp));
    // The guest's clock signs and checks the times: within TSIG's 300 s of the host's.
    check_tsig_known_keys(("127.0.0.1", udp, udp));
    drop(guest);
}

#[test]
fn counters_come_back_as_chaos_txt_stats_kiln() {
    let server = start_ours(&[]);
    for _ in 0..3 {
        udp_exchange(
            "127.0.0.1",
            server.port,
            &query(2, "nope.kiln.test", 1, 1, None),
        )
        .expect("an answer");
    }
    udp_exchange("127.0.0.1", server.port, &[1, 2, 3]); // dropped: shorter than a header
    let got = ask(
        Client::Dig,
        "127.0.0.1",
        server.port,
        false,
        true,
        &["-c", "CH", "-t", "TXT", "stats.kiln"],
    );
    let line = got.answer.iter().next().expect("one TXT record").clone();
    for part in ["nxdomain=3", "dropped=1", "udp=", "tcp=0", "refused=0"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
}

#[test]
fn malformed_datagrams_get_formerr_or_nothing_and_the_server_keeps_answering() {
    let server = start_ours(&[]);
    check_malformed("127.0.0.1", server.port, server.port);
}

/// Sends malformed datagrams to `host`:`port`: each gets FORMERR (or NOTIMP/REFUSED/…) or
/// nothing, and afterwards the server still answers over UDP and (on `tcp_port`) TCP.
fn check_malformed(host: &str, port: u16, tcp_port: u16) {
    let valid = query(0x4242, "www.kiln.test", 1, 1, None);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated header", valid[..7].to_vec()),
        ("header only, qdcount 1", valid[..12].to_vec()),
        ("question cut short", valid[..valid.len() - 2].to_vec()),
        (
            "trailing garbage",
            [valid.clone(), vec![0xde, 0xad]].concat(),
        ),
        (
            "compression loop",
            [&valid[..12], &[0xc0, 0x0c, 0, 1, 0, 1][..]].concat(),
        ),
        (
            "pointer to itself after a label",
            [
                &valid[..12],
                &[3, b'w', b'w', b'w', 0xc0, 0x0c, 0, 1, 0, 1][..],
            ]
            .concat(),
        ),
        (
            "forward pointer",
            [&valid[..12], &[0xc0, 0x20, 0, 1, 0, 1][..]].concat(),
        ),
        (
            "label of 64 bytes",
            [
                &valid[..12],
                &[64][..],
                &[b'a'; 64][..],
                &[0, 0, 1, 0, 1][..],
            ]
            .concat(),
        ),
        (
            "name longer than 255 bytes",
            [
                &valid[..12],
                &[&[63u8][..], &[b'x'; 63][..]].concat().repeat(5)[..],
                &[0, 0, 1, 0, 1][..],
            ]
            .concat(),
        ),
        (
            "reserved label type 0x80",
            [&valid[..12], &[0x81, b'a', 0, 0, 1, 0, 1][..]].concat(),
        ),
        ("OPT with a bad option length", {
            let mut q = query(5, "www.kiln.test", 1, 1, Some(1232));
            let n = q.len();
            q[n - 2] = 0;
            q[n - 1] = 4; // RDLEN 4 ...
            q.extend_from_slice(&[0, 10, 0, 9]); // ... an option claiming 9 bytes
            q
        }),
    ];
    // Random bytes (a fixed xorshift sequence, so a failure reproduces).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..200 {
        let len = 1 + (i * 7) % 300;
        let bytes = kiln_tests::xorshift_bytes(&mut x, len);
        cases.push(("random bytes", bytes));
    }
    for (what, msg) in &cases {
        if let Some(resp) = udp_exchange(host, port, msg) {
            assert!(resp.len() >= 12, "{what}: short response {resp:?}");
            assert_eq!(resp[..2], msg[..2], "{what}: id not echoed");
            assert!(resp[2] & 0x80 != 0, "{what}: QR not set");
            let opcode = (msg[2] >> 3) & 0xF;
            let expected: &[u8] = if opcode != 0 {
                &[4, 1]
            } else {
                &[1, 0, 3, 5, 16]
            };
            assert!(
                expected.contains(&rcode(&resp)),
                "{what}: rcode {} for {msg:?}",
                rcode(&resp)
            );
        } else {
            // Dropped: only a message too short for a header, or one with QR set.
            assert!(
                msg.len() < 12 || msg[2] & 0x80 != 0,
                "{what}: no answer to {msg:?}"
            );
        }
    }
    for (what, msg) in cases.iter().take(12) {
        if msg.len() >= 12 {
            let resp = udp_exchange(host, port, msg).expect("an answer");
            if *what != "random bytes" {
                assert_eq!(rcode(&resp), 1, "{what}: FORMERR expected");
            }
        }
    }
    // Still serving, over UDP and TCP.
    let resp = udp_exchange(host, port, &valid).expect("an answer after the garbage");
    assert_eq!((rcode(&resp), ancount(&resp)), (0, 1));
    let mut tcp = TcpStream::connect((host, tcp_port)).expect("connect");
    tcp.write_all(&[0, 3, 1, 2, 3])
        .expect("send garbage over TCP");
    tcp.write_all(&framed(&valid))
        .expect("send a query over TCP");
    let resp = read_framed(&mut tcp);
    assert_eq!((rcode(&resp), ancount(&resp)), (0, 1));
}

fn framed(msg: &[u8]) -> Vec<u8> {
    [&(msg.len() as u16).to_be_bytes()[..], msg].concat()
}

fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set a timeout");
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).expect("read a length");
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut msg).expect("read a message");
    msg
}

#[test]
fn tcp_carries_several_pipelined_queries_on_one_connection() {
    let server = start_ours(&[]);
    check_pipelining(&[("127.0.0.1", server.port), ("::1", server.port)]);
}

/// Several queries in one write, then one byte by byte, on one connection to each target.
fn check_pipelining(targets: &[(&str, u16)]) {
    for &(host, port) in targets {
        let mut tcp = TcpStream::connect((host, port)).expect("connect");
        let names = [
            "www.kiln.test",
            "mail.kiln.test",
            "nope.kiln.test",
            "ns1.kiln.test",
        ];
        // All queries in one write, then one more byte by byte.
        let all: Vec<u8> = names
            .iter()
            .enumerate()
            .flat_map(|(i, n)| framed(&query(100 + i as u16, n, 1, 1, None)))
            .collect();
        tcp.write_all(&all).expect("send");
        for (i, name) in names.iter().enumerate() {
            let resp = read_framed(&mut tcp);
            assert_eq!(
                u16::from_be_bytes([resp[0], resp[1]]),
                100 + i as u16,
                "{name}"
            );
            let expected = if *name == "nope.kiln.test" { 3 } else { 0 };
            assert_eq!(rcode(&resp), expected, "{name}");
        }
        for byte in framed(&query(200, "www.kiln.test", 28, 1, None)) {
            tcp.write_all(&[byte]).expect("send a byte");
            tcp.flush().expect("flush");
        }
        let resp = read_framed(&mut tcp);
        assert_eq!(
            (resp[0], resp[1], rcode(&resp), ancount(&resp)),
            (0, 200, 0, 1)
        );
    }
}

/// Knot DNS on `port`, serving the zone files in `dir` (copied there), transfers allowed to
/// 127.0.0.1 so the differential test can list every name.
fn start_knot(dir: &Path, port: u16, zones: &[(&str, &str)]) -> Running {
    std::fs::create_dir_all(dir).expect("create the Knot directory");
    let mut conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
         database:\n    storage: {d}\n\
         log:\n  - target: stderr\n    any: warning\n\
         acl:\n  - id: transfer\n    address: 127.0.0.1\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n    acl: transfer\n\
         zone:\n",
        d = dir.display()
    );
    for (origin, file) in zones {
        std::fs::copy(src().join("zones").join(file), dir.join(file)).expect("copy a zone");
        conf += &format!("  - domain: {origin}\n    file: {file}\n");
    }
    let conf_path = dir.join("knot.conf");
    std::fs::write(&conf_path, conf).expect("write knot.conf");
    let args = vec!["-c".to_string(), conf_path.display().to_string()];
    start(&tool("knotd"), &args, port, "lab.test")
}

#[test]
fn differential_against_knot_dns_on_generated_queries() {
    let zones = [
        ("kiln.test.", "kiln.test.zone"),
        ("lab.test.", "lab.test.zone"),
        ("100.51.198.in-addr.arpa.", "100.51.198.in-addr.arpa.zone"),
    ];
    let files: Vec<&str> = zones.iter().map(|(_, f)| *f).collect();
    let ours = start_ours(&files);
    let knot = start_knot(&work_dir().join("dns").join("knot"), free_port(), &zones);
    // Debian's python3, which has python3-dnspython (a pyenv or venv python3 may not).
    let python = Path::new("/usr/bin/python3");
    assert!(
        python.is_file(),
        "/usr/bin/python3 not found: run `./kiln doctor --install` to install what Kiln needs"
    );
    let mut cmd = Command::new(python);
    cmd.arg(src().join("tests").join("differential.py"))
        .args(["--ours", &ours.port.to_string()])
        .args(["--knot", &knot.port.to_string()])
        .args(["--count", "1500", "--seed", "7"])
        .args(zones.iter().map(|(o, _)| *o));
    let out = run_with_deadline(&mut cmd, Duration::from_secs(300));
    assert!(
        out.status == 0 && out.stdout.contains("1500 queries, 0 mismatches"),
        "{}\n(python3 needs Debian's python3-dnspython: run `./kiln doctor --install`)",
        out.describe()
    );
    println!("{}", out.stdout.trim());
}

#[test]
fn a_bad_zone_file_is_refused_with_file_line_and_reason() {
    let dir = work_dir().join("dns").join("bad-zones");
    std::fs::create_dir_all(&dir).expect("create a directory");
    let head = "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns admin 1 2 3 4 5\n@ NS ns\n";
    let cases = [
        ("x A 300.1.1.1\n", 5, "bad IPv4 address '300.1.1.1'"),
        ("x AAAA 1.2.3.4\n", 5, "bad IPv6 address"),
        ("x MX mail\n", 5, "MX takes a preference and a domain name"),
        (
            "x CNAME a\nx A 192.0.2.1\n",
            6,
            "other data at a name that has a CNAME",
        ),
        ("\nx TXT \"open\n", 6, "quoted string is not closed"),
        ("x (A\n 192.0.2.1\n", 5, "'(' is never closed"),
        (
            "x IN FOO 1\n",
            5,
            "unknown or unsupported record type 'FOO'",
        ),
        ("x CH TXT \"a\"\n", 5, "class CH is not supported"),
        (
            "www.other.test. A 192.0.2.1\n",
            5,
            "owner name is outside the zone",
        ),
        ("$INCLUDE other.zone\n", 5, "$INCLUDE is not supported"),
        ("x TXT \"\\999\"\n", 5, "\\DDD escape"),
        (
            &format!("{} A 192.0.2.1\n", "a".repeat(64)),
            5,
            "label longer than 63 bytes",
        ),
        ("x A 192.0.2.1 extra\n", 5, "A takes one address"),
        ("x 99999999999 A 192.0.2.1\n", 5, "bad TTL"),
        // RFC 3597's generic form for a known type must hold that type's data (found by
        // fuzz-zone: an empty SOA read out of bounds).
        (
            "x SOA \\# 0\n",
            5,
            "the \\# data of type SOA must be two domain names and five 32-bit numbers",
        ),
        (
            "x A \\# 3 0A0000\n",
            5,
            "the \\# data of type A must be 4 bytes",
        ),
    ];
    for (i, (tail, line, reason)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.zone"));
        std::fs::write(&path, format!("{head}{tail}")).expect("write a zone");
        let out = run_with_deadline(
            Command::new(native_server()).arg("--check").arg(&path),
            Duration::from_secs(30),
        );
        let expected = format!("{}:{line}: ", path.display());
        assert!(
            out.status == 1 && out.stderr.contains(&expected) && out.stderr.contains(reason),
            "expected `{expected}… {reason}`\n{}",
            out.describe()
        );
    }
    // No SOA at all, and a zone without NS.
    let path = dir.join("nosoa.zone");
    std::fs::write(&path, "$ORIGIN x.test.\n$TTL 1\n@ NS ns\n").expect("write a zone");
    let out = run_with_deadline(
        Command::new(native_server()).arg("--check").arg(&path),
        Duration::from_secs(30),
    );
    assert!(
        out.status == 1 && out.stderr.contains("the zone has no SOA record"),
        "{}",
        out.describe()
    );
}

#[test]
fn the_demo_zone_file_is_the_built_in_zone() {
    let printed = run_ok(Command::new(native_server()).arg("--print-demo-zone"));
    let file = std::fs::read_to_string(src().join("zones").join("kiln.test.zone"))
        .expect("read zones/kiln.test.zone");
    let body: String = file.lines().skip(2).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        printed, body,
        "src/dns/demo_zone.cpp and zones/kiln.test.zone differ"
    );
}

/// Seconds each fuzz target runs: KILN_DNS_FUZZ_SECS (CI sets 60), default 15.
fn fuzz_seconds() -> u64 {
    std::env::var("KILN_DNS_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

#[test]
fn fuzz_targets_survive_their_corpus_regressions_and_a_bounded_run() {
    let clang = tool("clang++");
    let dir = work_dir().join("dns").join("fuzz");
    cmake_build(
        &dir,
        &[
            &format!("-DCMAKE_CXX_COMPILER={}", clang.display()),
            "-DDNS_FUZZ=ON",
        ],
    );
    for target in ["message", "zone"] {
        let exe = dir.join(format!("fuzz-{target}"));
        let seeds = src().join("fuzz").join("corpus").join(target);
        let regressions = src().join("fuzz").join("regressions").join(target);
        // Every saved crash first, one by one.
        let mut files: Vec<PathBuf> = std::fs::read_dir(&regressions)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        if !files.is_empty() {
            run_ok(Command::new(&exe).args(&files));
        }
        // Then a bounded run that starts from the seeds (new inputs go to a scratch corpus).
        let corpus = dir.join(format!("corpus-{target}"));
        std::fs::create_dir_all(&corpus).expect("create a corpus directory");
        let artifacts = dir.join(format!("crashes-{target}"));
        std::fs::create_dir_all(&artifacts).expect("create an artifacts directory");
        let mut run = Command::new(&exe);
        run.arg(format!("-max_total_time={}", fuzz_seconds()))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1")
            .arg(&corpus)
            .arg(&seeds);
        let out = run_with_deadline(&mut run, Duration::from_secs(fuzz_seconds() + 120));
        assert_eq!(
            out.status,
            0,
            "fuzz-{target} found a failure; the input is in {} — add it to {}\n{}",
            artifacts.display(),
            regressions.display(),
            out.describe()
        );
    }
}

/// The same sources as a fully static Linux program: Kiln's musl + libc++ twin
/// (`kiln link --host --cxx`), answering dig natively.
#[test]
fn static_musl_libcxx_twin_serves_natively() {
    let dir = work_dir().join("dns").join("musl-twin");
    std::fs::create_dir_all(&dir).expect("create a directory");
    let cc = PathBuf::from(run_ok(kiln().args(["config", "--cc"])).trim());
    let flags = kiln_tests::cxxflags();
    let sources = [
        "src/dns/name.cpp",
        "src/dns/wire.cpp",
        "src/dns/zone.cpp",
        "src/dns/zone_parser.cpp",
        "src/dns/responder.cpp",
        "src/dns/hmac.cpp",
        "src/dns/tsig.cpp",
        "src/dns/demo_zone.cpp",
        "src/frontend/common.cpp",
        "src/frontend/posix_main.cpp",
    ];
    let mut objects = Vec::new();
    for s in sources {
        let object = dir
            .join(Path::new(s).file_name().unwrap())
            .with_extension("o");
        run_ok(
            Command::new(&cc)
                .args(flags)
                .args(["-std=c++17", "-O2", "-I"])
                .arg(src().join("src"))
                .arg("-c")
                .arg(src().join(s))
                .arg("-o")
                .arg(&object),
        );
        objects.push(object);
    }
    kiln_tests::runtime_dir();
    let exe = dir.join("dns-server");
    run_ok(
        kiln()
            .args(["link", "--host", "--cxx", "-o"])
            .arg(&exe)
            .args(&objects),
    );
    let port = free_port();
    let args: Vec<String> = ["-p", &port.to_string(), "-a", "127.0.0.1"]
        .map(String::from)
        .to_vec();
    let server = start(&exe, &args, port, "kiln.test");
    let got = ask(
        Client::Dig,
        "127.0.0.1",
        server.port,
        false,
        true,
        &["www.kiln.test", "A"],
    );
    assert_eq!(
        got.answer,
        set(&["www.kiln.test. 3600 IN A 192.0.2.80"]),
        "{got:?}"
    );
}

/// C++20 with clang and the host's libc++ builds and loads the zones.
#[test]
fn builds_as_cxx20_with_clang_and_libcxx() {
    let dir = work_dir().join("dns").join("cxx20-libcxx");
    cmake_build(
        &dir,
        &[
            &format!("-DCMAKE_CXX_COMPILER={}", tool("clang++").display()),
            "-DCMAKE_CXX_STANDARD=20",
            "-DCMAKE_CXX_FLAGS=-stdlib=libc++ -Werror",
            "-DCMAKE_EXE_LINKER_FLAGS=-stdlib=libc++",
        ],
    );
    let out = run_ok(
        Command::new(dir.join("dns-server"))
            .arg("--check")
            .args(["kiln.test.zone", "lab.test.zone"].map(|z| src().join("zones").join(z))),
    );
    assert!(out.contains("zone lab.test.: 55 records"), "{out}");
}

/// The server as a Kiln image: `event` (the default, built by `./kiln build`) or `posix`
/// (the toolchain file with -DDNS_FRONTEND=posix). Built once per test binary.
fn kiln_image(frontend: &str) -> &'static Path {
    static EVENT: OnceLock<PathBuf> = OnceLock::new();
    static POSIX: OnceLock<PathBuf> = OnceLock::new();
    let (cell, dir) = match frontend {
        "event" => (&EVENT, "image"),
        "posix" => (&POSIX, "image-posix"),
        other => panic!("no front end {other}"),
    };
    cell.get_or_init(|| {
        let build = work_dir().join("dns").join(dir);
        kiln_tests::runtime_dir();
        if frontend == "event" {
            run_ok(kiln().arg("build").arg(src()).arg("-B").arg(&build));
        } else {
            let toolchain = root().join("cmake").join("kiln.cmake");
            cmake_build(
                &build,
                &[
                    &format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display()),
                    "-DDNS_FRONTEND=posix",
                ],
            );
        }
        build.join("dns-server")
    })
}

/// `./kiln build examples-cpp/dns-server` makes an image; it boots and loads its zone.
#[test]
fn builds_as_a_kiln_image_that_loads_its_zone() {
    let out = run_image(kiln_image("event"), &[], &["--check"]);
    out.assert_status(0);
    assert!(
        out.app()
            .contains("dns-server: zone kiln.test.: 31 records, 21 names"),
        "{}",
        out.describe()
    );
}

/// A Kiln image booted by `./kiln run IMAGE -p UDP:53/udp -p TCP:53` (QEMU user networking,
/// forwards on the host's 127.0.0.1), killed with its QEMU when dropped.
struct Guest {
    child: Child,
    console: PathBuf,
}

impl Guest {
    fn console(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        // kiln and its QEMU share the process group the child leads.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn boot_guest(image: &Path, udp_port: u16, tcp_port: u16) -> Guest {
    boot_guest_with(image, udp_port, tcp_port, &[], &[])
}

/// [`boot_guest`] with more `kiln run` options (`run_options`, e.g. `--files DIR`) and the
/// server's arguments (`args`, after `--`).
fn boot_guest_with(
    image: &Path,
    udp_port: u16,
    tcp_port: u16,
    run_options: &[&str],
    args: &[&str],
) -> Guest {
    use std::os::unix::process::CommandExt;
    let console = work_dir().join("dns").join(format!(
        "{}-{udp_port}.console",
        image
            .parent()
            .and_then(|p| p.file_name())
            .unwrap_or_default()
            .to_string_lossy()
    ));
    let file = std::fs::File::create(&console).expect("create the console file");
    // The program's stdout and stderr (and the runtime's lines) in one file.
    let err = file.try_clone().expect("clone the console file");
    let child = kiln()
        .args(["run", "--timeout", "900"])
        .args([
            "-p",
            &format!("{udp_port}:53/udp"),
            "-p",
            &format!("{tcp_port}:53"),
        ])
        .args(run_options)
        .arg(image)
        .args(if args.is_empty() {
            &[][..]
        } else {
            &["--"][..]
        })
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("start ./kiln run");
    let guest = Guest { child, console };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if udp_exchange("127.0.0.1", udp_port, &query(1, "kiln.test", 6, 1, None)).is_some() {
            return guest;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{} did not answer on 127.0.0.1:{udp_port} within 120 s; console:\n{}",
        image.display(),
        guest.console()
    );
}

/// Boots the `frontend` image once with `kiln run -p` and runs the dig/kdig cases, the
/// malformed datagrams and TCP pipelining against it, IPv4 through `kiln run -p` (passt).
/// `split_ports` forwards UDP and TCP from different host ports (each front end prints the
/// dig line from KILN_PUBLISHED either way).
fn serves_from_a_kiln_image(frontend: &str, split_ports: bool) {
    let image = kiln_image(frontend);
    let udp = free_port();
    let tcp = if split_ports {
        loop {
            let p = free_port();
            if p != udp {
                break p;
            }
        }
    } else {
        udp
    };
    let guest = boot_guest(image, udp, tcp);
    let console = guest.console();
    let hint = format!("dig @127.0.0.1 -p {udp} www.kiln.test");
    assert!(
        console.lines().any(|l| l.trim_end().ends_with(&hint)),
        "the {frontend} front end did not print {hint:?}:\n{console}"
    );
    if split_ports {
        let tcp_hint = format!("dig @127.0.0.1 -p {tcp} +tcp www.kiln.test");
        assert!(console.contains(&tcp_hint), "no {tcp_hint:?}:\n{console}");
    }
    check_every_case(&[("127.0.0.1", udp, tcp)]);
    check_rcodes(("127.0.0.1", udp, tcp));
    check_malformed("127.0.0.1", udp, tcp);
    check_pipelining(&[("127.0.0.1", tcp)]);
    let got = ask(
        Client::Dig,
        "127.0.0.1",
        udp,
        false,
        true,
        &["-c", "CH", "-t", "TXT", "stats.kiln"],
    );
    let line = got.answer.iter().next().expect("one TXT record").clone();
    assert!(
        line.contains("tcp=") && !line.contains("tcp=0 "),
        "TCP queries not counted: {line}"
    );
}

#[test]
fn kiln_image_with_the_event_front_end_serves_over_kiln_run_p() {
    serves_from_a_kiln_image("event", false);
}

#[test]
fn kiln_image_with_the_posix_front_end_serves_over_kiln_run_p() {
    serves_from_a_kiln_image("posix", true);
}

// ---- over a tap: IPv6 (and IPv4) transport to the guest ----

/// Runs `f` on a thread that has joined the network namespace of `ns`: the sockets it opens
/// and the processes it starts (dig, kdig) live there, next to the guest's tap.
fn inside<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter_namespace(ns.name());
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Moves the calling thread (only) into the network namespace `name` (`ip netns` made it).
fn enter_namespace(name: &str) {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn setns(fd: std::ffi::c_int, nstype: std::ffi::c_int) -> std::ffi::c_int;
    }
    const CLONE_NEWNET: std::ffi::c_int = 0x4000_0000;
    let path = format!("/run/netns/{name}");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns reads a descriptor that `file` keeps open for the call and a flag; it
    // changes only this thread's network namespace and touches no memory of ours.
    let rc = unsafe { setns(file.as_raw_fd(), CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
}

/// Boots the `frontend` image on a tap in a private namespace with the static addresses
/// (10.77.0.2 and fd77::2) on platform `p`, serving kiln.test. and lab.test. from zone files,
/// and runs the dig/kdig cases, the rcodes, truncation and lab.test.'s HINFO and RFC 3597
/// types over IPv6 (UDP and TCP, with and without EDNS, both clients), the malformed
/// datagrams and pipelining over IPv6, and some cases over IPv4 on the same guest: one server
/// on port 53 answers both families at once (the event front end's "::" + "0.0.0.0", the
/// POSIX one's dual-stack "::"; the runtime may or may not keep IPv6 sockets IPv6-only).
fn serves_over_ipv6_on_a_tap(p: &Platform, frontend: &str) {
    let image = kiln_image(frontend);
    let mut ns = Netns::new(&format!("dns-{frontend}"));
    // The zones as files (kiln.test.zone is the built-in zone; lab.test. has the big TXT).
    let zones = src().join("zones");
    let mut options = p.options.to_vec();
    options.extend(["--files", zones.to_str().expect("a UTF-8 path")]);
    let rx = ns.boot_image(
        p.machine,
        &options,
        &static_append(),
        image,
        &["/kiln.test.zone", "/lab.test.zone"],
    );
    let mut seen = Vec::new();
    expect_static_addresses(&rx, &mut seen);
    let listening = wait_for(&rx, &mut seen, Duration::from_secs(60), |l| {
        l.contains("dns-server: listening on port 53 ")
    });
    assert!(
        listening.is_some(),
        "the {frontend} front end did not start:\n{}",
        seen.join("\n")
    );
    inside(&ns, || {
        let probe = query(1, "kiln.test", 6, 1, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while udp_exchange(GUEST6, 53, &probe).is_none() {
            assert!(
                Instant::now() < deadline,
                "no answer from [{GUEST6}]:53 within 30 s"
            );
        }
        let started = Instant::now();
        check_every_case(&[(GUEST6, 53, 53)]);
        check_rcodes((GUEST6, 53, 53));
        check_truncation((GUEST6, 53, 53));
        for case in LAB_CASES {
            check_case(case, (GUEST6, 53, 53));
        }
        check_malformed(GUEST6, 53, 53);
        check_pipelining(&[(GUEST6, 53), (GUEST4, 53)]);
        // IPv4 on the same guest at the same time (the whole table runs over IPv4 through
        // `kiln run -p`): an answer and an rcode, with both clients, UDP and TCP, +-EDNS.
        for case in CASES
            .iter()
            .filter(|c| c.question == ["www.kiln.test", "A"] || c.status == "NXDOMAIN")
        {
            check_case(case, (GUEST4, 53, 53));
        }
        eprintln!(
            "{frontend} on {}: checked in {:?}",
            p.machine,
            started.elapsed()
        );
    });
}

fn event_front_end_over_ipv6(p: &Platform) {
    serves_over_ipv6_on_a_tap(p, "event");
}

fn posix_front_end_over_ipv6(p: &Platform) {
    serves_over_ipv6_on_a_tap(p, "posix");
}

on_every_platform!(event_front_end_over_ipv6, posix_front_end_over_ipv6);

// ---- signals: SIGHUP reloads the zones, SIGTERM stops gracefully (issue 14) ----

/// The event front end as a static Linux program (Kiln's musl, libc++ and libc-shim's event
/// loop: `kiln link --host --cxx`), built once per test binary.
fn event_twin() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = work_dir().join("dns").join("event-twin");
        std::fs::create_dir_all(&dir).expect("create a directory");
        let cc = PathBuf::from(run_ok(kiln().args(["config", "--cc"])).trim());
        let mut objects = Vec::new();
        for s in [
            "src/dns/name.cpp",
            "src/dns/wire.cpp",
            "src/dns/zone.cpp",
            "src/dns/zone_parser.cpp",
            "src/dns/responder.cpp",
            "src/dns/hmac.cpp",
            "src/dns/tsig.cpp",
            "src/dns/demo_zone.cpp",
            "src/frontend/common.cpp",
            "src/frontend/event_main.cpp",
        ] {
            let object = dir
                .join(Path::new(s).file_name().unwrap())
                .with_extension("o");
            run_ok(
                Command::new(&cc)
                    .args(kiln_tests::cxxflags())
                    .args(["-std=c++17", "-O2", "-I"])
                    .arg(src().join("src"))
                    .arg("-c")
                    .arg(src().join(s))
                    .arg("-o")
                    .arg(&object),
            );
            objects.push(object);
        }
        kiln_tests::runtime_dir();
        let exe = dir.join("dns-server");
        run_ok(
            kiln()
                .args(["link", "--host", "--cxx", "-o"])
                .arg(&exe)
                .args(&objects),
        );
        exe
    })
}

/// The A records `dig` gets for `name` from 127.0.0.1:`port`.
fn a_records(port: u16, name: &str) -> BTreeSet<String> {
    ask(Client::Dig, "127.0.0.1", port, false, true, &[name, "A"]).answer
}

fn send_signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Waits up to 30 s for `done` to hold.
fn eventually(what: &str, mut done: impl FnMut() -> bool, show: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen\n{}",
            show()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A native server (`exe`): SIGHUP after its zone file changed serves the new record; a
/// broken file leaves the zones serving and says FILE:LINE: reason; SIGTERM prints the
/// counters and exits 0.
fn reloads_and_stops_natively(exe: &Path, name: &str) {
    let dir = work_dir().join("dns").join(format!("reload-{name}"));
    std::fs::create_dir_all(&dir).expect("create a directory");
    let zone = dir.join("lab.test.zone");
    std::fs::copy(src().join("zones").join("lab.test.zone"), &zone).expect("copy the zone");
    let stderr_path = dir.join("stderr");
    let port = free_port();
    let child = Command::new(exe)
        .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
        .arg(&zone)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    // Killed if a check fails before it exits by itself.
    let mut server = Running {
        child,
        port,
        what: exe.display().to_string(),
    };
    let pid = server.child.id();
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    eventually(
        "the server answering",
        || udp_exchange("127.0.0.1", port, &query(1, "lab.test", 6, 1, None)).is_some(),
        stderr,
    );
    assert!(a_records(port, "fresh.lab.test").is_empty(), "{}", stderr());

    let mut text = std::fs::read_to_string(&zone).unwrap();
    text.push_str("fresh.lab.test. 300 IN A 198.51.100.77\n");
    std::fs::write(&zone, &text).unwrap();
    send_signal(pid, "HUP");
    let fresh = set(&["fresh.lab.test. 300 IN A 198.51.100.77"]);
    eventually(
        "serving the reloaded zone",
        || a_records(port, "fresh.lab.test") == fresh,
        stderr,
    );
    assert!(
        stderr().contains("dns-server: SIGHUP: reloaded zone lab.test.: 56 records"),
        "{}",
        stderr()
    );

    // A broken zone: the error names the file and line; the zones loaded before still serve.
    let bad_line = text.lines().count() + 1;
    text.push_str("broken (\n");
    std::fs::write(&zone, &text).unwrap();
    send_signal(pid, "HUP");
    let expected = format!(
        "{}:{bad_line}: '(' is never closed; still serving the zones loaded before",
        zone.display()
    );
    eventually("the error line", || stderr().contains(&expected), stderr);
    assert_eq!(a_records(port, "fresh.lab.test"), fresh, "{}", stderr());
    assert_eq!(
        a_records(port, "ns.lab.test").len(),
        1,
        "the zone still serves\n{}",
        stderr()
    );

    send_signal(pid, "TERM");
    let status = server.child.wait().expect("wait for the server");
    assert!(status.success(), "exited with {status}\n{}", stderr());
    assert!(
        stderr().contains("dns-server: stopped; queries="),
        "no counters\n{}",
        stderr()
    );
}

#[test]
fn posix_front_end_reloads_on_sighup_and_stops_on_sigterm_natively() {
    reloads_and_stops_natively(native_server(), "posix");
}

#[test]
fn event_front_end_reloads_on_sighup_and_stops_on_sigterm_natively() {
    reloads_and_stops_natively(event_twin(), "event");
}

/// The image under `kiln run -p`: SIGHUP sent to `kiln run` reaches the server, which reloads
/// its zone and goes on serving; SIGTERM makes it print its counters and exit 0, `kiln run`
/// exits 0, and its QEMU is gone. (A VM's files are a snapshot taken at boot, so a changed
/// file is checked natively above.)
fn signals_through_kiln_run(frontend: &str) {
    let port = free_port();
    let mut guest = boot_guest(kiln_image(frontend), port, port);
    let pid = guest.child.id();
    let qemu = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (comm, rest) = stat.split_once(") ")?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == pid && comm.ends_with("(qemu-system-x86")).then_some(p)
        })
        .expect("kiln run's QEMU");
    send_signal(pid, "HUP");
    eventually(
        "the reload",
        || {
            guest
                .console()
                .contains("dns-server: SIGHUP: reloaded zone kiln.test.: 31 records")
        },
        || guest.console(),
    );
    assert_eq!(
        a_records(port, "www.kiln.test"),
        set(&["www.kiln.test. 3600 IN A 192.0.2.80"]),
        "{}",
        guest.console()
    );
    send_signal(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = guest.child.try_wait().expect("wait for kiln run") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kiln run did not exit after SIGTERM\n{}",
            guest.console()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "kiln run exited with {status}\n{}",
        guest.console()
    );
    assert!(
        guest.console().contains("dns-server: stopped; queries="),
        "no counters\n{}",
        guest.console()
    );
    let gone = std::fs::read_to_string(format!("/proc/{qemu}/status"))
        .map_or(true, |s| s.contains("Z (zombie)"));
    assert!(gone, "QEMU {qemu} outlived kiln run");
}

#[test]
fn event_image_reloads_on_sighup_and_stops_on_sigterm_through_kiln_run() {
    signals_through_kiln_run("event");
}

#[test]
fn posix_image_reloads_on_sighup_and_stops_on_sigterm_through_kiln_run() {
    signals_through_kiln_run("posix");
}
