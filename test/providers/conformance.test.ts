// `vman provider test`, proven both ways: good providers pass every requirement (`vman provider serve
// sim` and the Python example; `serve qemu` is in test/qemu/conformance.test.ts), and each provider in
// test/providers/broken/, a proxy in front of `serve sim` that breaks one rule, fails exactly the
// requirements that rule is about (besides what `serve sim` itself fails, which the first test
// reports). Requirements are asserted by number, not wording. Every run leaves no scratch directory and
// no process behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, vman } from '../helpers/cli.js';
import { skip } from '../helpers/skip.js';
import { runConformance, type ConformanceResult } from '../../src/providers/conformance/index.js';
import { lastingLeftoversUnder } from '../../src/providers/conformance/leftovers.js';
import { vmanCommand } from '../../src/cli/version.js';

const BROKEN = join(ROOT, 'test', 'providers', 'broken');
const EXAMPLE = join(ROOT, 'examples', 'providers', 'vman-provider-example');
/** Caps every call's timeout, so the provider that hangs costs seconds, not minutes. */
const TIMEOUT_MS = 3000;

interface Outcome {
  readonly result: ConformanceResult;
  readonly lines: readonly string[];
  /** The requirements with a failed check, sorted and once each. */
  readonly failing: readonly string[];
}

const order = (id: string) => id.slice(1).split('.').map(Number) as [number, number];
const sorted = (ids: Iterable<string>) =>
  [...new Set(ids)].sort((x, y) => order(x)[0] - order(y)[0] || order(x)[1] - order(y)[1]);

/** Runs the suite in-process on a scratch directory of its own, and checks it left nothing behind. */
async function conformance(provider: string, o: { timeoutMs?: number } = {}): Promise<Outcome> {
  const tmp = mkdtempSync(join(tmpdir(), 'vman-conformance-test-'));
  const lines: string[] = [];
  try {
    const result = await runConformance({
      provider,
      cwd: ROOT,
      env: process.env,
      vman: vmanCommand(),
      out: (line) => lines.push(line),
      tmpDir: tmp,
      ...o,
    });
    assert.equal(readdirSync(tmp), [], 'the scratch directory is removed');
    assert.equal(await lastingLeftoversUnder(tmp, 2000), [], 'no process is left under the scratch directory');
    assert.is(lines.length, result.checks.length, 'one line per check');
    const failing = sorted(result.checks.filter((c) => c.outcome === 'failed').map((c) => c.requirement));
    return { result, lines, failing };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The failed lines, for a message. */
const failures = (o: Outcome) => o.lines.filter((l) => l.startsWith('FAIL')).join('\n');

// The broken providers are proxies in front of `serve sim`: what sim itself fails is not theirs.
let sim: Promise<Outcome> | undefined;
const simOutcome = (): Promise<Outcome> => (sim ??= conformance('vman provider serve sim'));

test('`vman provider serve sim` passes every requirement', async () => {
  const o = await simOutcome();
  assert.equal(o.failing, [], failures(o));
  assert.equal(
    o.result.checks.filter((c) => c.outcome === 'skipped').map((c) => [c.requirement, c.detail]),
    [
      ['R14.2', 'capability console.read is false'],
      ['R14.3', 'capability powerOff is false'],
    ],
    'sim skips only what its capabilities exclude',
  );
});

test('the Python example provider passes every requirement', async () => {
  if (spawnSync('python3', ['--version']).status !== 0)
    return skip('the Python example provider: no python3 on PATH (Debian: apt-get install python3)');
  const o = await conformance(EXAMPLE);
  assert.equal(o.failing, [], failures(o));
});

/** Each broken provider and the requirements it must fail: exactly those. */
const BROKEN_PROVIDERS: readonly [file: string, rule: string, failing: readonly string[]][] = [
  ['non-idempotent-allocate.mjs', 'an allocate repeated is refused', ['R4.2']],
  // A repeated release is a release of what is absent.
  ['absent-release-fails.mjs', 'stop, scrub and release of an absent partition answer -32014', ['R11.2', 'R12.1']],
  // allocate's and scrubMemory's effects are such claims, load makes one appear, and the concurrent
  // checks look for the partitions they allocated.
  [
    'hides-half-made.mjs',
    'inspect leaves out partitions with nothing loaded',
    ['R3.2', 'R4.1', 'R6.1', 'R10.1', 'R14.4'],
  ],
  // Its answers break the schema too, and vman's engine refuses it.
  ['wrong-version.mjs', 'answers protocol version "0" whatever is offered', ['R1.1', 'R1.2', 'R2.1', 'R15.1']],
  ['stdout-garbage.mjs', 'writes a log line on stdout before each allocate answer', ['R1.9']],
  ['hangs-on-load.mjs', 'never answers load', ['R1.10']],
  // vman's engine, one provider process per command, plans the partition again.
  ['forgets-on-restart.mjs', 'keeps the monitor in memory only', ['R13.3', 'R15.1']],
  // Also when the two allocates race (it passes `concurrent` on from serve sim).
  ['shares-cores.mjs', "answers {} to an allocate of another partition's core", ['R4.3', 'R14.4']],
];

for (const [file, rule, expected] of BROKEN_PROVIDERS)
  test(`a provider that breaks one rule (${rule}) fails exactly ${expected.join(', ')}`, async () => {
    const o = await conformance(join(BROKEN, file), { timeoutMs: TIMEOUT_MS });
    const inherited = new Set((await simOutcome()).failing);
    assert.equal(
      o.failing.filter((id) => !inherited.has(id)),
      expected,
      failures(o),
    );
  });

test('the CLI prints a line per check and ends with `N passed, N failed`; a failure exits 1', () => {
  const r = vman(ROOT, ['provider', 'test', join(BROKEN, 'shares-cores.mjs')]);
  const lines = r.stdout.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  const m = /^(\d+) passed, (\d+) failed$/.exec(last);
  assert.ok(m, `the last line is the count: ${last}`);
  assert.ok(
    lines.every((l) => /^(ok {3}|FAIL |skip )R\d+\.\d+ /.test(l)),
    r.stdout,
  );
  assert.is(Number(m![2]), lines.filter((l) => l.startsWith('FAIL')).length);
  assert.is(Number(m![1]), lines.filter((l) => l.startsWith('ok')).length);
  assert.match(r.stdout, /^FAIL R4\.3 allocate of another partition's core is refused \(-32010\) — allocate /m);
  assert.is(r.code, 1, r.stderr);
});

test.run();
