// What plan and status say about a writer that holds the lock meanwhile: a note for people (on
// stderr) and the `lock` field of their JSON. They never wait for it; they only say who has it.
import type { WriterActivity } from '../../engine/index.js';
import { lockedMessage } from '../../apply/lock.js';
import type { Style } from './style.js';

const names = (list: readonly string[]) => list.map((n) => `\`${n}\``).join(', ');

/** The note, one paragraph ending in a newline. */
export function activityNote(a: WriterActivity, s: Style): string {
  const held = lockedMessage(a);
  if (!a.running) {
    return (
      `${s.yellow('Note:')} ${held}, which is no longer running: it was interrupted. ` +
      'The next writer (`vman apply`) takes the lock over and converges.\n'
    );
  }
  if (!a.partitions.length) {
    return `${s.yellow('Note:')} ${held}: it has not changed anything yet, so this may be out of date once it has.\n`;
  }
  const progress = `${a.stepsDone} of ${a.stepsPlanned} step${a.stepsPlanned === 1 ? '' : 's'} done`;
  return (
    `${s.yellow('Note:')} ${held}: it is changing ${names(a.partitions)} (${progress}). What this shows of ` +
    `${a.partitions.length === 1 ? 'it' : 'them'} is its work in progress, not drift; ` +
    'look again once it has finished.\n'
  );
}

/** The `lock` field of `plan --json` and `status --json`: null when nobody holds the lock. */
export function activityJson(a: WriterActivity | undefined): Record<string, unknown> | null {
  if (!a) return null;
  return {
    pid: a.pid,
    host: a.host,
    operation: a.operation,
    since: a.since,
    running: a.running,
    partitions: a.partitions,
    steps_done: a.stepsDone,
    steps_planned: a.stepsPlanned,
  };
}
