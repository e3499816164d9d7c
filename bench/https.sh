#!/usr/bin/env bash
# bench/https.sh: TLS 1.3 handshakes per second (X25519 key exchange, ECDSA P-256
# certificate) and HTTPS requests per second on kept-alive connections, with the host CPU
# each costs, for
#   - examples-c/https-hello as a Kiln image (OpenSSL 3 from `kiln pkg`),
#   - the very same image file as the program of the Linux guest of bench/linux-guest/ (a
#     Kiln image is also a static Linux executable: there its code runs on Linux's kernel),
# with identical QEMU flags (run.sh's, which are `kiln run`'s), on a tap device in a private
# network namespace this script creates (10.81.0.0/24; nothing leaves it). Needs root.
#
# For each server: boot with a static address and the certificate in its files, wait for
# its listening line, warm up (one curl, 2 s of each client), then
#   handshakes: PAR parallel `openssl s_time -new -tls1_3 -time SECS` (each a full TLS 1.3
#               handshake per connection, no request), summed;
#   requests:   `wrk -t2 -c50 -d SECS s` over 50 kept-alive TLS connections.
# Reported: the rate, and the QEMU process's CPU time (utime + stime from /proc: the
# clients' own CPU is excluded) over the measured run divided by the handshakes or requests.
# The clients run on the same host cores as QEMU, the same way for both guests.
# Usage: bench/https.sh [SECS] [MACHINE] [PAR]   (defaults 10, microvm, 4)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
secs=${1:-10}
machine=${2:-microvm}
par=${3:-4}
[ "$(id -u)" = 0 ] || die "needs root (network namespace, tap)"
for tool in wrk curl ip openssl; do command -v $tool >/dev/null || die "$tool missing: run ./kiln doctor --install"; done
out=target/kiln-bench/https
rm -rf "$out" && mkdir -p "$out/files/etc/https-hello"
ns=kiln-https-bench-$$
tap=hsbtap0

./kiln pkg build openssl >/dev/null || die "kiln pkg build openssl failed"
./kiln build examples-c/https-hello >/dev/null 2>&1 || die "building examples-c/https-hello failed"
image=examples-c/https-hello/build-kiln/https-hello

# An ECDSA P-256 certificate for the guest's address, signed by a CA of this run.
(
    cd "$out"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=Kiln bench CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=10.81.0.2" \
        -keyout files/etc/https-hello/key.pem -out server.csr 2>/dev/null
    echo "subjectAltName=IP:10.81.0.2" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out files/etc/https-hello/cert.pem 2>/dev/null
)
{ read -r KERNEL; read -r INITRD; } < <(bench/linux-guest/build.sh -o "$out/linux-guest.cpio.gz" \
    --files "$out/files" "$image" -- -q)

bench_netns "$ns" "$tap" 10.81.0
hz=$(getconf CLK_TCK)
url=https://10.81.0.2/

# handshakes LABEL: PAR s_time clients for SECS seconds; prints the row.
handshakes() {
    local label=$1 t0 t1 i n total=0
    # Each loop waits for its own clients only: a bare `wait` would wait for QEMU too.
    local clients=()
    for i in $(seq "$par"); do
        ip netns exec "$ns" openssl s_time -connect 10.81.0.2:443 -new -tls1_3 -time 2 \
            >/dev/null 2>&1 &
        clients+=($!)
    done
    wait "${clients[@]}"
    clients=()
    t0=$(ticks "$pid")
    for i in $(seq "$par"); do
        ip netns exec "$ns" openssl s_time -connect 10.81.0.2:443 -new -tls1_3 -time "$secs" \
            >"$out/s_time-$i.txt" 2>&1 &
        clients+=($!)
    done
    wait "${clients[@]}"
    t1=$(ticks "$pid")
    for i in $(seq "$par"); do
        # "N connections in S real seconds, B bytes read per connection"
        n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' "$out/s_time-$i.txt")
        [ -n "$n" ] || { echo "$label: s_time failed:" >&2; cat "$out/s_time-$i.txt" >&2; exit 1; }
        total=$((total + n))
    done
    cp "$out/s_time-1.txt" "$out/s_time-${label//[^A-Za-z0-9]/_}.txt"
    awk -v l="$label" -v n="$total" -v s="$secs" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "| %s | TLS 1.3 handshakes | %.1f /s | %.0f us |\n", l, n / s, d / hz * 1e6 / n }'
}

# requests LABEL: wrk over kept-alive TLS connections; prints the row.
requests() {
    local label=$1 t0 t1 report
    ip netns exec "$ns" wrk -t2 -c50 -d2s "$url" >/dev/null
    t0=$(ticks "$pid")
    report=$(ip netns exec "$ns" wrk -t2 -c50 -d"${secs}s" --timeout 10s "$url")
    t1=$(ticks "$pid")
    echo "$report" >"$out/wrk-${label//[^A-Za-z0-9]/_}.txt"
    if grep -q -e 'Socket errors' -e 'Non-2xx' <<<"$report"; then
        echo "$label: wrk reported errors:" >&2; echo "$report" >&2; exit 1
    fi
    local n rps
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$report")
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$report")
    awk -v l="$label" -v r="$rps" -v n="$n" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "| %s | HTTPS requests, kept alive | %.0f /s | %.1f us |\n", l, r, d / hz * 1e6 / n }'
}

# measure LABEL QEMU COMMAND...
measure() {
    local label=$1
    shift
    ip netns exec "$ns" "$@" </dev/null >"$out/console.txt" 2>&1 &
    pid=$!
    for _ in $(seq 900); do
        grep -q 'https-hello: listening on port 443' "$out/console.txt" &&
            grep -q 'kiln: net: eth0 10.81.0.2' "$out/console.txt" && break
        sleep 0.1
    done
    grep -q 'https-hello: listening on port 443' "$out/console.txt" ||
        { echo "$label: the server did not start:" >&2; cat "$out/console.txt" >&2; exit 1; }
    ip netns exec "$ns" curl -sS --max-time 30 --cacert "$out/ca.pem" -o /dev/null "$url" ||
        die "$label: curl $url failed"
    handshakes "$label"
    requests "$label"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
}

linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" -m 512M --net "tap:$tap" \
    --append "$NET" "$KERNEL" "$INITRD")
eval "linux=($linux_cmd)"
cpio_files="$out/files.cpio"
./kiln pack "$out/files" -o "$cpio_files"
kiln_command "$image" "kiln.argv0=https-hello $NET -- -q" "${linux[@]}"
kiln=("${KILN_CMD[@]}" -initrd "$cpio_files")

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "QEMU: TCG, -M $machine -m 512M, tap in a private namespace; clients on the same host:"
echo "  $par x openssl s_time -new -tls1_3 -time $secs; wrk -t2 -c50 -d${secs}s"
echo "server: examples-c/https-hello on $(./kiln pkg list | awk '$1 == "openssl" {print "OpenSSL " $2}')"
echo
echo "| guest | what | rate | QEMU CPU per operation |"
echo "|---|---|---|---|"
measure "Kiln ($machine)" "${kiln[@]}"
measure "Linux guest ($machine)" "${linux[@]}"
