// Terminal colour that respects NO_COLOR (https://no-color.org) and non-terminals.

export interface Style {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plainFn = (s: string) => s;

export const PLAIN: Style = {
  red: plainFn,
  green: plainFn,
  yellow: plainFn,
  cyan: plainFn,
  bold: plainFn,
  dim: plainFn,
};
export const COLOUR: Style = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
  bold: wrap(1, 22),
  dim: wrap(2, 22),
};

/**
 * Colour for a stream: only on a terminal that can show it (not TERM=dumb), and never when NO_COLOR is
 * set (to anything non-empty); FORCE_COLOR asks for it anyway.
 */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return PLAIN;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return COLOUR;
  return stream.isTTY && env.TERM !== 'dumb' ? COLOUR : PLAIN;
}
