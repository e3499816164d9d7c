//! Bulk TCP: 100 MiB each way through examples-c/tcp-echo on one connection, with equal
//! sha256 on the host (tests/clients/echo_client.py `bulk`), over a tap in a private network
//! namespace on every platform (microvm, q35 virtio, q35 e1000) — once on a clean link and
//! once through a lossy one: 5% of the frames lost, 10% reordered, 1% duplicated, in both
//! directions.
//!
//! The clean transfer runs over IPv4, the lossy one over IPv6.
//!
//! The lossy link is tests/clients/impair.py, a user-space netem (`Netns::impair`), not
//! `tc qdisc ... netem`: sch_netem is a kernel option not every kernel has (the one these
//! tests were written on lacks it: CONFIG_NET_SCH_NETEM is not set), and netem on the tap's
//! egress would impair only host->guest. The relay sits between the guest's tap and the host's, drops, duplicates and
//! holds back frames the way netem's `loss`, `duplicate` and `reorder` do, in each direction
//! with its own random stream, and its counters are checked: the test can tell that both
//! directions were impaired.
//!
//! The time each transfer took is printed (`--nocapture`); speed is measured in bench/, not
//! asserted here. Under TCG on 2 busy cores: the clean transfer 5-8 s, the lossy one ~60 s
//! (~1.6 MiB/s each way; smoltcp's loss recovery is patched for it, third_party/README.md).
//! Root is needed, as for tests/net.rs.

use kiln_tests::netns::{expect_line, expect_static_addresses, static_append, Netns, Platform};
use kiln_tests::netns::{GUEST4, GUEST6};
use kiln_tests::{example_image, on_every_platform};
use std::sync::mpsc::Receiver;

/// MiB each way (the issue asks for 100 MB).
const MIB: &str = "100";
/// A guest lives at most this long (the lossy transfer under TCG takes minutes).
const GUEST_SECS: u32 = 1200;

on_every_platform!(
    hundred_mib_each_way,
    hundred_mib_each_way_through_a_lossy_link
);

/// Boots tcp-echo on port 7 with the static addresses and waits until it listens.
fn boot_tcp_echo(ns: &mut Netns, p: &Platform) -> (Receiver<String>, Vec<String>) {
    ns.set_timeout(GUEST_SECS);
    let img = example_image("tcp-echo", "tcp-echo");
    let rx = ns.boot_image(p.machine, p.options, &static_append(), &img, &["7"]);
    let mut seen = Vec::new();
    expect_line(&rx, &mut seen, "tcp-echo: listening on port 7");
    expect_static_addresses(&rx, &mut seen);
    (rx, seen)
}

fn bulk(ns: &Netns, addr: &str) -> String {
    let out = ns.echo_client(&["bulk", addr, "7", MIB]);
    let want = format!("tcp {MIB} MiB each way, equal sha256: True");
    assert!(out.contains(&want), "{want:?} missing:\n{out}");
    println!("{addr}: {}", out.trim());
    out
}

fn hundred_mib_each_way(p: &Platform) {
    let mut ns = Netns::new("bulk");
    let _guest = boot_tcp_echo(&mut ns, p);
    bulk(&ns, GUEST4);
}

/// The counter `name=N` of `direction` in an `impair:` line.
fn counter(line: &str, direction: &str, name: &str) -> u64 {
    let part = line
        .split(';')
        .find(|part| part.contains(direction))
        .unwrap_or_else(|| panic!("no {direction} in {line:?}"));
    part.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

fn hundred_mib_each_way_through_a_lossy_link(p: &Platform) {
    let mut ns = Netns::new("lossy");
    let relay = ns.impair(5, 10, 1);
    let _guest = boot_tcp_echo(&mut ns, p);
    bulk(&ns, GUEST6);
    // The relay prints its counters every second: the newest line after a pause counts the
    // whole transfer.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let last = relay
        .try_iter()
        .last()
        .expect("the relay printed no counters");
    println!("{last}");
    for direction in ["guest->host", "host->guest"] {
        let frames = counter(&last, direction, "frames");
        // 100 MiB in 1,500-byte frames is ~70,000 frames of data one way and the ACKs the
        // other: both directions carry tens of thousands of frames.
        assert!(
            frames > 20_000,
            "{direction}: only {frames} frames:\n{last}"
        );
        for (name, percent) in [("dropped", 5), ("reordered", 10), ("duplicated", 1)] {
            let n = counter(&last, direction, name);
            // Well within the binomial spread of the expected count, far from zero.
            let expected = frames * percent / 100;
            assert!(
                n > expected / 2 && n < expected * 2,
                "{direction}: {n} {name} of {frames} frames, expected about {percent}%:\n{last}"
            );
        }
    }
}
