//! `struct sockaddr_un`: what bind, connect and sendto are given, and what getsockname,
//! getpeername, accept and recvfrom write back, with Linux's rules (`unix_validate_addr`,
//! `unix_mkname_bsd`). Checked: any bytes give a name or an error, never a panic.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use crate::errno::{self, Errno};

pub const AF_UNIX: u16 = 1;
/// `offsetof(struct sockaddr_un, sun_path)`.
pub const PATH_OFFSET: usize = 2;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_SIZE: usize = 110;

/// A socket's address as programs see it.
#[derive(Clone, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Addr {
    /// No name (never bound): shown as the family alone.
    Unnamed,
    /// A path in the file system (without its NUL).
    Path(Vec<u8>),
    /// An abstract name: the bytes after the leading NUL, NULs included.
    Abstract(Vec<u8>),
}

/// What a sockaddr given to bind or connect asks for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Request {
    /// bind with only the family: pick an abstract name (autobind).
    Autobind,
    Name(Addr),
}

/// Parses the `len` bytes of a `sockaddr_un` given to bind (`for_bind`: the family alone
/// means autobind) or connect/sendto (a name is required).
pub fn parse(raw: &[u8], for_bind: bool) -> Result<Request, Errno> {
    if raw.len() < PATH_OFFSET || raw.len() > SOCKADDR_UN_SIZE {
        return Err(errno::EINVAL);
    }
    if u16::from_ne_bytes([raw[0], raw[1]]) != AF_UNIX {
        return Err(errno::EINVAL);
    }
    if raw.len() == PATH_OFFSET {
        return if for_bind {
            Ok(Request::Autobind)
        } else {
            Err(errno::EINVAL)
        };
    }
    let path = &raw[PATH_OFFSET..];
    if path[0] == 0 {
        return Ok(Request::Name(Addr::Abstract(path[1..].to_vec())));
    }
    // A path name ends at its first NUL, or at the end of what was given.
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Ok(Request::Name(Addr::Path(path[..end].to_vec())))
}

impl Addr {
    /// The `sockaddr_un` bytes getsockname and friends write (their full length is what
    /// they report): the family, then a path with its NUL, or a NUL and the abstract name.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SOCKADDR_UN_SIZE);
        out.extend_from_slice(&AF_UNIX.to_ne_bytes());
        match self {
            Addr::Unnamed => {}
            Addr::Path(p) => {
                out.extend_from_slice(p);
                out.push(0);
            }
            Addr::Abstract(n) => {
                out.push(0);
                out.extend_from_slice(n);
            }
        }
        out
    }

    /// The bytes recvfrom/recvmsg report for a sender with this address: nothing at all
    /// for an unnamed one (Linux leaves `msg_namelen` 0 then).
    pub fn to_sender_bytes(&self) -> Vec<u8> {
        match self {
            Addr::Unnamed => Vec::new(),
            named => named.to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sun(path: &[u8]) -> Vec<u8> {
        let mut v = AF_UNIX.to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn paths_abstract_names_and_autobind() {
        assert_eq!(
            parse(&sun(b"/tmp/s\0garbage"), false),
            Ok(Request::Name(Addr::Path(b"/tmp/s".to_vec())))
        );
        assert_eq!(
            parse(&sun(b"rel"), false),
            Ok(Request::Name(Addr::Path(b"rel".to_vec()))),
            "no NUL within the length given"
        );
        assert_eq!(
            parse(&sun(b"\0ab\0c"), false),
            Ok(Request::Name(Addr::Abstract(b"ab\0c".to_vec())))
        );
        assert_eq!(
            parse(&sun(b"\0"), true),
            Ok(Request::Name(Addr::Abstract(Vec::new())))
        );
        assert_eq!(parse(&sun(b""), true), Ok(Request::Autobind));
        assert_eq!(parse(&sun(b""), false), Err(errno::EINVAL));
    }

    #[test]
    fn bad_lengths_and_families() {
        assert_eq!(parse(&[1], true), Err(errno::EINVAL));
        assert_eq!(parse(&[], false), Err(errno::EINVAL));
        let mut long = sun(&[b'a'; 108]);
        assert!(parse(&long, false).is_ok(), "110 bytes: the whole struct");
        long.push(b'a');
        assert_eq!(parse(&long, false), Err(errno::EINVAL));
        let mut inet = sun(b"/x");
        inet[0..2].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(parse(&inet, false), Err(errno::EINVAL));
    }

    #[test]
    fn bytes_written_back() {
        assert_eq!(Addr::Unnamed.to_bytes(), AF_UNIX.to_ne_bytes().to_vec());
        assert_eq!(Addr::Unnamed.to_sender_bytes(), Vec::<u8>::new());
        assert_eq!(Addr::Path(b"/s".to_vec()).to_bytes(), sun(b"/s\0"));
        assert_eq!(Addr::Path(b"/s".to_vec()).to_bytes().len(), 5);
        assert_eq!(Addr::Abstract(b"x".to_vec()).to_bytes(), sun(b"\0x"));
        assert_eq!(
            Addr::Abstract(vec![0, 1]).to_sender_bytes(),
            sun(&[0, 0, 1])
        );
    }

    #[test]
    fn any_bytes_parse_without_panicking() {
        let mut seed = 0x1234_5678u32;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = (seed % 120) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 24)) as u8).collect();
            let _ = parse(&bytes, seed & 1 == 0);
        }
    }
}
