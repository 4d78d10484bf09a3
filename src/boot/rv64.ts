// RV64 instruction encoders for the RISC-V boot stub. Each names its format and chapter in
// The RISC-V Instruction Set Manual: Volume I (Unprivileged) "RV32I/RV64I Base Integer
// Instruction Set" and "Zicsr"; Volume II (Privileged) for WFI and mhartid.

/** An integer register number, x0-x31. */
export type Reg = number;

/** ABI names of the registers the stub uses (Volume I, "Calling Convention" register table). */
export const X = { zero: 0, t0: 5, t1: 6, a0: 10, a1: 11, a2: 12 } as const;

/** Volume II, "Hart ID Register (mhartid)": CSR 0xF14, machine-mode read-only. */
export const CSR_MHARTID = 0xf14;
/** Volume II, "Machine Interrupt (mip and mie) Registers": CSRs 0x344 and 0x304; bit 3 is MSIP. */
export const CSR_MIP = 0x344;
export const CSR_MIE = 0x304;
export const MIP_MSIP = 1 << 3;

const OP_IMM = 0b0010011;
const OP_IMM_32 = 0b0011011;
const LUI = 0b0110111;
const BRANCH = 0b1100011;
const JAL = 0b1101111;
const JALR = 0b1100111;
const SYSTEM = 0b1110011;

function reg(r: Reg): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new RangeError(`RISC-V register ${r} is not x0-x31`);
  return r;
}

function signed(value: number, bits: number, what: string): number {
  const half = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -half || value >= half)
    throw new RangeError(`${what} ${value} does not fit ${bits} signed bits`);
  return value & (2 ** bits - 1);
}

/** I-type: imm[11:0] rs1 funct3 rd opcode. */
function iType(opcode: number, funct3: number, rd: Reg, rs1: Reg, imm12: number): number {
  return ((signed(imm12, 12, 'imm12') << 20) | (reg(rs1) << 15) | (funct3 << 12) | (reg(rd) << 7) | opcode) >>> 0;
}

/**
 * LUI rd, imm20 — "Integer Register-Immediate Instructions", U-type: imm[31:12] rd 0110111. RV64 sign-extends bit 31.
 */
export function lui(rd: Reg, imm20: number): number {
  if (!Number.isInteger(imm20) || imm20 < 0 || imm20 > 0xfffff)
    throw new RangeError(`imm20 ${imm20} does not fit 20 bits`);
  return ((imm20 << 12) | (reg(rd) << 7) | LUI) >>> 0;
}

/** ADDI rd, rs1, imm12 — "Integer Register-Immediate Instructions", I-type, funct3 000, OP-IMM. */
export function addi(rd: Reg, rs1: Reg, imm12: number): number {
  return iType(OP_IMM, 0b000, rd, rs1, imm12);
}

/**
 * ADDIW rd, rs1, imm12 — RV64I "Integer Register-Immediate Instructions",
 * I-type, funct3 000, OP-IMM-32: the 32-bit sum, sign-extended.
 */
export function addiw(rd: Reg, rs1: Reg, imm12: number): number {
  return iType(OP_IMM_32, 0b000, rd, rs1, imm12);
}

/** SLLI rd, rs1, shamt — RV64I "Integer Register-Immediate Instructions": 000000 shamt[5:0] rs1 001 rd OP-IMM. */
export function slli(rd: Reg, rs1: Reg, shamt: number): number {
  if (!Number.isInteger(shamt) || shamt < 0 || shamt > 63) throw new RangeError(`shift ${shamt} is not 0-63`);
  return ((shamt << 20) | (reg(rs1) << 15) | (0b001 << 12) | (reg(rd) << 7) | OP_IMM) >>> 0;
}

/** CSRRS rd, csr, x0 (CSRR) — Zicsr "CSR Instructions", I-type: csr rs1=0 010 rd SYSTEM. */
export function csrr(rd: Reg, csr: number): number {
  if (!Number.isInteger(csr) || csr < 0 || csr > 0xfff) throw new RangeError(`CSR ${csr} is not 12 bits`);
  return ((csr << 20) | (0 << 15) | (0b010 << 12) | (reg(rd) << 7) | SYSTEM) >>> 0;
}

/** CSRRW x0, csr, rs1 (CSRW) — Zicsr "CSR Instructions", I-type: csr rs1 001 rd=0 SYSTEM. */
export function csrw(csr: number, rs1: Reg): number {
  if (!Number.isInteger(csr) || csr < 0 || csr > 0xfff) throw new RangeError(`CSR ${csr} is not 12 bits`);
  return ((csr << 20) | (reg(rs1) << 15) | (0b001 << 12) | (0 << 7) | SYSTEM) >>> 0;
}

/** ANDI rd, rs1, imm12 — "Integer Register-Immediate Instructions", I-type, funct3 111, OP-IMM. */
export function andi(rd: Reg, rs1: Reg, imm12: number): number {
  return iType(OP_IMM, 0b111, rd, rs1, imm12);
}

/** JALR rd, imm12(rs1) — "Unconditional Jumps", I-type, funct3 000. */
export function jalr(rd: Reg, rs1: Reg, imm12: number): number {
  return iType(JALR, 0b000, rd, rs1, imm12);
}

/** JR rs1: JALR x0, 0(rs1). */
export function jr(rs1: Reg): number {
  return jalr(X.zero, rs1, 0);
}

/**
 * BEQ rs1, rs2, `offset` bytes from this instruction — "Conditional
 * Branches", B-type: imm[12|10:5] rs2 rs1 000 imm[4:1|11].
 */
export function beq(rs1: Reg, rs2: Reg, offset: number): number {
  if (offset % 2 !== 0) throw new RangeError(`branch offset ${offset} is odd`);
  const v = signed(offset, 13, 'BEQ offset');
  const imm =
    (((v >>> 12) & 1) << 31) | (((v >>> 5) & 0x3f) << 25) | (((v >>> 1) & 0xf) << 8) | (((v >>> 11) & 1) << 7);
  return (imm | (reg(rs2) << 20) | (reg(rs1) << 15) | (0b000 << 12) | BRANCH) >>> 0;
}

/** JAL rd, `offset` bytes from this instruction — "Unconditional Jumps", J-type: imm[20|10:1|11|19:12] rd 1101111. */
export function jal(rd: Reg, offset: number): number {
  if (offset % 2 !== 0) throw new RangeError(`jump offset ${offset} is odd`);
  const v = signed(offset, 21, 'JAL offset');
  const imm =
    (((v >>> 20) & 1) << 31) | (((v >>> 1) & 0x3ff) << 21) | (((v >>> 11) & 1) << 20) | (((v >>> 12) & 0xff) << 12);
  return (imm | (reg(rd) << 7) | JAL) >>> 0;
}

/** WFI — Volume II "Wait for Interrupt": 0001000 00101 00000 000 00000 SYSTEM. */
export function wfi(): number {
  return 0x10500073;
}

/** The low 12 bits of v as a signed immediate (what ADDI adds). */
function low12(v: bigint): bigint {
  return BigInt.asIntN(12, v);
}

/**
 * Instructions that put a 64-bit value in rd using LUI, ADDI(W) and SLLI only.
 * A value that fits 32 signed bits is LUI + ADDIW (ADDIW wraps the sum to 32 bits and sign-extends,
 * as LUI does on RV64); a wider one is the value without its low 12 bits, built recursively with
 * its trailing zeros shifted out, then SLLI and ADDI of the low 12 bits.
 */
export function liSequence(rd: Reg, value: bigint): number[] {
  const v = BigInt.asIntN(64, value);
  const lo = low12(v);
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const hi = Number(BigInt.asUintN(20, (v - lo) >> 12n));
    if (hi === 0) return [addi(rd, X.zero, Number(lo))];
    return lo === 0n ? [lui(rd, hi)] : [lui(rd, hi), addiw(rd, rd, Number(lo))];
  }
  let hi = (v - lo) >> 12n;
  let shift = 12;
  while ((hi & 1n) === 0n) {
    hi >>= 1n;
    shift++;
  }
  const out = [...liSequence(rd, hi), slli(rd, rd, shift)];
  if (lo !== 0n) out.push(addi(rd, rd, Number(lo)));
  return out;
}
