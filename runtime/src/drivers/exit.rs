//! Ending the VM: isa-debug-exit where QEMU has it, then ACPI power-off, then a halt.

use x86_64::instructions::port::Port;

/// QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=4`: writing `n` makes QEMU exit with
/// status `(n << 1) | 1`.
const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Ends the VM with `status`, after printing the final console line the runner reads (it is
/// the only way the status reaches the host where no exit port exists, e.g. Firecracker).
pub fn exit_vm(status: i32) -> ! {
    kinfo!("exit status {}", status);
    // SAFETY: interrupts stay off from here on; nothing else runs.
    unsafe {
        core::arch::asm!("cli", options(nomem, nostack));
        Port::<u32>::new(DEBUG_EXIT_PORT).write(status as u32 & 0xff);
        // No debug-exit device: the ACPI PM1a control port that QEMU's pc (PIIX4, as set up
        // by SeaBIOS/qboot) and q35 (ICH9) use; SLP_TYP=5|SLP_EN on PIIX4, S5 on ICH9.
        Port::<u16>::new(0x604).write(0x2000);
        Port::<u16>::new(0xb004).write(0x2000);
        // Last resort: an i8042 reset (the runner starts QEMU with -no-reboot).
        Port::<u8>::new(0x64).write(0xfe);
    }
    loop {
        x86_64::instructions::hlt();
    }
}
