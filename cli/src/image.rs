//! What makes a file a Kiln image, and the smallest image there is (the KVM probe).
//!
//! A Kiln image is an ELF64 whose program headers include a `PT_NOTE` holding the PVH entry
//! note: owner "Xen", type 18 (`XEN_ELFNOTE_PHYS32_ENTRY`). That note is what lets
//! `qemu -kernel` boot it.

use crate::{Failure, Result};
use object::elf::{FileHeader64, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;
use std::path::Path;

/// `XEN_ELFNOTE_PHYS32_ENTRY`.
pub const PVH_NOTE_TYPE: u32 = 18;
pub const PVH_NOTE_OWNER: &[u8] = b"Xen";

/// Why a file is not a bootable image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotImage {
    Missing,
    NotElf,
    NoPvhNote,
}

/// Classifies the bytes of a file: `Ok(())` for an ELF64 with a PVH note.
pub fn classify(bytes: &[u8]) -> std::result::Result<(), NotImage> {
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(NotImage::NotElf);
    }
    let header = FileHeader64::<LittleEndian>::parse(bytes).map_err(|_| NotImage::NotElf)?;
    let endian = header.endian().map_err(|_| NotImage::NotElf)?;
    let phdrs = header
        .program_headers(endian, bytes)
        .map_err(|_| NotImage::NotElf)?;
    for phdr in phdrs.iter().filter(|p| p.p_type(endian) == PT_NOTE) {
        let Ok(Some(mut notes)) = phdr.notes(endian, bytes) else {
            continue;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == PVH_NOTE_OWNER && note.n_type(endian) == PVH_NOTE_TYPE {
                return Ok(());
            }
        }
    }
    Err(NotImage::NoPvhNote)
}

/// True when `path` is a Kiln image (used to find the images a build produced).
pub fn is_image(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| classify(&bytes).is_ok())
}

/// Checks `path` before handing it to QEMU; the error says what to do.
pub fn check(path: &Path) -> Result<()> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(_) if !path.exists() => {
            return Err(explain(NotImage::Missing, &shown.to_string()).into())
        }
        Err(e) => return Err(Failure::usage(format!("cannot read {shown}: {e}")).into()),
    };
    classify(&bytes).map_err(|why| explain(why, &shown.to_string()).into())
}

fn explain(why: NotImage, path: &str) -> Failure {
    Failure::usage(match why {
        NotImage::Missing => format!("{path} does not exist; give an image file or a project directory"),
        NotImage::NotElf => format!("{path} is neither a Kiln image nor a disk or ISO image; give an image built by `kiln build` or `kiln image`"),
        NotImage::NoPvhNote => format!(
            "{path} is an ELF but not a Kiln image (no PVH note); link it with `kiln link` or build it with `kiln build`"
        ),
    })
}

/// Physical (= virtual) address the probe image loads at.
const PROBE_BASE: u64 = 0x10_0000;

/// 32-bit code the probe runs (paging off, as PVH enters): enable SSE, execute SSE, then
/// write 0x21 to isa-debug-exit, so QEMU exits with code (0x21 << 1) | 1 = 67.
const PROBE_CODE: &[u8] = &[
    0x0f, 0x20, 0xc0, // mov %cr0,%eax
    0x83, 0xe0, 0xfb, // and $~4,%eax        (CR0.EM off)
    0x83, 0xc8, 0x02, // or $2,%eax          (CR0.MP on)
    0x0f, 0x22, 0xc0, // mov %eax,%cr0
    0x0f, 0x20, 0xe0, // mov %cr4,%eax
    0x0d, 0x00, 0x06, 0x00, 0x00, // or $0x600,%eax  (CR4.OSFXSR | CR4.OSXMMEXCPT)
    0x0f, 0x22, 0xe0, // mov %eax,%cr4
    0x0f, 0x57, 0xc0, // xorps %xmm0,%xmm0
    0x0f, 0x58, 0xc0, // addps %xmm0,%xmm0
    0xb8, 0x21, 0x00, 0x00, 0x00, // mov $0x21,%eax
    0xe7, 0xf4, // out %eax,$0xf4
    0xf4, // 1: hlt
    0xeb, 0xfd, // jmp 1b
    0x90, 0x90, 0x90, 0x90, // padding
];

/// The exit code QEMU reports when the probe ran to its end.
pub const PROBE_EXIT_CODE: i32 = 67;

/// A minimal ELF64 image: one PT_LOAD holding the whole file at [`PROBE_BASE`], one PT_NOTE
/// with the PVH entry note, and [`PROBE_CODE`].
pub fn probe_image() -> Vec<u8> {
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    let note_off = EHDR + 2 * PHDR;
    // namesz, descsz, type, "Xen\0", u32 entry, then 4 zero bytes: QEMU 7.2 reads the
    // descriptor as a native word, so the bytes after the u32 must be zero.
    let note_len = 12 + 4 + 4;
    let code_off = note_off + note_len + 4;
    let entry = PROBE_BASE + code_off as u64;
    let total = code_off + PROBE_CODE.len();

    let mut f = Vec::with_capacity(total);
    // ELF header.
    f.extend_from_slice(b"\x7fELF");
    f.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, version 1, SysV ABI
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [EHDR, PHDR, 2, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        f.extend_from_slice(&(half as u16).to_le_bytes());
    }
    // PT_LOAD, R+X, the whole file.
    push_phdr(&mut f, 1, 5, 0, PROBE_BASE, total as u64, 0x1000);
    // PT_NOTE.
    push_phdr(
        &mut f,
        PT_NOTE,
        4,
        note_off as u64,
        PROBE_BASE + note_off as u64,
        note_len as u64,
        4,
    );
    // The PVH note.
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&PVH_NOTE_TYPE.to_le_bytes());
    f.extend_from_slice(b"Xen\0");
    f.extend_from_slice(&(entry as u32).to_le_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(PROBE_CODE);
    debug_assert_eq!(f.len(), total);
    f
}

fn push_phdr(
    f: &mut Vec<u8>,
    kind: u32,
    flags: u32,
    offset: u64,
    addr: u64,
    size: u64,
    align: u64,
) {
    f.extend_from_slice(&kind.to_le_bytes());
    f.extend_from_slice(&flags.to_le_bytes());
    for word in [offset, addr, addr, size, size, align] {
        f.extend_from_slice(&word.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_is_an_image() {
        assert_eq!(classify(&probe_image()), Ok(()));
    }

    #[test]
    fn non_images_are_told_apart() {
        assert_eq!(classify(b"#!/bin/sh\n"), Err(NotImage::NotElf));
        assert_eq!(classify(b""), Err(NotImage::NotElf));
        let mut truncated = probe_image();
        truncated.truncate(70);
        assert_eq!(classify(&truncated), Err(NotImage::NotElf));
        // The same file with the note's type changed is an ELF but not an image.
        let mut other_note = probe_image();
        let type_at = 64 + 2 * 56 + 8;
        other_note[type_at] = 19;
        assert_eq!(classify(&other_note), Err(NotImage::NoPvhNote));
    }

    #[test]
    fn host_binary_is_not_an_image() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(
            classify(&std::fs::read(exe).unwrap()),
            Err(NotImage::NoPvhNote)
        );
    }
}
