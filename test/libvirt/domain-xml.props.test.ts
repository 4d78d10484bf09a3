// The round trip: for any partition, define(dumpxml(x)) writes a manifest that loads as x (every spec
// field), and dumpxml of that is the same XML; over generated specs on every built-in board, and over
// every manifest in examples/ and partitions.d/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Board } from '../../src/board/model.js';
import { loadBoardFile } from '../../src/board/load.js';
import { loadManifests } from '../../src/manifest/load.js';
import type { PartitionSpec } from '../../src/manifest/types.js';
import { domainToManifest, manifestToDomain, nameUuid } from '../../src/libvirt/domain-xml.js';
import { AARCH64, BOARDS, comparable, counter, loadSpec, specArb } from './domain-xml-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = [
  'apiVersion: vman.dev/v1alpha1',
  'kind: Partition',
  'metadata: {name: rtos, labels: {role: control}}',
  'spec:',
  '  cpus: [1, 2]',
  '  memory: {size: 16Mi, base: 0x48000000}',
  '  devices: [gpio0, rtc0]',
  '  boot: {image: /images/rtos.bin, load: 0x0, bootargs: "a b", overlays: [/o/x.dtbo]}',
  '  dependsOn: [linux]',
  '  readiness: {console: "ready", timeout: 10s}',
  '  restartPolicy: Always',
  '',
].join('\n');

/** dumpxml → define → load: asserts the manifest is equivalent and dumps to the same XML. */
function roundTrip(s: PartitionSpec, board: Board): void {
  const xml = manifestToDomain(s, { board });
  const r = domainToManifest(xml, { board, state: s.state, newUuid: counter() });
  if (!r.ok) throw new Error(`define refused dumpxml's own XML: ${r.message}\n${xml}`);
  assert.is(r.name, s.name);
  assert.is(r.uuid, s.uid ?? nameUuid(s.name));
  const back = loadSpec(r.text, `/cfg/partitions.d/${s.name}.yaml`);
  assert.equal(comparable(back), comparable(s), xml);
  assert.is(manifestToDomain(back, { board }), xml, 'dumpxml of what define wrote is the same XML');
}

for (const board of BOARDS) {
  test(`round trip over generated partitions on ${board.name}`, () => {
    fc.assert(
      fc.property(specArb(board), (s) => roundTrip(s, board)),
      { numRuns: 200 },
    );
  });
}

test('round trip over every manifest in examples/ and partitions.d/', async () => {
  const dirs = [
    'examples/aarch64-mixed',
    'examples/armv7-linux',
    'examples/ci-generated',
    'examples/riscv64-bare',
    'examples/riscv64-linux',
    '.',
  ];
  let n = 0;
  for (const dir of dirs) {
    const abs = join(ROOT, dir);
    const boardFile = join(abs, 'board.yaml');
    let board = AARCH64;
    if (existsSync(boardFile)) {
      const loaded = await loadBoardFile(boardFile, ROOT);
      if (!loaded.board) throw new Error(`${boardFile}: ${JSON.stringify(loaded.problems)}`);
      board = loaded.board;
    }
    const m = await loadManifests(abs, ROOT);
    assert.equal(m.problems, [], dir);
    for (const s of m.partitions) {
      roundTrip(s, board);
      n++;
    }
  }
  assert.ok(n >= 30, `only ${n} manifests`);
});

test('any text, and any edit of a valid domain, gets an answer (a manifest or problems), never an exception', () => {
  const valid = manifestToDomain(loadSpec(EXAMPLE), { board: AARCH64 });
  const edit = fc
    .tuple(fc.nat({ max: valid.length }), fc.nat({ max: 12 }), fc.string({ unit: 'binary', maxLength: 12 }))
    .map(([at, del, ins]) => valid.slice(0, at) + ins + valid.slice(at + del));
  const markup = fc.string({
    unit: fc.constantFrom('<', '>', '/', '=', "'", '"', '&', ';', '#', 'x', ':', '!', '?', '-', '[', ' '),
    maxLength: 40,
  });
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), edit, markup), (text) => {
      const r = domainToManifest(text, { board: AARCH64, state: 'stopped', newUuid: counter() });
      if (r.ok) loadSpec(r.text);
      else {
        assert.ok(r.problems.length >= 1);
        assert.ok(r.message.length > 0);
      }
    }),
    { numRuns: 1500 },
  );
});

test.run();
