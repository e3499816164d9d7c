//! The SYN gate: drops a connection request (a TCP SYN without ACK) for a listener whose
//! backlog is full, before smoltcp sees it, as Linux does. smoltcp answers a SYN no socket
//! takes with a reset, which the peer reports as "connection refused"; a dropped SYN is
//! retransmitted by the peer and gets in once `accept` made room.
#![forbid(unsafe_code)]

use smoltcp::phy::{Device, DeviceCapabilities, PacketMeta, RxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpListenEndpoint, IpProtocol, Ipv4Packet,
    Ipv6Packet, TcpPacket,
};

/// The destination of `frame` if it is an Ethernet frame carrying a TCP SYN without ACK
/// (IPv4, or IPv6 without extension headers); `None` for anything else, malformed included.
pub fn syn_destination(frame: &[u8]) -> Option<(IpAddress, u16)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (dst, tcp) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
                return None;
            }
            (IpAddress::Ipv4(ip.dst_addr()), ip.payload())
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            (IpAddress::Ipv6(ip.dst_addr()), ip.payload())
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(tcp).ok()?;
    (tcp.syn() && !tcp.ack()).then(|| (dst, tcp.dst_port()))
}

/// True when `frame` is a SYN for one of the endpoints in `full`.
pub fn blocked(frame: &[u8], full: &[IpListenEndpoint]) -> bool {
    if full.is_empty() {
        return false;
    }
    syn_destination(frame).is_some_and(|(addr, port)| {
        full.iter()
            .any(|l| l.port == port && l.addr.is_none_or(|a| a == addr))
    })
}

/// `device` with the SYNs for the listeners in `full` taken out of what it receives.
pub struct Gate<'a, D: Device> {
    device: &'a mut D,
    full: &'a [IpListenEndpoint],
}

impl<'a, D: Device> Gate<'a, D> {
    pub fn new(device: &'a mut D, full: &'a [IpListenEndpoint]) -> Self {
        Gate { device, full }
    }
}

impl<D: Device> core::fmt::Debug for Gate<'_, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gate")
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

/// A received frame that reaches smoltcp unless the gate blocks it.
pub struct GateRx<'a, R: RxToken> {
    token: R,
    full: &'a [IpListenEndpoint],
}

impl<R: RxToken> core::fmt::Debug for GateRx<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GateRx")
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

impl<R: RxToken> RxToken for GateRx<'_, R> {
    fn consume<T, F>(self, f: F) -> T
    where
        F: FnOnce(&[u8]) -> T,
    {
        let full = self.full;
        // smoltcp skips an empty frame (Interface::poll_ingress_single): a blocked SYN is
        // handed over as one, so it is neither processed nor answered.
        self.token
            .consume(|frame| f(if blocked(frame, full) { &[] } else { frame }))
    }

    fn meta(&self) -> PacketMeta {
        self.token.meta()
    }
}

impl<D: Device> Device for Gate<'_, D> {
    type RxToken<'b>
        = GateRx<'b, D::RxToken<'b>>
    where
        Self: 'b;
    type TxToken<'b>
        = D::TxToken<'b>
    where
        Self: 'b;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let full = self.full;
        let (token, tx) = self.device.receive(timestamp)?;
        Some((GateRx { token, full }, tx))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.device.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetRepr, IpRepr, Ipv4Address, Ipv4Repr, Ipv6Address, Ipv6Repr,
        TcpControl, TcpRepr, TcpSeqNumber,
    };

    /// An Ethernet frame with a TCP segment to `dst`:`port` carrying `control` (and an ACK
    /// if `ack`).
    fn segment(dst: IpAddress, port: u16, control: TcpControl, ack: bool) -> alloc::vec::Vec<u8> {
        let tcp = TcpRepr {
            src_port: 40000,
            dst_port: port,
            control,
            seq_number: TcpSeqNumber(1),
            ack_number: ack.then_some(TcpSeqNumber(9)),
            window_len: 1024,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = match dst {
            IpAddress::Ipv4(d) => IpRepr::Ipv4(Ipv4Repr {
                src_addr: Ipv4Address::new(10, 77, 0, 1),
                dst_addr: d,
                next_header: IpProtocol::Tcp,
                payload_len: tcp.buffer_len(),
                hop_limit: 64,
            }),
            IpAddress::Ipv6(d) => IpRepr::Ipv6(Ipv6Repr {
                src_addr: "fd77::1".parse().unwrap(),
                dst_addr: d,
                next_header: IpProtocol::Tcp,
                payload_len: tcp.buffer_len(),
                hop_limit: 64,
            }),
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: match dst {
                IpAddress::Ipv4(_) => EthernetProtocol::Ipv4,
                IpAddress::Ipv6(_) => EthernetProtocol::Ipv6,
            },
        };
        // The IP representation's length includes its payload.
        let mut buf = alloc::vec![0u8; eth.buffer_len() + ip.buffer_len()];
        let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut frame);
        let caps = ChecksumCapabilities::default();
        ip.emit(frame.payload_mut(), &caps);
        let header = ip.header_len();
        let mut packet = TcpPacket::new_unchecked(&mut frame.payload_mut()[header..]);
        tcp.emit(&mut packet, &ip.src_addr(), &ip.dst_addr(), &caps);
        buf
    }

    const V4: IpAddress = IpAddress::Ipv4(Ipv4Address::new(10, 77, 0, 2));

    #[test]
    fn finds_syns_and_only_syns() {
        let v6 = IpAddress::Ipv6(Ipv6Address::new(0xfd77, 0, 0, 0, 0, 0, 0, 2));
        for dst in [V4, v6] {
            let syn = segment(dst, 7, TcpControl::Syn, false);
            assert_eq!(syn_destination(&syn), Some((dst, 7)));
            // A SYN-ACK answers our own connect, and a plain segment belongs to a connection.
            assert_eq!(
                syn_destination(&segment(dst, 7, TcpControl::Syn, true)),
                None
            );
            assert_eq!(
                syn_destination(&segment(dst, 7, TcpControl::None, true)),
                None
            );
            assert_eq!(
                syn_destination(&segment(dst, 7, TcpControl::Rst, false)),
                None
            );
            // Cut anywhere, the frame is not a SYN (and nothing panics).
            for len in 0..syn.len() {
                assert_eq!(syn_destination(&syn[..len]), None, "cut at {len}");
            }
        }
    }

    #[test]
    fn blocks_syns_for_full_listeners_only() {
        let syn = segment(V4, 80, TcpControl::Syn, false);
        let any = IpListenEndpoint {
            addr: None,
            port: 80,
        };
        let exact = IpListenEndpoint {
            addr: Some(V4),
            port: 80,
        };
        let other_addr = IpListenEndpoint {
            addr: Some(IpAddress::Ipv4(Ipv4Address::new(10, 77, 0, 3))),
            port: 80,
        };
        let other_port = IpListenEndpoint {
            addr: None,
            port: 81,
        };
        assert!(blocked(&syn, &[any]));
        assert!(blocked(&syn, &[other_port, exact]));
        assert!(!blocked(&syn, &[]));
        assert!(!blocked(&syn, &[other_addr, other_port]));
        assert!(!blocked(&segment(V4, 80, TcpControl::None, true), &[any]));
    }
}
