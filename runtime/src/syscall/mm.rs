//! Memory syscalls: brk, the mmap family (views of files included), msync and madvise, on
//! [`crate::mm::user`].
#![forbid(unsafe_code)]

use crate::errno::{self, SysResult};
use crate::mm::filemap::{self, FileMap};
use crate::mm::user;
use crate::mm::vmspace::{Backing, Prot};

pub fn brk(a: &[u64; 6]) -> SysResult {
    Ok(user::brk(a[0]))
}

/// mmap(2): anonymous memory, or a view of a file or `/dev/zero` ([`crate::mm::filemap`]
/// checks the descriptor's kind and open mode and the arguments, in Linux's order).
pub fn mmap(a: &[u64; 6]) -> SysResult {
    let (addr, len, prot, flags, fd, offset) = (a[0], a[1], a[2], a[3], a[4], a[5]);
    filemap::check_offset(offset)?;
    if flags & filemap::MAP_ANONYMOUS != 0 {
        return user::mmap(addr, len, prot, flags);
    }
    let (target, access, ino) = super::file::map_target(fd)?;
    let prot_bits = Prot::from_bits(prot).ok_or(errno::EINVAL)?;
    match filemap::check_file_mmap(len, prot_bits, flags, offset, target, access)? {
        FileMap::Anon => user::mmap(addr, len, prot, flags | filemap::MAP_ANONYMOUS),
        FileMap::File { shared } => user::mmap_file(
            addr,
            len,
            prot,
            flags,
            Backing::File {
                ino,
                offset,
                shared,
            },
        ),
    }
}

pub fn msync(a: &[u64; 6]) -> SysResult {
    user::msync(a[0], a[1], a[2])
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
