// Golden DTS for every partition of every example config, so a reviewer sees each partition's
// tree in the diff when it changes. A missing or different golden file fails; UPDATE_GOLDEN=1
// writes or rewrites it instead (and says which). The initrd addresses depend on the size of
// Debian's kernel (fetched, so it may move on): those two cells are checked against the plan
// instead of the golden file. An example that names the Debian payloads is skipped without them
// (a failure under CI: test/helpers/skip.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, vman, vmanJson, ROOT } from '../helpers/cli.js';
import { skip } from '../helpers/skip.js';

const EXAMPLES = join(ROOT, 'examples');
const GOLDEN = join(ROOT, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

// The Debian payloads (.cache/payloads/…) an example's manifests name that are not on this machine.
function missingPayloads(dir: string): string[] {
  const named = readdirSync(join(dir, 'partitions.d')).flatMap((f) =>
    [...readFileSync(join(dir, 'partitions.d', f), 'utf8').matchAll(/^[^#\n]*?(\.cache\/payloads\/[^\s'"#]+)/gm)].map(
      (m) => m[1] ?? '',
    ),
  );
  return [...new Set(named)].filter((p) => !existsSync(join(ROOT, p)));
}

const INITRD = /^(\s*linux,initrd-(?:start|end)) = <[^>]*>;$/gm;
const normalise = (dts: string) => dts.replace(INITRD, '$1 = <from the layout>;');

// The golden file must exist and match; with UPDATE_GOLDEN=1 it is written instead.
function checkGolden(file: string, actual: string, what: string): void {
  const golden = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const name = relative(ROOT, file);
  if (update) {
    if (golden === actual) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    console.log(`  UPDATE_GOLDEN=1: ${golden === undefined ? 'wrote' : 'updated'} ${name}`);
    return;
  }
  assert.ok(golden !== undefined, `${what}: ${name} is missing; UPDATE_GOLDEN=1 writes it (then review it)`);
  assert.fixture(actual, golden, `${what}: differs from ${name}; UPDATE_GOLDEN=1 rewrites it (then review the diff)`);
}

interface PlanJson {
  changes: { partition: string }[];
  steps: { kind: string; partition: string; items?: { what: string; addr: number; size: number }[] }[];
}

for (const ex of readdirSync(EXAMPLES)
  .filter((d) => existsSync(join(EXAMPLES, d, 'partitions.d')))
  .sort()) {
  const dir = join(EXAMPLES, ex);
  test(`example ${ex}: validates, and each partition's planned tree matches its golden DTS`, () => {
    const missing = missingPayloads(dir);
    if (missing.length) return skip(`example ${ex}: no ${missing.join(', ')}; run scripts/fetch-payloads.sh`);
    const v = vman(dir, ['validate']);
    assert.is(v.code, 0, v.stderr);
    mkdirSync(join(dir, '.no-state'), { recursive: true });
    const plan = vmanJson<PlanJson>(dir, ['plan', '--state-dir', join(dir, '.no-state')]).json;
    // A generated fleet of identical partitions: a few stand for all.
    for (const { partition } of ex === 'ci-generated' ? plan.changes.slice(0, 3) : plan.changes) {
      const r = vman(dir, ['fdt', partition, '--planned', '--dts', '--state-dir', join(dir, '.no-state')]);
      assert.is(r.code, 0, r.stderr);
      const dts = r.stdout;
      checkGolden(join(GOLDEN, ex, `${partition}.dts`), normalise(dts), `${ex}/${partition}`);
      // The initrd cells agree with where the plan loads the initrd.
      const load = plan.steps.find((s) => s.partition === partition && s.kind === 'load');
      const initrd = load?.items?.find((i) => i.what === 'initrd');
      const cells = [...dts.matchAll(/linux,initrd-(start|end) = <0x([0-9a-f]+) 0x([0-9a-f]+)>/g)].map((m) => [
        m[1],
        Number.parseInt(m[2] ?? '', 16) * 2 ** 32 + Number.parseInt(m[3] ?? '', 16),
      ]);
      if (initrd)
        assert.equal(cells, [
          ['start', initrd.addr],
          ['end', initrd.addr + initrd.size],
        ]);
      else assert.equal(cells, []);
      // No dtc warnings for the tree as DTB.
      const bin = vman(dir, [
        'fdt',
        partition,
        '--planned',
        '--out',
        join(dir, '.no-state', `${partition}.dtb`),
        '--state-dir',
        join(dir, '.no-state'),
      ]);
      assert.is(bin.code, 0, bin.stderr);
      const d = spawnSync(
        'dtc',
        ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', join(dir, '.no-state', `${partition}.dtb`)],
        { encoding: 'utf8' },
      );
      assert.is(d.stderr, '', `${ex}/${partition}: dtc warned: ${d.stderr}`);
      // Written to a pipe, the DTB is the same bytes, all of them, before vman exits.
      const piped = spawnSync(
        process.execPath,
        [CLI, 'fdt', partition, '--planned', '--state-dir', join(dir, '.no-state')],
        { cwd: dir, env: { ...process.env, VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' } },
      );
      assert.is(piped.status, 0, String(piped.stderr));
      assert.ok(
        Buffer.compare(piped.stdout, readFileSync(join(dir, '.no-state', `${partition}.dtb`))) === 0,
        `${ex}/${partition}: the piped DTB differs from --out's`,
      );
    }
    spawnSync('rm', ['-rf', join(dir, '.no-state')]);
  });
}

test.run();
