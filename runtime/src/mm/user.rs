//! The program's address space: its main stack, brk heap, anonymous mappings (backed by
//! zeroed frames on first touch) and views of files (filled from the VFS on first touch);
//! and the checks that syscall arguments point into it.
//!
//! A `MAP_PRIVATE` view of a file gets its own frame per page, a copy of the file's bytes
//! made when the page is first touched (bytes past the end of the file read as zeros), so its
//! writes never reach the file. A `MAP_SHARED` view maps the file's own tmpfs pages (kernel
//! heap pages, identity-mapped, so their address is their frame): writes through it are in
//! the file at once and writes to the file show in it. While a shared view exists, the file
//! keeps those pages ([`crate::fs::Vfs::set_mapped_shared`]), and every view holds a
//! reference on its inode, so unlinking or shrinking the file never frees a mapped page.
//! Touching a page that lies wholly past the end of the file is a fatal fault reported as
//! SIGBUS, as on Linux.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::structures::paging::PageTableFlags as F;

use super::layout::{self, page_align_up, AppLayout, KernelStackPart, BRK_MAX, PAGE_SIZE};
use super::vmspace::{Backing, Prot, Range, Remap, VmSpace};
use super::{frames, paging};
use crate::errno::{self, Errno};

struct AppSpace {
    vm: VmSpace,
    brk_start: u64,
    brk: u64,
    stack: Range,
    guard: Range,
    allow_wx: bool,
    /// The files the mappings show, each with whether a shared mapping shows it: one
    /// reference held on each inode ([`sync_files`]).
    files: BTreeMap<u64, bool>,
}

static APP: Mutex<Option<AppSpace>> = Mutex::new(None);

/// Pages of the program's address space backed by a frame now (its resident set, beside the
/// image), and the most there ever were (`ru_maxrss`).
static RESIDENT: AtomicU64 = AtomicU64::new(0);
static PEAK_RESIDENT: AtomicU64 = AtomicU64::new(0);

fn resident_add(pages: u64) {
    let now = RESIDENT.fetch_add(pages, Ordering::Relaxed) + pages;
    PEAK_RESIDENT.fetch_max(now, Ordering::Relaxed);
}

fn resident_sub(pages: u64) {
    let _ = RESIDENT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
        Some(r.saturating_sub(pages))
    });
}

/// The largest resident set the program has had, in bytes: the image's loaded segments plus
/// the most pages of stack, heap and mappings backed at once.
pub fn max_resident_bytes() -> u64 {
    let img = paging::image_layout();
    (img.end - img.start) + PEAK_RESIDENT.load(Ordering::Relaxed) * PAGE_SIZE
}

/// Sets up the space as `app` places it: the brk heap, the mmap area, and the main stack with
/// a guard page below it. Returns the stack top.
pub fn init(app: &AppLayout, allow_wx: bool) -> u64 {
    let area = app.mmap_area();
    let mut vm = VmSpace::new(area.start, area.end);
    vm.set_placement_top(app.mmap_top);
    let (stack, guard) = (app.stack(), app.stack_guard());
    vm.map(Some(guard.start), guard.len(), Prot::NONE, true)
        .expect("stack guard inside the mmap area");
    vm.map(
        Some(stack.start),
        stack.len(),
        Prot::READ | Prot::WRITE,
        true,
    )
    .expect("stack inside the mmap area");
    *APP.lock() = Some(AppSpace {
        vm,
        brk_start: app.brk_base,
        brk: app.brk_base,
        stack,
        guard,
        allow_wx,
        files: BTreeMap::new(),
    });
    app.stack_top
}

fn page_flags(prot: Prot) -> Option<F> {
    if !prot.readable() && !prot.writable() && !prot.executable() {
        return None;
    }
    let mut f = F::PRESENT;
    if prot.writable() {
        f |= F::WRITABLE;
    }
    if !prot.executable() {
        f |= F::NO_EXECUTE;
    }
    Some(f)
}

/// Backs `addr`'s page with a zeroed frame. False when out of memory.
fn populate(addr: u64, flags: F) -> bool {
    let Some(frame) = frames::alloc_zeroed() else {
        return false;
    };
    if paging::map_page(addr & !(PAGE_SIZE - 1), frame, flags).is_err() {
        // SAFETY: the frame was just allocated and never mapped.
        unsafe { frames::FRAMES.lock().free(frame) };
        return false;
    }
    resident_add(1);
    true
}

/// Maps the pages of `[start, end)` now (e.g. the part of the stack the kernel writes first).
pub fn prefault(start: u64, end: u64) {
    for page in (start & !(PAGE_SIZE - 1)..end).step_by(PAGE_SIZE as usize) {
        if paging::flags_of(page).is_none() {
            assert!(
                populate(page, F::PRESENT | F::WRITABLE | F::NO_EXECUTE),
                "out of memory"
            );
        }
    }
}

fn release(range: Range) {
    release_except(range, &[]);
}

/// Unmaps the pages of `range` and frees their frames, except in the `shared` ranges (views
/// of files' own pages: those are only unmapped, the file keeps them).
fn release_except(range: Range, shared: &[Range]) {
    for page in (range.start..range.end).step_by(PAGE_SIZE as usize) {
        if let Some(frame) = paging::unmap_page(page) {
            resident_sub(1);
            if shared.iter().any(|r| r.contains(page)) {
                continue;
            }
            // SAFETY: the frame backed a page of the program that is no longer mapped.
            unsafe { frames::FRAMES.lock().free(frame) };
        }
    }
}

/// The parts of `[start, end)` that show files' pages through `MAP_SHARED` mappings.
fn shared_ranges(vm: &VmSpace, start: u64, end: u64) -> Vec<Range> {
    vm.iter()
        .filter(|m| m.backing.is_shared_file() && m.start < end && m.end() > start)
        .map(|m| Range::new(m.start.max(start), m.end().min(end)))
        .collect()
}

/// What [`sync_files`] must tell the VFS once the address space is unlocked.
#[derive(Default)]
struct FileRefChanges {
    retain: Vec<u64>,
    release: Vec<u64>,
    shared: Vec<(u64, bool)>,
}

/// Brings `app.files` in line with the mappings, returning the references to take and give
/// back. Cheap when no file was ever mapped.
fn sync_files(app: &mut AppSpace) -> FileRefChanges {
    let mut changes = FileRefChanges::default();
    if app.files.is_empty() && !app.vm.iter().any(|m| m.backing.ino().is_some()) {
        return changes;
    }
    let now = app.vm.files();
    for (&ino, &shared) in &now {
        match app.files.get(&ino) {
            None => {
                changes.retain.push(ino);
                if shared {
                    changes.shared.push((ino, true));
                }
            }
            Some(&was) if was != shared => changes.shared.push((ino, shared)),
            Some(_) => {}
        }
    }
    for (&ino, &was) in &app.files {
        if !now.contains_key(&ino) {
            if was {
                changes.shared.push((ino, false));
            }
            changes.release.push(ino);
        }
    }
    app.files = now;
    changes
}

/// Applies [`sync_files`]'s changes (with the address space unlocked: the VFS lock is taken).
fn apply_file_refs(changes: FileRefChanges) {
    if changes.retain.is_empty() && changes.release.is_empty() && changes.shared.is_empty() {
        return;
    }
    let mut guard = crate::fs::system::VFS.lock();
    let Some(vfs) = guard.as_mut() else {
        return;
    };
    for ino in changes.retain {
        let _ = vfs.retain(ino);
    }
    for (ino, shared) in changes.shared {
        vfs.set_mapped_shared(ino, shared);
    }
    for ino in changes.release {
        vfs.release(ino);
    }
}

/// Why a page fault could not be resolved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unresolved {
    /// Not the program's, or not an access its protection allows, or out of memory.
    Fault,
    /// A page of a file view wholly past the end of the file (SIGBUS on Linux).
    PastEnd,
}

/// Fills the page at `addr` of a file view from the file (see the module comment).
fn populate_file(addr: u64, backing: Backing, flags: F) -> Result<(), Unresolved> {
    let Backing::File {
        ino,
        offset,
        shared,
    } = backing
    else {
        return Err(Unresolved::Fault);
    };
    let page = addr & !(PAGE_SIZE - 1);
    // A syscall that holds the file system's lock while it touches the program's memory
    // cannot be helped here; `check_range` fills file views before such syscalls run.
    let mut guard = crate::fs::system::VFS.try_lock().ok_or(Unresolved::Fault)?;
    let vfs = guard.as_mut().ok_or(Unresolved::Fault)?;
    if shared {
        let frame = match vfs.shared_page(ino, offset / PAGE_SIZE) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(Unresolved::PastEnd),
            Err(_) => {
                // Linux's tmpfs gives SIGBUS when a shared page cannot be allocated.
                kinfo!(
                    "out of memory: no file page for the shared mapping at {:#x}",
                    page
                );
                NO_FILE_PAGE.store(page, core::sync::atomic::Ordering::Relaxed);
                return Err(Unresolved::Fault);
            }
        };
        paging::map_page(page, frame, flags).map_err(|_| Unresolved::Fault)?;
        resident_add(1);
        return Ok(());
    }
    if offset >= vfs.size(ino).unwrap_or(0) {
        return Err(Unresolved::PastEnd);
    }
    let Some(frame) = frames::alloc_zeroed() else {
        kinfo!("out of memory: no frame for the page at {:#x}", page);
        return Err(Unresolved::Fault);
    };
    // SAFETY: the frame was just allocated, is identity-mapped RAM, and nothing else refers
    // to it until it is mapped below.
    let bytes = unsafe { core::slice::from_raw_parts_mut(frame as *mut u8, PAGE_SIZE as usize) };
    let _ = vfs.read_at(ino, offset, bytes);
    if paging::map_page(page, frame, flags).is_err() {
        // SAFETY: the frame was never mapped.
        unsafe { frames::FRAMES.lock().free(frame) };
        return Err(Unresolved::Fault);
    }
    resident_add(1);
    Ok(())
}

/// Resolves a page fault: true if `addr` lies in the program's space with an access its
/// protection allows and the page was simply not there yet (it is now: zeroed, or filled
/// from the file a mapping shows).
pub fn handle_page_fault(addr: u64, error: u64) -> bool {
    let ok = resolve_fault(addr, error).is_ok();
    if ok {
        // A minor fault of the running thread (never contended: one CPU, and the meter is
        // held only for a few instructions with interrupts off).
        if let Some(mut meter) = crate::sched::cputime::RUNNING.try_lock() {
            meter.minor_fault();
        }
    }
    ok
}

fn resolve_fault(addr: u64, error: u64) -> Result<(), Unresolved> {
    let present = error & 1 != 0;
    let write = error & 2 != 0;
    let fetch = error & 0x10 != 0;
    if present {
        return Err(Unresolved::Fault);
    }
    let guard = APP.try_lock().ok_or(Unresolved::Fault)?;
    let app = guard.as_ref().ok_or(Unresolved::Fault)?;
    let (prot, backing) =
        if addr >= app.brk_start && addr < page_align_up(app.brk).unwrap_or(u64::MAX) {
            (Prot::READ | Prot::WRITE, Backing::Anon)
        } else {
            match app.vm.find(addr) {
                Some(m) => (m.prot, m.backing_at(addr & !(PAGE_SIZE - 1))),
                None => return Err(Unresolved::Fault),
            }
        };
    let allowed = if fetch {
        prot.executable()
    } else if write {
        prot.writable()
    } else {
        prot.readable()
    };
    let flags = page_flags(prot)
        .filter(|_| allowed)
        .ok_or(Unresolved::Fault)?;
    drop(guard);
    if backing != Backing::Anon {
        return populate_file(addr, backing, flags);
    }
    if populate(addr, flags) {
        return Ok(());
    }
    kinfo!("out of memory: no frame for the page at {:#x}", addr);
    Err(Unresolved::Fault)
}

/// The last page of a shared file view for which the file system had no memory (1, never a
/// page address, until then).
static NO_FILE_PAGE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// True when a fault at `addr` touched a shared file view for which the file system had no
/// memory left: SIGBUS, as on Linux.
pub fn is_file_page_unavailable(addr: u64) -> bool {
    addr & !(PAGE_SIZE - 1) == NO_FILE_PAGE.load(core::sync::atomic::Ordering::Relaxed)
}

/// True when a fault at `addr` touched a file view past the end of its file: the program
/// dies of SIGBUS there, as on Linux, rather than SIGSEGV.
pub fn is_past_file_end(addr: u64) -> bool {
    let Some(guard) = APP.try_lock() else {
        return false;
    };
    let Some(Backing::File { ino, offset, .. }) = guard
        .as_ref()
        .and_then(|app| app.vm.find(addr))
        .map(|m| m.backing_at(addr & !(PAGE_SIZE - 1)))
    else {
        return false;
    };
    drop(guard);
    let Some(vfs) = crate::fs::system::VFS.try_lock() else {
        return false;
    };
    vfs.as_ref()
        .and_then(|v| v.size(ino).ok())
        .is_some_and(|size| offset >= size)
}

/// A few words on what lives at `addr`, for fault reports.
pub fn describe_address(addr: u64) -> &'static str {
    if addr < PAGE_SIZE {
        return "the null page";
    }
    if paging::boot_stack_guard().contains(addr) {
        return "the guard page below the boot stack: runtime stack overflow";
    }
    let img = paging::image_layout();
    if addr >= img.text.0 && addr < img.text.1 {
        return "program text";
    }
    if addr >= img.data.0 && addr < img.syms_start {
        return "the image's data (.data/.bss)";
    }
    if addr >= img.start && addr < img.end {
        return "the image";
    }
    let Some(guard) = APP.try_lock() else {
        return "unknown";
    };
    let Some(app) = guard.as_ref() else {
        return "unknown";
    };
    if app.guard.contains(addr) {
        "the guard page below the main stack: stack overflow"
    } else if app.stack.contains(addr) {
        "the main stack"
    } else if addr >= app.brk_start && addr < app.brk_start + BRK_MAX {
        if addr < app.brk {
            "the brk heap"
        } else {
            "beyond the brk heap"
        }
    } else if let Some(m) = app.vm.find(addr) {
        let above = app.vm.find(m.end());
        if let Backing::File { shared, .. } = m.backing {
            if shared {
                "a shared mapping of a file"
            } else {
                "a private mapping of a file"
            }
        } else if m.prot != Prot::NONE {
            "an anonymous mapping"
        } else if above.is_some_and(|a| a.prot.writable()) {
            // musl puts one under every thread stack it maps.
            "a guard page (PROT_NONE) just below a writable mapping: a thread's stack overflow?"
        } else {
            "a PROT_NONE mapping"
        }
    } else if let Some(part) = layout::kernel_stack_part(addr) {
        match (part, part.is_ist()) {
            (KernelStackPart::Guard(_), true) => "the guard page below a runtime (IST) stack",
            (KernelStackPart::Stack(_), true) => "a runtime (IST) stack",
            (KernelStackPart::Guard(_), false) => "the guard page below a thread's kernel stack",
            (KernelStackPart::Stack(_), false) => "a thread's kernel stack",
        }
    } else {
        "not mapped"
    }
}

/// Checks that the program may access `[addr, addr + len)` (reading, or writing if `write`),
/// so a bad pointer gives EFAULT rather than a fault inside the runtime.
pub fn check_range(addr: u64, len: u64, write: bool) -> Result<(), Errno> {
    if len == 0 {
        return Ok(());
    }
    let end = addr.checked_add(len).ok_or(errno::EFAULT)?;
    let img = paging::image_layout();
    if addr >= img.start && end <= img.end {
        // Inside the image: data and bss are writable, everything is readable.
        let ok = !write || (addr >= img.data.0 && end <= img.syms_start);
        return if ok { Ok(()) } else { Err(errno::EFAULT) };
    }
    let guard = APP.lock();
    let app = guard.as_ref().ok_or(errno::EFAULT)?;
    if addr >= app.brk_start && end <= app.brk {
        return Ok(());
    }
    let mut at = addr;
    let mut file_views = false;
    while at < end {
        let m = app.vm.find(at).ok_or(errno::EFAULT)?;
        let ok = if write {
            m.prot.writable()
        } else {
            m.prot.readable()
        };
        if !ok {
            return Err(errno::EFAULT);
        }
        file_views |= m.backing != Backing::Anon;
        at = m.end();
    }
    drop(guard);
    if file_views {
        // Fill file views now, while no file system lock is held (the syscall may hold it
        // when it touches these bytes); a page past the end of its file is EFAULT, as on Linux.
        let error = if write { 2 } else { 0 };
        for page in (addr & !(PAGE_SIZE - 1)..end).step_by(PAGE_SIZE as usize) {
            if paging::flags_of(page).is_none() && resolve_fault(page, error).is_err() {
                return Err(errno::EFAULT);
            }
        }
    }
    Ok(())
}

/// The program's bytes at `[ptr, ptr + len)`, checked readable. Valid for the rest of the
/// syscall: nothing else runs until it returns.
pub fn bytes<'a>(ptr: u64, len: u64) -> Result<&'a [u8], Errno> {
    check_range(ptr, len, false)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: check_range proved the program may read these bytes (pages not yet present
    // are filled in by the page-fault handler), and they stay mapped during the syscall.
    Ok(unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) })
}

/// As [`bytes`], checked writable.
pub fn bytes_mut<'a>(ptr: u64, len: u64) -> Result<&'a mut [u8], Errno> {
    check_range(ptr, len, true)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `bytes`, for writing; the runtime holds no other reference to them.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len as usize) })
}

/// A NUL-terminated string of the program (without its NUL), at most `max` bytes before the
/// NUL, else `ENAMETOOLONG`. Checked a page at a time, so it may end just before a hole.
pub fn cstr<'a>(ptr: u64, max: u64) -> Result<&'a [u8], Errno> {
    let mut at = ptr;
    let limit = ptr.checked_add(max + 1).ok_or(errno::EFAULT)?;
    while at < limit {
        let chunk_end = ((at | (PAGE_SIZE - 1)) + 1).min(limit);
        let chunk = bytes(at, chunk_end - at)?;
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            return bytes(ptr, at + nul as u64 - ptr);
        }
        at = chunk_end;
    }
    Err(errno::ENAMETOOLONG)
}

/// `N` native-endian u64s of the program (structs such as timespec, rlimit, sigaction).
pub fn read_u64s<const N: usize>(ptr: u64) -> Result<[u64; N], Errno> {
    let raw = bytes(ptr, N as u64 * 8)?;
    let mut v = [0u64; N];
    for (slot, chunk) in v.iter_mut().zip(raw.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *slot = u64::from_ne_bytes(word);
    }
    Ok(v)
}

/// `n` native-endian u64s of the program, for arrays whose length is an argument.
pub fn read_u64s_vec(ptr: u64, n: usize) -> Result<alloc::vec::Vec<u64>, Errno> {
    let raw = bytes(ptr, n as u64 * 8)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
}

/// Writes native-endian u64s into the program's memory.
pub fn write_u64s(ptr: u64, values: &[u64]) -> Result<(), Errno> {
    let out = bytes_mut(ptr, values.len() as u64 * 8)?;
    for (chunk, v) in out.chunks_exact_mut(8).zip(values) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    Ok(())
}

/// A native-endian u32 of the program (flags, int arguments passed by pointer).
pub fn read_u32(ptr: u64) -> Result<u32, Errno> {
    let raw = bytes(ptr, 4)?;
    Ok(u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

pub fn write_u32(ptr: u64, value: u32) -> Result<(), Errno> {
    bytes_mut(ptr, 4)?.copy_from_slice(&value.to_ne_bytes());
    Ok(())
}

/// brk(2): moves the break within the reserved area; returns the (possibly unchanged) break.
pub fn brk(new: u64) -> u64 {
    let mut guard = APP.lock();
    let app = guard.as_mut().expect("address space");
    if new >= app.brk_start && new <= app.brk_start + BRK_MAX {
        let old_end = page_align_up(app.brk).unwrap_or(u64::MAX);
        let new_end = page_align_up(new).unwrap_or(u64::MAX);
        app.brk = new;
        drop(guard);
        if new_end < old_end {
            release(Range::new(new_end, old_end));
        }
        return new;
    }
    app.brk
}

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;

fn check_wx(app: &AppSpace, prot: Prot) -> Result<(), Errno> {
    if prot.writable() && prot.executable() {
        if !app.allow_wx {
            kinfo!("refused a writable and executable mapping (boot with kiln.wx=allow to permit)");
            return Err(errno::EACCES);
        }
        static NOTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if !NOTED.swap(true, core::sync::atomic::Ordering::Relaxed) {
            kinfo!("granted a writable and executable mapping (kiln.wx=allow)");
        }
    }
    Ok(())
}

/// mmap(2) of anonymous memory (`MAP_ANONYMOUS`; the syscall layer turns `/dev/zero` into it).
pub fn mmap(addr: u64, len: u64, prot: u64, flags: u64) -> Result<u64, Errno> {
    if flags & MAP_ANONYMOUS == 0 {
        return Err(errno::ENODEV);
    }
    map(addr, len, prot, flags, Backing::Anon)
}

/// mmap(2) of a file, once the syscall layer checked the descriptor and the arguments
/// ([`super::filemap`]): `backing` names the file, the offset and the sharing.
pub fn mmap_file(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    backing: Backing,
) -> Result<u64, Errno> {
    map(addr, len, prot, flags, backing)
}

fn map(addr: u64, len: u64, prot: u64, flags: u64, backing: Backing) -> Result<u64, Errno> {
    let prot = Prot::from_bits(prot).ok_or(errno::EINVAL)?;
    if flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
        return Err(errno::EINVAL);
    }
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let mut guard = APP.lock();
    let app = guard.as_mut().expect("address space");
    check_wx(app, prot)?;
    if flags & MAP_FIXED_NOREPLACE != 0 {
        let end = addr.checked_add(len).ok_or(errno::EINVAL)?;
        if app.vm.iter().any(|m| m.start < end && m.end() > addr) {
            return Err(errno::EEXIST);
        }
    }
    let hint = (addr != 0).then_some(addr);
    let shared = match (fixed, page_align_up(len)) {
        (true, Some(l)) => shared_ranges(&app.vm, addr, addr.saturating_add(l)),
        _ => Vec::new(),
    };
    let mapped = app.vm.map_backed(hint, len, prot, fixed, backing)?;
    let changes = sync_files(app);
    drop(guard);
    for r in mapped.replaced {
        release_except(r, &shared);
    }
    apply_file_refs(changes);
    Ok(mapped.addr)
}

pub fn munmap(addr: u64, len: u64) -> Result<u64, Errno> {
    let mut guard = APP.lock();
    let app = guard.as_mut().expect("address space");
    let shared = shared_ranges(
        &app.vm,
        addr,
        addr.saturating_add(page_align_up(len).unwrap_or(u64::MAX)),
    );
    let released: Vec<Range> = app.vm.unmap(addr, len)?;
    let changes = sync_files(app);
    drop(guard);
    for r in released {
        release_except(r, &shared);
    }
    apply_file_refs(changes);
    Ok(0)
}

/// msync(2): the views of files need no writing back (a shared view is the file's own
/// pages; a private one never reaches the file), so this checks the arguments as Linux does
/// and that every page of the range is mapped (`ENOMEM` otherwise).
pub fn msync(addr: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    let Some((start, end)) = super::filemap::check_msync(addr, len, flags)? else {
        return Ok(0);
    };
    let img = paging::image_layout();
    let guard = APP.lock();
    let app = guard.as_ref().expect("address space");
    let brk_end = page_align_up(app.brk).unwrap_or(u64::MAX);
    let mut at = start;
    while at < end {
        at = if at >= img.start && at < img.end {
            img.end
        } else if at >= app.brk_start && at < brk_end {
            brk_end
        } else if let Some(m) = app.vm.find(at) {
            m.end()
        } else {
            return Err(errno::ENOMEM);
        };
    }
    Ok(0)
}

pub fn mprotect(addr: u64, len: u64, prot: u64) -> Result<u64, Errno> {
    let prot = Prot::from_bits(prot).ok_or(errno::EINVAL)?;
    let mut guard = APP.lock();
    let app = guard.as_mut().expect("address space");
    check_wx(app, prot)?;
    app.vm.protect(addr, len, prot)?;
    let end = addr + page_align_up(len).ok_or(errno::EINVAL)?;
    drop(guard);
    for page in (addr..end).step_by(PAGE_SIZE as usize) {
        // PROT_NONE hides the pages but keeps their frames: the contents come back with
        // access, as on Linux.
        match page_flags(prot) {
            Some(f) => paging::set_flags(page, f),
            None => paging::hide_page(page),
        };
    }
    Ok(0)
}

pub fn mremap(old: u64, old_len: u64, new_len: u64, flags: u64) -> Result<u64, Errno> {
    const MREMAP_MAYMOVE: u64 = 1;
    if flags & !MREMAP_MAYMOVE != 0 {
        return Err(errno::EINVAL); // MREMAP_FIXED / DONTUNMAP: not yet
    }
    let mut guard = APP.lock();
    let app = guard.as_mut().expect("address space");
    let shared = shared_ranges(
        &app.vm,
        old,
        old.saturating_add(page_align_up(old_len).unwrap_or(u64::MAX)),
    );
    let result = app
        .vm
        .remap(old, old_len, new_len, flags & MREMAP_MAYMOVE != 0)?;
    drop(guard);
    match result {
        Remap::Same { .. } | Remap::Grown { .. } => {}
        Remap::Shrunk { released, .. } => release_except(released, &shared),
        Remap::Moved { from, to } => {
            for off in (0..from.len()).step_by(PAGE_SIZE as usize) {
                let flags = paging::flags_of(from.start + off);
                if let Some(frame) = paging::unmap_page(from.start + off) {
                    // No flags: a hidden (PROT_NONE) page, moved hidden.
                    let hidden = flags.is_none();
                    let flags = flags.unwrap_or(F::PRESENT | F::NO_EXECUTE);
                    let moved = paging::map_page(to.start + off, frame, flags).is_ok();
                    if moved && hidden {
                        paging::hide_page(to.start + off);
                    }
                    if !moved {
                        resident_sub(1);
                        if shared.iter().any(|r| r.contains(from.start + off)) {
                            return Err(errno::ENOMEM);
                        }
                        // SAFETY: the frame was just unmapped and could not be mapped again.
                        unsafe { frames::FRAMES.lock().free(frame) };
                        return Err(errno::ENOMEM);
                    }
                }
            }
        }
    }
    Ok(result.addr())
}

/// madvise(2): MADV_DONTNEED/MADV_FREE drop the pages (anonymous ones read back as zeros,
/// file views as the file); other advice is accepted and ignored, as Linux may.
pub fn madvise(addr: u64, len: u64, advice: u64) -> Result<u64, Errno> {
    const MADV_DONTNEED: u64 = 4;
    const MADV_FREE: u64 = 8;
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(errno::EINVAL);
    }
    let end = addr
        .checked_add(page_align_up(len).ok_or(errno::EINVAL)?)
        .ok_or(errno::EINVAL)?;
    if advice == MADV_DONTNEED || advice == MADV_FREE {
        let guard = APP.lock();
        let app = guard.as_ref().expect("address space");
        let inside = (addr..end)
            .step_by(PAGE_SIZE as usize)
            .all(|p| app.vm.find(p).is_some());
        let shared = shared_ranges(&app.vm, addr, end);
        drop(guard);
        if !inside {
            return Err(errno::ENOMEM);
        }
        // File views refill from the file on the next touch, as on Linux.
        release_except(Range::new(addr, end), &shared);
    }
    Ok(0)
}

/// The contents of `/proc/self/maps` now: the image's segments (named `exe`), the brk heap,
/// the mappings (file views with their offset, device and inode) and the main stack, in
/// address order, in Linux's format.
pub fn maps_text(exe: &str) -> alloc::string::String {
    use super::vmspace::maps_line;
    let img = paging::image_layout();
    let page_up = |a: u64| page_align_up(a).unwrap_or(a);
    let mut out = alloc::string::String::new();
    let image = [
        (img.start, img.text.0, Prot::READ),
        (img.text.0, page_up(img.text.1), Prot::READ | Prot::EXEC),
        (
            img.data.0,
            page_up(img.syms_start),
            Prot::READ | Prot::WRITE,
        ),
        (page_up(img.syms_start), page_up(img.end), Prot::READ),
    ];
    for (start, end, prot) in image.into_iter().filter(|(s, e, _)| s < e) {
        let range = Range::new(start, end);
        maps_line(
            &mut out,
            range,
            prot,
            false,
            start - img.start,
            (0, 0),
            0,
            exe,
        );
    }
    let guard = APP.lock();
    let Some(app) = guard.as_ref() else {
        return out;
    };
    let heap_end = page_up(app.brk);
    if heap_end > app.brk_start {
        let heap = Range::new(app.brk_start, heap_end);
        maps_line(
            &mut out,
            heap,
            Prot::READ | Prot::WRITE,
            false,
            0,
            (0, 0),
            0,
            "[heap]",
        );
    }
    let dev = (
        crate::fd::stat::major(crate::fs::DEV),
        crate::fd::stat::minor(crate::fs::DEV),
    );
    for m in app.vm.iter() {
        // The main stack is one mapping unless mprotect split it.
        let name = if app.stack.start <= m.start && m.end() <= app.stack.end {
            "[stack]"
        } else {
            ""
        };
        match m.backing {
            Backing::Anon => maps_line(&mut out, m.range(), m.prot, false, 0, (0, 0), 0, name),
            Backing::File {
                ino,
                offset,
                shared,
            } => maps_line(&mut out, m.range(), m.prot, shared, offset, dev, ino, name),
        }
    }
    out
}

/// Pages of RAM given to the program so far, and the frames still free (for sysinfo).
pub fn memory_stats() -> (u64, u64) {
    let f = frames::FRAMES.lock();
    (f.total_count() * PAGE_SIZE, f.free_count() * PAGE_SIZE)
}
