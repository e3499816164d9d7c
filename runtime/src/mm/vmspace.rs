//! Bookkeeping of the application's mappings (mmap, munmap, mremap, mprotect): anonymous
//! memory and views of files ([`Backing`]).
//!
//! [`VmSpace`] owns the virtual range `[base, limit)` and records which pages of it are mapped
//! and with what protection. It touches no page table and no frame: every operation reports
//! the ranges that became mapped or unmapped, and the caller (the `mm` glue) backs or frees
//! them. Errors are the ones Linux gives ([`VmError::errno`]).
//!
//! Policy:
//! - pages are 4096 bytes; lengths round up to whole pages, addresses must be page-aligned;
//! - placement without `MAP_FIXED` takes the hint if the whole range there is free and inside
//!   the space, else the **highest** free gap that fits below the placement top (the
//!   randomized mmap base, [`VmSpace::set_placement_top`]), at the gap's top (top-down first
//!   fit, as Linux's x86-64 mmap does), which leaves the low end of the space for `brk`-like
//!   growth and keeps the search short while the space fills from the top; only when nothing
//!   fits below the placement top is the whole space searched the same way;
//! - `MAP_FIXED` replaces whatever overlaps and reports the replaced ranges;
//! - adjacent mappings with the same protection and a continuing backing (both anonymous, or
//!   the same file at consecutive offsets with the same sharing) are merged, so a mapping is a
//!   maximal run of pages with one protection and one backing (Linux merges VMAs the same way,
//!   which is what lets `mremap` treat a region grown in several steps as one);
//! - splitting a file mapping keeps each piece's file offset (the tail's offset moves on by
//!   the split's distance), and `mremap` keeps it too.
#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{BitOr, BitOrAssign};

use crate::errno::{self, Errno};

/// The page size every mapping is measured in.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds `len` up to whole pages; `None` on overflow.
pub fn page_round_up(len: u64) -> Option<u64> {
    Some(len.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

/// True when `addr` is page-aligned.
pub fn is_page_aligned(addr: u64) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// Page protection: a set of READ, WRITE and EXEC (the Linux `PROT_*` bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u8);

impl Prot {
    pub const NONE: Prot = Prot(0);
    pub const READ: Prot = Prot(1);
    pub const WRITE: Prot = Prot(2);
    pub const EXEC: Prot = Prot(4);
    pub const ALL: Prot = Prot(7);

    /// From Linux `PROT_*` bits; `None` if any other bit is set (mmap then fails with EINVAL).
    pub fn from_bits(bits: u64) -> Option<Prot> {
        if bits & !u64::from(Prot::ALL.0) == 0 {
            Some(Prot(bits as u8))
        } else {
            None
        }
    }

    pub fn bits(self) -> u64 {
        u64::from(self.0)
    }

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn readable(self) -> bool {
        self.contains(Prot::READ)
    }

    pub fn writable(self) -> bool {
        self.contains(Prot::WRITE)
    }

    pub fn executable(self) -> bool {
        self.contains(Prot::EXEC)
    }
}

impl BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

impl BitOrAssign for Prot {
    fn bitor_assign(&mut self, rhs: Prot) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Prot {
    /// `rw-`, like /proc/self/maps.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |p: Prot, c: char| if self.contains(p) { c } else { '-' };
        write!(
            f,
            "{}{}{}",
            flag(Prot::READ, 'r'),
            flag(Prot::WRITE, 'w'),
            flag(Prot::EXEC, 'x')
        )
    }
}

/// A half-open address range `[start, end)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub const fn new(start: u64, end: u64) -> Range {
        Range { start, end }
    }

    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    pub const fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub const fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

impl fmt::Debug for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// What a mapping's pages hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Backing {
    /// Zero-filled memory of its own.
    #[default]
    Anon,
    /// A view of file `ino` (an inode number of the VFS) whose first page shows the file at
    /// byte `offset` (a page multiple). `shared`: the file's own pages (`MAP_SHARED`), else
    /// private copies (`MAP_PRIVATE`).
    File { ino: u64, offset: u64, shared: bool },
}

impl Backing {
    /// The backing of the page `by` bytes further on.
    pub fn advance(self, by: u64) -> Backing {
        match self {
            Backing::Anon => Backing::Anon,
            Backing::File {
                ino,
                offset,
                shared,
            } => Backing::File {
                ino,
                offset: offset.saturating_add(by),
                shared,
            },
        }
    }

    /// True when a mapping of `len` bytes backed by `self` and one right after it backed by
    /// `next` can be one mapping.
    pub fn continues_into(self, len: u64, next: Backing) -> bool {
        self.advance(len) == next
    }

    /// The file inode behind it, if any.
    pub fn ino(self) -> Option<u64> {
        match self {
            Backing::Anon => None,
            Backing::File { ino, .. } => Some(ino),
        }
    }

    /// True for a `MAP_SHARED` file view (its pages belong to the file, not to the mapping).
    pub fn is_shared_file(self) -> bool {
        matches!(self, Backing::File { shared: true, .. })
    }
}

/// One mapping: a maximal run of mapped pages with one protection and one backing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mapping {
    pub start: u64,
    pub len: u64,
    pub prot: Prot,
    pub backing: Backing,
}

impl Mapping {
    pub const fn end(&self) -> u64 {
        self.start + self.len
    }

    /// The backing of the page at `addr` (inside the mapping).
    pub fn backing_at(&self, addr: u64) -> Backing {
        self.backing.advance(addr - self.start)
    }

    pub const fn range(&self) -> Range {
        Range::new(self.start, self.end())
    }
}

/// Why an operation failed; each maps to the errno Linux returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VmError {
    /// Unaligned address, zero length or a malformed request: EINVAL.
    Inval,
    /// No room, outside the space, or (mprotect) unmapped pages in the range: ENOMEM.
    NoMem,
    /// (mremap) the old range is not one mapping: EFAULT.
    Fault,
}

impl VmError {
    pub fn errno(self) -> Errno {
        match self {
            VmError::Inval => errno::EINVAL,
            VmError::NoMem => errno::ENOMEM,
            VmError::Fault => errno::EFAULT,
        }
    }
}

impl From<VmError> for Errno {
    fn from(e: VmError) -> Errno {
        e.errno()
    }
}

/// Appends one line of `/proc/self/maps` in Linux's format: `start-end perms offset
/// major:minor inode`, then, for a named area, spaces up to column 73 and the name.
#[allow(clippy::too_many_arguments)] // one argument per column of the line
pub fn maps_line(
    out: &mut alloc::string::String,
    range: Range,
    prot: Prot,
    shared: bool,
    offset: u64,
    dev: (u32, u32),
    ino: u64,
    name: &str,
) {
    use core::fmt::Write;
    let begin = out.len();
    let flag = |p: Prot, c: char| if prot.contains(p) { c } else { '-' };
    let _ = write!(
        out,
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        range.start,
        range.end,
        flag(Prot::READ, 'r'),
        flag(Prot::WRITE, 'w'),
        flag(Prot::EXEC, 'x'),
        if shared { 's' } else { 'p' },
        offset,
        dev.0,
        dev.1,
        ino
    );
    if !name.is_empty() {
        while out.len() - begin < 72 {
            out.push(' ');
        }
        out.push(' ');
        out.push_str(name);
    }
    out.push('\n');
}

/// The outcome of [`VmSpace::map`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mapped {
    /// Where the new mapping starts.
    pub addr: u64,
    /// With `fixed`, the previously mapped ranges the new mapping replaced (free their frames
    /// before backing the new mapping); empty otherwise.
    pub replaced: Vec<Range>,
}

/// The outcome of [`VmSpace::remap`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Remap {
    /// The length did not change (after rounding to pages).
    Same { addr: u64 },
    /// Shrunk in place: `released` is no longer mapped (free its frames).
    Shrunk { addr: u64, released: Range },
    /// Grew in place: `added` is newly mapped (back it with zeroed pages).
    Grown { addr: u64, added: Range },
    /// Moved: the pages of `from` now belong at `to.start + (page - from.start)` (move the
    /// frames); `to` beyond `from.len()` is newly mapped (back it with zeroed pages), and
    /// `from` is no longer mapped.
    Moved { from: Range, to: Range },
}

impl Remap {
    /// The mapping's address after the call (mremap's return value).
    pub fn addr(&self) -> u64 {
        match *self {
            Remap::Same { addr } | Remap::Shrunk { addr, .. } | Remap::Grown { addr, .. } => addr,
            Remap::Moved { to, .. } => to.start,
        }
    }
}

/// The mappings of one address space range `[base, limit)`.
#[derive(Clone, Debug)]
pub struct VmSpace {
    base: u64,
    limit: u64,
    /// Placement without a usable hint searches `[base, placement_top)` first.
    placement_top: u64,
    /// Mappings by start address: non-overlapping, page-aligned, inside the space, and no two
    /// adjacent ones with the same protection.
    maps: BTreeMap<u64, Mapping>,
}

impl VmSpace {
    /// An empty space over `[base, limit)`; both bounds are rounded inward to pages.
    pub fn new(base: u64, limit: u64) -> VmSpace {
        let base = page_round_up(base).unwrap_or(!(PAGE_SIZE - 1));
        let limit = (limit & !(PAGE_SIZE - 1)).max(base);
        VmSpace {
            base,
            limit,
            placement_top: limit,
            maps: BTreeMap::new(),
        }
    }

    /// Makes placement without a usable hint start top-down from `top` (rounded down to a
    /// page, clamped into the space) instead of from the limit: the per-boot random mmap base.
    pub fn set_placement_top(&mut self, top: u64) {
        self.placement_top = (top & !(PAGE_SIZE - 1)).clamp(self.base, self.limit);
    }

    pub fn placement_top(&self) -> u64 {
        self.placement_top
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// All mappings in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Mapping> + '_ {
        self.maps.values()
    }

    /// The files the mappings show, each with whether a `MAP_SHARED` mapping shows it.
    pub fn files(&self) -> BTreeMap<u64, bool> {
        let mut files = BTreeMap::new();
        for m in self.maps.values() {
            if let Backing::File { ino, shared, .. } = m.backing {
                *files.entry(ino).or_insert(false) |= shared;
            }
        }
        files
    }

    /// Total mapped bytes.
    pub fn mapped_bytes(&self) -> u64 {
        self.maps.values().map(|m| m.len).sum()
    }

    /// The mapping that contains `addr`.
    pub fn find(&self, addr: u64) -> Option<&Mapping> {
        self.maps
            .range(..=addr)
            .next_back()
            .map(|(_, m)| m)
            .filter(|m| m.range().contains(addr))
    }

    /// Maps `len` bytes (rounded up to pages) with `prot`.
    ///
    /// Without `fixed`, `hint` is used when the range there is free (rounded up to a page),
    /// else the space is searched top-down. With `fixed`, `hint` is the address (it must be
    /// page-aligned and the range inside the space) and anything mapped there is replaced.
    pub fn map(
        &mut self,
        hint: Option<u64>,
        len: u64,
        prot: Prot,
        fixed: bool,
    ) -> Result<Mapped, VmError> {
        self.map_backed(hint, len, prot, fixed, Backing::Anon)
    }

    /// As [`VmSpace::map`], for pages that hold `backing`.
    pub fn map_backed(
        &mut self,
        hint: Option<u64>,
        len: u64,
        prot: Prot,
        fixed: bool,
        backing: Backing,
    ) -> Result<Mapped, VmError> {
        if len == 0 {
            return Err(VmError::Inval);
        }
        let len = page_round_up(len).ok_or(VmError::NoMem)?;
        if fixed {
            let addr = hint.ok_or(VmError::Inval)?;
            if !is_page_aligned(addr) {
                return Err(VmError::Inval);
            }
            let end = self.checked_end(addr, len).ok_or(VmError::NoMem)?;
            let replaced = self.carve(addr, end);
            self.insert(Mapping {
                start: addr,
                len,
                prot,
                backing,
            });
            return Ok(Mapped { addr, replaced });
        }
        let hinted = hint.and_then(page_round_up).filter(|&h| {
            self.checked_end(h, len)
                .is_some_and(|end| self.is_free(h, end))
        });
        let addr = hinted
            .or_else(|| self.find_gap(len))
            .ok_or(VmError::NoMem)?;
        self.insert(Mapping {
            start: addr,
            len,
            prot,
            backing,
        });
        Ok(Mapped {
            addr,
            replaced: Vec::new(),
        })
    }

    /// Unmaps `[addr, addr + len)` (len rounded up to pages), splitting mappings that straddle
    /// its ends, and returns the ranges that were mapped (free their frames). Unmapping
    /// unmapped pages, or pages outside the space, is not an error (as in Linux).
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<Vec<Range>, VmError> {
        if len == 0 || !is_page_aligned(addr) {
            return Err(VmError::Inval);
        }
        let end = page_round_up(len)
            .and_then(|len| addr.checked_add(len))
            .ok_or(VmError::Inval)?;
        Ok(self.carve(addr, end))
    }

    /// Changes the protection of `[addr, addr + len)`. Fails with ENOMEM, changing nothing,
    /// if any page in the range is unmapped. A zero length succeeds.
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), VmError> {
        if !is_page_aligned(addr) {
            return Err(VmError::Inval);
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_round_up(len)
            .and_then(|len| addr.checked_add(len))
            .ok_or(VmError::NoMem)?;
        if !self.is_covered(addr, end) {
            return Err(VmError::NoMem);
        }
        for piece in self.carve_mappings(addr, end) {
            self.insert(Mapping { prot, ..piece });
        }
        Ok(())
    }

    /// Resizes the mapping at `[old, old + old_len)` to `new_len` (both rounded up to pages),
    /// like `mremap`: shrinking releases the tail, growing extends in place when the pages
    /// after it are free, else moves the range when `may_move` (`MREMAP_MAYMOVE`).
    /// The old range must lie inside one mapping (EFAULT otherwise).
    pub fn remap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
    ) -> Result<Remap, VmError> {
        if !is_page_aligned(old) || old_len == 0 || new_len == 0 {
            return Err(VmError::Inval);
        }
        let old_len = page_round_up(old_len).ok_or(VmError::Inval)?;
        let new_len = page_round_up(new_len).ok_or(VmError::Inval)?;
        let old_end = old.checked_add(old_len).ok_or(VmError::Inval)?;
        let mapping = *self.find(old).ok_or(VmError::Fault)?;
        if old_end > mapping.end() {
            return Err(VmError::Fault);
        }
        if new_len == old_len {
            return Ok(Remap::Same { addr: old });
        }
        if new_len < old_len {
            let released = Range::new(old + new_len, old_end);
            self.carve(released.start, released.end);
            return Ok(Remap::Shrunk {
                addr: old,
                released,
            });
        }
        let grown_end = self.checked_end(old, new_len);
        if let Some(new_end) = grown_end.filter(|&end| self.is_free(old_end, end)) {
            self.insert(Mapping {
                start: old_end,
                len: new_end - old_end,
                prot: mapping.prot,
                backing: mapping.backing_at(old_end),
            });
            return Ok(Remap::Grown {
                addr: old,
                added: Range::new(old_end, new_end),
            });
        }
        if !may_move {
            return Err(VmError::NoMem);
        }
        // The old range stays reserved during the search, as in Linux: no overlap.
        let to = self.find_gap(new_len).ok_or(VmError::NoMem)?;
        self.carve(old, old_end);
        self.insert(Mapping {
            start: to,
            len: new_len,
            prot: mapping.prot,
            backing: mapping.backing_at(old),
        });
        Ok(Remap::Moved {
            from: Range::new(old, old_end),
            to: Range::new(to, to + new_len),
        })
    }

    /// `addr + len` when the whole range lies inside the space.
    fn checked_end(&self, addr: u64, len: u64) -> Option<u64> {
        let end = addr.checked_add(len)?;
        (addr >= self.base && end <= self.limit).then_some(end)
    }

    /// True when no page of `[start, end)` is mapped.
    fn is_free(&self, start: u64, end: u64) -> bool {
        match self.maps.range(..end).next_back() {
            Some((_, m)) => m.end() <= start,
            None => true,
        }
    }

    /// True when every page of `[start, end)` is mapped.
    fn is_covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        match self.find(start) {
            Some(m) => at = at.max(m.end()),
            None => return false,
        }
        for (_, m) in self.maps.range(start + 1..end) {
            if m.start != at {
                return false;
            }
            at = m.end();
        }
        at >= end
    }

    /// Where a mapping of `len` bytes goes without a usable hint: the top-most free gap below
    /// the placement top, else the top-most one in the whole space; placed at the gap's top.
    fn find_gap(&self, len: u64) -> Option<u64> {
        self.find_gap_in(self.base, self.placement_top, len)
            .or_else(|| self.find_gap_in(self.base, self.limit, len))
    }

    /// The start of the top-most free gap of `len` bytes inside `[lo, hi)`, at the gap's top.
    fn find_gap_in(&self, lo: u64, hi: u64, len: u64) -> Option<u64> {
        let mut gap_end = hi;
        for m in self.maps.range(..hi).rev().map(|(_, m)| m) {
            let end = m.end().min(hi);
            if end < lo {
                break;
            }
            if gap_end - end >= len {
                return Some(gap_end - len);
            }
            if m.start <= lo {
                return None;
            }
            gap_end = m.start;
        }
        (gap_end - lo >= len).then(|| gap_end - len)
    }

    /// Removes `[start, end)` from every mapping, splitting the ones that straddle its ends,
    /// and returns the removed ranges in address order.
    fn carve(&mut self, start: u64, end: u64) -> Vec<Range> {
        self.carve_mappings(start, end)
            .iter()
            .map(Mapping::range)
            .collect()
    }

    /// As `carve`, returning the removed pieces with their protection and backing.
    fn carve_mappings(&mut self, start: u64, end: u64) -> Vec<Mapping> {
        let mut removed = Vec::new();
        if start >= end {
            return removed;
        }
        // A mapping that begins before `start` and reaches into the range.
        let first = self.find(start).copied().filter(|m| m.start < start);
        let starts: Vec<u64> = first
            .iter()
            .map(|m| m.start)
            .chain(self.maps.range(start..end).map(|(&s, _)| s))
            .collect();
        for s in starts {
            let Some(m) = self.maps.remove(&s) else {
                continue;
            };
            let cut = Range::new(m.start.max(start), m.end().min(end));
            if m.start < cut.start {
                self.maps.insert(
                    m.start,
                    Mapping {
                        len: cut.start - m.start,
                        ..m
                    },
                );
            }
            if cut.end < m.end() {
                let tail = Mapping {
                    start: cut.end,
                    len: m.end() - cut.end,
                    prot: m.prot,
                    backing: m.backing_at(cut.end),
                };
                self.maps.insert(tail.start, tail);
            }
            removed.push(Mapping {
                start: cut.start,
                len: cut.len(),
                prot: m.prot,
                backing: m.backing_at(cut.start),
            });
        }
        removed
    }

    /// Adds a mapping over free pages, merging it with neighbours of the same protection
    /// whose backing continues into it.
    fn insert(&mut self, mut new: Mapping) {
        let before = self.maps.range(..new.start).next_back().map(|(_, m)| *m);
        if let Some(prev) = before.filter(|p| {
            p.end() == new.start
                && p.prot == new.prot
                && p.backing.continues_into(p.len, new.backing)
        }) {
            self.maps.remove(&prev.start);
            new = Mapping {
                start: prev.start,
                len: prev.len + new.len,
                prot: new.prot,
                backing: prev.backing,
            };
        }
        if let Some(next) = self
            .maps
            .get(&new.end())
            .copied()
            .filter(|n| n.prot == new.prot && new.backing.continues_into(new.len, n.backing))
        {
            self.maps.remove(&next.start);
            new.len += next.len;
        }
        self.maps.insert(new.start, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE;
    const BASE: u64 = 0x1000_0000;
    const RW: Prot = Prot(3);
    const R: Prot = Prot::READ;

    fn space(pages: u64) -> VmSpace {
        VmSpace::new(BASE, BASE + pages * P)
    }

    fn maps(vm: &VmSpace) -> Vec<(u64, u64, Prot)> {
        vm.iter()
            .map(|m| ((m.start - BASE) / P, m.len / P, m.prot))
            .collect()
    }

    fn r(start_page: u64, end_page: u64) -> Range {
        Range::new(BASE + start_page * P, BASE + end_page * P)
    }

    fn map(vm: &mut VmSpace, len: u64, prot: Prot) -> u64 {
        vm.map(None, len, prot, false).unwrap().addr
    }

    #[test]
    fn maps_top_down_and_rounds_up() {
        let mut vm = space(16);
        assert_eq!(map(&mut vm, 1, RW), BASE + 15 * P);
        assert_eq!(map(&mut vm, 2 * P, R), BASE + 13 * P);
        assert_eq!(map(&mut vm, P + 1, RW), BASE + 11 * P);
        assert_eq!(maps(&vm), [(11, 2, RW), (13, 2, R), (15, 1, RW)]);
        assert_eq!(vm.mapped_bytes(), 5 * P);
    }

    #[test]
    fn placement_starts_below_the_placement_top() {
        let mut vm = space(16);
        vm.set_placement_top(BASE + 10 * P + 5); // rounds down to page 10
        assert_eq!(vm.placement_top(), BASE + 10 * P);
        assert_eq!(map(&mut vm, P, RW), BASE + 9 * P);
        assert_eq!(map(&mut vm, 2 * P, R), BASE + 7 * P);
        // A fixed mapping straddling the placement top does not confuse the search.
        vm.map(Some(BASE + 6 * P), 5 * P, RW, true).unwrap();
        assert_eq!(map(&mut vm, P, R), BASE + 5 * P);
        assert_eq!(map(&mut vm, 5 * P, RW), BASE);
        // Nothing fits below any more: the whole space is searched, top-down.
        assert_eq!(map(&mut vm, 5 * P, R), BASE + 11 * P);
        assert_eq!(vm.map(None, P, RW, false), Err(VmError::NoMem));
        // Clamped into the space.
        vm.set_placement_top(0);
        assert_eq!(vm.placement_top(), BASE);
        vm.set_placement_top(u64::MAX);
        assert_eq!(vm.placement_top(), BASE + 16 * P);
    }

    #[test]
    fn rejects_bad_arguments() {
        let mut vm = space(16);
        assert_eq!(vm.map(None, 0, RW, false), Err(VmError::Inval));
        assert_eq!(vm.map(None, u64::MAX, RW, false), Err(VmError::NoMem));
        assert_eq!(vm.map(Some(BASE + 1), P, RW, true), Err(VmError::Inval));
        assert_eq!(vm.map(None, P, RW, true), Err(VmError::Inval));
        assert_eq!(vm.map(Some(BASE - P), P, RW, true), Err(VmError::NoMem));
        assert_eq!(
            vm.map(Some(BASE + 15 * P), 2 * P, RW, true),
            Err(VmError::NoMem)
        );
        assert_eq!(vm.map(Some(!(P - 1)), 2 * P, RW, true), Err(VmError::NoMem));
        assert_eq!(vm.unmap(BASE + 1, P), Err(VmError::Inval));
        assert_eq!(vm.unmap(BASE, 0), Err(VmError::Inval));
        assert_eq!(vm.unmap(!(P - 1), 2 * P), Err(VmError::Inval));
        assert_eq!(vm.protect(BASE + 1, P, R), Err(VmError::Inval));
        assert_eq!(vm.remap(BASE + 1, P, P, true), Err(VmError::Inval));
        assert_eq!(vm.remap(BASE, 0, P, true), Err(VmError::Inval));
        assert_eq!(vm.remap(BASE, P, 0, true), Err(VmError::Inval));
        assert!(maps(&vm).is_empty());
        assert_eq!(VmError::NoMem.errno(), errno::ENOMEM);
        assert_eq!(Errno::from(VmError::Fault), errno::EFAULT);
    }

    #[test]
    fn hint_is_taken_when_free() {
        let mut vm = space(16);
        assert_eq!(
            vm.map(Some(BASE + 2 * P), P, RW, false).unwrap().addr,
            BASE + 2 * P
        );
        // Rounded up to a page.
        assert_eq!(
            vm.map(Some(BASE + 4 * P + 7), P, RW, false).unwrap().addr,
            BASE + 5 * P
        );
        // Occupied, outside, or overflowing: placed top-down instead.
        assert_eq!(
            vm.map(Some(BASE + 2 * P), P, RW, false).unwrap().addr,
            BASE + 15 * P
        );
        assert_eq!(
            vm.map(Some(0x1000), P, RW, false).unwrap().addr,
            BASE + 14 * P
        );
        assert_eq!(
            vm.map(Some(u64::MAX - 5), P, RW, false).unwrap().addr,
            BASE + 13 * P
        );
        assert_eq!(
            vm.map(Some(BASE + 15 * P), 2 * P, RW, false).unwrap().addr,
            BASE + 11 * P
        );
    }

    #[test]
    fn merges_same_protection_neighbours_only() {
        let mut vm = space(16);
        vm.map(Some(BASE), P, RW, true).unwrap();
        vm.map(Some(BASE + 2 * P), P, RW, true).unwrap();
        vm.map(Some(BASE + P), P, RW, true).unwrap();
        assert_eq!(maps(&vm), [(0, 3, RW)]);
        vm.map(Some(BASE + 3 * P), P, R, true).unwrap();
        assert_eq!(maps(&vm), [(0, 3, RW), (3, 1, R)]);
    }

    #[test]
    fn fixed_replaces_and_reports() {
        let mut vm = space(16);
        vm.map(Some(BASE + 2 * P), 3 * P, RW, true).unwrap(); // pages 2..5
        vm.map(Some(BASE + 7 * P), 2 * P, R, true).unwrap(); // pages 7..9
        let m = vm.map(Some(BASE + 4 * P), 4 * P, Prot::EXEC, true).unwrap(); // pages 4..8
        assert_eq!(m.addr, BASE + 4 * P);
        assert_eq!(m.replaced, [r(4, 5), r(7, 8)]);
        assert_eq!(maps(&vm), [(2, 2, RW), (4, 4, Prot::EXEC), (8, 1, R)]);
        // Over free space nothing is replaced.
        let m = vm.map(Some(BASE + 12 * P), P, RW, true).unwrap();
        assert!(m.replaced.is_empty());
        // Exactly over an existing mapping.
        let m = vm.map(Some(BASE + 12 * P), P, R, true).unwrap();
        assert_eq!(m.replaced, [r(12, 13)]);
        assert_eq!(vm.find(BASE + 12 * P).unwrap().prot, R);
    }

    #[test]
    fn unmap_splits_and_reports_mapped_parts() {
        let mut vm = space(16);
        vm.map(Some(BASE), 8 * P, RW, true).unwrap();
        assert_eq!(vm.unmap(BASE + 3 * P, 2 * P).unwrap(), [r(3, 5)]);
        assert_eq!(maps(&vm), [(0, 3, RW), (5, 3, RW)]);
        // Across the hole and both pieces: only mapped parts come back.
        assert_eq!(vm.unmap(BASE + 2 * P, 4 * P).unwrap(), [r(2, 3), r(5, 6)]);
        assert_eq!(maps(&vm), [(0, 2, RW), (6, 2, RW)]);
        // Nothing mapped there, or outside the space: fine, nothing returned.
        assert!(vm.unmap(BASE + 10 * P, 3 * P).unwrap().is_empty());
        assert!(vm.unmap(0x1000, P).unwrap().is_empty());
        // A partial page length unmaps the whole page.
        assert_eq!(vm.unmap(BASE, 1).unwrap(), [r(0, 1)]);
        assert_eq!(vm.unmap(BASE, 16 * P).unwrap(), [r(1, 2), r(6, 8)]);
        assert!(maps(&vm).is_empty());
    }

    #[test]
    fn freed_space_is_reused_whole() {
        let mut vm = space(8);
        let a = map(&mut vm, 2 * P, RW);
        let b = map(&mut vm, 2 * P, R);
        let _c = map(&mut vm, 4 * P, RW);
        assert_eq!(vm.map(None, P, RW, false), Err(VmError::NoMem));
        vm.unmap(a, 2 * P).unwrap();
        vm.unmap(b, 2 * P).unwrap();
        // The two freed neighbours form one gap of four pages.
        assert_eq!(map(&mut vm, 4 * P, RW), BASE + 4 * P);
        assert_eq!(maps(&vm), [(0, 8, RW)]);
    }

    #[test]
    fn exhaustion_and_first_fit() {
        let mut vm = space(10);
        let mut addrs = Vec::new();
        for _ in 0..10 {
            addrs.push(map(&mut vm, P, RW));
        }
        assert_eq!(vm.map(None, P, RW, false), Err(VmError::NoMem));
        assert_eq!(vm.mapped_bytes(), 10 * P);
        // Free pages 2 and 5..7: a 2-page request takes the top of the higher gap.
        vm.unmap(BASE + 2 * P, P).unwrap();
        vm.unmap(BASE + 5 * P, 2 * P).unwrap();
        assert_eq!(vm.map(None, 3 * P, RW, false), Err(VmError::NoMem));
        assert_eq!(map(&mut vm, P, R), BASE + 6 * P);
        assert_eq!(map(&mut vm, P, R), BASE + 5 * P);
        assert_eq!(map(&mut vm, P, R), BASE + 2 * P);
        assert_eq!(vm.map(None, P, RW, false), Err(VmError::NoMem));
        // An empty space cannot map anything.
        let mut empty = VmSpace::new(BASE, BASE);
        assert_eq!(empty.map(None, P, RW, false), Err(VmError::NoMem));
    }

    #[test]
    fn protect_splits_and_merges_back() {
        let mut vm = space(16);
        vm.map(Some(BASE), 6 * P, RW, true).unwrap();
        vm.protect(BASE + 2 * P, 2 * P, R).unwrap();
        assert_eq!(maps(&vm), [(0, 2, RW), (2, 2, R), (4, 2, RW)]);
        vm.protect(BASE + 2 * P, 2 * P, RW).unwrap();
        assert_eq!(maps(&vm), [(0, 6, RW)]);
        vm.protect(BASE, 6 * P, Prot::NONE).unwrap();
        assert_eq!(maps(&vm), [(0, 6, Prot::NONE)]);
        assert_eq!(vm.protect(BASE + 9 * P, 0, R), Ok(()));
    }

    #[test]
    fn protect_over_a_hole_changes_nothing() {
        let mut vm = space(16);
        vm.map(Some(BASE), 2 * P, RW, true).unwrap();
        vm.map(Some(BASE + 3 * P), 2 * P, RW, true).unwrap();
        let before = maps(&vm);
        assert_eq!(vm.protect(BASE, 5 * P, R), Err(VmError::NoMem));
        assert_eq!(vm.protect(BASE + 4 * P, 2 * P, R), Err(VmError::NoMem));
        assert_eq!(vm.protect(BASE + 8 * P, P, R), Err(VmError::NoMem));
        assert_eq!(maps(&vm), before);
        // Across two differently protected but touching mappings is fine.
        vm.map(Some(BASE + 2 * P), P, Prot::EXEC, true).unwrap();
        vm.protect(BASE + P, 3 * P, R).unwrap();
        assert_eq!(maps(&vm), [(0, 1, RW), (1, 3, R), (4, 1, RW)]);
    }

    #[test]
    fn remap_shrinks_in_place() {
        let mut vm = space(16);
        let a = map(&mut vm, 4 * P, RW);
        assert_eq!(
            vm.remap(a, 4 * P, P + 1, false),
            Ok(Remap::Shrunk {
                addr: a,
                released: Range::new(a + 2 * P, a + 4 * P)
            })
        );
        assert_eq!(maps(&vm), [(12, 2, RW)]);
        assert_eq!(
            vm.remap(a, 2 * P, 2 * P - 5, false),
            Ok(Remap::Same { addr: a })
        );
    }

    #[test]
    fn remap_grows_in_place_when_free() {
        let mut vm = space(16);
        vm.map(Some(BASE + 2 * P), 2 * P, RW, true).unwrap();
        let got = vm.remap(BASE + 2 * P, 2 * P, 5 * P, false).unwrap();
        assert_eq!(
            got,
            Remap::Grown {
                addr: BASE + 2 * P,
                added: r(4, 7)
            }
        );
        assert_eq!(got.addr(), BASE + 2 * P);
        assert_eq!(maps(&vm), [(2, 5, RW)]);
        // Up to the limit but not past it.
        vm.map(Some(BASE + 14 * P), P, R, true).unwrap();
        assert_eq!(
            vm.remap(BASE + 14 * P, P, 2 * P, false).unwrap().addr(),
            BASE + 14 * P
        );
        assert_eq!(
            vm.remap(BASE + 14 * P, 2 * P, 3 * P, false),
            Err(VmError::NoMem)
        );
    }

    #[test]
    fn remap_moves_only_when_allowed() {
        let mut vm = space(16);
        vm.map(Some(BASE), 2 * P, RW, true).unwrap();
        vm.map(Some(BASE + 2 * P), P, R, true).unwrap(); // blocks growth
        assert_eq!(vm.remap(BASE, 2 * P, 4 * P, false), Err(VmError::NoMem));
        assert_eq!(maps(&vm), [(0, 2, RW), (2, 1, R)]);
        let got = vm.remap(BASE, 2 * P, 4 * P, true).unwrap();
        assert_eq!(
            got,
            Remap::Moved {
                from: r(0, 2),
                to: r(12, 16)
            }
        );
        assert_eq!(got.addr(), BASE + 12 * P);
        assert_eq!(maps(&vm), [(2, 1, R), (12, 4, RW)]);
    }

    #[test]
    fn remap_part_of_a_mapping() {
        let mut vm = space(16);
        vm.map(Some(BASE), 4 * P, RW, true).unwrap();
        // The first two pages of a four-page mapping cannot grow in place: they move.
        let got = vm.remap(BASE, 2 * P, 3 * P, true).unwrap();
        assert_eq!(
            got,
            Remap::Moved {
                from: r(0, 2),
                to: r(13, 16)
            }
        );
        assert_eq!(maps(&vm), [(2, 2, RW), (13, 3, RW)]);
        // The tail of a mapping grows in place.
        let got = vm.remap(BASE + 3 * P, P, 2 * P, false).unwrap();
        assert_eq!(
            got,
            Remap::Grown {
                addr: BASE + 3 * P,
                added: r(4, 5)
            }
        );
    }

    #[test]
    fn remap_needs_one_mapping() {
        let mut vm = space(16);
        vm.map(Some(BASE), P, RW, true).unwrap();
        vm.map(Some(BASE + P), P, R, true).unwrap();
        assert_eq!(vm.remap(BASE, 2 * P, 3 * P, true), Err(VmError::Fault));
        assert_eq!(vm.remap(BASE + 5 * P, P, 2 * P, true), Err(VmError::Fault));
        // No room anywhere to move to.
        let mut full = space(4);
        full.map(Some(BASE), 2 * P, RW, true).unwrap();
        full.map(Some(BASE + 2 * P), 2 * P, R, true).unwrap();
        assert_eq!(full.remap(BASE, 2 * P, 3 * P, true), Err(VmError::NoMem));
        assert_eq!(maps(&full), [(0, 2, RW), (2, 2, R)]);
    }

    #[test]
    fn find_and_prot() {
        let mut vm = space(16);
        vm.map(Some(BASE + P), 2 * P, RW, true).unwrap();
        assert_eq!(vm.find(BASE), None);
        assert_eq!(vm.find(BASE + P).map(|m| m.range()), Some(r(1, 3)));
        assert_eq!(vm.find(BASE + 3 * P - 1).map(|m| m.start), Some(BASE + P));
        assert_eq!(vm.find(BASE + 3 * P), None);
        assert_eq!(Prot::from_bits(5), Some(Prot::READ | Prot::EXEC));
        assert_eq!(Prot::from_bits(8), None);
        assert_eq!(format!("{:?}", Prot::READ | Prot::WRITE), "rw-");
        assert!(RW.writable() && RW.readable() && !RW.executable());
    }

    /// Random operations against a page-array model: every page's state must agree, the
    /// invariants must hold, and the reported ranges must be exactly the pages that changed.
    #[test]
    fn matches_a_page_model() {
        page_model(None);
    }

    #[test]
    fn matches_a_page_model_with_a_placement_top() {
        page_model(Some(BASE + 29 * P));
    }

    /// Random operations against a page-by-page model; `top` is the placement top.
    fn page_model(top: Option<u64>) {
        const PAGES: usize = 48;
        let mut vm = space(PAGES as u64);
        if let Some(top) = top {
            vm.set_placement_top(top);
        }
        let mut model: Vec<Option<Prot>> = vec![None; PAGES];
        let prots = [Prot::NONE, R, RW, Prot::EXEC];
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let page = |addr: u64| ((addr - BASE) / P) as usize;
        let pages_in = |ranges: &[Range]| -> Vec<usize> {
            ranges
                .iter()
                .flat_map(|r| page(r.start)..page(r.end))
                .collect()
        };
        for _ in 0..if cfg!(miri) { 40 } else { 20_000 } {
            let (start, len) = (next(PAGES as u64 + 2), next(6) + 1);
            let addr = BASE + start * P;
            let prot = prots[next(4) as usize];
            let span = |model: &Vec<Option<Prot>>| {
                (start..start + len)
                    .filter(|&p| (p as usize) < PAGES && model[p as usize].is_some())
                    .map(|p| p as usize)
                    .collect::<Vec<_>>()
            };
            match next(5) {
                0 => match vm.map(None, len * P, prot, false) {
                    Ok(m) => {
                        let pages = page(m.addr)..page(m.addr) + len as usize;
                        assert!(model[pages.clone()].iter().all(Option::is_none));
                        model[pages].fill(Some(prot));
                    }
                    Err(e) => {
                        assert_eq!(e, VmError::NoMem);
                        assert!(model
                            .windows(len as usize)
                            .all(|w| w.iter().any(Option::is_some)));
                    }
                },
                1 => match vm.map(Some(addr), len * P, prot, true) {
                    Ok(m) => {
                        assert_eq!(pages_in(&m.replaced), span(&model));
                        model[start as usize..(start + len) as usize].fill(Some(prot));
                    }
                    Err(e) => {
                        assert_eq!(e, VmError::NoMem);
                        assert!(start + len > PAGES as u64);
                    }
                },
                2 => {
                    let gone = vm.unmap(addr, len * P).unwrap();
                    assert_eq!(pages_in(&gone), span(&model));
                    for p in span(&model) {
                        model[p] = None;
                    }
                }
                3 => {
                    let covered = start + len <= PAGES as u64 && span(&model).len() == len as usize;
                    match vm.protect(addr, len * P, prot) {
                        Ok(()) => {
                            assert!(covered);
                            model[start as usize..(start + len) as usize].fill(Some(prot));
                        }
                        Err(e) => assert!(e == VmError::NoMem && !covered),
                    }
                }
                _ => {
                    let new_len = next(6) + 1;
                    if let Ok(got) = vm.remap(addr, len * P, new_len * P, next(2) == 0) {
                        let old_prot = model[start as usize].unwrap();
                        match got {
                            Remap::Same { .. } => assert_eq!(new_len, len),
                            Remap::Shrunk { released, .. } => {
                                model[page(released.start)..page(released.end)].fill(None);
                            }
                            Remap::Grown { added, .. } => {
                                let pages = page(added.start)..page(added.end);
                                assert!(model[pages.clone()].iter().all(Option::is_none));
                                model[pages].fill(Some(old_prot));
                            }
                            Remap::Moved { from, to } => {
                                model[page(from.start)..page(from.end)].fill(None);
                                let pages = page(to.start)..page(to.end);
                                assert!(model[pages.clone()].iter().all(Option::is_none));
                                model[pages].fill(Some(old_prot));
                            }
                        }
                    }
                }
            }
            // Page states agree, and mappings are maximal runs.
            let mut expect = Vec::new();
            for (p, &state) in model.iter().enumerate() {
                match (state, expect.last_mut()) {
                    (None, _) => {}
                    (Some(prot), Some((s, l, q))) if *q == prot && *s + *l == p as u64 => *l += 1,
                    (Some(prot), _) => expect.push((p as u64, 1, prot)),
                }
            }
            assert_eq!(maps(&vm), expect);
        }
    }

    fn file(ino: u64, page: u64, shared: bool) -> Backing {
        Backing::File {
            ino,
            offset: page * P,
            shared,
        }
    }

    fn backings(vm: &VmSpace) -> Vec<(u64, u64, Backing)> {
        vm.iter()
            .map(|m| ((m.start - BASE) / P, m.len / P, m.backing))
            .collect()
    }

    #[test]
    fn file_mappings_merge_only_when_the_file_continues() {
        let mut vm = space(32);
        let at = |p: u64| Some(BASE + p * P);
        vm.map_backed(at(0), 2 * P, R, true, file(7, 0, false))
            .unwrap();
        // The same file at the next offsets: one mapping.
        vm.map_backed(at(2), P, R, true, file(7, 2, false)).unwrap();
        // A gap in the offsets, another file, shared vs private, anonymous: separate.
        vm.map_backed(at(3), P, R, true, file(7, 9, false)).unwrap();
        vm.map_backed(at(4), P, R, true, file(8, 10, false))
            .unwrap();
        vm.map_backed(at(5), P, R, true, file(8, 11, true)).unwrap();
        vm.map(at(6), P, R, true).unwrap();
        vm.map(at(7), P, R, true).unwrap();
        assert_eq!(
            backings(&vm),
            [
                (0, 3, file(7, 0, false)),
                (3, 1, file(7, 9, false)),
                (4, 1, file(8, 10, false)),
                (5, 1, file(8, 11, true)),
                (6, 2, Backing::Anon),
            ]
        );
    }

    #[test]
    fn files_lists_each_mapped_file_once_with_its_sharing() {
        let mut vm = space(32);
        let at = |p: u64| Some(BASE + p * P);
        assert!(vm.files().is_empty());
        vm.map_backed(at(0), P, R, true, file(4, 0, false)).unwrap();
        vm.map_backed(at(2), P, R, true, file(4, 5, true)).unwrap();
        vm.map_backed(at(4), P, R, true, file(9, 0, false)).unwrap();
        vm.map(at(6), P, R, true).unwrap();
        assert_eq!(
            vm.files().into_iter().collect::<Vec<_>>(),
            [(4, true), (9, false)]
        );
        // Unmapping the shared piece leaves the file mapped privately only.
        vm.unmap(BASE + 2 * P, P).unwrap();
        assert_eq!(
            vm.files().into_iter().collect::<Vec<_>>(),
            [(4, false), (9, false)]
        );
        // Replacing a file mapping with anonymous memory drops the file.
        vm.map(at(4), P, RW, true).unwrap();
        assert_eq!(vm.files().into_iter().collect::<Vec<_>>(), [(4, false)]);
    }

    #[test]
    fn maps_lines_look_like_linux() {
        let mut out = alloc::string::String::new();
        // From a Linux host's /proc/self/maps.
        maps_line(
            &mut out,
            Range::new(0x555a_81a4_7000, 0x555a_81a4_d000),
            Prot::READ | Prot::EXEC,
            false,
            0x2000,
            (0xfe, 0),
            247282,
            "/usr/bin/head",
        );
        maps_line(
            &mut out,
            Range::new(0x7f1c_5c00_0000, 0x7f1c_5c02_1000),
            RW,
            false,
            0,
            (0, 0),
            0,
            "",
        );
        maps_line(
            &mut out,
            Range::new(0x1000, 0x3000),
            RW,
            true,
            0x4000,
            (0, 0x1a),
            12,
            "[stack]",
        );
        assert_eq!(
            out,
            "555a81a47000-555a81a4d000 r-xp 00002000 fe:00 247282                     \
             /usr/bin/head\n\
             7f1c5c000000-7f1c5c021000 rw-p 00000000 00:00 0 \n\
             00001000-00003000 rw-s 00004000 00:1a 12                                 \
             [stack]\n"
        );
    }

    #[test]
    fn splitting_a_file_mapping_keeps_each_pieces_offset() {
        let mut vm = space(32);
        vm.map_backed(Some(BASE), 8 * P, RW, true, file(3, 4, true))
            .unwrap();
        // Unmap the middle: the tail shows the file from its own page on.
        assert_eq!(vm.unmap(BASE + 2 * P, 2 * P).unwrap(), [r(2, 4)]);
        // Protect part of the tail: the pieces keep their offsets and merge back.
        vm.protect(BASE + 5 * P, P, R).unwrap();
        assert_eq!(
            backings(&vm),
            [
                (0, 2, file(3, 4, true)),
                (4, 1, file(3, 8, true)),
                (5, 1, file(3, 9, true)),
                (6, 2, file(3, 10, true)),
            ]
        );
        vm.protect(BASE + 5 * P, P, RW).unwrap();
        assert_eq!(
            backings(&vm),
            [(0, 2, file(3, 4, true)), (4, 4, file(3, 8, true))]
        );
        assert_eq!(
            vm.find(BASE + 6 * P).unwrap().backing_at(BASE + 6 * P),
            file(3, 10, true)
        );
    }

    #[test]
    fn remapping_a_file_mapping_keeps_its_offsets() {
        let mut vm = space(32);
        vm.map_backed(Some(BASE + 10 * P), 2 * P, R, true, file(5, 1, false))
            .unwrap();
        // Grown in place: the new pages continue the file.
        vm.remap(BASE + 10 * P, 2 * P, 3 * P, false).unwrap();
        assert_eq!(backings(&vm), [(10, 3, file(5, 1, false))]);
        // Moved from its second page: the new place starts at that page's offset.
        vm.map(Some(BASE + 13 * P), P, R, true).unwrap();
        let moved = vm.remap(BASE + 11 * P, 2 * P, 4 * P, true).unwrap();
        let to = moved.addr();
        assert_eq!(
            vm.find(to).unwrap().backing,
            file(5, 2, false),
            "{:?}",
            backings(&vm)
        );
        assert_eq!(vm.find(BASE + 10 * P).unwrap().backing, file(5, 1, false));
    }
}
