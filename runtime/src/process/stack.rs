//! The initial process stack that musl's `_start` expects, laid out as Linux lays it out.
//!
//! From the top (high addresses) down, as Linux's `create_elf_tables` does:
//!
//! ```text
//! top - 8        8 zero bytes (end marker)
//!                execfn string (AT_EXECFN), if any
//!                argv strings, then envp strings, ascending (argv[0] lowest)
//!                platform string (AT_PLATFORM), if any
//!                16 AT_RANDOM bytes
//!                padding to 16 bytes
//!                auxv pairs: the caller's, then AT_PLATFORM, AT_RANDOM, AT_EXECFN, AT_NULL
//!                NULL, envp[envc - 1] … envp[0]
//!                NULL, argv[argc - 1] … argv[0]
//! rsp →          argc                                  (rsp is 16-byte aligned)
//! ```
//!
//! The builder writes into a caller-provided buffer that will live at
//! `top - buf.len() .. top`, checks everything before writing, and never panics.
#![forbid(unsafe_code)]

use core::fmt;

pub const AT_NULL: u64 = 0;
pub const AT_IGNORE: u64 = 1;
pub const AT_EXECFD: u64 = 2;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_NOTELF: u64 = 10;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_BASE_PLATFORM: u64 = 24;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;
pub const AT_SYSINFO_EHDR: u64 = 33;
pub const AT_MINSIGSTKSZ: u64 = 51;

/// One auxiliary-vector entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AuxEntry {
    pub key: u64,
    pub value: u64,
}

impl AuxEntry {
    pub const fn new(key: u64, value: u64) -> AuxEntry {
        AuxEntry { key, value }
    }
}

/// What goes on the initial stack.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'s> {
    /// Argument strings, without NULs (one is appended to each).
    pub argv: &'s [&'s [u8]],
    /// Environment strings (`NAME=value`), without NULs.
    pub envp: &'s [&'s [u8]],
    /// The caller's auxv entries (AT_PHDR, AT_PAGESZ, AT_HWCAP, …). They must not use the
    /// keys the builder fills in itself: AT_NULL, AT_RANDOM, AT_PLATFORM, AT_EXECFN.
    pub auxv: &'s [AuxEntry],
    /// The 16 bytes AT_RANDOM points at (musl seeds its stack canary from them).
    pub random: [u8; 16],
    /// The AT_PLATFORM string (`b"x86_64"`); empty leaves AT_PLATFORM out.
    pub platform: &'s [u8],
    /// The AT_EXECFN string (the program's path, usually argv[0]); empty leaves it out.
    pub execfn: &'s [u8],
}

/// Why the stack could not be built.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StackError {
    /// The buffer is smaller than the `needed` bytes.
    TooSmall { needed: u64 },
    /// `top` is below the buffer's length (the buffer would start below address 0).
    BadTop,
    /// A string contains a NUL byte.
    InteriorNul,
    /// The caller's auxv uses a key the builder owns.
    ReservedAuxKey(u64),
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::TooSmall { needed } => {
                write!(
                    f,
                    "initial stack needs {needed} bytes: pass fewer or shorter arguments"
                )
            }
            StackError::BadTop => write!(f, "initial stack top lies below the buffer's size"),
            StackError::InteriorNul => write!(f, "an argument or environment string contains NUL"),
            StackError::ReservedAuxKey(k) => write!(f, "auxv key {k} is filled in by the runtime"),
        }
    }
}

/// Builds the stack in `buf` (which will live at `top - buf.len() .. top`) and returns the
/// initial `rsp`, which points at argc and is 16-byte aligned.
pub fn build_initial_stack(buf: &mut [u8], top: u64, spec: &StackSpec) -> Result<u64, StackError> {
    let bottom = top
        .checked_sub(buf.len() as u64)
        .ok_or(StackError::BadTop)?;
    let strings = || spec.argv.iter().chain(spec.envp.iter());
    let has_nul = |s: &[u8]| s.contains(&0);
    if strings().any(|s| has_nul(s)) || has_nul(spec.platform) || has_nul(spec.execfn) {
        return Err(StackError::InteriorNul);
    }
    if let Some(e) = spec
        .auxv
        .iter()
        .find(|e| matches!(e.key, AT_NULL | AT_RANDOM | AT_PLATFORM | AT_EXECFN))
    {
        return Err(StackError::ReservedAuxKey(e.key));
    }

    // Plan every address first as a depth below `top` (saturating, so absurd sizes just
    // fail the size check), write afterwards.
    let c_len = |s: &[u8]| s.len() as u64 + 1;
    let optional = |s: &[u8]| if s.is_empty() { 0 } else { c_len(s) };
    let strings_len = strings().fold(0u64, |sum, s| sum.saturating_add(c_len(s)));
    let execfn_depth = 8u64.saturating_add(optional(spec.execfn));
    let strings_depth = execfn_depth.saturating_add(strings_len);
    let platform_depth = strings_depth.saturating_add(optional(spec.platform));
    let random_depth = platform_depth.saturating_add(16);

    let mut aux_count = spec.auxv.len() as u64 + 2; // + AT_RANDOM, AT_NULL
    aux_count += u64::from(!spec.platform.is_empty()) + u64::from(!spec.execfn.is_empty());
    let (argc, envc) = (spec.argv.len() as u64, spec.envp.len() as u64);
    let words = 1 + (argc + 1) + (envc + 1) + 2 * aux_count;
    let table_depth = random_depth.saturating_add(words.saturating_mul(8));
    // rsp = (top - table_depth) rounded down to 16; the rounding is the same mod 2^64.
    let needed = table_depth.saturating_add(top.wrapping_sub(table_depth) & 15);
    if needed > buf.len() as u64 {
        return Err(StackError::TooSmall { needed });
    }
    // From here on every depth is at most `needed` ≤ buf.len() ≤ top: no address underflows.
    let rsp = top - needed;
    let random_at = top - random_depth;
    let strings_at = top - strings_depth;

    let mut out = Writer { buf, bottom };
    out.put(top - 8, &[0; 8]);
    if !spec.execfn.is_empty() {
        out.put_c(top - execfn_depth, spec.execfn);
    }
    if !spec.platform.is_empty() {
        out.put_c(top - platform_depth, spec.platform);
    }
    out.put(random_at, &spec.random);
    // Zero the alignment padding so the stack holds no stale bytes.
    let table_end = rsp + words * 8;
    out.put_zero(table_end, random_at - table_end);

    let mut word_at = rsp;
    let mut push = |out: &mut Writer, value: u64| {
        out.put(word_at, &value.to_le_bytes());
        word_at += 8;
    };
    push(&mut out, argc);
    let mut string_at = strings_at;
    for list in [spec.argv, spec.envp] {
        for s in list {
            out.put_c(string_at, s);
            push(&mut out, string_at);
            string_at += c_len(s);
        }
        push(&mut out, 0);
    }
    let builder_aux = [
        (!spec.platform.is_empty()).then(|| AuxEntry::new(AT_PLATFORM, top - platform_depth)),
        Some(AuxEntry::new(AT_RANDOM, random_at)),
        (!spec.execfn.is_empty()).then(|| AuxEntry::new(AT_EXECFN, top - execfn_depth)),
        Some(AuxEntry::new(AT_NULL, 0)),
    ];
    for e in spec
        .auxv
        .iter()
        .copied()
        .chain(builder_aux.into_iter().flatten())
    {
        push(&mut out, e.key);
        push(&mut out, e.value);
    }
    debug_assert_eq!(word_at, table_end);
    Ok(rsp)
}

/// Writes at virtual addresses into the buffer that starts at `bottom`. Callers only pass
/// addresses planned inside the buffer; out-of-range writes are dropped rather than panic.
struct Writer<'b> {
    buf: &'b mut [u8],
    bottom: u64,
}

impl Writer<'_> {
    fn put(&mut self, addr: u64, bytes: &[u8]) {
        let start = (addr - self.bottom) as usize;
        if let Some(dst) = self.buf.get_mut(start..start + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    fn put_c(&mut self, addr: u64, s: &[u8]) {
        self.put(addr, s);
        self.put(addr + s.len() as u64, &[0]);
    }

    fn put_zero(&mut self, addr: u64, len: u64) {
        let start = (addr - self.bottom) as usize;
        if let Some(dst) = self.buf.get_mut(start..start + len as usize) {
            dst.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `_start` would see, read back from a built stack.
    #[derive(Debug, PartialEq)]
    struct Seen {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    struct Reader<'b> {
        buf: &'b [u8],
        bottom: u64,
    }

    impl Reader<'_> {
        fn word(&self, addr: u64) -> u64 {
            let at = (addr - self.bottom) as usize;
            u64::from_le_bytes(self.buf[at..at + 8].try_into().unwrap())
        }

        fn bytes(&self, addr: u64, len: usize) -> &[u8] {
            let at = (addr - self.bottom) as usize;
            &self.buf[at..at + len]
        }

        fn c_string(&self, addr: u64) -> Vec<u8> {
            let at = (addr - self.bottom) as usize;
            let len = self.buf[at..].iter().position(|&b| b == 0).expect("NUL");
            self.buf[at..at + len].to_vec()
        }

        /// Walks the stack as musl's `__libc_start_main` and `__init_libc` do.
        fn read(&self, rsp: u64) -> Seen {
            let argc = self.word(rsp);
            let mut at = rsp + 8;
            let mut argv = Vec::new();
            for _ in 0..argc {
                argv.push(self.c_string(self.word(at)));
                at += 8;
            }
            assert_eq!(self.word(at), 0, "argv not NULL-terminated");
            at += 8;
            let mut envp = Vec::new();
            while self.word(at) != 0 {
                envp.push(self.c_string(self.word(at)));
                at += 8;
            }
            at += 8;
            let mut auxv = Vec::new();
            loop {
                let (key, value) = (self.word(at), self.word(at + 8));
                auxv.push((key, value));
                at += 16;
                if key == AT_NULL {
                    break;
                }
            }
            Seen { argv, envp, auxv }
        }
    }

    const TOP: u64 = 0x7fff_0000;
    const RANDOM: [u8; 16] = *b"0123456789abcdef";

    fn spec<'s>(argv: &'s [&'s [u8]], envp: &'s [&'s [u8]], auxv: &'s [AuxEntry]) -> StackSpec<'s> {
        StackSpec {
            argv,
            envp,
            auxv,
            random: RANDOM,
            platform: b"x86_64",
            execfn: argv.first().copied().unwrap_or(b""),
        }
    }

    fn aux(seen: &Seen, key: u64) -> Option<u64> {
        seen.auxv.iter().find(|e| e.0 == key).map(|e| e.1)
    }

    #[test]
    fn round_trip() {
        let auxv = [
            AuxEntry::new(AT_PAGESZ, 4096),
            AuxEntry::new(AT_PHDR, 0x200040),
        ];
        let argv: [&[u8]; 3] = [b"app", b"-v", b"hello world"];
        let envp: [&[u8]; 2] = [b"HOME=/", b"TERM=dumb"];
        let mut buf = vec![0xaa; 4096];
        let rsp = build_initial_stack(&mut buf, TOP, &spec(&argv, &envp, &auxv)).unwrap();
        assert_eq!(rsp % 16, 0);
        assert!((TOP - 4096..TOP).contains(&rsp));

        let r = Reader {
            buf: &buf,
            bottom: TOP - 4096,
        };
        let seen = r.read(rsp);
        assert_eq!(seen.argv, [&b"app"[..], b"-v", b"hello world"]);
        assert_eq!(seen.envp, [&b"HOME=/"[..], b"TERM=dumb"]);
        // The caller's entries first, in order, then the builder's, AT_NULL last.
        let keys: Vec<u64> = seen.auxv.iter().map(|e| e.0).collect();
        assert_eq!(
            keys,
            [
                AT_PAGESZ,
                AT_PHDR,
                AT_PLATFORM,
                AT_RANDOM,
                AT_EXECFN,
                AT_NULL
            ]
        );
        assert_eq!(aux(&seen, AT_PAGESZ), Some(4096));
        assert_eq!(aux(&seen, AT_PHDR), Some(0x200040));
        assert_eq!(r.bytes(aux(&seen, AT_RANDOM).unwrap(), 16), RANDOM);
        assert_eq!(r.c_string(aux(&seen, AT_PLATFORM).unwrap()), b"x86_64");
        assert_eq!(r.c_string(aux(&seen, AT_EXECFN).unwrap()), b"app");
        // The end marker.
        assert_eq!(r.word(TOP - 8), 0);
    }

    #[test]
    fn layout_matches_linux_order() {
        let argv: [&[u8]; 2] = [b"a0", b"a1"];
        let envp: [&[u8]; 1] = [b"E=1"];
        let mut buf = vec![0; 1024];
        let bottom = TOP - 1024;
        let rsp = build_initial_stack(&mut buf, TOP, &spec(&argv, &envp, &[])).unwrap();
        let r = Reader { buf: &buf, bottom };
        let seen = r.read(rsp);
        let ptr = |i: u64| r.word(rsp + 8 + 8 * i);
        let (a0, a1, e0) = (ptr(0), ptr(1), ptr(3));
        let execfn = aux(&seen, AT_EXECFN).unwrap();
        let platform = aux(&seen, AT_PLATFORM).unwrap();
        let random = aux(&seen, AT_RANDOM).unwrap();
        // Strings ascend argv[0] < argv[1] < envp[0] < execfn < end marker; platform and the
        // random bytes lie below them, the tables below those.
        assert_eq!(a1, a0 + 3);
        assert_eq!(e0, a1 + 3);
        assert_eq!(execfn, e0 + 4);
        assert_eq!(execfn + 3, TOP - 8);
        assert_eq!(platform + 7, a0);
        assert_eq!(random + 16, platform);
        let table_end = rsp + 8 * (1 + 3 + 2 + 2 * 4);
        assert!(table_end <= random && random - table_end < 16);
        // The padding between the tables and the random bytes is zeroed.
        assert!(r
            .bytes(table_end, (random - table_end) as usize)
            .iter()
            .all(|&b| b == 0));
    }

    #[test]
    fn empty_argv_and_envp() {
        let s = StackSpec {
            argv: &[],
            envp: &[],
            auxv: &[],
            random: RANDOM,
            platform: b"",
            execfn: b"",
        };
        let mut buf = vec![0; 256];
        let rsp = build_initial_stack(&mut buf, TOP, &s).unwrap();
        assert_eq!(rsp % 16, 0);
        let r = Reader {
            buf: &buf,
            bottom: TOP - 256,
        };
        let seen = r.read(rsp);
        assert!(seen.argv.is_empty() && seen.envp.is_empty());
        let keys: Vec<u64> = seen.auxv.iter().map(|e| e.0).collect();
        assert_eq!(keys, [AT_RANDOM, AT_NULL]);
        assert_eq!(r.bytes(aux(&seen, AT_RANDOM).unwrap(), 16), RANDOM);
    }

    #[test]
    fn envp_without_argv() {
        let envp: [&[u8]; 2] = [b"A=1", b"B=2"];
        let mut buf = vec![0; 512];
        let s = spec(&[], &envp, &[]);
        let rsp = build_initial_stack(&mut buf, TOP, &s).unwrap();
        let seen = Reader {
            buf: &buf,
            bottom: TOP - 512,
        }
        .read(rsp);
        assert!(seen.argv.is_empty());
        assert_eq!(seen.envp, [&b"A=1"[..], b"B=2"]);
    }

    #[test]
    fn rsp_is_aligned_for_every_shape() {
        let long = [b'x'; 37];
        for argc in 0..6usize {
            for envc in 0..4usize {
                for extra in 0..3usize {
                    let argv: Vec<&[u8]> = (0..argc).map(|i| &long[..i * 3 + 1]).collect();
                    let envp: Vec<&[u8]> = (0..envc).map(|i| &long[..i + extra]).collect();
                    let auxv: Vec<AuxEntry> = (0..extra)
                        .map(|i| AuxEntry::new(100 + i as u64, 7))
                        .collect();
                    let top = TOP - extra as u64 * 8;
                    let mut buf = vec![0; 2048];
                    let rsp =
                        build_initial_stack(&mut buf, top, &spec(&argv, &envp, &auxv)).unwrap();
                    assert_eq!(rsp % 16, 0);
                    let seen = Reader {
                        buf: &buf,
                        bottom: top - 2048,
                    }
                    .read(rsp);
                    assert_eq!(seen.argv, argv);
                    assert_eq!(seen.envp, envp);
                    assert_eq!(seen.auxv.len(), extra + 4 - usize::from(argc == 0));
                }
            }
        }
    }

    #[test]
    fn too_small_reports_the_need() {
        let argv: [&[u8]; 1] = [b"app"];
        let s = spec(&argv, &[], &[]);
        let mut big = vec![0; 1024];
        let rsp = build_initial_stack(&mut big, TOP, &s).unwrap();
        let needed = TOP - rsp;
        let mut exact = vec![0; needed as usize];
        assert_eq!(build_initial_stack(&mut exact, TOP, &s), Ok(rsp));
        let mut short = vec![0; needed as usize - 1];
        assert_eq!(
            build_initial_stack(&mut short, TOP, &s),
            Err(StackError::TooSmall { needed })
        );
        assert!(matches!(
            build_initial_stack(&mut [], TOP, &s),
            Err(StackError::TooSmall { .. })
        ));
    }

    #[test]
    fn near_address_zero() {
        let argv: [&[u8]; 1] = [b"app"];
        let s = spec(&argv, &[], &[]);
        let mut buf = vec![0; 64];
        assert_eq!(
            build_initial_stack(&mut buf, 32, &s),
            Err(StackError::BadTop)
        );
        // 8 + 4 + 4 + 7 + 16 bytes of data, 12 words of tables, rounded to 16.
        assert_eq!(
            build_initial_stack(&mut buf, 64, &s),
            Err(StackError::TooSmall { needed: 144 })
        );
        assert_eq!(
            build_initial_stack(&mut buf, 0x1000, &s),
            Err(StackError::TooSmall { needed: 144 })
        );
        let mut buf = vec![0; 144];
        assert_eq!(build_initial_stack(&mut buf, 144, &s), Ok(0));
        let mut buf = vec![0; 160];
        assert_eq!(build_initial_stack(&mut buf, 0x1004, &s), Ok(0x1004 - 148));
    }

    #[test]
    fn rejects_bad_input() {
        let mut buf = vec![0; 1024];
        let argv: [&[u8]; 1] = [b"a\0b"];
        assert_eq!(
            build_initial_stack(&mut buf, TOP, &spec(&argv, &[], &[])),
            Err(StackError::InteriorNul)
        );
        let envp: [&[u8]; 1] = [b"A=\0"];
        assert_eq!(
            build_initial_stack(&mut buf, TOP, &spec(&[], &envp, &[])),
            Err(StackError::InteriorNul)
        );
        for key in [AT_NULL, AT_RANDOM, AT_PLATFORM, AT_EXECFN] {
            let auxv = [AuxEntry::new(AT_PAGESZ, 4096), AuxEntry::new(key, 1)];
            assert_eq!(
                build_initial_stack(&mut buf, TOP, &spec(&[], &[], &auxv)),
                Err(StackError::ReservedAuxKey(key))
            );
        }
    }
}
