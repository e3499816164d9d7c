//! The argument rules of file mappings — `mmap` of a descriptor and `msync` — in the order
//! Linux applies them, so each bad call gets the errno Linux gives. Pure: the `mm` glue
//! supplies what the descriptor is and how it was opened.
#![forbid(unsafe_code)]

use super::vmspace::{page_round_up, Prot, PAGE_SIZE};
use crate::errno::{self, Errno};

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_ANONYMOUS: u64 = 0x20;

/// The flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK`): shared, private,
/// fixed, anonymous, growsdown, denywrite, executable, locked, noreserve, populate,
/// nonblock, stack, hugetlb, uninitialized. Anything else (`MAP_SYNC`, which needs DAX, or
/// an unknown bit) is `EOPNOTSUPP`.
pub const LEGACY_MAP_MASK: u64 = 0x03
    | 0x10
    | 0x20
    | 0x100
    | 0x800
    | 0x1000
    | 0x2000
    | 0x4000
    | 0x8000
    | 0x1_0000
    | 0x2_0000
    | 0x4_0000
    | 0x400_0000;

pub const MS_ASYNC: u64 = 1;
pub const MS_INVALIDATE: u64 = 2;
pub const MS_SYNC: u64 = 4;

/// What the descriptor passed to `mmap` names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    /// A regular file of the VFS.
    Regular,
    /// `/dev/zero`: a mapping of it is anonymous memory.
    DevZero,
    /// Anything that cannot be mapped (directories, other devices, pipes, sockets): `ENODEV`.
    Unmappable,
}

/// How the descriptor was opened: `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

impl Access {
    /// From open flags (`O_ACCMODE` bits).
    pub fn from_open_flags(flags: u32) -> Access {
        match flags & 0o3 {
            0 => Access {
                read: true,
                write: false,
            },
            1 => Access {
                read: false,
                write: true,
            },
            _ => Access {
                read: true,
                write: true,
            },
        }
    }
}

/// What a valid file `mmap` makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileMap {
    /// Anonymous memory (`/dev/zero`).
    Anon,
    /// A view of the file; `shared` for `MAP_SHARED`.
    File { shared: bool },
}

/// The checks of `mmap(addr, len, prot, flags, fd, offset)` for a file descriptor, after the
/// descriptor itself was found (`EBADF` first, except that an unaligned offset is `EINVAL`
/// even before the descriptor is looked at: check it with [`check_offset`]).
pub fn check_file_mmap(
    len: u64,
    prot: Prot,
    flags: u64,
    offset: u64,
    target: Target,
    access: Access,
) -> Result<FileMap, Errno> {
    check_offset(offset)?;
    if len == 0 {
        return Err(errno::EINVAL);
    }
    let len = page_round_up(len).ok_or(errno::ENOMEM)?;
    if (offset / PAGE_SIZE).checked_add(len / PAGE_SIZE).is_none() {
        return Err(errno::EOVERFLOW);
    }
    // A regular file's view may not reach past the largest file size.
    const MAX_FILE: u64 = i64::MAX as u64;
    if target == Target::Regular && (offset > MAX_FILE || len > MAX_FILE - offset) {
        return Err(errno::EOVERFLOW);
    }
    let shared = match flags & MAP_TYPE {
        MAP_SHARED_VALIDATE if flags & !LEGACY_MAP_MASK != 0 => return Err(errno::EOPNOTSUPP),
        MAP_SHARED | MAP_SHARED_VALIDATE => true,
        MAP_PRIVATE => false,
        _ => return Err(errno::EINVAL),
    };
    if shared && prot.writable() && !access.write {
        return Err(errno::EACCES);
    }
    if !access.read {
        return Err(errno::EACCES);
    }
    match target {
        Target::Regular => Ok(FileMap::File { shared }),
        Target::DevZero => Ok(FileMap::Anon),
        Target::Unmappable => Err(errno::ENODEV),
    }
}

/// `mmap`'s offset must be a page multiple (`EINVAL`; Linux checks it before anything else).
pub fn check_offset(offset: u64) -> Result<(), Errno> {
    if offset.is_multiple_of(PAGE_SIZE) {
        Ok(())
    } else {
        Err(errno::EINVAL)
    }
}

/// The checks of `msync(addr, len, flags)`: returns the page range to sync, or `None` for an
/// empty one (success without looking at the mappings). The caller then fails with `ENOMEM`
/// if any page of the range is unmapped.
pub fn check_msync(addr: u64, len: u64, flags: u64) -> Result<Option<(u64, u64)>, Errno> {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 {
        return Err(errno::EINVAL);
    }
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(errno::EINVAL);
    }
    if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
        return Err(errno::EINVAL);
    }
    let len = page_round_up(len).ok_or(errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(errno::ENOMEM)?;
    Ok((end != addr).then_some((addr, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RO: Access = Access {
        read: true,
        write: false,
    };
    const WO: Access = Access {
        read: false,
        write: true,
    };
    const RW: Access = Access {
        read: true,
        write: true,
    };
    const R: Prot = Prot::READ;
    const W: Prot = Prot::WRITE;

    fn check(
        prot: Prot,
        flags: u64,
        offset: u64,
        target: Target,
        access: Access,
    ) -> Result<FileMap, Errno> {
        check_file_mmap(4096, prot, flags, offset, target, access)
    }

    #[test]
    fn open_modes_follow_linux() {
        let shared = Ok(FileMap::File { shared: true });
        let private = Ok(FileMap::File { shared: false });
        assert_eq!(Access::from_open_flags(0), RO);
        assert_eq!(Access::from_open_flags(0o1 | 0o100), WO);
        assert_eq!(Access::from_open_flags(0o2), RW);
        // A shared writable view needs a writable descriptor...
        assert_eq!(
            check(R | W, MAP_SHARED, 0, Target::Regular, RO),
            Err(errno::EACCES)
        );
        assert_eq!(check(R | W, MAP_SHARED, 0, Target::Regular, RW), shared);
        assert_eq!(check(R, MAP_SHARED, 0, Target::Regular, RO), shared);
        // ...a private one does not: its writes never reach the file.
        assert_eq!(check(R | W, MAP_PRIVATE, 0, Target::Regular, RO), private);
        // Every view needs a readable descriptor.
        assert_eq!(
            check(W, MAP_SHARED, 0, Target::Regular, WO),
            Err(errno::EACCES)
        );
        assert_eq!(
            check(R, MAP_PRIVATE, 0, Target::Regular, WO),
            Err(errno::EACCES)
        );
        assert_eq!(
            check(R, MAP_SHARED_VALIDATE, 0, Target::Regular, RW),
            shared
        );
        // MAP_SHARED_VALIDATE refuses what it does not know; plain MAP_SHARED ignores it.
        const MAP_SYNC: u64 = 0x80000;
        assert_eq!(
            check(R, MAP_SHARED_VALIDATE | MAP_SYNC, 0, Target::Regular, RW),
            Err(errno::EOPNOTSUPP)
        );
        assert_eq!(
            check(R, MAP_SHARED | MAP_SYNC, 0, Target::Regular, RW),
            shared
        );
        assert_eq!(
            check(
                R,
                MAP_SHARED_VALIDATE | 0x8000 | 0x10,
                0,
                Target::Regular,
                RW
            ),
            shared
        );
    }

    #[test]
    fn bad_arguments_get_linux_errnos_in_linux_order() {
        assert_eq!(
            check(R, MAP_PRIVATE, 100, Target::Regular, RO),
            Err(errno::EINVAL)
        );
        assert_eq!(check_offset(4095), Err(errno::EINVAL));
        assert_eq!(check_offset(8192), Ok(()));
        assert_eq!(
            check_file_mmap(0, R, MAP_PRIVATE, 0, Target::Regular, RO),
            Err(errno::EINVAL)
        );
        assert_eq!(
            check_file_mmap(u64::MAX, R, MAP_PRIVATE, 0, Target::Regular, RO),
            Err(errno::ENOMEM)
        );
        assert_eq!(
            check_file_mmap(1 << 40, R, MAP_PRIVATE, !4095, Target::Regular, RO),
            Err(errno::EOVERFLOW)
        );
        // Neither shared nor private.
        assert_eq!(check(R, 0, 0, Target::Regular, RO), Err(errno::EINVAL));
        assert_eq!(check(R, 0x04, 0, Target::Regular, RO), Err(errno::EINVAL));
        // Access is checked before the kind of file: a directory opened read-only is ENODEV,
        // a write-only one EACCES.
        assert_eq!(
            check(R, MAP_PRIVATE, 0, Target::Unmappable, RO),
            Err(errno::ENODEV)
        );
        assert_eq!(
            check(R, MAP_PRIVATE, 0, Target::Unmappable, WO),
            Err(errno::EACCES)
        );
        assert_eq!(
            check(R | W, MAP_SHARED, 0, Target::DevZero, RW),
            Ok(FileMap::Anon)
        );
        assert_eq!(
            check(R | W, MAP_PRIVATE, 0, Target::DevZero, RO),
            Ok(FileMap::Anon)
        );
    }

    #[test]
    fn msync_arguments() {
        let a = 0x10_0000;
        assert_eq!(check_msync(a, 1, MS_SYNC), Ok(Some((a, a + 4096))));
        assert_eq!(
            check_msync(a, 8192, MS_ASYNC | MS_INVALIDATE),
            Ok(Some((a, a + 8192)))
        );
        assert_eq!(check_msync(a, 0, 0), Ok(None));
        assert_eq!(check_msync(a + 1, 4096, MS_SYNC), Err(errno::EINVAL));
        assert_eq!(check_msync(a, 4096, MS_SYNC | MS_ASYNC), Err(errno::EINVAL));
        assert_eq!(check_msync(a, 4096, 8), Err(errno::EINVAL));
        assert_eq!(check_msync(a, u64::MAX - 10, MS_SYNC), Err(errno::ENOMEM));
        assert_eq!(check_msync(!4095, 8192, MS_SYNC), Err(errno::ENOMEM));
    }
}
