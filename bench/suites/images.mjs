// hash.vs_openssl: first-time digest throughput of sha256File against `openssl dgst -sha256` on the
// same 512 MiB file (both read it from the page cache once it is warm).
// plan.cached_images_ratio: a whole `vman plan` whose manifests name 1 GiB of unchanged images
// (digests cached in the state directory by an earlier run) against the same plan with small images.
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI, ROOT, dist, which } from '../lib/env.mjs';
import { interleave, median, nowMs, runTimed } from '../lib/measure.mjs';
import { result, skipped } from '../lib/report.mjs';

const MiB = 2 ** 20;
const HASH_FILE_MIB = 512;
/** Four partitions, each with a 256 MiB initrd: 1 GiB of images. */
const IMAGE_COUNT = 4;
const IMAGE_MIB = 256;

// Writes `mib` MiB of incompressible bytes (one random MiB, each copy with its index stamped in).
function writeBigFile(path, mib) {
  const block = randomBytes(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.writeUInt32BE(i, 0);
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}

async function hash({ quick, dir }) {
  const openssl = which('openssl');
  if (!openssl) return [skipped('hash.vs_openssl', 'ratio', '>= 0.9', 'openssl is not installed')];
  const { sha256File } = await dist('images/digest.js');
  const file = join(dir, 'hash-512MiB.bin');
  writeBigFile(file, HASH_FILE_MIB);
  const ours = (await sha256File(file)).sha256;
  const theirs = /([0-9a-f]{64})/.exec((await runTimed(openssl, ['dgst', '-sha256', file])).stdout)?.[1];
  if (ours !== theirs) throw new Error(`sha256File and openssl disagree on ${file}: ${ours} vs ${theirs}`);
  const s = await interleave(
    {
      peer: async () => (await runTimed(openssl, ['dgst', '-sha256', file])).ms,
      vman: async () => {
        const t = nowMs();
        await sha256File(file);
        return nowMs() - t;
      },
    },
    quick ? 5 : 9,
    { warmup: 1 },
  );
  const peer = median(s.peer);
  const mine = median(s.vman);
  // Throughput ratio: the same bytes, so it is the inverse of the time ratio.
  const mibs = (ms) => (HASH_FILE_MIB / (ms / 1000)).toFixed(0);
  return [
    result(
      'hash.vs_openssl',
      peer / mine,
      'ratio',
      `openssl dgst -sha256 (${mibs(peer)} MiB/s; vman ${mibs(mine)} MiB/s)`,
      '>= 0.9',
      { detail: { vman_ms: mine, openssl_ms: peer, mib: HASH_FILE_MIB } },
    ),
  ];
}

// A config directory of IMAGE_COUNT partitions, each booting the demo kernel with an initrd of `initrdMiB`.
function imageConfig(dir, initrdMiB, big) {
  const pd = join(dir, 'partitions.d');
  mkdirSync(pd, { recursive: true });
  mkdirSync(join(dir, 'images'), { recursive: true });
  for (let i = 0; i < IMAGE_COUNT; i++) {
    const initrd = join(dir, 'images', `initrd${i}.img`);
    // Only the digest cache is exercised once the first plan has run, so the big images can be sparse:
    // a random first MiB, then a hole up to their size (1 GiB on paper, little disk and no write time).
    writeFileSync(initrd, randomBytes(big ? MiB : 64 * 1024));
    if (big) truncateSync(initrd, initrdMiB * MiB);
    writeFileSync(
      join(pd, `p${i}.yaml`),
      [
        'apiVersion: vman.dev/v1alpha1',
        'kind: Partition',
        `metadata: {name: p${i}}`,
        'spec:',
        '  cpus: 1',
        '  memory: 512Mi',
        '  boot:',
        `    kernel: ${join(ROOT, '.cache', 'demo', 'hello-arm64.Image')}`,
        `    initrd: ../images/initrd${i}.img`,
        '    bootargs: "console=ttyAMA0"',
        '',
      ].join('\n'),
    );
  }
  // The state directory exists (as after an apply), so plan keeps its digest cache there.
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  return dir;
}

async function cached({ quick, dir }) {
  const big = imageConfig(join(dir, 'images-big'), IMAGE_MIB, true);
  const small = imageConfig(join(dir, 'images-small'), 0, false);
  const plan = (cfg) => async () =>
    (
      await runTimed(process.execPath, [CLI, 'plan', '-C', cfg, '--state-dir', join(cfg, 'state')], {
        env: { ...process.env, NO_COLOR: '1' },
      })
    ).ms;
  // The first plan hashes every image and fills the cache; only later runs are timed.
  const first = await plan(big)();
  await plan(small)();
  const s = await interleave({ peer: plan(small), vman: plan(big) }, quick ? 9 : 25, { warmup: 1 });
  const peer = median(s.peer);
  const mine = median(s.vman);
  return [
    result(
      'plan.cached_images_ratio',
      mine / peer,
      'ratio',
      `plan with 4 small images (${peer.toFixed(1)} ms; with 1 GiB cached ${mine.toFixed(1)} ms; ` +
        `uncached first run ${first.toFixed(0)} ms)`,
      '<= 1.2',
      { detail: { vman_ms: mine, small_ms: peer, first_ms: first, images_mib: IMAGE_COUNT * IMAGE_MIB } },
    ),
  ];
}

export const MEASURES = [
  { names: ['hash.vs_openssl'], unit: 'ratio', target: '>= 0.9', run: hash },
  { names: ['plan.cached_images_ratio'], unit: 'ratio', target: '<= 1.2', run: cached },
];
