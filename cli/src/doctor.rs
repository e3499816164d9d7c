//! Checks that the host has what Kiln needs (Debian packages, the Rust target) and installs
//! what is missing when asked to.

use crate::{Failure, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

/// Every Debian package Kiln uses, and what for.
// A slice, not an array: its length is not written down, so two changes that each add a
// package merge cleanly.
pub const PACKAGES: &[(&str, &str)] = &[
    ("clang", "compiles apps and libc-shim"),
    ("lld", "links images"),
    ("libc++-dev", "C++ standard library"),
    ("libc++abi-dev", "C++ ABI library and libunwind"),
    ("musl-dev", "the C library"),
    (
        "linux-libc-dev",
        "kernel headers: the runtime's struct statx layout test",
    ),
    ("qemu-system-x86", "runs images"),
    ("qemu-system-data", "qboot, the fast BIOS for -M pc/q35"),
    (
        "passt",
        "user networking for `kiln run -p` (IPv4 and IPv6, a real listen backlog)",
    ),
    ("cmake", "builds projects"),
    ("ninja-build", "fast CMake builds"),
    ("grub-common", "bootable disk images"),
    ("binutils", "objcopy and ar for the runtime archives"),
    ("make", "Makefile builds with bin/kiln-cc"),
    ("autoconf", "autotools builds with bin/kiln-cc (tests)"),
    ("grub-pc-bin", "GRUB for BIOS in disk and ISO images"),
    ("grub-efi-amd64-bin", "GRUB for UEFI in disk and ISO images"),
    ("xorriso", "ISO images (grub-mkrescue)"),
    ("mtools", "FAT file systems without mounting"),
    ("dosfstools", "mkfs.fat for disk images"),
    ("qemu-utils", "qcow2 disk images (qemu-img)"),
    ("ovmf", "UEFI firmware for booting disk images"),
    ("bochs", "tests: booting ISO images in Bochs"),
    (
        "bochs-sdl",
        "tests: Bochs without a display (SDL dummy driver)",
    ),
    ("bochsbios", "tests: Bochs's BIOS"),
    ("vgabios", "tests: Bochs's VGA BIOS"),
    ("iproute2", "network tests: namespaces and tap devices"),
    (
        "netbase",
        "tests: Debian's /etc/services and /etc/protocols, the reference for the guest's",
    ),
    ("iputils-ping", "network tests: ping and ping -6"),
    ("tcpdump", "network tests: captures on the test tap"),
    (
        "dnsmasq-base",
        "network tests: a DHCP server in the test's namespace",
    ),
    ("g++", "host builds of the DNS server (tests)"),
    ("libclang-rt-14-dev", "libFuzzer for the DNS fuzz targets"),
    ("bind9-dnsutils", "dig, to query the DNS server (tests)"),
    ("knot-dnsutils", "kdig, to query the DNS server (tests)"),
    ("dnsperf", "dnsperf, to load the DNS server (bench/dns)"),
    ("knot", "Knot DNS, the DNS test reference"),
    ("python3-dnspython", "drives the DNS differential test"),
    ("curl", "HTTP client for the event API tests"),
    ("wrk", "HTTP load generator for the event API tests"),
    (
        "linux-image-cloud-amd64",
        "bench: the Linux guest's kernel (files in /boot only)",
    ),
    ("busybox-static", "bench: the Linux guest's init and tools"),
    ("cpio", "bench: packs the Linux guest's initramfs"),
    ("kmod", "bench: resolves the Linux guest's modules"),
    (
        "libbz2-dev",
        "tests: a host-only library the sealed link must refuse",
    ),
    (
        "zlib1g-dev",
        "tests: the host's zlib, which CMake under the toolchain must not find",
    ),
    (
        "dpkg-dev",
        "kiln pkg: dpkg-source unpacks Debian source packages",
    ),
    (
        "pkgconf",
        "kiln pkg: bin/kiln-pkg-config answers for the Kiln sysroot",
    ),
    (
        "automake",
        "kiln pkg: autotools recipes regenerate their build files",
    ),
    (
        "libtool",
        "kiln pkg: autotools recipes regenerate their build files",
    ),
    (
        "perl",
        "kiln pkg: OpenSSL's Configure and its assembly generators",
    ),
    (
        "tcl",
        "kiln pkg: SQLite's build makes its amalgamation with tclsh",
    ),
    (
        "openssl",
        "tests: certificates, s_client and s_time against the HTTPS example",
    ),
    ("testssl.sh", "tests: rates the HTTPS example's TLS"),
    (
        "umoci",
        "kiln image --format oci|container: writes the OCI image layout",
    ),
    (
        "mmdebstrap",
        "kiln image --format container: the container's Debian base (QEMU, passt)",
    ),
    (
        "skopeo",
        "tests: inspects and copies OCI images (layouts, archives, a registry)",
    ),
    (
        "podman",
        "tests: runs the container image (kiln image --format container)",
    ),
    (
        "runc",
        "tests: podman's OCI runtime here (crun refuses this host's hybrid cgroups)",
    ),
    ("netavark", "tests: podman's networks and published ports"),
    ("iptables", "tests: netavark's port forwarding"),
    (
        "docker-registry",
        "tests: a registry on loopback that the OCI images are pushed to",
    ),
    (
        "python3-yaml",
        "tests: reads the manifests in docs/deploy.md",
    ),
];
/// What `kiln build` cannot do without.
pub const FOR_BUILD: [&str; 7] = [
    "clang",
    "lld",
    "libc++-dev",
    "libc++abi-dev",
    "musl-dev",
    "cmake",
    "binutils",
];
/// What `kiln run` cannot do without.
pub const FOR_RUN: [&str; 1] = ["qemu-system-x86"];
pub const RUST_TARGET: &str = "x86_64-unknown-none";

/// The packages of `wanted` that `dpkg-query` does not report as installed. `None` when this
/// is not a Debian-like system (no dpkg-query): nothing can be checked.
pub fn missing_packages(wanted: &[&str]) -> Option<Vec<String>> {
    let out = Command::new("dpkg-query")
        .arg("-W")
        .arg("-f=${Package}\t${db:Status-Abbrev}\n")
        .args(wanted)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some(not_installed(wanted, &String::from_utf8_lossy(&out.stdout)))
}

/// Parses `dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n'` output: installed packages
/// read `ii`.
pub fn not_installed(wanted: &[&str], dpkg_output: &str) -> Vec<String> {
    let installed: Vec<&str> = dpkg_output
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, status)| status.trim_end().starts_with("ii"))
        .map(|(name, _)| name.split(':').next().unwrap_or(name))
        .collect();
    wanted
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| p.to_string())
        .collect()
}

/// Whether `rustup` lists the runtime's target as installed (`None`: no rustup).
pub fn rust_target_installed() -> Option<bool> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == RUST_TARGET),
    )
}

/// The fast check `kiln build` and `kiln run` make first: one dpkg-query call.
pub fn require(wanted: &[&str]) -> Result<()> {
    match missing_packages(wanted) {
        Some(missing) if !missing.is_empty() => Err(Failure::usage(format!(
            "missing Debian packages: {}; run `kiln doctor --install`",
            missing.join(" ")
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The commands that install what is missing.
pub fn install_commands(packages: &[String], rust_target: bool, root: bool) -> Vec<String> {
    let mut commands = Vec::new();
    if !packages.is_empty() {
        let sudo = if root { "" } else { "sudo " };
        commands.push(format!(
            "{sudo}apt-get update && {sudo}apt-get install -y {}",
            packages.join(" ")
        ));
    }
    if rust_target {
        commands.push(format!("rustup target add {RUST_TARGET}"));
    }
    commands
}

/// `kiln doctor [--install] [--yes]`; returns the exit code.
pub fn doctor(install: bool, yes: bool) -> Result<i32> {
    let names: Vec<&str> = PACKAGES.iter().map(|(name, _)| *name).collect();
    let Some(missing) = missing_packages(&names) else {
        return Err(Failure::usage("dpkg-query not found: kiln doctor knows Debian's packages only; install the equivalents of: clang lld libc++-dev libc++abi-dev musl-dev qemu-system-x86 cmake ninja-build").into());
    };
    let target_missing = match rust_target_installed() {
        Some(installed) => !installed,
        None => {
            println!(
                "rustup not found: install Rust from https://rustup.rs, then run kiln doctor again"
            );
            return Ok(1);
        }
    };
    for (name, why) in PACKAGES {
        let mark = if missing.iter().any(|m| m == name) {
            "missing"
        } else {
            "ok"
        };
        println!("{mark:>7}  {name:<19} {why}");
    }
    let mark = if target_missing { "missing" } else { "ok" };
    println!("{mark:>7}  {:<19} the runtime's Rust target", RUST_TARGET);
    if missing.is_empty() && !target_missing {
        println!("kiln doctor: everything Kiln needs is installed");
        return Ok(0);
    }

    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let commands = install_commands(&missing, target_missing, is_root);
    println!("to install what is missing, run:");
    for command in &commands {
        println!("  {command}");
    }
    if !install {
        return Ok(1);
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if !yes && !ci {
        if !std::io::stdin().is_terminal() {
            eprintln!("kiln doctor: not a terminal; rerun with --yes to install without asking");
            return Ok(1);
        }
        print!("run these commands now? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(1);
        }
    }
    for command in &commands {
        eprintln!("kiln doctor: running {command}");
        let status = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?;
        if !status.success() {
            return Err(Failure::new(
                1,
                format!("`{command}` failed; fix the error above and run kiln doctor again"),
            )
            .into());
        }
    }
    println!("kiln doctor: installed");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_output_is_parsed() {
        let out = "clang\tii \nlld\trc \nmusl-dev:amd64\tii \n";
        assert_eq!(
            not_installed(&["clang", "lld", "musl-dev", "cmake"], out),
            ["lld", "cmake"]
        );
    }

    #[test]
    fn commands_name_what_is_missing() {
        let pkgs = vec!["lld".to_owned(), "cmake".to_owned()];
        assert_eq!(
            install_commands(&pkgs, true, true),
            [
                "apt-get update && apt-get install -y lld cmake",
                "rustup target add x86_64-unknown-none"
            ]
        );
        assert_eq!(
            install_commands(&pkgs, false, false),
            ["sudo apt-get update && sudo apt-get install -y lld cmake"]
        );
        assert!(install_commands(&[], false, true).is_empty());
    }
}
