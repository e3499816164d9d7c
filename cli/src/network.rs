//! The guest's network for `kiln run`: none (the default), user networking with port forwards
//! (`-p [ADDR:]HOST:GUEST[/udp]`, implies `--net user`: passt when installed, see
//! [`crate::usernet`], else QEMU's slirp; `--net slirp` picks slirp), or an existing tap
//! device (`--net tap:NAME`); and the NIC QEMU emulates for it (`--nic virtio|e1000`).
//! A forward listens on the host's loopback unless it names an address: 127.0.0.1 and ::1
//! through passt, 127.0.0.1 through slirp. An address (`0.0.0.0:53:53/udp`,
//! `[::]:8080:80`) is the one forward listens on — all of the family's addresses for
//! `0.0.0.0` and `[::]`, as in a container, where the published ports arrive on its own
//! interface.

use crate::{Failure, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where on the host a forward listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bind {
    /// Both loopback addresses, 127.0.0.1 and ::1 (slirp: 127.0.0.1 only).
    #[default]
    Loopback,
    /// One IPv4 address (`0.0.0.0`: all of them).
    V4(Ipv4Addr),
    /// One IPv6 address (`::`: all of them; passt only).
    V6(Ipv6Addr),
}

impl Bind {
    /// The IPv4 address the forward listens on, if it listens on IPv4.
    pub fn v4(self) -> Option<Ipv4Addr> {
        match self {
            Bind::Loopback => Some(Ipv4Addr::LOCALHOST),
            Bind::V4(a) => Some(a),
            Bind::V6(_) => None,
        }
    }

    /// The IPv6 address the forward listens on, if it listens on IPv6.
    pub fn v6(self) -> Option<Ipv6Addr> {
        match self {
            Bind::Loopback => Some(Ipv6Addr::LOCALHOST),
            Bind::V6(a) => Some(a),
            Bind::V4(_) => None,
        }
    }
}

/// A forwarded port: host `host` (on the addresses `bind` says) to the guest's `guest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub udp: bool,
    pub host: u16,
    pub guest: u16,
    pub bind: Bind,
}

impl Forward {
    /// The `-p` value that gives this forward.
    pub fn spec(&self) -> String {
        let addr = match self.bind {
            Bind::Loopback => String::new(),
            Bind::V4(a) => format!("{a}:"),
            Bind::V6(a) => format!("[{a}]:"),
        };
        let proto = if self.udp { "/udp" } else { "" };
        format!("{addr}{}:{}{proto}", self.host, self.guest)
    }

    /// Whether `self` and `other` would listen on one port of one family: passt binds a port
    /// once per family, and two listeners could not both have it.
    pub fn clashes_with(&self, other: &Forward) -> bool {
        self.udp == other.udp
            && self.host == other.host
            && ((self.bind.v4().is_some() && other.bind.v4().is_some())
                || (self.bind.v6().is_some() && other.bind.v6().is_some()))
    }
}

/// How the guest is networked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Network {
    /// No network device.
    #[default]
    None,
    /// User-mode networking (DHCP, outbound NAT) with port forwards: passt where installed,
    /// else QEMU's slirp.
    User(Vec<Forward>),
    /// QEMU's slirp user networking, even where passt is installed (IPv4 only; a forward
    /// accepts one pending connection at a time).
    Slirp(Vec<Forward>),
    /// A tap device that exists already (`ip tuntap add NAME mode tap`).
    Tap(String),
}

fn port(s: &str, what: &str, spec: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Failure::usage(format!(
            "-p {spec}: the {what} port must be a number from 1 to 65535"
        ))
        .into()),
    }
}

/// Parses `-p [ADDR:]HOST:GUEST[/udp|/tcp]`; ADDR is an IPv4 address or an IPv6 address in
/// brackets.
pub fn parse_forward(spec: &str) -> Result<Forward> {
    let usage = || {
        Failure::usage(format!(
            "-p {spec}: write HOST:GUEST (e.g. -p 8080:80), with /udp for UDP, and ADDR: before them to listen on one address (0.0.0.0:8080:80, [::]:8080:80)"
        ))
    };
    let (ports, proto) = match spec.rsplit_once('/') {
        Some((p, "udp")) => (p, true),
        Some((p, "tcp")) => (p, false),
        Some(_) => {
            return Err(Failure::usage(format!(
                "-p {spec}: write HOST:GUEST, HOST:GUEST/tcp or HOST:GUEST/udp"
            ))
            .into())
        }
        None => (spec, false),
    };
    let (addr, host, guest) = match ports.rsplitn(3, ':').collect::<Vec<_>>()[..] {
        [guest, host] => (None, host, guest),
        [guest, host, addr] => (Some(addr), host, guest),
        _ => return Err(usage().into()),
    };
    let bind = match addr {
        None => Bind::Loopback,
        Some(addr) => {
            let ip = match addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
                Some(v6) => v6.parse::<Ipv6Addr>().map(IpAddr::V6),
                None => addr.parse::<Ipv4Addr>().map(IpAddr::V4),
            };
            match ip {
                Ok(IpAddr::V4(a)) => Bind::V4(a),
                Ok(IpAddr::V6(a)) => Bind::V6(a),
                Err(_) => {
                    return Err(Failure::usage(format!(
                        "-p {spec}: {addr} is not an address; write an IPv4 address (0.0.0.0 for all) or an IPv6 one in brackets ([::] for all)"
                    ))
                    .into())
                }
            }
        }
    };
    Ok(Forward {
        udp: proto,
        host: port(host, "host", spec)?,
        guest: port(guest, "guest", spec)?,
        bind,
    })
}

/// Combines `--net` and the `-p` forwards into one choice.
pub fn choose(net: Option<&str>, forwards: Vec<Forward>) -> Result<Network> {
    for (i, f) in forwards.iter().enumerate() {
        if let Some(g) = forwards[..i].iter().find(|g| g.clashes_with(f)) {
            return Err(Failure::usage(format!(
                "-p {} and -p {} both forward host port {}{}; give each host port once per protocol and address family",
                g.spec(),
                f.spec(),
                f.host,
                if f.udp { "/udp" } else { "" }
            ))
            .into());
        }
    }
    if net == Some("slirp") {
        if let Some(f) = forwards.iter().find(|f| f.bind.v4().is_none()) {
            return Err(Failure::usage(format!(
                "-p {}: QEMU's slirp forwards IPv4 only; drop --net slirp (passt forwards IPv6)",
                f.spec()
            ))
            .into());
        }
    }
    match net {
        None if forwards.is_empty() => Ok(Network::None),
        None | Some("user") => Ok(Network::User(forwards)),
        Some("slirp") => Ok(Network::Slirp(forwards)),
        Some("none") if forwards.is_empty() => Ok(Network::None),
        Some(tap) if tap.starts_with("tap:") => {
            let name = &tap[4..];
            if name.is_empty() || name.len() > 15 || name.contains([',', '/', ' ']) {
                return Err(Failure::usage(format!(
                    "--net {tap}: name an existing tap device, e.g. --net tap:tap0"
                ))
                .into());
            }
            if !forwards.is_empty() {
                return Err(Failure::usage(
                    "-p forwards ports through user networking; with --net tap:NAME the guest is on your tap network already",
                )
                .into());
            }
            Ok(Network::Tap(name.to_owned()))
        }
        Some("none") => {
            Err(Failure::usage("-p needs a network: drop --net none, or use --net user").into())
        }
        Some(other) => {
            Err(Failure::usage(format!("--net {other}: use none, user, slirp or tap:NAME")).into())
        }
    }
}

/// The kernel command-line word that tells the guest which ports `-p` published:
/// `KILN_PUBLISHED=HOST:GUEST[/udp],...` (TCP when there is no `/udp`), in the order given.
/// The guest sees it as an environment variable, so a server can print the address the host
/// reaches it at. `None` without forwards.
pub fn published_word(net: &Network) -> Option<String> {
    let (Network::User(forwards) | Network::Slirp(forwards)) = net else {
        return None;
    };
    if forwards.is_empty() {
        return None;
    }
    let mut entries: Vec<String> = Vec::new();
    for f in forwards {
        // One entry per port: the same port on both families is one publication.
        let entry = format!("{}:{}{}", f.host, f.guest, if f.udp { "/udp" } else { "" });
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    Some(format!("KILN_PUBLISHED={}", entries.join(",")))
}

/// The network card QEMU emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Nic {
    /// virtio-net: PCI on pc and q35, virtio-mmio on microvm (the fastest).
    #[default]
    Virtio,
    /// Intel 82540EM, the NIC of VirtualBox, VMware and Bochs (a PCI card: pc and q35 only).
    E1000,
    /// virtio-net-pci with only the legacy (virtio 0.9.5, I/O port) interface, as VirtualBox's
    /// virtio-net and older hypervisors offer (PCI: pc and q35 only).
    VirtioLegacy,
}

impl Nic {
    /// The name `--nic` takes.
    fn name(self) -> &'static str {
        match self {
            Nic::Virtio => "virtio",
            Nic::E1000 => "e1000",
            Nic::VirtioLegacy => "virtio-legacy",
        }
    }
}

/// Checks the card against the network and the board (`pci`: pc or q35).
pub fn check_nic(nic: Nic, net: &Network, pci: bool) -> Result<()> {
    let name = nic.name();
    match nic {
        Nic::Virtio => Ok(()),
        _ if *net == Network::None => Err(Failure::usage(format!(
            "--nic {name} picks the card of a network: add --net user, --net tap:NAME or -p HOST:GUEST",
        ))
        .into()),
        _ if !pci => Err(Failure::usage(format!(
            "--nic {name} is a PCI card and microvm has no PCI bus: add --machine pc or --machine q35",
        ))
        .into()),
        Nic::E1000 | Nic::VirtioLegacy => Ok(()),
    }
}

/// QEMU's arguments for `net` with the card `nic`; `pci` picks virtio-net-pci (pc, q35) over
/// virtio-net-device (microvm's virtio-mmio). `passt` is the running passt of a
/// [`Network::User`] (`None`: slirp instead). [`check_nic`] first.
pub fn qemu_args(
    net: &Network,
    pci: bool,
    nic: Nic,
    passt: Option<&crate::usernet::UserNet>,
) -> Vec<String> {
    let mut args = Vec::new();
    let mut mac = None;
    match (net, passt) {
        (Network::None, _) => return args,
        (Network::User(_), Some(passt)) => {
            args.extend(passt.qemu_args());
            // Explicit: the SLAAC address the guest gets (and the docs name) derives from it.
            mac = Some(crate::usernet::GUEST_MAC);
        }
        (Network::User(forwards) | Network::Slirp(forwards), _) => {
            args.extend(["-netdev".into(), slirp_backend(forwards)]);
        }
        (Network::Tap(name), _) => args.extend([
            "-netdev".into(),
            format!("tap,id=net0,ifname={name},script=no,downscript=no"),
        ]),
    }
    let mut device = match (nic, pci) {
        (Nic::E1000, _) => "e1000,netdev=net0",
        (Nic::VirtioLegacy, _) => "virtio-net-pci,netdev=net0,disable-modern=on",
        (Nic::Virtio, true) => "virtio-net-pci,netdev=net0",
        (Nic::Virtio, false) => "virtio-net-device,netdev=net0",
    }
    .to_owned();
    if let Some(mac) = mac {
        device.push_str(&format!(",mac={mac}"));
    }
    args.extend(["-device".into(), device]);
    args
}

/// QEMU's slirp with `forwards` on their IPv4 addresses (127.0.0.1 for loopback ones); it
/// cannot listen on IPv6, so forwards to an IPv6 address only are left out (when passt is
/// missing kiln has said the network is IPv4 only; `--net slirp` refuses them).
fn slirp_backend(forwards: &[Forward]) -> String {
    let mut s = String::from("user,id=net0");
    for f in forwards {
        let Some(addr) = f.bind.v4() else { continue };
        let proto = if f.udp { "udp" } else { "tcp" };
        s.push_str(&format!(",hostfwd={proto}:{addr}:{}-:{}", f.host, f.guest));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_parse() {
        assert_eq!(
            parse_forward("8080:80").unwrap(),
            Forward {
                udp: false,
                host: 8080,
                guest: 80,
                bind: Bind::Loopback,
            }
        );
        let any4 = parse_forward("0.0.0.0:53:5353/udp").unwrap();
        assert_eq!(any4.bind, Bind::V4(Ipv4Addr::UNSPECIFIED));
        assert!(any4.udp);
        assert_eq!((any4.host, any4.guest), (53, 5353));
        assert_eq!(
            parse_forward("[::]:8080:80").unwrap().bind,
            Bind::V6(Ipv6Addr::UNSPECIFIED)
        );
        assert_eq!(
            parse_forward("[fd00::1]:8080:80/tcp").unwrap().bind,
            Bind::V6("fd00::1".parse().unwrap())
        );
        for spec in [
            "8080:80",
            "0.0.0.0:53:53/udp",
            "[::1]:8080:80",
            "[fd00::1]:1:2/udp",
        ] {
            assert_eq!(parse_forward(spec).unwrap().spec(), spec);
        }
        assert!(parse_forward("5353:53/udp").unwrap().udp);
        assert!(!parse_forward("1:2/tcp").unwrap().udp);
        for bad in [
            "80",
            "0:80",
            "80:70000",
            "a:b",
            "80:80/sctp",
            ":80",
            "",
            "::1:80:80",
            "[::1:80:80",
            "localhost:80:80",
            "1.2.3:80:80",
            "1:2:3:4",
        ] {
            assert!(parse_forward(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn network_choice() {
        let f = parse_forward("8080:80").unwrap();
        assert_eq!(choose(None, vec![]).unwrap(), Network::None);
        assert_eq!(choose(None, vec![f]).unwrap(), Network::User(vec![f]));
        assert_eq!(choose(Some("user"), vec![]).unwrap(), Network::User(vec![]));
        assert_eq!(
            choose(Some("tap:tap0"), vec![]).unwrap(),
            Network::Tap("tap0".into())
        );
        assert!(choose(Some("tap:tap0"), vec![f]).is_err());
        assert!(choose(Some("none"), vec![f]).is_err());
        assert!(choose(Some("tap:"), vec![]).is_err());
        assert!(choose(Some("tap:a,b"), vec![]).is_err());
        assert!(choose(Some("bridge"), vec![]).is_err());
        assert_eq!(
            choose(Some("slirp"), vec![f]).unwrap(),
            Network::Slirp(vec![f])
        );
        let twice = choose(None, vec![f, f]).unwrap_err().to_string();
        assert!(twice.contains("both forward host port 8080"), "{twice}");
        let udp = parse_forward("8080:80/udp").unwrap();
        assert!(choose(None, vec![f, udp]).is_ok());
        // One port per family: all IPv4 and all IPv6 addresses go together, loopback clashes
        // with either.
        let any4 = parse_forward("0.0.0.0:8080:80").unwrap();
        let any6 = parse_forward("[::]:8080:80").unwrap();
        assert!(choose(None, vec![any4, any6]).is_ok());
        assert!(choose(None, vec![f, any4]).is_err());
        assert!(choose(None, vec![any6, f]).is_err());
        let one4 = parse_forward("10.0.0.1:8080:80").unwrap();
        assert!(choose(None, vec![any4, one4]).is_err());
        let slirp6 = choose(Some("slirp"), vec![any6]).unwrap_err().to_string();
        assert!(slirp6.contains("IPv4 only"), "{slirp6}");
        assert!(choose(Some("slirp"), vec![any4]).is_ok());
    }

    #[test]
    fn published_ports_word() {
        let forwards = vec![
            parse_forward("5353:53/udp").unwrap(),
            parse_forward("5354:53").unwrap(),
            parse_forward("8080:80/tcp").unwrap(),
        ];
        assert_eq!(
            published_word(&Network::User(forwards)).as_deref(),
            Some("KILN_PUBLISHED=5353:53/udp,5354:53,8080:80")
        );
        assert_eq!(published_word(&Network::User(Vec::new())), None);
        let both = vec![
            parse_forward("0.0.0.0:53:53/udp").unwrap(),
            parse_forward("[::]:53:53/udp").unwrap(),
        ];
        assert_eq!(
            published_word(&Network::User(both)).as_deref(),
            Some("KILN_PUBLISHED=53:53/udp")
        );
        assert_eq!(published_word(&Network::None), None);
        assert_eq!(published_word(&Network::Tap("tap0".into())), None);
        let slirp = Network::Slirp(vec![parse_forward("8080:80").unwrap()]);
        assert_eq!(
            published_word(&slirp).as_deref(),
            Some("KILN_PUBLISHED=8080:80")
        );
    }

    #[test]
    fn qemu_arguments() {
        let f = parse_forward("5353:53/udp").unwrap();
        let forwards = vec![parse_forward("8080:80").unwrap(), f];
        let args = qemu_args(&Network::User(forwards.clone()), false, Nic::Virtio, None);
        assert_eq!(
            args,
            [
                "-netdev",
                "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53",
                "-device",
                "virtio-net-device,netdev=net0"
            ]
        );
        assert_eq!(
            qemu_args(&Network::Slirp(forwards), false, Nic::Virtio, None),
            args
        );
        let addressed = vec![
            parse_forward("0.0.0.0:53:53/udp").unwrap(),
            parse_forward("[::]:53:53/udp").unwrap(),
        ];
        let args = qemu_args(&Network::User(addressed), false, Nic::Virtio, None);
        assert_eq!(args[1], "user,id=net0,hostfwd=udp:0.0.0.0:53-:53");
        let args = qemu_args(&Network::Tap("kt0".into()), true, Nic::Virtio, None);
        assert_eq!(args[1], "tap,id=net0,ifname=kt0,script=no,downscript=no");
        assert_eq!(args[3], "virtio-net-pci,netdev=net0");
        assert!(qemu_args(&Network::None, true, Nic::Virtio, None).is_empty());
        let args = qemu_args(&Network::Tap("kt0".into()), true, Nic::E1000, None);
        assert_eq!(args[3], "e1000,netdev=net0");
        let args = qemu_args(&Network::Tap("kt0".into()), true, Nic::VirtioLegacy, None);
        assert_eq!(args[3], "virtio-net-pci,netdev=net0,disable-modern=on");
    }

    #[test]
    fn e1000_needs_pci_and_a_network() {
        let user = Network::User(vec![]);
        assert!(check_nic(Nic::E1000, &user, true).is_ok());
        let microvm = check_nic(Nic::E1000, &user, false).unwrap_err().to_string();
        assert!(microvm.contains("--machine pc"), "{microvm}");
        assert!(check_nic(Nic::E1000, &Network::None, true).is_err());
        assert!(check_nic(Nic::Virtio, &user, false).is_ok());
        assert!(check_nic(Nic::Virtio, &Network::None, false).is_ok());
        let legacy = check_nic(Nic::VirtioLegacy, &user, false)
            .unwrap_err()
            .to_string();
        assert!(legacy.contains("--nic virtio-legacy"), "{legacy}");
        assert!(check_nic(Nic::VirtioLegacy, &user, true).is_ok());
    }
}
