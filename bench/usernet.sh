#!/usr/bin/env bash
# bench/usernet.sh: `kiln run -p` through passt (`--net user`, the default) against QEMU's own
# slirp forward (`--net slirp`, the baseline), same image, same board, same host, one after
# the other in one run:
#   - connections opened at once: examples-c/tcp-echo, COUNT (default 200) non-blocking
#     connects issued together, then each echoes a line (tests/clients/echo_client.py tcp):
#     how many were served, and in what time;
#   - examples-c/http-hello under `wrk -t2 -c4` and `-c100 -d SECS s`: requests/s and socket
#     errors;
#   - bulk: one connection, MIB MiB each way through tcp-echo (echo_client.py bulk): MiB/s.
# Ratios are passt / slirp. Everything runs on the host's loopback (127.0.0.1) in the host's
# network namespace, as a user runs `kiln run -p`; no root needed (passt needs the host to
# have a default route, which it copies).
# Usage: bench/usernet.sh [SECS] [MACHINE] [COUNT] [MIB]   (MACHINE: microvm (default), q35)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
secs=${1:-10}
machine=${2:-microvm}
count=${3:-200}
mib=${4:-16}
for tool in wrk passt /usr/bin/python3; do command -v $tool >/dev/null || die "$tool missing: run ./kiln doctor --install"; done
./kiln build examples-c/tcp-echo >/dev/null 2>&1 || die "building examples-c/tcp-echo failed"
./kiln build examples-c/http-hello >/dev/null 2>&1 || die "building examples-c/http-hello failed"
echo_image=examples-c/tcp-echo/build-kiln/tcp-echo
http_image=examples-c/http-hello/build-kiln/http-hello
client=tests/clients/echo_client.py
out=target/kiln-bench/usernet
mkdir -p "$out"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# boot NET IMAGE GUESTPORT ARGS... : starts `kiln run --net NET -p PORT:GUESTPORT`, waits for
# the DHCP address line; sets $port and $pid.
boot() {
    local net=$1 image=$2 guest=$3; shift 3
    port=$(free_port)
    ./target/release/kiln run --accel tcg --machine "$machine" --net "$net" --timeout 900 \
        -p "$port:$guest" "$image" -- "$@" </dev/null >"$out/console.txt" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q "net: eth0 10.0.2.15/24" "$out/console.txt" && grep -q "listening on port" "$out/console.txt" && return 0
        kill -0 $pid 2>/dev/null || { cat "$out/console.txt" >&2; die "kiln run --net $net exited"; }
        sleep 0.1
    done
    die "no address from --net $net"
}
halt() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

declare -A at_once took rps_c4 err_c4 rps_c100 err_c100 bulk
./kiln runtime >/dev/null
for net in slirp user; do
    boot "$net" "$echo_image" 7 7
    line=$(/usr/bin/python3 "$client" tcp 127.0.0.1 "$port" 0 "$count" 0 2>/dev/null | grep "concurrent connections" || true)
    at_once[$net]=$(sed -n 's/.*connections: \([0-9]*\)\/.*/\1/p' <<<"$line")
    took[$net]=$(sed -n 's/.* in \([0-9.]*\)s$/\1/p' <<<"$line")
    line=$(/usr/bin/python3 "$client" bulk 127.0.0.1 "$port" "$mib" 2>/dev/null | tail -1 || true)
    bulk[$net]=$(sed -n 's/.*(\([0-9.]*\) MiB\/s each way).*/\1/p' <<<"$line")
    grep -q "equal sha256: True" <<<"$line" || bulk[$net]="failed"
    halt
    boot "$net" "$http_image" 80
    wrk -t2 -c4 -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    for c in 4 100; do
        report=$(wrk -t2 -c$c -d${secs}s "http://127.0.0.1:$port/" 2>&1 || true)
        r=$(sed -n 's/^Requests\/sec: *//p' <<<"$report")
        e=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' <<<"$report")
        if [ $c = 4 ]; then rps_c4[$net]=${r:-0} err_c4[$net]=${e:-none}; else rps_c100[$net]=${r:-0} err_c100[$net]=${e:-none}; fi
    done
    halt
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 == a) printf "%.2f", a / b; else print "-" }'; }
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1), $(dpkg-query -W -f='passt ${Version}' passt)"
echo "board: $machine, TCG; date: $(date -u +%F)"
echo
echo "| measure | slirp (--net slirp) | passt (--net user) | passt / slirp |"
echo "|---|---|---|---|"
echo "| $count connections opened at once: served | ${at_once[slirp]:-0} in ${took[slirp]:-?} s | ${at_once[user]:-0} in ${took[user]:-?} s | $(ratio "${at_once[user]:-0}" "${at_once[slirp]:-0}") |"
echo "| http-hello, wrk -c4, requests/s | ${rps_c4[slirp]} (errors: ${err_c4[slirp]}) | ${rps_c4[user]} (errors: ${err_c4[user]}) | $(ratio "${rps_c4[user]}" "${rps_c4[slirp]}") |"
echo "| http-hello, wrk -c100, requests/s | ${rps_c100[slirp]} (errors: ${err_c100[slirp]}) | ${rps_c100[user]} (errors: ${err_c100[user]}) | $(ratio "${rps_c100[user]}" "${rps_c100[slirp]}") |"
echo "| $mib MiB each way through tcp-echo, MiB/s | ${bulk[slirp]} | ${bulk[user]} | $(ratio "${bulk[user]}" "${bulk[slirp]}") |"
