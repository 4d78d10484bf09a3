#!/usr/bin/env bash
# Fetches the guest payloads that vman's QEMU tests boot, from Debian's archive with
# apt only, into a git-ignored cache (.cache/payloads, or $VMAN_PAYLOAD_DIR):
#   arm64/Image                  Debian's cloud-arm64 kernel, uncompressed Image
#   arm64/initramfs.cpio.gz      busybox-static:arm64 + test/payloads/linux/init
#   armv7/zImage                 Debian's armmp-lpae kernel (vmlinuz = zImage)
#   armv7/initramfs.cpio.gz      busybox-static:armhf + test/payloads/linux/init
#   riscv64/Image                Debian trixie's riscv64 kernel (/boot/vmlinux-*: an Image)
#   riscv64/initramfs.cpio.gz    trixie's busybox-static:riscv64 + test/payloads/linux/init
#   riscv64/vman-probe.bin/.elf  test/payloads/riscv built with riscv64-linux-gnu-gcc
# and checks the installed RISC-V firmware (opensbi, u-boot-qemu). bookworm has no riscv64
# port, so the riscv64 packages come from trixie through a private apt configuration under
# the cache ($OUT/apt-trixie-riscv64: its own sources list, lists, cache and an empty dpkg
# status), from the Debian mirror the system's own sources name; the system's apt
# configuration is never changed for it. Idempotent: what is already in the cache at the
# archive's current version is kept. This is the only part of vman's tests that uses the
# network. Needs root the first time (dpkg --add-architecture, apt-get update). Prints
# every path and size; exits non-zero with a message saying what could not be had.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${VMAN_PAYLOAD_DIR:-$ROOT/.cache/payloads}
INIT_SCRIPT=$ROOT/test/payloads/linux/init
RISCV_SRC=$ROOT/test/payloads/riscv

# Meta packages whose one kernel dependency we fetch, per Debian architecture.
KERNEL_META_ARM64=linux-image-cloud-arm64:arm64
KERNEL_META_ARMHF=linux-image-armmp-lpae:armhf
KERNEL_META_RISCV64=linux-image-riscv64:riscv64
# The Debian release whose riscv64 port the RISC-V payloads come from, and its signing keys
# (bookworm's debian-archive-keyring holds trixie's).
RISCV_SUITE=trixie
RISCV_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
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
need cmp diffutils

# The apt configuration the helpers below use: the system's (APT_OPTS empty), or a private one
# (use_private_apt). APT_NAME names it in messages and in UPDATED.
APT_NAME=system
APT_OPTS=()
declare -A UPDATED

apt_update() {
	[ "${UPDATED[$APT_NAME]:-no}" = yes ] && return 0
	UPDATED[$APT_NAME]=yes
	note "apt-get update ($APT_NAME)"
	# A mirror that is mid-sync can fail one index; what we need may still resolve.
	apt-get "${APT_OPTS[@]}" update -qq >/dev/null 2>&1 ||
		note "apt-get update ($APT_NAME) reported errors; going on with the lists it left"
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
	UPDATED[system]=no
	apt_update
}

# Prints "PKG VERSION" for each PKG:ARCH given that has a candidate (one apt-cache call:
# each call costs ~1.5 s with three architectures' lists).
candidates() {
	apt-cache "${APT_OPTS[@]}" policy "$@" 2>/dev/null | awk '
		/^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
		/^  Candidate:/ { if ($2 != "(none)") print pkg, $2 }'
}

# Prints "META KERNEL" for each meta package given: the linux-image-* it depends on.
kernels_of() {
	apt-cache "${APT_OPTS[@]}" depends --important "$@" 2>/dev/null | awk '
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

# Downloads PKG:ARCH at VERSION into DIR unless it is there; prints the .deb path.
download() {
	local pkg=$1 ver=$2 dir=$3 name=${1%%:*} arch=${1##*:} file
	file="$dir/${name}_${ver//:/%3a}_${arch}.deb"
	if [ ! -s "$file" ]; then
		note "downloading $name $ver ($arch)"
		if ! (cd "$dir" && apt-get "${APT_OPTS[@]}" download -q "$name:$arch=$ver" >/dev/null 2>"$dir/.apt-err"); then
			apt_update
			(cd "$dir" && apt-get "${APT_OPTS[@]}" download -q "$name:$arch=$ver" >/dev/null 2>"$dir/.apt-err") ||
				die "apt-get download $name:$arch=$ver ($APT_NAME) failed: $(grep -E '^(E|W):' "$dir/.apt-err" | head -3)"
		fi
		rm -f "$dir/.apt-err"
		[ -s "$file" ] || die "apt-get download $name:$arch=$ver did not produce $file"
	fi
	echo "$file"
}

# Deletes the .debs in DIR other than the paths given (versions the archive no longer offers).
prune_debs() {
	local dir=$1 f keep k
	shift
	for f in "$dir"/*.deb; do
		[ -e "$f" ] || continue
		keep=no
		for k in "$@"; do
			[ "$f" = "$k" ] && keep=yes
		done
		[ "$keep" = yes ] || rm -f "$f"
	done
}

# The Debian mirror the system's own sources use (its Repo-URI), for a suite the system does not list.
system_mirror() {
	local uri
	uri=$(apt-get indextargets --format '$(REPO_URI)' 'Label: Debian' 'Identifier: Packages' 2>/dev/null | head -1)
	if [ -z "$uri" ]; then
		apt_update
		uri=$(apt-get indextargets --format '$(REPO_URI)' 'Label: Debian' 'Identifier: Packages' 2>/dev/null | head -1)
	fi
	printf '%s\n' "${uri%/}"
}

# Switches the helpers to a private apt configuration in DIR for SUITE/main of ARCH from MIRROR,
# signed by KEYRING: its own sources list, lists, cache and an empty dpkg status, and none of the
# system's sources, preferences or architectures.
use_private_apt() {
	local dir=$1 mirror=$2 suite=$3 arch=$4 keyring=$5 sources
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts" "$dir/debs"
	sources="deb [arch=$arch signed-by=$keyring] $mirror $suite main"
	if [ "$(cat "$dir/sources.list" 2>/dev/null)" != "$sources" ]; then
		printf '%s\n' "$sources" >"$dir/sources.list.part"
		mv "$dir/sources.list.part" "$dir/sources.list"
		# Lists from another mirror or suite would resolve the wrong versions.
		rm -f "$dir"/lists/*_Packages* "$dir"/lists/*Release*
	fi
	[ -f "$dir/status" ] || : >"$dir/status"
	APT_NAME="$suite $arch"
	APT_OPTS=(
		-o "Dir::Etc::SourceList=$dir/sources.list"
		-o "Dir::Etc::SourceParts=$dir/parts"
		-o "Dir::Etc::Preferences=$dir/parts/none"
		-o "Dir::Etc::PreferencesParts=$dir/parts"
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::State::Status=$dir/status"
		-o "Dir::Cache=$dir/cache"
		-o "APT::Architecture=$arch"
		-o "APT::Architectures=$arch"
		-o "Acquire::Languages=none"
	)
}

# Extracts DEB (only the MEMBERS given, e.g. ./boot, if any) into DIR (fresh) unless DIR/.from
# already names DEB.
extract() {
	local deb=$1 dir=$2
	shift 2
	if [ -f "$dir/.from" ] && [ "$(cat "$dir/.from")" = "$(basename "$deb")" ]; then
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ $# -gt 0 ]; then
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@" || die "extracting $* from $deb failed"
	else
		dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	fi
	basename "$deb" >"$dir/.from"
}

# Puts PART in place as DST, unless DST already holds the same bytes (PART is then dropped): a
# re-run leaves alone the files that tests may be reading meanwhile (the cache can be shared by
# several work trees), and a changed file is replaced whole by a rename, never rewritten in place.
publish() {
	local part=$1 dst=$2
	if cmp -s "$part" "$dst"; then
		rm -f "$part"
	else
		mv "$part" "$dst"
	fi
}

# Copies SRC to DST (through publish).
install_file() {
	cp "$1" "$2.$$.part"
	publish "$2.$$.part" "$2"
}

# The busybox binary an extracted busybox-static holds: /bin/busybox (bookworm) or /usr/bin/busybox (trixie).
busybox_in() {
	local f
	for f in "$1/bin/busybox" "$1/usr/bin/busybox"; do
		[ -f "$f" ] && {
			echo "$f"
			return 0
		}
	done
	die "no busybox in $1 (neither bin/busybox nor usr/bin/busybox)"
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
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$out.$$.part"
	publish "$out.$$.part" "$out"
	rm -rf "$stage"
}

# Copies a kernel image, gunzipping it if Debian shipped it compressed (arm64 vmlinuz).
install_kernel() {
	local src=$1 dst=$2
	if [ "$(head -c2 "$src" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
		gzip -dc "$src" >"$dst.$$.part"
	else
		cp "$src" "$dst.$$.part"
	fi
	publish "$dst.$$.part" "$dst"
}

size_of() {
	stat -c %s "$1"
}

mkdir -p "$OUT/debs" "$OUT/x" "$OUT/arm64" "$OUT/armv7" "$OUT/riscv64"
# MANIFEST names the cache by its physical path: a work tree whose .cache is a symlink to another's
# must not write its own path into a MANIFEST the other tree reads.
OUT=$(cd "$OUT" && pwd -P)
RISCV_APT=$OUT/apt-$RISCV_SUITE-riscv64

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
	DEB[$pkg]=$(download "$pkg" "${VERSION[$pkg]}" "$OUT/debs") || exit 1
done
prune_debs "$OUT/debs" "${DEB[@]}"

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
install_file "$vmlinuzhf" "$OUT/armv7/zImage"
# zImage header (Documentation/arch/arm/booting.rst): magic 0x016f2818 at 0x24.
[ "$(od -An -tx4 -j36 -N4 "$OUT/armv7/zImage" | tr -d ' ')" = 016f2818 ] || die "$vmlinuzhf is not a zImage"
install_file "$(ls "$OUT"/x/kernel-arm64/boot/config-* | head -1)" "$OUT/arm64/config"
install_file "$(ls "$OUT"/x/kernel-armhf/boot/config-* | head -1)" "$OUT/armv7/config"

[ -f "$INIT_SCRIPT" ] || die "$INIT_SCRIPT is missing"
build_initramfs "$(busybox_in "$OUT/x/busybox-arm64")" "$OUT/arm64/initramfs.cpio.gz"
build_initramfs "$(busybox_in "$OUT/x/busybox-armhf")" "$OUT/armv7/initramfs.cpio.gz"

# RISC-V Linux: trixie's kernel and busybox through the private apt configuration. Lists are
# refreshed only when a package is not in the cache yet (or does not resolve), so a cached run
# stays offline and the versions stay those of the .debs kept.
mirror=$(system_mirror)
[ -n "$mirror" ] || die "the system's apt sources name no Debian mirror (apt-get indextargets lists no 'Label: Debian' Packages)"
[ -f "$RISCV_KEYRING" ] || die "$RISCV_KEYRING is missing; install it with: apt-get install -y debian-archive-keyring"
use_private_apt "$RISCV_APT" "$mirror" "$RISCV_SUITE" riscv64 "$RISCV_KEYRING"
# The first run has no lists yet (apt_update here, not in lookup's subshell, so it runs once).
ls "$RISCV_APT"/lists/*_Packages* >/dev/null 2>&1 || apt_update
declare -A RV_VERSION RV_DEB
rv_resolve() {
	local meta kernel pkg ver
	read -r meta kernel <<<"$(lookup kernels_of "${KERNEL_META_RISCV64%%:*}")"
	[ -n "${kernel:-}" ] || die "cannot resolve ${KERNEL_META_RISCV64%%:*} in Debian $RISCV_SUITE (or it depends on no linux-image-* package): see 'apt-get update' with the sources in $RISCV_APT/sources.list"
	RV_WANT=("$kernel" busybox-static)
	RV_VERSION=()
	while read -r pkg ver; do
		[ -n "$pkg" ] && RV_VERSION[${pkg%%:*}]=$ver
	done <<<"$(lookup candidates "${RV_WANT[@]}")"
	for pkg in "${RV_WANT[@]}"; do
		[ -n "${RV_VERSION[$pkg]:-}" ] || die "cannot resolve $pkg in Debian $RISCV_SUITE riscv64 (sources: $RISCV_APT/sources.list)"
	done
}
rv_cached() {
	local pkg
	for pkg in "${RV_WANT[@]}"; do
		[ -s "$RISCV_APT/debs/${pkg}_${RV_VERSION[$pkg]//:/%3a}_riscv64.deb" ] || return 1
	done
}
rv_resolve
if ! rv_cached; then
	apt_update
	rv_resolve
fi
for pkg in "${RV_WANT[@]}"; do
	RV_DEB[$pkg]=$(download "$pkg:riscv64" "${RV_VERSION[$pkg]}" "$RISCV_APT/debs") || exit 1
done
prune_debs "$RISCV_APT/debs" "${RV_DEB[@]}"
kpkgrv=${RV_WANT[0]}
# Only /boot of the kernel package: its modules are not needed.
extract "${RV_DEB[$kpkgrv]}" "$OUT/x/kernel-riscv64" ./boot
extract "${RV_DEB[busybox-static]}" "$OUT/x/busybox-riscv64"
# Debian's riscv64 kernel is /boot/vmlinux-*, an uncompressed Image (with an EFI PE header).
vmlinuxrv=$(ls "$OUT"/x/kernel-riscv64/boot/vmlinu[xz]-* 2>/dev/null | head -1)
[ -n "$vmlinuxrv" ] || die "${RV_DEB[$kpkgrv]} holds no /boot/vmlinux-*"
install_kernel "$vmlinuxrv" "$OUT/riscv64/Image"
# RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst): magic2 "RSC\x05" at 0x38.
[ "$(dd if="$OUT/riscv64/Image" bs=1 skip=56 count=4 status=none)" = $'RSC\x05' ] || die "$vmlinuxrv is not a RISC-V Image"
install_file "$(ls "$OUT"/x/kernel-riscv64/boot/config-* | head -1)" "$OUT/riscv64/config"
build_initramfs "$(busybox_in "$OUT/x/busybox-riscv64")" "$OUT/riscv64/initramfs.cpio.gz"

# RISC-V firmware comes installed from Debian (bookworm's opensbi and u-boot-qemu).
for f in "$OPENSBI_DYNAMIC" "$OPENSBI_JUMP"; do
	[ -f "$f" ] || die "$f is missing; install it with: apt-get install -y opensbi"
done
[ -f "$UBOOT_RISCV_SMODE" ] || die "$UBOOT_RISCV_SMODE is missing; install it with: apt-get install -y u-boot-qemu"
if command -v riscv64-linux-gnu-gcc >/dev/null 2>&1; then
	"$RISCV_SRC/build.sh" "$OUT/riscv64" >/dev/null || die "building the RISC-V test payload ($RISCV_SRC) failed"
else
	note "riscv64-linux-gnu-gcc not found (apt-get install -y gcc-riscv64-linux-gnu): RISC-V test payload not built"
fi

# MANIFEST: one "NAME SIZE PATH" line per payload, for tests to read. Written whole, then
# renamed over the old one, so a test reading it meanwhile sees one or the other.
{
	entry() {
		[ -f "$2" ] && printf '%-20s %10d  %s\n' "$1" "$(size_of "$2")" "$2"
		return 0
	}
	entry arm64-kernel "$OUT/arm64/Image"
	entry arm64-initrd "$OUT/arm64/initramfs.cpio.gz"
	entry armv7-kernel "$OUT/armv7/zImage"
	entry armv7-initrd "$OUT/armv7/initramfs.cpio.gz"
	entry riscv64-kernel "$OUT/riscv64/Image"
	entry riscv64-initrd "$OUT/riscv64/initramfs.cpio.gz"
	entry riscv64-probe-bin "$OUT/riscv64/vman-probe.bin"
	entry riscv64-probe-elf "$OUT/riscv64/vman-probe.elf"
	entry opensbi-fw-dynamic "$OPENSBI_DYNAMIC"
	entry opensbi-fw-jump "$OPENSBI_JUMP"
	entry uboot-riscv64-smode "$UBOOT_RISCV_SMODE"
} >"$OUT/MANIFEST.$$.part"
publish "$OUT/MANIFEST.$$.part" "$OUT/MANIFEST"
echo "arm64 kernel from ${kpkg64%%:*} ${VERSION[$kpkg64]}; armv7 kernel from ${kpkghf%%:*} ${VERSION[$kpkghf]};" \
	"riscv64 kernel from $kpkgrv ${RV_VERSION[$kpkgrv]} ($RISCV_SUITE)"
cat "$OUT/MANIFEST"
echo "payloads in $OUT (list: $OUT/MANIFEST)"
