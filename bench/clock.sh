#!/usr/bin/env bash
# bench/clock.sh: the guest's clocks against the host's (issue 23). Boots
# tests/programs/clock_report for SECONDS (default 600) RUNS times (default 2) and prints, per
# run, the wall clock's offset from the host's at the first report (a few ms after main) and
# at the end, and the rates of CLOCK_MONOTONIC and CLOCK_REALTIME against the host's clock
# (bench/clock/measure.py; the host stamps each line as it arrives on the console).
# Usage: bench/clock.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
runs=${2:-2}
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), seconds per run: $seconds, engine: TCG, microvm"
mkdir -p target/bench
./kiln runtime >/dev/null
bin/kiln-cc -O2 -o target/bench/clock_report tests/programs/clock_report.c
for run in $(seq "$runs"); do
    echo "-- run $run"
    /usr/bin/python3 bench/clock/measure.py ./kiln run target/bench/clock_report \
        --timeout $((seconds + 120)) -- "$seconds"
done
