//! `linux_dirent64` records, the byte format `getdents64` fills a buffer with:
//!
//! ```text
//! u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]   (NUL-terminated)
//! ```
//!
//! each record padded to a multiple of 8 bytes; `d_off` is the cookie that resumes after it.

use super::{FileType, Ino};
use crate::errno::{self, Errno};

/// Bytes before the name.
pub const HEADER_LEN: usize = 19;

/// The length of the record for a name of `name_len` bytes.
pub const fn record_len(name_len: usize) -> usize {
    (HEADER_LEN + name_len + 1).div_ceil(8) * 8
}

/// Appends records to a caller's buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut [u8]) -> Writer<'a> {
        Writer { out, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one record. `Ok(false)` when it does not fit (stop here); `EINVAL` when not
    /// even the first record fits, as Linux reports a buffer too small.
    pub fn push(&mut self, ino: Ino, next: u64, t: FileType, name: &[u8]) -> Result<bool, Errno> {
        let reclen = record_len(name.len());
        let Some(rec) = self.out.get_mut(self.len..self.len + reclen) else {
            return if self.len == 0 {
                Err(errno::EINVAL)
            } else {
                Ok(false)
            };
        };
        rec.fill(0);
        rec[0..8].copy_from_slice(&ino.to_le_bytes());
        rec[8..16].copy_from_slice(&next.to_le_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        rec[18] = t.dirent_type();
        rec[HEADER_LEN..HEADER_LEN + name.len()].copy_from_slice(name);
        self.len += reclen;
        Ok(true)
    }
}

/// One decoded record (for tests and tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub ino: u64,
    pub off: u64,
    pub d_type: u8,
    pub name: &'a [u8],
}

/// Decodes a buffer of records; stops at the first malformed one.
pub fn parse(mut buf: &[u8]) -> impl Iterator<Item = Record<'_>> {
    core::iter::from_fn(move || {
        let head = buf.get(..HEADER_LEN)?;
        let reclen = usize::from(u16::from_le_bytes([head[16], head[17]]));
        let rec = buf.get(..reclen).filter(|_| reclen > HEADER_LEN)?;
        let name = &rec[HEADER_LEN..];
        let name = &name[..name.iter().position(|&b| b == 0)?];
        buf = &buf[reclen..];
        Some(Record {
            ino: u64::from_le_bytes(rec[0..8].try_into().ok()?),
            off: u64::from_le_bytes(rec[8..16].try_into().ok()?),
            d_type: rec[18],
            name,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_padded_to_eight_bytes() {
        assert_eq!(record_len(1), 24);
        assert_eq!(record_len(4), 24);
        assert_eq!(record_len(5), 32);
        let mut buf = [0xffu8; 64];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.push(7, 1, FileType::Directory, b"."), Ok(true));
        assert_eq!(w.push(9, 5, FileType::Regular, b"hello"), Ok(true));
        assert_eq!(w.push(9, 6, FileType::Regular, b"x"), Ok(false));
        assert_eq!(w.len(), 56);
        let recs: Vec<_> = parse(&buf[..56]).collect();
        assert_eq!(
            recs,
            [
                Record {
                    ino: 7,
                    off: 1,
                    d_type: 4,
                    name: b"."
                },
                Record {
                    ino: 9,
                    off: 5,
                    d_type: 8,
                    name: b"hello"
                },
            ]
        );
        // The exact bytes of the first record.
        assert_eq!(
            &buf[..24],
            &[7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 24, 0, 4, b'.', 0, 0, 0, 0]
        );
    }

    #[test]
    fn a_buffer_too_small_for_one_record_is_einval() {
        let mut buf = [0u8; 20];
        assert_eq!(
            Writer::new(&mut buf).push(1, 1, FileType::Regular, b"a"),
            Err(errno::EINVAL)
        );
    }
}
