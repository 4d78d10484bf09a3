// A32 (ARM state) instruction encoders for the ARMv7 boot stubs. Each names its encoding in the
// ARM Architecture Reference Manual ARMv7-A/R (DDI 0406C), A8.8 "Alphabetical list of instructions"
// (and B9.3 for HVC, from the Virtualization Extensions). All use condition AL (0b1110).

/** A core register number, r0-r15. */
export type RReg = number;

export const PC = 15;
const AL = 0xe;

function reg(r: RReg): number {
  if (!Number.isInteger(r) || r < 0 || r > 15) throw new RangeError(`A32 register ${r} is not 0-15`);
  return r;
}

function imm(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits)
    throw new RangeError(`${what} ${value} does not fit ${bits} bits`);
  return value;
}

/**
 * A5.2.4 "Modified immediate constants in ARM instructions": imm12 = rot:imm8 standing for
 * imm8 rotated right by 2*rot. Undefined when the value has no such form.
 */
export function modifiedImmediate(value: number): number | undefined {
  const v = value >>> 0;
  for (let rot = 0; rot < 16; rot++) {
    const imm8 = ((v << (2 * rot)) | (v >>> (32 - 2 * rot))) >>> 0;
    if (imm8 <= 0xff) return (rot << 8) | imm8;
  }
  return undefined;
}

function modImm(value: number): number {
  const enc = modifiedImmediate(value);
  if (enc === undefined) throw new RangeError(`${value} is not an A32 modified immediate`);
  return enc;
}

function cond(bits: number): number {
  return ((AL << 28) | bits) >>> 0;
}

/** MOV Rd, #const — A8.8 "MOV (immediate)", encoding A1: cond 0011101 S=0 0000 Rd imm12. */
export function mov(rd: RReg, value: number): number {
  return cond(0x03a00000 | (reg(rd) << 12) | modImm(value));
}

/** MVN Rd, #const — A8.8 "MVN (immediate)", encoding A1: cond 0011111 S=0 0000 Rd imm12. */
export function mvn(rd: RReg, value: number): number {
  return cond(0x03e00000 | (reg(rd) << 12) | modImm(value));
}

/** MOVW Rd, #imm16 — A8.8 "MOV (immediate)", encoding A2: cond 00110000 imm4 Rd imm12. */
export function movw(rd: RReg, imm16: number): number {
  const v = imm(imm16, 16, 'imm16');
  return cond(0x03000000 | ((v >>> 12) << 16) | (reg(rd) << 12) | (v & 0xfff));
}

/** MOVT Rd, #imm16 — A8.8 "MOVT", encoding A1: cond 00110100 imm4 Rd imm12. */
export function movt(rd: RReg, imm16: number): number {
  const v = imm(imm16, 16, 'imm16');
  return cond(0x03400000 | ((v >>> 12) << 16) | (reg(rd) << 12) | (v & 0xfff));
}

/** BX Rm — A8.8 "BX", encoding A1: cond 00010010 1111 1111 1111 0001 Rm. Bit 0 of Rm selects Thumb. */
export function bx(rm: RReg): number {
  return cond(0x012fff10 | reg(rm));
}

/** HVC #imm16 — B9.3 "HVC", encoding A1: cond=1110 00010100 imm12 0111 imm4. */
export function hvc(imm16: number): number {
  const v = imm(imm16, 16, 'imm16');
  return cond(0x01400070 | ((v >>> 4) << 8) | (v & 0xf));
}

/** SMC #imm4 — B9.3 "SMC (previously SMI)", encoding A1: cond 00010110 0000 0000 0000 0111 imm4. */
export function smc(imm4: number): number {
  return cond(0x01600070 | imm(imm4, 4, 'imm4'));
}

/**
 * MRC p15, 0, Rt, c0, c0, 5 (read MPIDR) — A8.8 "MRC", encoding
 * A1: cond 1110 opc1 1 CRn Rt coproc opc2 1 CRm; B4.1 "MPIDR".
 */
export function mrcMpidr(rt: RReg): number {
  const opc1 = 0,
    crn = 0,
    coproc = 15,
    opc2 = 5,
    crm = 0;
  return cond(0x0e100010 | (opc1 << 21) | (crn << 16) | (reg(rt) << 12) | (coproc << 8) | (opc2 << 5) | crm);
}

/** BIC Rd, Rn, #const — A8.8 "BIC (immediate)", encoding A1: cond 0011110 S=0 Rn Rd imm12. */
export function bic(rd: RReg, rn: RReg, value: number): number {
  return cond(0x03c00000 | (reg(rn) << 16) | (reg(rd) << 12) | modImm(value));
}

/** CMP Rn, Rm — A8.8 "CMP (register)", encoding A1: cond 00010101 Rn 0000 imm5=0 type=00 0 Rm. */
export function cmp(rn: RReg, rm: RReg): number {
  return cond(0x01500000 | (reg(rn) << 16) | reg(rm));
}

/** Condition codes — A8.3 "Conditional execution", Table A8-1. */
export const Cond = { EQ: 0x0, NE: 0x1, AL } as const;

/** B<cond> to `offset` bytes from this instruction — A8.8 "B", encoding A1: cond 1010 imm24 (PC reads 8 ahead). */
export function b(offset: number, condition: number = AL): number {
  if (offset % 4 !== 0) throw new RangeError(`branch offset ${offset} is not a multiple of 4`);
  const words = (offset - 8) / 4;
  if (words < -(2 ** 23) || words >= 2 ** 23) throw new RangeError(`branch offset ${offset} does not fit 24 bits`);
  return ((imm(condition, 4, 'cond') << 28) | 0x0a000000 | (words & 0xffffff)) >>> 0;
}

/**
 * ADR Rd, `offset` bytes ahead of this instruction — A8.8 "ADR",
 * encoding A1 (ADD Rd, PC, #const; PC reads 8 ahead). Forward only.
 */
export function adr(rd: RReg, offset: number): number {
  if (offset < 8)
    throw new RangeError(`ADR offset ${offset} is not at least 8 bytes ahead (encoding A1 adds to PC + 8)`);
  return cond(0x028f0000 | (reg(rd) << 12) | modImm(offset - 8));
}

/**
 * STR Rt, [Rn, #offset] — A8.8 "STR (immediate, ARM)", encoding A1, offset form: cond 010 P=1 U=1 0 W=0 0 Rn Rt imm12.
 */
export function str(rt: RReg, rn: RReg, offset = 0): number {
  return cond(0x05800000 | (reg(rn) << 16) | (reg(rt) << 12) | imm(offset, 12, 'STR offset'));
}

/** WFI — A8.8 "WFI", encoding A1: cond 0011 0010 0000 1111 0000 0000 0011. */
export function wfi(): number {
  return cond(0x0320f003);
}

/** MOVW, then MOVT when the top half is not zero: a 32-bit value in Rd. */
export function movImm32(rd: RReg, value: number): number[] {
  const v = imm(value, 32, 'value');
  const hi = v >>> 16;
  return hi === 0 ? [movw(rd, v & 0xffff)] : [movw(rd, v & 0xffff), movt(rd, hi)];
}
