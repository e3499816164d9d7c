//! Linux errno values, the error half of every syscall result.
//!
//! The table below was generated from musl's `bits/errno.h` (the x86-64 Linux values); a host
//! test reads that header and compares every name and value, so the header stays the one
//! source of truth (DESIGN.md §12).
#![forbid(unsafe_code)]

use core::fmt;

/// A Linux error number (positive). Syscalls return `-errno` in `rax`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Errno(pub i32);

/// What a syscall handler returns: the value for `rax`, or an error.
pub type SysResult = Result<u64, Errno>;

/// Converts a handler's result into the raw `rax` value: `Ok(v)` → `v`, `Err(e)` → `-e`.
pub fn to_ret(r: SysResult) -> i64 {
    match r {
        Ok(v) => v as i64,
        Err(e) => -i64::from(e.0),
    }
}

/// Defines each errno as a module constant and an associated constant, and the name table,
/// from one list.
macro_rules! errnos {
    ($($name:ident = $val:literal,)*) => {
        $(pub const $name: Errno = Errno($val);)*
        impl Errno {
            $(pub const $name: Errno = Errno($val);)*
        }
        /// Every primary errno, ascending by value.
        const NAMES: &[(i32, &str)] = &[$(($val, stringify!($name)),)*];
    };
}

/// Defines the alias names (same value as another errno).
macro_rules! aliases {
    ($($name:ident = $target:ident,)*) => {
        $(pub const $name: Errno = $target;)*
        impl Errno {
            $(pub const $name: Errno = $target;)*
        }
        /// Alias names and the errno they stand for.
        const ALIASES: &[(&str, Errno)] = &[$((stringify!($name), $target),)*];
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ECHRNG = 44,
    EL2NSYNC = 45,
    EL3HLT = 46,
    EL3RST = 47,
    ELNRNG = 48,
    EUNATCH = 49,
    ENOCSI = 50,
    EL2HLT = 51,
    EBADE = 52,
    EBADR = 53,
    EXFULL = 54,
    ENOANO = 55,
    EBADRQC = 56,
    EBADSLT = 57,
    EBFONT = 59,
    ENOSTR = 60,
    ENODATA = 61,
    ETIME = 62,
    ENOSR = 63,
    ENONET = 64,
    ENOPKG = 65,
    EREMOTE = 66,
    ENOLINK = 67,
    EADV = 68,
    ESRMNT = 69,
    ECOMM = 70,
    EPROTO = 71,
    EMULTIHOP = 72,
    EDOTDOT = 73,
    EBADMSG = 74,
    EOVERFLOW = 75,
    ENOTUNIQ = 76,
    EBADFD = 77,
    EREMCHG = 78,
    ELIBACC = 79,
    ELIBBAD = 80,
    ELIBSCN = 81,
    ELIBMAX = 82,
    ELIBEXEC = 83,
    EILSEQ = 84,
    ERESTART = 85,
    ESTRPIPE = 86,
    EUSERS = 87,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENETRESET = 102,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EUCLEAN = 117,
    ENOTNAM = 118,
    ENAVAIL = 119,
    EISNAM = 120,
    EREMOTEIO = 121,
    EDQUOT = 122,
    ENOMEDIUM = 123,
    EMEDIUMTYPE = 124,
    ECANCELED = 125,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
    EOWNERDEAD = 130,
    ENOTRECOVERABLE = 131,
    ERFKILL = 132,
    EHWPOISON = 133,
}

aliases! {
    EWOULDBLOCK = EAGAIN,
    EDEADLOCK = EDEADLK,
    ENOTSUP = EOPNOTSUPP,
}

impl Errno {
    /// The symbolic name (`"ENOENT"`), or `"E?"` for a number Linux does not define.
    /// Aliases resolve to the primary name (`EWOULDBLOCK` → `"EAGAIN"`).
    pub fn name(self) -> &'static str {
        match NAMES.binary_search_by_key(&self.0, |&(v, _)| v) {
            Ok(i) => NAMES[i].1,
            Err(_) => "E?",
        }
    }

    /// Looks an errno up by its symbolic name, aliases included.
    pub fn from_name(name: &str) -> Option<Errno> {
        NAMES
            .iter()
            .find(|&&(_, n)| n == name)
            .map(|&(v, _)| Errno(v))
            .or_else(|| ALIASES.iter().find(|&&(n, _)| n == name).map(|&(_, e)| e))
    }

    /// Reads a raw syscall return value: `-4095..=-1` is an error, anything else a value.
    pub fn from_ret(ret: i64) -> SysResult {
        if (-4095..0).contains(&ret) {
            Err(Errno(-ret as i32))
        } else {
            Ok(ret as u64)
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MUSL_ERRNO_H: &str = "/usr/include/x86_64-linux-musl/bits/errno.h";

    /// Every `#define EXXX value` of musl's header, aliases resolved to their numbers.
    fn musl_defines() -> Vec<(String, i32)> {
        let text = std::fs::read_to_string(MUSL_ERRNO_H).unwrap_or_else(|e| {
            panic!("cannot read {MUSL_ERRNO_H} ({e}): install Debian's musl-dev to run this test")
        });
        let mut raw = Vec::new();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                panic!("unexpected line in {MUSL_ERRNO_H}: {line}");
            };
            raw.push((name.to_string(), value.to_string()));
        }
        raw.iter()
            .map(|(name, value)| {
                let number = value.parse().unwrap_or_else(|_| {
                    let target = raw.iter().find(|(n, _)| n == value);
                    target.expect("alias of an unknown name").1.parse().unwrap()
                });
                (name.clone(), number)
            })
            .collect()
    }

    #[test]
    fn table_matches_musl_header() {
        let defines = musl_defines();
        assert!(
            defines.len() > 130,
            "too few errno values parsed from {MUSL_ERRNO_H}"
        );
        for (name, value) in &defines {
            assert_eq!(Errno::from_name(name), Some(Errno(*value)), "{name}");
        }
        // Nothing of ours is missing from the header either.
        assert_eq!(NAMES.len() + ALIASES.len(), defines.len());
        for &(value, name) in NAMES {
            assert!(
                defines.contains(&(name.to_string(), value)),
                "{name} = {value}"
            );
            assert_eq!(Errno(value).name(), name);
        }
    }

    #[test]
    fn constants_hold_their_values() {
        assert_eq!(ENOENT, Errno(2));
        assert_eq!(Errno::ENOSYS, Errno(38));
        assert_eq!(EHWPOISON, Errno(133));
        assert_eq!(EWOULDBLOCK, EAGAIN);
        assert_eq!(Errno::ENOTSUP, Errno::EOPNOTSUPP);
        assert_eq!(EDEADLOCK, EDEADLK);
    }

    #[test]
    fn names() {
        assert_eq!(EPERM.name(), "EPERM");
        assert_eq!(EWOULDBLOCK.name(), "EAGAIN");
        assert_eq!(Errno(41).name(), "E?");
        assert_eq!(Errno(0).name(), "E?");
        assert_eq!(Errno(-1).name(), "E?");
        assert_eq!(Errno::from_name("EBOGUS"), None);
        assert_eq!(format!("{}", EINVAL), "EINVAL (22)");
    }

    #[test]
    fn return_values() {
        assert_eq!(to_ret(Ok(0)), 0);
        assert_eq!(to_ret(Ok(42)), 42);
        assert_eq!(to_ret(Ok(u64::MAX)), -1);
        assert_eq!(to_ret(Err(ENOSYS)), -38);
        assert_eq!(to_ret(Err(EHWPOISON)), -133);
        assert_eq!(Errno::from_ret(-2), Err(ENOENT));
        assert_eq!(Errno::from_ret(-4095), Err(Errno(4095)));
        assert_eq!(Errno::from_ret(-4096), Ok(-4096i64 as u64));
        assert_eq!(Errno::from_ret(7), Ok(7));
    }
}
