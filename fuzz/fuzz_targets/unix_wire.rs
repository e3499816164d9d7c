//! What a program hands AF_UNIX calls (any bytes): a `sockaddr_un` for bind/connect and a
//! sendmsg control buffer. Parsing returns a name or control messages, or an error, never
//! panics; a parsed name written back parses to itself; parsed rights never exceed
//! SCM_MAX_FD; the control messages recvmsg writes for what was parsed parse back the same.
#![no_main]

use kiln_runtime::fd::unix::addr::{self, Request};
use kiln_runtime::fd::unix::cmsg::{self, Writer, SCM_MAX_FD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, rest) = data.split_at(data.len().min(1));
    let for_bind = head.first().is_some_and(|b| b & 1 == 1);
    let (sun, control) = rest.split_at(rest.len().min(120));
    if let Ok(Request::Name(name)) = addr::parse(sun, for_bind) {
        let bytes = name.to_bytes();
        assert!(bytes.len() <= addr::SOCKADDR_UN_SIZE + 1);
        if bytes.len() <= addr::SOCKADDR_UN_SIZE {
            assert_eq!(addr::parse(&bytes, false), Ok(Request::Name(name)));
        }
    }
    if let Ok(c) = cmsg::parse(control) {
        assert!(c.fds.len() <= SCM_MAX_FD);
        let mut w = Writer::new(4096);
        if let Some(cred) = c.cred {
            w.put_cred(cred);
        }
        w.put_rights(&c.fds, c.fds.len());
        assert!(!w.truncated);
        let back = cmsg::parse(&w.bytes).expect("what recvmsg writes parses");
        assert_eq!(back, c);
    }
});
