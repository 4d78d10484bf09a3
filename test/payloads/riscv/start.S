/*
 * vman RISC-V probe payload: S-mode entry points.
 *
 * Boot hart (from OpenSBI fw_dynamic, or any S-mode loader): a0 = hart id,
 * a1 = DTB address (RISC-V Linux boot protocol). Secondary harts arrive at
 * probe_secondary_entry through SBI HSM hart_start with a0 = hart id and
 * a1 = the opaque value, which the boot hart sets to that hart's stack top.
 */
	.section .text.entry, "ax"
	.globl _start
_start:
	/* Only the first hart to arrive boots; a second one (a lottery-style loader)
	   parks, so the probe never runs twice. */
	lla	t0, boot_claimed
	li	t1, 1
	amoswap.w t1, t1, (t0)
	bnez	t1, park
	csrw	sie, zero
	lla	sp, boot_stack_top
	/* Clear .bss (the stacks live there too, but nothing is on them yet). */
	lla	t0, __bss_start
	lla	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	call	probe_main
park:
	wfi
	j	park

	.globl probe_secondary_entry
probe_secondary_entry:
	csrw	sie, zero
	mv	sp, a1
	call	probe_secondary_main
	j	park

	.section .data
	.balign 4
boot_claimed:
	.word 0

	/* One stack per hart slot (slot 0: the boot hart); probe.c hands the others
	   out as HSM opaque values. Keep in step with PROBE_STACK_SIZE/PROBE_MAX_HARTS. */
	.section .bss
	.balign 16
	.globl probe_stacks
probe_stacks:
	.space 4096 * 8
	.set boot_stack_top, probe_stacks + 4096
