//! The kernel's network: eth0, smoltcp over the first network device found (virtio-net
//! preferred, else an e1000) set up from the command line at boot, and `lo`, which every VM
//! has; driven from the runtime's wait path.
//!
//! The wait path (sleeping, blocking reads, and the fd layer's blocking primitive) calls
//! [`poll`] before it halts and arms its timer no later than [`next_wakeup`]; the device's
//! interrupt ends the halt when a frame arrives. Nothing polls on a timer when idle. `lo`
//! has no interrupt: what a thread sent on it is delivered by the next [`poll`], which the
//! wait path runs before any thread halts (and reports as progress, so no waiter sleeps
//! through it).

use alloc::boxed::Box;

use smoltcp::time::Instant;
use spin::Mutex;
use virtio_drivers::transport::DeviceType;

use super::config::NetConfig;
use super::socket::Net;
use super::stack::Stack;
use crate::boot::virtio_mmio::MmioDevice;
use crate::drivers::e1000::{self, E1000};
use crate::drivers::nic::Nic;
use crate::drivers::virtio::{self, net::VirtioNet};
use crate::process::cmdline::Cmdline;

/// How often a device without a working interrupt line is polled.
const POLL_INTERVAL_NS: u64 = 10_000_000;

/// The kernel's network type (the socket syscalls name it).
pub type NetStack = Net<Nic>;

static NET: Mutex<Option<NetStack>> = Mutex::new(None);

/// Moves whenever a poll of the interface changed some socket's state: edge-triggered epoll
/// on sockets reports again when it moved.
static ACTIVITY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

pub fn activity() -> u64 {
    ACTIVITY.load(core::sync::atomic::Ordering::Relaxed)
}

fn now() -> Instant {
    Instant::from_micros((crate::time::monotonic_ns() / 1000) as i64)
}

fn print_log(net: &mut NetStack) {
    if let Some(eth) = net.eth() {
        for line in eth.take_log() {
            kinfo!("{}", line);
        }
    }
}

/// Brings up `lo`, finds the network device and brings eth0 up as the command line says.
/// Without a device (or with `kiln.net=off`) the runtime has `lo` only and says nothing.
///
/// `mmio` are the virtio-mmio windows (`drivers::virtio::mmio_windows`).
pub fn init(cmdline: &Cmdline<'_>, mmio: &[MmioDevice]) {
    let (config, errors) = NetConfig::from_options(cmdline.options());
    for e in errors {
        kinfo!("{}", e);
    }
    let mut seed = [0u8; 8];
    crate::kernel::fill_random(&mut seed);
    let seed = u64::from_ne_bytes(seed);
    let device = if config.enabled {
        find_device(mmio)
    } else {
        None
    };
    let eth = device.map(|d| {
        let mac = d.mac();
        Stack::new(d, mac, config, now(), seed)
    });
    let mut net = Net::new(eth, now(), seed);
    net.set_room_check(heap_has_room);
    net.poll(now());
    print_log(&mut net);
    let dns = net.eth().and_then(|e| e.take_dns_change());
    *NET.lock() = Some(net);
    write_resolv_conf(dns);
    crate::sched::register(&NET_SOURCE);
}

/// Whether the kernel heap can give `bytes` and keep 1 MiB spare (the socket calls' ENOBUFS
/// rule), for the listeners that arm sockets as connections arrive.
fn heap_has_room(bytes: usize) -> bool {
    crate::mm::heap::usage().1 >= bytes + (1 << 20)
}

/// The first network device that starts: virtio-net (PCI or MMIO) when there is one, else
/// an e1000 on PCI.
fn find_device(mmio: &[MmioDevice]) -> Option<Nic> {
    if let Some(found) = virtio::find(DeviceType::Network, mmio).into_iter().next() {
        let what = found.what;
        match VirtioNet::new(found) {
            Ok(d) => return Some(Nic::Virtio(Box::new(d))),
            Err(e) => kinfo!(
                "net: the virtio-net device ({}) failed to start: {}",
                what,
                e
            ),
        }
    }
    let df = e1000::find()?;
    match E1000::new(df) {
        Ok(d) => Some(Nic::E1000(d)),
        Err(e) => {
            kinfo!("net: the e1000 at pci {} failed to start: {}", df, e);
            None
        }
    }
}

/// The network as an event source of the waiting code: every wait services the device and
/// respects the stack's timers.
struct NetSource;

impl crate::sched::EventSource for NetSource {
    fn poll(&self, _now_ns: u64) -> bool {
        poll()
    }

    fn next_wakeup(&self, _now_ns: u64) -> Option<u64> {
        next_wakeup()
    }
}

static NET_SOURCE: NetSource = NetSource;

/// True when the runtime has a network device (eth0).
pub fn present() -> bool {
    NET.lock().as_mut().is_some_and(|n| n.eth().is_some())
}

/// Services the device: takes its interrupt, processes what arrived, sends what is due
/// (on `lo`: delivers it), and prints addresses the interface got. True when some socket's
/// state may have changed.
pub fn poll() -> bool {
    let mut guard = NET.lock();
    let Some(stack) = guard.as_mut() else {
        return false;
    };
    if let Some(eth) = stack.eth() {
        eth.device_mut().service_interrupt();
    }
    let changed = stack.poll(now());
    if changed {
        ACTIVITY.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }
    print_log(stack);
    let dns = stack.eth().and_then(|e| e.take_dns_change());
    drop(guard);
    write_resolv_conf(dns);
    changed
}

/// How long the VM waits at exit for eth0 to deliver what the program wrote.
const EXIT_LINGER_NS: u64 = 2_000_000_000;

/// At exit (`exit_group`): the program's TCP sockets are closed as its descriptors would be,
/// and the VM waits — polling eth0, halting in between — until every connection has
/// delivered what the program wrote and its FIN is acknowledged, and every queued datagram
/// has left, for at most [`EXIT_LINGER_NS`]. Linux keeps sending after a process exits; a VM
/// that powered off at once would cut the last reply of a server that answers and exits.
/// Other threads do not run meanwhile.
pub fn linger_at_exit() {
    let deadline = crate::time::monotonic_ns().saturating_add(EXIT_LINGER_NS);
    loop {
        poll();
        let busy = {
            let mut guard = NET.lock();
            let Some(net) = guard.as_mut() else {
                return;
            };
            net.close_tcp_at_exit();
            net.eth_flushing()
        };
        if !busy {
            return;
        }
        let now_ns = crate::time::monotonic_ns();
        if now_ns >= deadline {
            kinfo!("net: exit: cut connections still sending after 2 s");
            return;
        }
        let wake = next_wakeup().map_or(deadline, |at| at.min(deadline));
        if wake > now_ns {
            crate::time::arm_wakeup(wake - now_ns);
            crate::arch::cpu::halt_until_interrupt();
        }
    }
}

/// `/etc/resolv.conf` follows the DNS servers (`kiln.dns=`, else DHCP's); written outside the
/// interface's lock, and said once on the console.
fn write_resolv_conf(servers: Option<alloc::vec::Vec<smoltcp::wire::IpAddress>>) {
    let Some(servers) = servers else {
        return;
    };
    let text: alloc::vec::Vec<alloc::string::String> =
        servers.iter().map(|a| alloc::format!("{a}")).collect();
    let names: alloc::vec::Vec<&str> = text.iter().map(|s| s.as_str()).collect();
    let now = crate::fs::Timespec::from_ns(crate::time::realtime_ns());
    let list = if names.is_empty() {
        alloc::string::String::from("none")
    } else {
        names.join(" ")
    };
    match crate::fs::system::set_nameservers(&names, now) {
        Ok(true) => kinfo!("net: dns {}", list),
        Ok(false) => kinfo!("net: dns {} (the image's /etc/resolv.conf is kept)", list),
        Err(e) => kinfo!("net: cannot write /etc/resolv.conf: {}", e.name()),
    }
}

/// The monotonic time (ns) by which [`poll`] must run again even if no interrupt comes;
/// `None` when only the device's interrupt matters.
pub fn next_wakeup() -> Option<u64> {
    let mut guard = NET.lock();
    let stack = guard.as_mut()?;
    let now_ns = crate::time::monotonic_ns();
    let mut at = stack
        .poll_delay(now())
        .map(|d| now_ns.saturating_add(d.total_micros() * 1000));
    if stack.eth().is_some_and(|e| e.device_mut().needs_polling()) {
        let poll_at = now_ns + POLL_INTERVAL_NS;
        at = Some(at.map_or(poll_at, |a| a.min(poll_at)));
    }
    at
}

/// Runs `f` on the network (the socket layer's entry); `None` before `init`.
///
/// What `f` sent on `lo` is delivered before this returns, as Linux's `lo` does within the
/// sending call: a non-blocking peer sees it at once, and waiting threads re-check.
pub fn with<R>(f: impl FnOnce(&mut NetStack) -> R) -> Option<R> {
    let (r, delivered) = {
        let mut guard = NET.lock();
        let net = guard.as_mut()?;
        let r = f(net);
        (r, net.deliver_lo(now()))
    };
    if delivered {
        ACTIVITY.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        crate::sched::thread::progress();
    }
    Some(r)
}
