# bench/linux-guest/lib.sh: shared by build.sh and run.sh (sourced, not run).

# The Debian packages the Linux guest is made of; `kiln doctor --install` installs them.
LINUX_GUEST_PACKAGES=(linux-image-cloud-amd64 busybox-static cpio kmod qemu-system-x86)

# Fails with one line naming what is missing and how to get it.
require_packages() {
    local missing=() p
    for p in "${LINUX_GUEST_PACKAGES[@]}"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] ||
        die "missing Debian packages: ${missing[*]}; run \`./kiln doctor --install\`"
}

# The newest installed Debian cloud kernel (KILN_LINUX_GUEST_KERNEL=VERSION picks another).
kernel_version() {
    if [ -n "${KILN_LINUX_GUEST_KERNEL:-}" ]; then
        echo "$KILN_LINUX_GUEST_KERNEL"
        return
    fi
    local v
    v=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '*-cloud-amd64' -printf '%f\n' 2>/dev/null |
        sort -V | tail -1)
    [ -n "$v" ] || die "no cloud kernel in /lib/modules; run \`./kiln doctor --install\`"
    echo "$v"
}

kernel_path() {
    local k=/boot/vmlinuz-$1
    [ -r "$k" ] || die "$k is missing or unreadable; run \`./kiln doctor --install\`"
    echo "$k"
}

# kiln_command IMAGE APPEND QEMU-WORDS...: sets the array KILN_CMD to the QEMU command given
# (run.sh --print's, for the Linux guest) with the Kiln image IMAGE and the command line
# APPEND in place of its -kernel, -initrd and -append: every other flag stays identical.
kiln_command() {
    local image=$1 append=$2 skip=0 word
    shift 2
    KILN_CMD=()
    for word in "$@"; do
        if [ $skip = 1 ]; then skip=0; continue; fi
        case $word in -kernel | -initrd | -append) skip=1; continue ;; esac
        KILN_CMD+=("$word")
    done
    KILN_CMD+=(-kernel "$image" -append "$append")
}

# host_twin SRC OUT ARGS...: builds the C program SRC as a static host binary OUT and packs it
# into the Linux guest's initramfs (OUT.cpio.gz) to run with ARGS; sets KERNEL and INITRD.
host_twin() {
    local src=$1 exe=$2 cc
    shift 2
    cc=$(./kiln config --cc)
    eval "$cc $(./kiln config --cflags) -O2 -c $src -o $exe.o"
    ./kiln link --host -o "$exe" "$exe.o"
    { read -r KERNEL; read -r INITRD; } < <(bench/linux-guest/build.sh -o "$exe.cpio.gz" "$exe" -- "$@")
}

# bench_netns NS TAP PREFIX: a private network namespace NS with the tap device TAP, the host
# at PREFIX.1/24; sets NET, the guest's static kernel command line (PREFIX.2). On exit the
# guest whose pid is in $pid is ended and NS deleted (nothing leaves the namespace).
bench_netns() {
    local tap=$2 prefix=$3
    BENCH_NS=$1
    pid=
    ip netns add "$BENCH_NS"
    trap bench_netns_cleanup EXIT
    ip -n "$BENCH_NS" link set lo up
    ip -n "$BENCH_NS" tuntap add dev "$tap" mode tap
    ip -n "$BENCH_NS" addr add "$prefix.1/24" dev "$tap"
    ip -n "$BENCH_NS" link set "$tap" up
    NET="kiln.ip=$prefix.2/24 kiln.gw=$prefix.1 kiln.slaac=off"
}

bench_netns_cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    ip netns del "$BENCH_NS" 2>/dev/null || true
}

# ticks PID: the process's CPU time so far (utime + stime), in clock ticks (getconf CLK_TCK).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
