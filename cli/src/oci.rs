//! `kiln image --format oci|container`: a Kiln image as an OCI image, for the engines that run
//! fleets — KubeVirt (VMs on Kubernetes) and container engines (podman, docker, a Kubernetes
//! pod). Three kinds, each one image in an OCI image layout (a directory), or an
//! `oci-archive` (that directory as one tar file, when the output name ends in `.tar`):
//!
//! - **containerDisk** (`--format oci`, the default variant): the GRUB disk of
//!   [`crate::package`] (qcow2 or raw) at `/disk/NAME.qcow2`, owned by 107:107 (KubeVirt's
//!   `qemu` user), read-only; nothing else (KubeVirt's documented layout, "FROM scratch").
//!   KubeVirt boots it through firmware, so the command line is the one baked into grub.cfg.
//! - **kernelBoot** (`--format oci --variant kernelboot`): the Kiln image at [`KERNEL_PATH`]
//!   and, with `--files`, its initrd at [`INITRD_PATH`], owned by 107:107; KubeVirt loads the
//!   kernel directly (QEMU `-kernel`, the PVH note) with the VMI's `kernelArgs`, which should
//!   be the command line the `kiln.cmdline` label records.
//! - **container** (`--format container`): an image that runs the Kiln image in QEMU inside a
//!   plain container: a Debian base built at image-build time by mmdebstrap from Debian's
//!   packages (QEMU and passt, [`BASE_PACKAGES`]), this `kiln` binary, and the Kiln image; the
//!   entry point is `kiln run` (so KVM when `/dev/kvm` is passed and its probe passes, else
//!   TCG, as on any host), with the image's ports published on all of the container's
//!   addresses through passt. `podman run -p 8053:53/udp IMAGE` then reaches the guest's
//!   port 53. The program's arguments are the image's `Cmd`: arguments after the image name
//!   in `podman run` replace them.
//!
//! Every image carries labels (and the same manifest annotations) naming Kiln's version, the
//! variant, the command line and where the files are (see [`labels`]).
//!
//! The layout is written by **umoci** (Debian's `umoci`: blobs, digests, compression, the
//! manifest, the config and the index); the layers are **GNU tar** archives of staged files
//! with fixed owners, modes and times (Debian 12's umoci 0.4.7 `insert` leaves the tar stream
//! unterminated — no padding, no end-of-archive blocks — so the layers are made by tar and
//! added with `umoci raw add-layer`). The base layer is cached in `target/kiln/oci-base`,
//! keyed by everything its mmdebstrap command line says; remove that directory to rebuild
//! it with the archive's current packages. With `SOURCE_DATE_EPOCH` set, every time stamp
//! umoci and tar write is that instant, so a kernelBoot image made twice from the same
//! inputs has the same digest (tests/oci.rs; a containerDisk's does not yet, as the FAT
//! inside its disk keeps one time stamp of when mtools wrote it).

use crate::network::{self, Forward};
use crate::{doctor, kiln_dir, package, qemu, Failure, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which KubeVirt boot an `--format oci` image is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// The disk under /disk/, booted through firmware (KubeVirt `containerDisk`).
    #[default]
    Containerdisk,
    /// The kernel (and initrd) under /boot/, booted directly (KubeVirt `kernelBoot`).
    Kernelboot,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Containerdisk => "containerdisk",
            Variant::Kernelboot => "kernelboot",
        }
    }
}

/// The disk format of a containerDisk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DiskFormat {
    /// qcow2 (smaller; what KubeVirt recommends).
    #[default]
    Qcow2,
    /// The raw MBR disk.
    Raw,
}

/// Where a containerDisk's disk lives.
pub const DISK_DIR: &str = "/disk";
/// Where a kernelBoot image's kernel lives (KubeVirt's `kernelPath`).
pub const KERNEL_PATH: &str = "/boot/kiln";
/// Where a kernelBoot image's initrd lives (KubeVirt's `initrdPath`), with `--files`.
pub const INITRD_PATH: &str = "/boot/initrd.cpio";
/// KubeVirt's `qemu` user and group, which must be able to read the disk, kernel and initrd.
pub const KUBEVIRT_QEMU_ID: u32 = 107;
/// Where the container variant keeps the Kiln image (and `files.cpio`).
pub const CONTAINER_IMAGE_DIR: &str = "/kiln";
/// The `kiln` binary in the container.
pub const CONTAINER_KILN: &str = "/usr/local/bin/kiln";
/// `KILN_ROOT` in the container: `kiln run` keeps its KVM probe verdict under it.
pub const CONTAINER_KILN_ROOT: &str = "/opt/kiln";
/// The Debian packages of the container's base, beyond the essential ones.
pub const BASE_PACKAGES: [&str; 2] = ["qemu-system-x86", "passt"];
/// What `--format oci` needs besides the disk tools of its variant.
pub const OCI_PACKAGES: [&str; 2] = ["umoci", "tar"];
/// What `--format container` needs.
pub const CONTAINER_PACKAGES: [&str; 4] = ["umoci", "tar", "mmdebstrap", "binutils"];
/// The label and annotation prefix of what Kiln records.
pub const LABEL_PREFIX: &str = "kiln.";

/// What to put in an OCI image (the rest of `kiln image`'s options are in
/// [`package::PackageOptions`]).
#[derive(Debug, Clone, Default)]
pub struct OciOptions {
    /// The reference name inside the layout (`org.opencontainers.image.ref.name`; default
    /// [`default_ref_name`]).
    pub tag: Option<String>,
    /// `--format oci`: containerDisk or kernelBoot.
    pub variant: Variant,
    /// A containerDisk's disk format.
    pub disk_format: DiskFormat,
    /// Files for the VM (a directory, packed, or a newc .cpio): the initrd of a kernelBoot
    /// image, or `kiln run --files` in the container.
    pub files: Option<PathBuf>,
    /// The container's published ports: `PORT[/udp]` or `CONTAINER:GUEST[/udp]`.
    pub publish: Vec<String>,
    /// The container's guest memory (`kiln run -m`).
    pub memory: Option<String>,
}

/// The reference name inside the layout (`org.opencontainers.image.ref.name`) unless `--tag`
/// says otherwise: the image's file name (lower-cased, other characters than letters, digits,
/// `.`, `_` and `-` made `-`) with the tag `latest`, e.g. `dns-server:latest`, which
/// `podman load` names `localhost/dns-server:latest`.
pub fn default_ref_name(image_name: &str) -> String {
    let name: String = image_name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    let name = name.trim_matches('-');
    format!("{}:latest", if name.is_empty() { "kiln" } else { name })
}

/// Checks `--tag` against the image-spec's grammar of `org.opencontainers.image.ref.name`
/// (`component ("/" component)*`, a component being alphanumerics joined by one of `-._:@+`
/// or `--`), in lower case as container engines want repository names; at most 255 bytes.
pub fn check_ref_name(name: &str) -> std::result::Result<(), String> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let mut i = 0;
        let mut alnum_run = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                alnum_run = true;
                i += 1;
            } else if alnum_run && b"-._:@+".contains(&b) {
                // One separator, or "--", between two alphanumeric runs.
                i += if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
                    2
                } else {
                    1
                };
                alnum_run = false;
            } else {
                return false;
            }
        }
        alnum_run
    };
    if name.len() <= 255 && name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "--tag {name:?}: give a reference name such as 1.0, dns-server:1.0 or registry.example/kiln/dns-server:1.0 (lower-case letters and digits, joined by one of - . _ : @ + or --, components separated by /)"
        ))
    }
}

/// A port the container publishes: the container's port and the guest's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposed {
    pub udp: bool,
    pub container: u16,
    pub guest: u16,
}

impl Exposed {
    /// The OCI config's `ExposedPorts` key: `PORT/tcp` or `PORT/udp`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.container,
            if self.udp { "udp" } else { "tcp" }
        )
    }

    /// The `kiln run -p` values: the container's port on all of its IPv4 and IPv6 addresses.
    pub fn run_specs(&self) -> [String; 2] {
        let proto = if self.udp { "/udp" } else { "" };
        [
            format!("0.0.0.0:{}:{}{proto}", self.container, self.guest),
            format!("[::]:{}:{}{proto}", self.container, self.guest),
        ]
    }
}

/// Parses a container's `-p`: `PORT[/udp]` (the same port in the container and the guest) or
/// `CONTAINER:GUEST[/udp]`.
pub fn parse_exposed(spec: &str) -> Result<Exposed> {
    let (ports, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    let full = if ports.contains(':') {
        spec.to_owned()
    } else {
        format!("{ports}:{ports}/{proto}")
    };
    let Forward {
        udp,
        host,
        guest,
        bind,
    } = network::parse_forward(&full)?;
    if bind != network::Bind::Loopback {
        return Err(Failure::usage(format!(
            "-p {spec}: a container publishes on all of its addresses; write PORT[/udp] or CONTAINER:GUEST[/udp] (the host's address is podman's -p)"
        ))
        .into());
    }
    Ok(Exposed {
        udp,
        container: host,
        guest,
    })
}

/// The container's entry point and default command: `kiln run` with the published ports on
/// all addresses, the memory, the files and the extra command-line words, then the image and
/// `--`; the command is the program's arguments (which `podman run IMAGE ARGS...` replaces).
pub fn container_command(
    image_name: &str,
    exposed: &[Exposed],
    memory: Option<&str>,
    files: bool,
    append: Option<&str>,
    args: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut entry: Vec<String> = vec![CONTAINER_KILN.into(), "run".into()];
    entry.extend(["--net".into(), "user".into()]);
    if let Some(memory) = memory {
        entry.extend(["-m".into(), memory.into()]);
    }
    for port in exposed {
        for spec in port.run_specs() {
            entry.extend(["-p".into(), spec]);
        }
    }
    if files {
        entry.extend([
            "--files".into(),
            format!("{CONTAINER_IMAGE_DIR}/files.cpio"),
        ]);
    }
    if let Some(append) = append.filter(|a| !a.trim().is_empty()) {
        entry.extend(["--append".into(), append.trim().into()]);
    }
    entry.push(format!("{CONTAINER_IMAGE_DIR}/{image_name}"));
    entry.push("--".into());
    (entry, args.to_vec())
}

/// What one image records about itself, as config labels and manifest annotations.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The Kiln image's file name.
    pub title: String,
    /// containerdisk, kernelboot or container.
    pub variant: String,
    /// The kernel command line (baked into grub.cfg, to give as kernelArgs, or passed by
    /// `kiln run`).
    pub cmdline: String,
    /// The Kiln image's sha256 (hex).
    pub image_sha256: String,
    /// RFC 3339.
    pub created: String,
    /// Paths in the image and what else is worth knowing, e.g. `("disk", "/disk/app.qcow2")`.
    pub extra: Vec<(&'static str, String)>,
}

/// The labels (and annotations) of an image: the standard `org.opencontainers.image.*` ones
/// and Kiln's own, under [`LABEL_PREFIX`].
pub fn labels(record: &Record) -> Vec<(String, String)> {
    let description = match record.variant.as_str() {
        "containerdisk" => format!("Kiln image {} as a KubeVirt containerDisk", record.title),
        "kernelboot" => format!("Kiln image {} for KubeVirt kernelBoot", record.title),
        _ => format!("Kiln image {} run by kiln run in QEMU", record.title),
    };
    let mut out = vec![
        (
            "org.opencontainers.image.title".into(),
            record.title.clone(),
        ),
        ("org.opencontainers.image.description".into(), description),
        (
            "org.opencontainers.image.created".into(),
            record.created.clone(),
        ),
        (
            format!("{LABEL_PREFIX}version"),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        (format!("{LABEL_PREFIX}variant"), record.variant.clone()),
        (format!("{LABEL_PREFIX}cmdline"), record.cmdline.clone()),
        (
            format!("{LABEL_PREFIX}image.sha256"),
            record.image_sha256.clone(),
        ),
    ];
    for (key, value) in &record.extra {
        out.push((format!("{LABEL_PREFIX}{key}"), value.clone()));
    }
    out
}

/// `umoci config`'s arguments that set the platform, author, time, labels, annotations and
/// (for the container) the run settings.
pub fn config_args(
    labels: &[(String, String)],
    created: &str,
    run: Option<&RunConfig>,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--no-history",
        "--architecture",
        "amd64",
        "--os",
        "linux",
        "--author",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("kiln {}", env!("CARGO_PKG_VERSION")));
    args.extend(["--created".into(), created.into()]);
    for (key, value) in labels {
        args.extend(["--config.label".into(), format!("{key}={value}")]);
        args.extend(["--manifest.annotation".into(), format!("{key}={value}")]);
    }
    if let Some(run) = run {
        for word in &run.entrypoint {
            args.extend(["--config.entrypoint".into(), word.clone()]);
        }
        for word in &run.cmd {
            args.extend(["--config.cmd".into(), word.clone()]);
        }
        for port in &run.exposed {
            args.extend(["--config.exposedports".into(), port.key()]);
        }
        for env in &run.env {
            args.extend(["--config.env".into(), env.clone()]);
        }
        args.extend(["--config.stopsignal".into(), "SIGTERM".into()]);
        args.extend(["--config.workingdir".into(), "/".into()]);
    }
    args
}

/// The container's run settings.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub exposed: Vec<Exposed>,
    pub env: Vec<String>,
}

/// The container's environment: `PATH`, and `KILN_ROOT` for the KVM probe's verdict.
pub fn container_env() -> Vec<String> {
    vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        format!("KILN_ROOT={CONTAINER_KILN_ROOT}"),
    ]
}

/// mmdebstrap's arguments for the base rootfs tarball `out` from `suite` (the host's Debian
/// release: the `kiln` binary copied in needs its C library), from `mirror` if given (else
/// mmdebstrap's default: deb.debian.org with the suite's -updates and -security): the
/// essential packages and [`BASE_PACKAGES`] without recommends, merged /usr without the
/// usrmerge package (which would pull in perl), no documentation, manual pages or
/// translations (copyright files are kept).
pub fn base_command(suite: &str, mirror: Option<&str>, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--quiet".into(),
        "--variant=essential".into(),
        format!("--include={}", BASE_PACKAGES.join(",")),
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr".into(),
    ];
    for opt in [
        "path-exclude=/usr/share/doc/*",
        "path-include=/usr/share/doc/*/copyright",
        "path-exclude=/usr/share/man/*",
        "path-exclude=/usr/share/info/*",
        "path-exclude=/usr/share/locale/*",
    ] {
        args.push(format!("--dpkgopt={opt}"));
    }
    args.push(suite.into());
    args.push(out.display().to_string());
    if let Some(mirror) = mirror {
        args.push(mirror.into());
    }
    args
}

/// The cache key of a base: what its command line says, apart from where it is written.
pub fn base_key(suite: &str, mirror: Option<&str>) -> String {
    let args = base_command(suite, mirror, Path::new("-"));
    hex(&Sha256::digest(args.join("\n").as_bytes()))[..16].to_owned()
}

/// The versions of `packages` in a dpkg status file (`Package:`/`Version:` stanzas), in the
/// order asked, as `name version`; a package missing from it is left out.
pub fn package_versions(status: &str, packages: &[&str]) -> Vec<String> {
    let mut found: Vec<(String, String)> = Vec::new();
    for stanza in status.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        if let (Some(package), Some(version)) = (field("Package:"), field("Version:")) {
            found.push((package, version));
        }
    }
    packages
        .iter()
        .filter_map(|p| {
            found
                .iter()
                .find(|(name, _)| name == p)
                .map(|(name, version)| format!("{name} {version}"))
        })
        .collect()
}

/// The Debian release this host runs (`VERSION_CODENAME` of /etc/os-release).
pub fn host_suite(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The output: an image layout directory, or an oci-archive when the name ends in `.tar`.
pub fn is_archive(output: &Path) -> bool {
    output.extension().is_some_and(|e| e == "tar")
}

/// Builds the OCI image `opts.format` asks for from `image` into `output`.
pub fn build(image: &Path, opts: &package::PackageOptions, output: &Path) -> Result<()> {
    let oci = &opts.oci;
    let container = opts.format == package::Format::Container;
    let title = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let tag = oci.tag.clone().unwrap_or_else(|| default_ref_name(&title));
    check_ref_name(&tag).map_err(Failure::usage)?;
    if !container && (!oci.publish.is_empty() || oci.memory.is_some()) {
        return Err(Failure::usage(
            "-p and -m are the container's (--format container); a KubeVirt VM's ports and memory are in its manifest",
        )
        .into());
    }
    if container && (oci.variant != Variant::default() || oci.disk_format != DiskFormat::default())
    {
        return Err(Failure::usage(
            "--variant and --disk-format choose a KubeVirt image (--format oci); a container runs the image itself",
        )
        .into());
    }
    if !container && oci.variant == Variant::Containerdisk && oci.files.is_some() {
        return Err(Failure::usage(
            "--files is an initrd, which a containerDisk cannot carry (GRUB boots the disk); use --variant kernelboot, or link the files into the image with kiln_add_files",
        )
        .into());
    }
    if output.exists() && !is_archive(output) && !output.join("oci-layout").is_file() {
        return Err(Failure::usage(format!(
            "{} exists and is not an OCI image layout; name a new directory (or FILE.tar for an oci-archive)",
            output.display()
        ))
        .into());
    }
    let exposed = oci
        .publish
        .iter()
        .map(|p| parse_exposed(p))
        .collect::<Result<Vec<_>>>()?;
    let kernel = fs::read(image)?;
    let epoch = source_epoch();
    let created =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string();
    let scratch = package::Scratch::new(output)?;
    let layout = scratch.path("layout");
    if layout.to_string_lossy().contains(':') {
        // umoci takes the image as LAYOUT:REF and splits it at the first ':'.
        return Err(Failure::usage(format!(
            "{}: umoci cannot work in a directory whose path has a ':'; write the image elsewhere",
            layout.parent().unwrap_or(&layout).display()
        ))
        .into());
    }
    let tagged = format!("{}:{tag}", layout.display());
    umoci(&["init", "--layout"], &layout, &[])?;
    umoci(&["new", "--image"], Path::new(&tagged), &[])?;

    let mut record = Record {
        title: title.clone(),
        image_sha256: hex(&Sha256::digest(&kernel)),
        created: created.clone(),
        ..Record::default()
    };
    let mut run = None;
    let stage = scratch.path("stage");
    if container {
        record.variant = "container".into();
        let base = ensure_base()?;
        add_layer(&tagged, &base.tar, &created, "Debian base (mmdebstrap)")?;
        record.extra.push(("base", base.versions.join(", ")));
        let layer = scratch.path("kiln.tar");
        fs::create_dir_all(stage.join(CONTAINER_IMAGE_DIR.trim_start_matches('/')))?;
        let bin = stage.join(CONTAINER_KILN.trim_start_matches('/'));
        fs::create_dir_all(bin.parent().expect("a directory"))?;
        copy_kiln(&bin)?;
        let image_dir = stage.join(CONTAINER_IMAGE_DIR.trim_start_matches('/'));
        fs::write(image_dir.join(&title), &kernel)?;
        let files = match &oci.files {
            Some(files) => {
                write_files(files, &image_dir.join("files.cpio"))?;
                true
            }
            None => false,
        };
        fs::create_dir_all(
            stage
                .join(CONTAINER_KILN_ROOT.trim_start_matches('/'))
                .join("target/kiln"),
        )?;
        set_modes(&stage, 0o755, 0o444)?;
        set_mode(&bin, 0o755)?;
        tar_layer(&stage, &layer, 0, epoch)?;
        add_layer(&tagged, &layer, &created, "kiln and the Kiln image")?;
        let (entrypoint, cmd) = container_command(
            &title,
            &exposed,
            oci.memory.as_deref(),
            files,
            opts.append.as_deref(),
            &opts.args,
        );
        record.cmdline = qemu::kernel_cmdline(&title, opts.append.as_deref(), &opts.args)?;
        record
            .extra
            .push(("image", format!("{CONTAINER_IMAGE_DIR}/{title}")));
        record
            .extra
            .push(("command", shell_words(&entrypoint, &cmd)));
        run = Some(RunConfig {
            entrypoint,
            cmd,
            exposed,
            env: container_env(),
        });
    } else {
        record.variant = oci.variant.name().into();
        record.cmdline = qemu::kernel_cmdline(&title, opts.append.as_deref(), &opts.args)?;
        match oci.variant {
            Variant::Containerdisk => {
                let ext = match oci.disk_format {
                    DiskFormat::Qcow2 => "qcow2",
                    DiskFormat::Raw => "img",
                };
                let disk_dir = stage.join(DISK_DIR.trim_start_matches('/'));
                fs::create_dir_all(&disk_dir)?;
                let disk = disk_dir.join(format!("{title}.{ext}"));
                package::make_disk_file(
                    &kernel,
                    &record.cmdline,
                    &scratch,
                    &disk,
                    oci.disk_format == DiskFormat::Qcow2,
                )?;
                record
                    .extra
                    .push(("disk", format!("{DISK_DIR}/{title}.{ext}")));
            }
            Variant::Kernelboot => {
                let kernel_file = stage.join(KERNEL_PATH.trim_start_matches('/'));
                fs::create_dir_all(kernel_file.parent().expect("a directory"))?;
                fs::write(&kernel_file, &kernel)?;
                record.extra.push(("kernel", KERNEL_PATH.into()));
                if let Some(files) = &oci.files {
                    write_files(files, &stage.join(INITRD_PATH.trim_start_matches('/')))?;
                    record.extra.push(("initrd", INITRD_PATH.into()));
                }
            }
        }
        set_modes(&stage, 0o755, 0o440)?;
        let layer = scratch.path("layer.tar");
        tar_layer(&stage, &layer, KUBEVIRT_QEMU_ID, epoch)?;
        add_layer(&tagged, &layer, &created, "the Kiln image")?;
    }
    let config = config_args(&labels(&record), &created, run.as_ref());
    let mut args: Vec<&str> = vec!["config"];
    args.extend(config.iter().map(String::as_str));
    args.push("--image");
    umoci(&args, Path::new(&tagged), &[])?;
    umoci(&["gc", "--layout"], &layout, &[])?;

    if is_archive(output) {
        let part = scratch.path("archive.tar");
        package::run_tool(
            Command::new("tar")
                .args(tar_determinism(0, epoch))
                .arg("--create")
                .arg("--file")
                .arg(&part)
                .arg("-C")
                .arg(&layout)
                .args(["oci-layout", "index.json", "blobs"]),
            "tar",
        )?;
        fs::rename(&part, output)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", output.display())))?;
    } else {
        if output.exists() {
            fs::remove_dir_all(output)?;
        }
        fs::rename(&layout, output)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", output.display())))?;
    }
    Ok(())
}

/// The Debian packages `--format oci` (with the disk tools for a containerDisk) or
/// `--format container` needs.
pub fn packages(container: bool, variant: Variant) -> Vec<&'static str> {
    if container {
        return CONTAINER_PACKAGES.to_vec();
    }
    let mut list = OCI_PACKAGES.to_vec();
    if variant == Variant::Containerdisk {
        list.extend(package::Format::Qcow2.packages(variant));
    }
    list
}

/// The moment every time stamp of the image names: `SOURCE_DATE_EPOCH`, else now.
fn source_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

/// `entry` and `cmd` as one shell command line (for the `kiln.command` label).
fn shell_words(entry: &[String], cmd: &[String]) -> String {
    let words: Vec<String> = entry.iter().chain(cmd).cloned().collect();
    crate::toolchain::shell_join(&words)
}

/// Runs `umoci ARGS TARGET EXTRA`.
fn umoci(args: &[&str], target: &Path, extra: &[&str]) -> Result<()> {
    package::run_tool(
        Command::new("umoci").args(args).arg(target).args(extra),
        "umoci",
    )
}

/// Appends the uncompressed tar `layer` to the image (umoci compresses it).
fn add_layer(tagged: &str, layer: &Path, created: &str, what: &str) -> Result<()> {
    package::run_tool(
        Command::new("umoci")
            .args(["raw", "add-layer", "--image", tagged])
            .args(["--history.created", created])
            .arg("--history.created_by")
            .arg(format!("kiln image: {what}"))
            .arg(layer),
        "umoci",
    )
}

/// GNU tar's options for an archive that depends on its contents only: names sorted, the
/// owner `id` (numeric), every time stamp `epoch`.
fn tar_determinism(id: u32, epoch: u64) -> Vec<String> {
    vec![
        "--format=gnu".into(),
        "--sort=name".into(),
        "--numeric-owner".into(),
        format!("--owner={id}"),
        format!("--group={id}"),
        format!("--mtime=@{epoch}"),
    ]
}

/// The layer holding what `stage` holds (its top-level entries, so the layer's paths are
/// relative to the image's root), owned by `id`.
fn tar_layer(stage: &Path, layer: &Path, id: u32, epoch: u64) -> Result<()> {
    let mut tops: Vec<String> = fs::read_dir(stage)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    tops.sort();
    package::run_tool(
        Command::new("tar")
            .args(tar_determinism(id, epoch))
            .arg("--create")
            .arg("--file")
            .arg(layer)
            .arg("-C")
            .arg(stage)
            .args(&tops),
        "tar",
    )
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Gives every directory under `dir` the mode `dirs` and every file `files` (tar records them
/// as they are).
fn set_modes(dir: &Path, dirs: u32, files: u32) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            set_modes(&path, dirs, files)?;
            set_mode(&path, dirs)?;
        } else {
            set_mode(&path, files)?;
        }
    }
    Ok(())
}

/// Writes the VM's files to `out` as a newc archive: a directory is packed, a file is taken
/// as the archive it must be.
fn write_files(files: &Path, out: &Path) -> Result<()> {
    if files.is_dir() {
        fs::write(out, crate::cpio::pack_dir(files)?)?;
    } else if files.is_file() {
        fs::copy(files, out)?;
    } else {
        return Err(Failure::usage(format!(
            "--files {}: give a directory or a .cpio archive",
            files.display()
        ))
        .into());
    }
    Ok(())
}

/// Copies the running `kiln` into the container without its debug information.
fn copy_kiln(to: &Path) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::new(1, format!("cannot find the running kiln binary: {e}")))?;
    package::run_tool(
        Command::new("objcopy")
            .arg("--strip-debug")
            .arg(&exe)
            .arg(to),
        "binutils",
    )
}

/// A cached base rootfs.
struct Base {
    tar: PathBuf,
    /// `name version` of [`BASE_PACKAGES`].
    versions: Vec<String>,
}

/// The environment variable naming the Debian mirror of the container's base (default:
/// mmdebstrap's, deb.debian.org).
pub const MIRROR_ENV: &str = "KILN_DEBIAN_MIRROR";

/// The base rootfs tarball, from the cache or built now by mmdebstrap (minutes: it downloads
/// and installs QEMU and passt); one build at a time, however many `kiln image` run.
fn ensure_base() -> Result<Base> {
    doctor::require(&CONTAINER_PACKAGES)?;
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let suite = host_suite(&os_release).ok_or_else(|| {
        Failure::usage(
            "/etc/os-release names no VERSION_CODENAME: the container's Debian base must be this host's release (its kiln binary needs the same C library)",
        )
    })?;
    let mirror = std::env::var(MIRROR_ENV).ok().filter(|m| !m.is_empty());
    let dir = kiln_dir().join("oci-base");
    fs::create_dir_all(&dir)?;
    let key = base_key(&suite, mirror.as_deref());
    let tar = dir.join(format!("{suite}-{key}.tar"));
    let versions_file = dir.join(format!("{suite}-{key}.versions"));
    let lock = fs::File::create(dir.join("lock"))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    if !(tar.is_file() && versions_file.is_file()) {
        eprintln!(
            "kiln: building the container's Debian {suite} base with mmdebstrap (QEMU and passt; once, cached in {})",
            dir.display()
        );
        let part = dir.join(format!("{suite}-{key}.part.tar"));
        let _ = fs::remove_file(&part);
        package::run_tool(
            Command::new("mmdebstrap").args(base_command(&suite, mirror.as_deref(), &part)),
            "mmdebstrap",
        )?;
        // Device nodes are the container engine's to make (a rootless engine cannot).
        package::run_tool(
            Command::new("tar")
                .args(["--delete", "--wildcards", "--file"])
                .arg(&part)
                .arg("./dev/?*"),
            "tar",
        )?;
        let status = Command::new("tar")
            .arg("--extract")
            .arg("--to-stdout")
            .arg("--file")
            .arg(&part)
            .arg("./var/lib/dpkg/status")
            .output()?;
        let versions = package_versions(&String::from_utf8_lossy(&status.stdout), &BASE_PACKAGES);
        if versions.len() != BASE_PACKAGES.len() {
            return Err(Failure::new(
                1,
                format!(
                    "the base mmdebstrap built lacks {}; see its messages above",
                    BASE_PACKAGES.join(" or ")
                ),
            )
            .into());
        }
        fs::write(&versions_file, versions.join("\n") + "\n")?;
        fs::rename(&part, &tar)?;
    }
    let versions = fs::read_to_string(&versions_file)?
        .lines()
        .map(str::to_owned)
        .collect();
    Ok(Base { tar, versions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names_follow_the_image_spec_grammar() {
        for good in [
            "latest",
            "1.0",
            "dns-server:latest",
            "registry.example/kiln/dns-server:1.0",
            "a--b",
            "x@y+z",
        ] {
            assert!(check_ref_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(256);
        for bad in [
            "", ".x", "-x", "x-", "a//b", "/a", "a b", "A", "a---b", "a..b", &long,
        ] {
            assert!(check_ref_name(bad).is_err(), "{bad}");
        }
        assert_eq!(default_ref_name("dns-server"), "dns-server:latest");
        assert_eq!(default_ref_name("My_App.v2"), "my-app-v2:latest");
        assert_eq!(default_ref_name("__"), "kiln:latest");
        for name in ["dns-server", "My_App.v2", "__"] {
            assert!(check_ref_name(&default_ref_name(name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn exposed_ports_parse() {
        assert_eq!(
            parse_exposed("53/udp").unwrap(),
            Exposed {
                udp: true,
                container: 53,
                guest: 53
            }
        );
        assert_eq!(
            parse_exposed("8053:53").unwrap(),
            Exposed {
                udp: false,
                container: 8053,
                guest: 53
            }
        );
        assert_eq!(parse_exposed("80/tcp").unwrap().key(), "80/tcp");
        assert_eq!(parse_exposed("53/udp").unwrap().key(), "53/udp");
        for bad in ["", "x", "0", "53/sctp", "0.0.0.0:53:53", "70000"] {
            assert!(parse_exposed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_container_runs_kiln_run_with_its_ports_on_every_address() {
        let exposed = [
            parse_exposed("53/udp").unwrap(),
            parse_exposed("8080:80").unwrap(),
        ];
        let (entry, cmd) = container_command(
            "dns-server",
            &exposed,
            Some("512M"),
            true,
            Some(" kiln.quiet "),
            &["--port".into(), "53".into()],
        );
        assert_eq!(
            entry,
            [
                "/usr/local/bin/kiln",
                "run",
                "--net",
                "user",
                "-m",
                "512M",
                "-p",
                "0.0.0.0:53:53/udp",
                "-p",
                "[::]:53:53/udp",
                "-p",
                "0.0.0.0:8080:80",
                "-p",
                "[::]:8080:80",
                "--files",
                "/kiln/files.cpio",
                "--append",
                "kiln.quiet",
                "/kiln/dns-server",
                "--"
            ]
        );
        assert_eq!(cmd, ["--port", "53"]);
        // Every -p value is one kiln run takes, and they do not clash.
        let forwards: Vec<Forward> = entry
            .windows(2)
            .filter(|w| w[0] == "-p")
            .map(|w| network::parse_forward(&w[1]).unwrap())
            .collect();
        assert_eq!(forwards.len(), 4);
        assert!(network::choose(Some("user"), forwards).is_ok());
        let (bare, none) = container_command("app", &[], None, false, None, &[]);
        assert_eq!(
            bare,
            [
                "/usr/local/bin/kiln",
                "run",
                "--net",
                "user",
                "/kiln/app",
                "--"
            ]
        );
        assert!(none.is_empty());
    }

    #[test]
    fn labels_record_version_variant_and_command_line() {
        let record = Record {
            title: "app".into(),
            variant: "kernelboot".into(),
            cmdline: "kiln.argv0=app PORT=53".into(),
            image_sha256: "ab".repeat(32),
            created: "2026-12-07T00:00:00Z".into(),
            extra: vec![("kernel", KERNEL_PATH.into())],
        };
        let labels = labels(&record);
        let get = |k: &str| {
            labels
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("kiln.version"), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(get("kiln.variant"), Some("kernelboot"));
        assert_eq!(get("kiln.cmdline"), Some("kiln.argv0=app PORT=53"));
        assert_eq!(get("kiln.kernel"), Some("/boot/kiln"));
        assert_eq!(get("org.opencontainers.image.title"), Some("app"));
        assert_eq!(
            get("org.opencontainers.image.created"),
            Some("2026-12-07T00:00:00Z")
        );
        let args = config_args(&labels, "2026-12-07T00:00:00Z", None);
        let line = args.join(" ");
        assert!(
            line.contains("--config.label kiln.cmdline=kiln.argv0=app PORT=53 --manifest.annotation kiln.cmdline=kiln.argv0=app PORT=53"),
            "{line}"
        );
        assert!(!line.contains("entrypoint"), "{line}");
    }

    #[test]
    fn the_container_config_sets_the_run() {
        let run = RunConfig {
            entrypoint: vec!["/usr/local/bin/kiln".into(), "run".into()],
            cmd: vec!["-v".into()],
            exposed: vec![parse_exposed("53/udp").unwrap()],
            env: container_env(),
        };
        let args = config_args(&[], "2026-12-07T00:00:00Z", Some(&run));
        let line = args.join(" ");
        assert!(
            line.contains(
                "--config.entrypoint /usr/local/bin/kiln --config.entrypoint run --config.cmd -v --config.exposedports 53/udp"
            ),
            "{line}"
        );
        assert!(line.contains("--config.env KILN_ROOT=/opt/kiln"), "{line}");
        assert!(line.contains("--config.stopsignal SIGTERM"), "{line}");
    }

    #[test]
    fn the_base_is_debian_essential_with_qemu_and_passt_keyed_by_its_command() {
        let args = base_command("bookworm", None, Path::new("/c/base.tar")).join(" ");
        assert!(args.contains("--variant=essential"), "{args}");
        assert!(args.contains("--include=qemu-system-x86,passt"), "{args}");
        assert!(args.contains("hooks/merged-usr"), "{args}");
        assert!(args.ends_with(" bookworm /c/base.tar"), "{args}");
        let with_mirror = base_command("bookworm", Some("http://m/debian"), Path::new("/o"));
        assert_eq!(with_mirror.last().unwrap(), "http://m/debian");
        assert_eq!(base_key("bookworm", None), base_key("bookworm", None));
        assert_ne!(base_key("bookworm", None), base_key("trixie", None));
        assert_ne!(
            base_key("bookworm", None),
            base_key("bookworm", Some("http://m/debian"))
        );
    }

    #[test]
    fn dpkg_status_gives_versions() {
        let status =
            "Package: passt\nStatus: install ok installed\nVersion: 0.0~git20230309.7c7625d-1\n\n\
                      Package: qemu-system-x86\nVersion: 1:7.2+dfsg-7+deb12u18\nDepends: x\n";
        assert_eq!(
            package_versions(status, &["qemu-system-x86", "passt", "absent"]),
            [
                "qemu-system-x86 1:7.2+dfsg-7+deb12u18",
                "passt 0.0~git20230309.7c7625d-1"
            ]
        );
    }

    #[test]
    fn host_suite_from_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\n";
        assert_eq!(host_suite(text).as_deref(), Some("bookworm"));
        assert_eq!(host_suite("ID=debian\n"), None);
        assert_eq!(host_suite("VERSION_CODENAME=\n"), None);
    }

    #[test]
    fn archives_end_in_tar() {
        assert!(is_archive(Path::new("out/app.oci.tar")));
        assert!(!is_archive(Path::new("out/app.oci")));
    }
}
