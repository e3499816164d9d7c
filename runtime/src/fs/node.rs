//! Inodes and their contents: file data in pages (copy-on-write over archive bytes),
//! directory entries in creation order, and the memory budget they are charged to.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{Device, FileType, Ino, Timespec};
use crate::errno::{self, Errno};

/// Size of one page of file data.
pub const PAGE_SIZE: usize = 4096;

/// What one inode costs besides its data and names (the inode, map nodes): an estimate
/// that keeps a flood of empty files from exhausting the heap unaccounted.
pub(crate) const INODE_COST: u64 = 160;
/// What one directory entry costs besides its name (stored twice: by name and by position).
pub(crate) const ENTRY_COST: u64 = 96;

/// One page of file data, page-aligned so a later `mmap(MAP_SHARED)` can map it directly.
#[repr(C, align(4096))]
pub(crate) struct Page(pub [u8; PAGE_SIZE]);

type PageBox = Box<[Page; 1]>;

/// Memory accounting: bytes charged against a limit.
#[derive(Debug)]
pub(crate) struct Budget {
    pub used: u64,
    pub limit: u64,
}

impl Budget {
    /// Charges `bytes`, or `ENOSPC` if that would pass the limit.
    pub fn charge(&mut self, bytes: u64) -> Result<(), Errno> {
        let total = self.used.checked_add(bytes).ok_or(errno::ENOSPC)?;
        if total > self.limit {
            return Err(errno::ENOSPC);
        }
        self.used = total;
        Ok(())
    }

    pub fn refund(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }
}

/// A zeroed page, charged to `budget`; `ENOSPC` when over budget or out of heap.
fn new_page(budget: &mut Budget) -> Result<PageBox, Errno> {
    budget.charge(PAGE_SIZE as u64)?;
    let mut v: Vec<Page> = Vec::new();
    if v.try_reserve_exact(1).is_err() {
        budget.refund(PAGE_SIZE as u64);
        return Err(errno::ENOSPC);
    }
    v.push(Page([0; PAGE_SIZE]));
    // The capacity is exactly 1, so neither conversion reallocates.
    match PageBox::try_from(v.into_boxed_slice()) {
        Ok(page) => Ok(page),
        Err(_) => {
            budget.refund(PAGE_SIZE as u64);
            Err(errno::ENOSPC)
        }
    }
}

/// The contents of a regular file.
pub(crate) enum Data<'img> {
    /// Bytes of an archive, used in place until the first change copies them.
    Image(&'img [u8]),
    /// tmpfs pages; `None` is a hole (reads as zeros, costs nothing).
    Pages {
        pages: Vec<Option<PageBox>>,
        size: u64,
    },
}

impl Default for Data<'_> {
    fn default() -> Self {
        Data::Pages {
            pages: Vec::new(),
            size: 0,
        }
    }
}

impl<'img> Data<'img> {
    pub fn size(&self) -> u64 {
        match self {
            Data::Image(bytes) => bytes.len() as u64,
            Data::Pages { size, .. } => *size,
        }
    }

    /// 512-byte blocks allocated (as `st_blocks`).
    pub fn blocks(&self) -> u64 {
        let pages = match self {
            Data::Image(bytes) => bytes.len().div_ceil(PAGE_SIZE) as u64,
            Data::Pages { pages, .. } => pages.iter().filter(|p| p.is_some()).count() as u64,
        };
        pages * (PAGE_SIZE as u64 / 512)
    }

    /// Bytes this data is charged for (archive bytes are not: they live in the archive).
    pub fn charged(&self) -> u64 {
        match self {
            Data::Image(_) => 0,
            // The page table itself (8 bytes a page) is not charged: 0.2% of the data.
            Data::Pages { pages, .. } => {
                pages.iter().filter(|p| p.is_some()).count() as u64 * PAGE_SIZE as u64
            }
        }
    }

    /// Copies up to `buf.len()` bytes from `offset`; returns how many (0 at or past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let size = self.size();
        if offset >= size {
            return 0;
        }
        let n = buf.len().min((size - offset) as usize);
        match self {
            Data::Image(bytes) => {
                let start = offset as usize;
                buf[..n].copy_from_slice(&bytes[start..start + n]);
            }
            Data::Pages { pages, .. } => {
                let mut done = 0;
                while done < n {
                    let pos = offset + done as u64;
                    let index = (pos / PAGE_SIZE as u64) as usize;
                    let within = (pos % PAGE_SIZE as u64) as usize;
                    let chunk = (PAGE_SIZE - within).min(n - done);
                    let out = &mut buf[done..done + chunk];
                    match pages.get(index).and_then(Option::as_ref) {
                        Some(page) => out.copy_from_slice(&page[0].0[within..within + chunk]),
                        None => out.fill(0),
                    }
                    done += chunk;
                }
            }
        }
        n
    }

    /// Turns archive bytes into tmpfs pages (copy-on-write), all or nothing.
    fn materialize(&mut self, budget: &mut Budget) -> Result<(), Errno> {
        let Data::Image(bytes) = *self else {
            return Ok(());
        };
        let count = bytes.len().div_ceil(PAGE_SIZE);
        let mut pages: Vec<Option<PageBox>> = Vec::new();
        pages.try_reserve_exact(count).map_err(|_| errno::ENOSPC)?;
        for chunk in bytes.chunks(PAGE_SIZE) {
            match new_page(budget) {
                Ok(mut page) => {
                    page[0].0[..chunk.len()].copy_from_slice(chunk);
                    pages.push(Some(page));
                }
                Err(e) => {
                    budget.refund(pages.len() as u64 * PAGE_SIZE as u64);
                    return Err(e);
                }
            }
        }
        *self = Data::Pages {
            pages,
            size: bytes.len() as u64,
        };
        Ok(())
    }

    /// Writes `data` at `offset`, growing the file (a gap becomes a hole). Returns the bytes
    /// written: all of them, or fewer if memory ran out part-way (`ENOSPC` if none).
    pub fn write_at(
        &mut self,
        offset: u64,
        data: &[u8],
        budget: &mut Budget,
    ) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&end| end <= super::MAX_FILE_SIZE)
            .ok_or(errno::EFBIG)?;
        self.materialize(budget)?;
        let Data::Pages { pages, size } = self else {
            unreachable!("materialize leaves pages")
        };
        if offset > *size {
            // The gap reads as zeros even where a shared mapping wrote past the end.
            zero_range(pages, *size, offset);
        }
        let last_page = ((end - 1) / PAGE_SIZE as u64) as usize;
        if pages.len() <= last_page {
            let more = last_page + 1 - pages.len();
            if pages.try_reserve(more).is_err() {
                return Err(errno::ENOSPC);
            }
            pages.resize_with(last_page + 1, || None);
        }
        let mut done = 0;
        while done < data.len() {
            let pos = offset + done as u64;
            let index = (pos / PAGE_SIZE as u64) as usize;
            let within = (pos % PAGE_SIZE as u64) as usize;
            let chunk = (PAGE_SIZE - within).min(data.len() - done);
            if pages[index].is_none() {
                match new_page(budget) {
                    Ok(page) => pages[index] = Some(page),
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            if let Some(page) = pages[index].as_mut() {
                page[0].0[within..within + chunk].copy_from_slice(&data[done..done + chunk]);
            }
            done += chunk;
        }
        *size = (*size).max(offset + done as u64);
        Ok(done)
    }

    /// Sets the size: shrinking frees pages and zeroes the tail of the last one; growing
    /// leaves a hole. With `keep_pages` (a shared mapping shows the file's pages) shrinking
    /// zeroes the pages past the end instead of freeing them.
    pub fn truncate(
        &mut self,
        len: u64,
        budget: &mut Budget,
        keep_pages: bool,
    ) -> Result<(), Errno> {
        if len > super::MAX_FILE_SIZE {
            return Err(errno::EFBIG);
        }
        if let Data::Image(bytes) = *self {
            if len == 0 {
                *self = Data::default();
                return Ok(());
            }
            if len == bytes.len() as u64 {
                return Ok(());
            }
        }
        self.materialize(budget)?;
        let Data::Pages { pages, size } = self else {
            unreachable!("materialize leaves pages")
        };
        if len < *size && keep_pages {
            zero_range(pages, len, u64::MAX);
        } else if len < *size {
            let keep = len.div_ceil(PAGE_SIZE as u64) as usize;
            if pages.len() > keep {
                let freed = pages.drain(keep..).filter(Option::is_some).count();
                budget.refund((freed * PAGE_SIZE) as u64);
            }
            let within = (len % PAGE_SIZE as u64) as usize;
            if within != 0 {
                if let Some(Some(page)) = pages.get_mut(keep - 1) {
                    page[0].0[within..].fill(0);
                }
            }
        } else {
            zero_range(pages, *size, len);
        }
        *size = len;
        Ok(())
    }

    /// `fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`: `[offset, offset + len)`
    /// reads as zeros afterwards; whole pages inside it are freed (zeroed instead with
    /// `keep_pages`), the size does not change.
    pub fn punch_hole(
        &mut self,
        offset: u64,
        len: u64,
        budget: &mut Budget,
        keep_pages: bool,
    ) -> Result<(), Errno> {
        let end = offset.saturating_add(len).min(self.size());
        if offset >= end {
            return Ok(());
        }
        self.materialize(budget)?;
        let Data::Pages { pages, .. } = self else {
            unreachable!("materialize leaves pages")
        };
        let page = PAGE_SIZE as u64;
        let first_whole = offset.div_ceil(page);
        let last_whole = end / page; // exclusive
        if keep_pages || first_whole >= last_whole {
            zero_range(pages, offset, end);
            return Ok(());
        }
        zero_range(pages, offset, first_whole * page);
        zero_range(pages, last_whole * page, end);
        for slot in pages
            .iter_mut()
            .take(last_whole as usize)
            .skip(first_whole as usize)
        {
            if slot.take().is_some() {
                budget.refund(page);
            }
        }
        Ok(())
    }

    /// Frees the pages wholly past the end (kept by [`Data::truncate`] while mapped).
    pub fn trim(&mut self, budget: &mut Budget) {
        if let Data::Pages { pages, size } = self {
            let keep = size.div_ceil(PAGE_SIZE as u64) as usize;
            if pages.len() > keep {
                let freed = pages.drain(keep..).filter(Option::is_some).count();
                budget.refund((freed * PAGE_SIZE) as u64);
            }
        }
    }

    /// The address of the page holding byte `index * PAGE_SIZE`, created (zeroed, charged to
    /// `budget`) if it is a hole, for a shared mapping to show; `None` if the page lies wholly
    /// past the end. Archive bytes are copied into pages first.
    pub fn page_addr(&mut self, index: u64, budget: &mut Budget) -> Result<Option<u64>, Errno> {
        if index >= self.size().div_ceil(PAGE_SIZE as u64) {
            return Ok(None);
        }
        self.materialize(budget)?;
        let Data::Pages { pages, .. } = self else {
            unreachable!("materialize leaves pages")
        };
        let index = index as usize;
        if pages.len() <= index {
            pages
                .try_reserve(index + 1 - pages.len())
                .map_err(|_| errno::ENOSPC)?;
            pages.resize_with(index + 1, || None);
        }
        if pages[index].is_none() {
            pages[index] = Some(new_page(budget)?);
        }
        Ok(pages[index].as_ref().map(|page| page[0].0.as_ptr() as u64))
    }
}

/// Zeroes the bytes `[from, to)` of the pages that exist.
fn zero_range(pages: &mut [Option<PageBox>], from: u64, to: u64) {
    let page = PAGE_SIZE as u64;
    let first = (from / page) as usize;
    for (i, slot) in pages.iter_mut().enumerate().skip(first) {
        let start = i as u64 * page;
        if start >= to {
            break;
        }
        if let Some(p) = slot.as_mut() {
            let a = from.saturating_sub(start).min(page) as usize;
            let b = (to - start).min(page) as usize;
            p[0].0[a..b].fill(0);
        }
    }
}

/// A directory: entries by name, and by position for `getdents64` cookies that stay valid
/// while entries come and go (a position is never reused).
#[derive(Default)]
pub(crate) struct Dir {
    pub parent: Ino,
    pub by_name: BTreeMap<Box<[u8]>, (Ino, u64)>,
    pub by_pos: BTreeMap<u64, (Box<[u8]>, Ino)>,
    pub next_pos: u64,
}

/// The first position of a real entry; 0 and 1 are `.` and `..`.
pub(crate) const FIRST_POS: u64 = 2;

impl Dir {
    pub fn new(parent: Ino) -> Dir {
        Dir {
            parent,
            by_name: BTreeMap::new(),
            by_pos: BTreeMap::new(),
            next_pos: FIRST_POS,
        }
    }

    pub fn get(&self, name: &[u8]) -> Option<Ino> {
        self.by_name.get(name).map(|&(ino, _)| ino)
    }

    pub fn insert(&mut self, name: &[u8], ino: Ino) {
        let pos = self.next_pos;
        self.next_pos += 1;
        self.by_name.insert(name.into(), (ino, pos));
        self.by_pos.insert(pos, (name.into(), ino));
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Ino> {
        let (ino, pos) = self.by_name.remove(name)?;
        self.by_pos.remove(&pos);
        Some(ino)
    }

    /// Points an existing entry at another inode, keeping its position.
    pub fn replace(&mut self, name: &[u8], ino: Ino) {
        if let Some(entry) = self.by_name.get_mut(name) {
            entry.0 = ino;
            if let Some(slot) = self.by_pos.get_mut(&entry.1) {
                slot.1 = ino;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// What an inode holds.
pub(crate) enum Kind<'img> {
    File(Data<'img>),
    Dir(Dir),
    Symlink(Box<[u8]>),
    CharDev(Device),
    Fifo,
    Socket,
    /// `/proc/self/fd`: a directory whose entries are the descriptor table's.
    FdDir {
        parent: Ino,
    },
}

impl Kind<'_> {
    pub fn file_type(&self) -> FileType {
        match self {
            Kind::File(_) => FileType::Regular,
            Kind::Dir(_) | Kind::FdDir { .. } => FileType::Directory,
            Kind::Symlink(_) => FileType::Symlink,
            Kind::CharDev(dev) => FileType::CharDevice(*dev),
            Kind::Fifo => FileType::Fifo,
            Kind::Socket => FileType::Socket,
        }
    }
}

/// One inode.
pub(crate) struct Inode<'img> {
    pub kind: Kind<'img>,
    /// Permission bits (`0o7777`).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Directory entries naming it (for a directory: 2 + its subdirectories; 0 once removed).
    pub nlink: u32,
    /// References the syscall layer holds (open files, the working directory).
    pub opens: u32,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Inside `/proc`: names cannot be added, removed or renamed here.
    pub sealed: bool,
    /// Whether a `MAP_SHARED` mapping shows this file's pages (they must not be freed).
    pub mapped_shared: bool,
}

impl<'img> Inode<'img> {
    pub fn new(kind: Kind<'img>, perm: u32, now: Timespec) -> Inode<'img> {
        let nlink = if matches!(kind, Kind::Dir(_) | Kind::FdDir { .. }) {
            2
        } else {
            1
        };
        Inode {
            kind,
            perm: perm & 0o7777,
            uid: 0,
            gid: 0,
            nlink,
            opens: 0,
            atime: now,
            mtime: now,
            ctime: now,
            sealed: false,
            mapped_shared: false,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_) | Kind::FdDir { .. })
    }

    /// Bytes this inode is charged for, besides [`INODE_COST`].
    pub fn charged(&self) -> u64 {
        match &self.kind {
            Kind::File(data) => data.charged(),
            Kind::Symlink(target) => target.len() as u64,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            used: 0,
            limit: 1 << 20,
        }
    }

    #[test]
    fn sparse_write_reads_zeros_in_the_hole() {
        let mut b = budget();
        let mut d = Data::default();
        assert_eq!(d.write_at(10_000, b"xyz", &mut b), Ok(3));
        assert_eq!(d.size(), 10_003);
        // Only the page holding the bytes exists.
        assert_eq!(d.blocks(), 8);
        let mut buf = [1u8; 10_010];
        assert_eq!(d.read_at(0, &mut buf), 10_003);
        assert!(buf[..10_000].iter().all(|&b| b == 0));
        assert_eq!(&buf[10_000..10_003], b"xyz");
    }

    #[test]
    fn image_data_is_copied_on_first_write_only() {
        let mut b = budget();
        let mut d = Data::Image(b"hello world");
        assert_eq!(d.charged(), 0);
        assert_eq!(d.write_at(6, b"WORLD", &mut b), Ok(5));
        let mut buf = [0u8; 11];
        d.read_at(0, &mut buf);
        assert_eq!(&buf, b"hello WORLD");
        assert!(b.used >= PAGE_SIZE as u64);
    }

    #[test]
    fn truncate_frees_pages_and_zeroes_the_tail() {
        let mut b = budget();
        let mut d = Data::default();
        d.write_at(0, &[7u8; 3 * PAGE_SIZE], &mut b).unwrap();
        let before = b.used;
        d.truncate(PAGE_SIZE as u64 + 10, &mut b, false).unwrap();
        assert_eq!(before - b.used, PAGE_SIZE as u64);
        d.truncate(3 * PAGE_SIZE as u64, &mut b, false).unwrap();
        let mut buf = [9u8; 20];
        d.read_at(PAGE_SIZE as u64, &mut buf);
        assert_eq!(&buf[..10], &[7u8; 10]);
        assert_eq!(&buf[10..], &[0u8; 10]);
    }

    #[test]
    fn over_budget_is_enospc_and_a_short_write() {
        let mut b = Budget {
            used: 0,
            limit: 2 * PAGE_SIZE as u64 + 64,
        };
        let mut d = Data::default();
        let n = d.write_at(0, &[1u8; 4 * PAGE_SIZE], &mut b).unwrap();
        assert_eq!(n, 2 * PAGE_SIZE);
        assert_eq!(d.size(), 2 * PAGE_SIZE as u64);
        assert_eq!(
            d.write_at(2 * PAGE_SIZE as u64, b"x", &mut b),
            Err(errno::ENOSPC)
        );
        assert_eq!(
            Data::default().write_at(u64::MAX - 1, b"xy", &mut b),
            Err(errno::EFBIG)
        );
    }

    #[test]
    fn mapped_pages_survive_shrinking_and_read_back_as_zeros() {
        let mut b = budget();
        let mut d = Data::Image(b"archive bytes");
        assert_eq!(d.page_addr(1, &mut b), Ok(None));
        let addr = d.page_addr(0, &mut b).unwrap().unwrap();
        assert_eq!(addr % PAGE_SIZE as u64, 0);
        assert_eq!(d.charged(), PAGE_SIZE as u64);
        // A hole inside the file becomes a page; the same page comes back every time.
        d.truncate(3 * PAGE_SIZE as u64, &mut b, false).unwrap();
        let hole = d.page_addr(2, &mut b).unwrap().unwrap();
        assert_eq!(d.page_addr(2, &mut b), Ok(Some(hole)));
        assert_eq!(d.page_addr(0, &mut b), Ok(Some(addr)));
        // Shrunk while mapped: the pages stay (zeroed past the end), until trimmed.
        d.truncate(5, &mut b, true).unwrap();
        assert_eq!(d.charged(), 2 * PAGE_SIZE as u64);
        let Data::Pages { pages, .. } = &d else {
            panic!("pages")
        };
        assert!(pages[0].as_ref().unwrap()[0].0[5..].iter().all(|&x| x == 0));
        assert_eq!(&pages[0].as_ref().unwrap()[0].0[..5], b"archi");
        d.trim(&mut b);
        assert_eq!(d.charged(), PAGE_SIZE as u64);
    }

    #[test]
    fn growing_zeroes_what_a_mapping_left_past_the_end() {
        let mut b = budget();
        let mut d = Data::default();
        d.write_at(0, b"abc", &mut b).unwrap();
        // A shared mapping may write past the end of the last page.
        if let Data::Pages { pages, .. } = &mut d {
            pages[0].as_mut().unwrap()[0].0[3..10].fill(b'!');
        }
        d.write_at(6, b"x", &mut b).unwrap();
        let mut buf = [9u8; 7];
        d.read_at(0, &mut buf);
        assert_eq!(&buf, b"abc\0\0\0x");
        if let Data::Pages { pages, .. } = &mut d {
            pages[0].as_mut().unwrap()[0].0[7..20].fill(b'!');
        }
        d.truncate(12, &mut b, false).unwrap();
        let mut buf = [9u8; 12];
        d.read_at(0, &mut buf);
        assert_eq!(&buf, b"abc\0\0\0x\0\0\0\0\0");
    }

    #[test]
    fn punching_a_hole_frees_whole_pages_and_zeroes_the_rest() {
        let mut b = budget();
        let mut d = Data::default();
        d.write_at(0, &[7u8; 4 * PAGE_SIZE], &mut b).unwrap();
        let before = b.used;
        // From the middle of page 0 to the middle of page 3: pages 1 and 2 are freed.
        let (off, len) = (100, 3 * PAGE_SIZE as u64);
        d.punch_hole(off, len, &mut b, false).unwrap();
        assert_eq!(before - b.used, 2 * PAGE_SIZE as u64);
        assert_eq!(d.size(), 4 * PAGE_SIZE as u64);
        let mut buf = vec![0u8; 4 * PAGE_SIZE];
        assert_eq!(d.read_at(0, &mut buf), 4 * PAGE_SIZE);
        let (a, z) = (off as usize, (off + len) as usize);
        assert!(buf[..a].iter().all(|&x| x == 7));
        assert!(buf[a..z].iter().all(|&x| x == 0));
        assert!(buf[z..].iter().all(|&x| x == 7));
        // Past the end nothing happens; while mapped, pages are zeroed but kept.
        d.punch_hole(10 * PAGE_SIZE as u64, 5, &mut b, false)
            .unwrap();
        let used = b.used;
        d.punch_hole(0, 4 * PAGE_SIZE as u64, &mut b, true).unwrap();
        assert_eq!(b.used, used);
        d.read_at(0, &mut buf);
        assert!(buf.iter().all(|&x| x == 0));
        // Archive bytes are copied first.
        let mut img = Data::Image(b"0123456789");
        img.punch_hole(2, 3, &mut b, false).unwrap();
        let mut out = [0u8; 10];
        img.read_at(0, &mut out);
        assert_eq!(&out, &[b'0', b'1', 0, 0, 0, b'5', b'6', b'7', b'8', b'9']);
    }

    #[test]
    fn directory_positions_are_never_reused() {
        let mut d = Dir::new(1);
        d.insert(b"a", 5);
        d.insert(b"b", 6);
        assert_eq!(d.remove(b"a"), Some(5));
        d.insert(b"a", 7);
        let order: Vec<_> = d
            .by_pos
            .iter()
            .map(|(p, (n, i))| (*p, n.to_vec(), *i))
            .collect();
        assert_eq!(order, [(3, b"b".to_vec(), 6), (4, b"a".to_vec(), 7)]);
    }
}
