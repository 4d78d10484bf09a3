import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOOT_CODE_DESCRIPTIONS, BootCode } from '../../src/boot/codes.js';

test('boot codes are VMAN-E3xx, distinct, and each has a one-line description', () => {
  const codes = Object.values(BootCode);
  assert.is(new Set(codes).size, codes.length);
  for (const code of codes) {
    assert.match(code, /^VMAN-E3\d\d$/);
    const text = BOOT_CODE_DESCRIPTIONS[code];
    assert.ok(text.length > 10 && !text.includes('\n'), code);
  }
  assert.equal(Object.keys(BOOT_CODE_DESCRIPTIONS).sort(), [...codes].sort());
});

test.run();
