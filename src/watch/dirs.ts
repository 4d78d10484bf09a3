// Watches directories (not their subdirectories) with Node's fs.watch, which on Linux is inotify:
// `rename` when a name in the directory was created, moved in or out, or deleted; `change` when the
// file behind a name was written or its attributes changed. That distinction is what the agent
// needs (a file renamed in arrived whole; one being written must settle first), and it is exactly
// what fs.watch documents, so no watcher library sits in between.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export type DirEvent = 'rename' | 'change';

export interface DirWatcherHooks {
  /** A name in a watched directory changed (`path` is absolute). */
  readonly onEvent: (kind: DirEvent, dir: string, path: string) => void;
  /** A watch failed or its directory went away; the directory is no longer watched. */
  readonly onError: (dir: string, err: Error) => void;
}

export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly hooks: DirWatcherHooks) {}

  /** The directories watched now. */
  get dirs(): ReadonlySet<string> {
    return new Set(this.watchers.keys());
  }

  /** Starts watching `dir` (absolute); a directory that cannot be watched is reported, not thrown. */
  add(dir: string): void {
    if (this.watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: true }, (kind, name) => {
        if (name) this.hooks.onEvent(kind === 'rename' ? 'rename' : 'change', dir, join(dir, name.toString()));
      });
    } catch (err) {
      this.hooks.onError(dir, err as Error);
      return;
    }
    w.on('error', (err) => {
      this.remove(dir);
      this.hooks.onError(dir, err);
    });
    this.watchers.set(dir, w);
  }

  remove(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  close(): void {
    for (const dir of [...this.watchers.keys()]) this.remove(dir);
  }
}
