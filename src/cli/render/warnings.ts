// Warnings about a plan that takes away a partition others depend on: one line each, for people on
// stderr, and as `warnings` in --json.
import type { DependencyWarning } from '../../engine/index.js';
import type { Style } from './style.js';

const quoted = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

/** The sentence: `hello` depends on `rtos0`, which this destroys; `hello` keeps running without it. */
export function dependencyWarningMessage(w: DependencyWarning): string {
  const one = w.dependants.length === 1;
  const does = w.action === 'stop' ? 'stops' : 'destroys';
  return (
    `${quoted(w.dependants)} depend${one ? 's' : ''} on \`${w.partition}\`, which this ${does}; ` +
    `${one ? quoted(w.dependants) : 'they'} keep${one ? 's' : ''} running without it`
  );
}

/** The line for people: `Warning: …`, with a command's hint (how to take the dependants too) when it has one. */
export function dependencyWarningLine(w: DependencyWarning, s: Style, hint?: string): string {
  return `${s.yellow('Warning:')} ${dependencyWarningMessage(w)}.${hint ? ` ${hint}` : ''}\n`;
}

/** `warnings` in --json output. */
export function warningsJson(list: readonly DependencyWarning[]): Record<string, unknown>[] {
  return list.map((w) => ({
    partition: w.partition,
    action: w.action,
    dependants: w.dependants,
    message: dependencyWarningMessage(w),
  }));
}
