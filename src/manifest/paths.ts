// POSIX path arithmetic for manifest paths, kept pure (no node:path) so planning stays free of I/O.

/** Normalises an absolute POSIX path: collapses `//`, `.` and `..` (never above `/`). */
export function normalizePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** Resolves `p` against the absolute directory `dir` (absolute `p` wins). */
export function resolvePath(dir: string, p: string): string {
  return normalizePath(p.startsWith('/') ? p : `${dir}/${p}`);
}

/** Whether absolute `p` lies inside absolute directory `root`. */
export function isInside(root: string, p: string): boolean {
  const r = normalizePath(root);
  const n = normalizePath(p);
  return r === '/' || n === r || n.startsWith(`${r}/`);
}
