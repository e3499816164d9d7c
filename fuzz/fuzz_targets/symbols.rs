//! `SymbolTable::parse` on arbitrary bytes, then lookups. Must never panic, and a lookup's
//! offset must lie inside the symbol it names.
#![no_main]

use kiln_runtime::symbols::SymbolTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = SymbolTable::parse(data) else {
        return;
    };
    assert_eq!(table.iter().count(), table.len());
    for sym in table.iter() {
        for addr in [
            sym.addr,
            sym.addr.wrapping_add(u64::from(sym.size)),
            sym.addr.wrapping_sub(1),
        ] {
            if let Some((_, offset)) = table.lookup(addr) {
                assert!(offset < u64::from(u32::MAX));
            }
        }
    }
});
