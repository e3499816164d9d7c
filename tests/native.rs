//! A Kiln image executed on the Linux host runs its program natively: the image's ELF entry
//! point is a Linux-process entry that jumps straight to musl's `_start` (docs/ARCHITECTURE.md,
//! "Entries"), so every syscall goes to the host kernel. Each differential program's image,
//! run as an ordinary program, must print what its static Linux twin (`kiln link --host`)
//! prints and exit with the same status; the entries the loaders use stay apart.

use kiln_tests::{
    event_dir, event_src, host_binary, host_binary_in, image, run_host, run_ok, Output,
};

fn same_natively(name: &str, env: &[(&str, &str)], args: &[&str]) -> (Output, Output) {
    let twin = run_host(&host_binary(name), env, args);
    let native = run_host(&image(name), env, args);
    assert!(!twin.stdout.is_empty(), "{}", twin.describe());
    assert_eq!(
        native.stdout,
        twin.stdout,
        "{name}: the image run natively differs from its Linux twin\n{}",
        native.describe()
    );
    assert_eq!(native.status, twin.status, "{name}\n{}", native.describe());
    (twin, native)
}

#[test]
fn formats_strto_sort_and_jumps() {
    for name in ["formats", "strto", "sort", "jumps"] {
        same_natively(name, &[], &[]);
    }
}

#[test]
fn arguments_environment_and_exit_status() {
    let (_, native) = same_natively(
        "args_env",
        &[("KILN_TEST", "1"), ("PATH", "/opt/kiln-test/bin")],
        &["plain", "with spaces", "x=y", "--", "-v", "last"],
    );
    assert!(
        native.stdout.contains("with spaces"),
        "{}",
        native.describe()
    );
    let exit = run_host(&image("exit3"), &[], &[]);
    assert_eq!(exit.status, 3, "{}", exit.describe());
}

#[test]
fn memory_errnos_and_random() {
    for name in ["malloc_stress", "errnos", "random"] {
        same_natively(name, &[], &[]);
    }
}

#[test]
fn threads_in_c_and_cxx() {
    for name in ["threads", "threads_cpp"] {
        same_natively(name, &[], &[]);
    }
}

#[test]
fn readiness_timers_and_clocks() {
    for name in ["readiness", "timers", "clocks"] {
        same_natively(name, &[], &[]);
    }
}

#[test]
fn sockets_over_the_hosts_loopback() {
    for name in ["loopback", "sock_errnos"] {
        same_natively(name, &[], &[]);
    }
}

/// prctl, getrusage, AF_UNIX sockets, the TCP options and the netbase files (issue 13):
/// natively these go to the host kernel, so the image prints what its twin prints.
#[test]
fn prctl_rusage_unix_sockets_tcp_options_and_netdb() {
    for name in ["prctl", "rusage", "unix_sockets", "tcp_options", "netdb"] {
        same_natively(name, &[], &[]);
    }
}

/// libc-shim's event API (the `OS_start` loop over epoll, timerfd, eventfd and sockets, and
/// its default `main`) assumes nothing of the Kiln kernel: its programs' images pass natively
/// with the check lines of their `--host` twins.
#[test]
fn event_api_programs() {
    let checks = |out: &Output| -> Vec<String> {
        out.stdout
            .lines()
            .filter(|line| !line.starts_with("info:"))
            .map(str::to_owned)
            .collect()
    };
    for name in [
        "timer_order",
        "timer_cancel",
        "post_threads",
        "udp_pingpong",
        "tcp_close_in_data",
    ] {
        let twin = run_host(&host_binary_in(&event_src(), name), &[], &[]);
        let native = run_host(&event_dir().join(name), &[], &[]);
        for out in [&twin, &native] {
            out.assert_status(0);
            assert!(
                out.stdout.lines().any(|l| l == "status: ok") && !out.stdout.contains("FAIL"),
                "{name}\n{}",
                out.describe()
            );
        }
        assert_eq!(
            checks(&native),
            checks(&twin),
            "{name}\n{}",
            native.describe()
        );
    }
}

/// The addresses the three loaders use: `e_entry` is `kiln_linux_entry`, the PVH note names
/// `kiln_pvh_entry`, the multiboot2 header's entry-address tag `kiln_mb2_entry`; all differ.
#[test]
fn the_elf_entry_is_not_a_boot_entry() {
    let path = image("hello");
    let bytes = std::fs::read(&path).unwrap();
    let u32_at = |off: usize| u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
    let u64_at = |off: usize| u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap());
    let e_entry = u64_at(24);

    // PVH: namesz 4, descsz 8, type 18 (XEN_ELFNOTE_PHYS32_ENTRY), "Xen\0", the address.
    let note: Vec<u8> = [4u32, 8, 18]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .chain(*b"Xen\0")
        .collect();
    let at = bytes
        .windows(note.len())
        .position(|w| w == note.as_slice())
        .expect("the PVH note");
    let pvh = u64_at(at + note.len());

    // multiboot2: the magic on an 8-byte boundary in the first 32 KiB, then tags from +16.
    let header = (0..32768usize.min(bytes.len()) - 16)
        .step_by(8)
        .find(|&off| u32_at(off) == 0xe852_50d6)
        .expect("the multiboot2 header");
    let end = header + u32_at(header + 8) as usize;
    let mut tag = header + 16;
    let mut mb2 = None;
    while tag + 8 <= end {
        let (kind, size) = (u32_at(tag) & 0xffff, u32_at(tag + 4) as usize);
        if kind == 3 {
            mb2 = Some(u64::from(u32_at(tag + 8)));
        }
        if kind == 0 || size < 8 {
            break;
        }
        tag += size.div_ceil(8) * 8;
    }
    let mb2 = mb2.expect("an entry-address tag");

    let symbols = run_ok(std::process::Command::new("nm").arg(&path));
    let address = |name: &str| {
        symbols
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                let (addr, _, sym) = (words.next()?, words.next()?, words.next()?);
                (sym == name).then(|| u64::from_str_radix(addr, 16).unwrap())
            })
            .unwrap_or_else(|| panic!("no {name} in the image"))
    };
    assert_eq!(e_entry, address("kiln_linux_entry"));
    assert_eq!(pvh, address("kiln_pvh_entry"));
    assert_eq!(mb2, address("kiln_mb2_entry"));
    assert!(e_entry != pvh && e_entry != mb2 && pvh != mb2);
}
