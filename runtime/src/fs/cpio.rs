//! The cpio "newc" archive format (what `cpio -H newc` and Linux's initramfs use), read
//! without copying, and unpacked into a [`Vfs`].
//!
//! Each member is a 110-byte ASCII header — the magic `070701` (or `070702`, with a
//! checksum we ignore) and 13 fields of 8 hex digits: ino, mode, uid, gid, nlink, mtime,
//! filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check — then the name
//! (`namesize` bytes with its NUL) padded to a multiple of 4, then the data padded to a
//! multiple of 4. The member named `TRAILER!!!` ends an archive; as with Linux's initramfs,
//! NUL padding and further archives may follow it.
//!
//! [`Archive`] checks every length against the input and never panics on any input (a fuzz
//! target holds it to that); a malformed member ends the walk with an error.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use super::consts::*;
use super::node::{Data, Dir, Kind};
use super::{Ctx, Ino, Timespec, Vfs, ROOT};
use crate::errno::Errno;

/// Bytes of a member header.
pub const HEADER_LEN: usize = 110;
/// The name of the member that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";

/// Why an archive was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CpioError {
    /// A member does not start with `070701` or `070702` (offset of the member).
    BadMagic(usize),
    /// A header field is not 8 hex digits (offset of the member).
    BadField(usize),
    /// A name is empty or lacks its terminating NUL (offset of the member).
    BadName(usize),
    /// The input ends inside a member, or before a trailer (offset of the member).
    Truncated(usize),
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::BadMagic(at) => write!(f, "not a newc cpio member at byte {at}"),
            CpioError::BadField(at) => write!(f, "bad header field in the member at byte {at}"),
            CpioError::BadName(at) => write!(f, "bad name in the member at byte {at}"),
            CpioError::Truncated(at) => write!(f, "archive truncated in the member at byte {at}"),
        }
    }
}

/// One archive member.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Entry<'a> {
    /// The name as stored (without its NUL), e.g. `./etc/hosts`.
    pub name: &'a [u8],
    pub ino: u32,
    /// File type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub dev: (u32, u32),
    pub rdev: (u32, u32),
    /// The contents: a file's bytes, a symbolic link's target.
    pub data: &'a [u8],
}

/// The members of a newc archive, in order, up to the last trailer.
#[derive(Clone, Debug)]
pub struct Archive<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Archive<'a> {
    pub fn new(data: &'a [u8]) -> Archive<'a> {
        Archive {
            data,
            pos: 0,
            done: data.is_empty(),
        }
    }

    fn member(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let at = self.pos;
        let header = self
            .data
            .get(at..at + HEADER_LEN)
            .ok_or(CpioError::Truncated(at))?;
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return Err(CpioError::BadMagic(at));
        }
        let mut fields = [0u32; 13];
        for (i, field) in fields.iter_mut().enumerate() {
            let hex = &header[6 + 8 * i..14 + 8 * i];
            *field = parse_hex(hex).ok_or(CpioError::BadField(at))?;
        }
        let [ino, mode, uid, gid, nlink, mtime, size, dmaj, dmin, rmaj, rmin, namesize, _] = fields;
        let namesize = namesize as usize;
        let name_start = at + HEADER_LEN;
        let raw_name = name_start
            .checked_add(namesize)
            .and_then(|end| self.data.get(name_start..end))
            .ok_or(CpioError::Truncated(at))?;
        let (&nul, name) = raw_name.split_last().ok_or(CpioError::BadName(at))?;
        if nul != 0 || name.is_empty() || name.contains(&0) {
            return Err(CpioError::BadName(at));
        }
        let data_start = align4(name_start + namesize);
        let data = data_start
            .checked_add(size as usize)
            .and_then(|end| self.data.get(data_start..end))
            .ok_or(CpioError::Truncated(at))?;
        self.pos = align4(data_start + data.len());
        if name == TRAILER {
            return Ok(None);
        }
        Ok(Some(Entry {
            name,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            dev: (dmaj, dmin),
            rdev: (rmaj, rmin),
            data,
        }))
    }
}

impl<'a> Iterator for Archive<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.member() {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => {
                    // After a trailer: NUL padding, then the end or another archive.
                    let rest = self.data.get(self.pos..).unwrap_or(&[]);
                    let zeros = rest.iter().take_while(|&&b| b == 0).count();
                    self.pos += zeros & !3;
                    if self.pos >= self.data.len() || zeros == rest.len() {
                        self.done = true;
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn parse_hex(hex: &[u8]) -> Option<u32> {
    hex.iter().try_fold(0u32, |acc, &b| {
        let digit = (b as char).to_digit(16)?;
        Some(acc << 4 | digit)
    })
}

/// How many members an unpack created, and which it skipped and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    /// Members not unpacked: (name, reason); at most [`Report::MAX_SKIPPED`] are kept.
    pub skipped: Vec<(Vec<u8>, Skip)>,
    /// All skipped members, also those beyond the list.
    pub skipped_count: usize,
    /// A malformed member ended the archive early.
    pub error: Option<CpioError>,
}

impl Report {
    pub const MAX_SKIPPED: usize = 8;

    fn skip(&mut self, name: &[u8], why: Skip) {
        self.skipped_count += 1;
        if self.skipped.len() < Self::MAX_SKIPPED {
            self.skipped.push((name.to_vec(), why));
        }
    }
}

/// Why a member was not unpacked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Skip {
    /// Device nodes, FIFOs and sockets in archives are not supported (`/dev` is built in).
    Special,
    /// The file system refused it (e.g. a directory over a file, a `..` component, no
    /// memory).
    Refused(Errno),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Special => f.write_str("device nodes, FIFOs and sockets are not supported"),
            Skip::Refused(e) => f.write_str(e.name()),
        }
    }
}

/// Unpacks `archive` into `vfs`: directories, regular files (their bytes stay in the
/// archive until written: copy-on-write), symbolic links and hard links, with their modes,
/// owners and modification times. Later members replace earlier files of the same name; an
/// archive passed later (the initrd after the image's) overrides the earlier one the same way.
pub fn unpack<'img>(vfs: &mut Vfs<'img>, archive: &'img [u8], ctx: &Ctx<'_>) -> Report {
    let mut report = Report::default();
    // Hard links: (dev, ino) of a multiply-linked member → the inode made for it.
    let mut links: BTreeMap<(u32, u32, u32), Ino> = BTreeMap::new();
    for entry in Archive::new(archive) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                report.error = Some(e);
                break;
            }
        };
        let path = strip_prefix(entry.name);
        let perm = entry.mode & 0o7777;
        let owner = (entry.uid, entry.gid);
        let mtime = Timespec {
            sec: i64::from(entry.mtime),
            nsec: 0,
        };
        let result = match entry.mode & S_IFMT {
            S_IFDIR => vfs
                .install(ctx, path, Kind::Dir(Dir::new(ROOT)), perm, owner, mtime)
                .map(|_| report.dirs += 1),
            S_IFLNK => vfs
                .install(
                    ctx,
                    path,
                    Kind::Symlink(entry.data.into()),
                    0o777,
                    owner,
                    mtime,
                )
                .map(|_| report.symlinks += 1),
            S_IFREG => {
                let key = (entry.dev.0, entry.dev.1, entry.ino);
                match links.get(&key) {
                    Some(&ino) if entry.nlink > 1 => {
                        vfs.link_ino(ctx, ino, ROOT, path).and_then(|()| {
                            if entry.data.is_empty() {
                                Ok(())
                            } else {
                                vfs.set_image_data(ino, entry.data)
                            }
                        })
                    }
                    _ => {
                        let kind = Kind::File(Data::Image(entry.data));
                        vfs.install(ctx, path, kind, perm, owner, mtime).map(|ino| {
                            if entry.nlink > 1 {
                                links.insert(key, ino);
                            }
                        })
                    }
                }
                .map(|()| report.files += 1)
            }
            _ => {
                report.skip(entry.name, Skip::Special);
                continue;
            }
        };
        if let Err(e) = result {
            report.skip(entry.name, Skip::Refused(e));
        }
    }
    report
}

/// A member name as a path from the root: `./a/b`, `/a/b` and `a/b` are all `a/b`; `.` is
/// the root.
fn strip_prefix(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else if name == b"." {
            return b"";
        } else {
            return name;
        }
    }
}

/// Writes a newc archive (for tests; the `kiln` command has its own writer).
#[cfg(test)]
pub(crate) fn write_test_archive(members: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |name: &str, mode: u32, nlink: u32, ino: u32, data: &[u8]| {
        let header = alloc::format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            ino,
            mode,
            0,
            0,
            nlink,
            1_700_000_000u32,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for (i, &(name, mode, data)) in members.iter().enumerate() {
        // A mode with bit 30 set marks a hard link pair sharing ino 999.
        if mode & (1 << 30) != 0 {
            put(name, mode & !(1 << 30), 2, 999, data);
        } else {
            put(name, mode, 1, i as u32 + 1, data);
        }
    }
    put("TRAILER!!!", 0, 1, 0, &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FileType;

    fn ctx() -> Ctx<'static> {
        Ctx::at(Timespec { sec: 5, nsec: 0 })
    }

    #[test]
    fn parses_members_and_stops_at_the_trailer() {
        let a = write_test_archive(&[
            (".", 0o40755, b""),
            ("./etc", 0o40700, b""),
            ("./etc/motd", 0o100644, b"hello\n"),
            ("lib", 0o120777, b"usr/lib"),
        ]);
        let entries: Vec<_> = Archive::new(&a).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[2].name, b"./etc/motd");
        assert_eq!(entries[2].data, b"hello\n");
        assert_eq!(entries[2].mode, 0o100644);
        assert_eq!(entries[2].mtime, 1_700_000_000);
        assert_eq!(entries[3].data, b"usr/lib");
    }

    #[test]
    fn concatenated_archives_and_padding_are_read() {
        let mut a = write_test_archive(&[("a", 0o100644, b"1")]);
        a.extend_from_slice(&[0; 512]);
        a.extend(write_test_archive(&[("b", 0o100644, b"22")]));
        a.extend_from_slice(&[0; 3]);
        let names: Vec<_> = Archive::new(&a).map(|e| e.unwrap().name).collect();
        assert_eq!(names, [&b"a"[..], &b"b"[..]]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let a = write_test_archive(&[("file", 0o100644, b"contents")]);
        for cut in 0..a.len() - 1 {
            // Every truncation yields an error or fewer members, never a panic.
            let _ = Archive::new(&a[..cut]).count();
        }
        assert_eq!(
            Archive::new(&a[..50]).next(),
            Some(Err(CpioError::Truncated(0)))
        );
        let mut bad = a.clone();
        bad[0] = b'9';
        assert_eq!(Archive::new(&bad).next(), Some(Err(CpioError::BadMagic(0))));
        let mut bad = a.clone();
        bad[20] = b'g';
        assert_eq!(Archive::new(&bad).next(), Some(Err(CpioError::BadField(0))));
        // A name size of zero, and a huge file size.
        let mut bad = a.clone();
        bad[94..102].copy_from_slice(b"00000000");
        assert_eq!(Archive::new(&bad).next(), Some(Err(CpioError::BadName(0))));
        let mut bad = a.clone();
        bad[54..62].copy_from_slice(b"ffffffff");
        assert_eq!(
            Archive::new(&bad).next(),
            Some(Err(CpioError::Truncated(0)))
        );
        // No trailer at all.
        let no_trailer = &a[..a.len() - 124];
        let items: Vec<_> = Archive::new(no_trailer).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(CpioError::Truncated(_))));
    }

    #[test]
    fn unpacks_into_the_vfs_copy_on_write() {
        let archive = write_test_archive(&[
            ("./etc", 0o40750, b""),
            ("./etc/motd", 0o100640, b"hello\n"),
            ("./usr/lib/libx.so", 0o100755, b"ELF"),
            ("./lib", 0o120777, b"usr/lib"),
            ("./dev/sda", 0o60600, b""),
            ("./a", 0o100644 | 1 << 30, b""),
            ("./b", 0o100644 | 1 << 30, b"shared"),
            ("./x/../y", 0o100644, b""),
        ]);
        let mut vfs = Vfs::new(1 << 20, Timespec::default());
        let c = ctx();
        let report = unpack(&mut vfs, &archive, &c);
        assert_eq!(report.files, 4);
        assert_eq!(report.dirs, 1);
        assert_eq!(report.symlinks, 1);
        assert_eq!(report.skipped_count, 2);
        assert_eq!(report.skipped[0], (b"./dev/sda".to_vec(), Skip::Special));
        assert_eq!(report.error, None);

        let motd = vfs.lookup(&c, ROOT, b"/etc/motd", true).unwrap();
        let st = vfs.stat(motd).unwrap();
        assert_eq!(st.mode, S_IFREG | 0o640);
        assert_eq!(st.size, 6);
        assert_eq!(st.mtime.sec, 1_700_000_000);
        assert_eq!(
            vfs.stat(vfs.lookup(&c, ROOT, b"/etc", true).unwrap())
                .unwrap()
                .mode,
            S_IFDIR | 0o750
        );
        // The missing parent /usr/lib was made; the link leads through it.
        let lib = vfs.lookup(&c, ROOT, b"/lib/libx.so", true).unwrap();
        assert_eq!(vfs.file_type(lib), Ok(FileType::Regular));
        // Hard links share one inode with the data of the last member.
        let a = vfs.lookup(&c, ROOT, b"/a", true).unwrap();
        assert_eq!(a, vfs.lookup(&c, ROOT, b"/b", true).unwrap());
        assert_eq!(vfs.stat(a).unwrap().nlink, 2);
        let mut buf = [0u8; 16];
        assert_eq!(vfs.read_at(a, 0, &mut buf), Ok(6));
        // Archive bytes cost nothing until written, then are copied.
        let before = vfs.usage().0;
        assert_eq!(vfs.write_at(&c, motd, 0, b"J"), Ok(1));
        assert!(vfs.usage().0 >= before + crate::fs::PAGE_SIZE as u64);
        assert_eq!(vfs.read_at(motd, 0, &mut buf), Ok(6));
        assert_eq!(&buf[..6], b"Jello\n");
        assert_eq!(&archive[..6], b"070701");
        assert!(archive.windows(6).any(|w| w == b"hello\n"));
    }

    #[test]
    fn a_later_archive_replaces_files_and_merges_directories() {
        let first = write_test_archive(&[
            ("etc/hosts", 0o100644, b"old"),
            ("etc/keep", 0o100644, b"k"),
        ]);
        let second = write_test_archive(&[("etc", 0o40755, b""), ("etc/hosts", 0o100600, b"new")]);
        let mut vfs = Vfs::new(1 << 20, Timespec::default());
        let c = ctx();
        unpack(&mut vfs, &first, &c);
        let report = unpack(&mut vfs, &second, &c);
        assert_eq!(report.skipped_count, 0);
        let hosts = vfs.lookup(&c, ROOT, b"etc/hosts", true).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(vfs.read_at(hosts, 0, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"new");
        assert!(vfs.lookup(&c, ROOT, b"etc/keep", true).is_ok());
    }
}
