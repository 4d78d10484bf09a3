// Helpers of the libvirt protocol tests: hex, stock clients (virsh, libvirt-python) as child
// processes, a raw RPC client for what stock clients never send, and a tap that records the
// frames between a real client and the server.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeMessage,
  FrameReader,
  type Header,
  type Message,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  VIR_NET_CALL,
  VIR_NET_OK,
} from '../../src/libvirt/rpc.js';

/** Bytes as lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Hex (spaces and newlines allowed) as bytes. */
export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** The Python with libvirt bindings (the `python3` on PATH may be a pyenv one without them). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether virsh and libvirt-python are installed. */
export function haveVirsh(): boolean {
  return existsSync('/usr/bin/virsh');
}

export function havePythonLibvirt(): boolean {
  return existsSync(SYSTEM_PYTHON) && existsSync('/usr/lib/python3/dist-packages/libvirt.py');
}

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix = 'vman-libvirt-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The URI stock clients use for a vman socket at `path`. */
export function uriFor(path: string): string {
  return `vman+unix:///system?socket=${path}`;
}

/** What a child process did. */
export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion (killed after timeoutMs). */
export function run(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** `virsh -c URI args…`. */
export function virsh(socketPath: string, args: readonly string[], timeoutMs?: number): Promise<Run> {
  return run('/usr/bin/virsh', ['-c', uriFor(socketPath), ...args], {
    timeoutMs,
    env: { ...process.env, LC_ALL: 'C' },
  });
}

/** Runs a Python script with the system Python (libvirt bindings); `SOCK` in it is the URI. */
export function python(socketPath: string, script: string, timeoutMs?: number): Promise<Run> {
  const prelude = `import libvirt\nURI = ${JSON.stringify(uriFor(socketPath))}\n`;
  return run(SYSTEM_PYTHON, ['-c', prelude + script], { timeoutMs });
}

/** A frame seen by the tap, with its direction. */
export interface TapFrame {
  readonly from: 'client' | 'server';
  readonly header: Header;
  readonly body: Uint8Array;
}

/** A proxy between a client and the server socket that records every frame both ways. */
export interface Tap {
  readonly path: string;
  readonly frames: TapFrame[];
  close(): Promise<void>;
}

/** Listens on `path` and forwards each connection to `target`, recording frames. */
export async function tap(path: string, target: string): Promise<Tap> {
  const frames: TapFrame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target);
    sockets.add(client).add(upstream);
    const fromClient = new FrameReader();
    const fromServer = new FrameReader();
    const record = (from: 'client' | 'server', ms: Message[]): void => {
      for (const m of ms) frames.push({ from, header: m.header, body: m.body.slice() });
    };
    client.on('data', (d: Buffer) => {
      record('client', fromClient.push(new Uint8Array(d)));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      record('server', fromServer.push(new Uint8Array(d)));
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    frames,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A raw RPC client: sends bytes or calls, collects the messages the server sends back. */
export class RawClient {
  /** Messages received and not yet taken by next(). */
  readonly messages: Message[] = [];
  /** Every message received, in order. */
  readonly all: Message[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private waiters: (() => void)[] = [];
  private serial = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      for (const m of this.reader.push(new Uint8Array(d))) {
        this.messages.push(m);
        this.all.push(m);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to a unix socket path, or to `{ host, port }`. */
  static open(where: string | { host: string; port: number }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof where === 'string' ? connect(where) : connect(where.port, where.host);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a CALL of the remote program (or the header fields given); returns its serial. */
  call(procedure: number, body: Uint8Array = new Uint8Array(0), header: Partial<Header> = {}): number {
    const serial = header.serial ?? this.serial++;
    this.write(
      encodeMessage(
        {
          prog: REMOTE_PROGRAM,
          vers: REMOTE_PROTOCOL_VERSION,
          proc: procedure,
          type: VIR_NET_CALL,
          status: VIR_NET_OK,
          ...header,
          serial,
        },
        body,
      ),
    );
    return serial;
  }

  /** Resolves with the first message (from now or before) matching `match`, or rejects after timeoutMs. */
  async next(match: (m: Message) => boolean, timeoutMs = 5_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(match);
      if (i >= 0) return this.messages.splice(i, 1)[0]!;
      if (this.closed) throw new Error('connection closed before the expected message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The reply to `serial`. */
  reply(serial: number, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.header.serial === serial && m.header.type === 1, timeoutMs);
  }

  /** Resolves once the server has closed the connection (rejects after timeoutMs). */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the connection is still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
