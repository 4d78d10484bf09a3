// vman ARMv8 boot stub — the reference assembly proven under QEMU 7.2 (see the QEMU
// findings): loaded outside the partition, CPU0 enters at +0 in EL1 (QEMU virt, no
// firmware: PSCI over HVC). If CPU0 is not the partition's boot core it asks PSCI to
// start that core at `enter` and powers itself off; `enter` sets the arm64 boot
// protocol registers (x0 = DTB, x1..x3 = 0) and branches to the kernel or image.
// vman patches the four data words. Position independent; 0x88 bytes.
    .text
    .globl _start
_start:
    mrs   x5, mpidr_el1
    ldr   x6, mpidr_mask
    and   x5, x5, x6
    ldr   x1, target
    cmp   x5, x1
    b.eq  enter
    movz  w0, #0x0003
    movk  w0, #0xc400, lsl #16      // PSCI CPU_ON (SMC64)
    adr   x2, enter
    mov   x3, #0
    hvc   #0
    adr   x7, result
    str   x0, [x7]
    movz  w0, #0x0002
    movk  w0, #0x8400, lsl #16      // PSCI CPU_OFF
    hvc   #0
1:  wfi
    b     1b
enter:
    ldr   x0, dtb
    mov   x1, xzr
    mov   x2, xzr
    mov   x3, xzr
    ldr   x4, kernel
    br    x4
    .balign 8
mpidr_mask: .quad 0xff00ffffff
target:     .quad 0
dtb:        .quad 0
kernel:     .quad 0
result:     .quad 0
