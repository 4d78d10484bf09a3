#!/bin/sh
# Builds the vman RISC-V probe payload into OUTDIR (default: .) as vman-probe.elf and
# vman-probe.bin (raw, load at 0x80200000 = entry). Needs riscv64-linux-gnu-gcc
# (Debian: gcc-riscv64-linux-gnu). Prints the two paths.
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-.}
CROSS=${CROSS_COMPILE:-riscv64-linux-gnu-}
mkdir -p "$OUT"
"${CROSS}gcc" -march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany -mno-relax \
	-ffreestanding -fno-builtin -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables \
	-nostdlib -static -no-pie -O2 -Wall -Wextra -Werror \
	-Wl,-T,"$SRC/link.ld" -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-o "$OUT/vman-probe.elf" "$SRC/start.S" "$SRC/probe.c"
"${CROSS}objcopy" -O binary "$OUT/vman-probe.elf" "$OUT/vman-probe.bin"
echo "$OUT/vman-probe.elf"
echo "$OUT/vman-probe.bin"
