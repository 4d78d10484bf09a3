import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatAddress, formatRange, formatSize } from '../../src/units/format.js';

test('formatSize: the largest binary unit that divides exactly', () => {
  assert.is(formatSize(384 * 1024 * 1024), '384 MiB');
  assert.is(formatSize(2 * 1024 ** 3), '2 GiB');
  assert.is(formatSize(4096), '4 KiB');
  assert.is(formatSize(1536 * 1024), '1536 KiB');
  assert.is(formatSize(3 * 1024 ** 4), '3 TiB');
  assert.is(formatSize(4 * 1024 ** 3 - 128 * 1024 ** 2), '3968 MiB');
  assert.is(formatSize(1536), '1536 bytes');
  assert.is(formatSize(1), '1 byte');
  assert.is(formatSize(0), '0 bytes');
  // Exact beyond 32 bits.
  assert.is(formatSize(2 ** 52 + 4096), '4398046511108 KiB');
});

test('formatAddress: lower-case hex, no padding, exact beyond 32 bits', () => {
  assert.is(formatAddress(0x58000000), '0x58000000');
  assert.is(formatAddress(0), '0x0');
  assert.is(formatAddress(0x13fffffff), '0x13fffffff');
  assert.is(formatAddress(2 ** 53 - 1), '0x1fffffffffffff');
});

test('formatRange: first and last byte, inclusive', () => {
  assert.is(formatRange({ base: 0x40000000, size: 0x08000000 }), '0x40000000–0x47ffffff');
  assert.is(formatRange({ base: 0x1000, size: 1 }), '0x1000–0x1000');
  assert.is(formatRange({ base: 0x1000, size: 0 }), '0x1000');
});

test.run();
