// Raw bytes → text, before any parsing: the size limit, NUL bytes (a binary file) and UTF-8, each
// refused with one diagnostic that points at the byte.
import type { Diagnostic, Position } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';

/**
 * Manifests larger than this are refused before parsing. A manifest is about 1 KiB; the YAML parser
 * reads hostile text at a few hundred KiB per second, so this bound keeps any file under a second.
 */
export const MAX_MANIFEST_BYTES = 256 * 1024;
/** Checks raw bytes before they are decoded: size, NUL bytes, UTF-8. Returns the text or a diagnostic. */
export function decodeManifest(file: string, bytes: Uint8Array): { text: string } | { problem: Diagnostic } {
  const at = (line: number, column: number): Position => ({ file, line, column });
  if (bytes.length > MAX_MANIFEST_BYTES) {
    return {
      problem: {
        code: CODES.fileTooLarge,
        message: `file is ${bytes.length} bytes; vman reads YAML files of at most ${MAX_MANIFEST_BYTES / 1024} KiB`,
        position: at(1, 1),
        hint: 'split it into several files, or check that it is the file you meant',
      },
    };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const { line, column } = lineColOfByte(bytes, nul);
    return {
      problem: {
        code: CODES.binaryFile,
        message: 'file contains a NUL byte: it is not a YAML text file',
        position: at(line, column),
        hint: 'partitions.d/ holds YAML manifests only; move binaries elsewhere',
      },
    };
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const { line, column } = lineColOfByte(bytes, bad);
    return {
      problem: {
        code: CODES.notUtf8,
        message: `file is not valid UTF-8 (byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at offset ${bad})`,
        position: at(line, column),
        hint: 'save the file as UTF-8',
      },
    };
  }
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++)
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  return { line, column: offset - start + 1 };
}

// The offset of the first byte that breaks UTF-8 (RFC 3629 §4), for the message.
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}
