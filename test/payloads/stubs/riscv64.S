# vman RISC-V boot stub — the reference assembly proven under QEMU 7.2 with OpenSBI 1.1.
# hart's PC). Harts outside the partition park forever. The partition's boot hart
# enters OpenSBI fw_dynamic at once (a0 = hartid, a1 = partition DTB, a2 =
# &fw_dynamic_info). The partition's other harts sleep here until an IPI (OpenSBI's
# HSM hart_start raises MSIP) and only then enter OpenSBI, so the boot hart always wins
# OpenSBI 1.1's cold-boot lottery.
    .option norvc
    .option norelax
    .equ MIP_MSIP,      8
    .equ OFF_HART_MASK, 0x60
    .equ OFF_DTB,       0x68
    .equ OFF_OPENSBI,   0x70
    .equ OFF_FW_INFO,   0x78
    .equ OFF_BOOT_HART, 0xa0
    .text
    .globl _start
_start:
    auipc t0, 0
    csrw  mie, zero
    csrr  a0, mhartid
    li    t2, 64
    bgeu  a0, t2, park
    ld    t1, OFF_HART_MASK(t0)
    srl   t1, t1, a0
    andi  t1, t1, 1
    beqz  t1, park
    ld    t1, OFF_BOOT_HART(t0)
    beq   a0, t1, enter
    li    t1, MIP_MSIP
    csrw  mie, t1
wait_ipi:
    wfi
    csrr  t1, mip
    andi  t1, t1, MIP_MSIP
    beqz  t1, wait_ipi
    csrw  mie, zero
enter:
    ld    a1, OFF_DTB(t0)
    addi  a2, t0, OFF_FW_INFO
    ld    t1, OFF_OPENSBI(t0)
    jr    t1
park:
    wfi
    j     park
    .balign 8
hart_mask:  .dword 0            # bit h set: hart h belongs to the partition
dtb:        .dword 0
opensbi:    .dword 0x80000000
fw_info:    .dword 0x4942534f   # magic "OSBI"
            .dword 2            # version
            .dword 0x80200000   # next_addr
            .dword 1            # next_mode: S
            .dword 0            # options
            .dword 0            # boot_hart
