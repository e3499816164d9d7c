//! Network configuration from the kernel command line.
//!
//! | option | meaning |
//! |---|---|
//! | `kiln.net=off` | no networking even when a network device exists |
//! | `kiln.ip=dhcp` | IPv4 from DHCP (the default) |
//! | `kiln.ip=ADDR/PREFIX` | static IPv4 address, e.g. `kiln.ip=10.77.0.2/24` |
//! | `kiln.ip=off` | no IPv4 |
//! | `kiln.gw=ADDR` | IPv4 default gateway (with a static address) |
//! | `kiln.dns=ADDR[,ADDR...]` | DNS servers (IPv4 or IPv6), used instead of DHCP's |
//! | `kiln.ip6=ADDR/PREFIX` | a static IPv6 address besides link-local and SLAAC ones |
//! | `kiln.gw6=ADDR` | IPv6 default gateway (routers found by SLAAC are used anyway) |
//! | `kiln.slaac=off` | no IPv6 stateless autoconfiguration (link-local stays) |
//!
//! A malformed value is reported in one line and that option is ignored.
#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::str::FromStr;

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

/// The most DNS servers kept (as musl's resolver, `MAXNS`).
pub const MAX_DNS: usize = 3;

/// How the interface gets its IPv4 address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ipv4Mode {
    Dhcp,
    Static(Ipv4Cidr),
    Off,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NetConfig {
    pub enabled: bool,
    pub ipv4: Ipv4Mode,
    pub gateway: Option<Ipv4Address>,
    pub dns: Vec<IpAddress>,
    pub ipv6: Option<Ipv6Cidr>,
    pub gateway6: Option<Ipv6Address>,
    pub slaac: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            enabled: true,
            ipv4: Ipv4Mode::Dhcp,
            gateway: None,
            dns: Vec::new(),
            ipv6: None,
            gateway6: None,
            slaac: true,
        }
    }
}

/// The option names this module reads (for the runtime's unknown-option warning).
pub const OPTIONS: &[&str] = &["net", "ip", "gw", "dns", "ip6", "gw6", "slaac"];

fn on_off(v: &str) -> Option<bool> {
    match v {
        "on" | "yes" | "1" | "" => Some(true),
        "off" | "no" | "0" | "none" => Some(false),
        _ => None,
    }
}

/// `ADDR/PREFIX` with the prefix in range for the family.
fn cidr<A: FromStr>(v: &str, max: u8) -> Option<(A, u8)> {
    let (addr, prefix) = v.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= max).then_some(())?;
    Some((addr.parse().ok()?, prefix))
}

impl NetConfig {
    /// Reads the options (name without `kiln.`, value) that concern the network; returns the
    /// configuration and one message per value that was ignored.
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (NetConfig, Vec<String>) {
        let mut c = NetConfig::default();
        let mut errors = Vec::new();
        for (name, value) in options {
            let ok = match name {
                "net" => on_off(value).map(|on| c.enabled = on).is_some(),
                "ip" => match value {
                    "dhcp" => {
                        c.ipv4 = Ipv4Mode::Dhcp;
                        true
                    }
                    "off" | "none" => {
                        c.ipv4 = Ipv4Mode::Off;
                        true
                    }
                    v => cidr::<Ipv4Address>(v, 32)
                        .filter(|(a, _)| !a.is_unspecified() && !a.is_multicast())
                        .map(|(a, p)| c.ipv4 = Ipv4Mode::Static(Ipv4Cidr::new(a, p)))
                        .is_some(),
                },
                "gw" => value.parse().map(|a| c.gateway = Some(a)).is_ok(),
                "dns" => {
                    let parsed: Option<Vec<IpAddress>> =
                        value.split(',').map(|a| a.parse().ok()).collect();
                    match parsed {
                        Some(list) if !list.is_empty() && list.len() <= MAX_DNS => {
                            c.dns = list;
                            true
                        }
                        _ => false,
                    }
                }
                "ip6" => cidr::<Ipv6Address>(value, 128)
                    .filter(|(a, _)| !a.is_unspecified() && !a.is_multicast())
                    .map(|(a, p)| c.ipv6 = Some(Ipv6Cidr::new(a, p)))
                    .is_some(),
                "gw6" => value.parse().map(|a| c.gateway6 = Some(a)).is_ok(),
                "slaac" => on_off(value).map(|on| c.slaac = on).is_some(),
                _ => true,
            };
            if !ok {
                errors.push(format!(
                    "net: kiln.{name}={value} ignored: {}",
                    match name {
                        "ip" => "expected dhcp, off or ADDR/PREFIX (e.g. 10.0.0.2/24)",
                        "ip6" => "expected ADDR/PREFIX (e.g. fd00::2/64)",
                        "gw" => "expected an IPv4 address",
                        "gw6" => "expected an IPv6 address",
                        "dns" => "expected up to 3 comma-separated addresses",
                        _ => "expected on or off",
                    }
                ));
            }
        }
        (c, errors)
    }
}

/// `/etc/resolv.conf` for the given servers (musl reads `nameserver` lines).
pub fn resolv_conf(servers: &[IpAddress]) -> String {
    let mut s = String::new();
    for a in servers.iter().take(MAX_DNS) {
        s.push_str(&format!("nameserver {a}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[(&'static str, &'static str)]) -> (NetConfig, Vec<String>) {
        NetConfig::from_options(opts.iter().copied())
    }

    #[test]
    fn defaults_are_dhcp_and_slaac() {
        let (c, e) = parse(&[("quiet", ""), ("argv0", "x")]);
        assert!(e.is_empty());
        assert_eq!(c, NetConfig::default());
        assert!(c.enabled && c.slaac && c.ipv4 == Ipv4Mode::Dhcp);
    }

    #[test]
    fn static_configuration() {
        let (c, e) = parse(&[
            ("ip", "10.77.0.2/24"),
            ("gw", "10.77.0.1"),
            ("dns", "10.77.0.1,fd77::1"),
            ("ip6", "fd77::2/64"),
            ("gw6", "fd77::1"),
            ("slaac", "off"),
        ]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            c.ipv4,
            Ipv4Mode::Static(Ipv4Cidr::new(Ipv4Address::new(10, 77, 0, 2), 24))
        );
        assert_eq!(c.gateway, Some(Ipv4Address::new(10, 77, 0, 1)));
        assert_eq!(c.dns.len(), 2);
        assert_eq!(c.ipv6.unwrap().prefix_len(), 64);
        assert_eq!(c.gateway6, Some("fd77::1".parse().unwrap()));
        assert!(!c.slaac);
        assert_eq!(
            resolv_conf(&c.dns),
            "nameserver 10.77.0.1\nnameserver fd77::1\n"
        );
    }

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let (c, e) = parse(&[
            ("ip", "10.0.0.300/24"),
            ("ip", "10.0.0.1/33"),
            ("ip", "10.0.0.1"),
            ("ip", "0.0.0.0/0"),
            ("ip6", "fd00::1/129"),
            ("ip6", "ff02::1/64"),
            ("gw", "fd00::1"),
            ("dns", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"),
            ("dns", ""),
            ("net", "maybe"),
        ]);
        assert_eq!(c, NetConfig::default());
        assert_eq!(e.len(), 10);
        assert!(e[0].starts_with("net: kiln.ip=10.0.0.300/24 ignored: expected"));
    }

    #[test]
    fn off_switches() {
        let (c, _) = parse(&[("net", "off"), ("ip", "off")]);
        assert!(!c.enabled);
        assert_eq!(c.ipv4, Ipv4Mode::Off);
        let (c, _) = parse(&[("ip", "10.0.0.2/8"), ("ip", "dhcp")]);
        assert_eq!(c.ipv4, Ipv4Mode::Dhcp, "the last value wins");
    }
}
