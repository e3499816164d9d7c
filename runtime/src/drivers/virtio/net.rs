//! virtio-net as a smoltcp `Device`: fixed pools of receive and transmit buffers on the
//! kernel heap, no copies beyond smoltcp's own, interrupts through `arch::irq`.
//!
//! The device reports how many bytes it wrote into each receive buffer; that length is
//! checked against the buffer before any slice is taken (DESIGN.md §8).

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;

use super::hal::KilnHal;
use super::transport::AnyTransport;
use super::Found;
use crate::arch::irq::{self, Irq};

/// Descriptors per queue (a power of two every virtio-net of QEMU and Firecracker allows).
const QUEUE_SIZE: usize = 256;
/// A buffer: the virtio-net header (10 or 12 bytes) and a full Ethernet frame.
const BUF_LEN: usize = 2048;
/// Ethernet frame without FCS: 1500 bytes of payload and a 14-byte header.
const MAX_FRAME: usize = 1514;

type Raw = VirtIONetRaw<KilnHal, AnyTransport, QUEUE_SIZE>;

/// The transmit side: buffers, which are free, which are with the device (by token).
struct TxSide {
    bufs: Vec<Box<[u8]>>,
    free: Vec<usize>,
    inflight: [Option<(usize, usize)>; QUEUE_SIZE],
}

pub struct VirtioNet {
    raw: Raw,
    rx_bufs: Vec<Box<[u8]>>,
    /// Receive buffer slot owned by the device, by token.
    rx_slot: [Option<usize>; QUEUE_SIZE],
    /// Slots handed to smoltcp (or dropped) and to be given back to the device.
    rx_done: Vec<usize>,
    tx: TxSide,
    irq: Option<Irq>,
    mac: [u8; 6],
    /// Frames dropped because the device reported a bad length.
    pub bad_lengths: u64,
}

impl core::fmt::Debug for VirtioNet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VirtioNet({:02x?})", self.mac)
    }
}

impl VirtioNet {
    /// Initializes the device, posts every receive buffer, and routes its interrupt.
    pub fn new(found: Found) -> Result<VirtioNet, virtio_drivers::Error> {
        let mut raw = Raw::new(found.transport)?;
        let mac = raw.mac_address();
        let mut net = VirtioNet {
            rx_bufs: (0..QUEUE_SIZE)
                .map(|_| vec![0u8; BUF_LEN].into_boxed_slice())
                .collect(),
            rx_slot: [None; QUEUE_SIZE],
            rx_done: (0..QUEUE_SIZE).collect(),
            tx: TxSide {
                bufs: (0..QUEUE_SIZE / 2)
                    .map(|_| vec![0u8; BUF_LEN].into_boxed_slice())
                    .collect(),
                free: (0..QUEUE_SIZE / 2).collect(),
                inflight: [None; QUEUE_SIZE],
            },
            irq: None,
            mac,
            bad_lengths: 0,
            raw: {
                raw.enable_interrupts();
                raw
            },
        };
        net.repost();
        net.irq = irq::register(found.gsi, found.mode);
        // A frame that arrived before the line was routed has raised it already, while the
        // I/O APIC still took it for a masked edge and ignored it: a level that never falls
        // again raises nothing more, and the network would stay deaf. Lower it; the stack's
        // first poll picks up whatever the device has used so far.
        net.raw.ack_interrupt();
        if net.irq.is_none() {
            kinfo!(
                "net: no I/O APIC serves interrupt line {}; the network is polled at 10 ms",
                found.gsi
            );
        }
        Ok(net)
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// True if the device has no interrupt and must be polled on a timer.
    pub fn needs_polling(&self) -> bool {
        self.irq.is_none()
    }

    /// Handles a pending interrupt: acknowledges the device, then re-arms the line, so that
    /// anything the device does afterwards raises it again. True if one was pending.
    pub fn service_interrupt(&mut self) -> bool {
        let Some(irq) = &self.irq else {
            return false;
        };
        if !irq.take_pending() {
            return false;
        }
        self.raw.ack_interrupt();
        irq.rearm();
        true
    }

    /// Gives consumed receive buffers back to the device.
    fn repost(&mut self) {
        while let Some(slot) = self.rx_done.pop() {
            // SAFETY: the buffer is not touched again until `receive_complete` returns it.
            match unsafe { self.raw.receive_begin(&mut self.rx_bufs[slot]) } {
                Ok(token) if (token as usize) < QUEUE_SIZE => {
                    self.rx_slot[token as usize] = Some(slot)
                }
                _ => {
                    self.rx_done.push(slot);
                    break;
                }
            }
        }
    }
}

impl TxSide {
    /// Takes back buffers the device has sent.
    fn reap(&mut self, raw: &mut Raw) {
        while let Some(token) = raw.poll_transmit() {
            let Some((slot, len)) = self.inflight.get_mut(token as usize).and_then(Option::take)
            else {
                break;
            };
            // SAFETY: the same buffer and length as given to `transmit_begin` for this token.
            let _ = unsafe { raw.transmit_complete(token, &self.bufs[slot][..len]) };
            self.free.push(slot);
        }
    }
}

#[derive(Debug)]
pub struct RxToken<'a> {
    frame: &'a [u8],
}

pub struct TxToken<'a> {
    raw: &'a mut Raw,
    tx: &'a mut TxSide,
}

impl core::fmt::Debug for TxToken<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TxToken")
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let slot = self
            .tx
            .free
            .pop()
            .expect("transmit() checked a free buffer");
        let buf = &mut self.tx.bufs[slot];
        let hdr = self.raw.fill_buffer_header(buf).unwrap_or(0);
        let len = len.min(BUF_LEN - hdr);
        let result = f(&mut buf[hdr..hdr + len]);
        // SAFETY: the buffer is not touched until the device returns it (`TxSide::reap`).
        match unsafe { self.raw.transmit_begin(&buf[..hdr + len]) } {
            Ok(token) if (token as usize) < QUEUE_SIZE => {
                self.tx.inflight[token as usize] = Some((slot, hdr + len))
            }
            _ => self.tx.free.push(slot),
        }
        result
    }
}

impl Device for VirtioNet {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.repost();
        self.tx.reap(&mut self.raw);
        if self.tx.free.is_empty() || !self.raw.can_send() {
            return None;
        }
        loop {
            let token = self.raw.poll_receive()?;
            let Some(slot) = self.rx_slot.get_mut(token as usize).and_then(Option::take) else {
                return None; // a token we never posted: leave the queue alone
            };
            // SAFETY: `slot`'s buffer is the one posted with this token.
            let done = unsafe { self.raw.receive_complete(token, &mut self.rx_bufs[slot]) };
            self.rx_done.push(slot);
            match done {
                Ok((hdr, len)) if hdr.checked_add(len).is_some_and(|end| end <= BUF_LEN) => {
                    let frame = &self.rx_bufs[slot][hdr..hdr + len];
                    return Some((
                        RxToken { frame },
                        TxToken {
                            raw: &mut self.raw,
                            tx: &mut self.tx,
                        },
                    ));
                }
                _ => {
                    if self.bad_lengths == 0 {
                        kinfo!("net: virtio-net reported a bad receive length; frame dropped");
                    }
                    self.bad_lengths += 1;
                }
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        self.tx.reap(&mut self.raw);
        if self.tx.free.is_empty() || !self.raw.can_send() {
            return None;
        }
        Some(TxToken {
            raw: &mut self.raw,
            tx: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}
