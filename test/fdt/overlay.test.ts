import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyOverlay,
  decodeFdt,
  encodeFdt,
  FdtError,
  findByLabel,
  findNode,
  getCells,
  getPhandle,
  getProp,
  getString,
  type Fdt,
} from '../../src/fdt/index.js';
import { bare, compileDts, compileFixture, decompile, fdtoverlay } from './support.js';

const baseBlob = compileFixture('overlay-base.dts', ['-@']);
const overlays = new Map(
  ['label', 'path', 'nested', 'phandles', 'multi', 'second', 'bad-label', 'bad-path', 'keep-phandle'].map((n) => [
    n,
    compileFixture(`overlay-${n}.dts`, ['-@']),
  ]),
);
function overlay(name: string): Uint8Array {
  return overlays.get(name)!;
}

/** Ours and fdtoverlay's results, as dtc prints them (sorted and as they are). */
function compare(names: readonly string[]): void {
  let fdt: Fdt = decodeFdt(baseBlob);
  for (const n of names) fdt = applyOverlay(fdt, decodeFdt(overlay(n)), `overlay-${n}.dtbo`);
  const ours = encodeFdt(fdt);
  const theirs = fdtoverlay(baseBlob, names.map(overlay));
  assert.fixture(decompile(ours, ['-s']), decompile(theirs, ['-s']), `${names.join(' + ')}, sorted`);
  assert.fixture(decompile(ours), decompile(theirs), `${names.join(' + ')}, in libfdt's order`);
}

function rejects(run: () => unknown, message: string, fragment: string | undefined): void {
  try {
    run();
  } catch (e) {
    assert.instance(e, FdtError);
    const err = e as FdtError;
    assert.is(err.message, message);
    assert.is(err.code, 'bad-overlay');
    assert.is(err.fragment, fragment);
    assert.ok(err.overlay !== undefined && message.startsWith(`Overlay ${err.overlay}`));
    return;
  }
  assert.unreachable('applyOverlay accepted a bad overlay');
}

test('target by label (__fixups__ through the base __symbols__), as fdtoverlay applies it', () => {
  compare(['label']);
});

test('target by path, the root included', () => {
  compare(['path']);
});

test('nested nodes merge into existing subnodes, libfdt name matching included', () => {
  compare(['nested']);
  const fdt = applyOverlay(decodeFdt(baseBlob), decodeFdt(overlay('nested')), 'n.dtbo');
  assert.ok(getProp(findNode(fdt, '/soc/i2c@4000/rtc@68')!, 'wakeup-source'), '`rtc` merged into rtc@68');
});

test("an overlay's own phandles move above the base's, with their local references", () => {
  compare(['phandles']);
  const base = decodeFdt(baseBlob);
  const fdt = applyOverlay(base, decodeFdt(overlay('phandles')), 'p.dtbo');
  const vdd = findByLabel(fdt, 'vdd')!;
  const vio = findByLabel(fdt, 'vio')!;
  const clk = findByLabel(fdt, 'clk')!;
  const newclk = findByLabel(fdt, 'newclk')!;
  assert.ok(getPhandle(vdd)! > 5 && getPhandle(vio)! > 5, 'above the base phandles (1–5)');
  const consumer = findNode(fdt, '/consumer')!;
  assert.equal(getCells(consumer, 'mixed'), [getPhandle(vdd), getPhandle(clk), getPhandle(vio), 5]);
  assert.equal(getCells(consumer, 'clocks'), [getPhandle(clk), getPhandle(newclk)]);
  assert.is(getString(findNode(fdt, '/__symbols__')!, 'newclk'), '/soc/clock@7000');
});

test('several fragments: by label, by path, and one targeting a node an earlier one added', () => {
  compare(['multi']);
});

test('overlays in sequence: the second targets labels the first added', () => {
  compare(['phandles', 'second']);
});

test('the inputs are not changed', () => {
  const base = decodeFdt(baseBlob);
  const ov = decodeFdt(overlay('phandles'));
  const before = [encodeFdt(base), encodeFdt(ov)];
  applyOverlay(base, ov, 'p.dtbo');
  assert.equal([encodeFdt(base), encodeFdt(ov)], before);
  assert.equal(bare(base), bare(decodeFdt(baseBlob)));
});

test("a base node's phandle is kept when the overlay gives it one (libfdt ≥ 1.7.1)", () => {
  const base = decodeFdt(baseBlob);
  const clkPhandle = getPhandle(findByLabel(base, 'clk')!);
  const fdt = applyOverlay(base, decodeFdt(overlay('keep-phandle')), 'k.dtbo');
  const clk = findNode(fdt, '/soc/clock@2000')!;
  assert.is(getPhandle(clk), clkPhandle);
  assert.is(getString(clk, 'clock-output-names'), 'clk');
  assert.equal(getCells(findNode(fdt, '/user')!, 'clocks'), [clkPhandle]);
  assert.equal(getCells(findNode(fdt, '/soc/serial@3000')!, 'clocks'), [clkPhandle], 'base references still resolve');
  // libfdt's symbol for a fragment's __overlay__ node is the target path with a trailing slash.
  assert.is(getString(findNode(fdt, '/__symbols__')!, 'self'), '/soc/clock@2000/');
  assert.is(findByLabel(fdt, 'self'), clk);
});

test('an unknown label names the overlay and the fragment', () => {
  rejects(
    () => applyOverlay(decodeFdt(baseBlob), decodeFdt(overlay('bad-label')), 'extra.dtbo'),
    'Overlay extra.dtbo, fragment@1: label "uart9" is not in the base tree\'s __symbols__',
    'fragment@1',
  );
  assert.throws(() => fdtoverlay(baseBlob, [overlay('bad-label')]), 'fdtoverlay refuses it too');
});

test('a target path the base lacks', () => {
  rejects(
    () => applyOverlay(decodeFdt(baseBlob), decodeFdt(overlay('bad-path')), 'bad-path.dtbo'),
    'Overlay bad-path.dtbo, fragment@1: target-path "/soc/nowhere@9000" is not in the base tree',
    'fragment@1',
  );
  assert.throws(() => fdtoverlay(baseBlob, [overlay('bad-path')]), 'fdtoverlay refuses it too');
});

test('a base compiled without -@ has no labels to resolve', () => {
  rejects(
    () => applyOverlay(decodeFdt(compileFixture('overlay-base.dts')), decodeFdt(overlay('label')), 'label.dtbo'),
    'Overlay label.dtbo, fragment@0: label "uart0" is not in the base tree\'s __symbols__ (the base has none: ' +
      'compile it with dtc -@)',
    'fragment@0',
  );
});

test('malformed fixups and fragments', () => {
  const base = decodeFdt(baseBlob);
  const fixups = decodeFdt(overlay('label'));
  getProp(findNode(fixups, '/__fixups__')!, 'uart0')!.value = new TextEncoder().encode('/fragment@0:target\0');
  rejects(
    () => applyOverlay(base, fixups, 'f.dtbo'),
    'Overlay f.dtbo, __fixups__: fixup "uart0" entry "/fragment@0:target" is not path:property:offset',
    '__fixups__',
  );

  const past = decodeFdt(overlay('label'));
  getProp(findNode(past, '/__fixups__')!, 'uart0')!.value = new TextEncoder().encode('/fragment@0:target:4\0');
  rejects(
    () => applyOverlay(base, past, 'p.dtbo'),
    'Overlay p.dtbo, fragment@0: the fixup for label "uart0" names offset 4 of /fragment@0:target, past its 4 bytes',
    'fragment@0',
  );

  const untargeted = decodeFdt(compileDts('/dts-v1/;\n/ { fragment@0 { __overlay__ { a = <1>; }; }; };\n'));
  rejects(
    () => applyOverlay(base, untargeted, 'u.dtbo'),
    'Overlay u.dtbo, fragment@0: has neither target nor target-path',
    'fragment@0',
  );

  const dangling = decodeFdt(
    compileDts('/dts-v1/;\n/ { fragment@0 { target = <0x77>; __overlay__ { a = <1>; }; }; };\n'),
  );
  rejects(
    () => applyOverlay(base, dangling, 'd.dtbo'),
    'Overlay d.dtbo, fragment@0: target phandle 0x77 is not in the base tree',
    'fragment@0',
  );

  const local = decodeFdt(overlay('phandles'));
  findNode(local, '/__local_fixups__/fragment@0/__overlay__/consumer')!.props.push({
    name: 'missing',
    value: new Uint8Array(4),
  });
  rejects(
    () => applyOverlay(base, local, 'l.dtbo'),
    'Overlay l.dtbo, fragment@0: __local_fixups__ names /fragment@0/__overlay__/consumer:missing, which the overlay ' +
      'lacks',
    'fragment@0',
  );
});

test.run();
