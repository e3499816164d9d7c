//! The little of ACPI the runtime needs: how to power the machine off. Reads the RSDP, the
//! RSDT/XSDT, the FADT and the `\_S5_` object of the DSDT, with every length and checksum
//! checked: the tables come from firmware, which we trust no more than any other input.
//!
//! Hand-written rather than the `acpi` crate because powering off needs four fields and one
//! AML name, and this parser works without an allocator, before paging is set up.
#![forbid(unsafe_code)]

use super::info::MemReader;

/// How to enter S5 (soft off).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PowerOff {
    /// Legacy fixed hardware: write `SLP_TYP << 10 | SLP_EN` to the PM1a control port.
    Pm1aPort { port: u16, slp_typ: u8 },
    /// Hardware-reduced ACPI (QEMU microvm, Firecracker): write `SLP_TYP << 2 | SLP_EN` to
    /// the sleep control register, in I/O or memory space.
    SleepControl { address: u64, io: bool, slp_typ: u8 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AcpiError {
    Unreadable(u64),
    BadSignature,
    BadChecksum,
    NoFadt,
    NoPowerOffRegister,
    /// No table with the requested signature.
    NotFound,
}

const FADT_FLAGS: usize = 112;
const HW_REDUCED_ACPI: u32 = 1 << 20;

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// A whole System Description Table at `phys`, checked.
fn table<'a>(mem: MemReader<'_, 'a>, phys: u64) -> Result<&'a [u8], AcpiError> {
    let header = mem(phys, 36).ok_or(AcpiError::Unreadable(phys))?;
    let len = u32_at(header, 4).ok_or(AcpiError::Unreadable(phys))? as usize;
    if !(36..=1 << 20).contains(&len) {
        return Err(AcpiError::BadSignature);
    }
    let t = mem(phys, len).ok_or(AcpiError::Unreadable(phys))?;
    if !checksum_ok(t) {
        return Err(AcpiError::BadChecksum);
    }
    Ok(t)
}

/// The root table (XSDT if present, else RSDT) and the width of its entries.
fn root_table<'a>(rsdp_phys: u64, mem: MemReader<'_, 'a>) -> Result<(&'a [u8], usize), AcpiError> {
    let rsdp = mem(rsdp_phys, 20).ok_or(AcpiError::Unreadable(rsdp_phys))?;
    if &rsdp[..8] != b"RSD PTR " {
        return Err(AcpiError::BadSignature);
    }
    if !checksum_ok(rsdp) {
        return Err(AcpiError::BadChecksum);
    }
    let (root, entry_len) = match mem(rsdp_phys, 36) {
        Some(r) if rsdp[15] >= 2 && checksum_ok(r) && u64_at(r, 24).unwrap_or(0) != 0 => {
            (u64_at(r, 24).unwrap_or(0), 8)
        }
        _ => (u32_at(rsdp, 16).unwrap_or(0) as u64, 4),
    };
    Ok((table(mem, root)?, entry_len))
}

/// The first valid table with signature `sig` listed by the root table.
pub fn find_table<'a>(
    rsdp_phys: u64,
    mem: MemReader<'_, 'a>,
    sig: &[u8; 4],
) -> Result<&'a [u8], AcpiError> {
    let (root, entry_len) = root_table(rsdp_phys, mem)?;
    root[36..]
        .chunks_exact(entry_len)
        .filter_map(|e| {
            if entry_len == 8 {
                u64_at(e, 0)
            } else {
                u32_at(e, 0).map(u64::from)
            }
        })
        .filter_map(|p| table(mem, p).ok())
        .find(|t| &t[..4] == sig)
        .ok_or(AcpiError::NotFound)
}

/// The DSDT (named by the FADT), checked.
pub fn dsdt<'a>(rsdp_phys: u64, mem: MemReader<'_, 'a>) -> Result<&'a [u8], AcpiError> {
    let fadt = find_table(rsdp_phys, mem, b"FACP")?;
    let phys = u64_at(fadt, 140)
        .filter(|&p| p != 0)
        .or_else(|| u32_at(fadt, 40).map(u64::from))
        .ok_or(AcpiError::NotFound)?;
    let t = table(mem, phys)?;
    if &t[..4] != b"DSDT" {
        return Err(AcpiError::BadSignature);
    }
    Ok(t)
}

/// Finds how to power off, starting from the RSDP at `rsdp_phys`.
pub fn power_off(rsdp_phys: u64, mem: MemReader<'_, '_>) -> Result<PowerOff, AcpiError> {
    let rsdp = mem(rsdp_phys, 20).ok_or(AcpiError::Unreadable(rsdp_phys))?;
    if &rsdp[..8] != b"RSD PTR " {
        return Err(AcpiError::BadSignature);
    }
    if !checksum_ok(rsdp) {
        return Err(AcpiError::BadChecksum);
    }
    let revision = rsdp[15];
    let (root, entry_len) = match mem(rsdp_phys, 36) {
        Some(r) if revision >= 2 && checksum_ok(r) && u64_at(r, 24).unwrap_or(0) != 0 => {
            (u64_at(r, 24).unwrap_or(0), 8)
        }
        _ => (u32_at(rsdp, 16).unwrap_or(0) as u64, 4),
    };
    let root = table(mem, root)?;
    let fadt = root[36..]
        .chunks_exact(entry_len)
        .map(|e| {
            if entry_len == 8 {
                u64_at(e, 0)
            } else {
                u32_at(e, 0).map(u64::from)
            }
        })
        .filter_map(|p| p.and_then(|p| table(mem, p).ok()))
        .find(|t| &t[..4] == b"FACP")
        .ok_or(AcpiError::NoFadt)?;
    let dsdt = u64_at(fadt, 140)
        .filter(|&p| p != 0)
        .or_else(|| u32_at(fadt, 40).map(u64::from))
        .and_then(|p| table(mem, p).ok());
    // QEMU's DSDTs declare \_S5_ as Package {0, 0} for PIIX4/ICH9 and {5, 5} for the GED.
    let hw_reduced = u32_at(fadt, FADT_FLAGS).unwrap_or(0) & HW_REDUCED_ACPI != 0;
    let slp_typ = dsdt
        .and_then(s5_sleep_type)
        .unwrap_or(if hw_reduced { 5 } else { 0 });
    if hw_reduced {
        // SLEEP_CONTROL_REG: a Generic Address Structure at offset 244 (FADT revision 5+).
        let gas = fadt.get(244..256).ok_or(AcpiError::NoPowerOffRegister)?;
        let address = u64_at(gas, 4).unwrap_or(0);
        if address == 0 || gas[0] > 1 {
            return Err(AcpiError::NoPowerOffRegister);
        }
        return Ok(PowerOff::SleepControl {
            address,
            io: gas[0] == 1,
            slp_typ,
        });
    }
    let port = u32_at(fadt, 64).unwrap_or(0);
    if port == 0 || port > 0xffff {
        return Err(AcpiError::NoPowerOffRegister);
    }
    Ok(PowerOff::Pm1aPort {
        port: port as u16,
        slp_typ,
    })
}

/// The SLP_TYPa value of the `\_S5_` package in an AML table, if it is written the way
/// firmware writes it: `NameOp "_S5_" PackageOp PkgLength NumElements <integer>`.
pub fn s5_sleep_type(aml: &[u8]) -> Option<u8> {
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    let rest = aml.get(at + 4..)?;
    if *rest.first()? != 0x12 {
        return None; // not a package
    }
    let pkglen_bytes = (*rest.get(1)? >> 6) as usize;
    let first = rest.get(2 + pkglen_bytes + 1..)?; // skip PkgLength, NumElements
    match *first.first()? {
        0x0a => first.get(1).copied(), // BytePrefix
        0x00 => Some(0),               // ZeroOp
        0x01 => Some(1),               // OneOp
        v if v < 0x0a => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Sets byte `at` so the first `len` bytes (all of them when `len` is 0) sum to zero.
    fn fix_checksum(t: &mut [u8], at: usize, len: usize) {
        let len = if len == 0 { t.len() } else { len };
        t[at] = 0;
        let sum = t[..len].iter().fold(0u8, |a, b| a.wrapping_add(*b));
        t[at] = 0u8.wrapping_sub(sum);
    }

    fn sdt(sig: &[u8; 4], len: usize) -> Vec<u8> {
        let mut t = vec![0u8; len];
        t[..4].copy_from_slice(sig);
        t[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        t
    }

    /// A memory image: physical address -> bytes.
    struct Mem(BTreeMap<u64, Vec<u8>>);

    impl Mem {
        fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
            let (base, bytes) = self.0.range(..=phys).next_back()?;
            bytes.get((phys - base) as usize..(phys - base) as usize + len)
        }
    }

    fn machine(hw_reduced: bool, s5: &[u8], xsdt: bool) -> Mem {
        let mut dsdt = sdt(b"DSDT", 36 + 16);
        dsdt[40..40 + s5.len()].copy_from_slice(s5);
        fix_checksum(&mut dsdt, 9, 0);
        let mut fadt = sdt(b"FACP", 276);
        fadt[8] = 6; // revision
        fadt[40..44].copy_from_slice(&0x3000u32.to_le_bytes());
        fadt[64..68].copy_from_slice(&0x604u32.to_le_bytes());
        if hw_reduced {
            fadt[112..116].copy_from_slice(&HW_REDUCED_ACPI.to_le_bytes());
            fadt[244] = 0; // memory space
            fadt[248..256].copy_from_slice(&0xfea0_0200u64.to_le_bytes());
        }
        fix_checksum(&mut fadt, 9, 0);
        let mut rsdp = vec![0u8; 36];
        rsdp[..8].copy_from_slice(b"RSD PTR ");
        let mut root;
        if xsdt {
            root = sdt(b"XSDT", 44);
            root[36..44].copy_from_slice(&0x2000u64.to_le_bytes());
            rsdp[15] = 2;
            rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
            rsdp[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        } else {
            root = sdt(b"RSDT", 40);
            root[36..40].copy_from_slice(&0x2000u32.to_le_bytes());
            rsdp[16..20].copy_from_slice(&0x1000u32.to_le_bytes());
        }
        fix_checksum(&mut root, 9, 0);
        fix_checksum(&mut rsdp, 8, 20);
        fix_checksum(&mut rsdp, 32, 36);
        Mem(BTreeMap::from([
            (0x100, rsdp),
            (0x1000, root),
            (0x2000, fadt),
            (0x3000, dsdt),
        ]))
    }

    const S5_ZERO: &[u8] = &[
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
    ];
    const S5_FIVE: &[u8] = &[
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x08, 0x02, 0x0a, 0x05, 0x0a, 0x05,
    ];

    #[test]
    fn legacy_pm1a_from_rsdt() {
        let m = machine(false, S5_ZERO, false);
        let r = power_off(0x100, &|p, l| m.read(p, l));
        assert_eq!(
            r,
            Ok(PowerOff::Pm1aPort {
                port: 0x604,
                slp_typ: 0
            })
        );
    }

    #[test]
    fn hw_reduced_from_xsdt() {
        let m = machine(true, S5_FIVE, true);
        let r = power_off(0x100, &|p, l| m.read(p, l));
        assert_eq!(
            r,
            Ok(PowerOff::SleepControl {
                address: 0xfea0_0200,
                io: false,
                slp_typ: 5
            })
        );
    }

    #[test]
    fn bad_checksums_and_signatures_are_refused() {
        let mut m = machine(false, S5_ZERO, false);
        m.0.get_mut(&0x100).unwrap()[9] ^= 1;
        assert_eq!(
            power_off(0x100, &|p, l| m.read(p, l)),
            Err(AcpiError::BadChecksum)
        );
        let mut m = machine(false, S5_ZERO, false);
        m.0.get_mut(&0x2000).unwrap()[20] ^= 1; // FADT checksum broken: no FADT found
        assert_eq!(
            power_off(0x100, &|p, l| m.read(p, l)),
            Err(AcpiError::NoFadt)
        );
        let m = machine(false, S5_ZERO, false);
        assert_eq!(
            power_off(0x1000, &|p, l| m.read(p, l)),
            Err(AcpiError::BadSignature)
        );
        assert_eq!(
            power_off(0x9999, &|p, l| m.read(p, l)),
            Err(AcpiError::Unreadable(0x9999))
        );
    }

    #[test]
    fn tables_are_found_by_signature() {
        for xsdt in [false, true] {
            let m = machine(false, S5_ZERO, xsdt);
            let fadt = find_table(0x100, &|p, l| m.read(p, l), b"FACP").unwrap();
            assert_eq!(fadt.len(), 276);
            assert_eq!(
                find_table(0x100, &|p, l| m.read(p, l), b"APIC"),
                Err(AcpiError::NotFound)
            );
            let dsdt = dsdt(0x100, &|p, l| m.read(p, l)).unwrap();
            assert_eq!(&dsdt[..4], b"DSDT");
        }
    }

    #[test]
    fn s5_forms() {
        assert_eq!(s5_sleep_type(S5_ZERO), Some(0));
        assert_eq!(s5_sleep_type(S5_FIVE), Some(5));
        assert_eq!(s5_sleep_type(b"_S5_"), None);
        assert_eq!(s5_sleep_type(b"xx_S5_\x12"), None);
        assert_eq!(s5_sleep_type(&[]), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u64;
        for _ in 0..if cfg!(miri) { 40 } else { 2000 } {
            let bytes: Vec<u8> = (0..300)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = s5_sleep_type(&bytes);
            let m = Mem(BTreeMap::from([(0, bytes)]));
            let _ = power_off(0, &|p, l| m.read(p, l));
        }
    }
}
