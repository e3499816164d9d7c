//! Disk and ISO images (as `kiln image` makes them): recognizing one, and QEMU's arguments for
//! booting it through firmware — SeaBIOS or OVMF (UEFI) — instead of `-kernel`.
//!
//! The kernel command line of such an image is baked into its `grub.cfg`, so `kiln run` cannot
//! add to it; the exit status comes back as for any image (isa-debug-exit, and the final
//! `kiln: exit status N` console line).

use crate::qemu::{Machine, RunOptions};
use crate::{Failure, Result};
use std::io::Read;
use std::path::Path;

/// A bootable medium other than a bare Kiln image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// ISO 9660 (a `grub-mkrescue` image): attached as a CD-ROM.
    Iso,
    /// A raw disk with an MBR boot signature.
    Raw,
    /// A qcow2 disk.
    Qcow2,
}

/// The firmware that boots a disk or ISO image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default BIOS.
    #[default]
    Bios,
    /// OVMF, from Debian's `ovmf` package.
    Uefi,
}

/// OVMF as one file for `-bios` (Debian's `ovmf` package).
pub const OVMF: &str = "/usr/share/ovmf/OVMF.fd";

/// ISO 9660's primary volume descriptor: "CD001" at byte 1 of sector 16 (2 KiB sectors).
const ISO_MAGIC_AT: usize = 0x8001;
const ISO_MAGIC: &[u8] = b"CD001";
const QCOW2_MAGIC: &[u8] = b"QFI\xfb";
/// How much of a file [`classify`] needs to see.
pub const SNIFF_LEN: usize = ISO_MAGIC_AT + ISO_MAGIC.len();

/// What the first [`SNIFF_LEN`] bytes of a file say it is; `None` for anything else (an ELF
/// image included).
pub fn classify(head: &[u8]) -> Option<Media> {
    if head.starts_with(b"\x7fELF") {
        return None;
    }
    if head.starts_with(QCOW2_MAGIC) {
        return Some(Media::Qcow2);
    }
    if head.get(ISO_MAGIC_AT..SNIFF_LEN) == Some(ISO_MAGIC) {
        return Some(Media::Iso);
    }
    if head.get(510..512) == Some(&[0x55, 0xaa][..]) {
        return Some(Media::Raw);
    }
    None
}

/// Reads the start of `path` and classifies it (`None` when unreadable: the caller's own
/// checks then say what is wrong).
pub fn detect(path: &Path) -> Option<Media> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .ok()?;
    classify(&head)
}

/// Refuses what a disk or ISO image cannot do: a command line (it is baked into grub.cfg)
/// and the microvm board (it has no firmware that boots disks).
pub fn check_options(opts: &RunOptions) -> Result<()> {
    if opts.append.is_some() || !opts.args.is_empty() {
        return Err(Failure::usage(
            "a disk or ISO image carries its command line in grub.cfg; give --append and arguments to `kiln image` instead",
        )
        .into());
    }
    if opts.machine == Machine::Microvm {
        return Err(Failure::usage(
            "-M microvm has no firmware to boot a disk or ISO image; use --machine pc or q35",
        )
        .into());
    }
    if opts.firmware == Firmware::Uefi && !Path::new(OVMF).is_file() {
        return Err(Failure::usage(format!(
            "{OVMF} is missing (UEFI firmware); run `kiln doctor --install`"
        ))
        .into());
    }
    Ok(())
}

/// QEMU's arguments for booting `path` (a `media` image) through `opts.firmware`; `common`
/// are the machine-independent arguments ([`crate::qemu::common_args`]).
pub fn qemu_args(path: &Path, media: Media, opts: &RunOptions, common: Vec<String>) -> Vec<String> {
    let machine = if opts.machine == Machine::Q35 {
        "q35"
    } else {
        "pc"
    };
    let mut args: Vec<String> = vec!["-M".into(), machine.into()];
    if opts.firmware == Firmware::Uefi {
        args.extend(["-bios".into(), OVMF.into()]);
    }
    args.extend(common);
    // In -drive, a comma is written twice.
    let file = path.display().to_string().replace(',', ",,");
    let drive = match media {
        Media::Iso => format!("file={file},media=cdrom,if=ide,readonly=on"),
        // snapshot=on: booting never changes the disk.
        Media::Raw => format!("file={file},format=raw,if=ide,snapshot=on"),
        Media::Qcow2 => format!("file={file},format=qcow2,if=ide,snapshot=on"),
    };
    args.extend(["-drive".into(), drive]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_with(at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut head = vec![0u8; SNIFF_LEN];
        head[at..at + bytes.len()].copy_from_slice(bytes);
        head
    }

    #[test]
    fn media_are_told_apart() {
        assert_eq!(classify(&head_with(0, b"QFI\xfb")), Some(Media::Qcow2));
        assert_eq!(classify(&head_with(510, &[0x55, 0xaa])), Some(Media::Raw));
        // A hybrid ISO also has an MBR signature: ISO wins.
        let mut iso = head_with(ISO_MAGIC_AT, b"CD001");
        iso[510..512].copy_from_slice(&[0x55, 0xaa]);
        assert_eq!(classify(&iso), Some(Media::Iso));
        assert_eq!(classify(&head_with(0, b"\x7fELF")), None);
        assert_eq!(classify(b"short"), None);
        assert_eq!(classify(&[0u8; SNIFF_LEN]), None);
    }

    #[test]
    fn disks_refuse_a_command_line_and_microvm() {
        let pc = RunOptions {
            machine: Machine::Pc,
            ..RunOptions::default()
        };
        assert!(check_options(&pc).is_ok());
        let with_args = RunOptions {
            args: vec!["x".into()],
            ..pc.clone()
        };
        assert!(check_options(&with_args).is_err());
        let with_append = RunOptions {
            append: Some("A=1".into()),
            ..pc.clone()
        };
        assert!(check_options(&with_append).is_err());
        assert!(check_options(&RunOptions::default()).is_err());
    }

    #[test]
    fn drives_and_firmware() {
        let opts = RunOptions {
            machine: Machine::Q35,
            firmware: Firmware::Uefi,
            ..RunOptions::default()
        };
        let args = qemu_args(
            Path::new("/d/a,b.img"),
            Media::Raw,
            &opts,
            vec!["-m".into(), "256M".into()],
        );
        assert_eq!(
            args,
            [
                "-M",
                "q35",
                "-bios",
                OVMF,
                "-m",
                "256M",
                "-drive",
                "file=/d/a,,b.img,format=raw,if=ide,snapshot=on"
            ]
        );
        let pc = RunOptions {
            machine: Machine::Pc,
            ..RunOptions::default()
        };
        let args = qemu_args(Path::new("x.iso"), Media::Iso, &pc, Vec::new());
        assert_eq!(
            args,
            [
                "-M",
                "pc",
                "-drive",
                "file=x.iso,media=cdrom,if=ide,readonly=on"
            ]
        );
    }
}
