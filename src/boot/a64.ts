// A64 instruction encoders for the boot stubs. Each names its encoding in the Arm Architecture
// Reference Manual for A-profile (DDI 0487), chapter C6 "A64 Base Instruction Descriptions".
// Registers are numbers 0-30; 31 is XZR or SP as the encoding says.

/** A 64-bit general-purpose register number, 0-31. */
export type XReg = number;

export const XZR = 31;

function reg(r: XReg): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new RangeError(`A64 register ${r} is not 0-31`);
  return r;
}

function imm(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits)
    throw new RangeError(`${what} ${value} does not fit ${bits} bits`);
  return value;
}

function signedImm(value: number, bits: number, what: string): number {
  const half = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -half || value >= half)
    throw new RangeError(`${what} ${value} does not fit ${bits} signed bits`);
  return value & (2 ** bits - 1);
}

/** MOVZ Xd, #imm16, LSL #(16*hw) — C6.2 "MOVZ", 64-bit variant: sf=1 opc=10 100101 hw imm16 Rd. */
export function movz(rd: XReg, imm16: number, hw: number): number {
  return (0xd2800000 | (imm(hw, 2, 'hw') << 21) | (imm(imm16, 16, 'imm16') << 5) | reg(rd)) >>> 0;
}

/** MOVK Xd, #imm16, LSL #(16*hw) — C6.2 "MOVK", 64-bit variant: sf=1 opc=11 100101 hw imm16 Rd. */
export function movk(rd: XReg, imm16: number, hw: number): number {
  return (0xf2800000 | (imm(hw, 2, 'hw') << 21) | (imm(imm16, 16, 'imm16') << 5) | reg(rd)) >>> 0;
}

/** BR Xn — C6.2 "BR": 1101011 0000 11111 000000 Rn 00000. */
export function br(rn: XReg): number {
  return (0xd61f0000 | (reg(rn) << 5)) >>> 0;
}

/** HVC #imm16 — C6.2 "HVC": 11010100 000 imm16 000 10. */
export function hvc(imm16: number): number {
  return (0xd4000002 | (imm(imm16, 16, 'imm16') << 5)) >>> 0;
}

/** SMC #imm16 — C6.2 "SMC": 11010100 000 imm16 000 11. */
export function smc(imm16: number): number {
  return (0xd4000003 | (imm(imm16, 16, 'imm16') << 5)) >>> 0;
}

/** MRS Xt, MPIDR_EL1 — C6.2 "MRS" with op0=3 op1=0 CRn=0 CRm=0 op2=5 (D23 "MPIDR_EL1"). */
export function mrsMpidr(rt: XReg): number {
  const op0 = 3,
    op1 = 0,
    crn = 0,
    crm = 0,
    op2 = 5;
  // 1101010100 L=1 op0<1>=1 then op0<0> op1 CRn CRm op2 Rt.
  return (0xd5300000 | ((op0 & 1) << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | reg(rt)) >>> 0;
}

/** AND Xd, Xn, Xm — C6.2 "AND (shifted register)", 64-bit, LSL #0: sf=1 00 01010 00 0 Rm 000000 Rn Rd. */
export function and(rd: XReg, rn: XReg, rm: XReg): number {
  return (0x8a000000 | (reg(rm) << 16) | (reg(rn) << 5) | reg(rd)) >>> 0;
}

/**
 * CMP Xn, Xm, an alias of SUBS XZR, Xn, Xm — C6.2 "SUBS (shifted
 * register)", 64-bit: sf=1 1 1 01011 00 0 Rm 000000 Rn 11111.
 */
export function cmp(rn: XReg, rm: XReg): number {
  return (0xeb000000 | (reg(rm) << 16) | (reg(rn) << 5) | XZR) >>> 0;
}

/** Condition codes for B.cond — C1.2 "Condition code" (Table C1-1). */
export const Cond = { EQ: 0, NE: 1 } as const;

/** B.cond to `offset` bytes from this instruction — C6.2 "B.cond": 0101010 0 imm19 0 cond. */
export function bcond(cond: number, offset: number): number {
  if (offset % 4 !== 0) throw new RangeError(`branch offset ${offset} is not a multiple of 4`);
  return (0x54000000 | (signedImm(offset / 4, 19, 'B.cond offset') << 5) | imm(cond, 4, 'cond')) >>> 0;
}

/** B to `offset` bytes from this instruction — C6.2 "B": 000101 imm26. */
export function b(offset: number): number {
  if (offset % 4 !== 0) throw new RangeError(`branch offset ${offset} is not a multiple of 4`);
  return (0x14000000 | signedImm(offset / 4, 26, 'B offset')) >>> 0;
}

/** ADR Xd, `offset` bytes from this instruction — C6.2 "ADR": 0 immlo 10000 immhi Rd. */
export function adr(rd: XReg, offset: number): number {
  const v = signedImm(offset, 21, 'ADR offset');
  return (0x10000000 | ((v & 3) << 29) | ((v >>> 2) << 5) | reg(rd)) >>> 0;
}

/**
 * STR Xt, [Xn, #offset] — C6.2 "STR (immediate)", unsigned offset,
 * 64-bit: 11 111 0 01 00 imm12 Rn Rt (imm12 = offset / 8).
 */
export function str(rt: XReg, rn: XReg, offset = 0): number {
  if (offset % 8 !== 0) throw new RangeError(`STR offset ${offset} is not a multiple of 8`);
  return (0xf9000000 | (imm(offset / 8, 12, 'STR offset / 8') << 10) | (reg(rn) << 5) | reg(rt)) >>> 0;
}

/** WFI — C6.2 "WFI": the HINT space, CRm=0000 op2=011. */
export function wfi(): number {
  return 0xd503207f;
}

/**
 * The shortest MOVZ/MOVK sequence that puts a 64-bit value in Xd: MOVZ for the lowest non-zero
 * 16-bit half (half 0 when all are zero), then MOVK for every other non-zero half.
 */
export function movImm64(rd: XReg, value: bigint): number[] {
  if (value < 0n || value >= 2n ** 64n) throw new RangeError(`value ${value} is not an unsigned 64-bit integer`);
  const halves = [0, 1, 2, 3].map((hw) => Number((value >> BigInt(16 * hw)) & 0xffffn));
  const first = halves.findIndex((h) => h !== 0);
  const lead = first === -1 ? 0 : first;
  const out = [movz(rd, halves[lead]!, lead)];
  halves.forEach((h, hw) => {
    if (hw !== lead && h !== 0) out.push(movk(rd, h, hw));
  });
  return out;
}
