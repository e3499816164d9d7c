//! virtio-mmio devices announced on the kernel command line, as QEMU's microvm
//! (`auto-kernel-cmdline`) and Firecracker announce them: `virtio_mmio.device=SIZE@BASE:IRQ`,
//! in Linux's syntax (`SIZE` with an optional `K`/`M`/`G` suffix, numbers in C notation, an
//! optional `:ID` after the IRQ that is ignored). With ACPI on, QEMU's microvm lists them in
//! the DSDT instead, as `LNRO0005` devices: [`from_dsdt`] finds those.
#![forbid(unsafe_code)]

/// One announced device window.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MmioDevice {
    /// Physical base of the register window.
    pub base: u64,
    /// Length of the window in bytes.
    pub size: u64,
    /// The interrupt line: a GSI of the I/O APIC(s).
    pub irq: u32,
}

/// Why an announcement was not understood.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MmioParseError {
    /// Not `SIZE@BASE:IRQ`.
    Syntax,
    /// A number that does not parse or overflows.
    Number,
    /// A zero size, or a window that wraps around the address space.
    Range,
}

/// A number the way the kernel's `simple_strtoull(.., 0)` reads it: `0x` hex, leading `0`
/// octal, else decimal.
fn c_number(s: &str) -> Result<u64, MmioParseError> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || digits.starts_with('+') {
        return Err(MmioParseError::Number);
    }
    u64::from_str_radix(digits, radix).map_err(|_| MmioParseError::Number)
}

/// A size with an optional binary suffix (`memparse`).
fn size(s: &str) -> Result<u64, MmioParseError> {
    let (num, shift) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    c_number(num)?
        .checked_mul(1 << shift)
        .ok_or(MmioParseError::Number)
}

/// Parses the value of one `virtio_mmio.device=` word.
pub fn parse(value: &str) -> Result<MmioDevice, MmioParseError> {
    let (sz, rest) = value.split_once('@').ok_or(MmioParseError::Syntax)?;
    let (base, rest) = rest.split_once(':').ok_or(MmioParseError::Syntax)?;
    let irq = rest.split_once(':').map_or(rest, |(irq, _id)| irq);
    let size = size(sz)?;
    let base = c_number(base)?;
    let irq = u32::try_from(c_number(irq)?).map_err(|_| MmioParseError::Number)?;
    if size == 0 || base.checked_add(size).is_none() {
        return Err(MmioParseError::Range);
    }
    Ok(MmioDevice { base, size, irq })
}

/// The most devices [`from_dsdt`] reports.
pub const MAX_DSDT_DEVICES: usize = 8;

/// The virtio-mmio devices an AML table declares: each `_HID "LNRO0005"` followed (within
/// its device's few bytes) by a `Memory32Fixed` and an extended `Interrupt` descriptor, the
/// way QEMU's microvm writes them. A scan rather than an AML interpreter: anything else is
/// not found (the command-line announcement still works).
pub fn from_dsdt(aml: &[u8]) -> ([MmioDevice; MAX_DSDT_DEVICES], usize) {
    const HID: &[u8] = b"\x0dLNRO0005\x00";
    let mut out = [MmioDevice::default(); MAX_DSDT_DEVICES];
    let mut n = 0;
    let mut at = 0;
    while n < MAX_DSDT_DEVICES {
        let Some(pos) = aml[at..].windows(HID.len()).position(|w| w == HID) else {
            break;
        };
        let start = at + pos + HID.len();
        // The device's resources lie before the next device's `_HID`.
        let next = aml[start..]
            .windows(HID.len())
            .position(|w| w == HID)
            .map_or(aml.len(), |p| start + p);
        let window = &aml[start..next.min(start + 96)];
        let mem = window
            .windows(12)
            .find(|w| w[0] == 0x86 && w[1] == 0x09 && w[2] == 0x00)
            .map(|w| {
                (
                    u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as u64,
                    u32::from_le_bytes([w[8], w[9], w[10], w[11]]) as u64,
                )
            });
        let irq = window
            .windows(9)
            .find(|w| w[0] == 0x89 && w[1] >= 6 && w[2] == 0 && w[4] >= 1)
            .map(|w| u32::from_le_bytes([w[5], w[6], w[7], w[8]]));
        if let (Some((base, size)), Some(irq)) = (mem, irq) {
            if size > 0 && base.checked_add(size).is_some() {
                out[n] = MmioDevice { base, size, irq };
                n += 1;
            }
        }
        at = start;
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_and_firecracker_forms() {
        assert_eq!(
            parse("512@0xfeb00e00:12"),
            Ok(MmioDevice {
                base: 0xfeb0_0e00,
                size: 512,
                irq: 12
            })
        );
        assert_eq!(
            parse("4K@0xd0000000:5"),
            Ok(MmioDevice {
                base: 0xd000_0000,
                size: 4096,
                irq: 5
            })
        );
        assert_eq!(
            parse("0x1000@4096:030:7"),
            Ok(MmioDevice {
                base: 4096,
                size: 0x1000,
                irq: 24
            })
        );
        assert_eq!(parse("1M@0x0:0").unwrap().size, 1 << 20);
        assert_eq!(parse("1g@0x0:0").unwrap().size, 1 << 30);
    }

    /// `Device (VR00) { Name (_HID, "LNRO0005") Name (_UID, 0) Name (_CCA, One)
    /// Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, BASE, 0x200)
    /// Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { IRQ } }) }`, as iasl
    /// compiles QEMU's microvm DSDT.
    fn microvm_device(base: u32, irq: u32) -> Vec<u8> {
        let mut d = vec![0x5b, 0x82, 0x3e, b'V', b'R', b'0', b'0', 0x08];
        d.extend_from_slice(b"_HID\x0dLNRO0005\x00");
        d.extend_from_slice(b"\x08_UID\x00\x08_CCA\x01\x08_CRS\x11\x1a\x0a\x17");
        d.extend_from_slice(&[0x86, 0x09, 0x00, 0x01]);
        d.extend_from_slice(&base.to_le_bytes());
        d.extend_from_slice(&0x200u32.to_le_bytes());
        d.extend_from_slice(&[0x89, 0x06, 0x00, 0x03, 0x01]);
        d.extend_from_slice(&irq.to_le_bytes());
        d.extend_from_slice(&[0x79, 0x00]);
        d
    }

    #[test]
    fn dsdt_devices_are_found() {
        let mut aml = b"DSDT-header-and-other-things".to_vec();
        aml.extend(microvm_device(0xfeb0_0000, 16));
        aml.extend(b"\x0dLNRO0005\x00 no resources here".iter());
        aml.extend(microvm_device(0xfeb0_0200, 17));
        let (devs, n) = from_dsdt(&aml);
        assert_eq!(n, 2);
        assert_eq!(
            devs[0],
            MmioDevice {
                base: 0xfeb0_0000,
                size: 0x200,
                irq: 16
            }
        );
        assert_eq!(devs[1].irq, 17);
        assert_eq!(from_dsdt(b"").1, 0);
        assert_eq!(from_dsdt(b"\x0dLNRO0005\x00\x86\x09\x00").1, 0);
    }

    #[test]
    fn malformed_values_are_refused() {
        assert_eq!(parse(""), Err(MmioParseError::Syntax));
        assert_eq!(parse("512"), Err(MmioParseError::Syntax));
        assert_eq!(parse("512@0x1000"), Err(MmioParseError::Syntax));
        assert_eq!(parse("x@0x1000:5"), Err(MmioParseError::Number));
        assert_eq!(parse("512@0x:5"), Err(MmioParseError::Number));
        assert_eq!(parse("512@0x1000:"), Err(MmioParseError::Number));
        assert_eq!(parse("512@0x1000:99999999999"), Err(MmioParseError::Number));
        assert_eq!(parse("K@0x1000:5"), Err(MmioParseError::Number));
        assert_eq!(parse("+5@0x1000:5"), Err(MmioParseError::Number));
        assert_eq!(parse("09@0x1000:5"), Err(MmioParseError::Number));
        assert_eq!(parse("0@0x1000:5"), Err(MmioParseError::Range));
        assert_eq!(
            parse("16G@0xffffffffffffff00:5"),
            Err(MmioParseError::Range)
        );
        assert_eq!(parse("99999999999999999G@0:5"), Err(MmioParseError::Number));
    }
}
