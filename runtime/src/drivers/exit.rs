//! Ending the VM: isa-debug-exit where QEMU has it (the status reaches the host), else ACPI
//! power-off (S5) as the firmware's tables describe it, else a reset, else a halt.

use spin::Once;
use x86_64::instructions::port::Port;

use crate::boot::acpi::PowerOff;

/// QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=4`: writing `n` makes QEMU exit with
/// status `(n << 1) | 1`.
const DEBUG_EXIT_PORT: u16 = 0xf4;

static POWER_OFF: Once<PowerOff> = Once::new();

/// The VM's status when the runtime itself failed — a CPU fault in kernel code or a runtime
/// panic, reported as `kiln: kernel fault` — never a program's signal status (128 + n), so a
/// supervisor never blames the program for Kiln's bug. 70 is `EX_SOFTWARE` of
/// `<sysexits.h>`, "internal software error".
pub const KERNEL_FAULT: i32 = 70;

/// Records how to power off (read from ACPI at boot); maps a memory-mapped register.
pub fn set_power_off(method: PowerOff) {
    if let PowerOff::SleepControl {
        address, io: false, ..
    } = method
    {
        crate::mm::paging::map_mmio(address, 1);
    }
    POWER_OFF.call_once(|| method);
}

/// Ends the VM with `status`, after printing the final console line the runner reads (it is
/// the only way the status reaches the host where no exit port exists, e.g. Firecracker).
pub fn exit_vm(status: i32) -> ! {
    kinfo!("exit status {}", status);
    // SAFETY: interrupts stay off from here on and nothing else runs. The debug-exit port is
    // unused on machines without the device; the power-off registers come from ACPI.
    unsafe {
        core::arch::asm!("cli", options(nomem, nostack));
        Port::<u32>::new(DEBUG_EXIT_PORT).write(status as u32 & 0xff);
        match POWER_OFF.get() {
            Some(&PowerOff::Pm1aPort { port, slp_typ }) => {
                Port::<u16>::new(port).write(((slp_typ as u16 & 7) << 10) | 1 << 13);
            }
            Some(&PowerOff::SleepControl {
                address,
                io,
                slp_typ,
            }) => {
                let value = ((slp_typ & 7) << 2) | 1 << 5;
                if io {
                    Port::<u8>::new(address as u16).write(value);
                } else {
                    (address as *mut u8).write_volatile(value);
                }
            }
            None => {}
        }
        // No ACPI: an i8042 reset (the runner starts QEMU with -no-reboot).
        Port::<u8>::new(0x64).write(0xfe);
    }
    loop {
        x86_64::instructions::hlt();
    }
}
