//! Packing a directory into a newc cpio archive — the format the runtime's VFS unpacks
//! (`runtime/src/fs/cpio.rs`) — as a file for `kiln run --files` (QEMU `-initrd`) or as an
//! object whose `.kiln_initrd` section `kiln_add_files` links into an image.
//!
//! Hand-written rather than the `cpio` crate: the format is 110-byte ASCII headers and 4-byte
//! padding, and we want what that crate does not promise — deterministic output (entries
//! sorted, inode numbers assigned in order, owner root), hard links written once with their
//! data, symbolic links kept as links, and a clear error for what cannot be packed.

use crate::{toolchain, Failure, Result};
use anyhow::Context;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// Appends newc members to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

/// One member's header fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Header {
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Appends one member. Fails if a field does not fit the format's 32 bits.
    pub fn member(&mut self, name: &[u8], h: Header, data: &[u8]) -> Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| {
            Failure::usage(format!(
                "{} is {} bytes: a cpio member holds at most 4 GiB",
                String::from_utf8_lossy(name),
                data.len()
            ))
        })?;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            h.ino,
            h.mode,
            h.uid,
            h.gid,
            h.nlink,
            h.mtime,
            size,
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name);
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        let trailer = Header {
            nlink: 1,
            ..Header::default()
        };
        // The trailer's fields are constants, so this cannot fail.
        let _ = self.member(b"TRAILER!!!", trailer, &[]);
        self.out
    }
}

/// Packs the tree under `dir` (not following symbolic links) into a newc archive: names
/// relative to `dir`, modes and modification times as on disk, owner root.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>> {
    let meta = fs::metadata(dir)
        .with_context(|| format!("cannot read {}: give an existing directory", dir.display()))?;
    if !meta.is_dir() {
        return Err(Failure::usage(format!("{} is not a directory", dir.display())).into());
    }
    let mut paths = Vec::new();
    collect(dir, PathBuf::new(), &mut paths)?;
    let mut w = Writer::new();
    let mut links: HashMap<(u64, u64), u32> = HashMap::new();
    for (next_ino, rel) in (1u32..).zip(paths) {
        let full = dir.join(&rel);
        let meta = fs::symlink_metadata(&full)
            .with_context(|| format!("cannot read {}", full.display()))?;
        let kind = meta.mode() & S_IFMT;
        let mut h = Header {
            ino: next_ino,
            mode: meta.mode(),
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: meta.mtime().clamp(0, i64::from(u32::MAX)) as u32,
        };
        let name = rel.as_os_str().as_encoded_bytes();
        let data = match kind {
            S_IFDIR => {
                h.nlink = 2;
                Vec::new()
            }
            S_IFLNK => fs::read_link(&full)
                .with_context(|| format!("cannot read the link {}", full.display()))?
                .into_os_string()
                .into_encoded_bytes(),
            S_IFREG if meta.nlink() > 1 => {
                h.nlink = meta.nlink().min(u64::from(u32::MAX)) as u32;
                match links.get(&(meta.dev(), meta.ino())) {
                    Some(&ino) => {
                        // A further name of a file already written: no data again.
                        h.ino = ino;
                        Vec::new()
                    }
                    None => {
                        links.insert((meta.dev(), meta.ino()), h.ino);
                        read(&full)?
                    }
                }
            }
            S_IFREG => read(&full)?,
            _ => {
                return Err(Failure::usage(format!(
                    "{} is a device, FIFO or socket: only files, directories and symbolic links can go into an image (the VM's /dev is built in)",
                    full.display()
                ))
                .into())
            }
        };
        w.member(name, h, &data)?;
    }
    Ok(w.finish())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every path below `base/rel`, sorted, parents before their contents.
fn collect(base: &Path, rel: PathBuf, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = base.join(&rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = rel.join(entry.file_name());
        out.push(path.clone());
        if entry.file_type()?.is_dir() {
            collect(base, path, out)?;
        }
    }
    Ok(())
}

/// Writes the archive of `dir` to `out`: a `.o` file becomes an object holding it in a
/// `.kiln_initrd` section (for linking into an image, next to a `.cpio` of the same
/// name); anything else is the archive itself.
pub fn pack(dir: &Path, out: &Path) -> Result<()> {
    let archive = pack_dir(dir)?;
    if out.extension().is_some_and(|e| e == "o") {
        let cpio = out.with_extension("cpio");
        write(&cpio, &archive)?;
        let asm = out.with_extension("S");
        write(&asm, assembly(&fs::canonicalize(&cpio)?)?.as_bytes())?;
        let clang = toolchain::clang()?;
        let status = Command::new(clang)
            .args(["--target=x86_64-linux-musl", "-c"])
            .arg(&asm)
            .arg("-o")
            .arg(out)
            .status()
            .with_context(|| format!("cannot run {}", clang.display()))?;
        if !status.success() {
            return Err(Failure::new(1, format!("assembling {} failed", asm.display())).into());
        }
        Ok(())
    } else {
        write(out, &archive)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Assembly that puts the file `cpio` into the `.kiln_initrd` section.
fn assembly(cpio: &Path) -> Result<String> {
    let path = cpio
        .to_str()
        .ok_or_else(|| Failure::usage(format!("{} is not valid UTF-8", cpio.display())))?;
    let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!(
        "\t.section .kiln_initrd,\"a\",@progbits\n\t.balign 16\n\t.incbin \"{quoted}\"\n\t.section .note.GNU-stack,\"\",@progbits\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal reader, to check the writer independently of the runtime's.
    fn members(a: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let field = |i: usize| {
                u32::from_str_radix(
                    std::str::from_utf8(&a[pos + 6 + 8 * i..pos + 14 + 8 * i]).unwrap(),
                    16,
                )
                .unwrap()
            };
            assert_eq!(&a[pos..pos + 6], b"070701");
            let (ino, mode, size, namesize) =
                (field(0), field(1), field(6) as usize, field(11) as usize);
            let name = String::from_utf8(a[pos + 110..pos + 110 + namesize - 1].to_vec()).unwrap();
            let data_at = (pos + 110 + namesize + 3) & !3;
            let data = a[data_at..data_at + size].to_vec();
            pos = (data_at + size + 3) & !3;
            if name == "TRAILER!!!" {
                assert_eq!(pos, a.len());
                return out;
            }
            out.push((name, ino, mode, data));
        }
    }

    #[test]
    fn packs_files_directories_links_and_hard_links() {
        let dir = std::env::temp_dir().join(format!("kiln-cpio-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc/sub")).unwrap();
        fs::write(dir.join("etc/hosts"), b"127.0.0.1 x\n").unwrap();
        fs::write(dir.join("b.txt"), b"bee").unwrap();
        fs::hard_link(dir.join("b.txt"), dir.join("c.txt")).unwrap();
        std::os::unix::fs::symlink("etc/hosts", dir.join("a-link")).unwrap();
        let archive = pack_dir(&dir).unwrap();
        let m = members(&archive);
        let names: Vec<_> = m.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            ["a-link", "b.txt", "c.txt", "etc", "etc/hosts", "etc/sub"]
        );
        assert_eq!(m[0].2 & S_IFMT, S_IFLNK);
        assert_eq!(m[0].3, b"etc/hosts");
        assert_eq!(m[1].3, b"bee");
        assert_eq!(m[1].1, m[2].1, "hard links share an inode number");
        assert!(m[2].3.is_empty(), "the data is written once");
        assert_eq!(m[3].2 & S_IFMT, S_IFDIR);
        assert_eq!(m[4].3, b"127.0.0.1 x\n");
        // Deterministic.
        assert_eq!(pack_dir(&dir).unwrap(), archive);
        fs::remove_dir_all(&dir).unwrap();
        assert!(pack_dir(&dir).is_err());
    }

    #[test]
    fn the_runtime_unpacks_what_pack_writes() {
        use kiln_runtime::fs::{cpio::unpack, Ctx, Timespec, Vfs, ROOT};
        let dir = std::env::temp_dir().join(format!("kiln-cpio-rt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/b/f"), vec![b'x'; 5000]).unwrap();
        fs::hard_link(dir.join("a/b/f"), dir.join("g")).unwrap();
        std::os::unix::fs::symlink("a/b", dir.join("l")).unwrap();
        let archive = pack_dir(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let ctx = Ctx::at(Timespec::default());
        let mut vfs = Vfs::new(1 << 20, Timespec::default());
        let report = unpack(&mut vfs, &archive, &ctx);
        assert_eq!((report.files, report.dirs, report.symlinks), (2, 2, 1));
        assert_eq!(report.skipped_count, 0);
        assert_eq!(report.error, None);
        let f = vfs.lookup(&ctx, ROOT, b"/l/f", true).unwrap();
        assert_eq!(vfs.lookup(&ctx, ROOT, b"/g", true), Ok(f));
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.size, st.nlink), (5000, 2));
    }

    #[test]
    fn assembly_quotes_the_path() {
        let asm = assembly(Path::new("/a \"b\"/x.cpio")).unwrap();
        assert!(asm.contains(".incbin \"/a \\\"b\\\"/x.cpio\""), "{asm}");
        assert!(asm.contains(".section .kiln_initrd,\"a\",@progbits"));
    }
}
