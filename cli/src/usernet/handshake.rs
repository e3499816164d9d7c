//! The handshake's last ACK that Debian 12's passt does not send.
//!
//! For a connection to a forwarded port, passt (0.0~git20230309) sends the guest a SYN and,
//! on the guest's SYN-ACK, marks the connection established and sends the final ACK only "if
//! needed" (`tcp_conn_from_sock_finish()` → `tcp_send_flag(ACK_IF_NEEDED)`, which sends
//! nothing while its acknowledged sequence and window are unchanged). So the guest's side
//! stays in SYN-RECEIVED, and its `accept()` returns nothing, until the client sends its
//! first bytes: a server that speaks first (a greeting, a banner; libevent's hello-world,
//! SMTP, MySQL) never gets to, and idle clients are never accepted. The guest retransmits
//! its SYN-ACK; passt ignores those too.
//!
//! The relay sees the guest's SYN-ACK on its way to passt and answers it with the ACK
//! passt has, by its own state, already sent: from passt's address and port, sequence = the
//! SYN-ACK's acknowledgment number, acknowledgment = the SYN-ACK's sequence + 1. A passt that
//! does send it (later versions) makes the guest see the same ACK twice, which TCP ignores.
//! The window is small and valid at any scale (passt's next segment announces its own).

use etherparse::{LinkSlice, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

/// The window the synthesized ACK announces (in units of passt's window scale, so at
/// least 255 bytes and at most its real window).
const WINDOW: u16 = 255;

/// The ACK that completes the handshake the guest's `frame` continues, when `frame` is a
/// TCP SYN-ACK (IPv4 or IPv6) on Ethernet; `None` for every other frame.
pub fn ack_for(frame: &[u8]) -> Option<Vec<u8>> {
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(LinkSlice::Ethernet2(eth)) = packet.link else {
        return None;
    };
    let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
        return None;
    };
    if !(tcp.syn() && tcp.ack()) || tcp.rst() || tcp.fin() {
        return None;
    }
    let builder = PacketBuilder::ethernet2(eth.destination(), eth.source());
    let builder = match packet.net? {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            builder.ipv4(h.destination(), h.source(), 64)
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            builder.ipv6(h.destination(), h.source(), 64)
        }
    };
    let builder = builder
        .tcp(
            tcp.destination_port(),
            tcp.source_port(),
            tcp.acknowledgment_number(),
            WINDOW,
        )
        .ack(tcp.sequence_number().wrapping_add(1));
    let mut out = Vec::with_capacity(builder.size(0));
    builder.write(&mut out, &[]).ok()?;
    Some(out)
}

/// What a TCP segment on Ethernet opens or ends, as far as the relay cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// A SYN without ACK: a connection's first segment (passt's, to the guest).
    Syn,
    /// A SYN-ACK or a RST: the answer to a SYN (the guest's, to passt).
    Answer,
    /// Any other segment.
    Other,
}

/// Which [`Opening`] `frame` is, with its flow; `None` if it is no TCP segment.
pub fn opening(frame: &[u8]) -> Option<(Opening, Flow)> {
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
        return None;
    };
    let kind = match (tcp.syn(), tcp.ack(), tcp.rst()) {
        (_, _, true) | (true, true, false) => Opening::Answer,
        (true, false, false) => Opening::Syn,
        _ => Opening::Other,
    };
    Some((kind, flow_of(&packet)?))
}

/// A TCP connection as seen in one direction: source address and port, destination address
/// and port (IPv4 addresses in the first 4 bytes).
pub type Flow = ([u8; 16], u16, [u8; 16], u16);

/// The TCP flow of `frame` (Ethernet, IPv4 or IPv6), if it is a TCP segment.
pub fn flow(frame: &[u8]) -> Option<Flow> {
    flow_of(&SlicedPacket::from_ethernet(frame).ok()?)
}

/// The flow of a sliced `packet`, if it is a TCP segment.
fn flow_of(packet: &SlicedPacket<'_>) -> Option<Flow> {
    let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
        return None;
    };
    let (mut src, mut dst) = ([0u8; 16], [0u8; 16]);
    match packet.net.as_ref()? {
        NetSlice::Ipv4(ip) => {
            src[..4].copy_from_slice(&ip.header().source());
            dst[..4].copy_from_slice(&ip.header().destination());
        }
        NetSlice::Ipv6(ip) => {
            src = ip.header().source();
            dst = ip.header().destination();
        }
    }
    Some((src, tcp.source_port(), dst, tcp.destination_port()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::TcpOptionElement;

    const GUEST: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const PASST: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x02];

    /// A segment from the guest (10.0.2.15:9995 or fd00::15) to passt with `flags` set by
    /// `set` — the guest's SYN-ACK as Kiln sends it (MSS and window-scale options).
    fn from_guest(v6: bool, set: impl Fn(PacketBuilderStepTcp) -> PacketBuilderStepTcp) -> Vec<u8> {
        let eth = PacketBuilder::ethernet2(GUEST, PASST);
        let ip = if v6 {
            let mut guest = [0u8; 16];
            guest[..2].copy_from_slice(&[0xfd, 0]);
            guest[15] = 0x15;
            let mut gw = [0u8; 16];
            gw[..2].copy_from_slice(&[0xfe, 0x80]);
            gw[15] = 2;
            eth.ipv6(guest, gw, 64)
        } else {
            eth.ipv4([10, 0, 2, 15], [10, 0, 2, 2], 64)
        };
        let tcp = ip
            .tcp(9995, 47252, 2_796_189_581, 32768)
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::WindowScale(0),
            ])
            .unwrap();
        let tcp = set(tcp);
        let mut out = Vec::new();
        tcp.write(&mut out, &[]).unwrap();
        out
    }

    type PacketBuilderStepTcp = etherparse::PacketBuilderStep<etherparse::TcpHeader>;

    #[test]
    fn a_syn_ack_gets_the_handshakes_ack_with_valid_checksums() {
        for v6 in [false, true] {
            let syn_ack = from_guest(v6, |t| t.syn().ack(3_239_381_243));
            let ack = ack_for(&syn_ack).expect("an ACK");
            let parsed = SlicedPacket::from_ethernet(&ack).unwrap();
            let Some(LinkSlice::Ethernet2(eth)) = parsed.link else {
                panic!()
            };
            assert_eq!((eth.source(), eth.destination()), (PASST, GUEST));
            let Some(TransportSlice::Tcp(tcp)) = parsed.transport else {
                panic!()
            };
            assert_eq!((tcp.source_port(), tcp.destination_port()), (47252, 9995));
            assert_eq!(tcp.sequence_number(), 3_239_381_243);
            assert_eq!(tcp.acknowledgment_number(), 2_796_189_582);
            assert!(tcp.ack() && !tcp.syn() && !tcp.fin() && !tcp.rst());
            assert!(tcp.payload().is_empty());
            // The ACK's flow is passt's direction of the SYN-ACK's.
            let (a, ap, b, bp) = flow(&syn_ack).unwrap();
            assert_eq!(flow(&ack), Some((b, bp, a, ap)));
            // The checksum is right for the swapped addresses.
            let sum = match parsed.net.unwrap() {
                NetSlice::Ipv4(ip) => {
                    let h = ip.header();
                    assert_eq!(
                        (h.source(), h.destination()),
                        ([10, 0, 2, 2], [10, 0, 2, 15])
                    );
                    assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
                    tcp.to_header()
                        .calc_checksum_ipv4_raw(h.source(), h.destination(), &[])
                        .unwrap()
                }
                NetSlice::Ipv6(ip) => {
                    let h = ip.header();
                    assert_eq!(h.destination()[15], 0x15);
                    tcp.to_header()
                        .calc_checksum_ipv6_raw(h.source(), h.destination(), &[])
                        .unwrap()
                }
            };
            assert_eq!(sum, tcp.checksum(), "v6={v6}");
        }
    }

    #[test]
    fn openings_are_told_apart() {
        for v6 in [false, true] {
            let syn = from_guest(v6, |t| t.syn());
            let (kind, f) = opening(&syn).unwrap();
            assert_eq!((kind, Some(f)), (Opening::Syn, flow(&syn)));
            let kinds = [
                (from_guest(v6, |t| t.syn().ack(1)), Opening::Answer),
                (from_guest(v6, |t| t.rst()), Opening::Answer),
                (from_guest(v6, |t| t.ack(1).rst()), Opening::Answer),
                (from_guest(v6, |t| t.ack(1)), Opening::Other),
                (from_guest(v6, |t| t.ack(1).fin()), Opening::Other),
            ];
            for (frame, want) in kinds {
                assert_eq!(opening(&frame).map(|o| o.0), Some(want), "v6={v6}");
            }
        }
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(opening(&arp).is_none());
    }

    #[test]
    fn other_segments_and_frames_get_nothing() {
        for v6 in [false, true] {
            assert!(ack_for(&from_guest(v6, |t| t.syn())).is_none(), "a SYN");
            assert!(ack_for(&from_guest(v6, |t| t.ack(1))).is_none(), "an ACK");
            assert!(ack_for(&from_guest(v6, |t| t.syn().ack(1).rst())).is_none());
            assert!(ack_for(&from_guest(v6, |t| t.syn().ack(1).fin())).is_none());
        }
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(ack_for(&arp).is_none());
        assert!(ack_for(&[0u8; 10]).is_none());
        assert!(flow(&arp).is_none());
        // A SYN-ACK cut short is not answered.
        let syn_ack = from_guest(false, |t| t.syn().ack(1));
        assert!(ack_for(&syn_ack[..40]).is_none());
    }
}
