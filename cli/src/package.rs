//! `kiln image`: a Kiln image packaged as a bootable disk (raw or qcow2) or ISO, in which GRUB
//! loads the image by multiboot2 with the kernel command line baked into `grub.cfg`; or as an
//! OCI image (`--format oci`, `--format container`), which [`crate::oci`] builds.
//!
//! The **disk** is an MBR-partitioned raw image built without root or loop devices:
//!
//! ```text
//!  LBA 0            GRUB's boot.img (first 440 bytes), disk signature, one partition entry
//!  LBA 1 .. 2047    GRUB's BIOS core.img (grub-mkimage -O i386-pc; boot.img loads it)
//!  LBA 2048 ..      partition 1, type 0xEF (EFI System), FAT (mkfs.fat, filled with mtools):
//!                     /boot/kiln                the Kiln image
//!                     /boot/grub/grub.cfg       multiboot2 /boot/kiln <command line>; boot
//!                     /EFI/BOOT/BOOTX64.EFI     GRUB for UEFI (grub-mkimage -O x86_64-efi)
//! ```
//!
//! Both GRUB builds embed the same early configuration: find the partition by its FAT volume
//! id and read `/boot/grub/grub.cfg` from it, so BIOS (SeaBIOS) and UEFI (OVMF) boot the same
//! file. The **ISO** comes from `grub-mkrescue` (hybrid: El Torito for BIOS, an EFI system
//! image for UEFI) with the same `grub.cfg`. **qcow2** is the raw disk through
//! `qemu-img convert`.
//!
//! GRUB keeps the serial port alone: it draws on the VGA or EFI console, so COM1 carries the
//! program's output only (firmware such as OVMF may still write there before GRUB starts). If
//! GRUB cannot load the image it says so on COM1 too and powers off.

use crate::{doctor, image, oci, qemu, Failure, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The output format of `kiln image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An MBR-partitioned disk image (BIOS and UEFI).
    Raw,
    /// The raw disk converted to QEMU's qcow2.
    Qcow2,
    /// A hybrid BIOS/UEFI ISO 9660 image made by grub-mkrescue.
    Iso,
    /// An OCI image for KubeVirt: a containerDisk (the disk under /disk/) or, with
    /// `--variant kernelboot`, the kernel under /boot/ (see [`crate::oci`]).
    Oci,
    /// An OCI image that runs the image in QEMU inside a plain container (see [`crate::oci`]).
    Container,
}

impl Format {
    /// The file extension of the default output name (`variant`: of an `oci` image).
    pub fn extension(self, variant: oci::Variant) -> &'static str {
        match self {
            Format::Raw => "img",
            Format::Qcow2 => "qcow2",
            Format::Iso => "iso",
            Format::Oci if variant == oci::Variant::Kernelboot => "kernelboot.oci",
            Format::Oci => "containerdisk.oci",
            Format::Container => "container.oci",
        }
    }

    /// The Debian packages this format needs (`variant`: of an `oci` image).
    pub fn packages(self, variant: oci::Variant) -> Vec<&'static str> {
        match self {
            Format::Raw => DISK_PACKAGES[..5].to_vec(),
            Format::Qcow2 => DISK_PACKAGES.to_vec(),
            Format::Iso => ISO_PACKAGES.to_vec(),
            Format::Oci => oci::packages(false, variant),
            Format::Container => oci::packages(true, variant),
        }
    }
}

const DISK_PACKAGES: [&str; 6] = [
    "grub-common",
    "grub-pc-bin",
    "grub-efi-amd64-bin",
    "dosfstools",
    "mtools",
    "qemu-utils",
];
const ISO_PACKAGES: [&str; 5] = [
    "grub-common",
    "grub-pc-bin",
    "grub-efi-amd64-bin",
    "xorriso",
    "mtools",
];

/// How to package an image.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    pub format: Format,
    /// The output file (default: the image's path with the format's extension added).
    pub output: Option<PathBuf>,
    /// Extra kernel command-line words (runtime options, `NAME=value` environment).
    pub append: Option<String>,
    /// The program's arguments (after `--`).
    pub args: Vec<String>,
    /// What only the OCI formats take.
    pub oci: oci::OciOptions,
}

/// Where the Kiln image lives on the disk or ISO.
pub const KERNEL_PATH: &str = "/boot/kiln";
/// Bytes in a sector.
pub const SECTOR: usize = 512;
/// First sector of the FAT partition (1 MiB, the usual alignment). The sectors between the
/// MBR and it hold GRUB's BIOS core image.
pub const PARTITION_START_LBA: u32 = 2048;
/// The smallest FAT partition made (room for the image, GRUB for UEFI, and later files).
const MIN_PARTITION_BYTES: u64 = 63 << 20;
/// The MBR partition type of the FAT partition: EFI System, which UEFI firmware looks into
/// and which BIOS GRUB reads like any other FAT partition.
const PARTITION_TYPE_ESP: u8 = 0xef;

/// GRUB modules both GRUB builds carry (the BIOS one adds `biosdisk`, the ISO `iso9660`).
const GRUB_MODULES: [&str; 15] = [
    "part_msdos",
    "part_gpt",
    "fat",
    "search",
    "search_fs_uuid",
    "normal",
    "configfile",
    "multiboot2",
    "boot",
    "echo",
    "test",
    "serial",
    "terminal",
    "halt",
    "sleep",
];
/// What the ISO adds: its file system, and the partition-table modules grub-mkrescue's EFI
/// configuration loads (without them it prints an error for each).
const ISO_EXTRA_MODULES: [&str; 10] = [
    "iso9660",
    "part_acorn",
    "part_amiga",
    "part_apple",
    "part_bsd",
    "part_dfly",
    "part_dvh",
    "part_plan",
    "part_sun",
    "part_sunpc",
];
const GRUB_I386_PC: &str = "/usr/lib/grub/i386-pc";
const GRUB_X86_64_EFI: &str = "/usr/lib/grub/x86_64-efi";

/// Offsets in GRUB's `boot.img` (GRUB's `include/grub/i386/pc/boot.h`).
mod boot_img {
    /// `u64`: the LBA of the first sector of core.img.
    pub const KERNEL_SECTOR: usize = 0x5c;
    /// `u8`: the BIOS drive to boot from; 0xff means the drive the BIOS passed in `dl`.
    pub const BOOT_DRIVE: usize = 0x64;
    /// A 2-byte `jmp` that grub-bios-setup replaces with two `nop`s for hard disks, so a
    /// BIOS that passes a floppy number in `dl` is corrected to 0x80.
    pub const DRIVE_CHECK: usize = 0x66;
    /// Where the MBR's disk signature and partition table begin; boot code ends here.
    pub const CODE_END: usize = 0x1b8;
}

/// Packages `image` as `opts.format`; returns the path written.
pub fn package(image: &Path, opts: &PackageOptions) -> Result<PathBuf> {
    image::check(image)?;
    doctor::require(&opts.format.packages(opts.oci.variant))?;
    let output = opts.output.clone().unwrap_or_else(|| {
        let mut name = image.as_os_str().to_owned();
        name.push(".");
        name.push(opts.format.extension(opts.oci.variant));
        PathBuf::from(name)
    });
    let oci_only = opts.oci.tag.is_some()
        || opts.oci.variant != oci::Variant::default()
        || opts.oci.disk_format != oci::DiskFormat::default()
        || opts.oci.files.is_some()
        || !opts.oci.publish.is_empty()
        || opts.oci.memory.is_some();
    if matches!(opts.format, Format::Oci | Format::Container) {
        oci::build(image, opts, &output)?;
        return Ok(output);
    }
    if oci_only {
        return Err(Failure::usage(
            "--tag, --variant, --disk-format, --files, -p and -m are for --format oci or container",
        )
        .into());
    }
    let argv0 = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let cmdline = qemu::kernel_cmdline(&argv0, opts.append.as_deref(), &opts.args)?;
    let kernel = std::fs::read(image)?;

    let scratch = Scratch::new(&output)?;
    match opts.format {
        Format::Raw | Format::Qcow2 => make_disk_file(
            &kernel,
            &cmdline,
            &scratch,
            &output,
            opts.format == Format::Qcow2,
        )?,
        Format::Iso => {
            let words = grub_words(&cmdline).map_err(Failure::usage)?;
            make_iso(&kernel, &grub_cfg(KERNEL_PATH, &words), &scratch, &output)?
        }
        Format::Oci | Format::Container => unreachable!("handled above"),
    }
    Ok(output)
}

/// Writes the GRUB disk that boots `kernel` with `cmdline` to `output`: raw, or converted to
/// qcow2 (`qcow2`); `scratch` holds the intermediate files.
pub(crate) fn make_disk_file(
    kernel: &[u8],
    cmdline: &str,
    scratch: &Scratch,
    output: &Path,
    qcow2: bool,
) -> Result<()> {
    let words = grub_words(cmdline).map_err(Failure::usage)?;
    let config = grub_cfg(KERNEL_PATH, &words);
    if !qcow2 {
        return make_disk(kernel, &config, scratch, output);
    }
    let raw = scratch.path("disk.raw");
    make_disk(kernel, &config, scratch, &raw)?;
    run_tool(
        Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&raw)
            .arg(output),
        "qemu-utils",
    )
}

/// Splits a kernel command line into its words as the runtime will (whitespace separates,
/// double quotes group, `\"` is a literal quote), for `grub.cfg`. GRUB's multiboot2 command
/// joins its arguments again, double-quoting those with a space and escaping `"` as `\"`,
/// which the runtime reads back as the same words; but it also escapes `\` and `'`, which
/// the runtime would not undo, so those are refused, as are control characters.
pub fn grub_words(cmdline: &str) -> std::result::Result<Vec<String>, String> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
    let mut words = Vec::new();
    let mut chars = cmdline.chars().peekable();
    loop {
        while chars.next_if(|&c| is_space(c)).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'"') => {
                    chars.next();
                    word.push('"');
                }
                '"' => quoted = !quoted,
                c if !quoted && is_space(c) => break,
                c => word.push(c),
            }
        }
        if let Some(bad) = word
            .chars()
            .find(|&c| c == '\\' || c == '\'' || c.is_control())
        {
            return Err(format!(
                "the command-line word {word:?} contains {bad:?}, which GRUB would pass on altered; \
                 a disk or ISO image cannot carry it (boot the image with `kiln run` instead)"
            ));
        }
        words.push(word);
    }
    Ok(words)
}

/// `grub.cfg`: load `kernel` by multiboot2 with `words` as its command line and boot it at
/// once. If that fails, GRUB turns to the serial console as well, tries once more so its
/// error shows there, says what failed and powers off.
pub fn grub_cfg(kernel: &str, words: &[String]) -> String {
    // GRUB's single quotes keep everything literal; `grub_words` has refused `'` itself.
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let load = format!("multiboot2 {kernel} {}", quoted.join(" "));
    format!(
        "# Written by `kiln image`: boot the Kiln image {kernel} by multiboot2.\n\
         # The words after its path are the kernel command line (runtime options,\n\
         # NAME=value environment, and the program's arguments after --).\n\
         set timeout=0\n\
         if {load}; then\n\
         \x20 boot\n\
         fi\n\
         serial --unit=0 --speed=115200\n\
         terminal_output --append serial\n\
         {load}\n\
         echo \"kiln: GRUB could not load {kernel}; make the disk again with kiln image\"\n\
         sleep 1\n\
         halt\n"
    )
}

/// The configuration both GRUB builds of the disk embed: find the FAT partition by its volume
/// id, then read `/boot/grub/grub.cfg` from it.
pub fn early_cfg(volume_id: u32) -> String {
    format!(
        "search --no-floppy --fs-uuid --set=root {}\nset prefix=($root)/boot/grub\n",
        fat_uuid(volume_id)
    )
}

/// How GRUB names a FAT volume id: `xxxx-xxxx`.
pub fn fat_uuid(volume_id: u32) -> String {
    format!("{:04x}-{:04x}", volume_id >> 16, volume_id & 0xffff)
}

/// A volume id derived from what the disk holds (so the same inputs give the same disk).
pub fn volume_id(kernel: &[u8], config: &str) -> u32 {
    // FNV-1a, 32 bit.
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in kernel.iter().chain(config.as_bytes()) {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// The disk's first sector: GRUB's `boot.img` set up to load core.img from LBA 1 (what
/// grub-bios-setup would do), the disk `signature`, and one active partition of type 0xEF
/// from [`PARTITION_START_LBA`] spanning `partition_sectors`.
pub fn mbr(
    boot: &[u8],
    partition_sectors: u32,
    signature: u32,
) -> std::result::Result<[u8; SECTOR], String> {
    if boot.len() != SECTOR || boot[510..] != [0x55, 0xaa] {
        return Err("GRUB's boot.img is not a 512-byte boot sector".into());
    }
    if boot[boot_img::DRIVE_CHECK] != 0xeb {
        return Err("GRUB's boot.img has no drive-check jump where GRUB 2 puts it".into());
    }
    let mut mbr = [0u8; SECTOR];
    mbr[..boot_img::CODE_END].copy_from_slice(&boot[..boot_img::CODE_END]);
    mbr[boot_img::KERNEL_SECTOR..boot_img::KERNEL_SECTOR + 8].copy_from_slice(&1u64.to_le_bytes());
    mbr[boot_img::BOOT_DRIVE] = 0xff;
    mbr[boot_img::DRIVE_CHECK..boot_img::DRIVE_CHECK + 2].copy_from_slice(&[0x90, 0x90]);
    mbr[0x1b8..0x1bc].copy_from_slice(&signature.to_le_bytes());
    // Partition entry 1: active; CHS fields say "use LBA" (0xfe 0xff 0xff), as on large disks.
    let entry = &mut mbr[0x1be..0x1ce];
    entry[..4].copy_from_slice(&[0x80, 0xfe, 0xff, 0xff]);
    entry[4] = PARTITION_TYPE_ESP;
    entry[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
    entry[8..12].copy_from_slice(&PARTITION_START_LBA.to_le_bytes());
    entry[12..16].copy_from_slice(&partition_sectors.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    Ok(mbr)
}

/// The FAT partition's size for a kernel of `kernel_len` bytes and GRUB for UEFI of
/// `efi_len`: at least [`MIN_PARTITION_BYTES`], with a quarter of slack, in whole MiB.
pub fn partition_bytes(kernel_len: u64, efi_len: u64) -> u64 {
    let need = (kernel_len + efi_len) + (kernel_len + efi_len) / 4 + (1 << 20);
    need.max(MIN_PARTITION_BYTES).div_ceil(1 << 20) << 20
}

fn make_disk(kernel: &[u8], config: &str, scratch: &Scratch, output: &Path) -> Result<()> {
    let id = volume_id(kernel, config);
    let early = scratch.write("early.cfg", early_cfg(id).as_bytes())?;
    let core = scratch.path("core.img");
    let efi = scratch.path("BOOTX64.EFI");
    grub_mkimage("i386-pc", GRUB_I386_PC, &early, &core, &["biosdisk"])?;
    grub_mkimage("x86_64-efi", GRUB_X86_64_EFI, &early, &efi, &[])?;
    let core_bytes = std::fs::read(&core)?;
    let gap = (PARTITION_START_LBA as usize - 1) * SECTOR;
    if core_bytes.len() > gap {
        return Err(Failure::new(
            1,
            format!(
                "GRUB's BIOS core image is {} bytes, more than the {gap} before the partition",
                core_bytes.len()
            ),
        )
        .into());
    }
    let efi_len = std::fs::metadata(&efi)?.len();

    let part = scratch.path("part.img");
    let part_len = partition_bytes(kernel.len() as u64, efi_len);
    run_tool(
        Command::new("mkfs.fat")
            .args(["-C", "-n", "KILN"])
            .arg("-i")
            .arg(format!("{id:08x}"))
            .arg("-h")
            .arg(PARTITION_START_LBA.to_string())
            .arg(&part)
            .arg((part_len / 1024).to_string()),
        "dosfstools",
    )?;
    let kernel_file = scratch.write("kiln", kernel)?;
    let config_file = scratch.write("grub.cfg", config.as_bytes())?;
    run_tool(
        mtools("mmd", &part).args(["::/boot", "::/boot/grub", "::/EFI", "::/EFI/BOOT"]),
        "mtools",
    )?;
    for (from, to) in [
        (&kernel_file, format!("::{KERNEL_PATH}")),
        (&config_file, "::/boot/grub/grub.cfg".into()),
        (&efi, "::/EFI/BOOT/BOOTX64.EFI".into()),
    ] {
        run_tool(mtools("mcopy", &part).arg(from).arg(to), "mtools")?;
    }

    let boot = std::fs::read(Path::new(GRUB_I386_PC).join("boot.img")).map_err(|e| {
        Failure::usage(format!(
            "cannot read {GRUB_I386_PC}/boot.img ({e}); run `kiln doctor --install`"
        ))
    })?;
    let sectors = u32::try_from(part_len / SECTOR as u64)
        .map_err(|_| Failure::usage("the image is too large for an MBR disk (2 TiB)"))?;
    let first = mbr(&boot, sectors, id).map_err(|e| Failure::new(1, e))?;
    write_disk(output, &first, &core_bytes, &part)
}

/// Writes MBR, core.img (from LBA 1) and the partition (from [`PARTITION_START_LBA`]).
fn write_disk(output: &Path, mbr: &[u8], core: &[u8], partition: &Path) -> Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut disk = std::fs::File::create(output)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", output.display())))?;
    disk.write_all(mbr)?;
    disk.write_all(core)?;
    disk.seek(SeekFrom::Start(
        u64::from(PARTITION_START_LBA) * SECTOR as u64,
    ))?;
    std::io::copy(&mut std::fs::File::open(partition)?, &mut disk)?;
    disk.flush()?;
    Ok(())
}

fn make_iso(kernel: &[u8], config: &str, scratch: &Scratch, output: &Path) -> Result<()> {
    let root = scratch.path("iso");
    let grub_dir = root.join("boot").join("grub");
    std::fs::create_dir_all(&grub_dir)?;
    std::fs::write(root.join(KERNEL_PATH.trim_start_matches('/')), kernel)?;
    std::fs::write(grub_dir.join("grub.cfg"), config)?;
    // grub-mkrescue's own EFI configuration loads every partition-table module.
    let mut modules: Vec<&str> = GRUB_MODULES.to_vec();
    modules.extend(ISO_EXTRA_MODULES);
    run_tool(
        Command::new("grub-mkrescue")
            .arg("-o")
            .arg(output)
            .arg(format!("--install-modules={}", modules.join(" ")))
            .args(["--fonts=", "--locales=", "--themes="])
            .arg(&root),
        "grub-common, grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools",
    )
}

fn grub_mkimage(
    format: &str,
    dir: &str,
    early: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<()> {
    if !Path::new(dir).is_dir() {
        return Err(Failure::usage(format!(
            "{dir} is missing (GRUB's {format} modules); run `kiln doctor --install`"
        ))
        .into());
    }
    run_tool(
        Command::new("grub-mkimage")
            .args(["-O", format, "-d", dir, "-p", "/boot/grub", "-c"])
            .arg(early)
            .arg("-o")
            .arg(output)
            .args(GRUB_MODULES)
            .args(extra),
        "grub-common",
    )
}

/// An mtools command on the FAT image `part` (geometry checks off: the image is no floppy).
fn mtools(tool: &str, part: &Path) -> Command {
    let mut command = Command::new(tool);
    command.env("MTOOLS_SKIP_CHECK", "1").arg("-i").arg(part);
    command
}

/// Runs a packaging tool; a failure names the tool and repeats its last error line.
pub(crate) fn run_tool(command: &mut Command, package: &str) -> Result<()> {
    let name = command.get_program().to_string_lossy().into_owned();
    let out = command.output().map_err(|e| {
        Failure::usage(format!(
            "cannot run {name} ({e}); it comes with {package}: run `kiln doctor --install`"
        ))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(Failure::new(1, format!("{name} failed: {}", last.trim())).into())
}

/// A scratch directory next to the output, removed when dropped.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new(output: &Path) -> Result<Scratch> {
        let parent = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = parent.join(format!(".{name}.kiln-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Scratch { dir })
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.path(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        grub_words(s).unwrap()
    }

    #[test]
    fn words_split_as_the_runtime_splits_them() {
        assert_eq!(
            words(r#"kiln.argv0=hello  A="x y" -- first "two words" say\"hi"#),
            [
                "kiln.argv0=hello",
                "A=x y",
                "--",
                "first",
                "two words",
                "say\"hi"
            ]
        );
        assert_eq!(words("  \t "), Vec::<String>::new());
        assert_eq!(words(r#"a"b c"d "open end"#), ["ab cd", "open end"]);
    }

    #[test]
    fn words_grub_would_alter_are_refused() {
        for bad in [r"C:\dir", "it's", "\"tab\there\""] {
            let err = grub_words(bad).unwrap_err();
            assert!(err.contains("cannot carry"), "{bad}: {err}");
        }
    }

    #[test]
    fn grub_cfg_quotes_each_word_and_boots() {
        let cfg = grub_cfg(
            "/boot/kiln",
            &["kiln.argv0=a".into(), "two words".into(), "$x".into()],
        );
        assert!(
            cfg.contains(
                "if multiboot2 /boot/kiln 'kiln.argv0=a' 'two words' '$x'; then\n  boot\nfi\n"
            ),
            "{cfg}"
        );
        assert!(cfg.trim_end().ends_with("halt"), "{cfg}");
        assert!(
            !cfg.contains("terminal_output serial\n"),
            "GRUB must leave COM1 alone"
        );
    }

    #[test]
    fn early_cfg_finds_the_partition_by_volume_id() {
        assert_eq!(fat_uuid(0x1234_abcd), "1234-abcd");
        assert_eq!(
            early_cfg(0x0000_0001),
            "search --no-floppy --fs-uuid --set=root 0000-0001\nset prefix=($root)/boot/grub\n"
        );
        assert_ne!(volume_id(b"a", "x"), volume_id(b"b", "x"));
        assert_eq!(volume_id(b"a", "x"), volume_id(b"a", "x"));
    }

    fn fake_boot_img() -> Vec<u8> {
        let mut boot = vec![0xccu8; SECTOR];
        boot[boot_img::DRIVE_CHECK] = 0xeb;
        boot[boot_img::DRIVE_CHECK + 1] = 0x05;
        boot[510] = 0x55;
        boot[511] = 0xaa;
        boot
    }

    #[test]
    fn mbr_points_boot_img_at_core_and_holds_one_partition() {
        let mbr = mbr(&fake_boot_img(), 129024, 0xdead_beef).unwrap();
        assert_eq!(&mbr[..0x5c], &[0xcc; 0x5c][..], "boot code is kept");
        assert_eq!(&mbr[0x5c..0x64], &1u64.to_le_bytes(), "core.img at LBA 1");
        assert_eq!(mbr[0x64], 0xff, "boot from the drive the BIOS says");
        assert_eq!(&mbr[0x66..0x68], &[0x90, 0x90], "hard-disk drive check");
        assert_eq!(&mbr[0x1b8..0x1bc], &0xdead_beefu32.to_le_bytes());
        assert_eq!(mbr[0x1be], 0x80, "active");
        assert_eq!(mbr[0x1c2], 0xef, "EFI System partition");
        assert_eq!(&mbr[0x1c6..0x1ca], &2048u32.to_le_bytes());
        assert_eq!(&mbr[0x1ca..0x1ce], &129024u32.to_le_bytes());
        assert_eq!(&mbr[0x1ce..0x1fe], &[0u8; 48][..], "other entries empty");
        assert_eq!(&mbr[510..], &[0x55, 0xaa]);
    }

    #[test]
    fn mbr_refuses_what_is_not_grubs_boot_img() {
        assert!(mbr(&[0; 100], 1, 0).is_err());
        let mut no_sig = fake_boot_img();
        no_sig[511] = 0;
        assert!(mbr(&no_sig, 1, 0).is_err());
        let mut no_jump = fake_boot_img();
        no_jump[boot_img::DRIVE_CHECK] = 0x90;
        assert!(mbr(&no_jump, 1, 0).is_err());
    }

    #[test]
    fn partition_has_room_and_whole_mebibytes() {
        assert_eq!(partition_bytes(50_000, 600_000), MIN_PARTITION_BYTES);
        let big = partition_bytes(100 << 20, 1 << 20);
        assert!(big >= (101 << 20) + (101 << 20) / 4);
        assert_eq!(big % (1 << 20), 0);
    }
}
