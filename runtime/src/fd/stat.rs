//! `struct stat` as the syscall layer returns it, and its x86-64 Linux byte layouts:
//! `struct stat` and `struct statx`.
#![forbid(unsafe_code)]

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

/// A timestamp: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// The size of x86-64 Linux's `struct stat`.
pub const LINUX_STAT_SIZE: usize = 144;

/// Device numbers as Linux encodes them (`makedev`).
pub const fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

impl Stat {
    /// A character device node (mode rw-rw-rw-).
    pub fn char_device(major: u64, minor: u64, ino: u64) -> Stat {
        Stat {
            dev: 5,
            ino,
            nlink: 1,
            mode: S_IFCHR | 0o666,
            rdev: makedev(major, minor),
            blksize: 4096,
            ..Stat::default()
        }
    }

    /// An anonymous object (pipe, socket, eventfd, epoll) of type `kind`.
    pub fn anonymous(kind: u32, ino: u64) -> Stat {
        Stat {
            dev: 0x0d,
            ino,
            nlink: 1,
            mode: kind | 0o600,
            blksize: 4096,
            ..Stat::default()
        }
    }

    /// The x86-64 Linux layout (`struct stat` of `<asm/stat.h>`, which musl's matches).
    pub fn to_linux(&self) -> [u8; LINUX_STAT_SIZE] {
        let mut out = [0u8; LINUX_STAT_SIZE];
        let mut put = |at: usize, v: &[u8]| out[at..at + v.len()].copy_from_slice(v);
        put(0, &self.dev.to_ne_bytes());
        put(8, &self.ino.to_ne_bytes());
        put(16, &self.nlink.to_ne_bytes());
        put(24, &self.mode.to_ne_bytes());
        put(28, &self.uid.to_ne_bytes());
        put(32, &self.gid.to_ne_bytes());
        put(40, &self.rdev.to_ne_bytes());
        put(48, &self.size.to_ne_bytes());
        put(56, &self.blksize.to_ne_bytes());
        put(64, &self.blocks.to_ne_bytes());
        for (i, t) in [self.atime, self.mtime, self.ctime].iter().enumerate() {
            put(72 + i * 16, &t.sec.to_ne_bytes());
            put(80 + i * 16, &t.nsec.to_ne_bytes());
        }
        out
    }
}

/// The size of Linux's `struct statx` (`<linux/stat.h>`).
pub const LINUX_STATX_SIZE: usize = 256;

/// `stx_mask` bits: `STATX_BASIC_STATS` (type, mode, nlink, uid, gid, atime, mtime, ctime,
/// ino, size, blocks) and `STATX_MNT_ID`, what Linux's tmpfs reports.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_MNT_ID: u32 = 0x1000;
/// The mount id `statx` reports: one file system.
pub const MNT_ID: u64 = 1;

/// A device number's major part (glibc's and musl's `major`).
pub const fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

/// A device number's minor part (glibc's and musl's `minor`).
pub const fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

impl Stat {
    /// The `struct statx` layout of `<linux/stat.h>`; no birth time, no attributes, no
    /// direct-I/O alignment (their fields are zero and their mask bits clear).
    pub fn to_statx(&self) -> [u8; LINUX_STATX_SIZE] {
        let mut out = [0u8; LINUX_STATX_SIZE];
        let mut put = |at: usize, v: &[u8]| out[at..at + v.len()].copy_from_slice(v);
        put(0, &(STATX_BASIC_STATS | STATX_MNT_ID).to_ne_bytes());
        put(4, &(self.blksize as u32).to_ne_bytes());
        put(16, &(self.nlink as u32).to_ne_bytes());
        put(20, &self.uid.to_ne_bytes());
        put(24, &self.gid.to_ne_bytes());
        put(28, &(self.mode as u16).to_ne_bytes());
        put(32, &self.ino.to_ne_bytes());
        put(40, &self.size.to_ne_bytes());
        put(48, &self.blocks.to_ne_bytes());
        // atime at 64, btime (left zero) at 80, ctime at 96, mtime at 112: 16 bytes each.
        for (at, t) in [(64, self.atime), (96, self.ctime), (112, self.mtime)] {
            put(at, &t.sec.to_ne_bytes());
            put(at + 8, &(t.nsec as u32).to_ne_bytes());
        }
        put(128, &major(self.rdev).to_ne_bytes());
        put(132, &minor(self.rdev).to_ne_bytes());
        put(136, &major(self.dev).to_ne_bytes());
        put(140, &minor(self.dev).to_ne_bytes());
        put(144, &MNT_ID.to_ne_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::c_probe;

    /// Offsets of `struct stat` fields in musl's x86-64 header, compiled by the host's C
    /// compiler against musl's headers: the one source of truth for the layout.
    #[test]
    fn layout_matches_musl_header() {
        let text = c_probe(
            "stat",
            &["-nostdinc", "-isystem", "/usr/include/x86_64-linux-musl"],
            r#"#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#define F(f) printf("%s %zu\n", #f, offsetof(struct stat, f))
int main(void) {
    printf("size %zu\n", sizeof(struct stat));
    F(st_dev); F(st_ino); F(st_nlink); F(st_mode); F(st_uid); F(st_gid); F(st_rdev);
    F(st_size); F(st_blksize); F(st_blocks); F(st_atim); F(st_mtim); F(st_ctim);
    return 0;
}
"#,
            "compiling against musl's headers failed (musl-dev?)",
        );
        let expected = "size 144\nst_dev 0\nst_ino 8\nst_nlink 16\nst_mode 24\nst_uid 28\n\
                        st_gid 32\nst_rdev 40\nst_size 48\nst_blksize 56\nst_blocks 64\n\
                        st_atim 72\nst_mtim 88\nst_ctim 104\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn encodes_fields_at_their_offsets() {
        let s = Stat {
            dev: 1,
            ino: 2,
            nlink: 3,
            mode: S_IFREG | 0o644,
            uid: 5,
            gid: 6,
            rdev: 7,
            size: 8,
            blksize: 9,
            blocks: 10,
            atime: Timespec { sec: 11, nsec: 12 },
            mtime: Timespec { sec: 13, nsec: 14 },
            ctime: Timespec { sec: 15, nsec: 16 },
        };
        let b = s.to_linux();
        let u64_at = |at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
        assert_eq!((u64_at(0), u64_at(8), u64_at(16)), (1, 2, 3));
        assert_eq!(
            (u32_at(24), u32_at(28), u32_at(32)),
            (S_IFREG | 0o644, 5, 6)
        );
        assert_eq!(
            (u64_at(40), u64_at(48), u64_at(56), u64_at(64)),
            (7, 8, 9, 10)
        );
        assert_eq!(
            (u64_at(72), u64_at(80), u64_at(88), u64_at(96)),
            (11, 12, 13, 14)
        );
        assert_eq!((u64_at(104), u64_at(112)), (15, 16));
        assert!(b[120..].iter().all(|&x| x == 0));
    }

    /// Offsets of `struct statx` fields in the kernel's UAPI header (`<linux/stat.h>`, from
    /// linux-libc-dev; musl 1.2.3 has no `struct statx`), compiled by the host's C compiler.
    #[test]
    fn statx_layout_matches_the_kernel_header() {
        let text = c_probe(
            "statx",
            &[],
            r#"#include <stddef.h>
#include <stdio.h>
#include <linux/stat.h>
#define F(f) printf("%s %zu\n", #f, offsetof(struct statx, f))
int main(void) {
    printf("size %zu mask %#x\n", sizeof(struct statx), STATX_BASIC_STATS | STATX_MNT_ID);
    F(stx_mask); F(stx_blksize); F(stx_nlink); F(stx_uid); F(stx_gid); F(stx_mode);
    F(stx_ino); F(stx_size); F(stx_blocks); F(stx_atime); F(stx_btime); F(stx_ctime);
    F(stx_mtime); F(stx_rdev_major); F(stx_rdev_minor); F(stx_dev_major); F(stx_dev_minor);
    F(stx_mnt_id); F(stx_atime.tv_nsec);
    return 0;
}
"#,
            "compiling against <linux/stat.h> failed (linux-libc-dev?)",
        );
        let expected = format!(
            "size {LINUX_STATX_SIZE} mask {:#x}\nstx_mask 0\nstx_blksize 4\nstx_nlink 16\n\
             stx_uid 20\nstx_gid 24\nstx_mode 28\nstx_ino 32\nstx_size 40\nstx_blocks 48\n\
             stx_atime 64\nstx_btime 80\nstx_ctime 96\nstx_mtime 112\nstx_rdev_major 128\n\
             stx_rdev_minor 132\nstx_dev_major 136\nstx_dev_minor 140\nstx_mnt_id 144\n\
             stx_atime.tv_nsec 72\n",
            STATX_BASIC_STATS | STATX_MNT_ID
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn statx_encodes_fields_at_their_offsets() {
        let s = Stat {
            dev: makedev(0x1234, 0x56789),
            ino: 2,
            nlink: 3,
            mode: S_IFREG | 0o644,
            uid: 5,
            gid: 6,
            rdev: makedev(1, 3),
            size: 8,
            blksize: 4096,
            blocks: 10,
            atime: Timespec { sec: 11, nsec: 12 },
            mtime: Timespec { sec: 13, nsec: 14 },
            ctime: Timespec { sec: 15, nsec: 16 },
        };
        let b = s.to_statx();
        let u64_at = |at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
        assert_eq!((u32_at(0), u32_at(4)), (0x17ff, 4096));
        assert_eq!((u32_at(16), u32_at(20), u32_at(24)), (3, 5, 6));
        assert_eq!(u32_at(28) & 0xffff, S_IFREG | 0o644);
        assert_eq!((u64_at(32), u64_at(40), u64_at(48)), (2, 8, 10));
        assert_eq!((u64_at(64), u32_at(72)), (11, 12));
        assert!(b[80..96].iter().all(|&x| x == 0), "no birth time");
        assert_eq!((u64_at(96), u32_at(104)), (15, 16));
        assert_eq!((u64_at(112), u32_at(120)), (13, 14));
        assert_eq!((u32_at(128), u32_at(132)), (1, 3));
        assert_eq!((u32_at(136), u32_at(140)), (0x1234, 0x56789));
        assert_eq!(u64_at(144), MNT_ID);
        assert!(b[152..].iter().all(|&x| x == 0));
    }

    #[test]
    fn major_and_minor_undo_makedev() {
        for (ma, mi) in [
            (0, 0),
            (1, 3),
            (5, 1),
            (0x1234, 0x56789),
            (0xffff_ffff, 0xffff_ffff),
        ] {
            let dev = makedev(ma, mi);
            assert_eq!((u64::from(major(dev)), u64::from(minor(dev))), (ma, mi));
        }
    }

    #[test]
    fn makedev_matches_glibc_and_musl() {
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(5, 1), 0x501);
        assert_eq!(makedev(0x1234, 0x56789), 0x1000_5672_3489);
    }
}
