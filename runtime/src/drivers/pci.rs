//! PCI configuration space through the legacy ports 0xCF8/0xCFC (every PC chipset QEMU
//! emulates: `pc`, `q35`), as `virtio-drivers`' `ConfigurationAccess`, and a scan of bus 0.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use virtio_drivers::transport::pci::bus::{
    BarInfo, Cam, Command, ConfigurationAccess, DeviceFunction, DeviceFunctionInfo, MemoryBarType,
    PciRoot,
};
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
const INTERRUPT_LINE: u8 = 0x3c;

/// Configuration mechanism #1: an address written to 0xCF8 selects the dword 0xCFC reads.
#[derive(Debug)]
pub struct PortCam;

fn address(df: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | (df.bus as u32) << 16
        | (df.device as u32 & 0x1f) << 11
        | (df.function as u32 & 0x7) << 8
        | (offset as u32 & 0xfc)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        // SAFETY: the PCI configuration ports; kernel code runs with interrupts off and no
        // handler touches them, so the address/data pair is not interleaved.
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(address(df, offset));
            Port::<u32>::new(CONFIG_DATA).read()
        }
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        // SAFETY: as in `read_word`.
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(address(df, offset));
            Port::<u32>::new(CONFIG_DATA).write(data);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// True when the ports answer like a host bridge (so a PCI bus exists: not microvm).
pub fn present() -> bool {
    let id = PortCam.read_word(
        DeviceFunction {
            bus: 0,
            device: 0,
            function: 0,
        },
        0,
    );
    id != 0xffff_ffff && id != 0
}

/// The root of bus 0 over the ports.
pub fn root() -> PciRoot<PortCam> {
    let _ = Cam::MmioCam; // the port mechanism needs no memory window
    PciRoot::new(PortCam)
}

/// Every function on bus 0.
pub fn functions(
    root: &PciRoot<PortCam>,
) -> impl Iterator<Item = (DeviceFunction, DeviceFunctionInfo)> + '_ {
    root.enumerate_bus(0)
}

/// Where 64-bit BARs the firmware left unassigned go: 512 GiB, above any RAM a Kiln VM has
/// and below the runtime's own virtual ranges. QEMU's PC chipsets route every address that is
/// not RAM to PCI, so no window needs programming.
const BAR64_BASE: u64 = 0x80_0000_0000;
static NEXT_BAR64: AtomicU64 = AtomicU64::new(BAR64_BASE);

/// Gives every unassigned 64-bit memory BAR of `df` an address (qboot, the fast firmware,
/// assigns none to virtio's 64-bit BAR). 32-bit BARs are left as the firmware made them.
pub fn assign_bars(root: &mut PciRoot<PortCam>, df: DeviceFunction) {
    let Ok(bars) = root.bars(df) else {
        return;
    };
    for (index, bar) in bars.iter().enumerate() {
        if let Some(BarInfo::Memory {
            address_type: MemoryBarType::Width64,
            address: 0,
            size,
            ..
        }) = bar
        {
            let size = (*size).max(4096).next_power_of_two();
            let at = NEXT_BAR64
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.next_multiple_of(size) + size)
                })
                .unwrap_or(BAR64_BASE)
                .next_multiple_of(size);
            root.set_bar_64(df, index as u8, at);
        }
    }
}

/// Where 32-bit memory BARs the firmware left unassigned go (qboot assigns none): from
/// 3.5 GiB up to the I/O APIC. QEMU's `pc` keeps RAM below 3.5 GiB and `q35` below 2.75 GiB
/// (its MMCONFIG window ends at 3 GiB), so this range is PCI on both.
const BAR32_BASE: u64 = 0xe000_0000;
const BAR32_END: u64 = 0xfe00_0000;
static NEXT_BAR32: AtomicU64 = AtomicU64::new(BAR32_BASE);

/// The address of 32-bit memory BAR `index` of `df` and its size, giving it one if the
/// firmware did not; `None` if it is not a 32-bit memory BAR or no room is left.
pub fn assign_bar32(
    root: &mut PciRoot<PortCam>,
    df: DeviceFunction,
    index: u8,
) -> Option<(u64, u64)> {
    let Ok(Some(BarInfo::Memory {
        address_type: MemoryBarType::Width32,
        address,
        size,
        ..
    })) = root.bar_info(df, index)
    else {
        return None;
    };
    if address != 0 {
        return Some((address, size));
    }
    let size = size.max(4096).next_power_of_two();
    let mut at = 0;
    NEXT_BAR32
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            at = n.next_multiple_of(size);
            (at + size <= BAR32_END).then_some(at + size)
        })
        .ok()?;
    root.set_bar_32(df, index, at as u32);
    Some((at, size))
}

/// Where I/O BARs the firmware left unassigned go: the top of the port space, where PC
/// firmware puts none (SeaBIOS and qboot allocate PCI ports from 0xc000 up) and QEMU's
/// chipsets send every port no device claims to PCI.
const IO_BASE: u32 = 0xe000;
const IO_END: u32 = 0x1_0000;
static NEXT_IO: AtomicU32 = AtomicU32::new(IO_BASE);

/// Gives I/O BAR `index` of `df` (of `size` bytes) ports; their base, or `None` when no room
/// is left.
pub fn assign_io_bar(
    root: &mut PciRoot<PortCam>,
    df: DeviceFunction,
    index: u8,
    size: u32,
) -> Option<u16> {
    let size = size.max(4).next_power_of_two();
    let mut at = 0;
    NEXT_IO
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            at = n.next_multiple_of(size);
            (at + size <= IO_END).then_some(at + size)
        })
        .ok()?;
    root.set_bar_32(df, index, at);
    u16::try_from(at).ok()
}

/// Lets the device decode its memory BARs, master DMA and raise INTx.
pub fn enable(root: &mut PciRoot<PortCam>, df: DeviceFunction) {
    let (_, command) = root.get_status_command(df);
    root.set_command(
        df,
        (command | Command::MEMORY_SPACE | Command::IO_SPACE | Command::BUS_MASTER)
            - Command::INTERRUPT_DISABLE,
    );
}

/// The firmware-written Interrupt Line (an ISA IRQ number on PC chipsets) and the Interrupt
/// Pin (1 = INTA#, 0 = none).
pub fn interrupt(df: DeviceFunction) -> (u8, u8) {
    let v = PortCam.read_word(df, INTERRUPT_LINE);
    (v as u8, (v >> 8) as u8)
}

const fn bdf(device: u8, function: u8) -> DeviceFunction {
    DeviceFunction {
        bus: 0,
        device,
        function,
    }
}

/// The ISA IRQ a PIIX3 PIRQ route register (0x60-0x63 of 00:01.0) names, if routing is on.
fn piix_route(pirq: u8) -> Option<u8> {
    let v = (PortCam.read_word(bdf(1, 0), 0x60) >> (8 * (pirq & 3))) as u8;
    (v & 0x80 == 0 && (3..16).contains(&v)).then_some(v)
}

/// The interrupt line (GSI, possibly still an ISA IRQ number to translate through the MADT's
/// overrides: `(gsi, is_isa)`) that a bus-0 device's INTx pin raises, from how QEMU's
/// chipsets wire them rather than the Interrupt Line register, which qboot fills in wrongly
/// for `pc` and which on `q35` names a PIC input the firmware may not have routed:
///
/// - i440FX/PIIX3 (`pc`): slot S pin P goes to PIRQ (S + P - 2) mod 4, which the PIIX3 routes
///   to the ISA IRQ in its register 0x60 + PIRQ (written by the firmware, or here when it did
///   not: IRQ 11, which QEMU's MADT declares level-triggered);
/// - Q35/ICH9 (`q35`): slot S pin P goes to PIRQ E-H, 4 + (S + P - 1) mod 4, and PIRQ n
///   always reaches I/O APIC input 16 + n.
///
/// Other chipsets: the Interrupt Line register, as an ISA IRQ.
pub fn intx_line(df: DeviceFunction) -> Option<(u32, bool)> {
    let (line, pin) = interrupt(df);
    if pin == 0 || pin > 4 || df.bus != 0 {
        return None;
    }
    let host = PortCam.read_word(bdf(0, 0), 0);
    match host {
        0x1237_8086 if df.device >= 1 => {
            let pirq = (df.device + pin - 2) & 3;
            let irq = piix_route(pirq).unwrap_or_else(|| {
                let mut v = PortCam.read_word(bdf(1, 0), 0x60);
                v = (v & !(0xff << (8 * pirq))) | (11 << (8 * pirq));
                PortCam.write_word(bdf(1, 0), 0x60, v);
                11
            });
            Some((irq as u32, true))
        }
        0x29c0_8086 => Some((16 + 4 + ((df.device + pin - 1) & 3) as u32, false)),
        _ if line != 0 && line != 0xff => Some((line as u32, true)),
        _ => None,
    }
}
