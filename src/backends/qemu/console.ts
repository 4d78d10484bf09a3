// A partition's console is QEMU's serial port: everything the guest writes goes to a log file
// (unbuffered), and a socket takes what is typed into it. Readiness polls the log line by line;
// `vman console --follow` streams it.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/**
 * Reads a growing file from where the last call stopped, and splits what came into whole lines.
 * One descriptor stays open and a call that finds nothing new costs one stat: a booting guest is
 * polled often, and every cycle spent here is one its virtual CPUs do not get (2-core hosts).
 */
export class ConsoleReader {
  private fd: number | undefined;
  private inode: number | undefined;
  private offset = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  /** The last lines seen (for error messages), the newest last. */
  readonly tail: string[] = [];

  constructor(
    private readonly file: string,
    private readonly keep = 20,
  ) {}

  /** New bytes since the last call, decoded. */
  readNew(): string {
    let size: number;
    try {
      const st = statSync(this.file);
      if (this.fd === undefined || st.ino !== this.inode) this.reopen();
      size = st.ino === this.inode ? st.size : fstatSync(this.fd as number).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
    // A truncated log starts again from its beginning.
    if (size < this.offset) this.restart();
    let text = '';
    while (size > this.offset) {
      const n = readSync(this.fd as number, this.buf, 0, CHUNK, this.offset);
      if (n === 0) break;
      this.offset += n;
      text += this.decoder.write(this.buf.subarray(0, n));
    }
    return text;
  }

  // The path names another file (a new boot's log, the old one moved aside): read that one from its start.
  private reopen(): void {
    const fd = openSync(this.file, 'r');
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.restart();
    }
    this.fd = fd;
    this.inode = fstatSync(fd).ino;
  }

  private restart(): void {
    this.offset = 0;
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
  }

  /** Whole lines that arrived since the last call (without line ends); a line still being written waits. */
  lines(): string[] {
    const text = this.partial + this.readNew();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const out = parts.map((l) => l.replace(/\r+$/, ''));
    this.remember(out);
    return out;
  }

  /** The line still being written, if any (a prompt without a newline, say). */
  pending(): string {
    return this.partial.replace(/\r+$/, '');
  }

  private remember(lines: readonly string[]): void {
    this.tail.push(...lines);
    if (this.tail.length > this.keep) this.tail.splice(0, this.tail.length - this.keep);
  }

  /** The console's last lines, the one being written included. */
  lastLines(): string[] {
    const p = this.pending();
    return p ? [...this.tail, p] : [...this.tail];
  }

  /** Closes the file; a reader used again reads it from its start. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.inode = undefined;
    this.restart();
  }
}

/** Console lines as they go into an error message: indented, control characters shown as `?`. */
export function quoteLines(lines: readonly string[]): string {
  if (!lines.length) return '  (the console is empty)';
  // eslint-disable-next-line no-control-regex
  return lines.map((l) => `  | ${l.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?')}`).join('\n');
}

/**
 * A poll that can be cut short: `wait` sleeps up to its time, or until `wake` is called or the signal
 * aborts. Output that arrives on the console socket wakes the reader at once rather than at its next poll.
 */
export class Wakeup {
  private pending: (() => void) | undefined;

  wake(): void {
    this.pending?.();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.pending = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
      this.pending = done;
    });
  }
}
