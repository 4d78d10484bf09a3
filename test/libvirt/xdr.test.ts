import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { XdrError, XdrReader, XdrWriter, xdrPadding, type XdrErrorCode } from '../../src/libvirt/xdr.js';
import { fromHex, hex } from './support.js';

/** Asserts that `f` throws an XdrError with this code, offset and message. */
function throwsXdr(f: () => unknown, code: XdrErrorCode, offset: number, message: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, XdrError);
    const err = e as XdrError;
    assert.is(err.code, code);
    assert.is(err.offset, offset);
    assert.is(err.message, message);
    return;
  }
  assert.unreachable('no XdrError thrown');
}

const reader = (h: string, base = 0): XdrReader => new XdrReader(fromHex(h), base);

test('integers (RFC 4506 §4.1-4.5): big-endian, two’s complement, exact bytes', () => {
  const w = new XdrWriter(4);
  w.int(-2).uint(0xdeadbeef).enum(3).bool(true).bool(false).hyper(-1n).uhyper(0x0102030405060708n);
  assert.is(
    hex(w.finish()),
    'fffffffe' + 'deadbeef' + '00000003' + '00000001' + '00000000' + 'ffffffffffffffff' + '0102030405060708',
  );
  const r = reader('fffffffe deadbeef 00000003 00000001 ffffffffffffffff 0102030405060708 400921fb54442d18');
  assert.is(r.int(), -2);
  assert.is(r.uint(), 0xdeadbeef);
  assert.is(r.enum([1, 2, 3]), 3);
  assert.is(r.bool(), true);
  assert.is(r.hyper(), -1n);
  assert.is(r.uhyper(), 0x0102030405060708n);
  assert.is(r.double(), Math.PI);
  r.done();
  assert.is(hex(new XdrWriter().double(Math.PI).finish()), '400921fb54442d18');
});

test('opaque and strings (§4.9-4.11): length, bytes, zero padding to 4', () => {
  assert.is(hex(new XdrWriter().opaque(fromHex('010203'), 8).finish()), '00000003' + '01020300');
  assert.is(hex(new XdrWriter().opaque(new Uint8Array(0), 8).finish()), '00000000');
  assert.is(hex(new XdrWriter().fixedOpaque(fromHex('0102030405'), 5).finish()), '0102030405000000');
  assert.is(hex(new XdrWriter().string('vman', 16).finish()), '00000004' + '766d616e');
  assert.is(hex(new XdrWriter().string('é', 16).finish()), '00000002' + 'c3a90000');
  assert.is(reader('00000005 68656c6c 6f000000').string(5), 'hello');
  assert.is(hex(reader('00000003 01020300').opaque(3)), '010203');
  assert.is(hex(reader('0102030405000000').fixedOpaque(5)), '0102030405');
  assert.equal([0, 1, 2, 3, 4, 5].map(xdrPadding), [0, 3, 2, 1, 0, 3]);
});

test('arrays (§4.12-4.13) and optional data (§4.19)', () => {
  const w = new XdrWriter();
  w.array([7, 8], 4, (x, v) => x.int(v)).fixedArray([1, 2], 2, (x, v) => x.uint(v));
  w.optional(null, (x, v: string) => x.string(v, 8)).optional('a', (x, v) => x.string(v, 8));
  assert.is(
    hex(w.finish()),
    '00000002 00000007 00000008 00000001 00000002 00000000 00000001 00000001 61000000'.replace(/ /g, ''),
  );
  const r = reader('00000002 00000007 00000008 00000001 00000002 00000000 00000001 00000001 61000000');
  assert.equal(
    r.array(4, (x) => x.int()),
    [7, 8],
  );
  assert.equal(
    r.fixedArray(2, (x) => x.uint()),
    [1, 2],
  );
  assert.is(
    r.optional((x) => x.string(8)),
    null,
  );
  assert.is(
    r.optional((x) => x.string(8)),
    'a',
  );
  r.done();
});

test('the writer grows from a tiny buffer and keeps earlier bytes', () => {
  const w = new XdrWriter(4);
  for (let i = 0; i < 1000; i++) w.uint(i);
  const out = w.finish();
  assert.is(out.length, 4000);
  assert.is(new DataView(out.buffer).getUint32(3996), 999);
  assert.is(w.length, 4000);
  const raw = new XdrWriter(4).uint(1).raw(fromHex('0000000200000003')).finish();
  assert.is(hex(raw), '000000010000000200000003');
});

test('malformed input: one XdrError naming what and where', () => {
  throwsXdr(() => reader('000000').int(), 'truncated', 0, 'Cannot decode XDR at byte 0: int needs 4 bytes, 3 left');
  throwsXdr(
    () => reader('00000010 6162', 100).string(64),
    'truncated',
    104,
    'Cannot decode XDR at byte 104: string needs 16 bytes, 2 left',
  );
  throwsXdr(
    () => reader('00000009 00000000', 28).string(8, 'domain name'),
    'too-long',
    28,
    'Cannot decode XDR at byte 28: domain name length 9 exceeds the limit 8',
  );
  throwsXdr(
    () => reader('00000001 61620000').string(8),
    'bad-padding',
    5,
    'Cannot decode XDR at byte 5: non-zero padding after string',
  );
  throwsXdr(
    () => reader('00000002 61000000').string(8),
    'bad-value',
    4,
    'Cannot decode XDR at byte 4: string contains a NUL byte',
  );
  throwsXdr(
    () => reader('00000002 c3280000').string(8),
    'bad-value',
    4,
    'Cannot decode XDR at byte 4: string is not valid UTF-8',
  );
  throwsXdr(
    () => reader('00000002').bool(),
    'bad-value',
    0,
    'Cannot decode XDR at byte 0: bool value 2 is neither 0 nor 1',
  );
  throwsXdr(
    () => reader('00000007').enum([0, 1, 2], 'message type'),
    'bad-value',
    0,
    'Cannot decode XDR at byte 0: message type value 7 is not one of 0, 1, 2',
  );
  throwsXdr(
    () => reader('00000005').array(10, (x) => x.int(), 'domains'),
    'truncated',
    4,
    'Cannot decode XDR at byte 4: domains of 5 items needs more than the 0 bytes left',
  );
  throwsXdr(
    () => reader('ffffffff').array(16384, (x) => x.int(), 'domains'),
    'too-long',
    0,
    'Cannot decode XDR at byte 0: domains count 4294967295 exceeds the limit 16384',
  );
  throwsXdr(
    () => reader('00000002').optional((x) => x.int(), 'message'),
    'bad-value',
    0,
    'Cannot decode XDR at byte 0: message presence flag value 2 is neither 0 nor 1',
  );
  throwsXdr(
    () => {
      const r = reader('00000001 00000002', 28);
      r.int();
      r.done('arguments');
    },
    'trailing-bytes',
    32,
    'Cannot decode XDR at byte 32: 4 bytes left over after the arguments',
  );
});

test('unencodable values: XdrError with code unencodable', () => {
  throwsXdr(
    () => new XdrWriter().uint(0).int(2 ** 31),
    'unencodable',
    4,
    'Cannot encode at byte 4: int 2147483648 is not an integer in [-2 ** 31, 2 ** 31 - 1]',
  );
  throwsXdr(
    () => new XdrWriter().uint(-1),
    'unencodable',
    0,
    'Cannot encode at byte 0: unsigned int -1 is not an integer in [0, 2 ** 32 - 1]',
  );
  throwsXdr(
    () => new XdrWriter().uint(1.5),
    'unencodable',
    0,
    'Cannot encode at byte 0: unsigned int 1.5 is not an integer in [0, 2 ** 32 - 1]',
  );
  throwsXdr(
    () => new XdrWriter().uhyper(-1n),
    'unencodable',
    0,
    'Cannot encode at byte 0: unsigned hyper -1 is out of range',
  );
  throwsXdr(
    () => new XdrWriter().hyper(1n << 63n),
    'unencodable',
    0,
    'Cannot encode at byte 0: hyper 9223372036854775808 is out of range',
  );
  throwsXdr(
    () => new XdrWriter().string('abcde', 4),
    'unencodable',
    0,
    'Cannot encode at byte 0: string of 5 bytes exceeds the limit 4',
  );
  throwsXdr(
    () => new XdrWriter().string('a\0b', 4),
    'unencodable',
    0,
    'Cannot encode at byte 0: string contains a NUL byte',
  );
  throwsXdr(
    () => new XdrWriter().fixedOpaque(new Uint8Array(3), 16),
    'unencodable',
    0,
    'Cannot encode at byte 0: fixed opaque of 3 bytes, expected 16',
  );
  throwsXdr(
    () => new XdrWriter().array([1, 2, 3], 2, (x, v) => x.int(v)),
    'unencodable',
    0,
    'Cannot encode at byte 0: array of 3 items exceeds the limit 2',
  );
  throwsXdr(
    () => new XdrWriter().raw(new Uint8Array(3)),
    'unencodable',
    0,
    'Cannot encode at byte 0: raw XDR of 3 bytes is not unit-aligned',
  );
});

test('round trips: what the writer writes, the reader reads back, using every byte', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\0')),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: null }),
      (i, u, s, bytes, list, opt) => {
        const w = new XdrWriter(8);
        w.int(i).uhyper(u).string(s, 1000).opaque(bytes, 40);
        w.array(list, 10, (x, v) => x.uint(v)).optional(opt, (x, v) => x.uint(v));
        const out = w.finish();
        assert.is(out.length % 4, 0);
        const r = new XdrReader(out);
        assert.is(r.int(), i);
        assert.is(r.uhyper(), u);
        assert.is(r.string(1000), s);
        assert.equal([...r.opaque(40)], [...bytes]);
        assert.equal(
          r.array(10, (x) => x.uint()),
          list,
        );
        assert.is(
          r.optional((x) => x.uint()),
          opt,
        );
        r.done();
      },
    ),
    { numRuns: 500, seed: 0x1d2 },
  );
});

test('arbitrary bytes: the reader returns or throws XdrError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = new XdrReader(bytes);
      try {
        r.string(16);
        r.array(4, (x) => x.optional((y) => y.opaque(8)));
        r.bool();
        r.done();
      } catch (e) {
        if (!(e instanceof XdrError)) throw e;
        assert.ok(e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} within ${bytes.length} bytes`);
      }
    }),
    { numRuns: 2000, seed: 0x5eed },
  );
});

test.run();
