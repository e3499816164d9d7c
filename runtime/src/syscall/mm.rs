//! Memory syscalls: brk, the mmap family and madvise, on [`crate::mm::user`].
#![forbid(unsafe_code)]

use crate::errno::SysResult;
use crate::mm::user;

pub fn brk(a: &[u64; 6]) -> SysResult {
    Ok(user::brk(a[0]))
}

pub fn mmap(a: &[u64; 6]) -> SysResult {
    const MAP_ANONYMOUS: u64 = 0x20;
    if a[3] & MAP_ANONYMOUS == 0 {
        // A file mapping: a bad descriptor is EBADF as on Linux; a good one is ENODEV until
        // the VFS can map files.
        super::fs::check_fd(a[4])?;
    }
    user::mmap(a[0], a[1], a[2], a[3])
}

pub fn munmap(a: &[u64; 6]) -> SysResult {
    user::munmap(a[0], a[1])
}

pub fn mprotect(a: &[u64; 6]) -> SysResult {
    user::mprotect(a[0], a[1], a[2])
}

pub fn mremap(a: &[u64; 6]) -> SysResult {
    user::mremap(a[0], a[1], a[2], a[3])
}

pub fn madvise(a: &[u64; 6]) -> SysResult {
    user::madvise(a[0], a[1], a[2])
}
