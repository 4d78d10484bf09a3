// Problems are data: a stable code, where it is, what is wrong, how to fix it.
// Nothing here prints; src/cli renders diagnostics (with a caret excerpt) at the end.

/** Where a problem is. `line` and `column` are 1-based; `path` is the YAML path inside the document. */
export interface Position {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path?: readonly (string | number)[];
}

/** One problem found in the inputs. */
export interface Diagnostic {
  /** Stable code, `VMAN-E…`; see ./codes.ts. */
  readonly code: string;
  readonly message: string;
  /** Absent for problems that have no place in a file (a missing directory, a board without a file). */
  readonly position?: Position;
  /** How to fix it, when there is a clear fix. */
  readonly hint?: string;
  /** Another place that takes part (the first definition of a duplicate name, say). */
  readonly related?: Position;
  /** The partition it concerns, if any. */
  readonly partition?: string;
}

/** A diagnostic at a position, with its hint only when there is one. */
export function diagnostic(code: string, message: string, position: Position, hint?: string): Diagnostic {
  return hint ? { code, message, position, hint } : { code, message, position };
}

/** Sort diagnostics by file, line and column so output does not depend on the order checks ran. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => {
    const pa = a.position;
    const pb = b.position;
    if (!pa || !pb) return pa ? 1 : pb ? -1 : a.code.localeCompare(b.code);
    return pa.file.localeCompare(pb.file) || pa.line - pb.line || pa.column - pb.column || a.code.localeCompare(b.code);
  });
}

/** A diagnostic as JSON carries it (SPEC `validate --json` problems; watch events; `--json` errors). */
export interface DiagnosticJson {
  readonly file: string | null;
  readonly line: number | null;
  readonly column: number | null;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  /** The YAML path of the field, when known. */
  readonly path?: readonly (string | number)[];
  readonly partition?: string;
}

export function diagnosticJson(d: Diagnostic): DiagnosticJson {
  return {
    file: d.position?.file ?? null,
    line: d.position?.line ?? null,
    column: d.position?.column ?? null,
    code: d.code,
    message: d.message,
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.position?.path ? { path: d.position.path } : {}),
    ...(d.partition ? { partition: d.partition } : {}),
  };
}

/** A diagnostic on one line, as an error message carries it: `FILE:LINE:COL: message [CODE] (hint)`. */
export function diagnosticLine(d: Diagnostic): string {
  const at = d.position ? `${d.position.file}:${d.position.line}:${d.position.column}: ` : '';
  return `${at}${d.message} [${d.code}]${d.hint ? ` (${d.hint})` : ''}`;
}
