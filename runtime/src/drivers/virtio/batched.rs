//! A virtio transport that lets the network driver trap into the hypervisor less often:
//! receive-queue notifications can be held back, so the driver gives the device a batch of
//! receive buffers with one notification, and the transmit queue's interrupts can be put
//! off until the driver would run out of buffers.
//!
//! virtio-drivers' `VirtIONetRaw::receive_begin` notifies after every buffer it adds when
//! `VirtQueue::should_notify` says so, and with event indices (which QEMU offers) that test
//! holds whenever the device has taken any buffer since — once per received frame. Each
//! notification is a trap into the hypervisor (and under QEMU a pass through its network
//! backend); one per batch tells the device the same thing, since it reads the ring's
//! index, not the notifications. Likewise, after taking back a sent buffer virtio-drivers
//! asks for an interrupt at the next one sent; the driver takes sent buffers back whenever it
//! polls, so [`Control::defer_transmit_interrupts`] moves that mark forward.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{PhysAddr, Result};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use super::transport::AnyTransport;

/// virtio-net's first receive and transmit queues (virtio 1.2, 5.1.2).
const RECEIVE_QUEUE: u16 = 0;
const TRANSMIT_QUEUE: u16 = 1;

/// What the transport and the driver's [`Control`] share.
#[derive(Debug, Default)]
struct Shared {
    hold_rx: AtomicBool,
    /// The transmit queue's available ring, used ring (identity-mapped physical addresses,
    /// 0 until the queue is set up) and size.
    tx_avail: AtomicU64,
    tx_used: AtomicU64,
    tx_size: AtomicU64,
}

/// A transport ([`AnyTransport`]) that drops receive-queue notifications while its [`Control`] holds them.
pub struct Batched {
    inner: AnyTransport,
    shared: Arc<Shared>,
}

/// The driver's side of a [`Batched`] transport.
#[derive(Clone, Debug)]
pub struct Control(Arc<Shared>);

impl Control {
    /// While `held`, the receive queue is not notified.
    pub fn hold_receive_notifications(&self, held: bool) {
        self.0.hold_rx.store(held, Ordering::Relaxed);
    }

    /// Asks the device to interrupt for sent buffers only when `count` more have been sent
    /// than now. Call it after taking back every sent buffer, with nothing else touching the
    /// queue. Only devices that negotiated event indices read the mark; others interrupt as
    /// before.
    pub fn defer_transmit_interrupts(&self, count: u16) {
        let avail = self.0.tx_avail.load(Ordering::Relaxed);
        let used = self.0.tx_used.load(Ordering::Relaxed);
        let size = self.0.tx_size.load(Ordering::Relaxed);
        if avail == 0 || used == 0 || count == 0 {
            return;
        }
        // SAFETY: `queue_set` gave these addresses of the transmit queue's rings, which
        // virtio-drivers allocated (identity-mapped, aligned) and keeps for the device's life.
        // The used ring's `idx` (offset 2) is the device's and only read here; the available
        // ring's `used_event` (after `flags`, `idx` and `size` entries) is the driver's, and
        // virtio-drivers writes it only inside calls on this queue, which the driver, holding
        // the device exclusively, does not make while this runs.
        unsafe {
            let idx = ((used + 2) as *const u16).read_volatile();
            ((avail + 4 + 2 * size) as *mut u16).write_volatile(idx.wrapping_add(count - 1));
        }
    }
}

impl core::fmt::Debug for Batched {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Batched({:?})", self.inner.device_type())
    }
}

impl Batched {
    pub fn new(inner: AnyTransport) -> (Batched, Control) {
        let shared = Arc::new(Shared::default());
        (
            Batched {
                inner,
                shared: shared.clone(),
            },
            Control(shared),
        )
    }
}

impl Transport for Batched {
    fn device_type(&self) -> DeviceType {
        self.inner.device_type()
    }

    fn read_device_features(&mut self) -> u64 {
        self.inner.read_device_features()
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        self.inner.write_driver_features(driver_features)
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.inner.max_queue_size(queue)
    }

    fn notify(&mut self, queue: u16) {
        if queue != RECEIVE_QUEUE || !self.shared.hold_rx.load(Ordering::Relaxed) {
            self.inner.notify(queue)
        }
    }

    fn get_status(&self) -> DeviceStatus {
        self.inner.get_status()
    }

    fn set_status(&mut self, status: DeviceStatus) {
        self.inner.set_status(status)
    }

    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.inner.set_guest_page_size(guest_page_size)
    }

    fn requires_legacy_layout(&self) -> bool {
        self.inner.requires_legacy_layout()
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        if queue == TRANSMIT_QUEUE {
            self.shared.tx_avail.store(driver_area, Ordering::Relaxed);
            self.shared.tx_used.store(device_area, Ordering::Relaxed);
            self.shared.tx_size.store(size as u64, Ordering::Relaxed);
        }
        self.inner
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }

    fn queue_unset(&mut self, queue: u16) {
        self.inner.queue_unset(queue)
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.inner.queue_used(queue)
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.inner.ack_interrupt()
    }

    fn read_config_generation(&self) -> u32 {
        self.inner.read_config_generation()
    }

    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T> {
        self.inner.read_config_space(offset)
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> Result<()> {
        self.inner.write_config_space(offset, value)
    }
}
