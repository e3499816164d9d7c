//! Reader of the `.kiln_syms` blob: function addresses to names for fault backtraces.
//!
//! Format (written by `kiln link`, see docs/ARCHITECTURE.md "Symbol table"), all little-endian:
//!
//! ```text
//! "KSYM"  u32 count
//! count × { u64 addr, u32 size, u32 name_off }   sorted by addr
//! string table: NUL-terminated names; name_off counts from the table's start
//! ```
//!
//! [`SymbolTable::parse`] checks everything up front (magic, lengths, order, every name's
//! offset, terminator and UTF-8), so [`SymbolTable::lookup`] never fails on a bad blob and
//! nothing here panics on any input. An empty blob is a valid, empty table.
#![forbid(unsafe_code)]

use core::fmt;

/// The four magic bytes at the start of the blob.
pub const MAGIC: [u8; 4] = *b"KSYM";
/// Size of the header: magic and count.
pub const HEADER_LEN: usize = 8;
/// Size of one entry: `addr`, `size`, `name_off`.
pub const ENTRY_LEN: usize = 16;

/// Why a symbol blob was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SymError {
    /// Shorter than its header or its `count` entries.
    Truncated,
    /// Does not start with `KSYM`.
    BadMagic,
    /// Entries are not sorted by address (entry index given).
    Unsorted(usize),
    /// An entry's name offset lies outside the string table (entry index given).
    NameOutOfRange(usize),
    /// An entry's name has no NUL before the end of the blob (entry index given).
    NameUnterminated(usize),
    /// An entry's name is not UTF-8 (entry index given).
    NameNotUtf8(usize),
}

impl fmt::Display for SymError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymError::Truncated => write!(f, "symbol table truncated"),
            SymError::BadMagic => write!(f, "symbol table lacks the KSYM magic"),
            SymError::Unsorted(i) => write!(f, "symbol table entry {i} out of order"),
            SymError::NameOutOfRange(i) => {
                write!(f, "symbol table entry {i}: name offset out of range")
            }
            SymError::NameUnterminated(i) => {
                write!(f, "symbol table entry {i}: name not terminated")
            }
            SymError::NameNotUtf8(i) => write!(f, "symbol table entry {i}: name not UTF-8"),
        }
    }
}

/// One decoded entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Symbol<'a> {
    pub addr: u64,
    pub size: u32,
    pub name: &'a str,
}

/// A validated view of a `.kiln_syms` blob. The default is the empty table.
#[derive(Clone, Copy, Debug, Default)]
pub struct SymbolTable<'a> {
    /// The entries, `count * ENTRY_LEN` bytes.
    entries: &'a [u8],
    /// The string table: everything after the entries.
    strings: &'a [u8],
}

impl<'a> SymbolTable<'a> {
    /// An empty table (no symbols: addresses are printed bare).
    pub const fn empty() -> SymbolTable<'static> {
        SymbolTable {
            entries: &[],
            strings: &[],
        }
    }

    /// Checks and wraps a blob. Never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<SymbolTable<'a>, SymError> {
        if bytes.is_empty() {
            return Ok(SymbolTable::empty());
        }
        if bytes.len() < HEADER_LEN {
            return Err(SymError::Truncated);
        }
        if bytes[..4] != MAGIC {
            return Err(SymError::BadMagic);
        }
        let count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let entries_end = count
            .checked_mul(ENTRY_LEN)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .ok_or(SymError::Truncated)?;
        if entries_end > bytes.len() {
            return Err(SymError::Truncated);
        }
        let table = SymbolTable {
            entries: &bytes[HEADER_LEN..entries_end],
            strings: &bytes[entries_end..],
        };
        let mut previous = 0u64;
        for index in 0..count {
            let (addr, _, name_off) = table.raw(index);
            if addr < previous {
                return Err(SymError::Unsorted(index));
            }
            previous = addr;
            table.name_at(index, name_off)?;
        }
        Ok(table)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY_LEN
    }

    /// True when the table holds no symbols.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The symbol at `index` (in address order), if any.
    pub fn get(&self, index: usize) -> Option<Symbol<'a>> {
        if index >= self.len() {
            return None;
        }
        let (addr, size, name_off) = self.raw(index);
        // `parse` checked every name, so this cannot fail; stay total anyway.
        let name = self.name_at(index, name_off).ok()?;
        Some(Symbol { addr, size, name })
    }

    /// All symbols in address order.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// The function containing `addr` and the offset of `addr` into it. An address past the
    /// end of the nearest symbol below it (or below every symbol) has no name.
    pub fn lookup(&self, addr: u64) -> Option<(&'a str, u64)> {
        // First entry whose start lies above `addr`; candidates are the ones before it.
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.raw(mid).0 <= addr {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        // Several symbols may share a start address (aliases): take the first that covers it.
        let start = self.raw(low.checked_sub(1)?).0;
        (0..low)
            .rev()
            .map_while(|i| self.get(i).filter(|s| s.addr == start))
            .find(|s| addr - s.addr < u64::from(s.size))
            .map(|s| (s.name, addr - s.addr))
    }

    /// Entry `index` as (addr, size, name_off); `index` must be below `len()`.
    fn raw(&self, index: usize) -> (u64, u32, u32) {
        let at = index * ENTRY_LEN;
        let e = &self.entries[at..at + ENTRY_LEN];
        let addr = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
        let size = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
        let name_off = u32::from_le_bytes([e[12], e[13], e[14], e[15]]);
        (addr, size, name_off)
    }

    fn name_at(&self, index: usize, name_off: u32) -> Result<&'a str, SymError> {
        let rest = self
            .strings
            .get(name_off as usize..)
            .filter(|rest| !rest.is_empty())
            .ok_or(SymError::NameOutOfRange(index))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(SymError::NameUnterminated(index))?;
        core::str::from_utf8(&rest[..len]).map_err(|_| SymError::NameNotUtf8(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a blob the way `kiln link` writes it.
    fn blob(symbols: &[(u64, u32, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut strings = Vec::new();
        out.extend_from_slice(b"KSYM");
        out.extend_from_slice(&(symbols.len() as u32).to_le_bytes());
        for &(addr, size, name) in symbols {
            out.extend_from_slice(&addr.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
        }
        out.extend_from_slice(&strings);
        out
    }

    const SAMPLE: &[(u64, u32, &str)] = &[
        (0x201000, 0x40, "_start"),
        (0x201040, 0x10, "main"),
        (0x201100, 0x100, "std::vector<int>::push_back(int&&)"),
    ];

    #[test]
    fn empty_is_valid() {
        let t = SymbolTable::parse(&[]).unwrap();
        assert!(t.is_empty());
        assert!(SymbolTable::default().is_empty());
        assert_eq!(SymbolTable::default().lookup(0), None);
        assert_eq!(t.lookup(0x201000), None);
        let bytes = blob(&[]);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(u64::MAX), None);
    }

    #[test]
    fn lookup_finds_containing_symbol() {
        let bytes = blob(SAMPLE);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(0x201000), Some(("_start", 0)));
        assert_eq!(t.lookup(0x20103f), Some(("_start", 0x3f)));
        assert_eq!(t.lookup(0x201040), Some(("main", 0)));
        assert_eq!(t.lookup(0x20104f), Some(("main", 0xf)));
        assert_eq!(
            t.lookup(0x201123),
            Some(("std::vector<int>::push_back(int&&)", 0x23))
        );
    }

    #[test]
    fn lookup_misses_outside_symbols() {
        let bytes = blob(SAMPLE);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(0x200fff), None);
        assert_eq!(t.lookup(0x201050), None); // past main's size, before the next symbol
        assert_eq!(t.lookup(0x201200), None); // past the last symbol
        assert_eq!(t.lookup(u64::MAX), None);
    }

    #[test]
    fn aliases_and_zero_sizes() {
        let bytes = blob(&[(0x1000, 0, "tiny"), (0x1000, 0x20, "big"), (0x2000, 8, "x")]);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.lookup(0x1010), Some(("big", 0x10)));
        assert_eq!(t.lookup(0x1000), Some(("big", 0)));
        let bytes = blob(&[(0x1000, 0x20, "big"), (0x1000, 4, "small")]);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.lookup(0x1002), Some(("small", 2)));
        assert_eq!(t.lookup(0x1010), Some(("big", 0x10)));
    }

    #[test]
    fn iterates_in_order() {
        let bytes = blob(SAMPLE);
        let t = SymbolTable::parse(&bytes).unwrap();
        let names: Vec<_> = t.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["_start", "main", "std::vector<int>::push_back(int&&)"]
        );
        assert_eq!(
            t.get(1),
            Some(Symbol {
                addr: 0x201040,
                size: 0x10,
                name: "main"
            })
        );
        assert_eq!(t.get(3), None);
    }

    #[test]
    fn rejects_bad_header() {
        assert_eq!(SymbolTable::parse(b"KSY").unwrap_err(), SymError::Truncated);
        assert_eq!(
            SymbolTable::parse(b"KSYM\0\0\0").unwrap_err(),
            SymError::Truncated
        );
        assert_eq!(
            SymbolTable::parse(b"ELF!\0\0\0\0").unwrap_err(),
            SymError::BadMagic
        );
        // A count that does not fit, and one whose size overflows.
        assert_eq!(
            SymbolTable::parse(b"KSYM\x01\0\0\0").unwrap_err(),
            SymError::Truncated
        );
        assert_eq!(
            SymbolTable::parse(b"KSYM\xff\xff\xff\xff").unwrap_err(),
            SymError::Truncated
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = blob(SAMPLE);
        for len in 1..bytes.len() {
            assert!(SymbolTable::parse(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        let mut bytes = blob(SAMPLE);
        // Entry 1's name_off beyond the string table.
        bytes[HEADER_LEN + ENTRY_LEN + 12..][..4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            SymbolTable::parse(&bytes).unwrap_err(),
            SymError::NameOutOfRange(1)
        );

        let mut bytes = blob(SAMPLE);
        bytes.pop(); // the last NUL
        assert_eq!(
            SymbolTable::parse(&bytes).unwrap_err(),
            SymError::NameUnterminated(2)
        );

        let mut bytes = blob(&[(1, 1, "ab")]);
        let at = HEADER_LEN + ENTRY_LEN;
        bytes[at] = 0xff;
        assert_eq!(
            SymbolTable::parse(&bytes).unwrap_err(),
            SymError::NameNotUtf8(0)
        );
    }

    #[test]
    fn rejects_unsorted() {
        let bytes = blob(&[(0x2000, 1, "b"), (0x1000, 1, "a")]);
        assert_eq!(
            SymbolTable::parse(&bytes).unwrap_err(),
            SymError::Unsorted(1)
        );
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator: every result is Ok or Err, lookups stay total.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..if cfg!(miri) { 40 } else { 2000 } {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            if round % 2 == 0 && len >= 8 {
                bytes[..4].copy_from_slice(b"KSYM");
                bytes[4..8].copy_from_slice(&((seed % 4) as u32).to_le_bytes());
            }
            if let Ok(t) = SymbolTable::parse(&bytes) {
                for addr in [0, seed, u64::MAX, seed >> 40] {
                    let _ = t.lookup(addr);
                }
                assert_eq!(t.iter().count(), t.len());
            }
        }
    }
}
