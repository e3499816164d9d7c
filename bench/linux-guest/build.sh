#!/usr/bin/env bash
# bench/linux-guest/build.sh: the Linux guest Kiln is measured against. Packs a static Linux
# executable (built with `kiln link --host`: musl and the same libc-shim as its Kiln image)
# and its arguments into an initramfs for Debian's cloud kernel: busybox (init, ip, udhcpc),
# the virtio modules that kernel builds as modules (virtio-pci, virtio-mmio, virtio-net and
# their dependencies, resolved with modprobe from modules.dep, in load order), the /init of
# this directory and a helper that ends the VM through isa-debug-exit as Kiln does.
#
# Usage: bench/linux-guest/build.sh [-o INITRD] [--module NAME]... [--files DIR] PROGRAM [-- ARGS...]
#   -o INITRD       where to write the cpio.gz (default target/linux-guest/PROGRAM.cpio.gz)
#   --module NAME   also load this kernel module (repeatable), e.g. virtio_blk, virtio_rng
#   --files DIR     the program's files: DIR/etc/x is /etc/x in the guest (as `kiln run --files`)
#   ARGS            the program's arguments, used when the kernel command line gives none
# Prints the kernel's path and the initramfs's path, one per line, for run.sh:
#   bench/linux-guest/run.sh $(bench/linux-guest/build.sh prog -- 1 2)
# Installs nothing: the packages come from `./kiln doctor --install`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "linux-guest: $*" >&2; exit 1; }

out= extra_modules=() program= args=() files=
while [ $# -gt 0 ]; do
    case $1 in
    -o) [ $# -ge 2 ] || die "-o needs a file name"; out=$2; shift 2 ;;
    --module) [ $# -ge 2 ] || die "--module needs a module name"; extra_modules+=("$2"); shift 2 ;;
    --files) [ $# -ge 2 ] && [ -d "$2" ] || die "--files needs a directory"; files=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; args=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$program" ] || die "one program only (its arguments go after --)"; program=$1; shift ;;
    esac
done
[ -n "$program" ] || die "usage: build.sh [-o INITRD] [--module NAME]... PROGRAM [-- ARGS...]"
[ -f "$program" ] || die "$program: no such file"
file -L "$program" | grep -q 'statically linked' ||
    die "$program is not a static executable: build it with \`kiln link --host\`"

# shellcheck source=lib.sh
. "$here/lib.sh"
require_packages
version=$(kernel_version)
kernel=$(kernel_path "$version")

name=$(basename "$program")
[ -n "$out" ] || out=$root/target/linux-guest/$name.cpio.gz
mkdir -p "$(dirname "$out")" "$root/target/linux-guest"

# The helpers, built once with the same toolchain as the programs: exit-port goes into the
# guest, tsc-khz stays on the host for run.sh.
# One build at a time (tests run several build.sh at once).
exec 9>"$root/target/linux-guest/.helpers.lock"
flock 9
for helper in exit-port tsc-khz; do
    exe=$root/target/linux-guest/$helper
    if [ ! -x "$exe" ] || [ "$here/$helper.c" -nt "$exe" ]; then
        cc=$("$root/kiln" config --cc)
        eval "$cc $("$root/kiln" config --cflags) -O2 -c \"$here/$helper.c\" -o \"$exe.o\""
        "$root/kiln" link --host -o "$exe" "$exe.o" >/dev/null
    fi
done
flock -u 9

stage=$(mktemp -d "$root/target/linux-guest/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,app,dev,proc,sys,tmp,root,etc/guest,lib/modules}
install -m 755 "$here/init" "$stage/init"
install -m 755 "$here/udhcpc.script" "$stage/etc/guest/udhcpc.script"
install -m 755 /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
install -m 755 "$root/target/linux-guest/exit-port" "$stage/bin/exit-port"
install -m 755 "$program" "$stage/app/$name"
if [ -n "$files" ]; then
    cp -R "$files/." "$stage/"
fi
printf '%s\n' "$name" >"$stage/etc/guest/name"

# The baked-in arguments, as a line of single-quoted words for /init to source.
{
    printf 'set --'
    for a in ${args[@]+"${args[@]}"}; do printf " '%s'" "${a//\'/\'\\\'\'}"; done
    printf '\n'
} >"$stage/etc/guest/args"

# Modules in load order: each one's dependencies first, each file once.
: >"$stage/etc/guest/modules"
for module in virtio_pci virtio_mmio virtio_net ${extra_modules[@]+"${extra_modules[@]}"}; do
    deps=$(modprobe -S "$version" --show-depends "$module" 2>&1) ||
        die "kernel $version has no module $module ($deps)"
    while read -r kind path _; do
        [ "$kind" = insmod ] || continue # `builtin NAME`: nothing to load
        base=$(basename "$path")
        base=${base%.xz} base=${base%.zst} base=${base%.gz}
        grep -qx "$base" "$stage/etc/guest/modules" && continue
        case $path in
        *.xz) xz -dc "$path" >"$stage/lib/modules/$base" ;;
        *.zst) zstd -qdc "$path" >"$stage/lib/modules/$base" ;;
        *.gz) gzip -dc "$path" >"$stage/lib/modules/$base" ;;
        *) cp "$path" "$stage/lib/modules/$base" ;;
        esac
        echo "$base" >>"$stage/etc/guest/modules"
    done <<<"$deps"
done

# The archive: the staging tree, then /dev/console (a device node an unprivileged cpio cannot
# copy from disk, so written here as one newc entry), gzip-compressed.
console_entry() {
    local name=dev/console
    # c_ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        1 $((0020000 | 0600)) 0 0 1 0 0 0 0 5 1 $((${#name} + 1)) 0
    printf '%s\0' "$name"
    # header (110) + name (12) = 122: pad to 124
    printf '\0\0'
    local trailer='TRAILER!!!'
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 0 0 0 1 0 0 0 0 0 0 $((${#trailer} + 1)) 0
    printf '%s\0' "$trailer"
    # 110 + 11 = 121: pad to 124
    printf '\0\0\0'
}
(
    cd "$stage"
    find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0
    console_entry
) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$kernel"
echo "$out"
