#!/usr/bin/env bash
# Fetches the guest payloads that vman's QEMU tests boot, from Debian's archive with
# apt only, into a git-ignored cache (.cache/payloads, or $VMAN_PAYLOAD_DIR):
#   arm64/Image                  Debian's cloud-arm64 kernel, uncompressed Image
#   arm64/initramfs.cpio.gz      busybox-static:arm64 + test/payloads/linux/init
#   armv7/zImage                 Debian's armmp-lpae kernel (vmlinuz = zImage)
#   armv7/initramfs.cpio.gz      busybox-static:armhf + test/payloads/linux/init
#   riscv64/vman-probe.bin/.elf  test/payloads/riscv built with riscv64-linux-gnu-gcc
# and checks the installed RISC-V firmware (opensbi, u-boot-qemu). Idempotent: what is
# already in the cache at the archive's current version is kept. This is the only part
# of vman's tests that uses the network. Needs root the first time (dpkg
# --add-architecture, apt-get update). Prints every path and size; exits non-zero with
# a message saying what could not be had.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${VMAN_PAYLOAD_DIR:-$ROOT/.cache/payloads}
INIT_SCRIPT=$ROOT/test/payloads/linux/init
RISCV_SRC=$ROOT/test/payloads/riscv

# Meta packages whose one kernel dependency we fetch, per Debian architecture.
KERNEL_META_ARM64=linux-image-cloud-arm64:arm64
KERNEL_META_ARMHF=linux-image-armmp-lpae:armhf
OPENSBI_DYNAMIC=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
OPENSBI_JUMP=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
UBOOT_RISCV_SMODE=/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin

die() {
	echo "fetch-payloads: error: $*" >&2
	exit 1
}

note() {
	echo "fetch-payloads: $*" >&2
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it with: apt-get install -y $2"
}

need apt-get apt
need dpkg-deb dpkg
need cpio cpio
need gzip gzip

updated=no
apt_update() {
	[ "$updated" = yes ] && return 0
	updated=yes
	note "apt-get update"
	# A mirror that is mid-sync can fail one index; what we need may still resolve.
	apt-get update -qq >/dev/null 2>&1 || note "apt-get update reported errors; going on with the lists it left"
}

ensure_arch() {
	local arch=$1
	# Not `| grep -q`: under pipefail, grep leaving early can fail the pipeline (SIGPIPE) while the arch is there.
	if [ "$(dpkg --print-architecture)" = "$arch" ] || dpkg --print-foreign-architectures | grep -x "$arch" >/dev/null; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "Debian architecture '$arch' is not enabled; run as root once, or: dpkg --add-architecture $arch && apt-get update"
	note "dpkg --add-architecture $arch"
	dpkg --add-architecture "$arch"
	updated=no
	apt_update
}

# Prints "PKG VERSION" for each PKG:ARCH given that has a candidate (one apt-cache call:
# each call costs ~1.5 s with three architectures' lists).
candidates() {
	apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
		/^  Candidate:/ { if ($2 != "(none)") print pkg, $2 }'
}

# Prints "META KERNEL" for each meta package given: the linux-image-* it depends on.
kernels_of() {
	apt-cache depends --important "$@" 2>/dev/null | awk '
		/^[^ ]/ { meta = $1 }
		/^  Depends: linux-image-/ { k = $2; sub(/:.*/, "", k); if (!(meta in seen)) { seen[meta] = 1; print meta, k } }'
}

# Runs FN ARGS; when that gives fewer lines than arguments, updates the apt lists once
# and runs it again.
lookup() {
	local fn=$1 out
	shift
	out=$("$fn" "$@")
	if [ "$(printf '%s\n' "$out" | grep -c .)" -lt $# ]; then
		apt_update
		out=$("$fn" "$@")
	fi
	printf '%s\n' "$out"
}

# Downloads PKG:ARCH at VERSION into $OUT/debs unless it is there; prints the .deb path.
download() {
	local pkg=$1 ver=$2 name=${1%%:*} arch=${1##*:} file
	file="$OUT/debs/${name}_${ver//:/%3a}_${arch}.deb"
	if [ ! -s "$file" ]; then
		note "downloading $name $ver ($arch)"
		if ! (cd "$OUT/debs" && apt-get download -q "$name:$arch=$ver" >/dev/null 2>"$OUT/debs/.apt-err"); then
			apt_update
			(cd "$OUT/debs" && apt-get download -q "$name:$arch=$ver" >/dev/null 2>"$OUT/debs/.apt-err") ||
				die "apt-get download $name:$arch=$ver failed: $(grep -E '^(E|W):' "$OUT/debs/.apt-err" | head -3)"
		fi
		rm -f "$OUT/debs/.apt-err"
		[ -s "$file" ] || die "apt-get download $name:$arch=$ver did not produce $file"
	fi
	echo "$file"
}

# Extracts DEB into DIR (fresh) unless DIR/.from already names DEB.
extract() {
	local deb=$1 dir=$2
	if [ -f "$dir/.from" ] && [ "$(cat "$dir/.from")" = "$(basename "$deb")" ]; then
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	basename "$deb" >"$dir/.from"
}

# Builds a newc cpio.gz with BUSYBOX as /bin/busybox (and /bin/sh) and the test /init.
build_initramfs() {
	local busybox=$1 out=$2 stage
	stage=$(mktemp -d)
	mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/usr/bin" "$stage/usr/sbin"
	cp "$busybox" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$INIT_SCRIPT" "$stage/init"
	chmod 0755 "$stage/init" "$stage/bin/busybox"
	# Fixed timestamps and owners so the archive's bytes depend only on its inputs.
	find "$stage" -exec touch -h -d @0 {} +
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$out.part"
	mv "$out.part" "$out"
	rm -rf "$stage"
}

# Copies a kernel image, gunzipping it if Debian shipped it compressed (arm64 vmlinuz).
install_kernel() {
	local src=$1 dst=$2
	if [ "$(head -c2 "$src" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
		gzip -dc "$src" >"$dst.part"
	else
		cp "$src" "$dst.part"
	fi
	mv "$dst.part" "$dst"
}

size_of() {
	stat -c %s "$1"
}

mkdir -p "$OUT/debs" "$OUT/x" "$OUT/arm64" "$OUT/armv7" "$OUT/riscv64"

ensure_arch arm64
ensure_arch armhf

declare -A KERNEL VERSION DEB
while read -r meta kernel; do
	[ -n "$meta" ] && KERNEL[$meta]=$kernel
done <<<"$(lookup kernels_of "$KERNEL_META_ARM64" "$KERNEL_META_ARMHF")"
[ -n "${KERNEL[$KERNEL_META_ARM64]:-}" ] || die "cannot resolve $KERNEL_META_ARM64 (or it depends on no linux-image-* package) in the apt lists"
[ -n "${KERNEL[$KERNEL_META_ARMHF]:-}" ] || die "cannot resolve $KERNEL_META_ARMHF (or it depends on no linux-image-* package) in the apt lists"
kpkg64=${KERNEL[$KERNEL_META_ARM64]}:arm64
kpkghf=${KERNEL[$KERNEL_META_ARMHF]}:armhf
WANT=("$kpkg64" "$kpkghf" busybox-static:arm64 busybox-static:armhf)

while read -r pkg ver; do
	[ -n "$pkg" ] && VERSION[$pkg]=$ver
done <<<"$(lookup candidates "${WANT[@]}")"
for pkg in "${WANT[@]}"; do
	[ -n "${VERSION[$pkg]:-}" ] || die "cannot resolve $pkg in the apt lists (is the architecture enabled and 'apt-get update' done?)"
	DEB[$pkg]=$(download "$pkg" "${VERSION[$pkg]}") || exit 1
done
# Drop .debs of versions the archive no longer offers.
for f in "$OUT"/debs/*.deb; do
	keep=no
	for pkg in "${WANT[@]}"; do
		[ "$f" = "${DEB[$pkg]}" ] && keep=yes
	done
	[ "$keep" = yes ] || rm -f "$f"
done

extract "${DEB[$kpkg64]}" "$OUT/x/kernel-arm64"
extract "${DEB[$kpkghf]}" "$OUT/x/kernel-armhf"
extract "${DEB[busybox-static:arm64]}" "$OUT/x/busybox-arm64"
extract "${DEB[busybox-static:armhf]}" "$OUT/x/busybox-armhf"

vmlinuz64=$(ls "$OUT"/x/kernel-arm64/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz64" ] || die "${DEB[$kpkg64]} holds no /boot/vmlinuz-*"
vmlinuzhf=$(ls "$OUT"/x/kernel-armhf/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuzhf" ] || die "${DEB[$kpkghf]} holds no /boot/vmlinuz-*"

install_kernel "$vmlinuz64" "$OUT/arm64/Image"
# arm64 Image header (Documentation/arch/arm64/booting.rst): magic "ARM\x64" at 0x38.
[ "$(dd if="$OUT/arm64/Image" bs=1 skip=56 count=4 status=none)" = $'ARM\x64' ] || die "$vmlinuz64 is not an arm64 Image"
cp "$vmlinuzhf" "$OUT/armv7/zImage"
# zImage header (Documentation/arch/arm/booting.rst): magic 0x016f2818 at 0x24.
[ "$(od -An -tx4 -j36 -N4 "$OUT/armv7/zImage" | tr -d ' ')" = 016f2818 ] || die "$vmlinuzhf is not a zImage"
cp "$OUT"/x/kernel-arm64/boot/config-* "$OUT/arm64/config"
cp "$OUT"/x/kernel-armhf/boot/config-* "$OUT/armv7/config"

[ -f "$INIT_SCRIPT" ] || die "$INIT_SCRIPT is missing"
build_initramfs "$OUT/x/busybox-arm64/bin/busybox" "$OUT/arm64/initramfs.cpio.gz"
build_initramfs "$OUT/x/busybox-armhf/bin/busybox" "$OUT/armv7/initramfs.cpio.gz"

# RISC-V: the firmware comes installed from Debian (no riscv64 kernel in bookworm).
for f in "$OPENSBI_DYNAMIC" "$OPENSBI_JUMP"; do
	[ -f "$f" ] || die "$f is missing; install it with: apt-get install -y opensbi"
done
[ -f "$UBOOT_RISCV_SMODE" ] || die "$UBOOT_RISCV_SMODE is missing; install it with: apt-get install -y u-boot-qemu"
if command -v riscv64-linux-gnu-gcc >/dev/null 2>&1; then
	"$RISCV_SRC/build.sh" "$OUT/riscv64" >/dev/null || die "building the RISC-V test payload ($RISCV_SRC) failed"
else
	note "riscv64-linux-gnu-gcc not found (apt-get install -y gcc-riscv64-linux-gnu): RISC-V test payload not built"
fi

# MANIFEST: one "NAME SIZE PATH" line per payload, for tests to read.
{
	entry() {
		[ -f "$2" ] && printf '%-20s %10d  %s\n' "$1" "$(size_of "$2")" "$2"
		return 0
	}
	entry arm64-kernel "$OUT/arm64/Image"
	entry arm64-initrd "$OUT/arm64/initramfs.cpio.gz"
	entry armv7-kernel "$OUT/armv7/zImage"
	entry armv7-initrd "$OUT/armv7/initramfs.cpio.gz"
	entry riscv64-probe-bin "$OUT/riscv64/vman-probe.bin"
	entry riscv64-probe-elf "$OUT/riscv64/vman-probe.elf"
	entry opensbi-fw-dynamic "$OPENSBI_DYNAMIC"
	entry opensbi-fw-jump "$OPENSBI_JUMP"
	entry uboot-riscv64-smode "$UBOOT_RISCV_SMODE"
} >"$OUT/MANIFEST"
echo "arm64 kernel from ${kpkg64%%:*} ${VERSION[$kpkg64]}; armv7 kernel from ${kpkghf%%:*} ${VERSION[$kpkghf]}"
cat "$OUT/MANIFEST"
echo "payloads in $OUT (list: $OUT/MANIFEST)"
