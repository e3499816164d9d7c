#!/usr/bin/env bash
# bench/syscall.sh: what a syscall round trip costs in a Kiln image (getppid, and a 1-byte
# pipe write+read), median of RUNS boots (default 5) of bench/syscall/syscall_loop.c with
# N calls each (default 200000), under QEMU TCG on -M microvm. To compare two runtimes, run
# it on each checkout in the same session (the host is noisy).
# Usage: bench/syscall.sh [RUNS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${2:-200000}
out=target/bench-syscall
mkdir -p "$out"
bin/kiln-cc -O2 -o "$out/syscall_loop" bench/syscall/syscall_loop.c
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "runtime: $(git rev-parse --short HEAD) $(git status --porcelain runtime | grep -q . && echo '(runtime modified)')"
getppid=(); pipe=()
for _ in $(seq "$runs"); do
    res=$(./kiln run "$out/syscall_loop" --accel tcg -- "$n" 2>/dev/null | tr -d '\r')
    getppid+=("$(sed -n 's/^getppid: \([0-9]*\) ns.*/\1/p' <<<"$res")")
    pipe+=("$(sed -n 's/^pipe write+read: \([0-9]*\) ns.*/\1/p' <<<"$res")")
done
echo "getppid: $(printf '%s\n' "${getppid[@]}" | median) ns/call (runs: ${getppid[*]})"
echo "pipe write+read: $(printf '%s\n' "${pipe[@]}" | median) ns/pair (runs: ${pipe[*]})"
