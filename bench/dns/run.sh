#!/usr/bin/env bash
# bench/dns/run.sh: dnsperf against examples-cpp/dns-server in four setups:
#   (a) a Kiln image with the event front end,
#   (b) a Kiln image with the POSIX front end,
#   (c) the POSIX front end as a static Linux executable (musl + libc++, `kiln link --host`)
#       in the Linux guest of bench/linux-guest/ (Debian's cloud kernel + busybox initramfs),
#   (d) the POSIX front end natively on the host (g++, Release), on the namespace's loopback.
# (a), (b) and (c) run under one QEMU command (bench/linux-guest/run.sh --print's, which is
# `kiln run`'s; only -kernel, -initrd and -append differ) on a tap device in a private network
# namespace this script creates (10.78.0.0/24; nothing leaves it), static addresses.
# Needs root (namespace, tap), dnsperf and the Linux guest's packages (`./kiln doctor --install`).
#
# For each: the highest rate (stepped) that dnsperf answers with zero loss; the qemu (or
# server) process's host CPU seconds per 100,000 queries at a fixed rate; p50/p99 latency at
# that rate (from dnsperf -v); the booted size; QEMU launch -> first answer. Ratios to (c).
# Pick a FIXED_QPS every setup answers without loss (the "lost" column says), or the CPU
# figure of a saturated setup means little. Results: bench/RESULTS.md.
# Usage: bench/dns/run.sh [SECONDS_PER_STEP] [FIXED_QPS] [MACHINE]   (defaults: 5 1000 microvm)
set -euo pipefail
cd "$(dirname "$0")/../.."
die() { echo "bench/dns: $*" >&2; exit 1; }
# shellcheck source=../linux-guest/lib.sh
. bench/linux-guest/lib.sh
step_secs=${1:-5}
fixed_qps=${2:-1000}
machine=${3:-microvm}
steps="500 1000 2000 3000 4000 6000 8000 12000 16000 24000 32000"
[ "$(id -u)" = 0 ] || die "needs root (network namespace and tap)"
for t in dnsperf dig ip; do
    command -v "$t" >/dev/null || die "$t not found: run ./kiln doctor --install"
done

out=target/kiln-bench/dns
mkdir -p "$out"
# (a), (b): the images.
./kiln build examples-cpp/dns-server -B "$out/event" >/dev/null 2>&1
cmake -S examples-cpp/dns-server -B "$out/posix" -DDNS_FRONTEND=posix \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/kiln.cmake" >/dev/null
cmake --build "$out/posix" >/dev/null
# (c): the POSIX front end as a static Linux executable, the same compiler and flags as the
# images (kiln config), musl + libc++ + libc-shim, packed into the Linux guest's initramfs.
cc=$(./kiln config --cc)
cxxflags=$(./kiln config --cxxflags)
objects=()
for s in dns/name dns/wire dns/zone dns/zone_parser dns/responder dns/demo_zone \
    frontend/common frontend/posix_main; do
    o=$out/linux-$(basename "$s").o
    eval "$cc $cxxflags -std=c++17 -O2 -I examples-cpp/dns-server/src -c examples-cpp/dns-server/src/$s.cpp -o $o"
    objects+=("$o")
done
./kiln link --host --cxx -o "$out/linux-dns-server" "${objects[@]}" >/dev/null
{ read -r kernel; read -r initrd; } < <(bench/linux-guest/build.sh -o "$out/dns-server.cpio.gz" \
    "$out/linux-dns-server" -- -p 53 --quiet)
# (d): native.
cmake -S examples-cpp/dns-server -B "$out/native" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/native" >/dev/null

ns=kiln-dnsbench-$$
tap=kdnsb0
cleanup() {
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$tap" mode tap
ip -n "$ns" addr add 10.78.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up
inns() { ip netns exec "$ns" "$@"; }
net="kiln.ip=10.78.0.2/24 kiln.gw=10.78.0.1 kiln.slaac=off"

linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" --net "tap:$tap" --append "$net" \
    "$kernel" "$initrd")
eval "linux=($linux_cmd)"
kiln_command "$out/event/dns-server" "kiln.argv0=dns-server kiln.quiet $net -- --quiet" "${linux[@]}"
event_cmd=("${KILN_CMD[@]}")
kiln_command "$out/posix/dns-server" "kiln.argv0=dns-server kiln.quiet $net -- --quiet" "${linux[@]}"
posix_cmd=("${KILN_CMD[@]}")

queries="$out/queries.txt"
printf '%s\n' "www.kiln.test A" "www.kiln.test AAAA" "kiln.test MX" "kiln.test SOA" \
    "nope.kiln.test A" "kiln.test NS" "kiln.test TXT" "mail.kiln.test A" >"$queries"

# first_answer SERVER START_NS: waits for the first answer of SERVER:53 to a query sent
# every 10 ms (dig's shortest timeout, 1 s, would round the figure up to a second) and prints
# the milliseconds since START_NS (date +%s%N), or nothing after 120 s.
probe='
import socket, sys, time
server, start = sys.argv[1], int(sys.argv[2])
query = bytes.fromhex("abcd00000001000000000000046b696c6e04746573740000060001")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.01)
end = time.time() + 120
while time.time() < end:
    try:  # sending can fail or block while the guest does not answer ARP yet
        s.sendto(query, (server, 53))
        if s.recv(512)[:2] == query[:2]:
            print((time.time_ns() - start) // 1000000)
            break
    except OSError:
        pass
'
first_answer() { inns python3 -c "$probe" "$@"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# dnsperf at `rate` for `secs`: prints "sent lost"
perf() { # server rate secs
    inns dnsperf -s "$1" -d "$queries" -Q "$2" -l "$3" -t 1 -q 2000 2>/dev/null |
        awk '/Queries sent:/ {s=$3} /Queries lost:/ {l=$3} END {print s, l}'
}

# Prints "best cpu p50 p99 lost" for the server at `server` whose process is `pid`.
measure() { # label server pid
    local label=$1 server=$2 pid=$3 best=0
    for rate in $steps; do
        read -r sent lost < <(perf "$server" "$rate" "$step_secs")
        if [ "${lost:-1}" != 0 ] || [ "${sent:-0}" = 0 ]; then break; fi
        best=$rate
    done
    local before after n lost
    before=$(cpu_ticks "$pid")
    inns dnsperf -s "$server" -d "$queries" -Q "$fixed_qps" -l 10 -t 1 -v 2>/dev/null >"$out/$label.fixed"
    after=$(cpu_ticks "$pid")
    n=$(awk '/Queries completed:/ {print $3}' "$out/$label.fixed")
    lost=$(awk '/Queries lost:/ {print $3}' "$out/$label.fixed")
    local cpu p50 p99
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.2f", t / hz / n * 100000}')
    read -r p50 p99 < <(awk '/^> / {print $NF * 1e6}' "$out/$label.fixed" | sort -n |
        awk '{v[NR]=$1} END {printf "%d %d\n", v[int(NR*0.5)], v[int(NR*0.99)]}')
    echo "$best $cpu $p50 $p99 $lost"
}

# Boots a guest with COMMAND... in the namespace and measures it; sets ROW to
# "best cpu p50 p99 lost first_ms".
guest() { # label command...
    local label=$1 start first qemu
    shift
    start=$(date +%s%N)
    # Not through inns: `ip netns exec` execs QEMU, so $! is QEMU's pid.
    ip netns exec "$ns" "$@" </dev/null >"$out/$label.console" 2>&1 &
    qemu=$!
    first=$(first_answer 10.78.0.2 "$start")
    [ -n "$first" ] || { echo "$label did not answer:" >&2; cat "$out/$label.console" >&2; exit 1; }
    ROW="$(measure "$label" 10.78.0.2 "$qemu") $first"
    kill "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
    sleep 1
}

strip -o "$out/event.stripped" "$out/event/dns-server"
strip -o "$out/posix.stripped" "$out/posix/dns-server"
size_a="$(stat -c %s "$out/event.stripped") B (stripped image)"
size_b="$(stat -c %s "$out/posix.stripped") B (stripped image)"
size_c="$(( $(stat -L -c %s "$kernel") + $(stat -c %s "$initrd") )) B (kernel + initramfs)"
size_d="$(stat -c %s "$out/native/dns-server") B (dynamic executable)"

guest kiln-event "${event_cmd[@]}"
row_a=$ROW
echo "(a) $row_a" >&2
guest kiln-posix "${posix_cmd[@]}"
row_b=$ROW
echo "(b) $row_b" >&2
guest linux-guest "${linux[@]}"
row_c=$ROW
echo "(c) $row_c" >&2
start=$(date +%s%N)
ip netns exec "$ns" "$out/native/dns-server" -a 127.0.0.1 -p 53 --quiet &
native=$!
first=$(first_answer 127.0.0.1 "$start")
row_d="$(measure native 127.0.0.1 "$native") $first"
echo "(d) $row_d" >&2
kill "$native" 2>/dev/null || true

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "QEMU: TCG, -M $machine, $(basename "$kernel") for (c); dnsperf $(dpkg-query -W -f="\${Version}" dnsperf 2>/dev/null)"
echo "steps of ${step_secs}s: $steps; fixed rate ${fixed_qps} qps for 10 s"
echo "QEMU command of (c): ${linux[*]}"
echo
echo "| setup | highest qps, 0 loss | host CPU s / 100k queries | p50 us | p99 us | lost at ${fixed_qps} qps | booted size | launch -> first answer | qps / (c) | CPU / (c) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
read -r _ c_best c_cpu _ <<<"x $row_c"
row() { # label size best cpu p50 p99 lost first
    awk -v l="$1" -v s="$2" -v b="$3" -v c="$4" -v p50="$5" -v p99="$6" -v lost="$7" -v f="$8" \
        -v cb="$c_best" -v cc="$c_cpu" 'BEGIN {
        printf "| %s | %d | %.2f | %d | %d | %d | %s | %d ms | %s | %s |\n", l, b, c, p50, p99, lost, s, f,
            (cb > 0 ? sprintf("%.2fx", b / cb) : "-"), (cc > 0 ? sprintf("%.2fx", c / cc) : "-") }'
}
# shellcheck disable=SC2086
row "(a) Kiln, event front end" "$size_a" $row_a
# shellcheck disable=SC2086
row "(b) Kiln, POSIX front end" "$size_b" $row_b
# shellcheck disable=SC2086
row "(c) Linux guest, POSIX front end" "$size_c" $row_c
# shellcheck disable=SC2086
row "(d) native on the host, POSIX front end" "$size_d" $row_d
