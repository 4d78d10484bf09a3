// fdt.encode_us: building and encoding one partition's tree (the demo's `hello` on the built-in
// qemu-virt-aarch64 board), in process.
// fdt.large_vs_dtc: decode + encode of a ~1.8 MiB, 12k-node tree in process, against
// `dtc -I dtb -O dtb` on the same file as a whole process (dtc's own start-up is tiny).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dist, which } from '../lib/env.mjs';
import { interleave, median, nowMs, runTimed, timeInProcess } from '../lib/measure.mjs';
import { result, skipped } from '../lib/report.mjs';
import { largeDts } from '../lib/large-dts.mjs';

async function encodeOne({ quick }) {
  const [{ buildTree }, { encodeFdt }, { qemuVirtAarch64 }] = await Promise.all([
    dist('tree/build.js'),
    dist('fdt/encode.js'),
    dist('board/builtin/qemu-virt-aarch64.js'),
  ]);
  // What the demo's `hello` partition gets: two cores, 128 MiB, a virtio transport, bootargs.
  const input = {
    board: qemuVirtAarch64,
    name: 'hello',
    cpus: [2, 3],
    memory: { base: 0x4900_0000, size: 128 * 2 ** 20 },
    devices: ['virtio0'],
    bootargs: 'console=ttyAMA0 earlycon',
  };
  const bytes = encodeFdt(buildTree(input)).length;
  const per = await timeInProcess(() => encodeFdt(buildTree(input)), {
    samples: quick ? 15 : 41,
    batch: 200,
    warmup: 200,
  });
  const us = median(per) * 1000;
  return [result('fdt.encode_us', us, 'µs', null, 'report', { detail: { dtb_bytes: bytes } })];
}

async function large({ quick, dir }) {
  const dtc = which('dtc');
  if (!dtc)
    return [
      skipped('fdt.large_vs_dtc', 'ratio', '<= 0.25', 'dtc is not installed (apt-get install device-tree-compiler)'),
    ];
  const [{ decodeFdt }, { encodeFdt }] = await Promise.all([dist('fdt/decode.js'), dist('fdt/encode.js')]);
  const dts = join(dir, 'large.dts');
  const dtb = join(dir, 'large.dtb');
  writeFileSync(dts, largeDts({ buses: 12, perBus: 1000 }));
  await runTimed(dtc, ['-q', '-I', 'dts', '-O', 'dtb', '-o', dtb, dts]);
  const blob = new Uint8Array(readFileSync(dtb));
  const again = encodeFdt(decodeFdt(blob));
  if (Buffer.compare(Buffer.from(again), Buffer.from(blob)) !== 0)
    throw new Error('encodeFdt(decodeFdt(b)) is not byte-identical on the large tree');
  let nodes = 0;
  const count = (n) => {
    nodes++;
    n.children.forEach(count);
  };
  count(decodeFdt(blob).root);
  const out = join(dir, 'large.out.dtb');
  const s = await interleave(
    {
      peer: async () => (await runTimed(dtc, ['-I', 'dtb', '-O', 'dtb', '-o', out, dtb])).ms,
      vman: async () => {
        // Several in-process runs per dtc process, so both sides see the same noise; the median is kept.
        const t = [];
        for (let i = 0; i < 3; i++) {
          const start = nowMs();
          encodeFdt(decodeFdt(blob));
          t.push(nowMs() - start);
        }
        return median(t);
      },
    },
    quick ? 9 : 25,
    { warmup: 2 },
  );
  const peer = median(s.peer);
  const mine = median(s.vman);
  return [
    result(
      'fdt.large_vs_dtc',
      mine / peer,
      'ratio',
      `dtc -I dtb -O dtb (${peer.toFixed(0)} ms; vman ${mine.toFixed(1)} ms)`,
      '<= 0.25',
      { detail: { bytes: blob.length, nodes, vman_ms: mine, dtc_ms: peer } },
    ),
  ];
}

export const MEASURES = [
  { names: ['fdt.encode_us'], unit: 'µs', target: 'report', run: encodeOne },
  { names: ['fdt.large_vs_dtc'], unit: 'ratio', target: '<= 0.25', run: large },
];
