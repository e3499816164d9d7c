//! The `kiln` command as a library: the integration tests call these functions directly.
//!
//! Each module does one job of the image pipeline described in `docs/ARCHITECTURE.md`
//! ("The image contract"):
//!
//! - [`toolchain`]: the one source of the C/C++ compile flags and of the tools' paths;
//! - [`runtime`]: builds `target/kiln/libkiln_runtime.a` (localized) and `libkiln_shim.a`;
//! - [`link`]: the link driver (two passes, the second adds the `.kiln_syms` table);
//! - [`libs`]: the sealed link: where `-l` libraries come from, what is refused;
//! - [`symtab`]: the `.kiln_syms` blob format;
//! - [`image`]: recognizing a Kiln image (ELF + PVH note) and building the tiny probe image;
//! - [`qemu`]: the QEMU command line, running a guest, the KVM probe;
//! - [`lifecycle`]: `kiln run` as the process it wraps (signals, stdio, exit status, QEMU
//!   never outliving it);
//! - [`process`]: starting QEMU and passt tied to `kiln` (parent death, process groups), and
//!   stopping them; the only `unsafe` of the crate;
//! - [`network`]: the guest's network choice (`--net`, `-p`) and its QEMU arguments;
//! - [`usernet`]: user networking through passt (a real listen backlog, IPv4 and IPv6);
//! - [`package`]: `kiln image`, an image packaged as a GRUB disk (raw, qcow2) or ISO;
//! - [`oci`]: `kiln image --format oci|container`, an image as an OCI image (KubeVirt
//!   containerDisk and kernelBoot, or QEMU in a plain container);
//! - [`media`]: recognizing disk and ISO images and booting them through firmware;
//! - [`build`]: configuring and building a CMake project with the Kiln toolchain;
//! - [`cpio`]: packing a directory into a newc archive (`kiln pack`, `kiln run --files`);
//! - [`doctor`]: checking and installing the host packages Kiln needs;
//! - [`pkg`]: `kiln pkg`, C libraries built for Kiln from Debian source packages.
//!
//! Errors meant for users are [`Failure`]s: one line that says what to do, and an exit code.
// `unsafe` is denied everywhere but in `process`, which needs `pre_exec` and SIGTTIN's
// SIG_IGN (and says why).
#![deny(unsafe_code)]

pub mod build;
pub mod cpio;
pub mod doctor;
pub mod image;
pub mod libs;
pub mod lifecycle;
pub mod link;
pub mod media;
pub mod network;
pub mod oci;
pub mod package;
pub mod pkg;
pub mod process;
pub mod qemu;
pub mod runtime;
pub mod symtab;
pub mod toolchain;
pub mod usernet;

use std::fmt;
use std::path::{Path, PathBuf};

pub use anyhow::Result;
pub use build::build_dir;
pub use link::{link, LinkOptions};
pub use media::Firmware;
pub use network::Network;
pub use package::{package, Format, PackageOptions};
pub use qemu::{run_image, Accel, Machine, RunOptions, RunOutput};
pub use runtime::{ensure_runtime, ensure_shim};

/// An error for the user: one line saying what went wrong and what to do, and the exit code
/// `kiln` ends with (2 for bad input or a missing prerequisite, the tool's own code otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A failure with exit code 2: bad input or a missing prerequisite.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(2, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The Kiln checkout: `$KILN_ROOT` if set, else the checkout the running binary was built in
/// (`target/release/kiln` → `../..`), else the checkout this crate was compiled from.
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent()?.parent()?.parent().map(Path::to_path_buf))
        .filter(|dir| is_checkout(dir))
    {
        return dir;
    }
    let compiled_in = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    compiled_in.to_path_buf()
}

fn is_checkout(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("runtime").is_dir() && dir.join("cli").is_dir()
}

/// `target/kiln` of the checkout: the runtime archives, the KVM probe verdict.
pub fn kiln_dir() -> PathBuf {
    root()
        .join("target")
        .join(if debug_kernel() { "kiln-debug" } else { "kiln" })
}

/// Whether images link the debug kernel: `KILN_KERNEL=debug` in the environment builds the
/// runtime with its `debug-checks` feature (kernel heap red zones and poison, flag
/// assertions at the scheduler's and the heap's entries) into `target/kiln-debug`, apart
/// from the release kernel. The test suite runs once with it in CI.
pub fn debug_kernel() -> bool {
    std::env::var("KILN_KERNEL").is_ok_and(|v| v == "debug")
}

/// Reads a list file (`runtime/abi.txt`, `libc-shim/wraps.txt`): one entry a line, `#`
/// starts a comment, blank lines are ignored.
pub fn list_entries(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entries_drops_comments_and_blanks() {
        let text = "# header\n\nkiln_main\n  OS_start  # the app's entry\n#gone\n";
        assert_eq!(list_entries(text), ["kiln_main", "OS_start"]);
    }
}
