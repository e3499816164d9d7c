//! The descriptor table: small integers naming open file descriptions, lowest free first.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::OpenFile;
use crate::errno::{self, Errno};

/// The most descriptors a program may have open (RLIMIT_NOFILE's default).
pub const MAX_FDS: usize = 1024;

#[derive(Clone, Debug)]
struct Entry {
    desc: Arc<OpenFile>,
    cloexec: bool,
}

/// A process's descriptors. One per VM today; threads share it.
#[derive(Default, Debug)]
pub struct FdTable {
    entries: Vec<Option<Entry>>,
}

impl FdTable {
    pub const fn new() -> FdTable {
        FdTable {
            entries: Vec::new(),
        }
    }

    /// Installs `desc` at the lowest free descriptor `>= lowest`.
    pub fn install(
        &mut self,
        desc: Arc<OpenFile>,
        cloexec: bool,
        lowest: usize,
    ) -> Result<usize, Errno> {
        if lowest >= MAX_FDS {
            return Err(errno::EINVAL);
        }
        let fd = (lowest..MAX_FDS)
            .find(|&i| self.entries.get(i).is_none_or(|e| e.is_none()))
            .ok_or(errno::EMFILE)?;
        self.put(fd, desc, cloexec);
        Ok(fd)
    }

    fn put(&mut self, fd: usize, desc: Arc<OpenFile>, cloexec: bool) {
        if self.entries.len() <= fd {
            self.entries.resize(fd + 1, None);
        }
        self.entries[fd] = Some(Entry { desc, cloexec });
    }

    /// The description behind `fd`; `EBADF` if it is not open.
    pub fn get(&self, fd: i64) -> Result<Arc<OpenFile>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.entries.get(fd))
            .and_then(|e| e.as_ref())
            .map(|e| e.desc.clone())
            .ok_or(errno::EBADF)
    }

    /// Closes `fd`, returning its description (dropped by the caller, outside any lock:
    /// the last reference closes the file).
    pub fn close(&mut self, fd: i64) -> Result<Arc<OpenFile>, Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|fd| self.entries.get_mut(fd))
            .ok_or(errno::EBADF)?;
        let entry = slot.take().ok_or(errno::EBADF)?;
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        Ok(entry.desc)
    }

    /// `dup2`/`dup3`: makes `new` name the description of `old`, closing what `new` named
    /// (returned, for the caller to drop outside any lock).
    pub fn dup_to(
        &mut self,
        old: i64,
        new: i64,
        cloexec: bool,
    ) -> Result<Option<Arc<OpenFile>>, Errno> {
        let desc = self.get(old)?;
        let new = usize::try_from(new)
            .ok()
            .filter(|&n| n < MAX_FDS)
            .ok_or(errno::EBADF)?;
        let previous = self
            .entries
            .get_mut(new)
            .and_then(|e| e.take())
            .map(|e| e.desc);
        self.put(new, desc, cloexec);
        Ok(previous)
    }

    pub fn cloexec(&self, fd: i64) -> Result<bool, Errno> {
        self.entry(fd).map(|e| e.cloexec)
    }

    pub fn set_cloexec(&mut self, fd: i64, on: bool) -> Result<(), Errno> {
        let fd = usize::try_from(fd).map_err(|_| errno::EBADF)?;
        let entry = self
            .entries
            .get_mut(fd)
            .and_then(|e| e.as_mut())
            .ok_or(errno::EBADF)?;
        entry.cloexec = on;
        Ok(())
    }

    fn entry(&self, fd: i64) -> Result<&Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.entries.get(fd))
            .and_then(|e| e.as_ref())
            .ok_or(errno::EBADF)
    }

    /// Open descriptors, ascending (for /proc/self/fd and tests).
    pub fn open_fds(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::{Events, File, Stat, O_RDWR};
    use core::any::Any;

    struct Dummy;
    impl File for Dummy {
        fn stat(&self) -> Result<Stat, Errno> {
            Ok(Stat::default())
        }
        fn poll(&self) -> Events {
            Events::NONE
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn desc() -> Arc<OpenFile> {
        OpenFile::new(Arc::new(Dummy), O_RDWR)
    }

    #[test]
    fn lowest_free_first() {
        let mut t = FdTable::new();
        assert_eq!(t.install(desc(), false, 0), Ok(0));
        assert_eq!(t.install(desc(), false, 0), Ok(1));
        assert_eq!(t.install(desc(), false, 0), Ok(2));
        t.close(1).unwrap();
        assert_eq!(t.install(desc(), false, 0), Ok(1));
        assert_eq!(t.install(desc(), false, 10), Ok(10));
        assert_eq!(t.install(desc(), false, 0), Ok(3));
        assert_eq!(t.open_fds().collect::<Vec<_>>(), [0, 1, 2, 3, 10]);
    }

    #[test]
    fn close_and_errors() {
        let mut t = FdTable::new();
        assert_eq!(t.close(0).err(), Some(errno::EBADF));
        assert_eq!(t.get(-1).err(), Some(errno::EBADF));
        t.install(desc(), false, 0).unwrap();
        assert!(t.close(0).is_ok());
        assert_eq!(t.close(0).err(), Some(errno::EBADF));
        assert_eq!(t.install(desc(), false, MAX_FDS).err(), Some(errno::EINVAL));
    }

    #[test]
    fn table_full_is_emfile() {
        let mut t = FdTable::new();
        for i in 0..MAX_FDS {
            assert_eq!(t.install(desc(), false, 0), Ok(i));
        }
        assert_eq!(t.install(desc(), false, 0).err(), Some(errno::EMFILE));
    }

    #[test]
    fn dup_shares_the_description_and_cloexec_is_per_fd() {
        let mut t = FdTable::new();
        let d = desc();
        t.install(d.clone(), true, 0).unwrap();
        let prev = t.dup_to(0, 5, false).unwrap();
        assert!(prev.is_none());
        assert!(Arc::ptr_eq(&t.get(5).unwrap(), &d));
        assert_eq!((t.cloexec(0), t.cloexec(5)), (Ok(true), Ok(false)));
        t.set_cloexec(5, true).unwrap();
        assert_eq!(t.cloexec(5), Ok(true));
        // dup over an open fd closes it and hands back its description.
        t.install(desc(), false, 0).unwrap();
        let replaced = t.dup_to(0, 1, false).unwrap();
        assert!(replaced.is_some());
        assert_eq!(t.dup_to(7, 1, false).err(), Some(errno::EBADF));
        assert_eq!(t.dup_to(0, MAX_FDS as i64, false).err(), Some(errno::EBADF));
    }

    #[test]
    fn status_flags() {
        let d = OpenFile::new(Arc::new(Dummy), O_RDWR | crate::fd::O_CLOEXEC);
        assert_eq!(d.flags(), O_RDWR);
        d.set_flags(crate::fd::O_NONBLOCK | crate::fd::O_WRONLY);
        assert!(d.nonblocking());
        assert_eq!(
            d.flags() & crate::fd::O_ACCMODE,
            O_RDWR,
            "access mode cannot change"
        );
    }
}
