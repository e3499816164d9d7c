#!/usr/bin/env bash
# bench/http.sh: HTTP requests per second and host CPU per request under wrk, for
#   - examples-c/http-hello as a Kiln image,
#   - examples-cpp/http-callback (the kiln/os.hpp event API) as a Kiln image,
#   - the same http-hello source as a static binary in the Linux guest of bench/linux-guest/,
# all with identical QEMU flags (run.sh's, which are `kiln run`'s), on a tap device in a
# private network namespace this script creates (10.80.0.0/24; nothing leaves it). Needs root.
#
# For each server: boot with a static address, wait for its listening line, warm up with one
# curl and a 2 s wrk run, then `wrk -t2 -c100 -d SECS s` (default 10) from inside the
# namespace. Reported: requests/s, wrk's latency, and the QEMU process's CPU time (utime +
# stime from /proc, so wrk's own CPU is excluded) over the measured run divided by the
# requests. A run with any socket error or non-2xx answer stops the script. wrk runs on the
# same host cores as QEMU, the same way for every guest.
# Usage: bench/http.sh [SECS] [MACHINE]   (MACHINE: microvm (default), pc, q35)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
secs=${1:-10}
machine=${2:-microvm}
[ "$(id -u)" = 0 ] || die "needs root (network namespace, tap)"
for tool in wrk curl ip; do command -v $tool >/dev/null || die "$tool missing: run ./kiln doctor --install"; done
out=target/kiln-bench/http
mkdir -p "$out"
ns=kiln-http-bench-$$
tap=hbtap0

./kiln build examples-c/http-hello >/dev/null 2>&1 || die "building examples-c/http-hello failed"
./kiln build examples-cpp/http-callback >/dev/null 2>&1 || die "building examples-cpp/http-callback failed"
hello_image=examples-c/http-hello/build-kiln/http-hello
callback_image=examples-cpp/http-callback/build-kiln/http-callback
host_twin examples-c/http-hello/http-hello.c "$out/http-hello" 80

bench_netns "$ns" "$tap" 10.80.0

hz=$(getconf CLK_TCK)

# measure LABEL READY-LINE URL QEMU COMMAND...
measure() {
    local label=$1 ready=$2 url=$3
    shift 3
    ip netns exec "$ns" "$@" </dev/null >"$out/console.txt" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q "$ready" "$out/console.txt" && grep -q 'kiln: net: eth0 10.80.0.2' "$out/console.txt" && break
        sleep 0.1
    done
    grep -q "$ready" "$out/console.txt" ||
        { echo "$label: the server did not start:" >&2; cat "$out/console.txt" >&2; exit 1; }
    ip netns exec "$ns" curl -sS --max-time 20 -o /dev/null "$url" || die "$label: curl $url failed"
    ip netns exec "$ns" wrk -t2 -c100 -d2s "$url" >/dev/null
    local t0 t1 report
    t0=$(ticks "$pid")
    report=$(ip netns exec "$ns" wrk -t2 -c100 -d"${secs}s" "$url")
    t1=$(ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
    echo "$report" >"$out/wrk-${label//[^A-Za-z0-9]/_}.txt"
    if grep -q -e 'Socket errors' -e 'Non-2xx' <<<"$report"; then
        echo "$label: wrk reported errors:" >&2; echo "$report" >&2; exit 1
    fi
    local requests rps latency
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$report")
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$report")
    latency=$(awk '$1 == "Latency" {print $2; exit}' <<<"$report")
    awk -v l="$label" -v r="$rps" -v lat="$latency" -v n="$requests" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "| %s | %.0f | %s | %.1f us |\n", l, r, lat, d / hz * 1e6 / n }'
}

linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" --net "tap:$tap" --append "$NET" "$KERNEL" "$INITRD")
eval "linux=($linux_cmd)"
kiln_command "$hello_image" "kiln.argv0=http-hello $NET" "${linux[@]}"
hello=("${KILN_CMD[@]}")
kiln_command "$callback_image" "kiln.argv0=http-callback PORT=80 $NET" "${linux[@]}"
callback=("${KILN_CMD[@]}")

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "QEMU: TCG, -M $machine, tap in a private namespace; client: wrk -t2 -c100 -d${secs}s on the same host"
echo
echo "| server | requests/s | mean latency | QEMU CPU per request |"
echo "|---|---|---|---|"
measure "http-hello, Kiln ($machine)" 'http-hello: listening on port 80' http://10.80.0.2/ "${hello[@]}"
measure "http-callback, Kiln ($machine)" 'listening on \[::\]:80' http://10.80.0.2/hello "${callback[@]}"
measure "http-hello, Linux guest ($machine)" 'http-hello: listening on port 80' http://10.80.0.2/ "${linux[@]}"
