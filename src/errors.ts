// vman's small error taxonomy. Only src/cli maps these to exit codes and messages.
import type { Diagnostic } from './rules/diagnostic.js';

/** What went wrong, in terms a user acts on. */
export type ErrorKind =
  | 'usage' // bad command line
  | 'input' // invalid manifests, board or images (carries diagnostics)
  | 'stale' // a saved plan no longer matches live state or inputs
  | 'locked' // another writer holds the lock
  | 'apply' // a step failed while applying
  | 'backend' // the monitor could not be read or refused a request
  | 'refused' // the user declined, or no terminal to ask on
  | 'interrupted'; // stopped by a signal before it could finish

/**
 * What a front end that maps errors onto its own codes (libvirt's, Kubernetes conditions, the provider
 * protocol's) needs to know beyond the kind: the partition does not exist, its state forbids the
 * request, nothing here can carry the request out, the monitor refused it to keep partitions isolated
 * and safe, or an input (an image file) is no longer what was planned.
 */
export type ErrorReason = 'no-such-partition' | 'wrong-state' | 'unsupported' | 'refused' | 'input-changed';

/** An expected failure: one clear message, exit 1. */
export class VmanError extends Error {
  readonly kind: ErrorKind;
  readonly reason: ErrorReason | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: {
      diagnostics?: readonly Diagnostic[];
      file?: string;
      line?: number;
      cause?: unknown;
      reason?: ErrorReason;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VmanError';
    this.kind = kind;
    this.reason = opts.reason;
    this.diagnostics = opts.diagnostics ?? [];
    this.file = opts.file ?? opts.diagnostics?.[0]?.position?.file;
    this.line = opts.line ?? opts.diagnostics?.[0]?.position?.line;
  }
}

/** Invalid inputs: all their diagnostics, summarised in one message. */
export function inputError(diagnostics: readonly Diagnostic[]): VmanError {
  const first = diagnostics[0];
  const where = first?.position ? `${first.position.file}:${first.position.line}:${first.position.column}: ` : '';
  const more =
    diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more problem${diagnostics.length > 2 ? 's' : ''})` : '';
  return new VmanError('input', `${where}${first?.message ?? 'invalid input'}${more}`, { diagnostics });
}
