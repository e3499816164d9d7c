//! The ACPI power button (QEMU's `system_powerdown`, `virsh shutdown`, a cloud's stop): a
//! press is SIGTERM for the program, as systemd sends it to a service at shutdown. A program
//! that handles SIGTERM stops gracefully and exits as it chooses; one that does not ends with
//! the default action (status 143). Pressing again sends SIGTERM again; a hypervisor that
//! wants the VM gone regardless stops it after its own timeout, as it would a Linux guest.
//!
//! Both kinds of button ([`crate::boot::acpi::PowerButton`]): the fixed-feature one of pc and
//! q35 (PM1 status/enable, the SCI) and the Generic Event Device of microvm.

use spin::Once;
use x86_64::instructions::port::Port;

use crate::arch::irq::{self, Irq};
use crate::boot::acpi::{PowerButton, GED_POWER_DOWN};
use crate::boot::madt::LineMode;

const PWRBTN: u16 = 1 << 8;
const SCI_EN: u16 = 1;

static BUTTON: Once<(PowerButton, Option<Irq>)> = Once::new();

fn read16(port: u16) -> u16 {
    // SAFETY: a PM1 register the FADT names; reading it has no side effect.
    unsafe { Port::<u16>::new(port).read() }
}

fn write16(port: u16, value: u16) {
    // SAFETY: as in `read16`; the values written are ACPI's (status bits cleared by writing
    // 1, enable bits).
    unsafe { Port::<u16>::new(port).write(value) }
}

/// Enables the button's event and routes its interrupt (after the I/O APIC is set up).
pub fn init(button: PowerButton) {
    let irq = match button {
        PowerButton::Fixed {
            pm1a_evt,
            pm1_evt_len,
            pm1a_cnt,
            sci,
            smi_cmd,
            acpi_enable,
        } => {
            if read16(pm1a_cnt) & SCI_EN == 0 && smi_cmd != 0 && acpi_enable != 0 {
                // Legacy mode: ask the firmware for ACPI mode, and give it a moment.
                // SAFETY: SMI_CMD and ACPI_ENABLE come from the FADT for exactly this.
                unsafe { Port::<u8>::new(smi_cmd).write(acpi_enable) };
                let until = crate::time::tsc_after(100_000_000);
                while read16(pm1a_cnt) & SCI_EN == 0 && crate::arch::cpu::rdtsc() < until {
                    core::hint::spin_loop();
                }
            }
            let enable = pm1a_evt + (pm1_evt_len / 2) as u16;
            write16(pm1a_evt, PWRBTN);
            write16(enable, read16(enable) | PWRBTN);
            let (gsi, mode) = crate::arch::ioapic::isa_irq(sci as u8);
            irq::register(gsi, mode)
        }
        PowerButton::Ged {
            address,
            gsi,
            edge,
            active_low,
        } => {
            crate::mm::paging::map_mmio(address, 4);
            irq::register(
                gsi,
                LineMode {
                    level: !edge,
                    active_low,
                },
            )
        }
    };
    let (_, irq) = BUTTON.call_once(|| (button, irq));
    if irq.is_some() {
        crate::sched::register(&SOURCE);
    }
}

/// True when the button's interrupt came and was not handled yet.
pub fn pending() -> bool {
    BUTTON
        .get()
        .and_then(|(_, irq)| irq.as_ref())
        .is_some_and(Irq::is_pending)
}

/// Takes the button's events: SIGTERM for each press. True if there was one.
pub fn poll() -> bool {
    let Some((button, Some(irq))) = BUTTON.get() else {
        return false;
    };
    if !irq.take_pending() {
        return false;
    }
    let pressed = match *button {
        PowerButton::Fixed { pm1a_evt, .. } => {
            let status = read16(pm1a_evt);
            // Writing 1 clears the status bit (and ends the level-triggered SCI).
            write16(pm1a_evt, status & PWRBTN);
            status & PWRBTN != 0
        }
        PowerButton::Ged { address, .. } => {
            // SAFETY: the GED's event selector, mapped by `init`; reading takes the events.
            let events = unsafe { (address as *const u32).read_volatile() };
            events & GED_POWER_DOWN != 0
        }
    };
    irq.rearm();
    if pressed {
        kinfo!("power button: SIGTERM to the program");
        crate::signal::deliver::from_host(crate::signal::SIGTERM);
    }
    pressed
}

struct Source;

impl crate::sched::EventSource for Source {
    fn poll(&self, _now_ns: u64) -> bool {
        pending() && poll()
    }

    fn next_wakeup(&self, _now_ns: u64) -> Option<u64> {
        None
    }
}

static SOURCE: Source = Source;
