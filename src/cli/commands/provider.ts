// `vman provider serve sim|qemu`: a built-in backend over the provider protocol, on stdin/stdout.
// `vman provider test NAME|PATH|"CMD"`: the conformance suite against a provider; ends `N passed, N failed`.
import { join, resolve } from 'node:path';
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { vmanCommand } from '../version.js';
import { interruptible } from '../signals.js';

const given = (v: string | undefined): string | undefined => (v !== undefined && v !== '' ? v : undefined);

const provider: Command<'provider'> = async (inv, io) => {
  const [verb = '', what = ''] = inv.positionals;
  const f = inv.flags;
  if (verb === 'serve') {
    if (what !== 'sim' && what !== 'qemu')
      throw new VmanError('usage', `vman provider serve ${what}: the built-in backends are sim and qemu`);
    const configDir = resolve(io.cwd, given(f['config-dir']) ?? given(io.env.VMAN_CONFIG_DIR) ?? '.');
    const stateDir = resolve(io.cwd, given(f['state-dir']) ?? given(io.env.VMAN_STATE_DIR) ?? join(configDir, '.vman'));
    const { serveProvider } = await import('../../providers/serve.js');
    await serveProvider({ backend: what, stateDir, stdin: io.stdin, out: io.out, log: io.err });
    return 'ok';
  }
  if (verb === 'test') {
    const { runConformance } = await import('../../providers/conformance/index.js');
    const result = await interruptible(
      (signal) =>
        runConformance({
          provider: what,
          cwd: io.cwd,
          env: io.env,
          vman: vmanCommand(),
          out: f.json ? () => undefined : (line) => io.out(`${line}\n`),
          signal,
        }),
      { onFirst: () => io.err('vman provider test: interrupted; ending the provider processes\n') },
    );
    if (f.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else io.out(`${result.passed} passed, ${result.failed} failed\n`);
    return result.failed === 0 && !result.interrupted ? 'ok' : 'problems';
  }
  throw new VmanError('usage', `vman provider ${verb}: say \`serve sim|qemu\` or \`test NAME|PATH|"CMD"\``);
};

export default provider;
