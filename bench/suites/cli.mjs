// cli.plan_vs_node: a whole `vman plan` process on the demo (the repository's partitions.d/,
// a state directory that does not exist yet) against `node -e 0`, the floor of any Node CLI.
import { join } from 'node:path';
import { CLI, ROOT, dist } from '../lib/env.mjs';
import { interleave, median, runTimed } from '../lib/measure.mjs';
import { result } from '../lib/report.mjs';

// Whether `vman` starts from the prebuilt bundle (scripts/bundle-cli.mjs), which is what users of a
// fresh build run; a stale or missing bundle makes the CLI load dist/'s modules one by one.
async function startMode(log) {
  try {
    const { bundledRunner } = await dist('cli/main.cjs');
    if (bundledRunner(['plan'], {})) return 'bundle';
  } catch {
    // an older build without the bundle
  }
  log('warning: dist/bundle/ is missing or older than dist/ (run `npm run build`): vman starts from its ES modules');
  return 'modules';
}

async function planVsNode({ quick, dir, log }) {
  const mode = await startMode(log);
  const state = join(dir, 'cli-state-never-created');
  const node = process.execPath;
  const rounds = quick ? 21 : 31;
  const s = await interleave(
    {
      peer: async () => (await runTimed(node, ['-e', '0'])).ms,
      vman: async () =>
        (
          await runTimed(node, [CLI, 'plan', '-C', ROOT, '--state-dir', state], {
            env: { ...process.env, NO_COLOR: '1' },
          })
        ).ms,
    },
    rounds,
    { warmup: 2 },
  );
  const peer = median(s.peer);
  const mine = median(s.vman);
  return [
    result(
      'cli.plan_vs_node',
      mine / peer,
      'ratio',
      `node -e 0 (${peer.toFixed(1)} ms; vman plan ${mine.toFixed(1)} ms, from its ${mode === 'bundle' ? 'bundle' : 'ES modules'})`,
      '<= 1.5',
      { detail: { vman_ms: mine, node_ms: peer, rounds, start: mode } },
    ),
  ];
}

export const MEASURES = [{ names: ['cli.plan_vs_node'], unit: 'ratio', target: '<= 1.5', run: planVsNode }];
