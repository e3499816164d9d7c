//! One network interface: a smoltcp `Interface` over a `Device`, its sockets, the DHCPv4
//! client, static and autoconfigured addresses, and the log of what it got.
//!
//! Generic over the device and driven with explicit timestamps, so the host tests run it over
//! smoltcp's loopback device; the kernel runs it over virtio-net or an e1000 (`net::global`).
#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::Device;
use smoltcp::socket::dhcpv4;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpListenEndpoint, Ipv4Address, Ipv4Cidr,
    Ipv6Address, Ipv6Cidr,
};

use super::config::{Ipv4Mode, NetConfig, MAX_DNS};
use super::gate::Gate;

/// The interface's name in messages (there is one).
pub const IFNAME: &str = "eth0";

/// The link-local address of `mac`: `fe80::/64` with the modified EUI-64 interface identifier
/// (RFC 4291 appendix A).
pub fn link_local(mac: [u8; 6]) -> Ipv6Cidr {
    let b = [
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ];
    Ipv6Cidr::new(Ipv6Address::from(b), 64)
}

/// The interface, its sockets and its configuration state.
pub struct Stack<D: Device> {
    pub(super) device: D,
    pub(super) iface: Interface,
    pub(super) sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    config: NetConfig,
    /// DNS servers in use: the command line's, else DHCP's.
    dns: Vec<IpAddress>,
    /// `dns` changed since [`Stack::take_dns_change`] last took it (`/etc/resolv.conf` is due).
    dns_changed: bool,
    /// Addresses already announced on the console.
    announced: Vec<IpCidr>,
    /// Lines for the console, taken by `take_log`.
    log: Vec<String>,
}

impl<D: Device> core::fmt::Debug for Stack<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Stack({:?})", self.iface.ip_addrs())
    }
}

impl<D: Device> Stack<D> {
    /// Brings the interface up with `config`: link-local and static addresses at once, DHCP
    /// and SLAAC as the network answers. `seed` randomizes ports and sequence numbers.
    pub fn new(mut device: D, mac: [u8; 6], config: NetConfig, now: Instant, seed: u64) -> Self {
        let mut c = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        c.random_seed = seed;
        c.slaac = config.slaac;
        let mut iface = Interface::new(c, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv6(link_local(mac)));
            if let Some(v6) = config.ipv6 {
                let _ = addrs.push(IpCidr::Ipv6(v6));
            }
            if let Ipv4Mode::Static(v4) = config.ipv4 {
                let _ = addrs.push(IpCidr::Ipv4(v4));
            }
        });
        if let (Ipv4Mode::Static(_), Some(gw)) = (config.ipv4, config.gateway) {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        if let Some(gw6) = config.gateway6 {
            let _ = iface.routes_mut().add_default_ipv6_route(gw6);
        }
        let mut sockets = SocketSet::new(vec![]);
        let dhcp = (config.ipv4 == Ipv4Mode::Dhcp).then(|| sockets.add(dhcpv4::Socket::new()));
        let mut stack = Stack {
            device,
            iface,
            sockets,
            dhcp,
            dns: config.dns.clone(),
            dns_changed: !config.dns.is_empty(),
            config,
            announced: Vec::new(),
            log: Vec::new(),
        };
        stack.announce();
        stack
    }

    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Processes everything the device has received and sends what is due. True when the
    /// state of some socket may have changed (a waiter should re-check).
    ///
    /// `arm` is the socket layer's: before each received frame it arms the listeners in this
    /// interface's set and returns those whose backlog is full ([`super::gate`]).
    pub fn poll(
        &mut self,
        now: Instant,
        arm: &mut dyn FnMut(&mut SocketSet<'static>) -> Vec<IpListenEndpoint>,
    ) -> bool {
        let mut changed = false;
        loop {
            let r = self.poll_interface(now, arm);
            let dhcp = self.dhcp_event();
            changed |= r || dhcp;
            // A DHCP change may leave more work for this instant.
            if !dhcp {
                break;
            }
        }
        self.announce();
        changed
    }

    /// smoltcp's `Interface::poll`, with the listeners re-armed before each received frame
    /// and the SYNs for full backlogs dropped ([`super::gate`]). True when some socket's
    /// state may have changed.
    fn poll_interface(
        &mut self,
        now: Instant,
        arm: &mut dyn FnMut(&mut SocketSet<'static>) -> Vec<IpListenEndpoint>,
    ) -> bool {
        let mut changed = false;
        self.iface.poll_maintenance(now);
        loop {
            let full = arm(&mut self.sockets);
            let mut gate = Gate::new(&mut self.device, &full);
            match self
                .iface
                .poll_ingress_single(now, &mut gate, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => changed = true,
            }
        }
        while self
            .iface
            .poll_egress(now, &mut self.device, &mut self.sockets)
            == PollResult::SocketStateChanged
        {
            changed = true;
        }
        changed
    }

    /// When `poll` must run next even if nothing arrives (`None`: only on input).
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        self.iface.poll_delay(now, &self.sockets)
    }

    fn dhcp_event(&mut self) -> bool {
        let Some(h) = self.dhcp else {
            return false;
        };
        match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            None => false,
            Some(dhcpv4::Event::Configured(cfg)) => {
                let (addr, router) = (cfg.address, cfg.router);
                let servers: Vec<IpAddress> = cfg
                    .dns_servers
                    .iter()
                    .take(MAX_DNS)
                    .map(|a| IpAddress::Ipv4(*a))
                    .collect();
                self.set_ipv4(Some(addr), router);
                self.set_dhcp_dns(servers);
                true
            }
            Some(dhcpv4::Event::Deconfigured) => {
                // The client reports this once at start too, before any lease.
                if self.ipv4().is_some() {
                    self.log.push(format!("net: {IFNAME} lost its DHCP lease"));
                }
                self.set_ipv4(None, None);
                self.set_dhcp_dns(Vec::new());
                true
            }
        }
    }

    /// DHCP's DNS servers, used unless the command line named its own (`kiln.dns=`).
    fn set_dhcp_dns(&mut self, servers: Vec<IpAddress>) {
        if self.config.dns.is_empty() && self.dns != servers {
            self.dns = servers;
            self.dns_changed = true;
        }
    }

    fn set_ipv4(&mut self, addr: Option<Ipv4Cidr>, router: Option<Ipv4Address>) {
        self.iface.update_ip_addrs(|addrs| {
            addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
            if let Some(a) = addr {
                let _ = addrs.push(IpCidr::Ipv4(a));
            }
        });
        self.announced.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
        let routes = self.iface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(r) = router {
            let _ = routes.add_default_ipv4_route(r);
        }
    }

    fn gateway4(&mut self) -> Option<Ipv4Address> {
        let mut gw = None;
        self.iface.routes_mut().update(|routes| {
            gw = routes.iter().find_map(|r| match (r.cidr, r.via_router) {
                (IpCidr::Ipv4(c), IpAddress::Ipv4(via)) if c.prefix_len() == 0 => Some(via),
                _ => None,
            });
        });
        gw
    }

    /// Logs every address the interface has that was not announced yet.
    fn announce(&mut self) {
        let fresh: Vec<IpCidr> = self
            .iface
            .ip_addrs()
            .iter()
            .filter(|a| !self.announced.contains(a))
            .copied()
            .collect();
        self.announced.retain(|a| self.iface.ip_addrs().contains(a));
        for a in fresh {
            let line = match a {
                IpCidr::Ipv4(_) => match self.gateway4() {
                    Some(gw) => format!("net: {IFNAME} {a} gw {gw}"),
                    None => format!("net: {IFNAME} {a}"),
                },
                IpCidr::Ipv6(_) => format!("net: {IFNAME} {a}"),
            };
            self.log.push(line);
            self.announced.push(a);
        }
    }

    /// Console lines produced since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        core::mem::take(&mut self.log)
    }

    /// The interface's addresses now.
    pub fn addresses(&self) -> &[IpCidr] {
        self.iface.ip_addrs()
    }

    /// DNS servers: the command line's, else what DHCP gave.
    pub fn dns_servers(&self) -> &[IpAddress] {
        &self.dns
    }

    /// The DNS servers, once after each change (the first time at boot when the command line
    /// names them, else when a DHCP lease brings or takes them): `/etc/resolv.conf` follows.
    pub fn take_dns_change(&mut self) -> Option<Vec<IpAddress>> {
        core::mem::take(&mut self.dns_changed).then(|| self.dns.clone())
    }

    /// The interface's first IPv4 address, if it has one.
    pub fn ipv4(&self) -> Option<Ipv4Address> {
        self.iface.ipv4_addr()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use smoltcp::phy::{Loopback, Medium};

    pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    pub fn loopback(config: NetConfig) -> Stack<Loopback> {
        Stack::new(
            Loopback::new(Medium::Ethernet),
            MAC,
            config,
            Instant::from_millis(0),
            7,
        )
    }

    #[test]
    fn link_local_is_modified_eui64() {
        let ll = link_local(MAC);
        assert_eq!(ll.to_string(), "fe80::5054:ff:fe12:3456/64");
    }

    #[test]
    fn static_addresses_are_announced_once() {
        let (config, _) = NetConfig::from_options([
            ("ip", "10.77.0.2/24"),
            ("gw", "10.77.0.1"),
            ("ip6", "fd77::2/64"),
        ]);
        let mut s = loopback(config);
        assert_eq!(
            s.take_log(),
            [
                "net: eth0 fe80::5054:ff:fe12:3456/64",
                "net: eth0 fd77::2/64",
                "net: eth0 10.77.0.2/24 gw 10.77.0.1",
            ]
        );
        s.poll(Instant::from_millis(10), &mut |_| Vec::new());
        assert!(s.take_log().is_empty());
        assert_eq!(s.ipv4(), Some(Ipv4Address::new(10, 77, 0, 2)));
        assert_eq!(s.addresses().len(), 3);
    }

    #[test]
    fn dhcp_mode_sends_discover_and_asks_to_be_polled() {
        let mut s = loopback(NetConfig::default());
        assert_eq!(
            s.addresses().len(),
            1,
            "only link-local before DHCP answers"
        );
        s.poll(Instant::from_millis(0), &mut |_| Vec::new());
        // The client retries on a timer: a deadline exists even with no traffic.
        let d = s
            .poll_delay(Instant::from_millis(1))
            .expect("a DHCP deadline");
        assert!(d <= Duration::from_secs(60), "{d}");
        assert!(s.ipv4().is_none());
    }

    #[test]
    fn dhcp_lease_applies_address_route_and_dns() {
        let mut s = loopback(NetConfig::default());
        s.set_ipv4(
            Some(Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24)),
            Some(Ipv4Address::new(10, 0, 2, 2)),
        );
        s.announce();
        let log = s.take_log();
        assert_eq!(log.last().unwrap(), "net: eth0 10.0.2.15/24 gw 10.0.2.2");
        s.set_ipv4(None, None);
        assert!(s.ipv4().is_none());
    }

    #[test]
    fn dns_servers_are_reported_once_per_change() {
        let a: IpAddress = "10.77.0.1".parse().unwrap();
        let mut s = loopback(NetConfig::default());
        assert_eq!(s.take_dns_change(), None, "no servers before a lease");
        s.set_dhcp_dns(vec![a]);
        assert_eq!(s.take_dns_change(), Some(vec![a]));
        assert_eq!(s.take_dns_change(), None);
        s.set_dhcp_dns(vec![a]);
        assert_eq!(s.take_dns_change(), None, "a renewal with the same servers");
        s.set_dhcp_dns(Vec::new());
        assert_eq!(s.take_dns_change(), Some(vec![]), "the lease is gone");

        let (config, _) = NetConfig::from_options([("dns", "fd77::1")]);
        let mut s = loopback(config);
        let six: IpAddress = "fd77::1".parse().unwrap();
        assert_eq!(s.take_dns_change(), Some(vec![six]), "kiln.dns= at once");
        s.set_dhcp_dns(vec![a]);
        assert_eq!(s.take_dns_change(), None, "kiln.dns= wins over DHCP");
        assert_eq!(s.dns_servers(), [six]);
    }
}
