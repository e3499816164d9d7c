#!/usr/bin/env bash
# bench/idle.sh: host CPU used by an idle guest, with and without a network.
#
# Boots tests/programs/net_idle (which sleeps in nanosleep; the runtime serves the network
# meanwhile) under QEMU TCG, lets it settle (boot, DHCP, SLAAC) for SETTLE seconds, then reads
# the QEMU process's utime+stime from /proc/PID/stat over WINDOW seconds (default 10) and
# prints it as a percentage of one host core. Networks: none; QEMU's slirp user networking
# (`kiln run --net slirp`; DHCP from QEMU, virtio-net-device on microvm / virtio-net-pci and
# e1000 on q35). passt, `kiln run`'s default user network, runs as processes of its own and is
# not counted here.
# Usage: bench/idle.sh [WINDOW]
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-10}
settle=3
./kiln build tests/programs -B target/kiln-tests/programs >/dev/null 2>&1
img=target/kiln-tests/programs/net_idle
hz=$(getconf CLK_TCK)
qemu_base=(qemu-system-x86_64 -accel tcg -cpu max -m 256M -nodefaults -no-user-config
           -display none -serial file:/tmp/kiln-idle-console.txt -monitor none -no-reboot
           -device isa-debug-exit,iobase=0xf4,iosize=4)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # NAME MACHINE [NETDEV ARGS...]
    local name=$1 machine=$2; shift 2
    local bios=()
    [ "$machine" != microvm ] && bios=(-bios /usr/share/qemu/qboot.rom)
    "${qemu_base[@]}" -M "$machine" "${bios[@]}" "$@" -kernel "$img" \
        -append "kiln.argv0=net_idle -- $((settle + window + 5))" </dev/null >/dev/null 2>&1 &
    local pid=$!
    sleep "$settle"
    local t0; t0=$(ticks "$pid")
    sleep "$window"
    local t1; t1=$(ticks "$pid")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local got; got=$(grep -c "net: eth0" /tmp/kiln-idle-console.txt || true)
    awk -v n="$name" -v d=$((t1 - t0)) -v hz="$hz" -v w="$window" -v a="$got" \
        'BEGIN { printf "%-34s %8.2f%% of a core (%d ticks in %d s; %d address lines)\n", n, 100 * d / hz / w, d, w, a }'
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "window: ${window} s after ${settle} s to settle, TCG"
measure "microvm, no network" microvm
measure "microvm, user net (virtio-mmio)" microvm -netdev user,id=n0 -device virtio-net-device,netdev=n0
measure "q35, user net (virtio-pci)" q35 -netdev user,id=n0 -device virtio-net-pci,netdev=n0
measure "q35, user net (e1000)" q35 -netdev user,id=n0 -device e1000,netdev=n0
