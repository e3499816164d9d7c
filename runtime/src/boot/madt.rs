//! The ACPI MADT ("APIC" table): where the I/O APICs are, which interrupt lines (GSIs) each
//! serves, and how legacy ISA IRQs are rerouted (interrupt source overrides). Pure: the table
//! comes from firmware and every length is checked.
#![forbid(unsafe_code)]

use super::acpi::{self, AcpiError};
use super::info::MemReader;

/// The most I/O APICs and overrides kept (QEMU has at most two I/O APICs and a handful of
/// overrides; more are ignored).
pub const MAX_IOAPICS: usize = 4;
pub const MAX_OVERRIDES: usize = 16;

/// The address an I/O APIC has on every PC when no MADT says otherwise.
pub const DEFAULT_IOAPIC_ADDRESS: u64 = 0xfec0_0000;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct IoApic {
    pub id: u8,
    pub address: u64,
    /// The first GSI this I/O APIC serves.
    pub gsi_base: u32,
}

/// Trigger mode and polarity of an interrupt line.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LineMode {
    pub level: bool,
    pub active_low: bool,
}

/// An ISA IRQ delivered on another GSI, or with another mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Override {
    pub irq: u8,
    pub gsi: u32,
    /// `None` = conforms to the bus (ISA: edge, active high).
    pub mode: Option<LineMode>,
}

/// What the runtime needs from the MADT.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Madt {
    pub ioapics: [IoApic; MAX_IOAPICS],
    pub ioapic_count: usize,
    pub overrides: [Override; MAX_OVERRIDES],
    pub override_count: usize,
}

impl Madt {
    /// One I/O APIC at the default address serving GSIs from 0: what a PC without ACPI has.
    pub fn fallback() -> Madt {
        let mut m = Madt::default();
        m.ioapics[0] = IoApic {
            id: 0,
            address: DEFAULT_IOAPIC_ADDRESS,
            gsi_base: 0,
        };
        m.ioapic_count = 1;
        m
    }

    pub fn ioapics(&self) -> &[IoApic] {
        &self.ioapics[..self.ioapic_count]
    }

    pub fn overrides(&self) -> &[Override] {
        &self.overrides[..self.override_count]
    }

    /// The GSI and mode of legacy ISA IRQ `irq`, after overrides.
    pub fn isa_irq(&self, irq: u8) -> (u32, LineMode) {
        match self.overrides().iter().find(|o| o.irq == irq) {
            Some(o) => (o.gsi, o.mode.unwrap_or_default()),
            None => (irq as u32, LineMode::default()),
        }
    }

    /// The I/O APIC serving `gsi` (the one with the highest base not above it) and the pin.
    pub fn route(&self, gsi: u32) -> Option<(IoApic, u8)> {
        let apic = self
            .ioapics()
            .iter()
            .filter(|a| a.gsi_base <= gsi)
            .max_by_key(|a| a.gsi_base)?;
        u8::try_from(gsi - apic.gsi_base)
            .ok()
            .map(|pin| (*apic, pin))
    }
}

/// Parses the MADT's bytes (header included).
pub fn parse(table: &[u8]) -> Result<Madt, AcpiError> {
    if table.len() < 44 || &table[..4] != b"APIC" {
        return Err(AcpiError::BadSignature);
    }
    let mut m = Madt::default();
    let mut at = 44;
    while at + 2 <= table.len() {
        let (kind, len) = (table[at], table[at + 1] as usize);
        if len < 2 || at + len > table.len() {
            break; // a malformed entry ends the list
        }
        let e = &table[at..at + len];
        match kind {
            1 if len >= 12 && m.ioapic_count < MAX_IOAPICS => {
                m.ioapics[m.ioapic_count] = IoApic {
                    id: e[2],
                    address: u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as u64,
                    gsi_base: u32::from_le_bytes([e[8], e[9], e[10], e[11]]),
                };
                m.ioapic_count += 1;
            }
            2 if len >= 10 && e[2] == 0 && m.override_count < MAX_OVERRIDES => {
                let flags = u16::from_le_bytes([e[8], e[9]]);
                let polarity = flags & 3;
                let trigger = (flags >> 2) & 3;
                let mode = (flags != 0).then_some(LineMode {
                    level: trigger == 3,
                    active_low: polarity == 3,
                });
                m.overrides[m.override_count] = Override {
                    irq: e[3],
                    gsi: u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                    mode,
                };
                m.override_count += 1;
            }
            _ => {}
        }
        at += len;
    }
    if m.ioapic_count == 0 {
        return Ok(Madt {
            overrides: m.overrides,
            override_count: m.override_count,
            ..Madt::fallback()
        });
    }
    Ok(m)
}

/// Finds and parses the MADT starting from the RSDP at `rsdp_phys`.
pub fn read(rsdp_phys: u64, mem: MemReader<'_, '_>) -> Result<Madt, AcpiError> {
    parse(acpi::find_table(rsdp_phys, mem, b"APIC")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn madt(entries: &[&[u8]]) -> Vec<u8> {
        let mut t = vec![0u8; 44];
        t[..4].copy_from_slice(b"APIC");
        for e in entries {
            t.extend_from_slice(e);
        }
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t
    }

    const LAPIC: &[u8] = &[0, 8, 0, 0, 1, 0, 0, 0];
    const IOAPIC0: &[u8] = &[1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0];
    const IOAPIC1: &[u8] = &[1, 12, 1, 0, 0, 0, 0xc1, 0xfe, 24, 0, 0, 0];
    // IRQ 0 -> GSI 2, conforming; IRQ 9 level active-high (QEMU's pc/q35 tables).
    const ISO0: &[u8] = &[2, 10, 0, 0, 2, 0, 0, 0, 0, 0];
    const ISO9: &[u8] = &[2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0];

    #[test]
    fn qemu_like_table() {
        let m = parse(&madt(&[LAPIC, IOAPIC0, IOAPIC1, ISO0, ISO9])).unwrap();
        assert_eq!(m.ioapics().len(), 2);
        assert_eq!(m.ioapics()[1].address, 0xfec1_0000);
        assert_eq!(m.route(5), Some((m.ioapics()[0], 5)));
        assert_eq!(m.route(24), Some((m.ioapics()[1], 0)));
        assert_eq!(m.route(30), Some((m.ioapics()[1], 6)));
        assert_eq!(m.isa_irq(0), (2, LineMode::default()));
        assert_eq!(
            m.isa_irq(9),
            (
                9,
                LineMode {
                    level: true,
                    active_low: false
                }
            )
        );
        assert_eq!(m.isa_irq(12), (12, LineMode::default()));
    }

    #[test]
    fn no_ioapic_entry_means_the_default_one() {
        let m = parse(&madt(&[LAPIC, ISO0])).unwrap();
        assert_eq!(m.ioapics()[0].address, DEFAULT_IOAPIC_ADDRESS);
        assert_eq!(m.overrides().len(), 1);
    }

    #[test]
    fn malformed_entries_stop_the_walk() {
        let m = parse(&madt(&[IOAPIC0, &[1, 0, 0], IOAPIC1])).unwrap();
        assert_eq!(m.ioapics().len(), 1);
        let m = parse(&madt(&[IOAPIC0, &[1, 200, 0, 0]])).unwrap();
        assert_eq!(m.ioapics().len(), 1);
        assert_eq!(parse(b"APIC"), Err(AcpiError::BadSignature));
        assert_eq!(parse(&[0u8; 60]), Err(AcpiError::BadSignature));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_u64;
        for _ in 0..if cfg!(miri) { 40 } else { 3000 } {
            let mut t: Vec<u8> = (0..120)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 7) as u8 * 3
                })
                .collect();
            t[..4].copy_from_slice(b"APIC");
            if let Ok(m) = parse(&t) {
                let _ = m.route((seed % 64) as u32);
                let _ = m.isa_irq(seed as u8);
            }
        }
    }
}
