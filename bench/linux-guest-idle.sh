#!/usr/bin/env bash
# bench/linux-guest-idle.sh: host CPU used by an idle guest, Kiln vs the Linux guest of
# bench/linux-guest/, same QEMU flags (run.sh's), with QEMU's slirp user networking (run.sh
# --net slirp: the QEMU process is all there is to measure). The program is
# tests/programs/net_idle (sleeps in nanosleep); its Linux twin is a static host build of the
# same source. After SETTLE seconds (boot, DHCP; 8 s: the Linux guest boots in ~2-3 s) the
# QEMU process's utime + stime is read from /proc over WINDOW seconds (default 10).
# Usage: bench/linux-guest-idle.sh [WINDOW]
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
window=${1:-10}
settle=8
out=target/kiln-bench/linux-guest
mkdir -p "$out"
./kiln build tests/programs -B target/kiln-tests/programs >/dev/null 2>&1
image=target/kiln-tests/programs/net_idle
cc=$(./kiln config --cc)
eval "$cc $(./kiln config --cflags) -O2 -c tests/programs/net_idle.c -o $out/net_idle.o"
./kiln link --host -o "$out/net_idle" "$out/net_idle.o"
{ read -r kernel; read -r initrd; } < <(bench/linux-guest/build.sh -o "$out/net_idle.cpio.gz" "$out/net_idle")
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # LABEL COMMAND...
    local label=$1
    shift
    "$@" </dev/null >"$out/idle-console.txt" 2>&1 &
    local pid=$!
    sleep "$settle"
    local t0 t1
    t0=$(ticks "$pid")
    sleep "$window"
    t1=$(ticks "$pid")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -q 'net: eth0 10.0.2.15' "$out/idle-console.txt" ||
        { echo "$label: no address:" >&2; cat "$out/idle-console.txt" >&2; exit 1; }
    awk -v l="$label" -v d=$((t1 - t0)) -v hz="$hz" -v w="$window" \
        'BEGIN { printf "| %s | %.2f%% of a core (%d ticks in %d s) |\n", l, 100 * d / hz / w, d, w }'
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo
echo "| guest | host CPU while idle |"
echo "|---|---|"
stay=$((settle + window + 10))
for machine in microvm q35; do
    linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" --net slirp "$kernel" "$initrd" -- "$stay")
    eval "linux=($linux_cmd)"
    kiln_command "$image" "kiln.argv0=net_idle -- $stay" "${linux[@]}"
    measure "Kiln, $machine, user networking" "${KILN_CMD[@]}"
    measure "Linux guest, $machine, user networking" "${linux[@]}"
done
