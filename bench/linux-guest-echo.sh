#!/usr/bin/env bash
# bench/linux-guest-echo.sh: UDP echo round trips per second and host CPU per round trip,
# examples-c/udp-echo as a Kiln image vs the same source as a static binary in the Linux
# guest of bench/linux-guest/, under identical QEMU flags (run.sh's, which are `kiln run`'s),
# on a tap device in a private network namespace this script creates (10.79.0.0/24; nothing
# leaves it). Needs root.
#
# For each guest: boot with a static address, wait for the server, then a Python client in
# the namespace sends one 64-byte datagram at a time and waits for its echo, for SECS seconds
# (default 10). Reported: round trips/s, the median round-trip time, and the QEMU process's
# CPU time (utime + stime from /proc) over the window divided by the round trips.
# Usage: bench/linux-guest-echo.sh [SECS] [MACHINE]   (MACHINE: microvm (default), pc, q35)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
secs=${1:-10}
machine=${2:-microvm}
[ "$(id -u)" = 0 ] || { echo "linux-guest-echo: needs root (network namespace, tap)" >&2; exit 1; }
out=target/kiln-bench/linux-guest
mkdir -p "$out"
ns=kiln-echo-bench-$$
tap=ebtap0

./kiln build examples-c/udp-echo >/dev/null 2>&1
image=examples-c/udp-echo/build-kiln/udp-echo
host_twin examples-c/udp-echo/udp-echo.c "$out/udp-echo" 7

bench_netns "$ns" "$tap" 10.79.0

client='
import socket, sys, time
secs = float(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
dst = ("10.79.0.2", 7); msg = b"x" * 64
for _ in range(200):                 # warm up (ARP, caches)
    u.sendto(msg, dst); u.recvfrom(2048)
rtts = []; end = time.monotonic() + secs
while time.monotonic() < end:
    t0 = time.perf_counter_ns(); u.sendto(msg, dst); u.recvfrom(2048)
    rtts.append(time.perf_counter_ns() - t0)
rtts.sort()
print(len(rtts), rtts[len(rtts) // 2] // 1000)
u.sendto(b"quit", dst)
'
hz=$(getconf CLK_TCK)

measure() { # LABEL QEMU COMMAND...
    local label=$1
    shift
    ip netns exec "$ns" "$@" </dev/null >"$out/echo-console.txt" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q 'udp-echo: listening' "$out/echo-console.txt" && break
        sleep 0.1
    done
    grep -q 'udp-echo: listening' "$out/echo-console.txt" ||
        { echo "$label: the server did not start:" >&2; cat "$out/echo-console.txt" >&2; exit 1; }
    local t0 t1 n rtt
    t0=$(ticks "$pid")
    read -r n rtt < <(ip netns exec "$ns" python3 -c "$client" "$secs")
    t1=$(ticks "$pid")
    wait "$pid" || true
    pid=
    awk -v l="$label" -v n="$n" -v s="$secs" -v r="$rtt" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "| %s | %d | %d us | %.1f us |\n", l, n / s, r, d / hz * 1e6 / n }'
}

linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" --net "tap:$tap" --append "$NET" "$KERNEL" "$INITRD")
eval "linux=($linux_cmd)"
kiln_command "$image" "kiln.argv0=udp-echo kiln.quiet $NET -- 7" "${linux[@]}"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "QEMU: TCG, -M $machine, tap in a private namespace; client: Python, one 64-byte datagram in flight, ${secs} s"
echo
echo "| guest | round trips/s | median RTT | QEMU CPU per round trip |"
echo "|---|---|---|---|"
measure "Kiln ($machine)" "${KILN_CMD[@]}"
measure "Linux guest ($machine)" "${linux[@]}"
