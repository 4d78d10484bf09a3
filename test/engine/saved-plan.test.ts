// Saved plans are checked, not cast: a file whose entry, load address or core was edited after
// `vman plan --out` wrote it is refused before anything runs, on every backend; so is one that
// does not match the schema. Through the built CLI, as users run it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vman, tempConfig, cleanup, writePartition, arm64Image } from '../helpers/cli.js';

interface SavedStep {
  id: string;
  kind: string;
  cpus?: number[];
  entry?: number;
  dtbAddr?: number;
  bootCpu?: number;
  items?: { what: string; addr: number }[];
}
interface Saved {
  steps: SavedStep[];
  [k: string]: unknown;
}

/** Edits of a saved plan that a tampered file could carry, each naming the place it changes. */
const EDITS: Record<string, [string, (p: Saved) => void]> = {
  'the entry point': ['entry', (p) => step(p, 'release-cores', (s) => (s.entry = (s.entry ?? 0) + 0x1000))],
  'the boot core': ['bootCpu', (p) => step(p, 'release-cores', (s) => (s.bootCpu = 5))],
  'the DTB address': ['dtbAddr', (p) => step(p, 'release-cores', (s) => (s.dtbAddr = (s.dtbAddr ?? 0) + 0x200000))],
  'a load address': ['items', (p) => step(p, 'load', (s) => s.items?.[0] && (s.items[0].addr += 0x10000))],
  'the allocated cores': ['cpus', (p) => step(p, 'allocate', (s) => (s.cpus = [6]))],
};

function step(p: Saved, kind: string, edit: (s: SavedStep) => unknown): void {
  const s = p.steps.find((x) => x.kind === kind);
  if (!s) throw new Error(`no ${kind} step in the plan`);
  edit(s);
}

for (const backend of ['sim', 'qemu']) {
  test(`${backend}: a saved plan edited after it was made is refused, and nothing changes`, () => {
    const dir = tempConfig();
    try {
      writeFileSync(join(dir, 'Image'), arm64Image());
      writePartition(dir, 'linux0', { kernel: '../Image', cpus: 2, memory: '64Mi' });
      const made = vman(dir, ['plan', '--backend', backend, '--out', 'plan.json']);
      assert.is(made.code, 0, made.stderr);
      const original = readFileSync(join(dir, 'plan.json'), 'utf8');
      for (const [what, [field, edit]] of Object.entries(EDITS)) {
        const doc = JSON.parse(original) as Saved;
        edit(doc);
        writeFileSync(join(dir, 'edited.json'), JSON.stringify(doc));
        const r = vman(dir, ['apply', '--backend', backend, 'edited.json']);
        assert.is(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, 'is not the plan its inputs give', what);
        assert.match(r.stderr, field, what);
        assert.not.match(r.stdout, 'Apply complete', what);
      }
      // Nothing ran: no partition, no record, no QEMU.
      assert.not.ok(existsSync(join(dir, '.vman', 'state.json')));
      assert.not.ok(existsSync(join(dir, '.vman', 'qemu', 'linux0')));
      const status = vman(dir, ['status', '--backend', backend]);
      assert.match(status.stdout, 'No live partitions.');
      // A file that is not a plan's shape is refused by the schema, naming the field.
      const extra = { ...(JSON.parse(original) as Saved), note: 'added by hand' };
      writeFileSync(join(dir, 'extra.json'), JSON.stringify(extra));
      const e = vman(dir, ['apply', '--backend', backend, 'extra.json', '--json']);
      assert.is(e.code, 1);
      const err = (JSON.parse(e.stdout) as { error: { message: string; file: string } }).error;
      assert.match(err.message, 'is not a valid saved plan');
      assert.match(err.message, '`note`');
      assert.is(err.file, join(dir, 'extra.json'));
    } finally {
      cleanup(dir);
    }
  });
}

test('sim: the saved plan itself, unedited, applies exactly', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { cpus: [3] });
    assert.is(vman(dir, ['plan', '--out', 'plan.json']).code, 0);
    const r = vman(dir, ['apply', 'plan.json']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, 'Apply complete! 1 created');
  } finally {
    cleanup(dir);
  }
});

test.run();
