//! The e1000 on the hardware: discovery on PCI bus 0, the register window (BAR 0, mapped
//! uncached), descriptor rings and buffers in identity-mapped frames, the INTx line, and
//! smoltcp's `Device` over it all.
//!
//! Every length the device writes back is checked by [`super::ring`] before a slice is taken.

use core::sync::atomic::{fence, Ordering};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::transport::pci::bus::DeviceFunction;

use super::regs::{self, int};
use super::ring::{Desc, DescMem, RxDrop, RxEvent, RxRing, TxRing};
use crate::arch::irq::{self, Irq};
use crate::boot::madt::LineMode;
use crate::drivers::pci;
use crate::mm::frames::FRAMES;
use crate::mm::layout::PAGE_SIZE;

/// Receive and transmit descriptors (one 1 KiB ring each).
const RX_SIZE: usize = 64;
const TX_SIZE: usize = 64;
/// One buffer per descriptor: RCTL's 2 KiB size, enough for any frame without jumbo frames.
const BUF_LEN: usize = 2048;
/// Ethernet frame without FCS: 1500 bytes of payload and a 14-byte header.
const MAX_FRAME: usize = 1514;
/// How long the device gets for a reset and for an EEPROM word.
const RESET_NS: u64 = 10_000_000;
const EEPROM_NS: u64 = 1_000_000;

/// The register window.
struct Regs {
    base: u64,
}

impl Regs {
    fn read(&self, offset: usize) -> u32 {
        debug_assert!((offset as u64) < regs::WINDOW);
        // SAFETY: `base` is the device's BAR 0, identity-mapped uncached over its whole
        // 128 KiB window by `probe`, and `offset` is one of the register offsets inside it.
        unsafe { core::ptr::read_volatile((self.base + offset as u64) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        debug_assert!((offset as u64) < regs::WINDOW);
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + offset as u64) as *mut u32, value) }
    }

    /// Polls `offset` until `done` holds or `ns` pass; the last value read.
    fn wait(&self, offset: usize, ns: u64, done: impl Fn(u32) -> bool) -> Result<u32, u32> {
        let until = crate::time::monotonic_ns() + ns;
        loop {
            let v = self.read(offset);
            if done(v) {
                return Ok(v);
            }
            if crate::time::monotonic_ns() > until {
                return Err(v);
            }
            core::hint::spin_loop();
        }
    }
}

/// Contiguous, zeroed, identity-mapped frames the driver owns for the VM's life (a NIC is
/// never removed, so they are never freed).
struct Dma {
    addr: u64,
    len: usize,
}

impl Dma {
    fn new(len: usize) -> Option<Dma> {
        let pages = len.div_ceil(PAGE_SIZE as usize) as u64;
        let addr = FRAMES.lock().alloc_contiguous(pages)?;
        // SAFETY: fresh frames of identity-mapped RAM that nobody else owns.
        unsafe { core::ptr::write_bytes(addr as *mut u8, 0, len) };
        Some(Dma { addr, len })
    }

    /// Bytes `at..at + len` (inside the block).
    fn bytes(&self, at: usize, len: usize) -> &[u8] {
        assert!(at + len <= self.len, "DMA slice out of range");
        // SAFETY: inside the block, which only this driver owns; the device writes a buffer
        // only while its descriptor is the device's, and the driver reads it only after the
        // device gave it back.
        unsafe { core::slice::from_raw_parts((self.addr as usize + at) as *const u8, len) }
    }

    fn bytes_mut(&mut self, at: usize, len: usize) -> &mut [u8] {
        assert!(at + len <= self.len, "DMA slice out of range");
        // SAFETY: as in `bytes`; the device reads a transmit buffer only after its descriptor
        // was queued, which happens after this borrow ends.
        unsafe { core::slice::from_raw_parts_mut((self.addr as usize + at) as *mut u8, len) }
    }
}

/// A descriptor ring's memory, accessed volatile: the device writes descriptors back.
struct Descs {
    dma: Dma,
    count: usize,
}

impl Descs {
    fn ptr(&self, index: usize) -> *mut Desc {
        assert!(index < self.count, "descriptor {index} out of range");
        (self.dma.addr as usize + index * core::mem::size_of::<Desc>()) as *mut Desc
    }
}

impl DescMem for Descs {
    fn load(&self, index: usize) -> Desc {
        let p = self.ptr(index);
        // SAFETY: `p` is a descriptor inside this ring's DMA block (checked by `ptr`),
        // 16-byte aligned. The status word is read first; the address only after it.
        unsafe {
            let word = core::ptr::read_volatile(core::ptr::addr_of!((*p).word));
            fence(Ordering::Acquire);
            let addr = core::ptr::read_volatile(core::ptr::addr_of!((*p).addr));
            Desc { addr, word }
        }
    }

    fn store(&mut self, index: usize, desc: Desc) {
        let p = self.ptr(index);
        // SAFETY: as in `load`; the driver stores only descriptors the device does not own.
        unsafe { core::ptr::write_volatile(p, desc) };
    }
}

pub struct E1000 {
    regs: Regs,
    rx: RxRing,
    rx_descs: Descs,
    rx_bufs: Dma,
    tx: TxRing,
    tx_descs: Descs,
    tx_bufs: Dma,
    irq: Option<Irq>,
    mac: [u8; 6],
    link_up: bool,
    /// Frames dropped because the device reported a bad length, an error, or a fragment.
    pub dropped: u64,
}

impl core::fmt::Debug for E1000 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "E1000({:02x?})", self.mac)
    }
}

/// A supported controller on PCI bus 0, if there is one.
pub fn find() -> Option<DeviceFunction> {
    if !pci::present() {
        return None;
    }
    let root = pci::root();
    let mut functions = pci::functions(&root);
    functions.find_map(|(df, info)| regs::supported(info.vendor_id, info.device_id).then_some(df))
}

/// Why the device could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// BAR 0 is not a 32-bit memory window of at least 128 KiB, or no address is left for it.
    NoRegisters,
    /// The device never finished its reset.
    ResetTimeout,
    /// Neither the EEPROM nor the receive-address registers hold a MAC address.
    NoMac,
    /// No frames for the rings and buffers.
    OutOfMemory,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::NoRegisters => "its register window (BAR 0) is not a usable 32-bit memory BAR",
            Error::ResetTimeout => "it did not finish its reset",
            Error::NoMac => "it has no valid MAC address",
            Error::OutOfMemory => "no memory for its rings",
        })
    }
}

impl E1000 {
    /// Starts the controller at `df`: reset, MAC address, link up, rings, interrupt line.
    pub fn new(df: DeviceFunction) -> Result<E1000, Error> {
        let mut root = pci::root();
        let (base, size) = pci::assign_bar32(&mut root, df, 0)
            .filter(|&(_, size)| size >= regs::WINDOW)
            .ok_or(Error::NoRegisters)?;
        pci::enable(&mut root, df);
        crate::mm::paging::map_mmio(base, size.min(regs::WINDOW));
        let regs = Regs { base };

        // Quiet and reset it: no interrupt until the rings are ready.
        regs.write(regs::IMC, int::ALL);
        regs.write(regs::CTRL, regs.read(regs::CTRL) | regs::ctrl::RST);
        regs.wait(regs::CTRL, RESET_NS, |v| v & regs::ctrl::RST == 0)
            .map_err(|_| Error::ResetTimeout)?;
        regs.write(regs::IMC, int::ALL);
        let _ = regs.read(regs::ICR);

        let mac = read_mac(&regs).ok_or(Error::NoMac)?;
        let (ral, rah) = regs::ral_rah(mac);
        regs.write(regs::RAL0, ral);
        regs.write(regs::RAH0, rah);
        for i in 0..regs::MTA_LEN {
            regs.write(regs::MTA + 4 * i, 0);
        }
        regs.write(regs::CTRL, regs::ctrl_link_up(regs.read(regs::CTRL)));

        let ring_bytes = |n: usize| n * core::mem::size_of::<Desc>();
        let rx_descs = Descs {
            dma: Dma::new(ring_bytes(RX_SIZE)).ok_or(Error::OutOfMemory)?,
            count: RX_SIZE,
        };
        let tx_descs = Descs {
            dma: Dma::new(ring_bytes(TX_SIZE)).ok_or(Error::OutOfMemory)?,
            count: TX_SIZE,
        };
        let mut nic = E1000 {
            rx: RxRing::new(RX_SIZE, BUF_LEN).expect("a valid ring size"),
            tx: TxRing::new(TX_SIZE, BUF_LEN).expect("a valid ring size"),
            rx_bufs: Dma::new(RX_SIZE * BUF_LEN).ok_or(Error::OutOfMemory)?,
            tx_bufs: Dma::new(TX_SIZE * BUF_LEN).ok_or(Error::OutOfMemory)?,
            rx_descs,
            tx_descs,
            regs,
            irq: None,
            mac,
            link_up: false,
            dropped: 0,
        };

        let rx_base = nic.rx_bufs.addr;
        let (head, tail) = nic
            .rx
            .init(&mut nic.rx_descs, |i| rx_base + (i * BUF_LEN) as u64);
        set_ring(
            &nic.regs,
            regs::RDBAL,
            nic.rx_descs.dma.addr,
            ring_bytes(RX_SIZE),
        );
        nic.regs.write(regs::RDH, head);
        fence(Ordering::SeqCst);
        nic.regs.write(regs::RDT, tail);
        nic.regs.write(regs::RCTL, regs::rctl_value());

        let (head, tail) = nic.tx.init(&mut nic.tx_descs);
        set_ring(
            &nic.regs,
            regs::TDBAL,
            nic.tx_descs.dma.addr,
            ring_bytes(TX_SIZE),
        );
        nic.regs.write(regs::TDH, head);
        nic.regs.write(regs::TDT, tail);
        nic.regs.write(regs::TIPG, regs::tipg_value());
        nic.regs.write(regs::TCTL, regs::tctl_value());

        // PCI INTx: level-triggered, asserted while ICR & IMS is non-zero; reading ICR
        // clears it.
        nic.irq = pci::intx_line(df).and_then(|(line, isa)| {
            let gsi = if isa {
                crate::arch::ioapic::isa_irq(line as u8).0
            } else {
                line
            };
            irq::register(
                gsi,
                LineMode {
                    level: true,
                    active_low: false,
                },
            )
        });
        if nic.irq.is_none() {
            kinfo!("net: the e1000 at pci {} has no usable interrupt line; the network is polled at 10 ms", df);
        }
        let _ = nic.regs.read(regs::ICR);
        nic.regs.write(regs::IMS, int::ENABLED);
        nic.check_link();
        Ok(nic)
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// True if the device has no interrupt and must be polled on a timer.
    pub fn needs_polling(&self) -> bool {
        self.irq.is_none()
    }

    /// Handles a pending interrupt: reads (and so clears) the causes, which lowers the line,
    /// notes a link change, then re-arms the line. True if one was pending.
    pub fn service_interrupt(&mut self) -> bool {
        let Some(irq) = &self.irq else {
            return false;
        };
        if !irq.take_pending() {
            return false;
        }
        let causes = self.regs.read(regs::ICR);
        irq.rearm();
        if causes & int::LSC != 0 {
            self.check_link();
        }
        true
    }

    /// Prints the link state when it changed.
    fn check_link(&mut self) {
        let link = regs::link(self.regs.read(regs::STATUS));
        if link.up != self.link_up {
            self.link_up = link.up;
            if link.up {
                kinfo!("net: e1000 link up, {} Mb/s", link.speed);
            } else {
                kinfo!("net: e1000 link down");
            }
        }
    }

    /// Gives every examined receive descriptor back to the device.
    fn give_back_rx(&mut self) {
        let mut tail = None;
        while let Some(index) = self.rx.oldest_examined() {
            let addr = self.rx_bufs.addr + (index * BUF_LEN) as u64;
            tail = self.rx.give_back(&mut self.rx_descs, index, addr).or(tail);
        }
        if let Some(t) = tail {
            fence(Ordering::SeqCst);
            self.regs.write(regs::RDT, t);
        }
    }

    fn note_drop(&mut self, why: RxDrop) {
        if self.dropped == 0 {
            kinfo!(
                "net: e1000 dropped a received frame ({:?}); later drops are counted",
                why
            );
        }
        self.dropped += 1;
    }
}

/// Programs a ring's base address (low and high dwords) and length.
fn set_ring(regs: &Regs, bal: usize, addr: u64, bytes: usize) {
    regs.write(bal, addr as u32);
    regs.write(bal + 4, (addr >> 32) as u32);
    regs.write(bal + 8, bytes as u32);
}

/// The MAC address: from the EEPROM when it answers, else receive address 0 (which the
/// device loads from the EEPROM at reset).
fn read_mac(regs: &Regs) -> Option<[u8; 6]> {
    let mut words = [0u16; 3];
    let mut eeprom = true;
    for (i, w) in words.iter_mut().enumerate() {
        regs.write(regs::EERD, regs::eerd_start(i as u8));
        match regs.wait(regs::EERD, EEPROM_NS, |v| regs::eerd_word(v).is_some()) {
            Ok(v) => *w = regs::eerd_word(v).unwrap_or(0),
            Err(_) => {
                eeprom = false;
                break;
            }
        }
    }
    eeprom
        .then(|| regs::mac_from_eeprom(words))
        .flatten()
        .or_else(|| regs::mac_from_ral_rah(regs.read(regs::RAL0), regs.read(regs::RAH0)))
}

#[derive(Debug)]
pub struct RxToken<'a> {
    frame: &'a [u8],
}

pub struct TxToken<'a> {
    regs: &'a Regs,
    ring: &'a mut TxRing,
    descs: &'a mut Descs,
    bufs: &'a mut Dma,
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
        let index = self
            .ring
            .next_free()
            .expect("transmit() checked a free descriptor");
        let len = len.min(BUF_LEN);
        let result = f(self.bufs.bytes_mut(index * BUF_LEN, len));
        let addr = self.bufs.addr + (index * BUF_LEN) as u64;
        if let Ok(tail) = self.ring.push(self.descs, addr, len) {
            // The buffer and descriptor reach memory before the device hears of them.
            fence(Ordering::SeqCst);
            self.regs.write(regs::TDT, tail);
        }
        result
    }
}

impl Device for E1000 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.give_back_rx();
        self.tx.reap(&self.tx_descs);
        self.tx.next_free()?;
        loop {
            match self.rx.poll(&self.rx_descs)? {
                RxEvent::Frame { index, len } => {
                    return Some((
                        RxToken {
                            frame: self.rx_bufs.bytes(index * BUF_LEN, len),
                        },
                        TxToken {
                            regs: &self.regs,
                            ring: &mut self.tx,
                            descs: &mut self.tx_descs,
                            bufs: &mut self.tx_bufs,
                        },
                    ));
                }
                RxEvent::Drop { why, .. } => {
                    self.note_drop(why);
                    self.give_back_rx();
                }
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        self.tx.reap(&self.tx_descs);
        self.tx.next_free()?;
        Some(TxToken {
            regs: &self.regs,
            ring: &mut self.tx,
            descs: &mut self.tx_descs,
            bufs: &mut self.tx_bufs,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}
