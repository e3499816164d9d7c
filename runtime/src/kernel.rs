//! Bring-up: `kiln_main` runs once on the boot stack, sets up every layer in order, and
//! starts the program. Also the panic handler, entropy, and backtraces shared by the fault
//! paths.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use spin::Once;

use crate::arch::{apic, cpu, gdt, idt, ioapic};
use crate::boot::entry::{self, LOADER_MULTIBOOT2, LOADER_PVH};
use crate::boot::info::{self, BootInfo};
use crate::entropy::{self, SeedSource, Strength};
use crate::mm::layout::{self, AppLayout, KERNEL_STACK_SIZE, PAGE_SIZE};
use crate::mm::{frames, heap, paging, user};
use crate::process::cmdline::Cmdline;

static FEATURES: Once<cpu::Features> = Once::new();

/// Options of the kernel command line that the runtime knows (others draw a warning).
const KNOWN_OPTIONS: &[&str] = &["boottime", "argv0", "quiet", "wx", "entropy", "files"];

/// Exit status of a boot refused for its configuration (the same as unreadable boot info).
const REFUSED_TO_START: i32 = 125;

/// Reads guest-physical memory below 4 GiB through the loader-time identity map.
fn phys_reader<'a>(phys: u64, len: usize) -> Option<&'a [u8]> {
    let end = phys.checked_add(len as u64)?;
    if phys == 0 || end > 1 << 32 {
        return None;
    }
    // SAFETY: the boot page tables identity-map the low 4 GiB; boot information is read
    // only, and the ranges it occupies are kept out of the frame allocator.
    Some(unsafe { core::slice::from_raw_parts(phys as *const u8, len) })
}

/// TSC at the stages of bring-up, printed with `kiln.boottime`.
pub static STAGES: [core::sync::atomic::AtomicU64; 5] =
    [const { core::sync::atomic::AtomicU64::new(0) }; 5];
pub const STAGE_NAMES: [&str; 5] = ["console+cpu", "memory", "gdt/idt/apic", "clocks", "rest"];

fn stamp(i: usize) {
    STAGES[i].store(cpu::rdtsc(), Ordering::Relaxed);
}

#[no_mangle]
pub extern "C" fn kiln_main(loader: u32, info_phys: u32) -> ! {
    crate::drivers::serial::CONSOLE.lock().init();
    if cfg!(feature = "debug-checks") {
        kinfo!("debug kernel: kernel heap red zones and poison, flag checks");
    }
    let features = *FEATURES.call_once(cpu::features);
    cpu::enable_extended_state(&features);

    let parsed = match loader {
        LOADER_PVH => info::parse_pvh(info_phys as u64, &phys_reader),
        LOADER_MULTIBOOT2 => info::parse_multiboot2(info_phys as u64, &phys_reader),
        _ => unreachable!("the entry stub passes a known loader"),
    };
    let boot = match parsed {
        Ok(b) => b,
        Err(e) => {
            kinfo!("cannot read the boot information: {}", e);
            crate::drivers::exit::exit_vm(125);
        }
    };
    // Read while the loader-time map still covers the low 4 GiB, where ACPI tables live.
    let power_off = boot
        .rsdp
        .map(|rsdp| crate::boot::acpi::power_off(rsdp, &phys_reader));
    let madt = boot
        .rsdp
        .and_then(|rsdp| crate::boot::madt::read(rsdp, &phys_reader).ok())
        .unwrap_or_else(crate::boot::madt::Madt::fallback);
    // QEMU's microvm with ACPI lists its virtio-mmio devices in the DSDT, not the command line.
    let (dsdt_mmio, dsdt_mmio_count) = boot
        .rsdp
        .and_then(|rsdp| crate::boot::acpi::dsdt(rsdp, &phys_reader).ok())
        .map_or(Default::default(), crate::boot::virtio_mmio::from_dsdt);
    stamp(0);
    init_memory(&boot, info_phys as u64);
    match power_off {
        Some(Ok(method)) => crate::drivers::exit::set_power_off(method),
        Some(Err(e)) => kinfo!(
            "warning: no ACPI power-off ({:?}): the VM resets at exit",
            e
        ),
        None => {}
    }
    stamp(1);

    let ist_tops: [u64; layout::KERNEL_STACK_COUNT] = core::array::from_fn(|i| {
        paging::map_kernel_stack(layout::kernel_stack_base(i), KERNEL_STACK_SIZE)
    });
    gdt::init(ist_tops);
    idt::init();
    apic::init();
    ioapic::init(madt);
    stamp(2);
    crate::time::init(entry::boot_tsc());
    crate::time::start_rtc_edges();
    stamp(3);

    let cmdline = Cmdline::parse(boot.cmdline);
    for name in cmdline
        .unknown_options(KNOWN_OPTIONS)
        .filter(|n| !crate::net::config::OPTIONS.contains(n))
    {
        kinfo!("warning: unknown option kiln.{} ignored", name);
    }
    let mmio = crate::drivers::virtio::mmio_windows(&cmdline, &dsdt_mmio[..dsdt_mmio_count]);
    init_entropy(&features, &cmdline, &mmio);
    let allow_wx = match cmdline.option("wx") {
        Some("allow") => {
            kinfo!("warning: kiln.wx=allow: mappings may be writable and executable at once");
            true
        }
        Some(other) => {
            kinfo!(
                "warning: kiln.wx={} ignored (the only value is allow)",
                other
            );
            false
        }
        None => false,
    };

    crate::syscall::init();
    crate::sched::thread::init();
    // The main thread's name is the program's (Linux names a process after its file).
    let argv0 = cmdline.argv0().as_bytes();
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
    crate::sched::thread::set_name(1, base);
    crate::syscall::fs::init();
    init_files(&boot, &cmdline);
    crate::net::init(&cmdline, &mmio);
    stamp(4);
    let app = AppLayout::new(
        entropy::next_u64(),
        entropy::next_u64(),
        entropy::next_u64(),
    );
    let stack_top = user::init(&app, allow_wx);
    crate::process::start::start(&cmdline, stack_top, &features)
}

/// Seeds the kernel's CSPRNG from the hardware (RDSEED/RDRAND, every virtio-rng device among
/// the PCI functions and the virtio-mmio windows `mmio`); without a hardware source, warns
/// loudly, or with `kiln.entropy=strict` refuses to start.
fn init_entropy(
    features: &cpu::Features,
    cmdline: &Cmdline<'_>,
    mmio: &[crate::boot::virtio_mmio::MmioDevice],
) {
    let strict = match cmdline.option("entropy") {
        Some("strict") => true,
        Some(other) => {
            kinfo!(
                "warning: kiln.entropy={} ignored (the only value is strict)",
                other
            );
            false
        }
        None => false,
    };
    let mut sources: Vec<Box<dyn SeedSource>> = Vec::new();
    if features.rdseed || features.rdrand {
        sources.push(Box::new(cpu::CpuRandom(*features)));
    }
    sources.extend(crate::drivers::virtio::rng::sources(mmio));
    let pool = entropy::Pool::new(cpu::tsc_seed(), sources);
    let strength = pool.strength();
    entropy::install(pool);
    if strength == Strength::Weak {
        if strict {
            kinfo!(
                "refusing to start: kiln.entropy=strict but no hardware entropy (RDRAND/RDSEED); \
                 run QEMU with -cpu max or host, or add a virtio-rng device (kiln run --rng), \
                 or drop kiln.entropy=strict"
            );
            crate::drivers::exit::exit_vm(REFUSED_TO_START);
        }
        kinfo!("WARNING: no hardware entropy (RDRAND/RDSEED): random numbers, stack canaries,");
        kinfo!("WARNING: getrandom() and the address-space layout are predictable.");
        kinfo!("WARNING: Run QEMU with -cpu max or host, or add virtio-rng (kiln run --rng);");
        kinfo!("WARNING: kiln.entropy=strict refuses to boot without one.");
    }
}

/// Feeds usable RAM to the frame allocator, builds the real page tables, and the heap.
fn init_memory(boot: &BootInfo<'_>, info_phys: u64) {
    let img = paging::image_layout();
    let cmd = boot.cmdline.as_ptr() as u64;
    let mut exclude = [
        (0, img.end),                                    // low memory and the image
        (info_phys, info_phys + 64 * 1024),              // the loader's boot information
        (cmd, cmd + boot.cmdline.len() as u64 + 1),      // the command line (read later)
        boot.initrd.map_or((0, 0), |(s, l)| (s, s + l)), // an initrd, kept for the VFS
    ];
    exclude.sort_unstable();
    if boot.usable_bytes() == 0 {
        kinfo!(
            "the loader passed no memory map (PVH start_info version 0?): use QEMU 4.0 or later"
        );
        crate::drivers::exit::exit_vm(125);
    }
    let mut ram = [(0u64, 0u64); info::MAX_REGIONS];
    let mut n = 0;
    {
        let mut f = frames::FRAMES.lock();
        for r in boot.regions().filter(|r| r.usable) {
            f.add_region(r.start, r.end(), &exclude);
            ram[n] = (r.start, r.end());
            n += 1;
        }
    }
    paging::init(&ram[..n]);
    let total = frames::FRAMES.lock().free_count() * PAGE_SIZE;
    // The kernel heap holds the VFS's files and every socket's buffers: an eighth of RAM.
    heap::init((total / 8).clamp(4 << 20, 256 << 20));
}

/// Fills `buf` from the kernel's CSPRNG ([`crate::entropy`]), seeded from the hardware.
/// Without a hardware source it runs on a TSC-derived seed — predictable, and the boot log
/// says so loudly.
pub fn fill_random(buf: &mut [u8]) {
    entropy::fill(buf)
}

extern "C" {
    static __kiln_initrd_start: u8;
    static __kiln_initrd_end: u8;
}

/// Builds the file system (`crate::fs`) from the archive linked into the image and the
/// initrd the loader passed; `kiln.files` lists it on the console.
fn init_files(boot: &BootInfo<'_>, cmdline: &Cmdline<'_>) {
    // SAFETY: the linker script brackets the read-only .kiln_initrd section with these
    // symbols; the image stays mapped for the VM's life.
    let image: &'static [u8] = unsafe {
        let start = core::ptr::addr_of!(__kiln_initrd_start);
        let end = core::ptr::addr_of!(__kiln_initrd_end);
        core::slice::from_raw_parts(start, end as usize - start as usize)
    };
    let initrd = boot
        .initrd
        .and_then(|(start, len)| initrd_bytes(start, len));
    if boot.initrd.is_some() && initrd.is_none() {
        kinfo!("files: the initrd lies outside mapped RAM and is ignored");
    }
    let mut exe = alloc::vec::Vec::from(&b"/"[..]);
    exe.extend_from_slice(cmdline.argv0().as_bytes());
    let (used, free) = heap::usage();
    let files = crate::fs::system::BootFiles {
        image,
        initrd: initrd.unwrap_or(&[]),
        exe: &exe,
        nameservers: &[],
        now: crate::fs::Timespec::from_ns(crate::time::realtime_ns()),
        // File data lives in the kernel heap for now: half of it.
        limit: ((used + free) / 2) as u64,
    };
    crate::fs::system::init(&files, cmdline.has("files"), &mut |line| kinfo!("{}", line));
}

/// The initrd's bytes, if every page of it is mapped.
fn initrd_bytes(start: u64, len: u64) -> Option<&'static [u8]> {
    let end = start.checked_add(len)?;
    let first = start & !(PAGE_SIZE - 1);
    if !(first..end)
        .step_by(PAGE_SIZE as usize)
        .all(|page| paging::flags_of(page).is_some())
    {
        return None;
    }
    // SAFETY: the range is mapped (checked above), identity-mapped RAM that init_memory kept
    // out of the frame allocator, so nothing else ever writes it; it stays for the VM's life.
    Some(unsafe { core::slice::from_raw_parts(start as *const u8, len as usize) })
}

extern "C" {
    static __kiln_syms_start: u8;
    static __kiln_syms_end: u8;
}

fn symbols() -> crate::symbols::SymbolTable<'static> {
    // SAFETY: the linker script brackets the read-only .kiln_syms section with these symbols.
    let bytes = unsafe {
        let start = core::ptr::addr_of!(__kiln_syms_start);
        let end = core::ptr::addr_of!(__kiln_syms_end);
        core::slice::from_raw_parts(start, end as usize - start as usize)
    };
    crate::symbols::SymbolTable::parse(bytes).unwrap_or_default()
}

/// True if the 16 bytes at `addr` are mapped (so a frame record can be read safely).
fn readable(addr: u64) -> bool {
    addr.is_multiple_of(8)
        && paging::flags_of(addr).is_some()
        && paging::flags_of(addr + 8).is_some()
}

/// Writes a symbolized backtrace, starting at `rip` and following the frame-pointer chain
/// from `rbp` (code without frame pointers, such as musl, ends the chain early).
pub fn write_backtrace(out: &mut dyn Write, rip: u64, mut rbp: u64) {
    let syms = symbols();
    let text = paging::image_layout().text;
    let _ = writeln!(out, "kiln: backtrace:");
    let mut pc = rip;
    let mut repeats = 0;
    let mut last = u64::MAX;
    for depth in 0..64 {
        if pc == last {
            repeats += 1;
        } else {
            if repeats > 0 {
                let _ = writeln!(out, "kiln:   ... the frame above {repeats} more times");
                repeats = 0;
            }
            match syms.lookup(pc) {
                Some((name, off)) => {
                    let _ = writeln!(out, "kiln:   #{depth:<2} {pc:#014x} {name}+{off:#x}");
                }
                None => {
                    let _ = writeln!(out, "kiln:   #{depth:<2} {pc:#014x} ?");
                }
            }
        }
        last = pc;
        if !readable(rbp) {
            break;
        }
        // SAFETY: both words of the frame record were checked to be mapped.
        let (next, ret) = unsafe { ((rbp as *const u64).read(), ((rbp + 8) as *const u64).read()) };
        // A return address outside the text, or a chain that does not climb the stack, means
        // the frame came from code built without frame pointers: stop rather than guess.
        if ret < text.0 || ret >= text.1 || next <= rbp {
            break;
        }
        pc = ret - 1; // inside the call instruction, so the right symbol is named
        rbp = next;
    }
    if repeats > 0 {
        let _ = writeln!(out, "kiln:   ... the frame above {repeats} more times");
    }
}

/// For a jump or call to a non-executable address: names the code that made the call, from
/// the return address on top of the stack, when there is one that points into the text.
pub fn write_caller(out: &mut dyn Write, rsp: u64) {
    if !readable(rsp) {
        return;
    }
    // SAFETY: the 16 bytes at rsp were checked to be mapped.
    let ret = unsafe { (rsp as *const u64).read() };
    let text = paging::image_layout().text;
    if ret < text.0 || ret >= text.1 {
        return;
    }
    let pc = ret - 1; // inside the call instruction
    match symbols().lookup(pc) {
        Some((name, off)) => {
            let _ = writeln!(out, "kiln:   called from {pc:#014x} {name}+{off:#x}");
        }
        None => {
            let _ = writeln!(out, "kiln:   called from {pc:#014x} ?");
        }
    }
}

/// A backtrace of the program at the syscall in progress, for fatal conditions found inside
/// a syscall (abort, deadlock).
pub fn backtrace_of_caller() {
    let (rip, rbp) = crate::syscall::caller();
    let mut console = crate::drivers::serial::CONSOLE.lock();
    write_backtrace(&mut *console, rip.wrapping_sub(1), rbp);
}

/// A backtrace of the runtime itself, for panics.
#[inline(never)]
fn backtrace_here() {
    let rbp: u64;
    // SAFETY: reads the frame pointer register only.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    let mut console = crate::drivers::serial::CONSOLE.lock();
    write_backtrace(&mut *console, backtrace_here as *const () as u64, rbp);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: the VM is ending; whoever held the console lock will never resume.
    unsafe { crate::drivers::serial::CONSOLE.force_unlock() };
    kinfo!("kernel fault: runtime panic: {}", info);
    kinfo!("  this is a bug in Kiln, not in the program: please report it with this output");
    backtrace_here();
    crate::drivers::exit::exit_vm(crate::drivers::exit::KERNEL_FAULT)
}
