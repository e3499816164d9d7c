//! Boot information from either loader (PVH `hvm_start_info`, multiboot2 tags), parsed into
//! one [`BootInfo`]: command line, memory map, ACPI RSDP, initrd.
//!
//! Parsing runs before there is a heap, so [`BootInfo`] keeps the memory map in a fixed array
//! of [`MAX_REGIONS`] entries (more are dropped and [`BootInfo::truncated_regions`] is set).
//! Guest memory is read through a caller-supplied reader, `mem(phys, len)`, which returns the
//! `len` bytes at physical address `phys` or `None` when they are not readable; the parsers
//! never read outside what it returns and never panic, whatever the bytes say.
//!
//! Layouts: Xen's `arch-x86/hvm/start_info.h` (structure versions 0 and 1) and the Multiboot2
//! specification (GRUB's `multiboot2.h`). All fields are little-endian.
#![forbid(unsafe_code)]

use core::fmt;

/// How many memory-map entries [`BootInfo`] holds.
pub const MAX_REGIONS: usize = 64;
/// The longest command line accepted from PVH (where only a NUL ends it), NUL excluded.
pub const MAX_CMDLINE: usize = 4096;

/// `hvm_start_info.magic`: "xEn3" with the 0x80 bit of the "E" set.
pub const PVH_MAGIC: u32 = 0x336e_c578;
/// What a multiboot2 loader puts in `eax` (the entry stub checks it; the info has no magic).
pub const MULTIBOOT2_BOOTLOADER_MAGIC: u32 = 0x36d7_6289;

/// PVH `hvm_start_info` layout.
mod pvh {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 4;
    pub const NR_MODULES: usize = 12;
    pub const MODLIST_PADDR: usize = 16;
    pub const CMDLINE_PADDR: usize = 24;
    pub const RSDP_PADDR: usize = 32;
    /// Size of version 0 (no memory map).
    pub const V0_LEN: usize = 40;
    pub const MEMMAP_PADDR: usize = 40;
    pub const MEMMAP_ENTRIES: usize = 48;
    /// Size of version 1.
    pub const V1_LEN: usize = 56;
    /// `hvm_modlist_entry`: paddr, size, cmdline_paddr, reserved.
    pub const MODULE_LEN: usize = 32;
    /// `hvm_memmap_table_entry`: addr, size, type, reserved.
    pub const MEMMAP_ENTRY_LEN: usize = 24;
    pub const MEMMAP_TYPE_RAM: u32 = 1;
}

/// Multiboot2 boot-information layout.
mod mb2 {
    pub const HEADER_LEN: usize = 8;
    pub const TAG_HEADER_LEN: usize = 8;
    pub const TAG_END: u32 = 0;
    pub const TAG_CMDLINE: u32 = 1;
    pub const TAG_MODULE: u32 = 3;
    pub const TAG_BASIC_MEMINFO: u32 = 4;
    pub const TAG_MMAP: u32 = 6;
    pub const TAG_ACPI_OLD: u32 = 14;
    pub const TAG_ACPI_NEW: u32 = 15;
    /// Smallest memory-map entry: base, length, type, reserved.
    pub const MMAP_ENTRY_MIN_LEN: usize = 24;
    pub const MEMORY_AVAILABLE: u32 = 1;
}

/// Which loader booted the image.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loader {
    Pvh,
    Multiboot2,
}

/// One memory-map entry. `start + len` never overflows.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MemoryRegion {
    pub start: u64,
    pub len: u64,
    /// RAM the kernel may use (PVH type 1, multiboot2 "available").
    pub usable: bool,
}

impl MemoryRegion {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Why boot information was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BootInfoError {
    /// The reader refused `len` bytes at `phys` (a pointer outside memory).
    Unreadable { phys: u64, len: usize },
    /// A structure is shorter than its fields or than a length it states.
    Truncated,
    /// `hvm_start_info.magic` is wrong.
    BadMagic,
    /// A multiboot2 tag is malformed (size below 8, bad entry size, module end before start);
    /// `offset` is the tag's offset in the information.
    BadTag { offset: usize },
    /// The multiboot2 tags end without an end tag.
    MissingEndTag,
    /// No NUL within the string's bounds (or within [`MAX_CMDLINE`] bytes).
    CmdlineUnterminated,
    /// The command line is not UTF-8.
    CmdlineNotUtf8,
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootInfoError::Unreadable { phys, len } => {
                write!(
                    f,
                    "boot information points outside memory ({len} bytes at {phys:#x})"
                )
            }
            BootInfoError::Truncated => write!(f, "boot information is truncated"),
            BootInfoError::BadMagic => write!(f, "PVH start info has a bad magic number"),
            BootInfoError::BadTag { offset } => {
                write!(f, "malformed multiboot2 tag at offset {offset}")
            }
            BootInfoError::MissingEndTag => write!(f, "multiboot2 information lacks its end tag"),
            BootInfoError::CmdlineUnterminated => {
                write!(
                    f,
                    "kernel command line is not NUL-terminated within {MAX_CMDLINE} bytes"
                )
            }
            BootInfoError::CmdlineNotUtf8 => {
                write!(f, "kernel command line is not UTF-8: pass plain text")
            }
        }
    }
}

/// What the loader told the kernel.
#[derive(Clone, Debug)]
pub struct BootInfo<'a> {
    pub loader: Loader,
    /// The kernel command line (empty when the loader passed none).
    pub cmdline: &'a str,
    /// Physical address of the ACPI RSDP (for multiboot2, of the tag's copy of it).
    pub rsdp: Option<u64>,
    /// The first module, as (physical start, length in bytes); `None` when absent or empty.
    pub initrd: Option<(u64, u64)>,
    /// How many modules the loader passed (only the first one is used).
    pub module_count: u32,
    /// More memory-map entries were given than [`MAX_REGIONS`]; the rest were dropped.
    pub truncated_regions: bool,
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
}

impl<'a> BootInfo<'a> {
    fn new(loader: Loader) -> BootInfo<'a> {
        BootInfo {
            loader,
            cmdline: "",
            rsdp: None,
            initrd: None,
            module_count: 0,
            truncated_regions: false,
            regions: [MemoryRegion::default(); MAX_REGIONS],
            region_count: 0,
        }
    }

    /// The memory map, in the loader's order (empty-length entries left out).
    pub fn regions(&self) -> core::slice::Iter<'_, MemoryRegion> {
        self.region_slice().iter()
    }

    /// The memory map as a slice.
    pub fn region_slice(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// Total bytes of usable RAM in the map.
    pub fn usable_bytes(&self) -> u64 {
        self.regions().filter(|r| r.usable).map(|r| r.len).sum()
    }

    fn push_region(&mut self, start: u64, len: u64, usable: bool) {
        let len = len.min(u64::MAX - start);
        if len == 0 {
            return;
        }
        match self.regions.get_mut(self.region_count) {
            Some(slot) => {
                *slot = MemoryRegion { start, len, usable };
                self.region_count += 1;
            }
            None => self.truncated_regions = true,
        }
    }
}

/// The reader over guest physical memory both parsers take.
pub type MemReader<'m, 'a> = &'m dyn Fn(u64, usize) -> Option<&'a [u8]>;

/// Reads exactly `len` bytes at `phys`.
fn read<'a>(mem: MemReader<'_, 'a>, phys: u64, len: usize) -> Result<&'a [u8], BootInfoError> {
    let unreadable = BootInfoError::Unreadable { phys, len };
    phys.checked_add(len as u64).ok_or(unreadable)?;
    mem(phys, len)
        .and_then(|bytes| bytes.get(..len))
        .ok_or(unreadable)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, BootInfoError> {
    let b = bytes.get(at..at + 4).ok_or(BootInfoError::Truncated)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, BootInfoError> {
    let b = bytes.get(at..at + 8).ok_or(BootInfoError::Truncated)?;
    Ok(u64::from_le_bytes([
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ]))
}

/// The text before the first NUL of `bytes`.
fn c_str(bytes: &[u8]) -> Result<&str, BootInfoError> {
    let len = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(BootInfoError::CmdlineUnterminated)?;
    core::str::from_utf8(&bytes[..len]).map_err(|_| BootInfoError::CmdlineNotUtf8)
}

/// A NUL-terminated string at `phys` of unknown length (at most [`MAX_CMDLINE`] bytes).
fn c_str_at<'a>(mem: MemReader<'_, 'a>, phys: u64) -> Result<&'a str, BootInfoError> {
    // Byte by byte, so a string that ends just before unreadable memory is still found.
    let mut len = 0;
    loop {
        if len > MAX_CMDLINE {
            return Err(BootInfoError::CmdlineUnterminated);
        }
        let at = phys
            .checked_add(len as u64)
            .ok_or(BootInfoError::Unreadable { phys, len })?;
        if read(mem, at, 1)?[0] == 0 {
            break;
        }
        len += 1;
    }
    c_str(read(mem, phys, len + 1)?)
}

/// Parses PVH's `hvm_start_info` at `start_info_phys` (`ebx` at the PVH entry).
///
/// Version 0 of the structure has no memory map: [`BootInfo::regions`] is then empty.
pub fn parse_pvh<'a>(
    start_info_phys: u64,
    mem: &dyn Fn(u64, usize) -> Option<&'a [u8]>,
) -> Result<BootInfo<'a>, BootInfoError> {
    let head = read(mem, start_info_phys, 8)?;
    if u32_at(head, pvh::MAGIC)? != PVH_MAGIC {
        return Err(BootInfoError::BadMagic);
    }
    let version = u32_at(head, pvh::VERSION)?;
    let len = if version >= 1 {
        pvh::V1_LEN
    } else {
        pvh::V0_LEN
    };
    let si = read(mem, start_info_phys, len)?;

    let mut info = BootInfo::new(Loader::Pvh);
    let cmdline = u64_at(si, pvh::CMDLINE_PADDR)?;
    if cmdline != 0 {
        info.cmdline = c_str_at(mem, cmdline)?;
    }
    info.rsdp = Some(u64_at(si, pvh::RSDP_PADDR)?).filter(|&p| p != 0);
    info.module_count = u32_at(si, pvh::NR_MODULES)?;
    let modlist = u64_at(si, pvh::MODLIST_PADDR)?;
    if info.module_count > 0 && modlist != 0 {
        let module = read(mem, modlist, pvh::MODULE_LEN)?;
        let (start, size) = (u64_at(module, 0)?, u64_at(module, 8)?);
        if start != 0 && size != 0 {
            info.initrd = Some((start, size.min(u64::MAX - start)));
        }
    }
    if version >= 1 {
        let memmap = u64_at(si, pvh::MEMMAP_PADDR)?;
        let entries = u32_at(si, pvh::MEMMAP_ENTRIES)? as usize;
        if memmap != 0 {
            info.truncated_regions = entries > MAX_REGIONS;
            for i in 0..entries.min(MAX_REGIONS) {
                let offset = (i * pvh::MEMMAP_ENTRY_LEN) as u64;
                let at = memmap
                    .checked_add(offset)
                    .ok_or(BootInfoError::Unreadable {
                        phys: memmap,
                        len: entries * pvh::MEMMAP_ENTRY_LEN,
                    })?;
                let e = read(mem, at, pvh::MEMMAP_ENTRY_LEN)?;
                let kind = u32_at(e, 16)?;
                info.push_region(u64_at(e, 0)?, u64_at(e, 8)?, kind == pvh::MEMMAP_TYPE_RAM);
            }
        }
    }
    Ok(info)
}

/// Parses multiboot2 boot information at `info_phys` (`ebx` at the multiboot2 entry, after
/// the entry stub checked `eax` against [`MULTIBOOT2_BOOTLOADER_MAGIC`]).
///
/// The memory map comes from the memory-map tag, or, without one, from the basic memory
/// information tag (lower and upper memory). The RSDP is the new (ACPI 2.0+) copy if given,
/// else the old one.
pub fn parse_multiboot2<'a>(
    info_phys: u64,
    mem: &dyn Fn(u64, usize) -> Option<&'a [u8]>,
) -> Result<BootInfo<'a>, BootInfoError> {
    let head = read(mem, info_phys, mb2::HEADER_LEN)?;
    let total = u32_at(head, 0)? as usize;
    if total < mb2::HEADER_LEN {
        return Err(BootInfoError::Truncated);
    }
    let bytes = read(mem, info_phys, total)?;

    let mut info = BootInfo::new(Loader::Multiboot2);
    let (mut acpi_old, mut acpi_new) = (None, None);
    let mut basic_meminfo = None;
    let mut saw_mmap = false;
    let mut offset = mb2::HEADER_LEN;
    loop {
        if offset + mb2::TAG_HEADER_LEN > total {
            return Err(BootInfoError::MissingEndTag);
        }
        let kind = u32_at(bytes, offset)?;
        let size = u32_at(bytes, offset + 4)? as usize;
        if size < mb2::TAG_HEADER_LEN {
            return Err(BootInfoError::BadTag { offset });
        }
        let tag = bytes
            .get(offset..offset.saturating_add(size))
            .ok_or(BootInfoError::Truncated)?;
        let data = &tag[mb2::TAG_HEADER_LEN..];
        let data_phys = info_phys + (offset + mb2::TAG_HEADER_LEN) as u64;
        let bad = BootInfoError::BadTag { offset };
        match kind {
            mb2::TAG_END => break,
            mb2::TAG_CMDLINE => info.cmdline = c_str(data)?,
            mb2::TAG_MODULE => {
                info.module_count = info.module_count.saturating_add(1);
                let (start, end) = (
                    u32_at(data, 0).map_err(|_| bad)?,
                    u32_at(data, 4).map_err(|_| bad)?,
                );
                if end < start {
                    return Err(bad);
                }
                if info.module_count == 1 && end > start {
                    info.initrd = Some((u64::from(start), u64::from(end - start)));
                }
            }
            mb2::TAG_BASIC_MEMINFO => {
                let lower_kib = u32_at(data, 0).map_err(|_| bad)?;
                let upper_kib = u32_at(data, 4).map_err(|_| bad)?;
                basic_meminfo = Some((lower_kib, upper_kib));
            }
            mb2::TAG_MMAP => {
                let entry_size = u32_at(data, 0).map_err(|_| bad)? as usize;
                if entry_size < mb2::MMAP_ENTRY_MIN_LEN {
                    return Err(bad);
                }
                saw_mmap = true;
                let entries = data.get(8..).ok_or(bad)?;
                for entry in entries.chunks_exact(entry_size) {
                    let usable = u32_at(entry, 16)? == mb2::MEMORY_AVAILABLE;
                    info.push_region(u64_at(entry, 0)?, u64_at(entry, 8)?, usable);
                }
            }
            mb2::TAG_ACPI_OLD if !data.is_empty() => acpi_old = Some(data_phys),
            mb2::TAG_ACPI_NEW if !data.is_empty() => acpi_new = Some(data_phys),
            _ => {}
        }
        // Tags start on 8-byte boundaries.
        offset = offset
            .checked_add(size)
            .and_then(|end| end.checked_add(7))
            .ok_or(BootInfoError::Truncated)?
            & !7;
    }
    if !saw_mmap {
        if let Some((lower_kib, upper_kib)) = basic_meminfo {
            info.push_region(0, u64::from(lower_kib) * 1024, true);
            info.push_region(0x10_0000, u64::from(upper_kib) * 1024, true);
        }
    }
    info.rsdp = acpi_new.or(acpi_old);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fake guest memory: `ram` holds physical addresses `BASE..BASE + ram.len()`.
    const BASE: u64 = 0x1000;

    fn reader<'r>(ram: &'r [u8]) -> impl Fn(u64, usize) -> Option<&'r [u8]> + 'r {
        move |phys, len| {
            let at = usize::try_from(phys.checked_sub(BASE)?).ok()?;
            ram.get(at..at.checked_add(len)?)
        }
    }

    fn put(ram: &mut Vec<u8>, phys: u64, bytes: &[u8]) {
        let at = (phys - BASE) as usize;
        if ram.len() < at + bytes.len() {
            ram.resize(at + bytes.len(), 0);
        }
        ram[at..at + bytes.len()].copy_from_slice(bytes);
    }

    // ---------------------------------------------------------------- PVH

    const SI: u64 = 0x1000;
    const CMDLINE: u64 = 0x1100;
    const MODLIST: u64 = 0x1200;
    const MEMMAP: u64 = 0x1300;

    struct Pvh {
        version: u32,
        cmdline: Option<&'static [u8]>,
        rsdp: u64,
        modules: Vec<(u64, u64)>,
        memmap: Vec<(u64, u64, u32)>,
    }

    impl Pvh {
        fn qemu_like() -> Pvh {
            Pvh {
                version: 1,
                cmdline: Some(b"kiln.quiet -- hello\0"),
                rsdp: 0xf_5a40,
                modules: vec![],
                memmap: vec![
                    (0, 0x9fc00, 1),
                    (0x9fc00, 0x400, 2),
                    (0xf0000, 0x10000, 2),
                    (0x10_0000, 0x7ef_0000, 1),
                ],
            }
        }

        fn ram(&self) -> Vec<u8> {
            let mut ram = vec![0; 0x400];
            let mut si = Vec::new();
            si.extend_from_slice(&PVH_MAGIC.to_le_bytes());
            si.extend_from_slice(&self.version.to_le_bytes());
            si.extend_from_slice(&0u32.to_le_bytes()); // flags
            si.extend_from_slice(&(self.modules.len() as u32).to_le_bytes());
            si.extend_from_slice(
                &(if self.modules.is_empty() { 0 } else { MODLIST }).to_le_bytes(),
            );
            si.extend_from_slice(&(if self.cmdline.is_some() { CMDLINE } else { 0 }).to_le_bytes());
            si.extend_from_slice(&self.rsdp.to_le_bytes());
            if self.version >= 1 {
                si.extend_from_slice(
                    &(if self.memmap.is_empty() { 0 } else { MEMMAP }).to_le_bytes(),
                );
                si.extend_from_slice(&(self.memmap.len() as u32).to_le_bytes());
                si.extend_from_slice(&0u32.to_le_bytes());
            }
            put(&mut ram, SI, &si);
            if let Some(c) = self.cmdline {
                put(&mut ram, CMDLINE, c);
            }
            for (i, &(paddr, size)) in self.modules.iter().enumerate() {
                let mut m = Vec::new();
                for v in [paddr, size, 0, 0] {
                    m.extend_from_slice(&v.to_le_bytes());
                }
                put(&mut ram, MODLIST + 32 * i as u64, &m);
            }
            for (i, &(addr, size, kind)) in self.memmap.iter().enumerate() {
                let mut e = Vec::new();
                e.extend_from_slice(&addr.to_le_bytes());
                e.extend_from_slice(&size.to_le_bytes());
                e.extend_from_slice(&kind.to_le_bytes());
                e.extend_from_slice(&0u32.to_le_bytes());
                put(&mut ram, MEMMAP + 24 * i as u64, &e);
            }
            ram
        }
    }

    #[test]
    fn pvh_as_qemu_passes_it() {
        let ram = Pvh::qemu_like().ram();
        let info = parse_pvh(SI, &reader(&ram)).unwrap();
        assert_eq!(info.loader, Loader::Pvh);
        assert_eq!(info.cmdline, "kiln.quiet -- hello");
        assert_eq!(info.rsdp, Some(0xf_5a40));
        assert_eq!(info.initrd, None);
        assert_eq!(info.module_count, 0);
        assert!(!info.truncated_regions);
        let regions: Vec<_> = info.regions().map(|r| (r.start, r.len, r.usable)).collect();
        assert_eq!(
            regions,
            [
                (0, 0x9fc00, true),
                (0x9fc00, 0x400, false),
                (0xf0000, 0x10000, false),
                (0x10_0000, 0x7ef_0000, true)
            ]
        );
        assert_eq!(info.usable_bytes(), 0x9fc00 + 0x7ef_0000);
        assert_eq!(info.regions().filter(|r| r.usable).count(), 2);
    }

    #[test]
    fn pvh_module_is_the_initrd() {
        let mut p = Pvh::qemu_like();
        p.modules = vec![(0x800_0000, 0x1234), (0x900_0000, 8)];
        let ram = p.ram();
        let info = parse_pvh(SI, &reader(&ram)).unwrap();
        assert_eq!(info.initrd, Some((0x800_0000, 0x1234)));
        assert_eq!(info.module_count, 2);
        // An empty module is no initrd.
        p.modules = vec![(0x800_0000, 0)];
        let ram = p.ram();
        assert_eq!(parse_pvh(SI, &reader(&ram)).unwrap().initrd, None);
    }

    #[test]
    fn pvh_version_0_and_absent_fields() {
        let p = Pvh {
            version: 0,
            cmdline: None,
            rsdp: 0,
            modules: vec![],
            memmap: vec![(0, 0x1000, 1)],
        };
        let ram = p.ram();
        let info = parse_pvh(SI, &reader(&ram)).unwrap();
        assert_eq!(info.cmdline, "");
        assert_eq!(info.rsdp, None);
        assert_eq!(info.regions().count(), 0);
        // Version 0 is 40 bytes long: it parses even when memory ends right after it.
        let info = parse_pvh(SI, &reader(&ram[..40])).unwrap();
        assert_eq!(info.cmdline, "");
    }

    #[test]
    fn pvh_drops_regions_beyond_capacity() {
        let mut p = Pvh::qemu_like();
        p.memmap = (0..MAX_REGIONS as u64 + 3)
            .map(|i| (i * 0x1000, 0x1000, 1))
            .collect();
        let ram = p.ram();
        let info = parse_pvh(SI, &reader(&ram)).unwrap();
        assert!(info.truncated_regions);
        assert_eq!(info.regions().count(), MAX_REGIONS);
        assert_eq!(
            info.region_slice()[MAX_REGIONS - 1].start,
            (MAX_REGIONS as u64 - 1) * 0x1000
        );
        // Zero-length entries are left out; a length that would overflow is clipped.
        p.memmap = vec![(0x1000, 0, 1), (u64::MAX - 0xfff, 0x10_0000, 2)];
        let ram = p.ram();
        let info = parse_pvh(SI, &reader(&ram)).unwrap();
        assert_eq!(
            info.region_slice(),
            [MemoryRegion {
                start: u64::MAX - 0xfff,
                len: 0xfff,
                usable: false
            }]
        );
        assert_eq!(info.region_slice()[0].end(), u64::MAX);
    }

    #[test]
    fn pvh_rejects_bad_input() {
        let ram = Pvh::qemu_like().ram();
        let mem = reader(&ram);
        let mut bad = ram.clone();
        bad[0] ^= 1;
        assert_eq!(
            parse_pvh(SI, &reader(&bad)).unwrap_err(),
            BootInfoError::BadMagic
        );
        assert!(matches!(
            parse_pvh(0, &mem),
            Err(BootInfoError::Unreadable { phys: 0, .. })
        ));
        assert!(matches!(
            parse_pvh(u64::MAX - 3, &mem),
            Err(BootInfoError::Unreadable { .. })
        ));
        // Version 1 but memory ends inside the structure.
        assert!(matches!(
            parse_pvh(SI, &reader(&ram[..50])),
            Err(BootInfoError::Unreadable { .. })
        ));
        // The memory map runs past the end of memory.
        let mut p = Pvh::qemu_like();
        p.memmap = vec![(0, 0x1000, 1); 3];
        let mut ram2 = p.ram();
        ram2.truncate((MEMMAP - BASE) as usize + 24 * 2 + 10);
        assert!(matches!(
            parse_pvh(SI, &reader(&ram2)),
            Err(BootInfoError::Unreadable { .. })
        ));
    }

    #[test]
    fn pvh_cmdline_checks() {
        let mut p = Pvh::qemu_like();
        p.memmap.clear(); // keep the long strings below from overlapping it
        p.cmdline = Some(b"caf\xc3\xa9\0");
        let ram = p.ram();
        assert_eq!(parse_pvh(SI, &reader(&ram)).unwrap().cmdline, "café");
        p.cmdline = Some(b"bad \xff\0");
        let ram = p.ram();
        assert_eq!(
            parse_pvh(SI, &reader(&ram)).unwrap_err(),
            BootInfoError::CmdlineNotUtf8
        );
        // Memory ends before the NUL.
        p.cmdline = Some(b"abc");
        let mut ram = p.ram();
        ram.truncate((CMDLINE - BASE) as usize + 3);
        assert!(matches!(
            parse_pvh(SI, &reader(&ram)),
            Err(BootInfoError::Unreadable { .. })
        ));
        // A string that ends exactly at the end of memory is fine.
        p.cmdline = Some(b"abc\0");
        let mut ram = p.ram();
        ram.truncate((CMDLINE - BASE) as usize + 4);
        assert_eq!(parse_pvh(SI, &reader(&ram)).unwrap().cmdline, "abc");
        // Too long.
        // Statics, not leaked boxes: Miri reports leaks.
        static LONG: [u8; MAX_CMDLINE + 1] = [b'a'; MAX_CMDLINE + 1];
        static EXACT: [u8; MAX_CMDLINE + 1] = {
            let mut s = [b'a'; MAX_CMDLINE + 1];
            s[MAX_CMDLINE] = 0;
            s
        };
        p.cmdline = Some(&LONG);
        let mut ram = p.ram();
        ram.push(0);
        assert_eq!(
            parse_pvh(SI, &reader(&ram)).unwrap_err(),
            BootInfoError::CmdlineUnterminated
        );
        p.cmdline = Some(&EXACT);
        let ram = p.ram();
        assert_eq!(
            parse_pvh(SI, &reader(&ram)).unwrap().cmdline.len(),
            MAX_CMDLINE
        );
    }

    // ---------------------------------------------------------- multiboot2

    const MBI: u64 = 0x2000;

    fn tag(kind: u32, data: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&(8 + data.len() as u32).to_le_bytes());
        t.extend_from_slice(data);
        while t.len() % 8 != 0 {
            t.push(0xee); // padding a loader may leave as anything
        }
        t
    }

    fn mmap_tag(entry_size: u32, entries: &[(u64, u64, u32)]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&entry_size.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        for &(base, len, kind) in entries {
            let mut e = Vec::new();
            e.extend_from_slice(&base.to_le_bytes());
            e.extend_from_slice(&len.to_le_bytes());
            e.extend_from_slice(&kind.to_le_bytes());
            e.resize(entry_size as usize, 0);
            d.extend_from_slice(&e);
        }
        tag(6, &d)
    }

    fn module_tag(start: u32, end: u32, name: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&start.to_le_bytes());
        d.extend_from_slice(&end.to_le_bytes());
        d.extend_from_slice(name);
        tag(3, &d)
    }

    /// Boot information from `tags` (the end tag is appended), placed at `MBI`.
    fn mbi(tags: &[Vec<u8>]) -> Vec<u8> {
        let mut body: Vec<u8> = tags.concat();
        body.extend_from_slice(&tag(0, &[]));
        let mut info = Vec::new();
        info.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
        info.extend_from_slice(&0u32.to_le_bytes());
        info.extend_from_slice(&body);
        let mut ram = Vec::new();
        put(&mut ram, MBI, &info);
        ram
    }

    fn grub_like() -> Vec<Vec<u8>> {
        vec![
            tag(1, b"kiln.boottime A=1 x\0"),
            tag(2, b"GRUB 2.06\0"),
            tag(4, &[0x7f, 0x02, 0, 0, 0x00, 0xfc, 0x1f, 0]),
            mmap_tag(
                24,
                &[
                    (0, 0x9fc00, 1),
                    (0x9fc00, 0x400, 2),
                    (0x10_0000, 0x7ee_0000, 1),
                    (0x7fe_0000, 0x2_0000, 3),
                ],
            ),
            module_tag(0x40_0000, 0x40_1000, b"initrd.cpio\0"),
            module_tag(0x50_0000, 0x50_0010, b"other\0"),
            tag(14, &[b'R'; 20]),
        ]
    }

    #[test]
    fn multiboot2_as_grub_passes_it() {
        let ram = mbi(&grub_like());
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        assert_eq!(info.loader, Loader::Multiboot2);
        assert_eq!(info.cmdline, "kiln.boottime A=1 x");
        assert_eq!(info.initrd, Some((0x40_0000, 0x1000)));
        assert_eq!(info.module_count, 2);
        let regions: Vec<_> = info.regions().map(|r| (r.start, r.len, r.usable)).collect();
        assert_eq!(
            regions,
            [
                (0, 0x9fc00, true),
                (0x9fc00, 0x400, false),
                (0x10_0000, 0x7ee_0000, true),
                (0x7fe_0000, 0x2_0000, false)
            ]
        );
        // The old RSDP tag is the last tag before the end: find its data address.
        let tags = grub_like();
        let acpi_offset: usize = 8 + tags[..6].iter().map(Vec::len).sum::<usize>();
        assert_eq!(info.rsdp, Some(MBI + acpi_offset as u64 + 8));
    }

    #[test]
    fn multiboot2_prefers_the_new_rsdp() {
        let mut tags = grub_like();
        tags.insert(0, tag(15, &[b'X'; 36]));
        let ram = mbi(&tags);
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        assert_eq!(info.rsdp, Some(MBI + 8 + 8));
    }

    #[test]
    fn multiboot2_minimal_and_fallbacks() {
        let ram = mbi(&[]);
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        assert_eq!(info.cmdline, "");
        assert_eq!(info.rsdp, None);
        assert_eq!(info.initrd, None);
        assert_eq!(info.regions().count(), 0);
        // Basic memory information stands in for a missing memory map.
        let ram = mbi(&[tag(4, &[0x80, 0x02, 0, 0, 0x00, 0x04, 0, 0])]);
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        let regions: Vec<_> = info.regions().map(|r| (r.start, r.len, r.usable)).collect();
        assert_eq!(
            regions,
            [(0, 640 * 1024, true), (0x10_0000, 1024 * 1024, true)]
        );
        // A larger entry size (a future entry version) is stepped over correctly.
        let ram = mbi(&[mmap_tag(32, &[(0x1000, 0x2000, 1), (0x5000, 0x1000, 2)])]);
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        let regions: Vec<_> = info.regions().map(|r| (r.start, r.len, r.usable)).collect();
        assert_eq!(regions, [(0x1000, 0x2000, true), (0x5000, 0x1000, false)]);
    }

    #[test]
    fn multiboot2_drops_regions_beyond_capacity() {
        let entries: Vec<_> = (0..MAX_REGIONS as u64 + 1)
            .map(|i| (i << 12, 0x1000, 1))
            .collect();
        let ram = mbi(&[mmap_tag(24, &entries)]);
        let info = parse_multiboot2(MBI, &reader(&ram)).unwrap();
        assert!(info.truncated_regions);
        assert_eq!(info.regions().count(), MAX_REGIONS);
    }

    #[test]
    fn multiboot2_rejects_bad_tags() {
        let mem_of = |tags: &[Vec<u8>]| parse_multiboot2(MBI, &reader(&mbi(tags))).map(|_| ());
        // A tag size below 8.
        let mut t = tag(1, b"x\0");
        t[4..8].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(mem_of(&[t]), Err(BootInfoError::BadTag { offset: 8 }));
        // A tag that runs past total_size.
        let mut t = tag(1, b"x\0");
        t[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(mem_of(&[t]), Err(BootInfoError::Truncated));
        // Memory-map entries smaller than the base layout.
        assert_eq!(
            mem_of(&[mmap_tag(16, &[(0, 1, 1)])]),
            Err(BootInfoError::BadTag { offset: 8 })
        );
        assert_eq!(
            mem_of(&[tag(6, &[])]),
            Err(BootInfoError::BadTag { offset: 8 })
        );
        // A module ending before it starts, or too short to hold its addresses.
        assert_eq!(
            mem_of(&[module_tag(0x2000, 0x1000, b"\0")]),
            Err(BootInfoError::BadTag { offset: 8 })
        );
        assert_eq!(
            mem_of(&[tag(3, &[1, 2, 3])]),
            Err(BootInfoError::BadTag { offset: 8 })
        );
        // Command line without NUL, or not UTF-8.
        assert_eq!(
            mem_of(&[tag(1, b"abc")]),
            Err(BootInfoError::CmdlineUnterminated)
        );
        assert_eq!(
            mem_of(&[tag(1, b"\xc3(\0")]),
            Err(BootInfoError::CmdlineNotUtf8)
        );
    }

    #[test]
    fn multiboot2_rejects_bad_headers() {
        let ram = mbi(&grub_like());
        // total_size below the header, or beyond memory.
        let mut bad = ram.clone();
        let at = (MBI - BASE) as usize;
        bad[at..at + 4].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(
            parse_multiboot2(MBI, &reader(&bad)).unwrap_err(),
            BootInfoError::Truncated
        );
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_multiboot2(MBI, &reader(&bad)),
            Err(BootInfoError::Unreadable { .. })
        ));
        // Every shorter total_size cuts the end tag off (or a tag in half).
        let total = u32::from_le_bytes(ram[at..at + 4].try_into().unwrap());
        for cut in 8..total {
            let mut short = ram.clone();
            short[at..at + 4].copy_from_slice(&cut.to_le_bytes());
            assert!(
                parse_multiboot2(MBI, &reader(&short)).is_err(),
                "total_size {cut}"
            );
        }
        // Every memory that ends early.
        for len in 0..ram.len() {
            assert!(
                parse_multiboot2(MBI, &reader(&ram[..len])).is_err(),
                "memory of {len} bytes"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x853c_49e6_748f_ea9bu64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let good_mb2 = mbi(&grub_like());
        let good_pvh = {
            let mut p = Pvh::qemu_like();
            p.modules = vec![(0x2000, 0x10)];
            p.ram()
        };
        for _ in 0..if cfg!(miri) { 40 } else { 3000 } {
            for good in [&good_mb2, &good_pvh] {
                let mut ram = good.clone();
                for _ in 0..(next() % 8) {
                    let at = (next() % ram.len() as u64) as usize;
                    ram[at] = next() as u8;
                }
                let mem = reader(&ram);
                if let Ok(info) = parse_multiboot2(MBI, &mem) {
                    assert!(info.regions().all(|r| r.start.checked_add(r.len).is_some()));
                }
                if let Ok(info) = parse_pvh(SI, &mem) {
                    assert!(info.regions().count() <= MAX_REGIONS);
                }
            }
        }
    }
}
