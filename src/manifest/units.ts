// Sizes, addresses and durations as manifests write them (SPEC "Cores, memory, units").

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
/** Bare byte counts must be a multiple of this. */
export const PAGE = 4 * KiB;

const SUFFIX: Readonly<Record<string, number>> = { Ki: KiB, Mi: MiB, Gi: GiB };

/** A parsed value, or why it is wrong and what to write instead. */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly hint?: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (message: string, hint?: string): Parsed<never> =>
  hint === undefined ? { ok: false, message } : { ok: false, message, hint };

// Units people write by habit, mapped to the binary suffix vman uses.
const LOOKALIKE: Readonly<Record<string, string>> = {
  k: 'Ki',
  K: 'Ki',
  KB: 'Ki',
  kB: 'Ki',
  KiB: 'Ki',
  kb: 'Ki',
  ki: 'Ki',
  m: 'Mi',
  M: 'Mi',
  MB: 'Mi',
  mb: 'Mi',
  MiB: 'Mi',
  mi: 'Mi',
  g: 'Gi',
  G: 'Gi',
  GB: 'Gi',
  gb: 'Gi',
  GiB: 'Gi',
  gi: 'Gi',
};

function parseInteger(text: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^[0-9]+$/.test(text)) return Number.parseInt(text, 10);
  return undefined;
}

// The kind of a YAML value, in the words the other messages use.
function kind(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return `${value}`;
  return `a ${typeof value}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

// What is wrong with a YAML number used as a byte count or address, if anything.
function numberProblem(value: number, what: string, hint: string): Parsed<never> | undefined {
  if (!Number.isFinite(value) || !Number.isInteger(value))
    return bad(`${what} ${show(value)} is not a whole number of bytes`, hint);
  if (value < 0) return bad(`${what} ${show(value)} must not be negative`, hint);
  if (!Number.isSafeInteger(value)) return bad(`${what} ${show(value)} is too large (at most 2^53 - 1 bytes)`);
  return undefined;
}

/**
 * A size in bytes: an integer that is a multiple of 4 KiB, or a number with Ki/Mi/Gi.
 * `what` names the field in messages ("memory size").
 */
export function parseSize(value: unknown, what: string): Parsed<number> {
  if (typeof value === 'number') {
    const wrong = numberProblem(value, what, 'write a size such as 256Mi');
    if (wrong) return wrong;
    if (value === 0) return bad(`${what} must not be zero`);
    if (value % PAGE !== 0) {
      return bad(
        `${what} ${value} is not a multiple of 4 KiB`,
        value < 64 * KiB
          ? `did you mean \`${value}Mi\`? A bare number is bytes`
          : `round it to a multiple of 4096, or use Ki, Mi or Gi`,
      );
    }
    return ok(value);
  }
  if (typeof value !== 'string') return bad(`${what} must be a size such as 256Mi, not ${kind(value)}`);
  const text = value.trim();
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/.exec(text);
  if (!m && /^-\s*[0-9]/.test(text))
    return bad(`${what} ${show(value)} must not be negative`, 'write a size such as 256Mi');
  if (!m) return bad(`${what} ${show(value)} is not a size`, 'write a number with Ki, Mi or Gi, e.g. 256Mi');
  const [, digits = '', unit = ''] = m;
  if (digits.includes('.'))
    return bad(
      `${what} ${show(value)} is not a whole number`,
      'write it in a smaller unit, ' +
        `e.g. ${Math.round(Number(digits) * 1024)}${unit === 'Gi' || LOOKALIKE[unit] === 'Gi' ? 'Mi' : 'Ki'}`,
    );
  const n = parseInteger(digits);
  if (n === undefined || !Number.isSafeInteger(n)) return bad(`${what} ${show(value)} is too large`);
  if (unit === '') return parseSize(n, what);
  const mult = SUFFIX[unit];
  if (mult === undefined) {
    const fix = LOOKALIKE[unit];
    return bad(
      `${what} ${show(value)} has an unknown unit \`${unit}\``,
      fix ? `did you mean \`${digits}${fix}\`? Units are Ki, Mi and Gi` : 'units are Ki, Mi and Gi, e.g. 256Mi',
    );
  }
  const bytes = n * mult;
  if (!Number.isSafeInteger(bytes)) return bad(`${what} ${show(value)} is too large`);
  if (bytes === 0) return bad(`${what} must not be zero`);
  if (bytes % PAGE !== 0) return bad(`${what} ${show(value)} is not a multiple of 4 KiB`, 'use a multiple of 4Ki');
  return ok(bytes);
}

/** A physical address or byte offset: an integer (hex or decimal), optionally with Ki/Mi/Gi. */
export function parseAddress(value: unknown, what: string): Parsed<number> {
  if (typeof value === 'number') {
    const wrong = numberProblem(value, what, 'write it in hex, e.g. 0x48000000');
    return wrong ?? ok(value);
  }
  if (typeof value !== 'string') return bad(`${what} must be an address such as 0x48000000, not ${kind(value)}`);
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)(Ki|Mi|Gi)?$/.exec(value.trim());
  const n = m ? parseInteger(m[1] ?? '') : undefined;
  if (!m && /^-\s*[0-9]/.test(value.trim()))
    return bad(`${what} ${show(value)} must not be negative`, 'write it in hex, e.g. 0x48000000');
  const unit = /^(0[xX][0-9a-fA-F]+|[0-9]+)\s*([A-Za-z]+)$/.exec(value.trim());
  const fix = unit ? LOOKALIKE[unit[2] ?? ''] : undefined;
  if (!m && unit && fix)
    return bad(
      `${what} ${show(value)} has an unknown unit \`${unit[2]}\``,
      `did you mean \`${unit[1]}${fix}\`? Units are Ki, Mi and Gi`,
    );
  if (!m || n === undefined) return bad(`${what} ${show(value)} is not an address`, 'write it in hex, e.g. 0x48000000');
  const bytes = n * (m[2] ? (SUFFIX[m[2]] ?? 1) : 1);
  if (!Number.isSafeInteger(bytes)) return bad(`${what} ${show(value)} is too large`);
  return ok(bytes);
}

const DURATION_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** A duration in milliseconds: a number with ms, s or m. */
export function parseDuration(value: unknown, what: string): Parsed<number> {
  if (typeof value === 'number') {
    if (value < 0) return bad(`${what} ${value} must not be negative`, 'write a number with ms, s or m, e.g. 60s');
    if (!Number.isSafeInteger(value))
      return bad(
        `${what} ${value} has no unit`,
        Number.isSafeInteger(value * 1000)
          ? `did you mean \`${value * 1000}ms\`? Units are ms, s and m`
          : 'write a whole number with ms, s or m, e.g. 60s',
      );
    return bad(`${what} ${value} has no unit`, `did you mean \`${value}s\`? Units are ms, s and m`);
  }
  if (typeof value !== 'string') return bad(`${what} must be a duration such as 60s, not ${kind(value)}`);
  const frac = /^([0-9]+\.[0-9]+)\s*(s|m)$/.exec(value.trim());
  if (frac)
    return bad(
      `${what} ${show(value)} is not a whole number`,
      'write it in a smaller unit, ' +
        `e.g. ${Math.round(Number(frac[1]) * (frac[2] === 'm' ? 60 : 1000))}${frac[2] === 'm' ? 's' : 'ms'}`,
    );
  const m = /^([0-9]+)\s*([a-zA-Z]*)$/.exec(value.trim());
  if (!m && /^-\s*[0-9]/.test(value.trim()))
    return bad(`${what} ${show(value)} must not be negative`, 'write a number with ms, s or m, e.g. 60s');
  if (!m) return bad(`${what} ${show(value)} is not a duration`, 'write a number with ms, s or m, e.g. 60s');
  const [, digits = '', unit = ''] = m;
  const mult = DURATION_UNIT[unit];
  if (mult === undefined) {
    const fix = (
      {
        sec: 's',
        secs: 's',
        seconds: 's',
        second: 's',
        S: 's',
        min: 'm',
        mins: 'm',
        minutes: 'm',
        minute: 'm',
        M: 'm',
        msec: 'ms',
        MS: 'ms',
        h: '',
      } as Record<string, string>
    )[unit];
    if (unit === '')
      return bad(`${what} ${show(value)} has no unit`, `did you mean \`${digits}s\`? Units are ms, s and m`);
    return bad(
      `${what} ${show(value)} has an unknown unit \`${unit}\``,
      fix
        ? `did you mean \`${digits}${fix}\`?`
        : unit === 'h'
          ? `write it in minutes, e.g. ${Number(digits) * 60}m`
          : 'units are ms, s and m',
    );
  }
  const ms = Number(digits) * mult;
  if (!Number.isSafeInteger(ms)) return bad(`${what} ${show(value)} is too large`);
  return ok(ms);
}
