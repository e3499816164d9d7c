//! The newc cpio reader on arbitrary bytes, then unpacking the same bytes into a small VFS.
//! Must never panic; every member it yields lies inside the input; the unpacked tree is
//! readable afterwards.
#![no_main]

use kiln_runtime::fs::cpio::{unpack, Archive};
use kiln_runtime::fs::{Ctx, Timespec, Vfs, ROOT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let range = data.as_ptr_range();
    for entry in Archive::new(data).flatten() {
        assert!(range.start <= entry.data.as_ptr() && entry.data.as_ptr_range().end <= range.end);
        assert!(!entry.name.is_empty());
    }
    let ctx = Ctx::at(Timespec::default());
    let mut vfs = Vfs::new(1 << 20, Timespec::default());
    let _report = unpack(&mut vfs, data, &ctx);
    let mut buf = [0u8; 4096];
    let _ = vfs.getdents(&ctx, ROOT, 0, &mut buf);
    let (used, limit) = vfs.usage();
    assert!(used <= limit);
});
