//! The `.kiln_syms` blob: the function symbols of an image, for symbolized backtraces.
//!
//! Format (docs/ARCHITECTURE.md "Symbol table", read by `runtime/src/symbols.rs`), all
//! little-endian: magic `KSYM`, `u32 count`, `count` entries `{ u64 addr, u32 size,
//! u32 name_off }` sorted by `addr`, then the string table (NUL-terminated names, `name_off`
//! counted from the table's start). Names are demangled and cut to [`MAX_NAME`] bytes.

use std::borrow::Cow;

pub const MAGIC: &[u8; 4] = b"KSYM";
/// Bytes of one entry.
pub const ENTRY_SIZE: usize = 16;
/// Longest name kept, in bytes (without the NUL).
pub const MAX_NAME: usize = 120;

/// One function symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub addr: u64,
    pub size: u32,
    pub name: String,
}

/// Serializes `symbols` (in any order) into the blob. Names are cut to [`MAX_NAME`] bytes on
/// a character boundary; identical names share one string.
pub fn write_blob(symbols: &[Symbol]) -> Vec<u8> {
    let mut sorted: Vec<&Symbol> = symbols.iter().collect();
    sorted.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
    sorted.dedup_by(|a, b| a.addr == b.addr && a.name == b.name);

    let mut strings = Vec::new();
    let mut offsets = std::collections::HashMap::new();
    let mut entries = Vec::with_capacity(sorted.len() * ENTRY_SIZE);
    for sym in &sorted {
        let name = truncate(&sym.name);
        let off = *offsets.entry(name).or_insert_with(|| {
            let off = strings.len() as u32;
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            off
        });
        entries.extend_from_slice(&sym.addr.to_le_bytes());
        entries.extend_from_slice(&sym.size.to_le_bytes());
        entries.extend_from_slice(&off.to_le_bytes());
    }

    let mut blob = Vec::with_capacity(8 + entries.len() + strings.len());
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    blob.extend_from_slice(&entries);
    blob.extend_from_slice(&strings);
    blob
}

fn truncate(name: &str) -> &str {
    if name.len() <= MAX_NAME {
        return name;
    }
    let mut end = MAX_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Demangles a Rust (legacy or v0) or Itanium C++ symbol; other names come back unchanged.
/// Rust's hash suffix is dropped.
pub fn demangle(raw: &str) -> Cow<'_, str> {
    if let Ok(rust) = rustc_demangle::try_demangle(raw) {
        return Cow::Owned(format!("{rust:#}"));
    }
    if raw.starts_with("_Z") {
        if let Ok(cpp) = cpp_demangle::Symbol::new(raw) {
            if let Ok(text) = cpp.demangle(&cpp_demangle::DemangleOptions::default()) {
                return Cow::Owned(text);
            }
        }
    }
    Cow::Borrowed(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader the runtime implements, written again from the spec to check the writer.
    fn read_blob(blob: &[u8]) -> Result<Vec<Symbol>, String> {
        let u32_at = |off: usize| -> Result<u32, String> {
            let bytes = blob.get(off..off + 4).ok_or(format!("short at {off}"))?;
            Ok(u32::from_le_bytes(bytes.try_into().unwrap()))
        };
        if blob.get(..4) != Some(MAGIC.as_slice()) {
            return Err("bad magic".into());
        }
        let count = u32_at(4)? as usize;
        let strings = 8 + count * ENTRY_SIZE;
        let table = blob.get(strings..).ok_or("string table missing")?;
        let mut out = Vec::new();
        for i in 0..count {
            let at = 8 + i * ENTRY_SIZE;
            let addr = u64::from_le_bytes(blob[at..at + 8].try_into().unwrap());
            let size = u32_at(at + 8)?;
            let name_off = u32_at(at + 12)? as usize;
            let rest = table.get(name_off..).ok_or("name offset out of range")?;
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("name without NUL")?;
            let name = String::from_utf8(rest[..len].to_vec()).map_err(|e| e.to_string())?;
            out.push(Symbol { addr, size, name });
        }
        Ok(out)
    }

    fn sym(addr: u64, size: u32, name: &str) -> Symbol {
        Symbol {
            addr,
            size,
            name: name.into(),
        }
    }

    #[test]
    fn round_trip_sorted_by_address() {
        let input = [
            sym(0x20_3000, 16, "main"),
            sym(0x20_1000, 8, "kiln_main"),
            sym(0x20_2000, 4, "é"),
        ];
        let blob = write_blob(&input);
        assert_eq!(&blob[..4], b"KSYM");
        assert_eq!(u32::from_le_bytes(blob[4..8].try_into().unwrap()), 3);
        let back = read_blob(&blob).unwrap();
        assert_eq!(back, [input[1].clone(), input[2].clone(), input[0].clone()]);
    }

    #[test]
    fn exact_layout_of_one_entry() {
        let blob = write_blob(&[sym(0x1122_3344_5566_7788, 0x99, "f")]);
        let mut expected = b"KSYM".to_vec();
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        expected.extend_from_slice(&0x99u32.to_le_bytes());
        expected.extend_from_slice(&0u32.to_le_bytes());
        expected.extend_from_slice(b"f\0");
        assert_eq!(blob, expected);
    }

    #[test]
    fn empty_table_is_header_only() {
        assert_eq!(write_blob(&[]), b"KSYM\0\0\0\0");
        assert!(read_blob(&write_blob(&[])).unwrap().is_empty());
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let long = "x".repeat(119) + "éé";
        let back = read_blob(&write_blob(&[sym(1, 1, &long)])).unwrap();
        assert_eq!(back[0].name, "x".repeat(119));
        let exact = "y".repeat(MAX_NAME);
        assert_eq!(
            read_blob(&write_blob(&[sym(1, 1, &exact)])).unwrap()[0].name,
            exact
        );
    }

    #[test]
    fn shared_names_and_duplicates() {
        let blob = write_blob(&[sym(8, 1, "f"), sym(16, 1, "f"), sym(8, 1, "f")]);
        let back = read_blob(&blob).unwrap();
        assert_eq!(back, [sym(8, 1, "f"), sym(16, 1, "f")]);
        assert_eq!(blob.len(), 8 + 2 * ENTRY_SIZE + 2, "one copy of \"f\\0\"");
    }

    #[test]
    fn demangles_rust_and_cpp() {
        assert_eq!(demangle("_ZN4kiln4main17h0123456789abcdefE"), "kiln::main");
        assert_eq!(
            demangle("_ZNSt3__16vectorIiNS_9allocatorIiEEE9push_backERKi"),
            "std::__1::vector<int, std::__1::allocator<int> >::push_back(int const&)"
        );
        assert_eq!(demangle("main"), "main");
        assert_eq!(demangle("_Zbogus"), "_Zbogus");
    }
}
