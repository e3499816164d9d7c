//! Control messages (`struct cmsghdr` chains in `msg_control`): what sendmsg passes
//! (`SCM_RIGHTS` descriptors, `SCM_CREDENTIALS`) and what recvmsg writes back, with Linux's
//! rules (`__scm_send`, `put_cmsg`, `scm_detach_fds`). Checked: any bytes give a result or an
//! error, never a panic (fuzz target `unix_cmsg`).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use super::Cred;
use crate::errno::{self, Errno};

pub const SOL_SOCKET: i32 = 1;
pub const SCM_RIGHTS: i32 = 1;
pub const SCM_CREDENTIALS: i32 = 2;
/// `sizeof(struct cmsghdr)` on x86-64: `size_t cmsg_len; int cmsg_level; int cmsg_type`.
pub const HDR: usize = 16;
/// Most descriptors one message may carry (Linux's `SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;
/// `sizeof(struct ucred)`.
pub const UCRED_SIZE: usize = 12;

/// `CMSG_ALIGN`: control messages are 8-byte aligned.
pub const fn align(len: usize) -> usize {
    (len + 7) & !7
}

/// `CMSG_LEN(len)`.
pub const fn cmsg_len(len: usize) -> usize {
    HDR + len
}

/// `CMSG_SPACE(len)`.
pub const fn cmsg_space(len: usize) -> usize {
    HDR + align(len)
}

/// What a sendmsg's control messages carry.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Control {
    /// Descriptors to pass, in order (several `SCM_RIGHTS` messages add up).
    pub fds: Vec<i32>,
    /// Credentials the sender claims.
    pub cred: Option<Cred>,
}

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_ne_bytes(w)
}

fn int(b: &[u8]) -> i32 {
    i32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

/// Parses sendmsg's control buffer. `EINVAL` for a malformed header, an unknown
/// `SOL_SOCKET` type, wrongly sized credentials or more than [`SCM_MAX_FD`] descriptors;
/// messages of other levels are skipped, as on Linux.
pub fn parse(control: &[u8]) -> Result<Control, Errno> {
    let mut out = Control::default();
    let mut at = 0usize;
    // CMSG_FIRSTHDR / CMSG_NXTHDR: a header must fit in what is left.
    while control.len().saturating_sub(at) >= HDR {
        let rest = &control[at..];
        let len = word(&rest[0..8]);
        let (level, kind) = (int(&rest[8..12]), int(&rest[12..16]));
        // CMSG_OK
        if len < HDR as u64 || len > rest.len() as u64 {
            return Err(errno::EINVAL);
        }
        let len = len as usize;
        let data = &rest[HDR..len];
        if level == SOL_SOCKET {
            match kind {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if n > SCM_MAX_FD || out.fds.len() + n > SCM_MAX_FD {
                        return Err(errno::EINVAL);
                    }
                    out.fds.extend(data.chunks_exact(4).map(int));
                }
                SCM_CREDENTIALS => {
                    if len != cmsg_len(UCRED_SIZE) {
                        return Err(errno::EINVAL);
                    }
                    out.cred = Some(Cred {
                        pid: int(&data[0..4]),
                        uid: int(&data[4..8]) as u32,
                        gid: int(&data[8..12]) as u32,
                    });
                }
                _ => return Err(errno::EINVAL),
            }
        }
        match at.checked_add(align(len)) {
            Some(next) => at = next,
            None => break,
        }
    }
    Ok(out)
}

/// recvmsg's control buffer being filled: `cap` bytes the program gave, what was written,
/// and whether something did not fit (`MSG_CTRUNC`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Writer {
    cap: usize,
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

impl Writer {
    pub fn new(cap: usize) -> Writer {
        Writer {
            cap,
            bytes: Vec::new(),
            truncated: false,
        }
    }

    fn room(&self) -> usize {
        self.cap - self.bytes.len()
    }

    fn header(&mut self, len: usize, kind: i32) {
        self.bytes.extend_from_slice(&(len as u64).to_ne_bytes());
        self.bytes.extend_from_slice(&SOL_SOCKET.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
    }

    /// `put_cmsg`: one message, cut to the room left (then `truncated`).
    pub fn put(&mut self, kind: i32, data: &[u8]) {
        let room = self.room();
        if room < HDR {
            self.truncated = true;
            return;
        }
        let mut len = cmsg_len(data.len());
        if room < len {
            self.truncated = true;
            len = room;
        }
        let start = self.bytes.len();
        self.header(len, kind);
        self.bytes.extend_from_slice(&data[..len - HDR]);
        // The next message starts CMSG_SPACE later, within what was given.
        let space = cmsg_space(data.len()).min(room);
        self.bytes.resize(start + space, 0);
    }

    /// Credentials (`SCM_CREDENTIALS`).
    pub fn put_cred(&mut self, cred: Cred) {
        let mut data = [0u8; UCRED_SIZE];
        data[0..4].copy_from_slice(&cred.pid.to_ne_bytes());
        data[4..8].copy_from_slice(&cred.uid.to_ne_bytes());
        data[8..12].copy_from_slice(&cred.gid.to_ne_bytes());
        self.put(SCM_CREDENTIALS, &data);
    }

    /// How many of `count` passed descriptors fit (`scm_detach_fds`); the rest are closed
    /// and the message marked truncated.
    pub fn rights_room(&self, count: usize) -> usize {
        let room = self.room();
        let fit = if room <= HDR { 0 } else { (room - HDR) / 4 };
        fit.min(count)
    }

    /// The `SCM_RIGHTS` message for the descriptors installed (`installed` of `count`).
    pub fn put_rights(&mut self, installed: &[i32], count: usize) {
        if installed.len() < count {
            self.truncated = true;
        }
        if installed.is_empty() {
            return;
        }
        let room = self.room();
        let start = self.bytes.len();
        self.header(cmsg_len(installed.len() * 4), SCM_RIGHTS);
        for fd in installed {
            self.bytes.extend_from_slice(&fd.to_ne_bytes());
        }
        let space = cmsg_space(installed.len() * 4).min(room);
        self.bytes.resize(start + space, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn msg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut v = (cmsg_len(data.len()) as u64).to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(cmsg_space(data.len()), 0);
        v
    }

    fn fds(list: &[i32]) -> Vec<u8> {
        list.iter().flat_map(|f| f.to_ne_bytes()).collect()
    }

    #[test]
    fn rights_and_credentials() {
        let mut c = msg(SOL_SOCKET, SCM_RIGHTS, &fds(&[3, 4]));
        c.extend(msg(SOL_SOCKET, SCM_RIGHTS, &fds(&[7])));
        let mut cred = Vec::new();
        cred.extend_from_slice(&5i32.to_ne_bytes());
        cred.extend_from_slice(&0u32.to_ne_bytes());
        cred.extend_from_slice(&9u32.to_ne_bytes());
        c.extend(msg(SOL_SOCKET, SCM_CREDENTIALS, &cred));
        // Another level is skipped.
        c.extend(msg(41, 50, &[1, 2, 3]));
        assert_eq!(
            parse(&c),
            Ok(Control {
                fds: vec![3, 4, 7],
                cred: Some(Cred {
                    pid: 5,
                    uid: 0,
                    gid: 9
                }),
            })
        );
        assert_eq!(parse(&[]), Ok(Control::default()));
        assert_eq!(
            parse(&[0; 15]),
            Ok(Control::default()),
            "too short for a header"
        );
    }

    #[test]
    fn malformed_control_is_einval() {
        let mut bad_len = msg(SOL_SOCKET, SCM_RIGHTS, &fds(&[3]));
        bad_len[0..8].copy_from_slice(&100u64.to_ne_bytes());
        assert_eq!(parse(&bad_len), Err(errno::EINVAL));
        let mut tiny = msg(SOL_SOCKET, SCM_RIGHTS, &[]);
        tiny[0..8].copy_from_slice(&8u64.to_ne_bytes());
        assert_eq!(parse(&tiny), Err(errno::EINVAL));
        assert_eq!(parse(&msg(SOL_SOCKET, 99, &[])), Err(errno::EINVAL));
        assert_eq!(
            parse(&msg(SOL_SOCKET, SCM_CREDENTIALS, &[0; 8])),
            Err(errno::EINVAL)
        );
        let too_many: Vec<i32> = (0..254).collect();
        assert_eq!(
            parse(&msg(SOL_SOCKET, SCM_RIGHTS, &fds(&too_many))),
            Err(errno::EINVAL)
        );
        let mut two = msg(SOL_SOCKET, SCM_RIGHTS, &fds(&(0..200).collect::<Vec<_>>()));
        two.extend(msg(
            SOL_SOCKET,
            SCM_RIGHTS,
            &fds(&(0..60).collect::<Vec<_>>()),
        ));
        assert_eq!(parse(&two), Err(errno::EINVAL), "253 in all at most");
    }

    #[test]
    fn writer_follows_put_cmsg_and_scm_detach_fds() {
        // Room for both: credentials then rights, each CMSG_SPACE apart.
        let mut w = Writer::new(64);
        w.put_cred(Cred {
            pid: 1,
            uid: 0,
            gid: 0,
        });
        assert_eq!(w.bytes.len(), cmsg_space(UCRED_SIZE));
        assert_eq!(w.rights_room(3), 3);
        w.put_rights(&[5, 6], 2);
        assert_eq!(w.bytes.len(), 32 + cmsg_space(8));
        assert!(!w.truncated);
        assert_eq!(word(&w.bytes[32..40]), cmsg_len(8) as u64);

        // CMSG_LEN(4) bytes: one descriptor fits, the message is not padded past the room.
        let mut w = Writer::new(cmsg_len(4));
        assert_eq!(w.rights_room(2), 1);
        w.put_rights(&[9], 2);
        assert!(w.truncated);
        assert_eq!(w.bytes.len(), cmsg_len(4));

        // No room at all.
        let mut w = Writer::new(0);
        assert_eq!(w.rights_room(1), 0);
        w.put_rights(&[], 1);
        assert!(w.truncated);
        assert!(w.bytes.is_empty());
        let mut w = Writer::new(20);
        w.put_cred(Cred {
            pid: 1,
            uid: 2,
            gid: 3,
        });
        assert!(w.truncated);
        assert_eq!(word(&w.bytes[0..8]), 20, "cmsg_len cut to the room");
    }

    #[test]
    fn what_recvmsg_writes_parses_back() {
        let mut w = Writer::new(256);
        let cred = Cred {
            pid: 1,
            uid: 7,
            gid: 8,
        };
        w.put_cred(cred);
        w.put_rights(&[3, 4, 5], 3);
        assert_eq!(
            parse(&w.bytes),
            Ok(Control {
                fds: vec![3, 4, 5],
                cred: Some(cred)
            })
        );
    }

    #[test]
    fn any_bytes_parse_without_panicking() {
        let mut seed = 0x9e37_79b9u32;
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = (seed % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 25)) as u8).collect();
            if len >= 16 {
                // Plausible headers more often than not.
                let l = (seed as usize >> 3) % (len + 8);
                bytes[0..8].copy_from_slice(&(l as u64).to_ne_bytes());
                bytes[8..12].copy_from_slice(&1i32.to_ne_bytes());
            }
            let _ = parse(&bytes);
        }
    }
}
