#!/usr/bin/env bash
# bench/event-http.sh: examples-cpp/http-callback (the kiln/os.hpp event API) against the plain
# epoll server examples-c/http-hello, both as native static Linux builds (`kiln link --host`),
# on 127.0.0.1 with `wrk -t2 -c100 -d DURATION` (http-callback's /hello, http-hello's /).
# Reports requests/s and the server process's CPU time per request (utime + stime from /proc,
# so wrk's own CPU is excluded). The same servers in VMs, Kiln vs a Linux guest: bench/http.sh.
# Usage: bench/event-http.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
out=target/kiln-bench
mkdir -p "$out"
cc=$(./kiln config --cc)
eval "$cc $(./kiln config --cxxflags) -O2 -c examples-cpp/http-callback/http-callback.cpp -o $out/http-callback.o"
./kiln link --host --cxx -o "$out/http-callback" "$out/http-callback.o"
eval "$cc $(./kiln config --cflags) -O2 -c examples-c/http-hello/http-hello.c -o $out/http-hello.o"
./kiln link --host -o "$out/http-hello" "$out/http-hello.o"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); wrk -t2 -c100 -d${duration}s"
printf '%-28s %12s %16s\n' server "requests/s" "CPU us/request"
for server in http-callback http-hello; do
    case $server in
    http-callback) PORT=18181 "$out/$server" >/dev/null & path=/hello ;;
    http-hello) "$out/$server" 18181 >/dev/null & path=/ ;;
    esac
    pid=$!
    sleep 0.5
    before=$(cpu_ticks "$pid")
    report=$(wrk -t2 -c100 -d"${duration}s" "http://127.0.0.1:18181$path")
    after=$(cpu_ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if grep -q -e 'Socket errors' -e 'Non-2xx' <<<"$report"; then
        echo "$server: wrk reported errors:"; echo "$report"; exit 1
    fi
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$report")
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$report")
    us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
    printf '%-28s %12s %16s\n' "$server (host, native)" "$rps" "$us"
done
