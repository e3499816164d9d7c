#!/usr/bin/env bash
# bench/stress.sh: the kernel under a mixed load for a long time (issue 23): the stress
# program of tests/programs (memmoves both ways, futex waits with timeouts, threads created
# and joined, TCP connections opened and reset over 127.0.0.1) for SECONDS seconds (default
# 3600) in one VM, with the release kernel and then the debug kernel (KILN_KERNEL=debug:
# kernel-heap red zones and poison, flag assertions). A run is clean when every line says ok
# and the VM exits 0; the output is compared with the same program run natively for 60 s.
# Usage: bench/stress.sh [SECONDS] [release|debug|both]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
kernels=${2:-both}
[ "$kernels" = both ] && kernels="release debug"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), seconds per run: $seconds"
host=target/bench/stress-host
mkdir -p target/bench
# The native twin, as tests/diff.rs builds it: the same flags, a static musl executable.
KILN_HOST=1 bin/kiln-cc -O2 -o "$host" tests/programs/stress.c
want=$("$host" 60)
status=0
for kernel in $kernels; do
    if [ "$kernel" = debug ]; then export KILN_KERNEL=debug; else unset KILN_KERNEL; fi
    image=target/bench/stress-$kernel
    ./kiln runtime >/dev/null
    bin/kiln-cc -O2 -o "$image" tests/programs/stress.c
    start=$(date +%s)
    out=$(./kiln run "$image" --timeout $((seconds + 600)) -- "$seconds" 2>&1) && rc=0 || rc=$?
    took=$(( $(date +%s) - start ))
    got=$(grep -v '^kiln:' <<<"$out" | tr -d '\r')
    if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
        echo "$kernel kernel: clean after $took s (exit 0, output equal to the native run's)"
    else
        echo "$kernel kernel: FAILED after $took s (exit $rc)"
        echo "$out" | tail -40
        status=1
    fi
done
exit $status
