@ vman ARMv7 boot stub — the reference assembly proven under QEMU 7.2: CPU0 enters at
@ +0 in SVC mode; PSCI (SMC32 ids) over HVC starts the partition's boot core at `enter`
@ (unless CPU0 is it), then CPU0 powers off; `enter` sets r0 = 0, r1 = ~0, r2 = DTB and
@ branches to the zImage (ARM state). vman patches target, dtb and kernel. 0x6c bytes.
    .syntax unified
    .arch armv7-a
    .arch_extension virt
    .arm
    .text
    .globl _start
_start:
    mrc   p15, 0, r5, c0, c0, 5     @ MPIDR
    ldr   r6, mpidr_mask
    and   r5, r5, r6
    ldr   r1, target
    cmp   r5, r1
    beq   enter
    ldr   r0, fn_cpu_on             @ PSCI CPU_ON (SMC32)
    adr   r2, enter
    mov   r3, #0
    hvc   #0
    str   r0, result
    ldr   r0, fn_cpu_off            @ PSCI CPU_OFF
    hvc   #0
1:  wfi
    b     1b
enter:
    mov   r0, #0
    mvn   r1, #0
    ldr   r2, dtb
    ldr   r3, kernel
    bx    r3
    .balign 4
mpidr_mask: .word 0x00ffffff
fn_cpu_on:  .word 0x84000003
fn_cpu_off: .word 0x84000002
target:     .word 0
dtb:        .word 0
kernel:     .word 0
result:     .word 0
