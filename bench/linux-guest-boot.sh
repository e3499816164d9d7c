#!/usr/bin/env bash
# bench/linux-guest-boot.sh: launch -> exit of the same C program as a Kiln image and in the
# Linux guest of bench/linux-guest/ (Debian's cloud kernel + busybox initramfs), under
# identical QEMU flags (those of `kiln run` and bench/linux-guest/run.sh), on each machine
# type. The program is tests/programs/hello.c (prints one line, returns 0); its Linux twin is
# built from the same source with `kiln config --cflags` -O2 and `kiln link --host`.
#
# For each guest and machine, over RUNS boots (default 10): the medians of the wall-clock time
# of the qemu-system-x86_64 process (launch -> exit) and of its CPU time (user + system), and
# the size of what is booted (Kiln: the stripped image; Linux: the kernel + the initramfs).
# Usage: bench/linux-guest-boot.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$0: $*" >&2; exit 1; }
# shellcheck source=linux-guest/lib.sh
. bench/linux-guest/lib.sh
runs=${1:-10}
out=target/kiln-bench/linux-guest
mkdir -p "$out"

./kiln build tests/programs -B target/kiln-tests/programs >/dev/null 2>&1
image=target/kiln-tests/programs/hello
cc=$(./kiln config --cc)
eval "$cc $(./kiln config --cflags) -O2 -c tests/programs/hello.c -o $out/hello.o"
./kiln link --host -o "$out/hello" "$out/hello.o"
{ read -r kernel; read -r initrd; } < <(bench/linux-guest/build.sh -o "$out/hello.cpio.gz" "$out/hello")
strip -o "$out/hello.kiln.stripped" "$image"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
TIMEFORMAT='%R %U %S'

# One boot: prints "wall_ms cpu_ms" and fails unless the guest printed the line and status 0.
boot_once() {
    local t
    t=$( { time "$@" </dev/null >"$out/console.txt" 2>&1; } 2>&1 ) || true
    if ! tr -d '\r' <"$out/console.txt" | grep -qx 'hello from a kiln test image' ||
        ! tr -d '\r' <"$out/console.txt" | grep -qx 'kiln: exit status 0'; then
        echo "boot failed: $*" >&2
        cat "$out/console.txt" >&2
        exit 1
    fi
    awk -v t="$t" 'BEGIN {split(t, a, " "); printf "%d %d\n", a[1] * 1000, (a[2] + a[3]) * 1000}'
}

measure() { # LABEL SIZE COMMAND...
    local label=$1 size=$2 walls=() cpus=() w c
    shift 2
    for _ in $(seq "$runs"); do
        read -r w c < <(boot_once "$@")
        walls+=("$w") cpus+=("$c")
    done
    printf '| %s | %s | %s ms | %s ms |\n' "$label" "$size" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(qemu-system-x86_64 --version | head -1)"
echo "kernel: $kernel; runs per figure: $runs (median); engine: TCG"
echo
echo "| guest, machine | booted size | launch->exit | QEMU CPU time |"
echo "|---|---|---|---|"
kiln_size=$(stat -c %s "$out/hello.kiln.stripped")
linux_size=$(($(stat -c %s "$kernel") + $(stat -c %s "$initrd")))
for machine in microvm q35; do
    # The Linux guest's command exactly as run.sh builds it (it adds tsc_early_khz under TCG).
    linux_cmd=$(bench/linux-guest/run.sh --print --machine "$machine" "$kernel" "$initrd")
    eval "linux=($linux_cmd)"
    kiln_command "$image" "kiln.argv0=hello kiln.quiet" "${linux[@]}"
    measure "Kiln, $machine" "$kiln_size B" "${KILN_CMD[@]}"
    measure "Linux guest, $machine" "$linux_size B" "${linux[@]}"
done
