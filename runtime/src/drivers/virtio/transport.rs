//! The transports the runtime's virtio devices sit on: `virtio-drivers`' own (MMIO, modern
//! PCI) and the legacy PCI interface it lacks ([`LegacyPciTransport`]).

use virtio_drivers::transport::{
    DeviceStatus, DeviceType, InterruptStatus, SomeTransport, Transport,
};
use virtio_drivers::{Error, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use super::legacy_pci::LegacyPciTransport;

#[derive(Debug)]
pub enum AnyTransport {
    /// virtio-mmio or modern virtio-pci.
    Crate(SomeTransport<'static>),
    /// Legacy virtio-pci (I/O ports).
    LegacyPci(LegacyPciTransport),
}

impl From<SomeTransport<'static>> for AnyTransport {
    fn from(t: SomeTransport<'static>) -> AnyTransport {
        AnyTransport::Crate(t)
    }
}

impl From<LegacyPciTransport> for AnyTransport {
    fn from(t: LegacyPciTransport) -> AnyTransport {
        AnyTransport::LegacyPci(t)
    }
}

/// `$body` with `$t` bound to whichever transport `$self` holds.
macro_rules! each {
    ($self:expr, $t:ident => $body:expr) => {
        match $self {
            AnyTransport::Crate($t) => $body,
            AnyTransport::LegacyPci($t) => $body,
        }
    };
}

impl Transport for AnyTransport {
    fn device_type(&self) -> DeviceType {
        each!(self, t => t.device_type())
    }

    fn read_device_features(&mut self) -> u64 {
        each!(self, t => t.read_device_features())
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        each!(self, t => t.write_driver_features(driver_features))
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        each!(self, t => t.max_queue_size(queue))
    }

    fn notify(&mut self, queue: u16) {
        each!(self, t => t.notify(queue))
    }

    fn get_status(&self) -> DeviceStatus {
        each!(self, t => t.get_status())
    }

    fn set_status(&mut self, status: DeviceStatus) {
        each!(self, t => t.set_status(status))
    }

    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        each!(self, t => t.set_guest_page_size(guest_page_size))
    }

    fn requires_legacy_layout(&self) -> bool {
        each!(self, t => t.requires_legacy_layout())
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        each!(self, t => t.queue_set(queue, size, descriptors, driver_area, device_area))
    }

    fn queue_unset(&mut self, queue: u16) {
        each!(self, t => t.queue_unset(queue))
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        each!(self, t => t.queue_used(queue))
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        each!(self, t => t.ack_interrupt())
    }

    fn read_config_generation(&self) -> u32 {
        each!(self, t => t.read_config_generation())
    }

    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T, Error> {
        each!(self, t => t.read_config_space(offset))
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> Result<(), Error> {
        each!(self, t => t.write_config_space(offset, value))
    }
}
