// What a command may touch of the process: its streams, environment and working directory.
import { fstatSync, writeSync } from 'node:fs';

export interface CommandIO {
  readonly out: (s: string) => void;
  /** Raw bytes to standard output (a DTB written to a pipe). */
  readonly outBytes: (b: Uint8Array) => void;
  readonly err: (s: string) => void;
  readonly outStream: { readonly isTTY?: boolean };
  readonly errStream: { readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

// The process's own IO. Output goes straight to file descriptors 1 and 2: building
// process.stdout for a pipe loads Node's stream and net modules, a twentieth of a short
// command's run time. Writes are synchronous, as process.stdout's are on Linux for files,
// pipes and terminals. A reader that went away (`vman plan | head -1`) ends the output quietly.
export function processIO(): CommandIO {
  const closed = new Set<number>();
  const writeBytes = (fd: number) => (b: Uint8Array) => {
    if (!closed.has(fd)) writeAll(fd, b, () => closed.add(fd));
  };
  const write = (fd: number) => (s: string) => writeBytes(fd)(Buffer.from(s, 'utf8'));
  return {
    out: write(1),
    outBytes: writeBytes(1),
    err: write(2),
    outStream: terminal(1),
    errStream: terminal(2),
    // process.stdin is a getter that builds the stream: only a prompt asks for it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, buf: Uint8Array, onClosed: () => void): void {
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A descriptor someone else made non-blocking: wait for the reader, as a blocking write would.
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (code === 'EPIPE') return onClosed();
      else throw err;
    }
  }
}

// Whether a descriptor is a terminal, asked only when a command wants to know (for colour).
// Pipes and files, which are not character devices, are answered from one fstat; only a
// character device costs the tty module (which loads net).
function terminal(fd: number): { readonly isTTY: boolean } {
  let known: boolean | undefined;
  return {
    get isTTY() {
      if (known === undefined) {
        let chr = false;
        try {
          chr = fstatSync(fd).isCharacterDevice();
        } catch {
          // a closed descriptor is no terminal
        }
        known = chr && process.getBuiltinModule('node:tty').isatty(fd);
      }
      return known;
    },
  };
}
