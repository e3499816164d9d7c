#!/usr/bin/env bash
# bench/boot.sh: image sizes and boot times of the hello examples.
#
# For each example: the image size as built and stripped (`strip -o`), and over RUNS boots
# (default 10) the median of (a) VM entry -> main, from the TSC, as `kiln.boottime` prints it,
# and (b) QEMU launch -> exit, wall clock, for the C example compared against the same QEMU
# command booting a kernel that exits at once (the baseline: what QEMU itself costs).
# Usage: bench/boot.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
./kiln build examples-c/hello >/dev/null
./kiln build examples-cpp/hello >/dev/null
qemu=(qemu-system-x86_64 -M microvm -accel tcg -cpu max -m 256M -nodefaults -no-user-config
      -display none -serial stdio -monitor none -no-reboot
      -device isa-debug-exit,iobase=0xf4,iosize=4)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_us() { date +%s%6N; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "runs per figure: $runs (median), engine: TCG, machine type: microvm"
printf '%-22s %10s %10s %14s %14s\n' image size stripped "entry->main" "launch->exit"
for ex in examples-c/hello examples-cpp/hello; do
    img=$ex/build-kiln/hello
    strip -o /tmp/kiln-bench-stripped "$img"
    size=$(stat -c %s "$img"); stripped=$(stat -c %s /tmp/kiln-bench-stripped)
    boot=(); wall=()
    for _ in $(seq "$runs"); do
        t0=$(now_us)
        out=$("${qemu[@]}" -kernel "$img" -append "kiln.boottime" </dev/null 2>&1 || true)
        t1=$(now_us)
        boot+=("$(sed -n 's/^kiln: boot time: \([0-9]*\) us.*/\1/p' <<<"$out")")
        wall+=("$((t1 - t0))")
    done
    printf '%-22s %10s %10s %11s us %11s us\n' "$ex" "$size" "$stripped" \
        "$(printf '%s\n' "${boot[@]}" | median)" "$(printf '%s\n' "${wall[@]}" | median)"
done

# Baseline: the KVM probe guest (a 243-byte PVH kernel that exits at once), same QEMU flags.
probe=target/kiln/kvm-probe.elf
if [ -f "$probe" ]; then
    wall=()
    for _ in $(seq "$runs"); do
        t0=$(now_us); "${qemu[@]}" -kernel "$probe" </dev/null >/dev/null 2>&1 || true; t1=$(now_us)
        wall+=("$((t1 - t0))")
    done
    printf '%-22s %10s %10s %14s %11s us\n' "exit-at-once kernel" "$(stat -c %s $probe)" - - \
        "$(printf '%s\n' "${wall[@]}" | median)"
fi
