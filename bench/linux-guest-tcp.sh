#!/usr/bin/env bash
# bench/linux-guest-tcp.sh: TCP throughput and host CPU per MiB, examples-c/tcp-echo as a
# Kiln image vs the same source as a static binary in the Linux guest of bench/linux-guest/,
# under identical QEMU flags (run.sh's, which are `kiln run`'s), on a tap device in a private
# network namespace this script creates (10.79.1.0/24; nothing leaves it). Needs root.
#
# For each guest: boot with a static address, wait for the server, warm up with 8 MiB, then
# tests/clients/echo_client.py `bulk` sends MIB MiB (default 200) over one connection and reads
# the echo at the same time, checking its sha256: the data crosses the tap once each way,
# both directions at once. Reported: MiB/s each way (MIB / the client's time from connect to
# the last byte echoed), and the QEMU process's CPU time (utime + stime from /proc) over the
# client's run divided by MIB (each MiB counted once: it is received and sent back).
# Usage: bench/linux-guest-tcp.sh [MIB] [MACHINE]   (MACHINE: microvm (default), pc, q35;
# virtio-net: the Linux guest's initramfs carries the virtio modules only)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
mib=${1:-200}
machine=${2:-microvm}
[ "$(id -u)" = 0 ] || { echo "linux-guest-tcp: needs root (network namespace, tap)" >&2; exit 1; }
out=target/kiln-bench/linux-guest
mkdir -p "$out"
ns=kiln-tcp-bench-$$
tap=tbtap0

./kiln build examples-c/tcp-echo >/dev/null 2>&1
image=examples-c/tcp-echo/build-kiln/tcp-echo
host_twin examples-c/tcp-echo/tcp-echo.c "$out/tcp-echo" 7

bench_netns "$ns" "$tap" 10.79.1
client=tests/clients/echo_client.py

hz=$(getconf CLK_TCK)

measure() { # LABEL QEMU COMMAND...
    local label=$1
    shift
    ip netns exec "$ns" "$@" </dev/null >"$out/tcp-console.txt" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q 'tcp-echo: listening' "$out/tcp-console.txt" && break
        sleep 0.1
    done
    grep -q 'tcp-echo: listening' "$out/tcp-console.txt" ||
        { echo "$label: the server did not start:" >&2; cat "$out/tcp-console.txt" >&2; exit 1; }
    ip netns exec "$ns" python3 "$client" bulk 10.79.1.2 7 8 >/dev/null ||
        { echo "$label: the warm-up transfer failed" >&2; exit 1; }
    local t0 t1 result secs
    t0=$(ticks "$pid")
    result=$(ip netns exec "$ns" python3 "$client" bulk 10.79.1.2 7 "$mib") ||
        { echo "$label: $result" >&2; exit 1; }
    t1=$(ticks "$pid")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    # "tcp N MiB each way, equal sha256: True in 12.3s (...)": the client's own clock, from
    # connect to the last byte back (not Python's start-up and the random data).
    secs=$(sed -n 's/.* in \([0-9.]*\)s .*/\1/p' <<<"$result")
    awk -v l="$label" -v m="$mib" -v s="$secs" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "| %s | %.1f MiB/s | %.1f s | %.1f ms |\n", l, m / s, d / hz, d / hz * 1000 / m }'
}

linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" --net "tap:$tap" --append "$NET" "$KERNEL" "$INITRD")
eval "linux=($linux_cmd)"
kiln_command "$image" "kiln.argv0=tcp-echo $NET -- 7" "${linux[@]}"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "QEMU: TCG, -M $machine, virtio-net, tap in a private namespace; client: tests/clients/echo_client.py bulk, $mib MiB each way on one connection"
echo
echo "| guest | each way | QEMU CPU over the transfer | QEMU CPU per MiB |"
echo "|---|---|---|---|"
measure "Kiln ($machine)" "${KILN_CMD[@]}"
measure "Linux guest ($machine)" "${linux[@]}"
