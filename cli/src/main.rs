//! `kiln`: the command line. Parsing only; the work is done by the `kiln_cli` library.

use clap::{Args, Parser, Subcommand};
use kiln_cli::{
    build, doctor, link, qemu, root, runtime, toolchain, Accel, Failure, LinkOptions, Machine,
    RunOptions,
};
use std::path::PathBuf;
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
    /// Boot an image (or build a project directory and boot its image) under QEMU.
    Run(RunArgs),
    /// Check for (and install) what Kiln needs on this host.
    Doctor(DoctorArgs),
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
    /// The board to emulate.
    #[arg(long, value_enum, default_value_t = Machine::Microvm)]
    machine: Machine,
    /// Start QEMU's gdb stub and wait for a debugger.
    #[arg(long)]
    gdb: bool,
    /// Extra kernel command-line words (runtime options, NAME=value environment).
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// Kill QEMU after this many seconds (exit status 124).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Accelerator: auto uses KVM only where a probe guest proves it works.
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    accel: Accel,
    /// Forward host port HOST (on 127.0.0.1) to the guest's port GUEST (repeatable; implies
    /// --net user).
    #[arg(short = 'p', value_name = "HOST:GUEST[/udp]")]
    publish: Vec<String>,
    /// The guest's network: none (default without -p), user (QEMU's NAT, DHCP), or
    /// tap:NAME (an existing tap device).
    #[arg(long, value_name = "none|user|tap:NAME")]
    net: Option<String>,
    /// The program's arguments.
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
        Cmd::Doctor(args) => doctor::doctor(args.install, args.yes),
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

fn run(args: RunArgs) -> kiln_cli::Result<i32> {
    let image = if args.target.is_dir() {
        let images = build::build(&args.target, None, false)?;
        build::pick_image(&args.target, &images)?
    } else {
        args.target.clone()
    };
    doctor::require(&doctor::FOR_RUN)?;
    let timeout = match args.timeout {
        Some(secs) if !(secs.is_finite() && secs > 0.0) => {
            return Err(Failure::usage("--timeout needs a positive number of seconds").into())
        }
        secs => secs.map(Duration::from_secs_f64),
    };
    let forwards = args
        .publish
        .iter()
        .map(|p| kiln_cli::network::parse_forward(p))
        .collect::<kiln_cli::Result<Vec<_>>>()?;
    let net = kiln_cli::network::choose(args.net.as_deref(), forwards)?;
    let opts = RunOptions {
        net,
        memory: args.memory,
        machine: args.machine,
        accel: args.accel,
        append: args.append,
        args: args.args,
        timeout,
        gdb: args.gdb,
    };
    qemu::run_streaming(&image, &opts)
}
