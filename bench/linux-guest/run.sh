#!/usr/bin/env bash
# bench/linux-guest/run.sh: boots the Linux guest (build.sh's kernel and initramfs) with the
# QEMU flags `kiln run` uses for an image (cli/src/qemu.rs: common_args, qemu_args;
# cli/src/network.rs), so the two are compared under identical conditions. Streams the
# console and exits with the program's status, read from the `kiln: exit status N` line
# (124 on timeout), like `kiln run`.
#
# Usage: bench/linux-guest/run.sh [options] KERNEL INITRD [QEMU ARGS...] [-- PROGRAM ARGS...]
#   --machine microvm|pc|q35   the board (default microvm; pc/q35 boot with qboot)
#   -m SIZE                    memory (default 256M)
#   --cpu MODEL                QEMU's -cpu (default max)
#   --accel tcg|kvm            (default tcg; use kvm only where `kiln run` would)
#   --net user|slirp|tap:NAME  user networking through passt (as `kiln run`: one passt per
#                              family behind a QEMU hub, cli/src/usernet.rs), QEMU's slirp,
#                              or an existing tap device
#   -p HOST:GUEST[/udp]        forward 127.0.0.1:HOST and [::1]:HOST (slirp: 127.0.0.1 only)
#                              to the guest (implies --net user)
#   --append WORDS             kernel command-line words: kiln.ip=ADDR/PREFIX, kiln.gw=...
#                              (see init), NAME=value for the environment, Linux options
#   --timeout SECS             kill QEMU after SECS (status 124)
#   --print                    print the QEMU command instead of running it (not with
#                              --net user: passt has to run beside QEMU)
# PROGRAM ARGS replace the arguments build.sh baked in.
set -euo pipefail

die() { echo "linux-guest: $*" >&2; exit 1; }

machine=microvm memory=256M cpu=max accel=tcg net= forwards=() append= timeout= print=0
positional=() program_args=() have_args=0
while [ $# -gt 0 ]; do
    case $1 in
    --machine) machine=${2:?}; shift 2 ;;
    -m) memory=${2:?}; shift 2 ;;
    --cpu) cpu=${2:?}; shift 2 ;;
    --accel) accel=${2:?}; shift 2 ;;
    --net) net=${2:?}; shift 2 ;;
    -p) forwards+=("${2:?}"); shift 2 ;;
    --append) append=${2?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --print) print=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; program_args=("$@"); have_args=1; break ;;
    *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -ge 2 ] || die "usage: run.sh [options] KERNEL INITRD [QEMU ARGS...] [-- PROGRAM ARGS...]"
kernel=${positional[0]} initrd=${positional[1]}
extra_qemu=("${positional[@]:2}")
[ -r "$kernel" ] || die "$kernel: no such kernel (bench/linux-guest/build.sh prints its path)"
[ -r "$initrd" ] || die "$initrd: no such initramfs (make one with bench/linux-guest/build.sh)"
case $machine in microvm | pc | q35) ;; *) die "--machine $machine: use microvm, pc or q35" ;; esac
case $accel in tcg | kvm) ;; *) die "--accel $accel: use tcg or kvm" ;; esac

qemu=(qemu-system-x86_64 -M "$machine")
if [ "$machine" != microvm ] && [ -f /usr/share/qemu/qboot.rom ]; then
    qemu+=(-bios /usr/share/qemu/qboot.rom)
fi
# What every Kiln boot shares (cli/src/qemu.rs, common_args).
qemu+=(-accel "$accel" -cpu "$cpu" -m "$memory" -nodefaults -no-user-config -display none
       -serial stdio -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4)
# The network, as cli/src/network.rs builds it.
if [ ${#forwards[@]} -gt 0 ] && [ -z "$net" ]; then net=user; fi
backend= device_mac= passt_dir= passt_pids=()
slirp_backend() {
    backend=user,id=net0
    for f in ${forwards[@]+"${forwards[@]}"}; do
        proto=tcp ports=$f
        case $f in */udp) proto=udp ports=${f%/udp} ;; */tcp) ports=${f%/tcp} ;; esac
        [[ $ports =~ ^[0-9]+:[0-9]+$ ]] || die "-p $f: write HOST:GUEST, with /udp for UDP"
        backend+=",hostfwd=$proto:127.0.0.1:${ports%%:*}-:${ports##*:}"
    done
}
stop_passt() {
    for pid in ${passt_pids[@]+"${passt_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
    [ -z "$passt_dir" ] || rm -rf "$passt_dir"
}
# One passt per family, as cli/src/usernet.rs starts them (there through socket pairs, here
# through sockets in a private directory; --one-off ends each when QEMU disconnects).
passt_backend() {
    command -v passt >/dev/null || die "--net user needs passt (./kiln doctor --install); or use --net slirp"
    [ $print = 0 ] || die "--print: passt has to run beside QEMU; use --net slirp or --net tap:NAME"
    passt_dir=$(mktemp -d "${TMPDIR:-/tmp}/linux-guest-passt.XXXXXX")
    local runas=() netdevs=() fam lo famargs spec h g proto ports
    if [ "$(id -u)" = 0 ]; then
        runas=(--runas 65534:65534)
        chown 65534:65534 "$passt_dir"
    fi
    for fam in 4 6; do
        if [ $fam = 4 ]; then
            lo=127.0.0.1 famargs=(--ipv4-only --address 10.0.2.15 --netmask 24 --gateway 10.0.2.2)
        else
            lo=::1 famargs=(--ipv6-only)
        fi
        local tcp=() udp=()
        for f in ${forwards[@]+"${forwards[@]}"}; do
            proto=tcp ports=$f
            case $f in */udp) proto=udp ports=${f%/udp} ;; */tcp) ports=${f%/tcp} ;; esac
            [[ $ports =~ ^[0-9]+:[0-9]+$ ]] || die "-p $f: write HOST:GUEST, with /udp for UDP"
            spec="$lo/${ports%%:*}:${ports##*:}"
            if [ $proto = udp ]; then udp+=(--udp-ports "$spec"); else tcp+=(--tcp-ports "$spec"); fi
        done
        [ ${#tcp[@]} -gt 0 ] || tcp=(--tcp-ports none)
        [ ${#udp[@]} -gt 0 ] || udp=(--udp-ports none)
        passt --foreground --quiet --one-off --socket "$passt_dir/passt$fam.sock" \
            --pid "$passt_dir/passt$fam.pid" ${runas[@]+"${runas[@]}"} \
            --mac-addr 52:54:00:12:34:56 --mtu 1500 "${famargs[@]}" "${tcp[@]}" "${udp[@]}" \
            </dev/null >/dev/null 2>"$passt_dir/passt$fam.log" &
        local pid=$! tries=0
        until [ -s "$passt_dir/passt$fam.pid" ]; do
            if ! kill -0 "$pid" 2>/dev/null; then
                if grep -q "External interface not usable" "$passt_dir/passt$fam.log"; then
                    echo "linux-guest: no IPv$fam default route: the user network goes without IPv$fam" >&2
                    continue 2
                fi
                die "passt (IPv$fam) failed: $(grep -v 'to syslog' "$passt_dir/passt$fam.log" | tail -1)"
            fi
            tries=$((tries + 1))
            [ $tries -lt 3000 ] || die "passt (IPv$fam) not ready after 30 s"
            sleep 0.01
        done
        passt_pids+=("$pid")
        netdevs+=("passt$fam")
    done
    [ ${#netdevs[@]} -gt 0 ] || die "no default route at all: passt cannot start; use --net slirp"
    if [ ${#netdevs[@]} = 1 ]; then
        qemu+=(-netdev "stream,id=net0,server=off,addr.type=unix,addr.path=$passt_dir/${netdevs[0]}.sock")
    else
        for id in "${netdevs[@]}"; do
            qemu+=(-netdev "stream,id=$id,server=off,addr.type=unix,addr.path=$passt_dir/$id.sock"
                   -netdev "hubport,id=$id-port,hubid=0,netdev=$id")
        done
        qemu+=(-netdev hubport,id=net0,hubid=0)
    fi
    device_mac=,mac=52:54:00:12:34:56
}
case $net in
"" | none) ;;
user) passt_backend ;;
slirp) slirp_backend ;;
tap:?*)
    [ ${#forwards[@]} -eq 0 ] || die "-p forwards ports through user networking, not a tap"
    backend="tap,id=net0,ifname=${net#tap:},script=no,downscript=no"
    ;;
*) die "--net $net: use user, slirp or tap:NAME" ;;
esac
if [ -n "$net" ] && [ "$net" != none ]; then
    device=virtio-net-pci
    [ "$machine" = microvm ] && device=virtio-net-device
    [ -z "$backend" ] || qemu+=(-netdev "$backend")
    qemu+=(-device "$device,netdev=net0$device_mac")
fi
# The kernel command line: the serial console, few kernel messages, a crash of /init ends
# the VM (panic=-1 reboots, -no-reboot turns that into QEMU's exit), then the user's words.
cmdline="console=ttyS0 quiet panic=-1"
# Under TCG the guest's TSC is the host's: tell Linux its rate. Without it a busy host often
# makes Linux's PIT calibration fail on microvm (no HPET or PM timer to fall back on), and the
# kernel hangs before init. Measured once per host boot (tsc-khz.c).
if [ "$accel" = tcg ]; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    cache=$root/target/linux-guest/tsc-khz.txt
    boot_id=$(cat /proc/sys/kernel/random/boot_id)
    if [ "$(sed -n 1p "$cache" 2>/dev/null)" != "$boot_id" ]; then
        [ -x "$root/target/linux-guest/tsc-khz" ] ||
            die "target/linux-guest/tsc-khz is missing: run bench/linux-guest/build.sh first"
        printf '%s\n%s\n' "$boot_id" "$("$root/target/linux-guest/tsc-khz")" >"$cache.$$"
        mv "$cache.$$" "$cache"
    fi
    cmdline+=" tsc_early_khz=$(sed -n 2p "$cache")"
fi
[ -n "$append" ] && cmdline+=" $append"
if [ $have_args = 1 ] && [ ${#program_args[@]} -gt 0 ]; then
    cmdline+=" --"
    for a in "${program_args[@]}"; do
        case $a in *'"'*) die "argument $a contains a double quote, which the kernel command line cannot carry" ;; esac
        if [[ $a =~ [[:space:]] || -z $a ]]; then cmdline+=" \"$a\""; else cmdline+=" $a"; fi
    done
fi
qemu+=(-kernel "$kernel" -initrd "$initrd" -append "$cmdline" ${extra_qemu[@]+"${extra_qemu[@]}"})

if [ $print = 1 ]; then
    printf '%q ' "${qemu[@]}"
    echo
    exit 0
fi

log=$(mktemp "${TMPDIR:-/tmp}/linux-guest-console.XXXXXX")
trap 'rm -f "$log"; stop_passt' EXIT
if [ -n "$timeout" ]; then
    # --foreground keeps QEMU in this script's process group, so a signal to the group
    # (a test cleaning up, Ctrl-C) reaches it.
    qemu=(timeout --foreground -k 1 "$timeout" "${qemu[@]}")
fi
set +e
"${qemu[@]}" | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e
if [ -n "$timeout" ] && [ "$qemu_status" = 124 ]; then
    echo "linux-guest: timed out after $timeout s; QEMU was killed" >&2
    exit 124
fi
status=$(tr -d '\r' <"$log" | sed -n 's/^kiln: exit status \([0-9]*\)$/\1/p' | tail -1)
if [ -n "$status" ]; then
    exit "$status"
fi
if [ $((qemu_status % 2)) = 1 ] && [ "$qemu_status" -gt 1 ]; then
    exit $((qemu_status >> 1))
fi
echo "linux-guest: QEMU exited with code $qemu_status without the guest reporting an exit status" >&2
exit 1
