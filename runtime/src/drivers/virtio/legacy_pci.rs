//! virtio over PCI's legacy interface (virtio 1.x §4.1.4.8, "Legacy Interfaces"; the
//! 0.9.5 "Virtio PCI Card" layout): every register in I/O BAR 0, queues placed by page
//! frame number in the legacy (4 KiB-aligned) layout. Devices that offer nothing else:
//! QEMU's `virtio-net-pci,disable-modern=on`, VirtualBox's virtio-net, older hypervisors.
//!
//! `virtio-drivers` drives only the modern PCI interface; a transitional device (QEMU's
//! default, both interfaces) is driven through that one, and this transport serves the
//! devices whose modern capabilities are missing.

use virtio_drivers::transport::pci::bus::{BarInfo, DeviceFunction, PciRoot};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{Error, PhysAddr};
use x86_64::instructions::port::Port;
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::drivers::pci::{self, PortCam};

/// Register offsets in BAR 0 (legacy header without MSI-X: the driver never enables it).
mod reg {
    pub const DEVICE_FEATURES: u16 = 0x00;
    pub const DRIVER_FEATURES: u16 = 0x04;
    pub const QUEUE_PFN: u16 = 0x08;
    pub const QUEUE_SIZE: u16 = 0x0c;
    pub const QUEUE_SELECT: u16 = 0x0e;
    pub const QUEUE_NOTIFY: u16 = 0x10;
    pub const STATUS: u16 = 0x12;
    pub const ISR: u16 = 0x13;
    pub const CONFIG: u16 = 0x14;
}

/// The legacy interface's fixed queue alignment and page size (the PFN's unit).
const LEGACY_PAGE: u64 = 4096;

/// A legacy virtio-pci device: its type and the I/O port base of BAR 0.
#[derive(Debug)]
pub struct LegacyPciTransport {
    device_type: DeviceType,
    port: u16,
    config_len: u16,
}

impl LegacyPciTransport {
    /// The legacy interface of `df` (of type `device_type`): BAR 0 must be an I/O BAR, which
    /// is given ports if the firmware left it unassigned. `None` if it is not one.
    pub fn new(
        root: &mut PciRoot<PortCam>,
        df: DeviceFunction,
        device_type: DeviceType,
    ) -> Option<LegacyPciTransport> {
        let Ok(Some(BarInfo::IO { address, size })) = root.bar_info(df, 0) else {
            return None;
        };
        let port = if address == 0 {
            pci::assign_io_bar(root, df, 0, size)?
        } else {
            u16::try_from(address).ok()?
        };
        let end = u32::from(port) + size;
        if size <= u32::from(reg::CONFIG) || end > 0x1_0000 {
            return None;
        }
        pci::enable(root, df);
        Some(LegacyPciTransport {
            device_type,
            port,
            config_len: (size - u32::from(reg::CONFIG)) as u16,
        })
    }

    fn read8(&self, offset: u16) -> u8 {
        // SAFETY: `offset` lies inside the device's BAR 0 I/O window, which only this driver
        // uses; reading a legacy virtio register has no effect beyond the device (the ISR
        // read clears the device's interrupt, which is what `ack_interrupt` wants).
        unsafe { Port::<u8>::new(self.port + offset).read() }
    }

    fn read16(&self, offset: u16) -> u16 {
        // SAFETY: as in `read8`.
        unsafe { Port::<u16>::new(self.port + offset).read() }
    }

    fn read32(&self, offset: u16) -> u32 {
        // SAFETY: as in `read8`.
        unsafe { Port::<u32>::new(self.port + offset).read() }
    }

    fn write8(&mut self, offset: u16, value: u8) {
        // SAFETY: as in `read8`; the device's own registers.
        unsafe { Port::<u8>::new(self.port + offset).write(value) }
    }

    fn write16(&mut self, offset: u16, value: u16) {
        // SAFETY: as in `write8`.
        unsafe { Port::<u16>::new(self.port + offset).write(value) }
    }

    fn write32(&mut self, offset: u16, value: u32) {
        // SAFETY: as in `write8`.
        unsafe { Port::<u32>::new(self.port + offset).write(value) }
    }

    /// The device's size of `queue` (0: no such queue).
    fn queue_size(&mut self, queue: u16) -> u16 {
        self.write16(reg::QUEUE_SELECT, queue);
        self.read16(reg::QUEUE_SIZE)
    }

    /// `offset..offset + len` of the device-specific configuration, checked.
    fn config_range(&self, offset: usize, len: usize) -> Result<u16, Error> {
        match offset.checked_add(len) {
            Some(end) if end <= usize::from(self.config_len) => Ok(reg::CONFIG + offset as u16),
            _ => Err(Error::ConfigSpaceTooSmall),
        }
    }
}

impl Transport for LegacyPciTransport {
    fn device_type(&self) -> DeviceType {
        self.device_type
    }

    fn read_device_features(&mut self) -> u64 {
        // The legacy interface has 32 feature bits (no VIRTIO_F_VERSION_1).
        u64::from(self.read32(reg::DEVICE_FEATURES))
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        self.write32(reg::DRIVER_FEATURES, driver_features as u32);
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        u32::from(self.queue_size(queue))
    }

    fn notify(&mut self, queue: u16) {
        self.write16(reg::QUEUE_NOTIFY, queue);
    }

    fn get_status(&self) -> DeviceStatus {
        DeviceStatus::from_bits_truncate(u32::from(self.read8(reg::STATUS)))
    }

    fn set_status(&mut self, status: DeviceStatus) {
        self.write8(reg::STATUS, status.bits() as u8);
    }

    fn set_guest_page_size(&mut self, _guest_page_size: u32) {
        // Fixed at 4 KiB by the legacy PCI interface.
    }

    fn requires_legacy_layout(&self) -> bool {
        true
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        // The device derives the rings' places from the PFN and its own queue size: the
        // driver's queue must have that size and the legacy layout.
        let device_size = self.queue_size(queue);
        let legacy_layout = descriptors.is_multiple_of(LEGACY_PAGE)
            && driver_area == descriptors + 16 * u64::from(size)
            && device_area.is_multiple_of(LEGACY_PAGE);
        if u32::from(device_size) != size || !legacy_layout {
            kinfo!(
                "net: legacy virtio queue {} has {} entries, the driver {}: not set up",
                queue,
                device_size,
                size
            );
            return;
        }
        match u32::try_from(descriptors / LEGACY_PAGE) {
            Ok(pfn) => self.write32(reg::QUEUE_PFN, pfn),
            Err(_) => kinfo!(
                "net: legacy virtio queue {} lies above 16 TiB: not set up",
                queue
            ),
        }
    }

    fn queue_unset(&mut self, queue: u16) {
        self.write16(reg::QUEUE_SELECT, queue);
        self.write32(reg::QUEUE_PFN, 0);
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.write16(reg::QUEUE_SELECT, queue);
        self.read32(reg::QUEUE_PFN) != 0
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        // Reading the ISR clears it and lowers the INTx line.
        InterruptStatus::from_bits_truncate(u32::from(self.read8(reg::ISR)))
    }

    fn read_config_generation(&self) -> u32 {
        // No generation counter in the legacy interface.
        0
    }

    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T, Error> {
        let at = self.config_range(offset, core::mem::size_of::<T>())?;
        let mut value = T::new_zeroed();
        for (i, byte) in value.as_mut_bytes().iter_mut().enumerate() {
            *byte = self.read8(at + i as u16);
        }
        Ok(value)
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> Result<(), Error> {
        let at = self.config_range(offset, core::mem::size_of::<T>())?;
        for (i, byte) in value.as_bytes().iter().enumerate() {
            self.write8(at + i as u16, *byte);
        }
        Ok(())
    }
}
