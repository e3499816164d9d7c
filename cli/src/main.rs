//! `kiln`: the command line. Parsing only; the work is done by the `kiln_cli` library.

use clap::{Args, Parser, Subcommand};
use kiln_cli::{
    build, cpio, doctor, link, media, package, pkg, qemu, root, runtime, toolchain, Accel, Failure,
    Firmware, Format, LinkOptions, Machine, PackageOptions, RunOptions,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Turn a C/C++ program into a bootable VM image, and run it.
#[derive(Debug, Parser)]
#[command(name = "kiln", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the runtime and libc-shim archives into target/kiln (prints that directory).
    Runtime,
    /// Print the compile or link flags (for cmake/kiln.cmake).
    Config(ConfigArgs),
    /// Link objects into a Kiln image (the link rule of the CMake toolchain).
    Link(LinkArgs),
    /// Build a CMake project into images (prints their paths).
    Build(BuildArgs),
    /// Boot an image (or build a project directory and boot its image) under QEMU; disk and
    /// ISO images made by `kiln image` boot through firmware.
    Run(RunArgs),
    /// Package an image as a bootable disk (raw, qcow2) or ISO with GRUB (BIOS and UEFI), or
    /// as an OCI image: for KubeVirt (containerDisk, kernelBoot) or QEMU in a container.
    Image(ImageArgs),
    /// Check for (and install) what Kiln needs on this host.
    Doctor(DoctorArgs),
    /// Pack a directory into a newc cpio archive (FILE.o: an object to link into an image).
    Pack(PackArgs),
    /// Build C libraries (OpenSSL, zlib, PCRE2, libevent, SQLite, ...) for Kiln from Debian
    /// source packages into the Kiln sysroot, where every build finds them.
    #[command(subcommand)]
    Pkg(PkgCmd),
}

#[derive(Debug, Subcommand)]
enum PkgCmd {
    /// The packages Kiln can build, and the version the sysroot holds.
    List,
    /// Build and install packages (and what they need); reuses earlier builds.
    Build(PkgBuildArgs),
    /// Build a package and (re)link its test programs; prints their directory.
    Tests(PkgTestsArgs),
    /// Fetch and unpack a Debian source package (any, with Debian's patches); prints the tree.
    Source(PkgTestsArgs),
    /// Remove packages' builds, sources and sysroot files (all of them without names).
    Clean {
        /// The packages.
        names: Vec<String>,
    },
}

#[derive(Debug, Args)]
struct PkgBuildOpts {
    /// Parallel jobs (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// Refresh Debian's source indexes even if they are less than a day old.
    #[arg(long)]
    refresh: bool,
    /// Show the build's output (otherwise it goes to the build's log only).
    #[arg(short = 'v', long)]
    verbose: bool,
}

#[derive(Debug, Args)]
struct PkgBuildArgs {
    /// NAME or NAME=DEBIAN_VERSION.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    #[command(flatten)]
    opts: PkgBuildOpts,
}

#[derive(Debug, Args)]
struct PkgTestsArgs {
    /// NAME or NAME=DEBIAN_VERSION.
    name: String,
    #[command(flatten)]
    opts: PkgBuildOpts,
}

impl PkgBuildOpts {
    fn options(&self) -> pkg::Options {
        pkg::Options {
            jobs: self.jobs,
            refresh: self.refresh,
            verbose: self.verbose,
        }
    }
}

#[derive(Debug, Args)]
struct PackArgs {
    /// The directory whose contents become the VM's files (DIR/etc/x is /etc/x).
    dir: PathBuf,
    /// The archive to write; a name ending in .o writes an object for the link instead.
    #[arg(short = 'o', value_name = "OUT")]
    output: PathBuf,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ConfigArgs {
    /// Flags for compiling C.
    #[arg(long)]
    cflags: bool,
    /// Flags for compiling C++.
    #[arg(long)]
    cxxflags: bool,
    /// The driver flags `kiln link` puts before its inputs for an image.
    #[arg(long)]
    ldflags: bool,
    /// The Kiln checkout.
    #[arg(long)]
    root: bool,
    /// The clang driver Kiln compiles with.
    #[arg(long)]
    cc: bool,
}

#[derive(Debug, Args)]
struct LinkArgs {
    /// Add libc++, libc++abi and libunwind.
    #[arg(long)]
    cxx: bool,
    /// Make a static Linux executable of the same program instead of an image.
    #[arg(long)]
    host: bool,
    /// The output file.
    #[arg(short = 'o', value_name = "OUT")]
    output: Option<PathBuf>,
    /// Objects, archives, -L/-l, -Wl, and other flags, passed to the linker in order.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// The CMake project (the directory holding CMakeLists.txt).
    dir: PathBuf,
    /// Build directory (default: DIR/build-kiln).
    #[arg(short = 'B', value_name = "BUILD_DIR")]
    build_dir: Option<PathBuf>,
    /// Optimized build (CMAKE_BUILD_TYPE=Release).
    #[arg(long)]
    release: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// An image, or a project directory to build first.
    target: PathBuf,
    /// Guest memory (QEMU syntax).
    #[arg(short = 'm', default_value = "256M", value_name = "MEM")]
    memory: String,
    /// The board to emulate (default: microvm for an image, pc for a disk or ISO).
    #[arg(long, value_enum)]
    machine: Option<Machine>,
    /// The firmware that boots a disk or ISO image.
    #[arg(long, value_enum, default_value_t = Firmware::Bios)]
    firmware: Firmware,
    /// Start QEMU's gdb stub and wait for a debugger.
    #[arg(long)]
    gdb: bool,
    /// Extra kernel command-line words (runtime options, NAME=value environment).
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// Kill QEMU after this many seconds (exit status 124).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// After SIGINT, SIGTERM or SIGQUIT (passed on to the program), how long the program has
    /// to end before QEMU is stopped hard (kiln then exits 128 + the signal; a second SIGINT
    /// stops it at once).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    stop_timeout: f64,
    /// Accelerator: auto uses KVM only where a probe guest proves it works.
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    accel: Accel,
    /// Files for the VM: a directory (packed into a cpio archive) or a newc .cpio file,
    /// passed as the initrd; DIR/etc/x is /etc/x in the VM.
    #[arg(long, value_name = "DIR")]
    files: Option<PathBuf>,
    /// QEMU CPU model and flags, e.g. `max,-rdrand,-rdseed` to hide the entropy instructions.
    #[arg(long, value_name = "MODEL", default_value = kiln_cli::qemu::DEFAULT_CPU)]
    cpu: String,
    /// Forward host port HOST (on 127.0.0.1 and ::1, or on ADDR: 0.0.0.0 or [::] for all
    /// of a family's addresses) to the guest's port GUEST (repeatable; implies --net user).
    #[arg(short = 'p', value_name = "[ADDR:]HOST:GUEST[/udp]")]
    publish: Vec<String>,
    /// The guest's network: none (default without -p); user (NAT and DHCP through passt,
    /// IPv4 and IPv6; QEMU's slirp where passt is not installed); slirp (QEMU's own: IPv4
    /// only, a forward takes one pending connection at a time); or tap:NAME (an existing tap
    /// device).
    #[arg(long, value_name = "none|user|slirp|tap:NAME")]
    net: Option<String>,
    /// The network card: virtio (default), e1000 (Intel 82540EM, as VirtualBox, VMware and
    /// Bochs offer) or virtio-legacy (virtio-net-pci without its modern interface); the last
    /// two are PCI cards, so --machine pc or q35.
    #[arg(long, value_enum, default_value_t = kiln_cli::network::Nic::Virtio)]
    nic: kiln_cli::network::Nic,
    /// Add a virtio-rng device fed from the host's /dev/urandom (an entropy source when the
    /// CPU hides RDRAND/RDSEED).
    #[arg(long)]
    rng: bool,
    /// The program's arguments.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct ImageArgs {
    /// An image, or a project directory to build first.
    target: PathBuf,
    /// What to make.
    #[arg(long, value_enum)]
    format: Format,
    /// The output (default: IMAGE.img, .qcow2, .iso; for oci and container an OCI image
    /// layout directory IMAGE.containerdisk.oci, .kernelboot.oci or .container.oci, or an
    /// oci-archive when OUT ends in .tar).
    #[arg(short = 'o', value_name = "OUT")]
    output: Option<PathBuf>,
    /// Kernel command-line words (runtime options, NAME=value), baked into grub.cfg (disks,
    /// ISOs, containerDisks), recorded in the kiln.cmdline label (kernelBoot: give them as
    /// the VMI's kernelArgs) or passed by the container's kiln run.
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// oci: the KubeVirt boot the image is for.
    #[arg(long, value_enum, default_value_t = kiln_cli::oci::Variant::Containerdisk)]
    variant: kiln_cli::oci::Variant,
    /// oci containerdisk: the disk's format.
    #[arg(long, value_enum, default_value_t = kiln_cli::oci::DiskFormat::Qcow2)]
    disk_format: kiln_cli::oci::DiskFormat,
    /// oci and container: the reference name in the image layout, e.g. 1.0 or
    /// registry.example/kiln/app:1.0 (default: the image's name with :latest, e.g. app:latest;
    /// `podman load` names it localhost/app:latest).
    #[arg(long, value_name = "REF")]
    tag: Option<String>,
    /// oci kernelboot and container: files for the VM (a directory, packed, or a newc .cpio
    /// archive), as kiln run --files; the kernelBoot image's initrd.
    #[arg(long, value_name = "DIR")]
    files: Option<PathBuf>,
    /// container: a port the container publishes, PORT[/udp] (the guest's same port) or
    /// CONTAINER:GUEST[/udp] (repeatable).
    #[arg(short = 'p', value_name = "PORT[/udp]")]
    publish: Vec<String>,
    /// container: the guest's memory (QEMU syntax; default 256M).
    #[arg(short = 'm', value_name = "MEM")]
    memory: Option<String>,
    /// The program's arguments (baked into grub.cfg; the container's default command).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct DoctorArgs {
    /// Install what is missing (asks first on a terminal).
    #[arg(long)]
    install: bool,
    /// Do not ask.
    #[arg(long)]
    yes: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            let code = match err.downcast_ref::<Failure>() {
                Some(failure) => {
                    if !failure.message.is_empty() {
                        eprintln!("kiln: {}", failure.message);
                    }
                    failure.code
                }
                None => {
                    eprintln!("kiln: {err:#}");
                    1
                }
            };
            ExitCode::from(code.clamp(1, 255) as u8)
        }
    }
}

fn dispatch(command: Cmd) -> kiln_cli::Result<i32> {
    match command {
        Cmd::Runtime => {
            println!("{}", runtime::ensure_runtime()?.display());
            Ok(0)
        }
        Cmd::Config(args) => {
            let line = if args.cflags {
                toolchain::shell_join(&toolchain::cflags()?)
            } else if args.cxxflags {
                toolchain::shell_join(&toolchain::cxxflags()?)
            } else if args.ldflags {
                toolchain::shell_join(&toolchain::ldflags(false))
            } else if args.cc {
                toolchain::shell_quote(&toolchain::clang()?.display().to_string())
            } else {
                toolchain::shell_quote(&root().display().to_string())
            };
            println!("{line}");
            Ok(0)
        }
        Cmd::Link(args) => {
            link::link(&link_options(args)?)?;
            Ok(0)
        }
        Cmd::Build(args) => {
            for image in build::build(&args.dir, args.build_dir.as_deref(), args.release)? {
                println!("{}", image.display());
            }
            Ok(0)
        }
        Cmd::Run(args) => run(args),
        Cmd::Image(args) => {
            let image = image_of(&args.target)?;
            let opts = PackageOptions {
                format: args.format,
                output: args.output,
                append: args.append,
                args: args.args,
                oci: kiln_cli::oci::OciOptions {
                    tag: args.tag,
                    variant: args.variant,
                    disk_format: args.disk_format,
                    files: args.files,
                    publish: args.publish,
                    memory: args.memory,
                },
            };

            println!("{}", package::package(&image, &opts)?.display());
            Ok(0)
        }
        Cmd::Doctor(args) => doctor::doctor(args.install, args.yes),
        Cmd::Pack(args) => {
            cpio::pack(&args.dir, &args.output)?;
            Ok(0)
        }
        Cmd::Pkg(PkgCmd::List) => {
            print!("{}", pkg::list()?);
            Ok(0)
        }
        Cmd::Pkg(PkgCmd::Build(args)) => {
            for built in pkg::build(&args.names, &args.opts.options())? {
                println!("{} {}", built.name, built.version);
            }
            Ok(0)
        }
        Cmd::Pkg(PkgCmd::Tests(args)) => {
            println!(
                "{}",
                pkg::tests(&args.name, &args.opts.options())?.display()
            );
            Ok(0)
        }
        Cmd::Pkg(PkgCmd::Source(args)) => {
            println!(
                "{}",
                pkg::source(&args.name, &args.opts.options())?.display()
            );
            Ok(0)
        }
        Cmd::Pkg(PkgCmd::Clean { names }) => {
            pkg::clean(&names)?;
            Ok(0)
        }
    }
}

/// CMake may put `-o OUT` (and our own flags) anywhere among the inputs: pick them out.
fn link_options(args: LinkArgs) -> kiln_cli::Result<LinkOptions> {
    let mut opts = LinkOptions {
        cxx: args.cxx,
        host: args.host,
        output: PathBuf::new(),
        args: Vec::new(),
    };
    let mut output = args.output;
    let mut rest = args.args.into_iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--cxx" => opts.cxx = true,
            "--host" => opts.host = true,
            "-o" => {
                output = Some(
                    rest.next()
                        .ok_or_else(|| Failure::usage("-o needs a file name"))?
                        .into(),
                )
            }
            _ if arg.starts_with("-o") && arg.len() > 2 => output = Some(arg[2..].into()),
            _ => opts.args.push(arg),
        }
    }
    opts.output = output.ok_or_else(|| Failure::usage("kiln link needs -o OUT"))?;
    Ok(opts)
}

/// The image a target names: the file itself, or the image a project directory builds.
fn image_of(target: &std::path::Path) -> kiln_cli::Result<PathBuf> {
    if target.is_dir() {
        let images = build::build(target, None, false)?;
        build::pick_image(target, &images)
    } else {
        Ok(target.to_path_buf())
    }
}

fn run(args: RunArgs) -> kiln_cli::Result<i32> {
    let image = image_of(&args.target)?;
    doctor::require(&doctor::FOR_RUN)?;
    let is_disk = media::detect(&image).is_some();
    let machine = args.machine.unwrap_or(if is_disk {
        Machine::Pc
    } else {
        Machine::Microvm
    });
    let timeout = match args.timeout {
        Some(secs) if !(secs.is_finite() && secs > 0.0) => {
            return Err(Failure::usage("--timeout needs a positive number of seconds").into())
        }
        secs => secs.map(Duration::from_secs_f64),
    };
    if !(args.stop_timeout.is_finite() && args.stop_timeout >= 0.0) {
        return Err(Failure::usage("--stop-timeout needs a number of seconds, 0 or more").into());
    }
    let stop_timeout = Duration::from_secs_f64(args.stop_timeout);
    if is_disk && args.files.is_some() {
        return Err(Failure::usage(
            "--files passes an initrd, which only a bare image takes: link the files into the image with kiln_add_files before packaging it",
        )
        .into());
    }
    let packed = match &args.files {
        Some(dir) if dir.is_dir() => Some(pack_to_temp(dir)?),
        _ => None,
    };
    let initrd = match (&packed, args.files) {
        (Some(temp), _) => Some(temp.clone()),
        (None, Some(file)) if file.is_file() => Some(file),
        (None, Some(other)) => {
            return Err(Failure::usage(format!(
                "--files {}: give a directory or a .cpio archive",
                other.display()
            ))
            .into())
        }
        (None, None) => None,
    };
    let forwards = args
        .publish
        .iter()
        .map(|p| kiln_cli::network::parse_forward(p))
        .collect::<kiln_cli::Result<Vec<_>>>()?;
    let net = kiln_cli::network::choose(args.net.as_deref(), forwards)?;
    let opts = RunOptions {
        net,
        nic: args.nic,
        rng: args.rng,
        memory: args.memory,
        machine,
        accel: args.accel,
        append: args.append,
        args: args.args,
        timeout,
        gdb: args.gdb,
        initrd,
        cpu: Some(args.cpu),
        firmware: args.firmware,
        stop_timeout,
    };
    let result = qemu::run_streaming(&image, &opts);
    if let Some(temp) = packed {
        // Only our own temporary archive; failing to remove it changes nothing for the run.
        let _ = std::fs::remove_file(temp);
    }
    result
}

/// Packs `dir` into a temporary archive for one run.
fn pack_to_temp(dir: &Path) -> kiln_cli::Result<PathBuf> {
    let temp = std::env::temp_dir().join(format!("kiln-files-{}.cpio", std::process::id()));
    cpio::pack(dir, &temp)?;
    Ok(temp)
}
