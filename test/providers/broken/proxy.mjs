// The broken providers' common part: a proxy in front of `vman provider serve sim` (the built CLI),
// line by line, with two hooks to break exactly one rule. `request(msg, ask)` sees each request
// from vman and returns an answer to send instead of forwarding it ({result} or {error}), HANG to
// never answer, or undefined to forward; `ask(method, params)` asks the inner provider itself.
// `answer(msg, req)` sees each answer of the inner provider (and its request) and may return
// another; `before(req)` may write to stdout before that answer goes out. Requests are handled one
// at a time, in order, as vman sends them.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const HANG = Symbol('hang');
const CLI = fileURLToPath(new URL('../../../dist/cli/main.cjs', import.meta.url));

/** Runs the proxy until vman closes stdin (or the inner provider exits). */
export async function proxy({ request, answer, before, env } = {}) {
  const inner = spawn(process.execPath, [CLI, 'provider', 'serve', 'sim'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  // 'close': once the inner provider exited and its last answers were passed on.
  inner.on('close', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
  const pending = new Map();
  const asked = new Map();
  let asks = 0;
  const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const ask = (method, params) =>
    new Promise((resolve, reject) => {
      const id = `proxy-${++asks}`;
      asked.set(id, { resolve, reject });
      inner.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });

  createInterface({ input: inner.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    if (typeof msg.id === 'string' && asked.has(msg.id)) {
      const a = asked.get(msg.id);
      asked.delete(msg.id);
      if (msg.error) a.reject(Object.assign(new Error(msg.error.message), msg.error));
      else a.resolve(msg.result);
      return;
    }
    const req = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (req) pending.delete(msg.id);
    if (req && before) before(req, (text) => process.stdout.write(text));
    write((req && answer?.(msg, req)) ?? msg);
  });

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (msg.id === undefined || !request) {
      if (msg.id !== undefined) pending.set(msg.id, msg);
      inner.stdin.write(`${line}\n`);
      continue;
    }
    const instead = await request(msg, ask);
    if (instead === HANG) continue;
    if (instead) {
      write({ jsonrpc: '2.0', id: msg.id, ...instead });
      continue;
    }
    pending.set(msg.id, msg);
    inner.stdin.write(`${line}\n`);
  }
  inner.stdin.end();
}

/** An error answer as the protocol has it. */
export function error(code, message) {
  return { error: { code, message, data: { retryable: false } } };
}
