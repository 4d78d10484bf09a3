// `vman agent`'s command line: what it needs and what it refuses, each with one clear message and exit 1
// before it connects anywhere (the agent itself, against a real API server: test/fleet/agent.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tempConfig, vman } from '../helpers/cli.js';

const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
  'users: [{name: u, user: {token: t}}]',
  'contexts: [{name: x, context: {cluster: c, user: u, namespace: vman-edge1}}]',
  'current-context: x',
  '',
].join('\n');

test('vman agent: missing or bad flags, a local config directory: refused with what to change', () => {
  const dir = tempConfig();
  try {
    writeFileSync(join(dir, 'kc.yaml'), KUBECONFIG);
    const cases: [string[], RegExp][] = [
      [['agent', '--node', 'edge1'], /needs --kubeconfig FILE/],
      [['agent', '--kubeconfig', 'kc.yaml'], /needs --node NAME/],
      [['agent', '--kubeconfig', 'kc.yaml', '--node', 'Edge_1'], /--node Edge_1: give a DNS label/],
      [['agent', '--kubeconfig', 'nope.yaml', '--node', 'edge1'], /--kubeconfig nope.yaml: no such file/],
      [
        ['agent', '--kubeconfig', 'kc.yaml', '--node', 'edge1', '--resync', '0s'],
        /--resync 0s: give a duration above 0/,
      ],
      [['agent', '-C', dir, '--kubeconfig', 'kc.yaml', '--node', 'edge1'], /takes its partitions from Kubernetes only/],
    ];
    for (const [args, message] of cases) {
      const r = vman(dir, args);
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const json = vman(dir, ['agent', '--json', '--node', 'edge1']);
    assert.equal(JSON.parse(json.stdout), {
      error: { message: 'vman agent needs --kubeconfig FILE (the device kubeconfig)' },
    });
    const help = vman(dir, ['agent', '--help']);
    assert.is(help.code, 0);
    assert.match(help.stdout, /--kubeconfig FILE/);
  } finally {
    cleanup(dir);
  }
});

test.run();
