//! The README's code: the `OS_start` example of "The event API" section is taken from
//! README.md as it stands, stays about ten lines, compiles without warnings, links into an
//! image, and does what the README says when booted in a terminal: a timer line every second
//! and a UDP echo on port 7 (reached through `./kiln run -p PORT:7/udp`, host loopback only).

use kiln_tests::netns::{console_lines, wait_for};
use kiln_tests::{cc, cflags, kiln, root, run_ok, scratch_dir, GroupChild};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first ```c block after the heading that starts with `heading` in README.md.
fn readme_c_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("README.md has no section `## {heading}`"));
    let code = section
        .split_once("```c\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(code, _)| code)
        .unwrap_or_else(|| panic!("the README section `{heading}` has no ```c block"));
    format!("{code}\n")
}

#[test]
fn the_event_api_example_is_short_builds_and_runs() {
    let code = readme_c_block("The event API");
    let lines_of_code = code.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines_of_code <= 12,
        "the README's OS_start example has {lines_of_code} lines; it should stay about ten\n{code}"
    );
    assert!(code.contains("void OS_start(void)"), "{code}");

    let dir = scratch_dir("readme-event");
    let source = dir.join("example.c");
    std::fs::write(&source, &code).expect("write example.c");
    let object = dir.join("example.o");
    run_ok(
        Command::new(cc())
            .args(cflags())
            .args(["-O2", "-Wall", "-Werror", "-c"])
            .arg(&source)
            .arg("-o")
            .arg(&object),
    );
    let image = dir.join("example");
    run_ok(kiln().args(["link", "-o"]).arg(&image).arg(&object));

    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free loopback port")
        .port();
    // In a terminal, as the README's reader runs it: `kiln run` then gives the program a
    // terminal for stdout, so its printf is line-buffered and each tick shows at once (to a
    // pipe, musl buffers it as it would on Linux). `script` (util-linux) is the terminal.
    let run = format!(
        "'{}' run --accel tcg --timeout 120 -p {port}:7/udp '{}'",
        kiln().get_program().to_string_lossy(),
        image.display()
    );
    let mut guest = GroupChild::spawn(
        Command::new("script")
            .args(["-q", "-e", "-f", "-c", &run, "/dev/null"])
            .current_dir(root())
            // Held open: the terminal's input never ends while the guest runs.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let rx = console_lines(&mut guest.0);
    let mut seen = Vec::new();
    // The terminal adds \r to each line (its ONLCR).
    let is_tick = |l: &str| {
        let l = l.trim_end_matches('\r');
        l.starts_with("up ") && l.ends_with(" ms")
    };
    assert!(
        wait_for(&rx, &mut seen, Duration::from_secs(60), is_tick).is_some(),
        "no `up N ms` line:\n{}",
        seen.join("\n")
    );

    // The echo: retried until the guest has its DHCP address and answers.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 64];
    let echoed = loop {
        socket
            .send_to(b"hello, readme", ("127.0.0.1", port))
            .expect("send");
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            break buf[..n].to_vec();
        }
        assert!(Instant::now() < deadline, "no echo within 60 s");
    };
    assert_eq!(echoed, b"hello, readme");

    // The timer repeats: a second tick, later than the first.
    let first = seen.iter().find(|l| is_tick(l)).cloned().unwrap();
    let ms = |l: &str| -> u64 {
        let l = l.trim_end_matches('\r');
        l[3..l.len() - 3].parse().unwrap_or(0)
    };
    let second = wait_for(&rx, &mut Vec::new(), Duration::from_secs(10), |l| {
        is_tick(l) && l != first
    })
    .unwrap_or_else(|| panic!("only one tick:\n{}", seen.join("\n")));
    assert!(ms(&second) > ms(&first), "{first} then {second}");
}
