// Base64 (RFC 4648 §4) for DTBs carried inside plans, without Node's Buffer, so pure modules stay pure.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** '=' (RFC 4648 §4: pad). */
const PAD = 0x3d;
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** Base64 is ASCII: decoding its codes as Latin-1 gives the text in one native call. */
const ascii = new TextDecoder('latin1');

// The text is written as ASCII codes into one buffer, then decoded at once: appending character by
// character made a rope of thousands of pieces per DTB (most of the planner's garbage on large plans).
export function toBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let j = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const n = (a << 16) | (b << 8) | c;
    out[j++] = CODES[(n >> 18) & 63]!;
    out[j++] = CODES[(n >> 12) & 63]!;
    out[j++] = i + 1 < bytes.length ? CODES[(n >> 6) & 63]! : PAD;
    out[j++] = i + 2 < bytes.length ? CODES[n & 63]! : PAD;
  }
  return ascii.decode(out);
}
