//! The running program's one file system: built at boot from the standard tree, the image's
//! archive and the initrd, and kept behind one lock for the syscall layer.

use alloc::vec::Vec;
use core::fmt;
use spin::Mutex;

use super::cpio::{self, Report};
use super::{tree, Ctx, FileType, Ino, Stat, Timespec, Vfs, ROOT};

/// The file system, once [`init`] has run.
pub static VFS: Mutex<Option<Vfs<'static>>> = Mutex::new(None);

/// What the kernel hands over at boot.
#[derive(Debug, Clone, Copy)]
pub struct BootFiles<'a> {
    /// The archive linked into the image (`.kiln_initrd`; empty if none).
    pub image: &'static [u8],
    /// The archive the loader passed as the initrd (empty if none).
    pub initrd: &'static [u8],
    /// What `/proc/self/exe` points to.
    pub exe: &'a [u8],
    /// Name servers for `/etc/resolv.conf` (addresses as text).
    pub nameservers: &'a [&'a str],
    pub now: Timespec,
    /// Bytes of memory the file system may use.
    pub limit: u64,
}

/// Builds the file system into [`VFS`]; `log` receives one line per problem (a skipped
/// member, a malformed archive) and, with `verbose`, a summary and a listing.
pub fn init(files: &BootFiles<'_>, verbose: bool, log: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let vfs = build(files, verbose, log);
    *VFS.lock() = Some(vfs);
}

/// Rewrites `/etc/resolv.conf` for the network's current name servers (addresses as text),
/// unless the program's own archive brought that file. Does nothing before [`init`].
pub fn set_nameservers(nameservers: &[&str], now: Timespec) -> Result<bool, crate::errno::Errno> {
    let mut guard = VFS.lock();
    let Some(vfs) = guard.as_mut() else {
        return Ok(false);
    };
    tree::refresh_resolv_conf(vfs, &Ctx::at(now), nameservers)
}

/// [`init`] without the global: the tree for `files`.
pub fn build(
    files: &BootFiles<'_>,
    verbose: bool,
    log: &mut dyn FnMut(fmt::Arguments<'_>),
) -> Vfs<'static> {
    let ctx = Ctx::at(files.now);
    let mut vfs = Vfs::new(files.limit, files.now);
    if let Err(e) = tree::standard(&mut vfs, &ctx, files.exe) {
        log(format_args!(
            "files: cannot build /dev and /proc: {}",
            e.name()
        ));
    }
    for (what, archive) in [("image", files.image), ("initrd", files.initrd)] {
        if archive.is_empty() {
            continue;
        }
        let report = cpio::unpack(&mut vfs, archive, &ctx);
        describe(what, &report, verbose, log);
    }
    if let Err(e) = tree::etc(&mut vfs, &ctx, files.nameservers) {
        log(format_args!("files: cannot generate /etc: {}", e.name()));
    }
    if verbose {
        let (used, limit) = vfs.usage();
        log(format_args!(
            "files: {} KiB of {} KiB in use",
            used / 1024,
            limit / 1024
        ));
        for (path, st) in list(&vfs, &ctx) {
            log(format_args!(
                "files: {:06o} {:>9} {}",
                st.mode,
                st.size,
                Bytes(&path)
            ));
        }
    }
    vfs
}

fn describe(what: &str, r: &Report, verbose: bool, log: &mut dyn FnMut(fmt::Arguments<'_>)) {
    if verbose {
        log(format_args!(
            "files: the {what} archive: {} files, {} directories, {} links",
            r.files, r.dirs, r.symlinks
        ));
    }
    for (name, why) in &r.skipped {
        log(format_args!(
            "files: the {what} archive: skipped {}: {}",
            Bytes(name),
            why
        ));
    }
    if r.skipped_count > r.skipped.len() {
        log(format_args!(
            "files: the {what} archive: skipped {} more",
            r.skipped_count - r.skipped.len()
        ));
    }
    if let Some(e) = r.error {
        log(format_args!(
            "files: the {what} archive is malformed ({e}): the rest of it is ignored"
        ));
    }
}

/// Every path under the root except `/proc`, depth first in directory order, with its
/// `lstat`.
pub fn list(vfs: &Vfs<'_>, ctx: &Ctx<'_>) -> Vec<(Vec<u8>, Stat)> {
    let mut out = Vec::new();
    let mut stack: Vec<(Vec<u8>, Ino)> = alloc::vec![(Vec::new(), ROOT)];
    while let Some((prefix, dir)) = stack.pop() {
        let mut children = Vec::new();
        let mut cookie = 0;
        let mut buf = [0u8; 1024];
        while let Ok((n, next)) = vfs.getdents(ctx, dir, cookie, &mut buf) {
            if n == 0 {
                break;
            }
            for rec in super::dirent::parse(&buf[..n]) {
                if rec.name != b"." && rec.name != b".." {
                    children.push(rec.name.to_vec());
                }
            }
            cookie = next;
        }
        for name in children.into_iter().rev() {
            let mut path = prefix.clone();
            path.push(b'/');
            path.extend_from_slice(&name);
            if path == b"/proc" {
                continue;
            }
            let Ok(st) = vfs.stat_at(ctx, dir, &name, false) else {
                continue;
            };
            if vfs.file_type(st.ino) == Ok(FileType::Directory) {
                stack.push((path.clone(), st.ino));
            }
            out.push((path, st));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Bytes shown as text, other bytes as `\xNN`.
struct Bytes<'a>(&'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn boot_builds_the_tree_and_reports_problems() {
        let image: &'static [u8] = cpio::write_test_archive(&[
            ("data/a.txt", 0o100644, b"from the image"),
            ("etc/hosts", 0o100644, b"127.0.0.1 mine\n"),
        ])
        .leak();
        let mut initrd = cpio::write_test_archive(&[
            ("data/a.txt", 0o100600, b"from the initrd"),
            ("dev/sda", 0o60600, b""),
        ]);
        initrd.truncate(initrd.len() - 20);
        let initrd: &'static [u8] = initrd.leak();
        let files = BootFiles {
            image,
            initrd,
            exe: b"/app",
            nameservers: &["10.0.2.3"],
            now: Timespec { sec: 9, nsec: 0 },
            limit: 1 << 20,
        };
        let mut lines = Vec::new();
        let vfs = build(&files, true, &mut |args| {
            lines.push(alloc::format!("{args}"))
        });
        let ctx = Ctx::at(files.now);
        let a = vfs.lookup(&ctx, ROOT, b"/data/a.txt", true).unwrap();
        let mut buf = [0u8; 32];
        let n = vfs.read_at(a, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"from the initrd");
        let hosts = vfs.lookup(&ctx, ROOT, b"/etc/hosts", true).unwrap();
        let n = vfs.read_at(hosts, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"127.0.0.1 mine\n");
        let text: String = lines.join("\n");
        assert!(
            text.contains("files: the image archive: 2 files, 0 directories, 0 links"),
            "{text}"
        );
        assert!(text.contains("skipped dev/sda: device nodes"), "{text}");
        assert!(text.contains("the initrd archive is malformed"), "{text}");
        assert!(
            text.contains("files: 100600        15 /data/a.txt"),
            "{text}"
        );
        assert!(text.contains(" /dev/null"), "{text}");
        assert!(!text.contains("/proc"), "{text}");
    }
}
