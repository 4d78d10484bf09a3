// Each design rule, through the real pipeline that `vman validate` runs (loadDesired on real files,
// then resolveDesired): its code, the manifest position it points at, and the partition it names.
// Boot files are synthetic and built here (an arm64 Image header, a zImage header, a riscv64 ELF
// from the installed cross compiler), so nothing depends on downloads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Board } from '../../src/board/model.js';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import { loadBoardFile } from '../../src/board/load.js';
import { loadDesired } from '../../src/desired/load.js';
import { resolveDesired } from '../../src/desired/resolve.js';
import { sha256Hex } from '../../src/images/digest.js';
import { sortDiagnostics, type Diagnostic } from '../../src/rules/diagnostic.js';
import { CODES } from '../../src/rules/codes.js';
import { BootCode } from '../../src/boot/codes.js';
import { arm64Image, armZImage, partition, withConfig, type TempConfig } from '../manifest/support.js';

const MiB = 1024 * 1024;

function builtin(name: string): Board {
  const b = getBuiltinBoard(name);
  if (!b) throw new Error(`no built-in board ${name}`);
  return b;
}
const AARCH64 = builtin('qemu-virt-aarch64');
const ARMV7 = builtin('qemu-virt-armv7');
const RISCV64 = builtin('qemu-virt-riscv64');

/** The images every config gets: a valid arm64 Image and a raw bare-metal binary. */
const IMAGES = { 'images/Image': arm64Image(), 'images/rtos.bin': 'a raw bare-metal image: any bytes load\n' };

/** Everything `vman validate` reports for a config: load problems, then resolve problems, sorted. */
async function check(c: TempConfig, board: Board = AARCH64, imageRoot?: string): Promise<Diagnostic[]> {
  const inputs = await loadDesired({ configDir: c.dir, cwd: c.dir, board, ...(imageRoot ? { imageRoot } : {}) });
  const set = resolveDesired(inputs, { digest: sha256Hex });
  return sortDiagnostics([...inputs.problems, ...set.problems]);
}

/** Where `token` is on 1-based `line` of a config file: the position a diagnostic should carry. */
function at(
  c: TempConfig,
  file: string,
  line: number,
  token: string,
  nth = 1,
): { file: string; line: number; column: number } {
  const text = readFileSync(c.path(file), 'utf8').split('\n')[line - 1] ?? '';
  let col = -1;
  for (let i = 0; i < nth; i++) col = text.indexOf(token, col + 1);
  if (col < 0) throw new Error(`${token} not on line ${line} of ${file}: ${text}`);
  return { file, line, column: col + 1 };
}

interface Expect {
  readonly code: string;
  readonly at: { file: string; line: number; column: number };
  readonly partition?: string;
}

/** The problems, compared as code + position + partition. */
function assertProblems(got: readonly Diagnostic[], want: readonly Expect[]): void {
  const simple = (d: Diagnostic) => ({
    code: d.code,
    at: d.position ? { file: d.position.file, line: d.position.line, column: d.position.column } : undefined,
    partition: d.partition,
  });
  assert.equal(
    got.map(simple),
    want.map((w) => ({ code: w.code, at: w.at, partition: w.partition })),
    got.map((d) => `${d.code} ${d.message}`).join('\n'),
  );
}

async function config(files: Record<string, string | Uint8Array>, fn: (c: TempConfig) => Promise<void>): Promise<void> {
  await withConfig({ ...IMAGES, ...files }, fn);
}

test('a valid config has no problems (the base every other case changes)', async () => {
  await config(
    {
      'partitions.d/a.yaml': partition('a', {
        cpus: '[1, 2]',
        memory: '{size: 256Mi, base: 0x50000000}',
        devices: '[virtio0]',
      }),
      'partitions.d/b.yaml': partition('b', { cpus: '2', boot: ['    image: ../images/rtos.bin'] }),
    },
    async (c) => {
      assert.equal(await check(c), []);
    },
  );
});

test('cores: reserved, unknown, claimed twice (the later name is told, whatever the file order)', async () => {
  await config({ 'partitions.d/a.yaml': partition('a', { cpus: '[0, 8]' }) }, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.coreReserved, at: at(c, 'partitions.d/a.yaml', 6, '0'), partition: 'a' },
      { code: CODES.coreUnknown, at: at(c, 'partitions.d/a.yaml', 6, '8'), partition: 'a' },
    ]);
    assert.is(got[0]?.message, 'core 0 is reserved by the management partition');
    assert.is(got[0]?.hint, 'choose from the free cores (see `vman board`), or write a count: cpus: 2');
    assert.is(got[1]?.message, 'core 8 does not exist: qemu-virt-aarch64 has cores 0–7');
  });
  // b's file is read first (y < z); still `b` (the later name) is the one told.
  await config(
    {
      'partitions.d/z.yaml': partition('a', { cpus: '[1, 2]' }),
      'partitions.d/y.yaml': partition('b', { cpus: '[3, 2]' }),
    },
    async (c) => {
      const got = await check(c);
      assertProblems(got, [{ code: CODES.coreTwice, at: at(c, 'partitions.d/y.yaml', 6, '2'), partition: 'b' }]);
      assert.is(got[0]?.message, 'core 2 is also claimed by partition `a` (partitions.d/z.yaml:6)');
    },
  );
});

test('cores: more than the board has for partitions', async () => {
  await config({ 'partitions.d/a.yaml': partition('a', { cpus: '8' }) }, async (c) => {
    const got = await check(c);
    assertProblems(got, [{ code: CODES.tooManyCores, at: at(c, 'partitions.d/a.yaml', 6, '8'), partition: 'a' }]);
    assert.is(
      got[0]?.message,
      'partition `a` asks for 8 cores; qemu-virt-aarch64 has 7 that partitions can use (of 8)',
    );
  });
});

test('memory: outside RAM, over the management reservation, over another partition', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', { memory: '{size: 64Mi, base: 0x30000000}' }),
    'partitions.d/b.yaml': partition('b', { memory: '{size: 64Mi, base: 0x46000000}' }),
    'partitions.d/c.yaml': partition('c', { memory: '{size: 256Mi, base: 0x50000000}' }),
    'partitions.d/d.yaml': partition('d', { memory: '{size: 64Mi, base: 0x58000000}' }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.memoryOutsideRam, at: at(c, 'partitions.d/a.yaml', 7, '0x30000000'), partition: 'a' },
      { code: CODES.memoryReserved, at: at(c, 'partitions.d/b.yaml', 7, '0x46000000'), partition: 'b' },
      { code: CODES.memoryOverlap, at: at(c, 'partitions.d/d.yaml', 7, '0x58000000'), partition: 'd' },
    ]);
    assert.is(
      got[0]?.message,
      'memory 0x30000000–0x33ffffff is not inside RAM: qemu-virt-aarch64 has 0x40000000–0x13fffffff',
    );
    assert.is(
      got[1]?.message,
      'memory 0x46000000–0x49ffffff overlaps 0x40000000–0x47ffffff, reserved by the management partition',
    );
    assert.is(
      got[2]?.message,
      "memory 0x58000000–0x5bffffff overlaps partition `c`'s 0x50000000–0x5fffffff (partitions.d/c.yaml:7)",
    );
  });
});

test('memory: a base misaligned for an arm64 kernel (2 MiB) but fine for a bare-metal image (4 KiB)', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', { memory: '{size: 64Mi, base: 0x48100000}' }),
    'partitions.d/b.yaml': partition('b', {
      memory: '{size: 64Mi, base: 0x50100000}',
      boot: ['    image: ../images/rtos.bin'],
    }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.misaligned, at: at(c, 'partitions.d/a.yaml', 7, '0x48100000'), partition: 'a' },
    ]);
    assert.is(got[0]?.message, 'memory base 0x48100000 is not aligned to 2 MiB, which this boot needs');
    assert.is(got[0]?.hint, 'use 0x48200000, or drop base to let vman place it');
  });
});

test('memory: a base misaligned for an ARMv7 zImage (128 MiB)', async () => {
  const files = {
    'images/zImage': armZImage(),
    'partitions.d/a.yaml': partition('a', {
      memory: '{size: 64Mi, base: 0x4a000000}',
      boot: ['    kernel: ../images/zImage'],
    }),
    'partitions.d/b.yaml': partition('b', {
      memory: '{size: 64Mi, base: 0x48000000}',
      boot: ['    kernel: ../images/zImage'],
    }),
  };
  await config(files, async (c) => {
    const got = await check(c, ARMV7);
    assertProblems(got, [
      { code: CODES.misaligned, at: at(c, 'partitions.d/a.yaml', 7, '0x4a000000'), partition: 'a' },
    ]);
    assert.is(got[0]?.message, 'memory base 0x4a000000 is not aligned to 128 MiB, which this boot needs');
    assert.is(got[0]?.hint, 'use 0x50000000, or drop base to let vman place it');
  });
});

test('memory: more than the largest RAM bank', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', { memory: '8Gi' }),
    'partitions.d/b.yaml': partition('b', { memory: '{size: 5Gi}' }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.notEnoughMemory, at: at(c, 'partitions.d/a.yaml', 7, '8Gi'), partition: 'a' },
      { code: CODES.notEnoughMemory, at: at(c, 'partitions.d/b.yaml', 7, '5Gi'), partition: 'b' },
    ]);
    assert.is(got[0]?.message, 'partition `a` asks for 8 GiB; the largest RAM bank of qemu-virt-aarch64 is 4 GiB');
  });
});

test('devices: unknown (did you mean), reserved, given twice', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', { devices: '[virtoi0, uart0, pcie0, virtio1]' }),
    'partitions.d/b.yaml': partition('b', { devices: '[virtio1]' }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.deviceUnknown, at: at(c, 'partitions.d/a.yaml', 8, 'virtoi0'), partition: 'a' },
      { code: CODES.deviceReserved, at: at(c, 'partitions.d/a.yaml', 8, 'uart0'), partition: 'a' },
      { code: CODES.deviceReserved, at: at(c, 'partitions.d/a.yaml', 8, 'pcie0'), partition: 'a' },
      { code: CODES.deviceTwice, at: at(c, 'partitions.d/b.yaml', 8, 'virtio1'), partition: 'b' },
    ]);
    assert.is(got[0]?.hint, 'did you mean `virtio0`?');
    assert.is(got[1]?.message, 'device `uart0` is reserved by the management partition');
    assert.is(got[3]?.message, 'device `virtio1` is also given to partition `a` (partitions.d/a.yaml:8)');
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('devices: a DMA master the board cannot confine is refused (custom board.yaml)', async () => {
  const board = readFileSync(`${ROOT}test/fixtures/board/custom-minimal.yaml`, 'utf8').replace(
    '  reserved:',
    [
      '    - name: dma0',
      '      node: dma-controller',
      '      compatible: ["acme,dma"]',
      '      reg: [{base: "0x30bf0000", size: "0x10000"}]',
      '      interrupts: [{spi: 120, trigger: level-high}]',
      '      dma: {kind: unconfined}',
      '  reserved:',
    ].join('\n'),
  );
  const files = {
    'board.yaml': board,
    'partitions.d/a.yaml': partition('a', { memory: '64Mi', devices: '[dma0, eth0]' }),
  };
  await config(files, async (c) => {
    const loaded = await loadBoardFile(c.path('board.yaml'), c.dir);
    assert.equal(loaded.problems, []);
    if (!loaded.board) throw new Error('board did not load');
    const got = await check(c, loaded.board);
    assertProblems(got, [{ code: CODES.dmaUnconfined, at: at(c, 'partitions.d/a.yaml', 8, 'dma0'), partition: 'a' }]);
    assert.is(got[0]?.message, 'device `dma0` masters DMA, and my-board declares no IOMMU or stream id to confine it');
  });
});

test('dependsOn: an unknown partition (did you mean), and cycles named in order', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', { dependsOn: '[b]' }),
    'partitions.d/b.yaml': partition('b', { dependsOn: '[c]' }),
    'partitions.d/c.yaml': partition('c', { dependsOn: '[a]' }),
    'partitions.d/db.yaml': partition('db', {}),
    'partitions.d/web.yaml': partition('web', { dependsOn: '[dbb]' }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.dependsCycle, at: at(c, 'partitions.d/a.yaml', 8, 'b'), partition: 'a' },
      { code: CODES.dependsUnknown, at: at(c, 'partitions.d/web.yaml', 8, 'dbb'), partition: 'web' },
    ]);
    assert.is(got[0]?.message, 'dependsOn forms a cycle: a → b → c → a');
    assert.is(got[1]?.message, 'partition `web` depends on `dbb`, which no manifest declares');
    assert.is(got[1]?.hint, 'did you mean `db`?');
  });
  // The cycle is named from its smallest member whichever file is read first.
  await config(
    {
      'partitions.d/1.yaml': partition('y', { dependsOn: '[x]' }),
      'partitions.d/2.yaml': partition('x', { dependsOn: '[y]' }),
    },
    async (c) => {
      const got = await check(c);
      assertProblems(got, [{ code: CODES.dependsCycle, at: at(c, 'partitions.d/2.yaml', 8, 'y'), partition: 'x' }]);
      assert.is(got[0]?.message, 'dependsOn forms a cycle: x → y → x');
    },
  );
});

test('duplicate names across two files: both declarations are told, each naming the other file', async () => {
  await config(
    { 'partitions.d/one.yaml': partition('web', {}), 'partitions.d/two.yaml': partition('web', { cpus: '2' }) },
    async (c) => {
      const got = await check(c);
      assertProblems(got, [
        { code: CODES.duplicateName, at: at(c, 'partitions.d/one.yaml', 4, 'web'), partition: 'web' },
        { code: CODES.duplicateName, at: at(c, 'partitions.d/two.yaml', 4, 'web'), partition: 'web' },
      ]);
      assert.is(got[0]?.message, 'partition `web` is declared twice: here and in partitions.d/two.yaml:4');
      assert.is(got[1]?.message, 'partition `web` is declared twice: here and in partitions.d/one.yaml:4');
    },
  );
});

test('image files: missing, a directory, a FIFO, empty', async () => {
  const files = {
    'images/empty': '',
    'partitions.d/a.yaml': partition('a', { boot: ['    kernel: ../images/nothere'] }),
    'partitions.d/b.yaml': partition('b', { boot: ['    image: ../images'] }),
    'partitions.d/c.yaml': partition('c', { boot: ['    image: ../images/fifo'] }),
    'partitions.d/d.yaml': partition('d', { boot: ['    kernel: ../images/empty'] }),
    'partitions.d/e.yaml': partition('e', { boot: ['    kernel: ../images/Image', '    initrd: ../images/initrd.gz'] }),
  };
  await config(files, async (c) => {
    assert.is(spawnSync('mkfifo', [c.path('images/fifo')]).status, 0);
    const started = performance.now();
    const got = await check(c);
    assert.ok(performance.now() - started < 2000, 'a FIFO is never opened for reading');
    assertProblems(got, [
      { code: CODES.imageMissing, at: at(c, 'partitions.d/a.yaml', 9, '../images/nothere'), partition: 'a' },
      { code: CODES.imageNotFile, at: at(c, 'partitions.d/b.yaml', 9, '../images'), partition: 'b' },
      { code: CODES.imageNotFile, at: at(c, 'partitions.d/c.yaml', 9, '../images/fifo'), partition: 'c' },
      { code: CODES.imageEmpty, at: at(c, 'partitions.d/d.yaml', 9, '../images/empty'), partition: 'd' },
      { code: CODES.imageMissing, at: at(c, 'partitions.d/e.yaml', 10, '../images/initrd.gz'), partition: 'e' },
    ]);
    assert.is(got[0]?.message, `kernel ${c.path('images/nothere')} does not exist`);
    assert.is(got[4]?.message, `initrd ${c.path('images/initrd.gz')} does not exist`);
  });
});

test('image files outside --image-root: plainly, through a symbolic link, through `..`', async () => {
  const files = {
    'root/Image': arm64Image(),
    'partitions.d/a.yaml': partition('a', { boot: ['    kernel: ../images/Image'] }),
    'partitions.d/b.yaml': partition('b', { boot: ['    kernel: ../root/link'] }),
    'partitions.d/c.yaml': partition('c', { boot: ['    kernel: ../root/../images/Image'] }),
    'partitions.d/d.yaml': partition('d', { boot: ['    kernel: ../root/Image'] }),
    'partitions.d/e.yaml': partition('e', { boot: ['    image: ../images/Image'] }),
  };
  await config(files, async (c) => {
    symlinkSync('../images/Image', c.path('root/link'));
    const got = await check(c, AARCH64, c.path('root'));
    assertProblems(got, [
      { code: CODES.imageOutsideRoot, at: at(c, 'partitions.d/a.yaml', 9, '../images/Image'), partition: 'a' },
      { code: CODES.imageOutsideRoot, at: at(c, 'partitions.d/b.yaml', 9, '../root/link'), partition: 'b' },
      { code: CODES.imageOutsideRoot, at: at(c, 'partitions.d/c.yaml', 9, '../root/../images/Image'), partition: 'c' },
      { code: CODES.imageOutsideRoot, at: at(c, 'partitions.d/e.yaml', 9, '../images/Image'), partition: 'e' },
    ]);
    assert.is(
      got[1]?.message,
      `kernel ${c.path('root/link')} (${c.path('images/Image')}) lies outside the image root ${c.path('root')}`,
    );
    // One file named by two partitions is described as each one uses it.
    assert.is(got[3]?.message, `image ${c.path('images/Image')} lies outside the image root ${c.path('root')}`);
  });
});

test('sha256 pins: a mismatch points at the pin; a match is fine', async () => {
  const image = arm64Image();
  const good = createHash('sha256').update(image).digest('hex');
  const files = {
    'partitions.d/a.yaml': partition('a', {
      boot: ['    kernel: ../images/Image', `    sha256: {kernel: "${'0'.repeat(63)}1"}`],
    }),
    'partitions.d/b.yaml': partition('b', {
      boot: ['    kernel: ../images/Image', `    sha256: {kernel: "${good.toUpperCase()}"}`],
    }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.imageDigestMismatch, at: at(c, 'partitions.d/a.yaml', 10, '"0000'), partition: 'a' },
    ]);
    assert.match(got[0]?.message ?? '', new RegExp(`has sha256 ${good}, but the manifest pins 0{63}1`));
  });
});

/** Compiles an overlay (dtc -@) into the config at `rel`. */
function overlay(c: TempConfig, rel: string, dts: string): void {
  const src = c.write(`${rel}.dts`, `/dts-v1/;\n/plugin/;\n${dts}\n`);
  const r = spawnSync('dtc', ['-@', '-I', 'dts', '-O', 'dtb', '-o', c.path(rel), src], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`dtc failed (install device-tree-compiler): ${r.error?.message ?? r.stderr}`);
}

test("overlays: a failure points at the overlay that failed (x.dtbo.v2, not x.dtbo, its name's prefix)", async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', {
      devices: '[virtio0]',
      boot: ['    kernel: ../images/Image', '    overlays: [../ov/x.dtbo, ../ov/x.dtbo.v2]'],
    }),
    'partitions.d/b.yaml': partition('b', {
      boot: ['    kernel: ../images/Image', '    overlays: [../ov/nolabel.dtbo, ../ov/x.dtbo]'],
    }),
  };
  await config(files, async (c) => {
    overlay(c, 'ov/x.dtbo', '&virtio0 { status = "okay"; };');
    overlay(c, 'ov/x.dtbo.v2', '&nosuchlabel { status = "okay"; };');
    overlay(c, 'ov/nolabel.dtbo', '&{/chosen} { vman,note = "fine"; };');
    const got = await check(c);
    // b's second overlay names virtio0, which b was not given: its tree has no such label.
    assertProblems(got, [
      { code: CODES.overlayInvalid, at: at(c, 'partitions.d/a.yaml', 11, '../ov/x.dtbo.v2'), partition: 'a' },
      { code: CODES.overlayInvalid, at: at(c, 'partitions.d/b.yaml', 10, '../ov/x.dtbo'), partition: 'b' },
    ]);
    assert.match(got[0]?.message ?? '', /label "nosuchlabel" is not in the base tree's __symbols__/);
    assert.match(got[1]?.message ?? '', /label "virtio0" is not in the base tree's __symbols__/);
  });
});

/** A riscv64 ELF executable linked at `text`, built now by the installed cross compiler. */
function riscvElf(c: TempConfig, text: number): Uint8Array {
  const src = c.write('build/start.c', 'void _start(void) { for (;;) { } }\n');
  const out = c.path('build/rtos.elf');
  const r = spawnSync(
    'riscv64-linux-gnu-gcc',
    ['-nostdlib', '-static', '-O2', '-Wl,--build-id=none', `-Wl,-Ttext=0x${text.toString(16)}`, '-o', out, src],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0)
    throw new Error(
      `riscv64-linux-gnu-gcc failed (install Debian package gcc-riscv64-linux-gnu): ${r.error?.message ?? r.stderr}`,
    );
  return readFileSync(out);
}

test('images not what they claim: random bytes as a kernel, gzip as a kernel, a riscv64 ELF on aarch64', async () => {
  await config({}, async (c) => {
    c.write('images/random', randomBytes(8192));
    c.write('images/Image.gz', gzipSync(arm64Image()));
    copyFileSync(c.write('images/rv.elf', riscvElf(c, 0x80200000)), c.path('images/rv2.elf'));
    c.write('partitions.d/a.yaml', partition('a', { boot: ['    kernel: ../images/random'] }));
    c.write('partitions.d/b.yaml', partition('b', { boot: ['    kernel: ../images/Image.gz'] }));
    c.write('partitions.d/c.yaml', partition('c', { boot: ['    image: ../images/rv.elf'] }));
    c.write('partitions.d/d.yaml', partition('d', { boot: ['    kernel: ../images/rv2.elf'] }));
    const got = await check(c);
    assertProblems(got, [
      { code: BootCode.KernelUnrecognised, at: at(c, 'partitions.d/a.yaml', 9, '../images/random'), partition: 'a' },
      { code: BootCode.KernelCompressed, at: at(c, 'partitions.d/b.yaml', 9, '../images/Image.gz'), partition: 'b' },
      { code: BootCode.ElfWrongMachine, at: at(c, 'partitions.d/c.yaml', 9, '../images/rv.elf'), partition: 'c' },
      { code: BootCode.KernelIsElf, at: at(c, 'partitions.d/d.yaml', 9, '../images/rv2.elf'), partition: 'd' },
    ]);
    assert.is(got[1]?.hint, 'decompress it: gzip -dc FILE > Image, or use arch/arm64/boot/Image from the kernel build');
  });
});

test('an image larger than the partition: raw past its end, raw into the DTB slot, an oversized kernel', async () => {
  const files = {
    'images/big.bin': new Uint8Array(5 * MiB).fill(1),
    'images/mid.bin': new Uint8Array(3 * MiB).fill(1),
    'images/Huge': arm64Image({ imageSize: 200 * MiB }),
    'partitions.d/a.yaml': partition('a', { memory: '4Mi', boot: ['    image: ../images/big.bin'] }),
    'partitions.d/b.yaml': partition('b', { memory: '4Mi', boot: ['    image: ../images/mid.bin'] }),
    'partitions.d/c.yaml': partition('c', { memory: '64Mi', boot: ['    kernel: ../images/Huge'] }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.imageTooLarge, at: at(c, 'partitions.d/a.yaml', 7, '4Mi'), partition: 'a' },
      { code: CODES.imageTooLarge, at: at(c, 'partitions.d/b.yaml', 7, '4Mi'), partition: 'b' },
      { code: CODES.layoutTooSmall, at: at(c, 'partitions.d/c.yaml', 7, '64Mi'), partition: 'c' },
    ]);
    assert.is(
      got[0]?.message,
      "partition `a`: the image (5 MiB) and the 2 MiB DTB slot do not fit in the partition's 4 MiB",
    );
    assert.match(got[2]?.message ?? '', /^partition `c`: memory 64 MiB is too small for this boot/);
  });
});

test('raw load and entry offsets outside the partition', async () => {
  const files = {
    'partitions.d/a.yaml': partition('a', {
      memory: '8Mi',
      boot: ['    image: ../images/rtos.bin', '    load: 0x800000'],
    }),
    'partitions.d/b.yaml': partition('b', { memory: '8Mi', boot: ['    image: ../images/rtos.bin', '    entry: 8Mi'] }),
    'partitions.d/c.yaml': partition('c', {
      memory: '8Mi',
      boot: ['    image: ../images/rtos.bin', '    load: 0x1000', '    entry: 0x1000'],
    }),
  };
  await config(files, async (c) => {
    const got = await check(c);
    assertProblems(got, [
      { code: CODES.imageOutsidePartition, at: at(c, 'partitions.d/a.yaml', 10, '0x800000'), partition: 'a' },
      { code: CODES.imageOutsidePartition, at: at(c, 'partitions.d/b.yaml', 10, '8Mi'), partition: 'b' },
    ]);
    assert.is(got[1]?.message, "partition `b`: entry offset 0x800000 lies outside the partition's 8 MiB");
  });
});

test('an ELF segment outside a partition with a fixed base (riscv64)', async () => {
  await config({}, async (c) => {
    c.write('images/rtos.elf', riscvElf(c, 0x90000000));
    c.write(
      'partitions.d/a.yaml',
      partition('a', { memory: '{size: 64Mi, base: 0x80200000}', boot: ['    image: ../images/rtos.elf'] }),
    );
    // Without a base the partition is placed over the segments.
    c.write('partitions.d/b.yaml', partition('b', { memory: '64Mi', boot: ['    image: ../images/rtos.elf'] }));
    const got = await check(c, RISCV64);
    assertProblems(got, [
      { code: CODES.imageOutsidePartition, at: at(c, 'partitions.d/a.yaml', 9, '../images/rtos.elf'), partition: 'a' },
    ]);
    assert.match(
      got[0]?.message ?? '',
      /^partition `a`: ELF segment \d+ at 0x8ffff000–0x[0-9a-f]+ lies outside the partition's memory 0x80200000–0x841fffff$/,
    );
  });
});

test('allocation failure: memory that does not fit, cores that run out', async () => {
  // 4 GiB of RAM less the 128 MiB management reservation: two 1.5 GiB partitions fit, a third does not.
  const mem = {
    'partitions.d/a.yaml': partition('a', { memory: '1536Mi' }),
    'partitions.d/b.yaml': partition('b', { memory: '1536Mi' }),
    'partitions.d/c.yaml': partition('c', { memory: '1536Mi' }),
  };
  await config(mem, async (c) => {
    const got = await check(c);
    assertProblems(got, [{ code: CODES.cannotPlace, at: at(c, 'partitions.d/c.yaml', 7, '1536Mi'), partition: 'c' }]);
    assert.is(
      got[0]?.message,
      'cannot place `c`: needs 1536 MiB contiguous; largest free block is 896 MiB at 0x108000000',
    );
  });
  const cores = {
    'partitions.d/a.yaml': partition('a', { cpus: '3' }),
    'partitions.d/b.yaml': partition('b', { cpus: '3' }),
    'partitions.d/c.yaml': partition('c', { cpus: '2' }),
  };
  await config(cores, async (c) => {
    const got = await check(c);
    assertProblems(got, [{ code: CODES.cannotPlace, at: at(c, 'partitions.d/c.yaml', 6, '2'), partition: 'c' }]);
    assert.is(got[0]?.message, 'cannot place `c`: needs 2 cores; 1 is free (7)');
  });
});

test('the set of problems does not depend on the order files are read in', async () => {
  const contents = [
    partition('a', {
      cpus: '[1, 2]',
      devices: '[virtio0]',
      memory: '{size: 64Mi, base: 0x50000000}',
      dependsOn: '[b]',
    }),
    partition('b', { cpus: '[2]', devices: '[virtio0]', memory: '{size: 64Mi, base: 0x52000000}', dependsOn: '[a]' }),
    partition('web', { dependsOn: '[dbb]' }),
    partition('web', { cpus: '2' }),
  ];
  const run = async (names: readonly string[]) => {
    const files: Record<string, string> = {};
    names.forEach((n, i) => (files[`partitions.d/${n}`] = contents[i] ?? ''));
    let out: unknown;
    await config(files, async (c) => {
      const got = await check(c);
      out = got
        .map((d) => ({
          code: d.code,
          file: names.indexOf((d.position?.file ?? '').replace('partitions.d/', '')),
          line: d.position?.line,
          column: d.position?.column,
          partition: d.partition,
        }))
        .sort((x, y) => x.file - y.file || (x.line ?? 0) - (y.line ?? 0) || x.code.localeCompare(y.code));
    });
    return out;
  };
  const forward = await run(['1.yaml', '2.yaml', '3.yaml', '4.yaml']);
  const backward = await run(['9.yaml', '8.yaml', '7.yaml', '6.yaml']);
  assert.equal(JSON.stringify(backward), JSON.stringify(forward));
  assert.is((forward as unknown[]).length, 7);
});

test.run();
