import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as a64 from '../../src/boot/a64.js';
import * as a32 from '../../src/boot/a32.js';
import { liSequence, X } from '../../src/boot/rv64.js';
import {
  arm64KernelEntryStub,
  arm64ReleaseStub,
  armv7KernelEntryStub,
  armv7ReleaseStub,
  FW_DYNAMIC_INFO,
  fwDynamicInfo,
  RELEASE_RESULT_BYTES,
  RELEASE_RESULT_PENDING,
  riscvBootStub,
} from '../../src/boot/stub.js';
import { disassemble, texts, type Disassembled, type Isa } from './support.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encode(list: readonly number[]): Uint8Array {
  const out = new Uint8Array(list.length * 4);
  const view = new DataView(out.buffer);
  list.forEach((w, i) => view.setUint32(i * 4, w, true));
  return out;
}

// ---- evaluators: what the disassembled instructions leave in registers -----------------------

const M64 = 2n ** 64n - 1n;

/** Registers after the MOVZ/MOVK instructions in an A64 listing. */
function evalA64(list: readonly string[]): Map<string, bigint> {
  const regs = new Map<string, bigint>();
  for (const t of list) {
    const m = /^(movz|movk) (x\d+), #(0x[0-9a-f]+)(?:, lsl #(\d+))?$/.exec(t);
    if (!m) continue;
    const shift = BigInt(m[4] ?? 0);
    const v = BigInt(m[3]!) << shift;
    const old = regs.get(m[2]!) ?? 0n;
    regs.set(m[2]!, m[1] === 'movz' ? v : (old & ~(0xffffn << shift) & M64) | v);
  }
  return regs;
}

/** Registers after the MOV/MVN/MOVW/MOVT instructions in an A32 listing. */
function evalA32(list: readonly string[]): Map<string, number> {
  const regs = new Map<string, number>();
  for (const t of list) {
    const m = /^(mov|mvn|movw|movt) (r\d+), #(-?\d+)$/.exec(t);
    if (!m) continue;
    const v = Number(m[3]);
    const old = regs.get(m[2]!) ?? 0;
    const next = m[1] === 'movt' ? ((old & 0xffff) | (v << 16)) >>> 0 : m[1] === 'mvn' ? ~v >>> 0 : v >>> 0;
    regs.set(m[2]!, next);
  }
  return regs;
}

/** Registers after the LUI/ADDI/ADDIW/SLLI instructions in an RV64 listing, as signed 64-bit values. */
function evalRv(list: readonly string[]): Map<string, bigint> {
  const regs = new Map<string, bigint>([['zero', 0n]]);
  const get = (r: string): bigint => regs.get(r) ?? 0n;
  for (const t of list) {
    let m = /^lui (\w+),(0x[0-9a-f]+)$/.exec(t);
    if (m) {
      regs.set(m[1]!, BigInt.asIntN(32, BigInt(m[2]!) << 12n));
      continue;
    }
    m = /^(addi|addiw|slli) (\w+),(\w+),(-?(?:0x)?[0-9a-f]+)$/.exec(t);
    if (!m) continue;
    const [, op, rd, rs, immText] = m as unknown as [string, string, string, string, string];
    const imm = BigInt(immText.startsWith('-') ? -BigInt(immText.slice(1)) : BigInt(immText));
    const v = op === 'addi' ? get(rs) + imm : op === 'addiw' ? BigInt.asIntN(32, get(rs) + imm) : get(rs) << imm;
    regs.set(rd, BigInt.asIntN(64, v));
  }
  return regs;
}

/** Split one listing of concatenated programs back into each program's instructions. */
function split(list: readonly Disassembled[], sizes: readonly number[]): string[][] {
  const out: string[][] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(list.filter((d) => d.offset >= at && d.offset < at + size).map((d) => d.text));
    at += size;
  }
  return out;
}

/** The target of the first branch-like instruction `mnemonic` in a listing, as a byte offset. */
function targetOf(list: readonly Disassembled[], pattern: RegExp): number {
  const hit = list.find((d) => pattern.test(d.text));
  if (!hit) throw new Error(`no instruction matching ${pattern}`);
  const m = /(0x[0-9a-f]+)$/.exec(hit.text) ?? /#(\d+)$/.exec(hit.text);
  return Number(m![1]);
}

// ---- ARMv8 ----------------------------------------------------------------------------------

test('arm64 entry: x0 = dtb, x1..x3 = 0, branch to entry', () => {
  assert.equal(texts('a64', arm64KernelEntryStub({ dtb: 0x49c00000, entry: 0x48000000 })), [
    'movz x0, #0x49c0, lsl #16',
    'movz x1, #0x0',
    'movz x2, #0x0',
    'movz x3, #0x0',
    'movz x4, #0x4800, lsl #16',
    'br x4',
  ]);
});

test('arm64 entry: a 53-bit address takes MOVZ and all three MOVKs; zero and sparse halves are skipped', () => {
  assert.equal(texts('a64', arm64KernelEntryStub({ dtb: 0x1f23456789abcd, entry: 0x800000000000 })), [
    'movz x0, #0xabcd',
    'movk x0, #0x6789, lsl #16',
    'movk x0, #0x2345, lsl #32',
    'movk x0, #0x1f, lsl #48',
    'movz x1, #0x0',
    'movz x2, #0x0',
    'movz x3, #0x0',
    'movz x4, #0x8000, lsl #32',
    'br x4',
  ]);
  assert.equal(texts('a64', arm64KernelEntryStub({ dtb: 0, entry: 0xffff0000fffc }))[0], 'movz x0, #0x0');
  assert.equal(texts('a64', arm64KernelEntryStub({ dtb: 0, entry: 0xffff0000fffc })).slice(4, 6), [
    'movz x4, #0xfffc',
    'movk x4, #0xffff, lsl #32',
  ]);
});

test('arm64 movImm64 covers the full 64-bit range, including the top half', () => {
  const list = texts('a64', encode(a64.movImm64(9, 0xffffffffffffffffn)));
  assert.equal(list, [
    'movz x9, #0xffff',
    'movk x9, #0xffff, lsl #16',
    'movk x9, #0xffff, lsl #32',
    'movk x9, #0xffff, lsl #48',
  ]);
  assert.throws(() => a64.movImm64(0, 2n ** 64n), /not an unsigned 64-bit/);
});

test('arm64 entry: any address pair loads exactly (objdump, 300 random stubs)', () => {
  const pairs = fc.sample(fc.record({ dtb: fc.maxSafeNat(), entry: fc.maxSafeNat().map((n) => n - (n % 4)) }), {
    numRuns: 300,
    seed: 0x5eed,
  });
  const stubs = pairs.map((p) => arm64KernelEntryStub(p));
  const listings = split(
    disassemble('a64', concat(stubs)),
    stubs.map((s) => s.length),
  );
  listings.forEach((list, i) => {
    const regs = evalA64(list);
    assert.is(regs.get('x0'), BigInt(pairs[i]!.dtb), `dtb of stub ${i}`);
    assert.is(regs.get('x4'), BigInt(pairs[i]!.entry), `entry of stub ${i}`);
    for (const r of ['x1', 'x2', 'x3']) assert.is(regs.get(r), 0n);
    assert.is(list.at(-1), 'br x4');
  });
});

test('arm64 entry: bad addresses are refused', () => {
  assert.throws(() => arm64KernelEntryStub({ dtb: 0x40000000, entry: 0x40080002 }), /not 4-byte aligned/);
  assert.throws(() => arm64KernelEntryStub({ dtb: -8, entry: 0 }), /not a 64-bit address/);
  assert.throws(() => arm64KernelEntryStub({ dtb: 0.5, entry: 0 }), /not a 64-bit address/);
});

test('arm64 release stub: CPU_ON the boot core, record the result, CPU_OFF; fall through when already on it', () => {
  const stub = arm64ReleaseStub({ dtb: 0x49c00000, entry: 0x48000000, bootMpidr: 2 });
  const list = disassemble('a64', stub);
  assert.equal(
    list.map((d) => d.text),
    [
      'mrs x5, mpidr_el1',
      'movz x6, #0xffff',
      'movk x6, #0xff, lsl #16',
      'movk x6, #0xff, lsl #32',
      'and x5, x5, x6',
      'movz x1, #0x2',
      'subs xzr, x5, x1',
      'b.eq 0x50',
      'movz x0, #0x3',
      'movk x0, #0xc400, lsl #16',
      'adr x2, 0x50',
      'movz x3, #0x0',
      'hvc #0x0',
      'adr x7, 0x68',
      'str x0, [x7]',
      'movz x0, #0x2',
      'movk x0, #0x8400, lsl #16',
      'hvc #0x0',
      'hint #0x3', // WFI, printed as its HINT encoding under -M no-aliases
      'b 0x48',
      'movz x0, #0x49c0, lsl #16',
      'movz x1, #0x0',
      'movz x2, #0x0',
      'movz x3, #0x0',
      'movz x4, #0x4800, lsl #16',
      'br x4',
      'udf #1', // the result word, RELEASE_RESULT_PENDING until CPU_ON returns
      'udf #0',
    ],
  );
  const view = new DataView(stub.buffer, stub.byteOffset);
  assert.is(view.getBigUint64(stub.length - RELEASE_RESULT_BYTES.aarch64, true), BigInt(RELEASE_RESULT_PENDING));
  // The instruction words QEMU 7.2 executed for the same instructions, pinned.
  assert.equal(
    [list[0]!.word, list[4]!.word, list[6]!.word, list[7]!.word, list[10]!.word],
    [0xd53800a5, 0x8a0600a5, 0xeb0100bf, 0x540001a0, 0x10000142],
  );
});

test('arm64 release stub: result word stays 8-aligned and last, Aff3 reaches x1, SMC conduit', () => {
  for (const dtb of [0x49c00000, 0x49c01234, 0x1f23456789abc8]) {
    const stub = arm64ReleaseStub({ dtb, entry: 0x48000000, bootMpidr: 0x0100000003, conduit: 'smc' });
    const list = disassemble('a64', stub);
    const regs = evalA64(list.slice(0, 7).map((d) => d.text));
    assert.is(regs.get('x1'), 0x0100000003n);
    assert.is(regs.get('x6'), 0xff00ffffffn);
    assert.is(list.filter((d) => d.text === 'smc #0x0').length, 2);
    assert.is(list.filter((d) => d.text.startsWith('hvc')).length, 0);
    const enter = targetOf(list, /^b\.eq /);
    assert.is(targetOf(list, /^adr x2,/), enter);
    assert.is(list.find((d) => d.offset === enter)!.text.startsWith('movz x0,'), true);
    const result = targetOf(list, /^adr x7,/);
    assert.is(result % 8, 0);
    assert.is(result, stub.length - RELEASE_RESULT_BYTES.aarch64);
    const ids = evalA64(
      list.filter((d) => d.offset < list.find((x) => x.text === 'smc #0x0')!.offset).map((d) => d.text),
    );
    assert.is(ids.get('x0'), 0xc4000003n);
  }
  assert.throws(() => arm64ReleaseStub({ dtb: 0, entry: 0, bootMpidr: 2 ** 40 }), /not a 40-bit address/);
});

// ---- ARMv7 ----------------------------------------------------------------------------------

test('armv7 entry: r0 = 0, r1 = ~0, r2 = dtb, BX to entry', () => {
  assert.equal(texts('a32', armv7KernelEntryStub({ dtb: 0x4a200000, entry: 0x49c00000 })), [
    'mov r0, #0',
    'mvn r1, #0',
    'movw r2, #0',
    'movt r2, #18976',
    'movw r3, #0',
    'movt r3, #18880',
    'bx r3',
  ]);
  assert.equal(texts('a32', armv7KernelEntryStub({ dtb: 0x8000, entry: 0xffffffff })).slice(2), [
    'movw r2, #32768',
    'movw r3, #65535',
    'movt r3, #65535',
    'bx r3',
  ]);
  assert.throws(() => armv7KernelEntryStub({ dtb: 2 ** 32, entry: 0 }), /not a 32-bit address/);
});

test('armv7 entry: any address pair loads exactly (objdump, 300 random stubs)', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const pairs = fc.sample(fc.record({ dtb: u32, entry: u32 }), { numRuns: 300, seed: 0x5eed });
  const stubs = pairs.map((p) => armv7KernelEntryStub(p));
  split(
    disassemble('a32', concat(stubs)),
    stubs.map((s) => s.length),
  ).forEach((list, i) => {
    const regs = evalA32(list);
    assert.is(regs.get('r0'), 0);
    assert.is(regs.get('r1'), 0xffffffff);
    assert.is(regs.get('r2'), pairs[i]!.dtb);
    assert.is(regs.get('r3'), pairs[i]!.entry);
  });
});

test('armv7 release stub: SMC32 CPU_ON, result word last, fall through to the entry code', () => {
  const stub = armv7ReleaseStub({ dtb: 0x4a200000, entry: 0x49c00000, bootMpidr: 0x102 });
  const list = disassemble('a32', stub);
  assert.equal(
    list.map((d) => d.text),
    [
      'mrc 15, 0, r5, cr0, cr0, {5}',
      'bic r5, r5, #-16777216',
      'movw r1, #258',
      'cmp r5, r1',
      'beq 0x44',
      'movw r0, #3',
      'movt r0, #33792',
      'add r2, pc, #32',
      'mov r3, #0',
      'hvc 0',
      'add r7, pc, #48',
      'str r0, [r7]',
      'movw r0, #2',
      'movt r0, #33792',
      'hvc 0',
      'wfi',
      'b 0x3c',
      'mov r0, #0',
      'mvn r1, #0',
      'movw r2, #0',
      'movt r2, #18976',
      'movw r3, #0',
      'movt r3, #18880',
      'bx r3',
      'andeq r0, r0, r1', // the result word, RELEASE_RESULT_PENDING
    ],
  );
  // adr reads PC + 8: both ADRs land on the entry code and the result word.
  const adr2 = list.find((d) => d.text.startsWith('add r2, pc'))!;
  assert.is(adr2.offset + 8 + 32, 0x44);
  const adr7 = list.find((d) => d.text.startsWith('add r7, pc'))!;
  assert.is(adr7.offset + 8 + 48, stub.length - RELEASE_RESULT_BYTES.armv7);
  assert.is(new DataView(stub.buffer).getUint32(stub.length - 4, true), RELEASE_RESULT_PENDING);
  const smc = texts('a32', armv7ReleaseStub({ dtb: 0, entry: 0, bootMpidr: 1, conduit: 'smc' }));
  assert.is(smc.filter((t) => t === 'smc 0').length, 2);
  assert.throws(() => armv7ReleaseStub({ dtb: 0, entry: 0, bootMpidr: 1 << 24 }), /not a 24-bit address/);
});

test('a32 modified immediates: encodable values round-trip through objdump, others are refused', () => {
  const list = texts('a32', encode([a32.mov(4, 0xff000000), a32.mov(4, 0x3fc), a32.bic(2, 3, 0xf000000f)]));
  assert.equal(list, ['mov r4, #-16777216', 'mov r4, #1020', 'bic r2, r3, #-268435441']);
  assert.is(a32.modifiedImmediate(0x101), undefined);
  assert.throws(() => a32.mov(0, 0x101), /not an A32 modified immediate/);
});

// ---- RISC-V ---------------------------------------------------------------------------------

const LI_CASES: readonly [bigint, string[]][] = [
  [0n, ['addi a1,zero,0']],
  [2047n, ['addi a1,zero,2047']],
  [-2048n, ['addi a1,zero,-2048']],
  [-2049n, ['lui a1,0xfffff', 'addiw a1,a1,2047']],
  [0x12345678n, ['lui a1,0x12345', 'addiw a1,a1,1656']],
  [0x12345fffn, ['lui a1,0x12346', 'addiw a1,a1,-1']], // low 12 bits sign-extend: LUI rounds up
  [0x7fffffffn, ['lui a1,0x80000', 'addiw a1,a1,-1']], // LUI alone would sign-extend; ADDIW wraps back
  [0x80000000n, ['addi a1,zero,1', 'slli a1,a1,0x1f']], // positive but past int32: no LUI sign-extension
  [0x80200000n, ['addi a1,zero,1025', 'slli a1,a1,0x15']],
  [0x8fe00000n, ['addi a1,zero,1151', 'slli a1,a1,0x15']],
  // Low 12 bits negative past int32.
  [0x80000800n, ['lui a1,0x80', 'addiw a1,a1,1', 'slli a1,a1,0xc', 'addi a1,a1,-2048']],
  [0xfffff800n, ['addi a1,zero,1', 'slli a1,a1,0x20', 'addi a1,a1,-2048']],
  [-1n, ['addi a1,zero,-1']],
  [2n ** 63n - 1n, ['addi a1,zero,1', 'slli a1,a1,0x3f', 'addi a1,a1,-1']],
];

test('riscv li: LUI/ADDI(W)/SLLI sequences, including sign-extension edges', () => {
  const seqs = LI_CASES.map(([value]) => encode(liSequence(X.a1, value)));
  const listings = split(
    disassemble('rv64', concat(seqs)),
    seqs.map((s) => s.length),
  );
  LI_CASES.forEach(([value, expected], i) => assert.equal(listings[i], expected, `li ${value}`));
});

test('riscv li: any 64-bit value loads exactly (objdump, 400 random values)', () => {
  const values = fc.sample(
    fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 40n }),
      fc.bigInt({ min: -(2n ** 32n), max: 2n ** 32n }),
      fc.constantFrom(
        2n ** 63n - 1n,
        -(2n ** 63n),
        0x7ffff800n,
        0x7ffff7ffn,
        -(2n ** 31n),
        2n ** 31n - 1n,
        0xfffff800n,
      ),
    ),
    { numRuns: 400, seed: 0x5eed },
  );
  const seqs = values.map((v) => encode(liSequence(X.a1, v)));
  split(
    disassemble('rv64', concat(seqs)),
    seqs.map((s) => s.length),
  ).forEach((list, i) => {
    assert.is(evalRv(list).get('a1'), BigInt.asIntN(64, values[i]!), `li ${values[i]}: ${list.join('; ')}`);
    assert.ok(list.length <= 8, `li ${values[i]} took ${list.length} instructions`);
  });
});

test('riscv stub: foreign harts park; the boot hart enters OpenSBI (a1 = dtb, a2 = info); others await MSIP', () => {
  const stub = riscvBootStub({
    harts: [2, 3],
    bootHart: 2,
    dtb: 0x8fe00000,
    fwDynamicInfo: 0x80100000,
    firmware: 0x80000000,
  });
  const list = disassemble('rv64', stub);
  assert.equal(
    list.map((d) => d.text),
    [
      'csrrw zero,mie,zero',
      'csrrs a0,mhartid,zero',
      'addi t0,zero,2',
      'beq a0,t0,0x20', // partition
      'addi t0,zero,3',
      'beq a0,t0,0x20',
      'wfi', // park
      'jal zero,0x18',
      'addi t0,zero,2', // partition: the boot hart goes straight on
      'beq a0,t0,0x44',
      'addi t1,zero,8', // MSIP
      'csrrw zero,mie,t1',
      'wfi', // wait for OpenSBI's HSM hart_start IPI
      'csrrs t1,mip,zero',
      'andi t1,t1,8',
      'beq t1,zero,0x30',
      'csrrw zero,mie,zero',
      'addi a1,zero,1151', // enter
      'slli a1,a1,0x15',
      'lui a2,0x1',
      'addiw a2,a2,-2047',
      'slli a2,a2,0x14',
      'addi t0,zero,1',
      'slli t0,t0,0x1f',
      'jalr zero,0(t0)',
    ],
  );
  const regs = evalRv(list.slice(17).map((d) => d.text));
  assert.is(regs.get('a1'), 0x8fe00000n);
  assert.is(regs.get('a2'), 0x80100000n);
  assert.is(regs.get('t0'), 0x80000000n);
});

test('riscv stub: a0 kept when the previous stage set it; hart ids beyond 12 bits; duplicates once', () => {
  const list = disassemble(
    'rv64',
    riscvBootStub({
      harts: [0x1000, 7, 7],
      bootHart: 7,
      dtb: 0x80000000,
      fwDynamicInfo: 0x80000040,
      firmware: 0x80200000,
      hartIdFrom: 'a0',
    }),
  );
  const t = list.map((d) => d.text);
  assert.equal(t.slice(0, 2), ['csrrw zero,mie,zero', 'lui t0,0x1']);
  assert.is(t.includes('csrrs a0,mhartid,zero'), false);
  const partition = targetOf(list, /^beq a0,t0,/);
  assert.is(list.filter((d) => d.text.startsWith('beq a0,t0,') && targetOf([d], /./) === partition).length, 2);
  assert.is(list.find((d) => d.offset === partition)!.text, 'addi t0,zero,7');
  assert.is(targetOf(list, /^jal zero,/), list.find((d) => d.text === 'wfi')!.offset);
  const enter = targetOf(
    list.filter((d) => d.offset > partition),
    /^beq a0,t0,/,
  );
  assert.is(evalRv(list.filter((d) => d.offset >= enter).map((d) => d.text)).get('a1'), 0x80000000n);
  assert.throws(
    () => riscvBootStub({ harts: [], bootHart: 0, dtb: 0, fwDynamicInfo: 0, firmware: 0 }),
    /at least one hart/,
  );
  assert.throws(
    () => riscvBootStub({ harts: [1], bootHart: 0, dtb: 0, fwDynamicInfo: 0, firmware: 0 }),
    /not one of the harts/,
  );
  assert.throws(
    () => riscvBootStub({ harts: [0], bootHart: 0, dtb: 0, fwDynamicInfo: 0, firmware: 2 }),
    /not 4-byte aligned/,
  );
});

test('fw_dynamic_info: six little-endian u64 in fw_dynamic.h order', () => {
  const info = fwDynamicInfo({ nextAddr: 0x80200000, bootHart: 3, options: FW_DYNAMIC_INFO.OPTIONS.NO_BOOT_PRINTS });
  assert.is(info.length, 48);
  const view = new DataView(info.buffer);
  const fields = [0, 1, 2, 3, 4, 5].map((i) => view.getBigUint64(i * 8, true));
  assert.equal(fields, [0x4942534fn, 2n, 0x80200000n, 1n, 1n, 3n]);
  assert.equal([...info.subarray(0, 4)], [0x4f, 0x53, 0x42, 0x49]); // "OSBI"
  const lottery = new DataView(fwDynamicInfo({ nextAddr: 0x80200000, bootHart: 'lottery', nextMode: 'M' }).buffer);
  assert.is(lottery.getBigUint64(40, true), 2n ** 64n - 1n);
  assert.is(lottery.getBigUint64(24, true), 3n);
});

test('encoders refuse operands that do not fit', () => {
  assert.throws(() => a64.movz(32, 0, 0), /register 32/);
  assert.throws(() => a64.movz(0, 0x10000, 0), /imm16/);
  assert.throws(() => a64.bcond(a64.Cond.EQ, 2), /multiple of 4/);
  assert.throws(() => a64.b(2 ** 28), /26 signed bits/);
  assert.throws(() => a32.movw(0, -1), /imm16/);
  assert.throws(() => a32.b(2 ** 26), /24 bits/);
  assert.throws(() => liSequence(32, 0n), /x0-x31/);
});

test('all encoders agree with objdump on one listing per ISA', () => {
  const isaCases: [Isa, number[], string[]][] = [
    [
      'a64',
      [a64.hvc(0x1234), a64.smc(1), a64.wfi(), a64.str(3, 4, 16), a64.adr(5, -8), a64.b(-4), a64.bcond(a64.Cond.NE, 8)],
      ['hvc #0x1234', 'smc #0x1', 'hint #0x3', 'str x3, [x4, #16]', 'adr x5, 0x8', 'b 0x10', 'b.ne 0x20'],
    ],
    [
      'a32',
      [a32.hvc(0xabcd), a32.smc(3), a32.wfi(), a32.str(1, 2, 4), a32.b(-16, a32.Cond.NE), a32.mvn(0, 0)],
      ['hvc 43981', 'smc 3', 'wfi', 'str r1, [r2, #4]', 'bne 0x0', 'mvn r0, #0'],
    ],
  ];
  for (const [isa, code, expected] of isaCases) assert.equal(texts(isa, encode(code)), expected, isa);
});

test.run();
