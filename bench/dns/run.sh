#!/usr/bin/env bash
# bench/dns/run.sh: dnsperf against examples-cpp/dns-server as (a) a Kiln image with the event
# front end, (b) a Kiln image with the POSIX front end, both booted by `./kiln run` with the
# same flags on a tap device in a private network namespace (QEMU TCG here), and (d) the
# POSIX front end natively, on the namespace's loopback. Needs root (namespace, tap) and
# dnsperf (`./kiln doctor --install`). Traffic stays inside the namespace it creates.
#
# For each: the highest rate (stepped) that dnsperf answers with zero loss; the qemu (or
# server) process's host CPU seconds per 100,000 queries at a fixed rate; p50/p99 latency at
# that rate (from dnsperf -v); the image size; launch -> first answer.
# Usage: bench/dns/run.sh [SECONDS_PER_STEP] [FIXED_QPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
step_secs=${1:-5}
fixed_qps=${2:-2000}
steps="500 1000 2000 3000 4000 6000 8000 12000 16000 24000 32000"
[ "$(id -u)" = 0 ] || { echo "bench/dns/run.sh needs root (network namespace and tap)"; exit 1; }
for t in dnsperf dig ip; do
    command -v "$t" >/dev/null || { echo "$t not found: run ./kiln doctor --install"; exit 1; }
done

out=target/kiln-bench/dns
mkdir -p "$out"
./kiln build examples-cpp/dns-server -B "$out/event" >/dev/null 2>&1
cmake -S examples-cpp/dns-server -B "$out/posix" -DDNS_FRONTEND=posix \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/kiln.cmake" >/dev/null
cmake --build "$out/posix" >/dev/null
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

queries="$out/queries.txt"
printf '%s\n' "www.kiln.test A" "www.kiln.test AAAA" "kiln.test MX" "kiln.test SOA" \
    "nope.kiln.test A" "kiln.test NS" "kiln.test TXT" "mail.kiln.test A" >"$queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# dnsperf at `rate` for `secs`: prints "sent lost"
perf() { # server rate secs
    inns dnsperf -s "$1" -d "$queries" -Q "$2" -l "$3" -t 1 -q 2000 2>/dev/null |
        awk '/Queries sent:/ {s=$3} /Queries lost:/ {l=$3} END {print s, l}'
}

measure() { # label server pid
    local label=$1 server=$2 pid=$3 best=0
    for rate in $steps; do
        read -r sent lost < <(perf "$server" "$rate" "$step_secs")
        if [ "${lost:-1}" != 0 ] || [ "${sent:-0}" = 0 ]; then break; fi
        best=$rate
    done
    local before after n
    before=$(cpu_ticks "$pid")
    inns dnsperf -s "$server" -d "$queries" -Q "$fixed_qps" -l 10 -t 1 -v 2>/dev/null >"$out/$label.fixed"
    after=$(cpu_ticks "$pid")
    n=$(awk '/Queries completed:/ {print $3}' "$out/$label.fixed")
    local cpu p50 p99
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.2f", t / hz / n * 100000}')
    read -r p50 p99 < <(awk '/^> / {print $NF * 1e6}' "$out/$label.fixed" | sort -n |
        awk '{v[NR]=$1} END {printf "%d %d\n", v[int(NR*0.5)], v[int(NR*0.99)]}')
    printf '| %s | %s | %s | %s | %s |' "$label" "$best" "$cpu" "$p50" "$p99"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "dnsperf $(dpkg-query -W -f="\${Version}" dnsperf 2>/dev/null); steps of ${step_secs}s: $steps; fixed rate ${fixed_qps} qps for 10 s"
echo
echo "| setup | highest qps, 0 loss | host CPU s / 100k queries | p50 us | p99 us | image (stripped) | launch -> first answer |"
echo "|---|---|---|---|---|---|---|"
for fe in event posix; do
    image="$out/$fe/dns-server"
    strip -o "$out/$fe.stripped" "$image"
    size=$(stat -c %s "$out/$fe.stripped")
    start=$(date +%s%N)
    inns ./kiln run --net "tap:$tap" --timeout 900 --append "kiln.ip=10.78.0.2/24 kiln.slaac=off kiln.quiet" \
        "$image" >"$out/$fe.console" 2>&1 &
    first=""
    for _ in $(seq 1 600); do
        if inns dig @10.78.0.2 +time=1 +tries=1 +short kiln.test SOA >/dev/null 2>&1; then
            first=$(( ($(date +%s%N) - start) / 1000000 ))
            break
        fi
        sleep 0.05
    done
    [ -n "$first" ] || { echo "the $fe image did not answer:"; cat "$out/$fe.console"; exit 1; }
    qemu=$(for p in $(ip netns pids "$ns"); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"; done | head -1)
    row=$(measure "kiln-$fe" 10.78.0.2 "$qemu")
    echo "$row $size B | $first ms |"
    for p in $(ip netns pids "$ns"); do kill "$p" 2>/dev/null || true; done
    sleep 1
done
start=$(date +%s%N)
inns "$out/native/dns-server" -a 127.0.0.1 -p 53 --quiet &
sleep 0.2
first=$(( ($(date +%s%N) - start) / 1000000 ))
native=$(for p in $(ip netns pids "$ns"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = dns-server ] && echo "$p"; done | head -1)
row=$(measure "native-posix" 127.0.0.1 "$native")
echo "$row $(stat -c %s "$out/native/dns-server") B (dynamic) | < ${first} ms |"
