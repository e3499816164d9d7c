//! The network device the kernel drives: virtio-net or an e1000, one smoltcp `Device` over
//! either, so `net/` needs no knowledge of which.

use alloc::boxed::Box;
use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::Instant;

use super::e1000::{self, E1000};
use super::virtio::net::{self as vnet, VirtioNet};

/// One of the supported NICs (virtio-net boxed: its buffer bookkeeping is ~7 KiB).
#[derive(Debug)]
pub enum Nic {
    Virtio(Box<VirtioNet>),
    E1000(E1000),
}

impl Nic {
    pub fn mac(&self) -> [u8; 6] {
        match self {
            Nic::Virtio(d) => d.mac(),
            Nic::E1000(d) => d.mac(),
        }
    }

    /// True if the device has no interrupt and must be polled on a timer.
    pub fn needs_polling(&self) -> bool {
        match self {
            Nic::Virtio(d) => d.needs_polling(),
            Nic::E1000(d) => d.needs_polling(),
        }
    }

    /// Handles a pending interrupt; true if one was pending.
    pub fn service_interrupt(&mut self) -> bool {
        match self {
            Nic::Virtio(d) => d.service_interrupt(),
            Nic::E1000(d) => d.service_interrupt(),
        }
    }
}

#[derive(Debug)]
pub enum RxToken<'a> {
    Virtio(vnet::RxToken<'a>),
    E1000(e1000::RxToken<'a>),
}

#[derive(Debug)]
pub enum TxToken<'a> {
    Virtio(vnet::TxToken<'a>),
    E1000(e1000::TxToken<'a>),
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            RxToken::Virtio(t) => t.consume(f),
            RxToken::E1000(t) => t.consume(f),
        }
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        match self {
            TxToken::Virtio(t) => t.consume(len, f),
            TxToken::E1000(t) => t.consume(len, f),
        }
    }
}

impl Device for Nic {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        match self {
            Nic::Virtio(d) => d
                .receive(now)
                .map(|(r, t)| (RxToken::Virtio(r), TxToken::Virtio(t))),
            Nic::E1000(d) => d
                .receive(now)
                .map(|(r, t)| (RxToken::E1000(r), TxToken::E1000(t))),
        }
    }

    fn transmit(&mut self, now: Instant) -> Option<TxToken<'_>> {
        match self {
            Nic::Virtio(d) => d.transmit(now).map(TxToken::Virtio),
            Nic::E1000(d) => d.transmit(now).map(TxToken::E1000),
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        match self {
            Nic::Virtio(d) => d.capabilities(),
            Nic::E1000(d) => d.capabilities(),
        }
    }
}
