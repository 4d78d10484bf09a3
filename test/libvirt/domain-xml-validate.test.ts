// The XML dumpxml prints is libvirt's own format: with its type 'vman' replaced by 'kvm' (a type
// libvirt's schema knows; vman's is not in it), libvirt's virt-xml-validate accepts it, for every
// example manifest and for generated partitions on every built-in board. The real validator, run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Board } from '../../src/board/model.js';
import { loadBoardFile } from '../../src/board/load.js';
import { loadManifests } from '../../src/manifest/load.js';
import { manifestToDomain } from '../../src/libvirt/domain-xml.js';
import { skip } from '../helpers/skip.js';
import { AARCH64, BOARDS, specArb } from './domain-xml-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The type the written XML is validated as. */
const VALIDATE_AS = 'kvm';
const HOW = 'install libvirt-clients (Debian) for virt-xml-validate';

const hasValidator = spawnSync('virt-xml-validate', ['--help'], { encoding: 'utf8' }).error === undefined;
const dir = mkdtempSync(join(tmpdir(), 'vman-domxml-'));
let files = 0;

/** Runs virt-xml-validate on `xml` as a domain; returns its status and output. */
function validate(xml: string): { status: number | null; out: string } {
  const file = join(dir, `d${files++}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const asKnownType = (xml: string) => xml.replace("<domain type='vman'", `<domain type='${VALIDATE_AS}'`);

test(`every example manifest's XML validates as type ${VALIDATE_AS}`, async () => {
  if (!hasValidator) return skip(`domain XML validation: virt-xml-validate is missing; ${HOW}`);
  let n = 0;
  for (const sub of [
    'examples/aarch64-mixed',
    'examples/armv7-linux',
    'examples/ci-generated',
    'examples/riscv64-bare',
    'examples/riscv64-linux',
    '.',
  ]) {
    let board: Board = AARCH64;
    if (existsSync(join(ROOT, sub, 'board.yaml'))) {
      const b = await loadBoardFile(join(ROOT, sub, 'board.yaml'), ROOT);
      if (!b.board) throw new Error(`${sub}/board.yaml does not load`);
      board = b.board;
    }
    for (const s of (await loadManifests(join(ROOT, sub), ROOT)).partitions) {
      for (const id of [undefined, 3]) {
        const xml = asKnownType(manifestToDomain(s, { board, ...(id !== undefined ? { id } : {}) }));
        const r = validate(xml);
        assert.is(r.status, 0, `${s.name}: ${r.out}\n${xml}`);
        assert.match(r.out, 'validates');
        n++;
      }
    }
  }
  assert.ok(n >= 60, `only ${n} documents`);
});

test(`generated partitions' XML validates as type ${VALIDATE_AS}, on every built-in board`, () => {
  if (!hasValidator) return skip(`domain XML validation: virt-xml-validate is missing; ${HOW}`);
  for (const board of BOARDS) {
    for (const s of fc.sample(specArb(board), { numRuns: 15, seed: 42 })) {
      const xml = asKnownType(manifestToDomain(s, { board }));
      const r = validate(xml);
      assert.is(r.status, 0, `${r.out}\n${xml}`);
    }
  }
});

test("type 'vman' itself is not in libvirt's schema: the swap above is what makes it validate", () => {
  if (!hasValidator) return skip(`domain XML validation: virt-xml-validate is missing; ${HOW}`);
  const s = fc.sample(specArb(AARCH64), { numRuns: 1, seed: 7 })[0];
  if (!s) throw new Error('no sample');
  const xml = manifestToDomain(s, { board: AARCH64 });
  assert.is.not(validate(xml).status, 0);
  assert.is(validate(asKnownType(xml)).status, 0);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
