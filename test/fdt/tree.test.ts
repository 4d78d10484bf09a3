import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addChild,
  allocatePhandle,
  cloneFdt,
  createFdt,
  decodeFdt,
  deleteChild,
  deleteProp,
  encodeFdt,
  FdtError,
  findByLabel,
  findByPhandle,
  findNode,
  forEachNode,
  getChild,
  getPhandle,
  getU32,
  maxPhandle,
  node,
  pathOfNode,
  setProp,
  str,
  u32,
} from '../../src/fdt/index.js';
import { bare, compileFixture } from './support.js';

const features = decodeFdt(compileFixture('features.dts', ['-@']));

test('findNode: absolute paths, unit-address-less names (as libfdt), aliases', () => {
  assert.is(findNode(features, '/')!, features.root);
  assert.is(findNode(features, '/cpus/cpu@1')!.name, 'cpu@1');
  assert.is(findNode(features, '/soc/serial')!.name, 'serial@9000000', 'a name without @ matches name@…');
  assert.is(findNode(features, '/soc//serial@9000000/')!.name, 'serial@9000000');
  assert.is(findNode(features, 'serial0')!.name, 'serial@9000000', 'an alias');
  assert.is(findNode(features, 'gic')!.name, 'interrupt-controller@8000000');
  assert.is(findNode(features, '/cpus/cpu@0'), undefined, 'deleted by /delete-node/');
  assert.is(findNode(features, 'nope/x'), undefined);
  assert.is(findNode(features, ''), undefined);
  assert.is(getChild(findNode(features, '/soc')!, 'values')!.name, 'values');
});

test('labels through __symbols__, phandles, paths', () => {
  const uart = findByLabel(features, 'uart0')!;
  assert.is(uart.name, 'serial@9000000');
  assert.is(findByLabel(features, 'cpu0'), undefined);
  assert.is(findByLabel(features, 'nope'), undefined);
  assert.is(findByPhandle(features, getPhandle(findByLabel(features, 'clk')!)!), findByLabel(features, 'clk'));
  assert.is(pathOfNode(features, uart), '/soc/serial@9000000');
  assert.is(pathOfNode(features, node('elsewhere')), undefined);
  assert.is(maxPhandle(features), 5);
  const paths: string[] = [];
  forEachNode(features, (_n, path) => paths.push(path));
  assert.equal(paths.slice(0, 4), ['/', '/chosen', '/aliases', '/cpus']);
});

test('allocatePhandle gives the next free phandle once', () => {
  const fdt = cloneFdt(features);
  const mem = findNode(fdt, '/memory@40000000')!;
  assert.is(getPhandle(mem), undefined);
  assert.is(allocatePhandle(fdt, mem), 6);
  assert.is(allocatePhandle(fdt, mem), 6);
  assert.is(getU32(mem, 'phandle'), 6);
  assert.is(allocatePhandle(fdt, findNode(fdt, '/soc/clock-24000000')!), getPhandle(findByLabel(fdt, 'clk')!));
  const full = createFdt(node('', [u32('phandle', 0xfffffffe)], [node('a')]));
  try {
    allocatePhandle(full, full.root.children[0]!);
    assert.unreachable('allocated past 0xfffffffe');
  } catch (e) {
    assert.instance(e, FdtError);
    assert.is((e as FdtError).message, 'Cannot allocate a phandle for node "a": phandles up to 4294967294 are taken');
  }
});

test('editing: setProp replaces in place or appends, deleteProp, addChild, deleteChild', () => {
  const n = node('dev', [u32('a', 1), u32('b', 2)]);
  setProp(n, u32('a', 3));
  setProp(n, str('c', 'x'));
  assert.equal(
    n.props.map((p) => p.name),
    ['a', 'b', 'c'],
  );
  assert.is(getU32(n, 'a'), 3);
  assert.ok(deleteProp(n, 'b'));
  assert.not.ok(deleteProp(n, 'b'));
  const child = addChild(n, node('sub@1'));
  assert.is(getChild(n, 'sub'), child);
  try {
    addChild(n, node('sub@1'));
    assert.unreachable('added a duplicate');
  } catch (e) {
    assert.instance(e, FdtError);
    assert.is((e as FdtError).message, 'Cannot add node "sub@1" to node "dev": it already has one of that name');
  }
  assert.not.ok(deleteChild(n, 'sub'), 'deleteChild wants the exact name');
  assert.ok(deleteChild(n, 'sub@1'));
  assert.equal(n.children, []);
});

test('cloneFdt copies deeply and keeps the layout', () => {
  const copy = cloneFdt(features);
  assert.equal(bare(copy), bare(features));
  assert.is(copy.layout, features.layout);
  copy.root.props[0]!.value[0] = 0x58;
  findNode(copy, '/soc')!.children.pop();
  assert.is(features.root.props[0]!.value[0], 'v'.charCodeAt(0));
  assert.ok(findNode(features, '/soc/keeper'));
  assert.equal(encodeFdt(cloneFdt(features)), encodeFdt(features));
});

test.run();
