// Hostile input, fuzzed: mutated manifests and boards are fed to `vman apply --json` (in process,
// through the same entry point as the binary). Whatever the bytes: no uncaught exception, no
// "this is a bug", every rejection carries a code and a position, and a rejected apply leaves
// the live state exactly as it was. VMAN_FUZZ_RUNS sets the count (10,000 by default; 1,000 under CI).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { run } from '../../src/cli/run.js';
import type { CommandIO } from '../../src/cli/io.js';
import { ROOT } from '../helpers/cli.js';

const RUNS = Number(process.env.VMAN_FUZZ_RUNS ?? (process.env.CI ? 1000 : 10000));
const dir = mkdtempSync(join(tmpdir(), 'vman-fuzz-'));
mkdirSync(join(dir, 'partitions.d'));
writeFileSync(
  join(dir, 'img.bin'),
  new Uint8Array(16384).map((_, i) => (i * 31) & 0xff),
);

const VALID = `apiVersion: vman.dev/v1alpha1
kind: Partition
metadata:
  name: base
  labels: {a: b}
spec:
  cpus: [1]
  memory: {size: 16Mi, base: 0x48000000}
  devices: [virtio0]
  boot:
    image: ../img.bin
    load: 0x0
    bootargs: "console=ttyAMA0"
  dependsOn: []
  readiness: {console: "ready", timeout: 5s}
`;
const BOARD = readFileSync(join(ROOT, 'examples/boards/qemu-virt-aarch64.yaml'), 'utf8');

function io(): CommandIO & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const stdin = Readable.from([]) as unknown as CommandIO['stdin'];
  return {
    out: (s) => void (out += s),
    outBytes: (b) => void (out += Buffer.from(b).toString('latin1')),
    err: (s) => void (err += s),
    outStream: { isTTY: false },
    errStream: { isTTY: false },
    stdin,
    env: { NO_COLOR: '1' },
    cwd: dir,
    stdout: () => out,
    stderr: () => err,
  };
}

/** Live state as the monitor keeps it (absent when nothing was ever applied). */
const liveState = () =>
  existsSync(join(dir, '.vman', 'sim', 'monitor.json'))
    ? readFileSync(join(dir, '.vman', 'sim', 'monitor.json'), 'utf8')
    : '';

// Mutations of a YAML text: each picks a line or a span and does something a user, a broken
// generator or an attacker might.
const scalarArb = fc.oneof(
  fc.constantFrom(
    '-1',
    '1e30',
    '18446744073709551616',
    '0x',
    '0xffffffffffffffffff',
    'null',
    '~',
    '[]',
    '{}',
    '"\\u0000"',
    'yes',
    '.inf',
    '-.nan',
    '1.5',
    '0',
    '256MB',
    '512',
    '1Gi',
    '99999Gi',
    '&a [*a]',
    '*nope',
    '!!binary AAAA',
    '@',
    '`',
    '|',
    '>',
  ),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
);
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('replace-value' as const), line: fc.nat(), value: scalarArb }),
  fc.record({ kind: fc.constant('delete-line' as const), line: fc.nat() }),
  fc.record({
    kind: fc.constant('rename-key' as const),
    line: fc.nat(),
    key: fc.constantFrom('cpu', 'memroy', 'Spec', 'kind', 'apiVersion', 'boot', 'image', 'kernel', 'initrd', 'x', ''),
  }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('tab' as const), line: fc.nat() }),
  fc.record({
    kind: fc.constant('bytes' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('nest' as const), line: fc.nat(), depth: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant('bomb' as const) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, ms: readonly Mutation[]): Uint8Array {
  let lines = text.split('\n');
  let tail: Uint8Array | undefined;
  for (const m of ms) {
    const i = 'line' in m ? m.line % Math.max(1, lines.length) : 0;
    const line = lines[i] ?? '';
    switch (m.kind) {
      case 'replace-value':
        lines[i] = line.includes(':') ? `${line.slice(0, line.indexOf(':') + 1)} ${m.value}` : m.value;
        break;
      case 'delete-line':
        lines.splice(i, 1);
        break;
      case 'rename-key':
        lines[i] = line.replace(/^(\s*)[^:\s]+:/, `$1${m.key}:`);
        break;
      case 'duplicate-line':
        lines.splice(i, 0, line);
        break;
      case 'indent':
        lines[i] = m.by >= 0 ? `${' '.repeat(m.by)}${line}` : line.slice(-m.by);
        break;
      case 'tab':
        lines[i] = `\t${line}`;
        break;
      case 'nest':
        lines[i] = `${line.split(':')[0] ?? 'x'}: ${'['.repeat(m.depth)}1${']'.repeat(m.depth)}`;
        break;
      case 'bomb':
        lines = [
          'a: &a ["x","x","x","x","x","x","x","x","x"]',
          ...Array.from(
            { length: 12 },
            (_, k) =>
              `${String.fromCharCode(98 + k)}: &${String.fromCharCode(98 + k)} [${Array(9)
                .fill(`*${String.fromCharCode(97 + k)}`)
                .join(',')}]`,
          ),
          ...lines,
        ];
        break;
      case 'bytes': {
        const joined = new TextEncoder().encode(lines.join('\n'));
        const at = m.at % Math.max(1, joined.length);
        tail = new Uint8Array([...joined.subarray(0, at), ...m.bytes, ...joined.subarray(at)]);
        lines = [];
        break;
      }
      case 'truncate': {
        const joined = lines.join('\n');
        lines = joined.slice(0, m.at % Math.max(1, joined.length)).split('\n');
        break;
      }
    }
  }
  return tail ?? new TextEncoder().encode(lines.join('\n'));
}

interface JsonOut {
  error?: {
    message: string;
    file?: string;
    line?: number;
    problems?: { file: string | null; line: number | null; column: number | null; code: string }[];
  };
  applied?: boolean;
}

test(`fuzzed manifests and boards (${RUNS} cases): no crash, coded and placed rejections, no change`, async () => {
  let rejected = 0;
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (onBoard, ms) => {
      rmSync(join(dir, 'partitions.d'), { recursive: true, force: true });
      mkdirSync(join(dir, 'partitions.d'));
      rmSync(join(dir, 'board.yaml'), { force: true });
      if (onBoard) {
        writeFileSync(join(dir, 'board.yaml'), mutate(BOARD, ms));
        writeFileSync(join(dir, 'partitions.d', 'p.yaml'), VALID);
      } else writeFileSync(join(dir, 'partitions.d', 'p.yaml'), mutate(VALID, ms));
      const before = liveState();
      const o = io();
      let code: number;
      try {
        code = await run(['apply', '--auto-approve', '--json', '--lock-timeout', '0s'], o);
      } catch (err) {
        throw new Error(`uncaught: ${(err as Error).stack}`, { cause: err });
      }
      assert.not.match(o.stderr(), 'This is a bug', o.stderr());
      assert.not.match(o.stderr(), /\n\s+at .+:\d+:\d+/, 'a stack trace was printed');
      const j = JSON.parse(o.stdout()) as JsonOut;
      if (code === 0) {
        accepted++;
        // It was still a valid config: converge back to nothing for the next case.
        await run(['destroy', '--auto-approve', '--json'], io());
        return;
      }
      rejected++;
      assert.is(code, 1);
      assert.ok(j.error, o.stdout());
      assert.ok((j.error?.problems ?? []).length > 0, `a rejection without diagnostics: ${o.stdout()}`);
      for (const p of j.error?.problems ?? []) {
        assert.match(p.code, /^VMAN-E\d{3}$/);
        assert.ok(
          p.file !== null && (p.line ?? 0) >= 1 && (p.column ?? 0) >= 1,
          `problem without a position: ${JSON.stringify(p)}`,
        );
      }
      assert.is(liveState(), before, 'a rejected apply changed the live state');
    }),
    { seed: 20261125, numRuns: RUNS },
  );
  console.log(`  ${RUNS} fuzzed cases: ${rejected} rejected, ${accepted} still valid and applied`);
  assert.ok(rejected > RUNS / 2);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
