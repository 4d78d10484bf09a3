// Domain UUIDs: libvirt's two spellings read, one written (lower-case RFC 4122 text, as metadata.uid
// holds it), and the UUID a partition without metadata.uid shows: a name-based one (RFC 4122 §4.3,
// version 5), the same on every call and every machine, so it needs no state to persist.

/** vman's namespace for name-based UUIDs: uuid5(NAMESPACE_URL, "https://vman.dev/xmlns/libvirt/1"). */
export const VMAN_UUID_NAMESPACE = '7888acb7-6dfd-5207-bd70-3f777ec1de27';

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `s` is a UUID as metadata.uid holds it: lower-case, with dashes. */
export function isCanonicalUuid(s: string): boolean {
  return CANONICAL.test(s);
}

/**
 * A UUID as libvirt's schema spells it (32 hex digits, or 8-4-4-4-12 with dashes; either case), in
 * canonical form; undefined for anything else.
 */
export function parseUuid(text: string): string | undefined {
  const t = text.trim();
  const hex = /^[0-9a-fA-F]{32}$/.test(t)
    ? t
    : /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/.test(t)
      ? t.replace(/-/g, '')
      : undefined;
  if (hex === undefined) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether all 16 bytes of a UUID are the same (the nil UUID, all-f): libvirt's virUUIDIsValid refuses those. */
export function isPlaceholderUuid(uuid: string): boolean {
  const hex = uuid.replace(/-/g, '');
  return /^([0-9a-f]{2})\1{15}$/.test(hex);
}

/** The name-based (version 5) UUID of a partition name in vman's namespace. */
export function nameUuid(name: string): string {
  const ns = hexBytes(VMAN_UUID_NAMESPACE.replace(/-/g, ''));
  const nameBytes = new TextEncoder().encode(name);
  const input = new Uint8Array(ns.length + nameBytes.length);
  input.set(ns);
  input.set(nameBytes, ns.length);
  const b = sha1(input).subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A random (version 4) UUID from the platform's CSPRNG (Web Crypto: no node:* import). */
export function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// SHA-1 (FIPS 180-4 §6.1), only for version 5 UUIDs: names are short, so one plain pass is enough.
function sha1(msg: Uint8Array): Uint8Array {
  const bitLen = msg.length * 8;
  const padded = new Uint8Array((((msg.length + 8) >> 6) + 1) << 6);
  padded.set(msg);
  padded[msg.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let off = 0; off < padded.length; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(off + 4 * t);
    for (let t = 16; t < 80; t++)
      w[t] = rotl((w[t - 3] ?? 0) ^ (w[t - 8] ?? 0) ^ (w[t - 14] ?? 0) ^ (w[t - 16] ?? 0), 1);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      const [f, k] =
        t < 20
          ? [(b & c) | (~b & d), 0x5a827999]
          : t < 40
            ? [b ^ c ^ d, 0x6ed9eba1]
            : t < 60
              ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
              : [b ^ c ^ d, 0xca62c1d6];
      const tmp = (rotl(a, 5) + f + e + k + (w[t] ?? 0)) >>> 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    h[0] = ((h[0] ?? 0) + a) >>> 0;
    h[1] = ((h[1] ?? 0) + b) >>> 0;
    h[2] = ((h[2] ?? 0) + c) >>> 0;
    h[3] = ((h[3] ?? 0) + d) >>> 0;
    h[4] = ((h[4] ?? 0) + e) >>> 0;
  }
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  h.forEach((x, i) => ov.setUint32(4 * i, x));
  return out;
}

function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}
