//! The 8254x register map the driver uses, and the decoding of what the device reports
//! (Intel's "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual",
//! 317453, sections 13 and 5). Pure values: no register is touched here.
#![forbid(unsafe_code)]

/// Device control.
pub const CTRL: usize = 0x0000;
/// Device status (read only).
pub const STATUS: usize = 0x0008;
/// EEPROM read (start a read, poll for done, take the word).
pub const EERD: usize = 0x0014;
/// Interrupt cause read: reading clears every cause.
pub const ICR: usize = 0x00c0;
/// Interrupt mask set (1 bits enable causes).
pub const IMS: usize = 0x00d0;
/// Interrupt mask clear (1 bits disable causes).
pub const IMC: usize = 0x00d8;
/// Receive control.
pub const RCTL: usize = 0x0100;
/// Transmit control.
pub const TCTL: usize = 0x0400;
/// Transmit inter-packet gap.
pub const TIPG: usize = 0x0410;
/// Receive descriptor ring: base (low, high), length in bytes, head, tail.
pub const RDBAL: usize = 0x2800;
pub const RDBAH: usize = 0x2804;
pub const RDLEN: usize = 0x2808;
pub const RDH: usize = 0x2810;
pub const RDT: usize = 0x2818;
/// Transmit descriptor ring: base (low, high), length in bytes, head, tail.
pub const TDBAL: usize = 0x3800;
pub const TDBAH: usize = 0x3804;
pub const TDLEN: usize = 0x3808;
pub const TDH: usize = 0x3810;
pub const TDT: usize = 0x3818;
/// The multicast table array: 128 dwords.
pub const MTA: usize = 0x5200;
pub const MTA_LEN: usize = 128;
/// Receive address 0, low and high dwords.
pub const RAL0: usize = 0x5400;
pub const RAH0: usize = 0x5404;
/// The register window is 128 KiB; every offset above lies inside it.
pub const WINDOW: u64 = 128 * 1024;

/// CTRL bits.
pub mod ctrl {
    /// Full duplex.
    pub const FD: u32 = 1 << 0;
    /// Link reset.
    pub const LRST: u32 = 1 << 3;
    /// Auto-speed detection.
    pub const ASDE: u32 = 1 << 5;
    /// Set link up.
    pub const SLU: u32 = 1 << 6;
    /// Invert loss-of-signal.
    pub const ILOS: u32 = 1 << 7;
    /// Device reset (self-clearing).
    pub const RST: u32 = 1 << 26;
    /// VLAN mode.
    pub const VME: u32 = 1 << 30;
    /// PHY reset.
    pub const PHY_RST: u32 = 1 << 31;
}

/// Interrupt causes (ICR, IMS, IMC).
pub mod int {
    /// Transmit descriptor written back.
    pub const TXDW: u32 = 1 << 0;
    /// Link status change.
    pub const LSC: u32 = 1 << 2;
    /// Receive descriptor minimum threshold reached.
    pub const RXDMT0: u32 = 1 << 4;
    /// Receiver overrun (no free descriptor).
    pub const RXO: u32 = 1 << 6;
    /// Receive timer: a frame was written back.
    pub const RXT0: u32 = 1 << 7;
    /// Everything the driver waits for.
    pub const ENABLED: u32 = TXDW | LSC | RXDMT0 | RXO | RXT0;
    /// Every cause (for masking all of them).
    pub const ALL: u32 = u32::MAX;
}

/// RCTL bits.
pub mod rctl {
    pub const EN: u32 = 1 << 1;
    /// Multicast promiscuous: IPv6 neighbour discovery and router advertisements arrive on
    /// multicast addresses the driver would otherwise have to hash into the MTA.
    pub const MPE: u32 = 1 << 4;
    /// Descriptor minimum threshold: half the ring.
    pub const RDMTS_HALF: u32 = 0 << 8;
    /// Accept broadcast (ARP, DHCP).
    pub const BAM: u32 = 1 << 15;
    /// Buffer size 2048 (BSIZE = 00 with BSEX = 0).
    pub const BSIZE_2048: u32 = 0 << 16;
    /// Strip the Ethernet CRC.
    pub const SECRC: u32 = 1 << 26;
}

/// TCTL bits.
pub mod tctl {
    pub const EN: u32 = 1 << 1;
    /// Pad short packets to 64 bytes.
    pub const PSP: u32 = 1 << 3;
    /// Collision threshold (the manual's recommended 0x0F).
    pub const CT: u32 = 0x0f << 4;
    /// Collision distance for full duplex (0x40).
    pub const COLD: u32 = 0x40 << 12;
}

/// STATUS bits.
pub mod status {
    /// Link up.
    pub const LU: u32 = 1 << 1;
}

/// EERD bits (82540EM layout, which QEMU, VirtualBox and VMware emulate).
pub mod eerd {
    pub const START: u32 = 1 << 0;
    pub const DONE: u32 = 1 << 4;
    pub const ADDR_SHIFT: u32 = 8;
    pub const DATA_SHIFT: u32 = 16;
}

/// RAH's "address valid" bit.
pub const RAH_AV: u32 = 1 << 31;

/// The PCI IDs of the controllers this driver runs: 82540EM (QEMU's `e1000`, VirtualBox's
/// default "PRO/1000 MT Desktop", Bochs) and 82545EM (VMware's `e1000`, QEMU's
/// `e1000-82545em`), and the 82540EM LOM variant. Their register sets are the same for
/// everything used here.
pub const PCI_VENDOR_INTEL: u16 = 0x8086;
pub const DEVICE_IDS: [u16; 3] = [0x100e, 0x100f, 0x1015];

/// True for a PCI function this driver takes.
pub fn supported(vendor: u16, device: u16) -> bool {
    vendor == PCI_VENDOR_INTEL && DEVICE_IDS.contains(&device)
}

/// RCTL for the driver's receive setup: on, broadcast and all multicast, 2 KiB buffers, CRC
/// stripped (so a reported length is the frame without FCS).
pub const fn rctl_value() -> u32 {
    rctl::EN | rctl::MPE | rctl::RDMTS_HALF | rctl::BAM | rctl::BSIZE_2048 | rctl::SECRC
}

/// TCTL for full-duplex transmission with short packets padded.
pub const fn tctl_value() -> u32 {
    tctl::EN | tctl::PSP | tctl::CT | tctl::COLD
}

/// TIPG for copper (IPGT 10, IPGR1 8, IPGR2 6: the manual's values for the 82540EM).
pub const fn tipg_value() -> u32 {
    10 | (8 << 10) | (6 << 20)
}

/// CTRL after reset: link up with auto-speed detection; link reset, PHY reset, signal
/// inversion and VLAN mode off; every other bit kept.
pub const fn ctrl_link_up(ctrl: u32) -> u32 {
    (ctrl | ctrl::SLU | ctrl::ASDE | ctrl::FD)
        & !(ctrl::LRST | ctrl::PHY_RST | ctrl::ILOS | ctrl::VME | ctrl::RST)
}

/// The EERD value that starts reading EEPROM word `addr`.
pub const fn eerd_start(addr: u8) -> u32 {
    ((addr as u32) << eerd::ADDR_SHIFT) | eerd::START
}

/// The word an EERD read returned, once the device says it is done.
pub const fn eerd_word(eerd: u32) -> Option<u16> {
    if eerd & eerd::DONE != 0 {
        Some((eerd >> eerd::DATA_SHIFT) as u16)
    } else {
        None
    }
}

/// A MAC address a NIC may use: not all zeros, not multicast (nor broadcast).
pub fn valid_mac(mac: [u8; 6]) -> bool {
    mac != [0; 6] && mac[0] & 1 == 0
}

/// The MAC address in EEPROM words 0-2 (little-endian byte pairs), if valid.
pub fn mac_from_eeprom(words: [u16; 3]) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    for (i, w) in words.iter().enumerate() {
        mac[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
    }
    valid_mac(mac).then_some(mac)
}

/// The MAC address in receive-address register 0, if it is marked valid and is valid.
pub fn mac_from_ral_rah(ral: u32, rah: u32) -> Option<[u8; 6]> {
    if rah & RAH_AV == 0 {
        return None;
    }
    let mut mac = [0u8; 6];
    mac[..4].copy_from_slice(&ral.to_le_bytes());
    mac[4..].copy_from_slice(&rah.to_le_bytes()[..2]);
    valid_mac(mac).then_some(mac)
}

/// RAL and RAH (with "address valid") for `mac`.
pub fn ral_rah(mac: [u8; 6]) -> (u32, u32) {
    let ral = u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]);
    let rah = u32::from_le_bytes([mac[4], mac[5], 0, 0]) | RAH_AV;
    (ral, rah)
}

/// Link state and speed from STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    /// Mb/s: 10, 100 or 1000.
    pub speed: u16,
    pub full_duplex: bool,
}

pub fn link(status: u32) -> Link {
    Link {
        up: status & status::LU != 0,
        speed: match (status >> 6) & 3 {
            0 => 10,
            1 => 100,
            _ => 1000,
        },
        full_duplex: status & 1 != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(supported(0x8086, 0x100e));
        assert!(supported(0x8086, 0x100f));
        assert!(!supported(0x8086, 0x10d3)); // 82574L (e1000e): another register set
        assert!(!supported(0x1af4, 0x100e));
    }

    #[test]
    fn control_values() {
        // The values Linux's e1000 and the manual give for these fields.
        assert_eq!(rctl_value(), 0x0400_8012);
        assert_eq!(tctl_value(), 0x0004_00fa);
        assert_eq!(tipg_value(), 0x0060_200a);
        let after = ctrl_link_up(ctrl::RST | ctrl::LRST | ctrl::PHY_RST | ctrl::VME | 0x100);
        assert_eq!(after, ctrl::SLU | ctrl::ASDE | ctrl::FD | 0x100);
    }

    #[test]
    fn eeprom_reads() {
        assert_eq!(eerd_start(2), 0x0201);
        assert_eq!(eerd_word(0x1234_0010), Some(0x1234));
        assert_eq!(eerd_word(0x1234_0000), None);
        // QEMU's default MAC, 52:54:00:12:34:56, as its EEPROM holds it.
        assert_eq!(
            mac_from_eeprom([0x5452, 0x1200, 0x5634]),
            Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
        );
        assert_eq!(mac_from_eeprom([0, 0, 0]), None);
        assert_eq!(mac_from_eeprom([0xffff, 0xffff, 0xffff]), None);
        assert_eq!(mac_from_eeprom([0x0001, 0, 0x0100]), None); // multicast
    }

    #[test]
    fn receive_address_registers() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        let (ral, rah) = ral_rah(mac);
        assert_eq!((ral, rah), (0x1200_5452, 0x8000_5634));
        assert_eq!(mac_from_ral_rah(ral, rah), Some(mac));
        assert_eq!(mac_from_ral_rah(ral, rah & !RAH_AV), None);
        assert_eq!(mac_from_ral_rah(0, RAH_AV), None);
    }

    #[test]
    fn link_status() {
        // QEMU's STATUS after reset: 0x80080783 (LU, FD, 1000 Mb/s).
        assert_eq!(
            link(0x8008_0783),
            Link {
                up: true,
                speed: 1000,
                full_duplex: true
            }
        );
        let down = link(0x8008_0781);
        assert!(!down.up);
        assert_eq!(link(0x40).speed, 100);
        assert_eq!(link(0).speed, 10);
    }
}
