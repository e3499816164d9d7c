//! A virtio transport whose receive-queue notifications can be held back, so the network
//! driver gives the device a batch of receive buffers with one notification.
//!
//! virtio-drivers' `VirtIONetRaw::receive_begin` notifies after every buffer it adds when
//! `VirtQueue::should_notify` says so, and with event indices (which QEMU offers) that test
//! holds whenever the device has taken any buffer since — once per received frame. Each
//! notification is a trap into the hypervisor (and under QEMU a pass through its network
//! backend); one per batch tells the device the same thing, since it reads the ring's
//! index, not the notifications.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use virtio_drivers::transport::{
    DeviceStatus, DeviceType, InterruptStatus, SomeTransport, Transport,
};
use virtio_drivers::{PhysAddr, Result};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// virtio-net's first receive queue (virtio 1.2, 5.1.2).
const RECEIVE_QUEUE: u16 = 0;

/// `SomeTransport` that drops receive-queue notifications while its [`Hold`] is set.
pub struct Batched {
    inner: SomeTransport<'static>,
    hold: Arc<AtomicBool>,
}

/// The switch of a [`Batched`] transport: set, the receive queue is not notified.
#[derive(Clone, Debug)]
pub struct Hold(Arc<AtomicBool>);

impl Hold {
    pub fn set(&self, held: bool) {
        self.0.store(held, Ordering::Relaxed);
    }
}

impl core::fmt::Debug for Batched {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Batched({:?})", self.inner.device_type())
    }
}

impl Batched {
    pub fn new(inner: SomeTransport<'static>) -> (Batched, Hold) {
        let hold = Arc::new(AtomicBool::new(false));
        (
            Batched {
                inner,
                hold: hold.clone(),
            },
            Hold(hold),
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
        if queue != RECEIVE_QUEUE || !self.hold.load(Ordering::Relaxed) {
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
