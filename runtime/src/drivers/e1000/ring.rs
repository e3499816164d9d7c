//! The e1000's descriptor rings as bookkeeping over any descriptor memory: which descriptor
//! the device owns, which the driver examines next, what a written-back descriptor means.
//!
//! Legacy descriptors are 16 bytes: a buffer address and a word whose fields the device
//! writes back (receive: length, checksum, status, errors; transmit: length, command,
//! status). The kernel keeps the rings in DMA memory and reaches them through volatile
//! accesses ([`DescMem`]); the host tests use a plain slice and play the device.
//!
//! Ownership follows the manual: the device owns descriptors from its head up to, not
//! including, the tail register. The receive ring keeps one descriptor back (the tail), so a
//! full ring is never mistaken for an empty one, and gives descriptors back strictly in order.
#![forbid(unsafe_code)]

/// One legacy descriptor: the buffer's physical address and the status word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct Desc {
    pub addr: u64,
    pub word: u64,
}

/// Descriptor status bits (receive and transmit share DD).
pub const STA_DD: u8 = 1 << 0;
pub const STA_EOP: u8 = 1 << 1;
/// Transmit command bits.
pub const CMD_EOP: u8 = 1 << 0;
pub const CMD_IFCS: u8 = 1 << 1;
pub const CMD_RS: u8 = 1 << 3;

/// The shortest frame worth handing up: an Ethernet header.
pub const MIN_FRAME: usize = 14;

impl Desc {
    /// Receive: bytes the device wrote.
    pub fn rx_length(&self) -> u16 {
        self.word as u16
    }
    pub fn status(&self) -> u8 {
        (self.word >> 32) as u8
    }
    /// Receive: error bits (CRC, symbol, sequence, carrier extension, RX data).
    pub fn rx_errors(&self) -> u8 {
        (self.word >> 40) as u8
    }
    /// A written-back receive descriptor (what the device does), for tests and fuzzing.
    pub fn rx_written(addr: u64, length: u16, status: u8, errors: u8) -> Desc {
        Desc {
            addr,
            word: length as u64 | (status as u64) << 32 | (errors as u64) << 40,
        }
    }
    /// A transmit descriptor for `len` bytes at `addr`: end of packet, insert FCS, report
    /// status.
    pub fn tx(addr: u64, len: u16) -> Desc {
        let cmd = CMD_EOP | CMD_IFCS | CMD_RS;
        Desc {
            addr,
            word: len as u64 | (cmd as u64) << 24,
        }
    }
    pub fn tx_length(&self) -> u16 {
        self.word as u16
    }
    pub fn tx_cmd(&self) -> u8 {
        (self.word >> 24) as u8
    }
}

/// Where the descriptors live. `load` must observe what the device wrote.
pub trait DescMem {
    fn load(&self, index: usize) -> Desc;
    fn store(&mut self, index: usize, desc: Desc);
}

impl DescMem for [Desc] {
    fn load(&self, index: usize) -> Desc {
        self[index]
    }
    fn store(&mut self, index: usize, desc: Desc) {
        self[index] = desc;
    }
}

/// Ring sizes the device accepts: a ring is a multiple of 128 bytes (8 descriptors), and the
/// driver wants at least 8 and at most a 64 KiB ring.
pub fn valid_size(n: usize) -> bool {
    (8..=4096).contains(&n) && n.is_multiple_of(8)
}

/// What one written-back receive descriptor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxEvent {
    /// A whole frame of `len` bytes in descriptor `index`'s buffer.
    Frame { index: usize, len: usize },
    /// Descriptor `index` is to be dropped, for `why`.
    Drop { index: usize, why: RxDrop },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxDrop {
    /// The reported length is 0, shorter than an Ethernet header, or longer than the buffer.
    BadLength,
    /// The device flagged an error.
    Error,
    /// Part of a frame longer than one buffer (the driver does not do jumbo frames).
    Fragment,
}

/// The receive ring's state: the next descriptor to examine and the tail register's value.
#[derive(Debug, Clone)]
pub struct RxRing {
    size: usize,
    buf_len: usize,
    /// The next descriptor the device may have written back.
    next: usize,
    /// The tail register: the descriptor held back from the device. Descriptors after it and
    /// before `next` were examined and not yet given back.
    tail: usize,
    /// Inside a frame that spans descriptors: drop until its end.
    in_fragment: bool,
}

impl RxRing {
    /// A ring of `size` descriptors, each with a buffer of `buf_len` bytes.
    pub fn new(size: usize, buf_len: usize) -> Option<RxRing> {
        valid_size(size).then(|| RxRing {
            size,
            buf_len,
            next: 0,
            tail: size - 1,
            in_fragment: false,
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Writes every descriptor with its buffer (`buf(i)`), status cleared. Returns the values
    /// for the head and tail registers: the device owns all but the last descriptor.
    pub fn init(
        &mut self,
        mem: &mut (impl DescMem + ?Sized),
        buf: impl Fn(usize) -> u64,
    ) -> (u32, u32) {
        for i in 0..self.size {
            mem.store(
                i,
                Desc {
                    addr: buf(i),
                    word: 0,
                },
            );
        }
        self.next = 0;
        self.tail = self.size - 1;
        self.in_fragment = false;
        (0, self.tail as u32)
    }

    /// Examines the next descriptor: `None` if the device has not written it back yet.
    /// Every event's descriptor must go back with [`RxRing::give_back`], in order.
    pub fn poll(&mut self, mem: &(impl DescMem + ?Sized)) -> Option<RxEvent> {
        if self.next == self.tail {
            return None; // the held-back descriptor: the device cannot have written it
        }
        let d = mem.load(self.next);
        let status = d.status();
        if status & STA_DD == 0 {
            return None;
        }
        let index = self.next;
        self.next = (self.next + 1) % self.size;
        let eop = status & STA_EOP != 0;
        let was_fragment = self.in_fragment;
        self.in_fragment = !eop;
        let len = d.rx_length() as usize;
        let why = if !eop || was_fragment {
            RxDrop::Fragment
        } else if d.rx_errors() != 0 {
            RxDrop::Error
        } else if !(MIN_FRAME..=self.buf_len).contains(&len) {
            RxDrop::BadLength
        } else {
            return Some(RxEvent::Frame { index, len });
        };
        Some(RxEvent::Drop { index, why })
    }

    /// The oldest examined descriptor that is not given back yet.
    pub fn oldest_examined(&self) -> Option<usize> {
        let first = (self.tail + 1) % self.size;
        (first != self.next).then_some(first)
    }

    /// Gives the oldest examined descriptor (which must be `index`) back to the device with
    /// its buffer `addr` and cleared status. Returns the new tail register value, or `None`
    /// (nothing changed) if `index` is not the oldest examined descriptor.
    pub fn give_back(
        &mut self,
        mem: &mut (impl DescMem + ?Sized),
        index: usize,
        addr: u64,
    ) -> Option<u32> {
        if self.oldest_examined() != Some(index) {
            return None;
        }
        mem.store(index, Desc { addr, word: 0 });
        self.tail = index;
        Some(self.tail as u32)
    }
}

/// The transmit ring's state: the next descriptor to fill and the oldest one in flight.
/// Descriptor `i` always uses buffer `i`.
#[derive(Debug, Clone)]
pub struct TxRing {
    size: usize,
    buf_len: usize,
    /// The tail register: the next descriptor to fill.
    tail: usize,
    /// The oldest descriptor handed to the device and not yet seen done.
    clean: usize,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxError {
    /// Every descriptor is in flight.
    Full,
    /// The frame is empty or longer than a buffer.
    BadLength,
}

impl TxRing {
    pub fn new(size: usize, buf_len: usize) -> Option<TxRing> {
        valid_size(size).then_some(TxRing {
            size,
            buf_len,
            tail: 0,
            clean: 0,
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Clears every descriptor; returns the head and tail register values (both 0: empty).
    pub fn init(&mut self, mem: &mut (impl DescMem + ?Sized)) -> (u32, u32) {
        for i in 0..self.size {
            mem.store(i, Desc::default());
        }
        self.tail = 0;
        self.clean = 0;
        (0, 0)
    }

    /// Descriptors in flight.
    pub fn in_flight(&self) -> usize {
        (self.tail + self.size - self.clean) % self.size
    }

    /// Takes back every descriptor the device reports done, oldest first; how many.
    pub fn reap(&mut self, mem: &(impl DescMem + ?Sized)) -> usize {
        let mut n = 0;
        while self.clean != self.tail && mem.load(self.clean).status() & STA_DD != 0 {
            self.clean = (self.clean + 1) % self.size;
            n += 1;
        }
        n
    }

    /// The descriptor (and buffer) the next frame goes into, if one is free. One descriptor
    /// always stays unused: head == tail means empty to the device.
    pub fn next_free(&self) -> Option<usize> {
        ((self.tail + 1) % self.size != self.clean).then_some(self.tail)
    }

    /// Queues the `len` bytes now in buffer [`TxRing::next_free`] (at `addr`); returns the new
    /// tail register value.
    pub fn push(
        &mut self,
        mem: &mut (impl DescMem + ?Sized),
        addr: u64,
        len: usize,
    ) -> Result<u32, TxError> {
        let index = self.next_free().ok_or(TxError::Full)?;
        if len == 0 || len > self.buf_len {
            return Err(TxError::BadLength);
        }
        mem.store(index, Desc::tx(addr, len as u16));
        self.tail = (self.tail + 1) % self.size;
        Ok(self.tail as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUF: usize = 2048;

    fn addr(i: usize) -> u64 {
        0x10_0000 + (i * BUF) as u64
    }

    /// A toy device for the receive ring: head and the tail register, writes frames back.
    struct RxDevice {
        head: usize,
        tail: usize,
    }

    impl RxDevice {
        /// Writes one descriptor back if it owns one; false if the ring is full (overrun).
        fn deliver(&mut self, mem: &mut [Desc], len: u16, status: u8, errors: u8) -> bool {
            if self.head == self.tail {
                return false;
            }
            let a = mem[self.head].addr;
            mem[self.head] = Desc::rx_written(a, len, status, errors);
            self.head = (self.head + 1) % mem.len();
            true
        }
    }

    fn rx_setup(n: usize) -> (RxRing, Vec<Desc>, RxDevice) {
        let mut ring = RxRing::new(n, BUF).unwrap();
        let mut mem = vec![Desc::default(); n];
        let (head, tail) = ring.init(&mut mem[..], addr);
        assert!(mem
            .iter()
            .enumerate()
            .all(|(i, d)| d.addr == addr(i) && d.word == 0));
        let dev = RxDevice {
            head: head as usize,
            tail: tail as usize,
        };
        (ring, mem, dev)
    }

    const OK: u8 = STA_DD | STA_EOP;

    #[test]
    fn sizes() {
        assert!(RxRing::new(0, BUF).is_none());
        assert!(RxRing::new(12, BUF).is_none());
        assert!(TxRing::new(4, BUF).is_none());
        assert!(RxRing::new(8, BUF).is_some());
        assert!(TxRing::new(4096, BUF).is_some());
        assert!(TxRing::new(4104, BUF).is_none());
    }

    #[test]
    fn nothing_until_the_device_writes_back() {
        let (mut ring, mem, _) = rx_setup(8);
        assert_eq!(ring.poll(&mem[..]), None);
        assert_eq!(ring.oldest_examined(), None);
    }

    #[test]
    fn frames_arrive_in_order_and_go_back_in_order() {
        let (mut ring, mut mem, mut dev) = rx_setup(8);
        assert!(dev.deliver(&mut mem, 60, OK, 0));
        assert!(dev.deliver(&mut mem, 1514, OK, 0));
        assert_eq!(
            ring.poll(&mem[..]),
            Some(RxEvent::Frame { index: 0, len: 60 })
        );
        assert_eq!(
            ring.poll(&mem[..]),
            Some(RxEvent::Frame {
                index: 1,
                len: 1514
            })
        );
        assert_eq!(ring.poll(&mem[..]), None);
        // Out of order is refused and changes nothing.
        assert_eq!(ring.give_back(&mut mem[..], 1, addr(1)), None);
        assert_eq!(ring.give_back(&mut mem[..], 0, addr(0)), Some(0));
        dev.tail = 0;
        assert_eq!(
            mem[0],
            Desc {
                addr: addr(0),
                word: 0
            }
        );
        assert_eq!(ring.give_back(&mut mem[..], 1, addr(1)), Some(1));
        dev.tail = 1;
        assert_eq!(ring.give_back(&mut mem[..], 2, addr(2)), None);
        // The device now owns every descriptor but the held-back one: 7 more frames fit.
        let delivered = (0..10).filter(|_| dev.deliver(&mut mem, 60, OK, 0)).count();
        assert_eq!(delivered, 7);
    }

    #[test]
    fn a_full_ring_stops_the_device_and_resumes_after_give_back() {
        let (mut ring, mut mem, mut dev) = rx_setup(8);
        // The device owns 7 descriptors; the eighth frame overruns.
        for _ in 0..7 {
            assert!(dev.deliver(&mut mem, 100, OK, 0));
        }
        assert!(!dev.deliver(&mut mem, 100, OK, 0));
        // Run the ring around several times: every frame is seen once, in order.
        let mut seen = 0;
        for _ in 0..40 {
            while let Some(ev) = ring.poll(&mem[..]) {
                let RxEvent::Frame { index, len } = ev else {
                    panic!("{ev:?}")
                };
                assert_eq!(len, 100);
                assert_eq!(index, seen % 8); // positions follow the ring
                seen += 1;
                let tail = ring.give_back(&mut mem[..], index, addr(index)).unwrap();
                dev.tail = tail as usize;
            }
            for _ in 0..3 {
                dev.deliver(&mut mem, 100, OK, 0);
            }
        }
        assert_eq!(seen, 7 + 39 * 3);
    }

    #[test]
    fn bad_descriptors_are_dropped_with_a_reason() {
        let (mut ring, mut mem, mut dev) = rx_setup(16);
        dev.deliver(&mut mem, 0, OK, 0);
        dev.deliver(&mut mem, 13, OK, 0);
        dev.deliver(&mut mem, (BUF + 1) as u16, OK, 0);
        dev.deliver(&mut mem, u16::MAX, OK, 0);
        dev.deliver(&mut mem, 64, OK, 0x01); // CRC error
        dev.deliver(&mut mem, 2048, STA_DD, 0); // a frame over two buffers ...
        dev.deliver(&mut mem, 100, OK, 0); // ... ends here: both dropped
        dev.deliver(&mut mem, 2048, OK, 0); // a whole buffer is fine
        let want = [
            RxEvent::Drop {
                index: 0,
                why: RxDrop::BadLength,
            },
            RxEvent::Drop {
                index: 1,
                why: RxDrop::BadLength,
            },
            RxEvent::Drop {
                index: 2,
                why: RxDrop::BadLength,
            },
            RxEvent::Drop {
                index: 3,
                why: RxDrop::BadLength,
            },
            RxEvent::Drop {
                index: 4,
                why: RxDrop::Error,
            },
            RxEvent::Drop {
                index: 5,
                why: RxDrop::Fragment,
            },
            RxEvent::Drop {
                index: 6,
                why: RxDrop::Fragment,
            },
            RxEvent::Frame {
                index: 7,
                len: 2048,
            },
        ];
        for w in want {
            assert_eq!(ring.poll(&mem[..]), Some(w));
        }
        assert_eq!(ring.poll(&mem[..]), None);
    }

    #[test]
    fn the_held_back_descriptor_is_never_examined() {
        let (mut ring, mut mem, _) = rx_setup(8);
        // A device that (wrongly) wrote every descriptor, the held-back one too.
        for (i, d) in mem.iter_mut().enumerate() {
            *d = Desc::rx_written(addr(i), 60, OK, 0);
        }
        let mut n = 0;
        while ring.poll(&mem[..]).is_some() {
            n += 1;
        }
        assert_eq!(n, 7);
    }

    #[test]
    fn transmit_fills_reaps_and_keeps_one_slot_free() {
        let mut ring = TxRing::new(8, BUF).unwrap();
        let mut mem = [Desc { addr: 1, word: 1 }; 8];
        assert_eq!(ring.init(&mut mem[..]), (0, 0));
        assert!(mem.iter().all(|d| *d == Desc::default()));
        for i in 0..7 {
            assert_eq!(ring.next_free(), Some(i));
            assert_eq!(ring.push(&mut mem[..], addr(i), 60 + i), Ok(i as u32 + 1));
            let d = mem[i];
            assert_eq!((d.addr, d.tx_length() as usize), (addr(i), 60 + i));
            assert_eq!(d.tx_cmd(), CMD_EOP | CMD_IFCS | CMD_RS);
            assert_eq!(d.status(), 0);
        }
        assert_eq!(ring.in_flight(), 7);
        assert_eq!(ring.next_free(), None);
        assert_eq!(ring.push(&mut mem[..], addr(7), 60), Err(TxError::Full));
        // Nothing done yet: nothing reaped.
        assert_eq!(ring.reap(&mem[..]), 0);
        // The device finishes the first three (it sets DD in order).
        for d in &mut mem[..3] {
            d.word |= (STA_DD as u64) << 32;
        }
        assert_eq!(ring.reap(&mem[..]), 3);
        assert_eq!(ring.in_flight(), 4);
        assert_eq!(ring.next_free(), Some(7));
        assert_eq!(ring.push(&mut mem[..], addr(7), 60), Ok(0));
        assert_eq!(ring.push(&mut mem[..], addr(0), 0), Err(TxError::BadLength));
        assert_eq!(
            ring.push(&mut mem[..], addr(0), BUF + 1),
            Err(TxError::BadLength)
        );
        assert_eq!(ring.push(&mut mem[..], addr(0), BUF), Ok(1));
        // A DD bit on a descriptor not in flight is ignored.
        let mut ring = TxRing::new(8, BUF).unwrap();
        ring.init(&mut mem[..]);
        mem[0].word |= (STA_DD as u64) << 32;
        assert_eq!(ring.reap(&mem[..]), 0);
    }
}
