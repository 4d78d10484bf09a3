// parseSize, parseAddress, parseDuration (SPEC "Cores, memory, units"): every accepted form, and
// every rejection with its message and fix hint (the hint is the product here, so wording is asserted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAddress, parseDuration, parseSize, type Parsed } from '../../src/manifest/units.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function value<T>(r: Parsed<T>): T {
  if (!r.ok) throw new Error(`expected a value, got: ${r.message} (${r.hint ?? 'no hint'})`);
  return r.value;
}

function rejected<T>(r: Parsed<T>, message: string, hint?: string): void {
  if (r.ok) throw new Error(`expected a rejection (${message}), got ${String(r.value)}`);
  assert.is(r.message, message);
  assert.is(r.hint, hint);
}

test('parseSize accepts bytes (multiples of 4 KiB), hex, and Ki/Mi/Gi', () => {
  const cases: [unknown, number][] = [
    [4096, 4 * KiB],
    [0x48000000, 0x48000000],
    ['4096', 4 * KiB],
    ['0x1000', 4 * KiB],
    ['0X2000', 8 * KiB],
    ['4Ki', 4 * KiB],
    ['256Mi', 256 * MiB],
    ['1Gi', GiB],
    ['3Gi', 3 * GiB],
    ['0x10Mi', 16 * MiB],
    [' 256Mi ', 256 * MiB],
    ['256 Mi', 256 * MiB],
    ['8388608Ki', 8 * GiB],
  ];
  for (const [input, bytes] of cases) assert.is(value(parseSize(input, 'memory size')), bytes, JSON.stringify(input));
});

test('parseSize: a bare small number suggests Mi (SPEC: `512` suggests `512Mi`)', () => {
  rejected(
    parseSize(512, 'memory size'),
    'memory size 512 is not a multiple of 4 KiB',
    'did you mean `512Mi`? A bare number is bytes',
  );
  rejected(
    parseSize('512', 'memory size'),
    'memory size 512 is not a multiple of 4 KiB',
    'did you mean `512Mi`? A bare number is bytes',
  );
  rejected(
    parseSize(100_000, 'memory size'),
    'memory size 100000 is not a multiple of 4 KiB',
    'round it to a multiple of 4096, or use Ki, Mi or Gi',
  );
});

test('parseSize: decimal-SI and look-alike units suggest the binary suffix (SPEC: `256MB` suggests `256Mi`)', () => {
  rejected(
    parseSize('256MB', 'memory size'),
    'memory size "256MB" has an unknown unit `MB`',
    'did you mean `256Mi`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseSize('256M', 'memory size'),
    'memory size "256M" has an unknown unit `M`',
    'did you mean `256Mi`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseSize('2G', 'memory size'),
    'memory size "2G" has an unknown unit `G`',
    'did you mean `2Gi`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseSize('64kB', 'memory size'),
    'memory size "64kB" has an unknown unit `kB`',
    'did you mean `64Ki`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseSize('1GiB', 'memory size'),
    'memory size "1GiB" has an unknown unit `GiB`',
    'did you mean `1Gi`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseSize('256Xi', 'memory size'),
    'memory size "256Xi" has an unknown unit `Xi`',
    'units are Ki, Mi and Gi, e.g. 256Mi',
  );
});

test('parseSize: fractions suggest a smaller unit', () => {
  rejected(
    parseSize('1.5Gi', 'memory size'),
    'memory size "1.5Gi" is not a whole number',
    'write it in a smaller unit, e.g. 1536Mi',
  );
  rejected(
    parseSize('0.5Mi', 'memory size'),
    'memory size "0.5Mi" is not a whole number',
    'write it in a smaller unit, e.g. 512Ki',
  );
  rejected(
    parseSize(1.5, 'memory size'),
    'memory size 1.5 is not a whole number of bytes',
    'write a size such as 256Mi',
  );
});

test('parseSize: zero, negative, too large, not 4 KiB aligned, wrong type', () => {
  rejected(parseSize(0, 'memory size'), 'memory size must not be zero');
  rejected(parseSize('0Mi', 'memory size'), 'memory size must not be zero');
  rejected(parseSize(-4096, 'memory size'), 'memory size -4096 must not be negative', 'write a size such as 256Mi');
  rejected(
    parseSize('-256Mi', 'memory size'),
    'memory size "-256Mi" must not be negative',
    'write a size such as 256Mi',
  );
  rejected(parseSize(1e30, 'memory size'), 'memory size 1e+30 is too large (at most 2^53 - 1 bytes)');
  rejected(parseSize(2 ** 64, 'memory size'), 'memory size 18446744073709552000 is too large (at most 2^53 - 1 bytes)');
  rejected(parseSize('9007199254740993', 'memory size'), 'memory size "9007199254740993" is too large');
  rejected(parseSize('9007199254740991Gi', 'memory size'), 'memory size "9007199254740991Gi" is too large');
  rejected(parseSize('6Ki', 'memory size'), 'memory size "6Ki" is not a multiple of 4 KiB', 'use a multiple of 4Ki');
  rejected(
    parseSize(Number.NaN, 'memory size'),
    'memory size NaN is not a whole number of bytes',
    'write a size such as 256Mi',
  );
  rejected(
    parseSize('lots', 'memory size'),
    'memory size "lots" is not a size',
    'write a number with Ki, Mi or Gi, e.g. 256Mi',
  );
  rejected(
    parseSize('', 'memory size'),
    'memory size "" is not a size',
    'write a number with Ki, Mi or Gi, e.g. 256Mi',
  );
  rejected(parseSize(null, 'memory size'), 'memory size must be a size such as 256Mi, not null');
  rejected(parseSize(true, 'memory size'), 'memory size must be a size such as 256Mi, not true');
  rejected(parseSize([256], 'memory size'), 'memory size must be a size such as 256Mi, not a list');
});

test('parseAddress accepts hex, decimal and suffixed offsets, including 0', () => {
  const cases: [unknown, number][] = [
    [0, 0],
    [0x48000000, 0x48000000],
    ['0x48000000', 0x48000000],
    ['0X48000000', 0x48000000],
    ['1207959552', 0x48000000],
    ['0x80000', 0x80000],
    ['512Ki', 512 * KiB],
    ['1Gi', GiB],
    ['0x0', 0],
    ['0x100000000', 0x1_0000_0000],
  ];
  for (const [input, n] of cases) assert.is(value(parseAddress(input, 'memory base')), n, JSON.stringify(input));
});

test('parseAddress rejections', () => {
  rejected(parseAddress(-1, 'memory base'), 'memory base -1 must not be negative', 'write it in hex, e.g. 0x48000000');
  rejected(
    parseAddress('-0x1000', 'memory base'),
    'memory base "-0x1000" must not be negative',
    'write it in hex, e.g. 0x48000000',
  );
  rejected(
    parseAddress(1.5, 'memory base'),
    'memory base 1.5 is not a whole number of bytes',
    'write it in hex, e.g. 0x48000000',
  );
  rejected(parseAddress(1e30, 'memory base'), 'memory base 1e+30 is too large (at most 2^53 - 1 bytes)');
  rejected(
    parseAddress('48000000h', 'memory base'),
    'memory base "48000000h" is not an address',
    'write it in hex, e.g. 0x48000000',
  );
  rejected(
    parseAddress('0xZZ', 'memory base'),
    'memory base "0xZZ" is not an address',
    'write it in hex, e.g. 0x48000000',
  );
  rejected(
    parseAddress('256MB', 'boot.load'),
    'boot.load "256MB" has an unknown unit `MB`',
    'did you mean `256Mi`? Units are Ki, Mi and Gi',
  );
  rejected(
    parseAddress('0x10K', 'boot.load'),
    'boot.load "0x10K" has an unknown unit `K`',
    'did you mean `0x10Ki`? Units are Ki, Mi and Gi',
  );
  rejected(parseAddress('64Xi', 'boot.load'), 'boot.load "64Xi" is not an address', 'write it in hex, e.g. 0x48000000');
  rejected(parseAddress('0xffffffffffffffffff', 'memory base'), 'memory base "0xffffffffffffffffff" is too large');
  rejected(parseAddress(null, 'memory base'), 'memory base must be an address such as 0x48000000, not null');
  rejected(parseAddress({}, 'boot.entry'), 'boot.entry must be an address such as 0x48000000, not a mapping');
});

test('parseDuration accepts ms, s and m', () => {
  const cases: [unknown, number][] = [
    ['60s', 60_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['0s', 0],
    [' 5 s ', 5000],
  ];
  for (const [input, ms] of cases)
    assert.is(value(parseDuration(input, 'readiness.timeout')), ms, JSON.stringify(input));
});

test('parseDuration: a bare number suggests seconds (SPEC: `60` suggests `60s`)', () => {
  rejected(
    parseDuration(60, 'readiness.timeout'),
    'readiness.timeout 60 has no unit',
    'did you mean `60s`? Units are ms, s and m',
  );
  rejected(
    parseDuration('60', 'readiness.timeout'),
    'readiness.timeout "60" has no unit',
    'did you mean `60s`? Units are ms, s and m',
  );
  rejected(
    parseDuration(1.5, 'readiness.timeout'),
    'readiness.timeout 1.5 has no unit',
    'did you mean `1500ms`? Units are ms, s and m',
  );
});

test('parseDuration rejections', () => {
  rejected(
    parseDuration('60sec', 'readiness.timeout'),
    'readiness.timeout "60sec" has an unknown unit `sec`',
    'did you mean `60s`?',
  );
  rejected(
    parseDuration('5min', 'readiness.timeout'),
    'readiness.timeout "5min" has an unknown unit `min`',
    'did you mean `5m`?',
  );
  rejected(
    parseDuration('1h', 'readiness.timeout'),
    'readiness.timeout "1h" has an unknown unit `h`',
    'write it in minutes, e.g. 60m',
  );
  rejected(
    parseDuration('3d', 'readiness.timeout'),
    'readiness.timeout "3d" has an unknown unit `d`',
    'units are ms, s and m',
  );
  rejected(
    parseDuration('1.5s', 'readiness.timeout'),
    'readiness.timeout "1.5s" is not a whole number',
    'write it in a smaller unit, e.g. 1500ms',
  );
  rejected(
    parseDuration('2.5m', 'readiness.timeout'),
    'readiness.timeout "2.5m" is not a whole number',
    'write it in a smaller unit, e.g. 150s',
  );
  rejected(
    parseDuration('-5s', 'readiness.timeout'),
    'readiness.timeout "-5s" must not be negative',
    'write a number with ms, s or m, e.g. 60s',
  );
  rejected(
    parseDuration(-5, 'readiness.timeout'),
    'readiness.timeout -5 must not be negative',
    'write a number with ms, s or m, e.g. 60s',
  );
  rejected(
    parseDuration('soon', 'readiness.timeout'),
    'readiness.timeout "soon" is not a duration',
    'write a number with ms, s or m, e.g. 60s',
  );
  rejected(
    parseDuration('99999999999999999m', 'readiness.timeout'),
    'readiness.timeout "99999999999999999m" is too large',
  );
  rejected(parseDuration(null, 'readiness.timeout'), 'readiness.timeout must be a duration such as 60s, not null');
});

test.run();
