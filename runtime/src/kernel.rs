//! Bring-up: `kiln_main` runs once on the boot stack, sets up every layer in order, and
//! starts the program. Also the panic handler, entropy, and backtraces shared by the fault
//! paths.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Once;

use crate::arch::{apic, cpu, gdt, idt, ioapic};
use crate::boot::entry::{self, LOADER_MULTIBOOT2, LOADER_PVH};
use crate::boot::info::{self, BootInfo};
use crate::mm::layout::{KERNEL_STACKS, KERNEL_STACK_SIZE, PAGE_SIZE};
use crate::mm::{frames, heap, paging, user};
use crate::process::cmdline::Cmdline;

static FEATURES: Once<cpu::Features> = Once::new();
static WEAK_ENTROPY: AtomicBool = AtomicBool::new(false);

/// Options of the kernel command line that the runtime knows (others draw a warning).
const KNOWN_OPTIONS: &[&str] = &["boottime", "argv0", "quiet", "wx"];

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

    let ist_tops = core::array::from_fn(|i| {
        let base = KERNEL_STACKS + i as u64 * (KERNEL_STACK_SIZE + PAGE_SIZE) + PAGE_SIZE;
        paging::map_kernel_stack(base, KERNEL_STACK_SIZE)
    });
    gdt::init(ist_tops);
    idt::init();
    apic::init();
    ioapic::init(madt);
    stamp(2);
    crate::time::init(entry::boot_tsc());
    stamp(3);

    let cmdline = Cmdline::parse(boot.cmdline);
    for name in cmdline
        .unknown_options(KNOWN_OPTIONS)
        .filter(|n| !crate::net::config::OPTIONS.contains(n))
    {
        kinfo!("warning: unknown option kiln.{} ignored", name);
    }
    if features.rdseed || features.rdrand {
        if cpu::hw_random(&features).is_none() {
            WEAK_ENTROPY.store(true, Ordering::Relaxed);
        }
    } else {
        WEAK_ENTROPY.store(true, Ordering::Relaxed);
    }
    if WEAK_ENTROPY.load(Ordering::Relaxed) {
        kinfo!("WARNING: no hardware entropy (RDRAND/RDSEED): random numbers, stack canaries");
        kinfo!("WARNING: and getrandom() are predictable. Run QEMU with -cpu max or host.");
    }

    crate::syscall::init();
    crate::syscall::fs::init();
    crate::net::init(&cmdline, &dsdt_mmio[..dsdt_mmio_count]);
    stamp(4);
    let stack_top = user::init(cmdline.option("wx") == Some("allow"));
    crate::process::start::start(&cmdline, stack_top, &features)
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
    heap::init((total / 16).clamp(2 << 20, 64 << 20));
}

/// Fills `buf` from the hardware entropy source (RDSEED/RDRAND). Without one, from a
/// TSC-seeded generator — predictable, and the boot log says so loudly.
pub fn fill_random(buf: &mut [u8]) {
    let f = FEATURES.get().copied().unwrap_or_default();
    let mut fallback = cpu::rdtsc() | 1;
    for chunk in buf.chunks_mut(8) {
        let v = cpu::hw_random(&f).unwrap_or_else(|| {
            // xorshift64*: only when no hardware source exists (warned at boot).
            fallback ^= fallback >> 12;
            fallback ^= fallback << 25;
            fallback ^= fallback >> 27;
            fallback.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ cpu::rdtsc()
        });
        chunk.copy_from_slice(&v.to_ne_bytes()[..chunk.len()]);
    }
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
    kinfo!("runtime panic: {}", info);
    backtrace_here();
    crate::drivers::exit::exit_vm(134)
}
