// Hostile and odd files in partitions.d/: each gives one clear diagnostic with a code and a position,
// in bounded time, and no exception escapes the loader. Also: which names are ignored, empty and
// multi-document files, and that the order files are read in never changes the result.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifests, MAX_PROBLEMS_PER_FILE, type LoadedManifests } from '../../src/manifest/load.js';
import { MAX_MANIFEST_BYTES } from '../../src/manifest/decode.js';
import { MAX_BLOCK_COLUMN, MAX_FLOW_DEPTH } from '../../src/manifest/nesting.js';
import { CODES } from '../../src/rules/codes.js';
import { VALID, editLine, insertAfter, tempConfig, where, withConfig, type TempConfig } from './support.js';

/** The bound every hostile input must be handled within. */
const LIMIT_MS = 2000;

/** Loads the config, failing (not hanging) if the loader takes longer than LIMIT_MS or throws. */
async function timedLoad(c: TempConfig): Promise<LoadedManifests> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`loadManifests took more than ${LIMIT_MS} ms`)), LIMIT_MS * 2);
  });
  try {
    const r = await Promise.race([loadManifests(c.dir, c.dir), timeout]);
    const ms = performance.now() - started;
    assert.ok(ms < LIMIT_MS, `took ${ms.toFixed(0)} ms`);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/** One file `partitions.d/x.yaml` with `content`, expecting exactly one problem at code/line/column. */
async function hostile(content: string | Uint8Array, code: string, line: number, column: number): Promise<string> {
  return withConfig({ 'partitions.d/x.yaml': content }, async (c) => {
    const r = await timedLoad(c);
    assert.equal(
      r.problems.map(where).map(({ code: k, line: l, column: col }) => ({ code: k, line: l, column: col })),
      [{ code, line, column }],
    );
    assert.is(r.partitions.length, 0);
    return r.problems[0]?.message ?? '';
  });
}

test('an alias bomb (billion laughs) is refused as one problem', async () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const m = await hostile(`${levels.join('\n')}\n`, CODES.yamlTooDeep, 1, 1);
  assert.match(m, /alias/);
  // Many aliases to one small anchor are refused the same way.
  await hostile(`a: &a x\nb: [${Array(20000).fill('*a').join(',')}]\n`, CODES.yamlTooDeep, 1, 1);
});

test('a 10 MB file is refused before it is parsed (or read whole)', async () => {
  const big = new Uint8Array(10 * 1024 * 1024).fill(0x61);
  const m = await hostile(big, CODES.fileTooLarge, 1, 1);
  assert.match(m, new RegExp(`${MAX_MANIFEST_BYTES / 1024} KiB`));
  // Exactly the limit is read; one byte more is not.
  const atLimit = `# ${'x'.repeat(MAX_MANIFEST_BYTES - 3)}\n`;
  assert.is(atLimit.length, MAX_MANIFEST_BYTES);
  await withConfig({ 'partitions.d/x.yaml': atLimit }, async (c) => assert.equal((await timedLoad(c)).problems, []));
  await hostile(`${atLimit}#`, CODES.fileTooLarge, 1, 1);
});

test('a long manifest in plain YAML (15,000 labels) loads in bounded time', async () => {
  const labels = Array.from({ length: 15_000 }, (_, i) => `    k${i}: ${i % 2 ? 'v' : '"v"'}`).join('\n');
  await withConfig({ 'partitions.d/x.yaml': insertAfter(4, `  labels:\n${labels}`) }, async (c) => {
    const r = await timedLoad(c);
    assert.equal(r.problems, []);
    assert.is(Object.keys(r.partitions[0]?.labels ?? {}).length, 15_000);
  });
});

test('NUL bytes: the file is binary, reported at the first NUL', async () => {
  await hostile(`${VALID}    bootargs: "a\u0000b"\n`, CODES.binaryFile, 10, 17);
  await hostile(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0]), CODES.binaryFile, 1, 8);
});

test('bytes that are not UTF-8 (Latin-1, a lone continuation byte, a truncated sequence)', async () => {
  const enc = new TextEncoder();
  const latin1 = new Uint8Array([...enc.encode(`${VALID}    bootargs: caf`), 0xe9, 0x0a]);
  const m = await hostile(latin1, CODES.notUtf8, 10, 18);
  assert.match(m, /0xe9/);
  await hostile(new Uint8Array([...enc.encode('a: '), 0x80, 0x0a]), CODES.notUtf8, 1, 4);
  await hostile(new Uint8Array([...enc.encode('a: b\nc: '), 0xe2, 0x82]), CODES.notUtf8, 2, 4);
  // A UTF-8 byte-order mark and multi-byte text are fine.
  await withConfig({ 'partitions.d/x.yaml': `\ufeff${VALID}    bootargs: "café ☕"\n` }, async (c) => {
    const r = await timedLoad(c);
    assert.equal(r.problems, []);
    const boot = r.partitions[0]?.boot;
    assert.is(boot?.bootargs, 'café ☕');
  });
});

test('tabs used for indentation', async () => {
  const m = await hostile(editLine(9, '\tkernel: ../images/Image'), CODES.yamlTabs, 9, 1);
  assert.is(m, 'tabs are not allowed for indentation in YAML');
  await hostile(editLine(7, '\t memory: 256Mi'), CODES.yamlTabs, 7, 1);
});

test('10,000-deep flow nesting is refused before parsing, at the bracket past the limit', async () => {
  const m = await hostile(`a: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, CODES.yamlTooDeep, 1, 10_003);
  assert.is(m, `brackets are nested 10000 deep; at most ${MAX_FLOW_DEPTH} are allowed`);
  await hostile(`a: ${'{b: '.repeat(5000)}1${'}'.repeat(5000)}\n`, CODES.yamlTooDeep, 1, 4 + 4 * 4999);
  // Brackets inside quotes and comments do not count.
  await withConfig(
    { 'partitions.d/x.yaml': `${insertAfter(9, `    bootargs: "${'['.repeat(200)}"`)}# ${'{'.repeat(200)}\n` },
    async (c) => {
      assert.equal((await timedLoad(c)).problems, []);
    },
  );
});

test('deep block nesting is refused before parsing, at the first line past the limit', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(`${' '.repeat(i)}k:`);
  const m = await hostile(`${lines.join('\n')}\n`, CODES.yamlTooDeep, MAX_BLOCK_COLUMN + 2, MAX_BLOCK_COLUMN + 2);
  assert.match(m, /nested too deeply/);
  // Compact nested lists on one line: `- - - - … x`.
  await hostile(`${'- '.repeat(100_000)}x\n`, CODES.yamlTooDeep, 1, 1);
  await hostile(`${'? '.repeat(50_000)}x\n`, CODES.yamlTooDeep, 1, 1);
});

test('huge numbers: one problem each, never a wrapped or rounded value', async () => {
  await hostile(editLine(7, '  memory: 1e30'), CODES.badSize, 7, 11);
  const m = await hostile(editLine(7, '  memory: 18446744073709551616'), CODES.badSize, 7, 11);
  assert.match(m, /too large/);
  await hostile(editLine(7, '  memory: {size: 256Mi, base: 18446744073709551616}'), CODES.badAddress, 7, 31);
  await hostile(editLine(7, '  memory: 0x10000000000000000'), CODES.badSize, 7, 11);
  const cpus = await hostile(editLine(6, '  cpus: 1e30'), CODES.badValue, 6, 9);
  assert.is(cpus, '`spec.cpus` must be at most 4096, not 1e+30');
  await hostile(editLine(6, '  cpus: [18446744073709551616]'), CODES.badValue, 6, 10);
  await hostile(editLine(6, '  cpus: .inf'), CODES.wrongType, 6, 9);
});

test('negative sizes, addresses and counts', async () => {
  const m = await hostile(editLine(7, '  memory: -4096'), CODES.badSize, 7, 11);
  assert.match(m, /must not be negative/);
  await hostile(editLine(7, '  memory: -256Mi'), CODES.badSize, 7, 11);
  await hostile(editLine(7, '  memory: {size: 256Mi, base: -0x1000}'), CODES.badAddress, 7, 31);
  await hostile(editLine(6, '  cpus: -1'), CODES.badValue, 6, 9);
  await hostile(editLine(6, '  cpus: [1, -2]'), CODES.badValue, 6, 13);
});

test('a FIFO named x.yaml does not block the loader', async () => {
  await withConfig({}, async (c) => {
    const fifo = c.path('partitions.d/x.yaml');
    const r = spawnSync('mkfifo', [fifo]);
    assert.is(r.status, 0, 'mkfifo');
    const loaded = await timedLoad(c);
    assert.equal(loaded.problems.map(where), [{ code: CODES.unreadable, line: 1, column: 1 }]);
    assert.is(loaded.problems[0]?.message, 'partitions.d/x.yaml is a FIFO (named pipe), not a regular file');
  });
});

test('a directory named x.yaml', async () => {
  await withConfig({ 'partitions.d/x.yaml/inner.yaml': VALID }, async (c) => {
    const r = await timedLoad(c);
    assert.equal(r.problems.map(where), [{ code: CODES.unreadable, line: 1, column: 1 }]);
    assert.is(r.problems[0]?.message, 'partitions.d/x.yaml is a directory, not a regular file');
    assert.is(
      r.problems[0]?.hint,
      'move it out of partitions.d/, or rename it so that it does not end in .yaml or .yml',
    );
    assert.is(r.partitions.length, 0, 'manifests are not looked for below partitions.d/');
  });
});

test('a symbolic-link loop and a dangling link', async () => {
  await withConfig({}, async (c) => {
    symlinkSync('y.yaml', c.path('partitions.d/x.yaml'));
    symlinkSync('x.yaml', c.path('partitions.d/y.yaml'));
    const r = await timedLoad(c);
    assert.equal(r.problems.map(where), [
      { code: CODES.unreadable, line: 1, column: 1 },
      { code: CODES.unreadable, line: 1, column: 1 },
    ]);
    assert.equal(
      r.problems.map((p) => p.message),
      [
        'cannot read partitions.d/x.yaml: its symbolic links form a loop',
        'cannot read partitions.d/y.yaml: its symbolic links form a loop',
      ],
    );
  });
  await withConfig({}, async (c) => {
    symlinkSync('gone.yaml', c.path('partitions.d/x.yaml'));
    const r = await timedLoad(c);
    assert.equal(r.problems.map(where), [{ code: CODES.unreadable, line: 1, column: 1 }]);
    assert.match(r.problems[0]?.message ?? '', /does not exist/);
  });
  // A link to a good manifest elsewhere is followed.
  await withConfig({ 'elsewhere/web.yaml': VALID.replace('../images', '../../images') }, async (c) => {
    symlinkSync(c.path('elsewhere/web.yaml'), c.path('partitions.d/web.yaml'));
    const r = await timedLoad(c);
    assert.equal(r.problems, []);
    assert.is(r.partitions[0]?.name, 'web');
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NOBODY = 65534;

test('an unreadable file (chmod 000)', async () => {
  await withConfig({ 'partitions.d/x.yaml': VALID }, async (c) => {
    chmodSync(c.path('partitions.d/x.yaml'), 0o000);
    if (process.getuid?.() !== 0) {
      const r = await timedLoad(c);
      assert.equal(r.problems.map(where), [{ code: CODES.unreadable, line: 1, column: 1 }]);
      assert.is(r.problems[0]?.message, 'cannot read partitions.d/x.yaml: permission denied');
      return;
    }
    // Root reads any file, so run the loader as `nobody` in a child process.
    console.log('  (running as root: the chmod 000 check runs the loader as uid 65534)');
    chmodSync(c.dir, 0o755);
    chmodSync(c.path('partitions.d'), 0o755);
    const script = c.write(
      'probe.mjs',
      `const { loadManifests } = await import(${JSON.stringify(join(ROOT, 'src/manifest/load.ts'))});\n` +
        `const r = await loadManifests(${JSON.stringify(c.dir)}, ${JSON.stringify(c.dir)});\n` +
        'process.stdout.write(JSON.stringify(r.problems));\n',
    );
    chmodSync(script, 0o644);
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, HOME: '/tmp' },
    });
    assert.is(child.status, 0, child.stderr);
    const problems = JSON.parse(child.stdout) as {
      code: string;
      message: string;
      position: { line: number; column: number };
    }[];
    assert.equal(
      problems.map((p) => [p.code, p.position.line, p.position.column, p.message]),
      [[CODES.unreadable, 1, 1, 'cannot read partitions.d/x.yaml: permission denied']],
    );
  });
});

test('names that are not manifests are ignored, even when their content is garbage', async () => {
  const garbage = 'kind: [unclosed\n\u0000';
  const ignored = [
    '.hidden.yaml',
    'x.yaml~',
    '.#x.yaml',
    'x.yaml.swp',
    '.x.yaml.swp',
    'x.yaml.tmp',
    'x.part',
    'x.yaml.part',
    'README.md',
    'notes.txt',
    'x.json',
    'yaml',
  ];
  const files: Record<string, string> = { 'partitions.d/web.yml': VALID };
  for (const n of ignored) files[`partitions.d/${n}`] = garbage;
  await withConfig(files, async (c) => {
    const r = await timedLoad(c);
    assert.equal(r.problems, []);
    assert.equal(
      r.partitions.map((p) => p.name),
      ['web'],
    );
    assert.equal(
      r.files.map((f) => f.display),
      ['partitions.d/web.yml'],
    );
  });
});

test('empty files, comment-only files and empty documents declare nothing', async () => {
  const files = {
    'partitions.d/a.yaml': '',
    'partitions.d/b.yaml': '# nothing here yet\n',
    'partitions.d/c.yaml': '---\n',
    'partitions.d/d.yaml': '---\n# still nothing\n---\n...\n',
    'partitions.d/e.yaml': '\n\n   \n',
  };
  await withConfig(files, async (c) => {
    const r = await timedLoad(c);
    assert.equal(r.problems, []);
    assert.equal(r.partitions, []);
    assert.is(r.files.length, 5);
    assert.ok(r.present);
  });
  // No partitions.d/ at all is not a problem of the loader's (the CLI says so).
  const c = tempConfig();
  try {
    renameSync(c.path('partitions.d'), c.path('elsewhere'));
    const r = await timedLoad(c);
    assert.equal([r.present, r.problems, r.partitions], [false, [], []]);
  } finally {
    c.cleanup();
  }
});

test('multi-document files: each document is a partition, positions count from the file top', async () => {
  const db = VALID.replace('name: web', 'name: db').replace('cpus: 2', 'cpus: 1');
  const bad = VALID.replace('name: web', 'name: cache').replace('memory: 256Mi', 'memory: 512');
  const text = `---\n${VALID}---\n# comment only\n---\n${db}---\n${bad}...\n`;
  await withConfig({ 'partitions.d/all.yaml': text }, async (c) => {
    const r = await timedLoad(c);
    // Lines: 1 `---`, 2–10 web, 11 `---`, 12 comment, 13 `---`, 14–22 db, 23 `---`, 24–32 cache.
    assert.equal(
      r.partitions.map((p) => [p.name, p.source.doc, p.source.position.line]),
      [
        ['web', 0, 2],
        ['db', 2, 14],
      ],
    );
    assert.equal(r.problems.map(where), [{ code: CODES.badSize, line: 30, column: 11, path: ['spec', 'memory'] }]);
  });
});

test('thousands of bad documents in one file: the first problems, then a count', async () => {
  const doc = VALID.replace('memory: 256Mi', 'memory: 512');
  await withConfig({ 'partitions.d/x.yaml': Array(500).fill(doc).join('---\n') }, async (c) => {
    const r = await timedLoad(c);
    assert.is(r.problems.length, MAX_PROBLEMS_PER_FILE + 1);
    assert.equal(r.problems.slice(0, 2).map(where), [
      { code: CODES.badSize, line: 7, column: 11, path: ['spec', 'memory'] },
      { code: CODES.badSize, line: 17, column: 11, path: ['spec', 'memory'] },
    ]);
    const last = r.problems[MAX_PROBLEMS_PER_FILE];
    assert.equal(last && where(last), {
      code: CODES.tooManyProblems,
      line: 7 + 10 * MAX_PROBLEMS_PER_FILE,
      column: 11,
      path: ['spec', 'memory'],
    });
    assert.is(last?.message, `${500 - MAX_PROBLEMS_PER_FILE} more problems in this file not shown`);
  });
});

test('YAML features a manifest has no use for: tags, complex keys, unresolved and recursive aliases', async () => {
  await hostile(editLine(7, '  memory: !!binary aGVsbG8='), CODES.yamlSyntax, 7, 11);
  await hostile(editLine(7, '  memory: !custom 256Mi'), CODES.yamlSyntax, 7, 11);
  await hostile(editLine(7, '  memory: !!set {a, b}'), CODES.yamlSyntax, 7, 11);
  await hostile(insertAfter(5, '  ? [a, b]', '  : 1'), CODES.yamlSyntax, 6, 5);
  const m = await hostile(insertAfter(4, '  labels: *common'), CODES.yamlSyntax, 5, 11);
  assert.is(m, 'alias `*common` refers to no anchor `&common` defined before it');
  await hostile(editLine(6, '  cpus: &x [*x]'), CODES.yamlSyntax, 6, 13);
  // Anchors and aliases used plainly are fine.
  const anchored = VALID.replace('metadata:\n  name: web', 'metadata:\n  name: web\n  labels: &l {tier: web}');
  const aliased = VALID.replace('metadata:\n  name: web', 'metadata:\n  name: db\n  labels: *l');
  const shared = `${anchored}---\n${aliased}`;
  await withConfig({ 'partitions.d/x.yaml': shared }, async (c) => {
    const r = await timedLoad(c);
    assert.equal(
      r.problems.map(where),
      [{ code: CODES.yamlSyntax, line: 16, column: 11 }],
      'anchors do not reach across documents',
    );
  });
});

test('renaming files to change the reading order changes neither problems nor specs', async () => {
  const contents = [
    VALID,
    VALID.replace('name: web', 'name: db').replace('cpus: 2', 'cpus: [1, 1]'),
    VALID.replace('name: web', 'name: cache').replace('memory: 256Mi', 'memory: 100'),
    'kind: [oops\n',
    '',
    VALID.replace('name: web', 'name: web2'),
  ];
  const run = async (names: string[]) => {
    const c = tempConfig();
    try {
      names.forEach((n, i) => writeFileSync(c.path(`partitions.d/${n}`), contents[i] ?? ''));
      mkdirSync(c.path('images'));
      const r = await timedLoad(c);
      // Map each file back to the index of its content, so runs with different names compare.
      const id = (file: string) => String(names.indexOf(file.replace('partitions.d/', '')));
      const problems = r.problems
        .map((p) => ({ ...where(p), message: p.message, file: id(p.position?.file ?? '') }))
        .sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
      const specs = r.partitions
        .map((p) => ({ ...p, source: { ...p.source, absFile: '' } }))
        .sort((a, b) => a.name.localeCompare(b.name));
      // Paths in specs are absolute and positions name their file: take the temp dir and file names out.
      let json = JSON.stringify(specs).split(c.dir).join('<dir>');
      names.forEach((n, i) => (json = json.split(`"partitions.d/${n}"`).join(`"file ${i}"`)));
      return { problems, specs: JSON.parse(json) as unknown };
    } finally {
      c.cleanup();
    }
  };
  const forward = await run(['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'e.yaml', 'f.yaml']);
  const backward = await run(['z.yaml', 'y.yaml', 'x.yaml', 'w.yaml', 'v.yaml', 'u.yaml']);
  const shuffled = await run(['m.yaml', 'a.yml', 'q.yaml', '0.yaml', 'k.yml', 'b.yaml']);
  assert.is(forward.problems.length, 3);
  assert.equal(backward, forward);
  assert.equal(shuffled, forward);
});

test.run();
