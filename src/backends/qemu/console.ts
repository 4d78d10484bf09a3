// A partition's console is QEMU's serial port written to a file (unbuffered). Readiness watches it
// line by line; `vman console --follow` streams it.
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/** Reads a growing file from where the last call stopped, and splits what came into whole lines. */
export class ConsoleReader {
  private offset = 0;
  private partial = '';
  private inode: number | undefined;
  private decoder = new StringDecoder('utf8');
  /** The last lines seen (for error messages), the newest last. */
  readonly tail: string[] = [];

  constructor(private readonly file: string, private readonly keep = 20) {}

  /** New bytes since the last call, decoded. */
  async readNew(): Promise<string> {
    let fh;
    try {
      fh = await fs.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
    try {
      const st = await fh.stat();
      if (st.ino !== this.inode || st.size < this.offset) {
        // A new boot's log (the old one was moved aside) or a truncated one: start again from its beginning.
        if (this.inode !== undefined) this.restart();
        this.inode = st.ino;
      }
      let text = '';
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        text += this.decoder.write(buf.subarray(0, bytesRead));
      }
      return text;
    } finally {
      await fh.close();
    }
  }

  private restart(): void {
    this.offset = 0;
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
  }

  /** Whole lines that arrived since the last call (without line ends); a line still being written waits. */
  async lines(): Promise<string[]> {
    const text = this.partial + (await this.readNew());
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
}

/**
 * Tells a reader when QEMU wrote to the console file (inotify, through fs.watch), so it reads as the
 * line comes rather than on a timer. Where the file cannot be watched, `next` is a plain timer.
 */
export class ConsoleChanges {
  private watcher: FSWatcher | undefined;
  private changed = true;
  private wake: (() => void) | undefined;

  constructor(file: string) {
    try {
      this.watcher = watch(file, { persistent: false }, () => this.notify());
      // A watch that fails (the file gone, say) leaves the timer: `watching` turns false.
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  /** Whether writes wake `next` (else only its timer does). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** Resolves once the file changed since the last call (at once if it already did), after `maxMs`, or on abort. */
  async next(maxMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.changed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, maxMs);
        signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    this.changed = false;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private notify(): void {
    this.changed = true;
    this.wake?.();
  }
}

/** Console lines as they go into an error message: indented, control characters shown as `?`. */
export function quoteLines(lines: readonly string[]): string {
  if (!lines.length) return '  (the console is empty)';
  // eslint-disable-next-line no-control-regex
  return lines.map((l) => `  | ${l.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?')}`).join('\n');
}
