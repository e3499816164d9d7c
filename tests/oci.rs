//! OCI images (`kiln image --format oci|container`, issue 22), made from the DNS server and
//! used as KubeVirt and container engines use them, with the manifests of docs/deploy.md
//! (read by tests/clients/manifests.py) deciding how each is run:
//!
//! - every image is pushed with skopeo to a registry (Debian's `docker-registry`) on the
//!   loopback of a private network namespace, under the reference its manifest names
//!   ([`REGISTRY`] standing for that registry), and pulled back from there;
//! - `skopeo inspect` reads its labels (Kiln's version, the variant, the command line, the
//!   paths) and `umoci unpack` its file tree (KubeVirt's paths, owner 107:107, modes);
//! - the containerDisk's disk boots as KubeVirt boots it (QEMU q35 with SeaBIOS, the disk on
//!   virtio-blk, virtio-net, the manifest's memory) and answers dig over UDP and TCP;
//! - the kernelBoot image's kernel boots with `-kernel`, its initrd and the manifest's
//!   `kernelArgs`, and serves the zone file the initrd carries;
//! - the container image runs under podman with published UDP and TCP ports, answers dig, and
//!   stops on `podman stop` with status 0 and the server's counters in `podman logs`; the
//!   Deployment of docs/deploy.md runs under `podman kube play` and answers on its hostPort.
//!
//! Root is needed (namespaces; podman as root; CI runs as root). No KubeVirt or Kubernetes
//! cluster can run here (neither is packaged in Debian 12), so KubeVirt's QEMU command line
//! and its pod network (DHCP from the VM's pod) are stood in for by QEMU with its user
//! network, and the kubelet by podman.
//!
//! podman runs in the namespace through `nsenter --net` (`ip netns exec` remounts /sys, which
//! hides the cgroup mounts the OCI runtime needs), with its own storage under
//! `target/kiln-tests/oci/podman` and a containers.conf of the tests' ([`containers_conf`]):
//! runc as the runtime, because Debian 12's crun refuses this machine's hybrid cgroup layout
//! ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"); and
//! `nofile`/`nproc` limits below the host's, because root here lacks CAP_SYS_RESOURCE and
//! podman's defaults would raise them.
//!
//! Nothing skips: a missing tool fails the test with a message that says to run
//! `./kiln doctor --install`.

use kiln_tests::netns::{lines, wait_for, Netns};
use kiln_tests::{example_image, kiln, require_root, require_system_tools, root, work_dir};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The registry host the manifests of docs/deploy.md name; the tests' registry stands for it.
const REGISTRY: &str = "registry.example";
/// Where the tests' registry listens, on each namespace's loopback.
const LOCAL_REGISTRY: &str = "127.0.0.1:5000";
/// KubeVirt's `qemu` user and group.
const QEMU_ID: u32 = 107;
/// The container port the host side publishes (as docs/deploy.md's `podman run -p`).
const PUBLISHED: u16 = 8053;
/// How long one packaging or podman command may take (the container's Debian base is built
/// by mmdebstrap the first time: minutes of downloads and installs).
const TOOL_DEADLINE: Duration = Duration::from_secs(1200);

fn dir() -> PathBuf {
    let dir = work_dir().join("oci");
    fs::create_dir_all(&dir).expect("create target/kiln-tests/oci");
    dir
}

fn dns_image() -> PathBuf {
    example_image("dns-server", "dns-server")
}

/// Runs `cmd` to completion (at most [`TOOL_DEADLINE`]); its stdout, or a panic with all it
/// printed.
fn run(cmd: &mut Command) -> String {
    let out = kiln_tests::run_with_deadline(cmd, TOOL_DEADLINE);
    assert!(
        out.status == 0 && !out.timed_out,
        "`{}` failed with status {}\n{}",
        out.command,
        out.status,
        out.describe()
    );
    out.stdout
}

/// `./kiln image IMAGE ARGS -o OUT` (ARGS before `--` and after it); checks that it printed
/// OUT.
fn kiln_image(image: &Path, options: &[&str], out: &Path, args: &[&str]) -> PathBuf {
    let mut cmd = kiln();
    cmd.arg("image").arg(image).args(options).arg("-o").arg(out);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    let printed = run(&mut cmd);
    assert_eq!(
        printed.trim(),
        out.display().to_string(),
        "kiln image printed"
    );
    out.to_owned()
}

/// The sha256 of a file, by Debian's sha256sum.
fn sha256(path: &Path) -> String {
    run(Command::new("sha256sum").arg(path))
        .split_whitespace()
        .next()
        .expect("sha256sum prints the digest")
        .to_owned()
}

/// The manifests of docs/deploy.md, flattened: `KIND/NAME:PATH` to the value.
fn manifests() -> &'static BTreeMap<String, String> {
    static MAP: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        let text = run(Command::new("/usr/bin/python3")
            .arg(root().join("tests/clients/manifests.py"))
            .arg(root().join("docs/deploy.md")));
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    })
}

/// One field of a manifest of docs/deploy.md.
fn field(manifest: &str, path: &str) -> &'static str {
    let key = format!("{manifest}:{path}");
    manifests()
        .get(&key)
        .unwrap_or_else(|| panic!("docs/deploy.md has no {key}"))
}

/// A manifest's image reference with the tests' registry for [`REGISTRY`].
fn local_reference(manifest_image: &str) -> String {
    let rest = manifest_image
        .strip_prefix(&format!("{REGISTRY}/"))
        .unwrap_or_else(|| panic!("{manifest_image} is not on {REGISTRY}"));
    format!("{LOCAL_REGISTRY}/{rest}")
}

/// `size` from a Kubernetes quantity in Mi or Gi, as QEMU's `-m`.
fn qemu_memory(quantity: &str) -> String {
    if let Some(mi) = quantity.strip_suffix("Mi") {
        format!("{mi}M")
    } else if let Some(gi) = quantity.strip_suffix("Gi") {
        format!("{gi}G")
    } else {
        panic!("memory {quantity}: the tests read Mi or Gi")
    }
}

/// A private namespace with loopback and a default route through a tap nothing reads (passt
/// and podman's networks need one; what leaves through it stops there), and a registry on
/// [`LOCAL_REGISTRY`].
struct Space {
    ns: Netns,
    registry_dir: PathBuf,
}

impl Space {
    fn new(tag: &str) -> Space {
        require_root("the OCI tests (network namespaces, podman as root)");
        require_system_tools(&[
            "nsenter",
            "skopeo",
            "umoci",
            "docker-registry",
            "curl",
            "dig",
        ]);
        let mut ns = Netns::new(tag);
        ns.add_uplink(false);
        let registry_dir = dir().join(format!("registry-{}", ns.name()));
        let _ = fs::remove_dir_all(&registry_dir);
        fs::create_dir_all(&registry_dir).expect("create the registry's directory");
        let config = registry_dir.join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {LOCAL_REGISTRY}\n  secret: kiln-tests\n",
                registry_dir.join("data").display()
            ),
        )
        .expect("write the registry's configuration");
        // Its log (every HEAD for a blob not yet pushed is an error line) goes to a file.
        let log = fs::File::create(registry_dir.join("registry.log")).expect("create its log");
        let registry = Space::command_in(&ns, "docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log"))
            .stderr(log)
            .spawn()
            .expect("starting docker-registry");
        ns.keep(registry);
        let space = Space { ns, registry_dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = space
                .command("curl")
                .args(["-sf", "-o", "/dev/null"])
                .arg(format!("http://{LOCAL_REGISTRY}/v2/"))
                .status()
                .expect("run curl");
            if up.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the registry did not answer on {LOCAL_REGISTRY}"
            );
            thread::sleep(Duration::from_millis(200));
        }
        space
    }

    fn command_in(ns: &Netns, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", ns.name()))
            .arg("--")
            .arg(program);
        cmd
    }

    /// `program` in the namespace (same mounts as the test).
    fn command(&self, program: &str) -> Command {
        Space::command_in(&self.ns, program)
    }

    /// Pushes the image `source` (a skopeo reference) to the registry as `reference`.
    fn push(&self, source: &str, reference: &str) {
        run(self
            .command("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false", source])
            .arg(format!("docker://{reference}")));
    }

    /// Pulls `reference` from the registry into the image layout `layout` (tag `pulled`),
    /// as KubeVirt's node does, and unpacks it with umoci; returns the root file system.
    fn pull_and_unpack(&self, reference: &str, layout: &Path, bundle: &Path) -> PathBuf {
        let _ = fs::remove_dir_all(layout);
        let _ = fs::remove_dir_all(bundle);
        run(self
            .command("skopeo")
            .args(["copy", "--quiet", "--src-tls-verify=false"])
            .arg(format!("docker://{reference}"))
            .arg(format!("oci:{}:pulled", layout.display())));
        run(Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:pulled", layout.display()))
            .arg(bundle));
        bundle.join("rootfs")
    }

    /// `dig @127.0.0.1 -p PORT NAME TYPE` over UDP or TCP in the namespace; the answer lines.
    fn dig(&self, port: u16, tcp: bool, name: &str, rtype: &str) -> Vec<String> {
        let out = run(self.command("dig").args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            if tcp { "+tcp" } else { "+notcp" },
            "+tries=3",
            "+time=10",
            name,
            rtype,
        ]));
        assert!(
            out.contains("status: NOERROR"),
            "dig {name} {rtype}:\n{out}"
        );
        out.lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.registry_dir);
    }
}

/// `skopeo inspect --format {{index .Labels "KEY"}}` of `reference`.
fn label(reference: &str, key: &str) -> String {
    run(Command::new("skopeo")
        .args(["inspect", "--format"])
        .arg(format!("{{{{index .Labels \"{key}\"}}}}"))
        .arg(reference))
    .trim()
    .to_owned()
}

/// Every path under `rootfs` (relative, sorted) with its mode (permission bits), owner and
/// group.
fn tree(rootfs: &Path) -> Vec<(String, u32, u32, u32)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, u32, u32, u32)>) {
        for entry in fs::read_dir(dir).expect("read the unpacked tree") {
            let path = entry.expect("a directory entry").path();
            let meta = fs::symlink_metadata(&path).expect("stat an unpacked file");
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            out.push((rel, meta.mode() & 0o7777, meta.uid(), meta.gid()));
            if meta.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(rootfs, rootfs, &mut out);
    out.sort();
    out
}

/// A VM started as KubeVirt's virt-launcher would start it (q35, SeaBIOS, virtio-net on a
/// user network that forwards the namespace's 127.0.0.1:PORT to the guest's port 53, UDP and
/// TCP): its console lines. Killed when dropped.
struct Vm {
    child: Child,
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Vm {
    fn start(space: &Space, memory: &str, port: u16, boot: &[String]) -> Vm {
        let mut cmd = space.command("qemu-system-x86_64");
        cmd.args(["-M", "q35", "-accel", "tcg", "-cpu", "max", "-m", memory])
            .args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-serial", "stdio", "-monitor", "none", "-no-reboot"])
            .arg("-netdev")
            .arg(format!(
                "user,id=pod,hostfwd=udp:127.0.0.1:{port}-:53,hostfwd=tcp:127.0.0.1:{port}-:53"
            ))
            .args(["-device", "virtio-net-pci,netdev=pod"])
            .args(boot);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("qemu-system-x86_64 not found: run `./kiln doctor --install`");
        let rx = lines(child.stdout.take().expect("stdout is piped"));
        Vm {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (up to 5 minutes: firmware and GRUB under TCG on a loaded machine) for the DNS
    /// server's listening line and the address the user network's DHCP gave.
    fn wait_serving(&mut self) {
        for want in [
            "dns-server: listening on port 53 ",
            "kiln: net: eth0 10.0.2.15/24 gw 10.0.2.2",
        ] {
            let found = wait_for(&self.rx, &mut self.seen, Duration::from_secs(300), |l| {
                l.contains(want)
            });
            assert!(
                found.is_some(),
                "the VM never printed {want:?}; its console:\n{}",
                self.seen.join("\n")
            );
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The containerDisk (qcow2, the default) and the raw variant: labels, the file tree KubeVirt
/// documents, and the disk, pushed and pulled through the registry under the manifest's
/// reference, booting as KubeVirt boots it and answering over UDP and TCP.
#[test]
fn containerdisk_goes_through_a_registry_and_its_disk_boots_through_firmware_and_serves() {
    let vm = "VirtualMachine/kiln-dns-disk";
    let image = dns_image();
    let space = Space::new("ocidisk");
    let layout = kiln_image(
        &image,
        &["--format", "oci"],
        &dir().join("dns-server.containerdisk.oci"),
        &[],
    );
    let source = format!("oci:{}:dns-server:latest", layout.display());
    assert_eq!(label(&source, "kiln.variant"), "containerdisk");
    assert_eq!(label(&source, "kiln.version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(label(&source, "kiln.cmdline"), "kiln.argv0=dns-server");
    assert_eq!(label(&source, "kiln.disk"), "/disk/dns-server.qcow2");
    assert_eq!(label(&source, "kiln.image.sha256"), sha256(&image));

    // The VM manifest: the disk is the boot volume, on virtio.
    let disk_name = field(vm, "spec.template.spec.volumes.0.name");
    assert_eq!(
        field(vm, "spec.template.spec.domain.devices.disks.0.name"),
        disk_name
    );
    assert_eq!(
        field(vm, "spec.template.spec.domain.devices.disks.0.disk.bus"),
        "virtio"
    );
    let reference = local_reference(field(
        vm,
        "spec.template.spec.volumes.0.containerDisk.image",
    ));
    space.push(&source, &reference);
    let rootfs = space.pull_and_unpack(
        &reference,
        &dir().join("containerdisk.pulled"),
        &dir().join("containerdisk.bundle"),
    );
    assert_eq!(
        tree(&rootfs),
        [
            ("disk".to_owned(), 0o755, QEMU_ID, QEMU_ID),
            ("disk/dns-server.qcow2".to_owned(), 0o440, QEMU_ID, QEMU_ID),
        ]
    );
    let disk = rootfs.join("disk/dns-server.qcow2");
    let info = run(Command::new("qemu-img").arg("info").arg(&disk));
    assert!(info.contains("file format: qcow2"), "{info}");

    // The raw disk variant: the same tree with a raw MBR disk.
    let raw = kiln_image(
        &image,
        &["--format", "oci", "--disk-format", "raw", "--tag", "raw"],
        &dir().join("dns-server.containerdisk-raw.oci"),
        &[],
    );
    let raw_bundle = dir().join("containerdisk-raw.bundle");
    let _ = fs::remove_dir_all(&raw_bundle);
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:raw", raw.display()))
        .arg(&raw_bundle));
    let raw_disk = raw_bundle.join("rootfs/disk/dns-server.img");
    let bytes = fs::read(&raw_disk).expect("read the raw disk");
    assert_eq!(&bytes[510..512], &[0x55, 0xaa], "an MBR boot signature");
    assert_eq!(
        fs::metadata(&raw_disk).unwrap().uid(),
        QEMU_ID,
        "the raw disk's owner"
    );

    let memory = qemu_memory(field(
        vm,
        "spec.template.spec.domain.resources.requests.memory",
    ));
    let drive = format!(
        "file={},format=qcow2,if=virtio,snapshot=on",
        disk.display().to_string().replace(',', ",,")
    );
    let mut guest = Vm::start(&space, &memory, PUBLISHED, &["-drive".into(), drive]);
    guest.wait_serving();
    for tcp in [false, true] {
        let answer = space.dig(PUBLISHED, tcp, "www.kiln.test", "A");
        assert!(
            answer
                .iter()
                .any(|l| l.starts_with("www.kiln.test.") && l.ends_with("192.0.2.80")),
            "tcp={tcp}: {answer:?}"
        );
    }
}

/// The kernelBoot image with the zone files as its initrd: labels, the tree, and the kernel
/// pulled from the registry booting with `-kernel`, `-initrd` and the manifest's
/// `kernelArgs`, serving lab.test. from the initrd.
#[test]
fn kernelboot_goes_through_a_registry_and_its_kernel_boots_with_dash_kernel() {
    let vm = "VirtualMachine/kiln-dns-kernel";
    let boot = "spec.template.spec.domain.firmware.kernelBoot";
    let image = dns_image();
    let space = Space::new("ocikernel");
    let zones = root().join("examples-cpp/dns-server/zones");
    let archive = kiln_image(
        &image,
        &[
            "--format",
            "oci",
            "--variant",
            "kernelboot",
            "--files",
            zones.to_str().expect("a UTF-8 path"),
        ],
        &dir().join("dns-server.kernelboot.oci.tar"),
        &["/kiln.test.zone", "/lab.test.zone"],
    );
    let source = format!("oci-archive:{}:dns-server:latest", archive.display());
    let kernel_args = field(vm, &format!("{boot}.kernelArgs"));
    let kernel_path = field(vm, &format!("{boot}.container.kernelPath"));
    let initrd_path = field(vm, &format!("{boot}.container.initrdPath"));
    assert_eq!(label(&source, "kiln.variant"), "kernelboot");
    assert_eq!(label(&source, "kiln.version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(label(&source, "kiln.cmdline"), kernel_args);
    assert_eq!(label(&source, "kiln.kernel"), kernel_path);
    assert_eq!(label(&source, "kiln.initrd"), initrd_path);
    assert_eq!(label(&source, "kiln.image.sha256"), sha256(&image));

    let reference = local_reference(field(vm, &format!("{boot}.container.image")));
    space.push(&source, &reference);
    let rootfs = space.pull_and_unpack(
        &reference,
        &dir().join("kernelboot.pulled"),
        &dir().join("kernelboot.bundle"),
    );
    let rel = |p: &str| p.trim_start_matches('/').to_owned();
    assert_eq!(
        tree(&rootfs),
        [
            ("boot".to_owned(), 0o755, QEMU_ID, QEMU_ID),
            (rel(initrd_path), 0o440, QEMU_ID, QEMU_ID),
            (rel(kernel_path), 0o440, QEMU_ID, QEMU_ID),
        ]
    );
    let kernel = rootfs.join(rel(kernel_path));
    assert_eq!(sha256(&kernel), sha256(&image), "the kernel is the image");
    let initrd = rootfs.join(rel(initrd_path));

    let memory = qemu_memory(field(
        vm,
        "spec.template.spec.domain.resources.requests.memory",
    ));
    let mut guest = Vm::start(
        &space,
        &memory,
        PUBLISHED,
        &[
            "-kernel".into(),
            kernel.display().to_string(),
            "-initrd".into(),
            initrd.display().to_string(),
            "-append".into(),
            kernel_args.into(),
        ],
    );
    guest.wait_serving();
    assert!(
        guest
            .seen
            .iter()
            .any(|l| l.contains("dns-server: zone lab.test.:")),
        "the zone file from the initrd was not loaded:\n{}",
        guest.seen.join("\n")
    );
    for tcp in [false, true] {
        let answer = space.dig(PUBLISHED, tcp, "ns.lab.test", "A");
        assert!(
            answer
                .iter()
                .any(|l| l.starts_with("ns.lab.test.") && l.ends_with("198.51.100.1")),
            "tcp={tcp}: {answer:?}"
        );
    }
}

/// The container image's oci-archive, built once per test process.
fn container_archive() -> &'static Path {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        kiln_image(
            &dns_image(),
            &["--format", "container", "-p", "53/udp", "-p", "53"],
            &dir().join("dns-server.container.oci.tar"),
            &[],
        )
    })
}

/// The tests' containers.conf: see the module's documentation.
fn containers_conf() -> PathBuf {
    let path = dir().join("containers.conf");
    fs::write(
        &path,
        "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n\n[engine]\nruntime = \"runc\"\n",
    )
    .expect("write containers.conf");
    path
}

/// podman with the tests' storage and configuration, in `space`.
fn podman(space: &Space) -> Command {
    require_system_tools(&["podman", "runc"]);
    let storage = dir().join("podman");
    let mut cmd = space.command("podman");
    cmd.env("CONTAINERS_CONF", containers_conf())
        .arg("--root")
        .arg(storage.join("root"))
        .arg("--runroot")
        .arg(storage.join("run"))
        .arg("--tmpdir")
        .arg(storage.join("tmp"));
    cmd
}

/// A container (or a kube play's pod) removed when dropped.
struct Removal<'a> {
    space: &'a Space,
    args: Vec<String>,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        let _ = podman(self.space).args(&self.args).output();
    }
}

/// Pushes the container image to the registry under `reference`, pulls it into podman's
/// storage from there and names it `name`.
fn load_container_image(space: &Space, reference: &str, name: &str) {
    let source = format!(
        "oci-archive:{}:dns-server:latest",
        container_archive().display()
    );
    assert_eq!(label(&source, "kiln.variant"), "container");
    assert_eq!(label(&source, "kiln.version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(label(&source, "kiln.image"), "/kiln/dns-server");
    assert_eq!(label(&source, "kiln.image.sha256"), sha256(&dns_image()));
    space.push(&source, reference);
    run(podman(space)
        .args(["pull", "--quiet", "--tls-verify=false"])
        .arg(reference));
    run(podman(space).args(["tag", reference, name]));
}

/// `podman logs` of `container` (stdout and stderr together) until it shows `want`, for up to
/// 5 minutes; all of it.
fn wait_for_logs(space: &Space, container: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let out = podman(space)
            .args(["logs", container])
            .output()
            .expect("run podman logs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if text.contains(want) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{container} never logged {want:?}:\n{text}"
        );
        thread::sleep(Duration::from_secs(1));
    }
}

/// The container image under podman: its config, `podman run --device /dev/kvm -p 8053:53/udp
/// -p 8053:53/tcp` (kiln run's KVM probe decides inside), dig over UDP and TCP from the
/// namespace, then `podman stop`: status 0 and the server's
/// counters (which counted those queries) in `podman logs`.
#[test]
fn container_runs_under_podman_serves_dig_and_stops_gracefully() {
    let space = Space::new("ocipodman");
    let name = "localhost/kiln-tests/dns-server:podman";
    load_container_image(
        &space,
        &format!("{LOCAL_REGISTRY}/kiln/dns-server:podman"),
        name,
    );
    // `podman load` of the archive (docs/deploy.md's way) names it NAME:latest, and it is the
    // image the registry served.
    let loaded = run(podman(&space)
        .args(["load", "--quiet", "-i"])
        .arg(container_archive()));
    assert!(
        loaded.contains("localhost/dns-server:latest"),
        "podman load said: {loaded}"
    );
    let id = |reference: &str| {
        run(podman(&space).args(["image", "inspect", "--format", "{{.Id}}", reference]))
    };
    assert_eq!(id("localhost/dns-server:latest"), id(name));
    let config = run(podman(&space).args([
        "image",
        "inspect",
        "--format",
        "{{.Config.StopSignal}} {{json .Config.ExposedPorts}} {{json .Config.Entrypoint}}",
        name,
    ]));
    assert!(config.starts_with("SIGTERM "), "{config}");
    assert!(
        config.contains("\"53/udp\"") && config.contains("\"53/tcp\""),
        "{config}"
    );
    assert!(config.contains("\"/kiln/dns-server\""), "{config}");

    let container = format!("kiln-dns-{}", std::process::id());
    let _ = podman(&space).args(["rm", "-f", &container]).output();
    let _removal = Removal {
        space: &space,
        args: vec!["rm".into(), "-f".into(), container.clone()],
    };
    assert!(
        Path::new("/dev/kvm").exists(),
        "this test passes /dev/kvm to the container (kiln run probes it there): the host has none"
    );
    run(podman(&space)
        .args(["run", "-d", "--name", &container, "--device", "/dev/kvm"])
        .args(["-p", &format!("{PUBLISHED}:53/udp")])
        .args(["-p", &format!("{PUBLISHED}:53/tcp")])
        .arg(name));
    let started = wait_for_logs(&space, &container, "dns-server: listening on port 53 ");
    // kiln run decided between KVM and TCG inside the container, by its probe guest.
    let verdict =
        run(podman(&space).args(["exec", &container, "cat", "/opt/kiln/target/kiln/kvm-probe"]));
    match verdict.lines().nth(1) {
        Some("kvm") => {}
        Some("tcg") => assert!(
            started.contains("kiln: KVM unusable here (probe failed), using TCG"),
            "{started}"
        ),
        other => panic!("kvm-probe says {other:?}:\n{verdict}"),
    }
    for tcp in [false, true] {
        let answer = space.dig(PUBLISHED, tcp, "www.kiln.test", "AAAA");
        assert!(
            answer
                .iter()
                .any(|l| l.starts_with("www.kiln.test.") && l.ends_with("2001:db8::80")),
            "tcp={tcp}: {answer:?}"
        );
    }
    run(podman(&space).args(["stop", "-t", "60", &container]));
    let status =
        run(podman(&space).args(["inspect", "--format", "{{.State.ExitCode}}", &container]));
    // Stopped: the logs are complete.
    let out = podman(&space)
        .args(["logs", &container])
        .output()
        .expect("run podman logs");
    let logs =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        status.trim(),
        "0",
        "podman stop's exit status; logs:\n{logs}"
    );
    let stopped = logs
        .lines()
        .find(|l| l.contains("dns-server: stopped;"))
        .unwrap_or_else(|| panic!("no counters line in the logs:\n{logs}"));
    let counter = |name: &str| -> u64 {
        stopped
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}= in {stopped:?}"))
    };
    // One query over UDP and one over TCP at least (dig may retry a datagram).
    assert!(counter("queries") >= 2, "{stopped}");
    assert!(counter("udp") >= 1, "{stopped}");
    assert!(counter("tcp") >= 1, "{stopped}");
}

/// docs/deploy.md's Deployment under `podman kube play`: the image from the registry under the
/// manifest's reference, the server answering on the hostPort over UDP and TCP.
#[test]
fn the_deployment_manifest_runs_under_podman_kube_play() {
    let deployment = "Deployment/kiln-dns";
    let container = "spec.template.spec.containers.0";
    let space = Space::new("ocikube");
    let image = field(deployment, &format!("{container}.image"));
    load_container_image(&space, &local_reference(image), image);
    let mut ports = Vec::new();
    for i in 0..2 {
        let port = format!("{container}.ports.{i}");
        assert_eq!(field(deployment, &format!("{port}.containerPort")), "53");
        ports.push((
            field(deployment, &format!("{port}.protocol")),
            field(deployment, &format!("{port}.hostPort"))
                .parse::<u16>()
                .expect("a hostPort"),
        ));
    }
    assert_eq!(ports[0].1, ports[1].1, "one hostPort for UDP and TCP");
    let mut protocols: Vec<&str> = ports.iter().map(|p| p.0).collect();
    protocols.sort();
    assert_eq!(protocols, ["TCP", "UDP"]);

    let yaml = dir().join(format!("deployment-{}.yaml", std::process::id()));
    let text = run(Command::new("/usr/bin/python3")
        .arg(root().join("tests/clients/manifests.py"))
        .arg(root().join("docs/deploy.md"))
        .arg(deployment));
    fs::write(&yaml, text).expect("write the Deployment");
    let _ = podman(&space).args(["kube", "down"]).arg(&yaml).output();
    let _removal = Removal {
        space: &space,
        args: vec!["kube".into(), "down".into(), yaml.display().to_string()],
    };
    run(podman(&space).args(["kube", "play"]).arg(&yaml));
    let names = run(podman(&space).args([
        "ps",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("ancestor={image}"),
    ]));
    let name = names
        .lines()
        .next()
        .unwrap_or_else(|| panic!("kube play started no container of {image}"))
        .to_owned();
    wait_for_logs(&space, &name, "dns-server: listening on port 53 ");
    for tcp in [false, true] {
        let answer = space.dig(ports[0].1, tcp, "www.kiln.test", "A");
        assert!(
            answer
                .iter()
                .any(|l| l.starts_with("www.kiln.test.") && l.ends_with("192.0.2.80")),
            "tcp={tcp}: {answer:?}"
        );
    }
}

/// Bad input to `kiln image --format oci|container` gets one clear line, before any work.
#[test]
fn oci_options_are_checked() {
    let image = dns_image();
    for (args, says) in [
        (
            vec!["--format", "oci", "--tag", "Bad Tag"],
            "give a reference name",
        ),
        (
            vec!["--format", "oci", "-p", "53/udp"],
            "-p and -m are the container's",
        ),
        (
            vec!["--format", "container", "--variant", "kernelboot"],
            "--variant and --disk-format choose a KubeVirt image",
        ),
        (
            vec!["--format", "oci", "--files", "/nonexistent"],
            "a containerDisk cannot carry",
        ),
        (
            vec!["--format", "qcow2", "--tag", "x"],
            "are for --format oci or container",
        ),
        (
            vec!["--format", "container", "-p", "127.0.0.1:53:53"],
            "a container publishes on all of its addresses",
        ),
    ] {
        let out = kiln_tests::run_kiln(
            ["image".as_ref(), image.as_os_str()]
                .into_iter()
                .chain(args.iter().map(|a| a.as_ref())),
        );
        assert_ne!(out.status, 0, "{args:?} was accepted:\n{}", out.describe());
        assert!(
            out.stderr.contains(says),
            "{args:?} should say {says:?}:\n{}",
            out.describe()
        );
    }
}

/// With SOURCE_DATE_EPOCH, a kernelBoot image made twice from the same inputs has the same
/// digest (and the time stamp is that instant); another epoch gives another digest.
#[test]
fn kernelboot_images_are_reproducible_with_source_date_epoch() {
    let image = dns_image();
    let digest = |epoch: &str, n: u32| {
        let out = dir().join(format!("reproducible-{epoch}-{n}.oci"));
        let mut cmd = kiln();
        cmd.env("SOURCE_DATE_EPOCH", epoch)
            .arg("image")
            .arg(&image)
            .args(["--format", "oci", "--variant", "kernelboot", "-o"])
            .arg(&out);
        run(&mut cmd);
        let reference = format!("oci:{}:dns-server:latest", out.display());
        let created = label(&reference, "org.opencontainers.image.created");
        let digest = run(Command::new("skopeo")
            .args(["inspect", "--format", "{{.Digest}}"])
            .arg(&reference));
        (digest.trim().to_owned(), created)
    };
    let (first, created) = digest("1700000000", 1);
    assert_eq!(created, "2023-11-14T22:13:20Z");
    assert_eq!(digest("1700000000", 2).0, first);
    assert_ne!(digest("1700000001", 1).0, first);
}
