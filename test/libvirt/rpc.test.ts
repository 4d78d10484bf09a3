import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LibvirtError, noSupport, VIR_ERR_NO_SUPPORT, VIR_FROM_NONE } from '../../src/libvirt/errors.js';
import {
  decodeHeader,
  decodeRemoteError,
  encodeMessage,
  encodeRemoteError,
  FrameError,
  FrameReader,
  libvirtErrorOf,
  remoteErrorOf,
  type FrameErrorCode,
  type Message,
  VIR_NET_MESSAGE_MAX,
} from '../../src/libvirt/rpc.js';
import { XdrError } from '../../src/libvirt/xdr.js';
import { fromHex, hex } from './support.js';

// `virsh -c vman+unix:///system?socket=… hostname` (virsh 9.0.0), recorded by a tap between virsh
// and vman's server: everything virsh sent, then everything the server answered (which virsh
// accepted: it printed the host name and exited 0).
const VIRSH_HOSTNAME_SENT = fromHex(`
  0000001c 20008086 00000001 00000042 00000000 00000000 00000000
  00000020 20008086 00000001 0000003c 00000000 00000001 00000000 0000000a
  00000038 20008086 00000001 00000001 00000000 00000002 00000000
    00000001 0000000e 766d616e 3a2f2f2f 73797374 656d0000 00000000
  00000020 20008086 00000001 0000003c 00000000 00000003 00000000 0000000e
  00000020 20008086 00000001 0000003c 00000000 00000004 00000000 0000000f
  0000001c 20008086 00000001 0000003b 00000000 00000005 00000000
  0000001c 20008086 00000001 00000002 00000000 00000006 00000000`);
const SERVER_ANSWERED = fromHex(`
  00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000
  00000020 20008086 00000001 0000003c 00000001 00000001 00000000 00000001
  0000001c 20008086 00000001 00000001 00000001 00000002 00000000
  00000020 20008086 00000001 0000003c 00000001 00000003 00000000 00000001
  00000020 20008086 00000001 0000003c 00000001 00000004 00000000 00000000
  0000002c 20008086 00000001 0000003b 00000001 00000005 00000000 00000009 66616b65 2d686f73 74000000
  0000001c 20008086 00000001 00000002 00000001 00000006 00000000`);

const summary = (ms: Message[]): string[] =>
  ms.map(
    (m) =>
      `${m.header.prog.toString(16)} v${m.header.vers} proc ${m.header.proc} type ${m.header.type} ` +
      `serial ${m.header.serial} status ${m.header.status} body ${hex(m.body)}`,
  );

const EXPECTED_CALLS = [
  '20008086 v1 proc 66 type 0 serial 0 status 0 body ',
  '20008086 v1 proc 60 type 0 serial 1 status 0 body 0000000a',
  '20008086 v1 proc 1 type 0 serial 2 status 0 body 000000010000000e766d616e3a2f2f2f73797374656d000000000000',
  '20008086 v1 proc 60 type 0 serial 3 status 0 body 0000000e',
  '20008086 v1 proc 60 type 0 serial 4 status 0 body 0000000f',
  '20008086 v1 proc 59 type 0 serial 5 status 0 body ',
  '20008086 v1 proc 2 type 0 serial 6 status 0 body ',
];

test('the frame reader splits real virsh traffic into its seven calls', () => {
  const reader = new FrameReader();
  assert.equal(summary(reader.push(VIRSH_HOSTNAME_SENT)), EXPECTED_CALLS);
  assert.is(reader.pending, 0);
});

test('the frame reader reassembles messages fed one byte at a time, and holds partial ones', () => {
  const reader = new FrameReader();
  const got: Message[] = [];
  for (let i = 0; i < VIRSH_HOSTNAME_SENT.length; i++) {
    got.push(...reader.push(VIRSH_HOSTNAME_SENT.subarray(i, i + 1)));
    if (i === 29) assert.is(reader.pending, 2, 'two bytes into the second message');
  }
  assert.equal(summary(got), EXPECTED_CALLS);
});

test('encodeMessage writes the length word (counting itself), header and body: bytes virsh accepted', () => {
  const replies = new FrameReader().push(SERVER_ANSWERED);
  assert.is(replies.length, 7);
  const again = replies.map((m) => hex(encodeMessage(m.header, m.body))).join('');
  assert.is(again, hex(SERVER_ANSWERED));
  assert.is(
    hex(encodeMessage({ prog: 0x6b656570, vers: 1, proc: 2, type: 2, serial: 0, status: 0 })),
    '0000001c' + '6b656570' + '00000001' + '00000002' + '00000002' + '00000000' + '00000000',
  );
  // Stream data is raw: an odd length is not padded.
  assert.is(
    hex(
      encodeMessage({ prog: 0x20008086, vers: 1, proc: 201, type: 3, serial: 7, status: 2 }, fromHex('68690a')),
    ).slice(0, 8),
    '0000001f',
  );
});

test('decodeHeader: six words; undeclared types and statuses are refused', () => {
  assert.equal(decodeHeader(fromHex('20008086 00000001 ffffffff 00000006 ffffffff 00000002')), {
    prog: 0x20008086,
    vers: 1,
    proc: -1,
    type: 6,
    serial: 0xffffffff,
    status: 2,
  });
  assert.throws(
    () => decodeHeader(fromHex('20008086 00000001 00000001 00000007 00000000 00000000')),
    (e: unknown) => {
      return e instanceof XdrError && e.code === 'bad-value' && e.offset === 16;
    },
  );
});

function frameFails(bytes: Uint8Array, code: FrameErrorCode, offset: number, message: string, max?: number): void {
  const reader = new FrameReader(max === undefined ? {} : { maxMessage: max });
  try {
    reader.push(bytes);
  } catch (e) {
    assert.instance(e, FrameError);
    assert.is((e as FrameError).code, code);
    assert.is((e as FrameError).offset, offset);
    assert.is((e as FrameError).message, message);
    assert.throws(() => reader.push(new Uint8Array(0)), /already failed/);
    return;
  }
  assert.unreachable('the reader accepted a bad frame');
}

test('lengths below the header size or above the limit are refused before any body is buffered', () => {
  frameFails(
    fromHex('00000004'),
    'length-too-small',
    0,
    'message length 4 at byte 0 is below 28 (length word and header)',
  );
  frameFails(
    fromHex('0000001b 00000000'),
    'length-too-small',
    0,
    'message length 27 at byte 0 is below 28 (length word and header)',
  );
  frameFails(
    fromHex('01000005'),
    'length-too-large',
    0,
    'message length 16777221 at byte 0 exceeds the limit 16777220',
  );
  assert.is(VIR_NET_MESSAGE_MAX, 16777216);
  // After a good message, with a lower limit (the option).
  const good = VIRSH_HOSTNAME_SENT.subarray(0, 28);
  frameFails(
    new Uint8Array([...good, 0, 0, 0, 0x2d]),
    'length-too-large',
    28,
    'message length 45 at byte 28 exceeds the limit 44',
    40,
  );
  frameFails(
    fromHex('0000001c 20008086 00000001 00000001 00000009 00000000 00000000'),
    'bad-header',
    0,
    'Cannot decode XDR at byte 16: message type value 9 is not one of 0, 1, 2, 3, 4, 5, 6',
  );
  const reader = new FrameReader();
  assert.equal(reader.push(fromHex('01000004')), [], 'exactly the limit: waits for the body');
  assert.is(reader.pending, 4);
});

test('the error body (virNetMessageError): exact bytes, both ways', () => {
  const e = noSupport('virDomainSuspend');
  const message = 'this function is not supported by the connection driver: virDomainSuspend';
  assert.is(e.message, message);
  assert.is(message.length, 73);
  const text = hex(new TextEncoder().encode(message)) + '000000';
  const expected =
    '00000003' + // code VIR_ERR_NO_SUPPORT
    '00000000' + // domain VIR_FROM_NONE
    '00000001' +
    '00000049' +
    text + // message
    '00000002' + // level VIR_ERR_ERROR
    '00000000' + // dom: none
    '00000000' +
    '00000000' +
    '00000000' + // str1-3: none
    'ffffffff' +
    'ffffffff' + // int1, int2
    '00000000'; // net: none
  const body = encodeRemoteError(remoteErrorOf(e));
  assert.is(hex(body), expected);
  const back = decodeRemoteError(body);
  assert.is(back.code, VIR_ERR_NO_SUPPORT);
  assert.is(back.domain, VIR_FROM_NONE);
  assert.is(back.message, message);
  const err = libvirtErrorOf(back);
  assert.instance(err, LibvirtError);
  assert.is(err.int1, -1);

  const full = encodeRemoteError({
    code: 42,
    domain: 20,
    message: null,
    level: 1,
    dom: { name: 'a', uuid: new Uint8Array(16).fill(0xab), id: 3 },
    str1: 'x',
    str2: null,
    str3: 'yz',
    int1: 7,
    int2: -7,
    net: { name: 'n', uuid: new Uint8Array(16) },
  });
  assert.is(
    hex(full),
    '0000002a' +
      '00000014' +
      '00000000' +
      '00000001' +
      '00000001' +
      '00000001' +
      '61000000' +
      'ab'.repeat(16) +
      '00000003' +
      '00000001' +
      '00000001' +
      '78000000' +
      '00000000' +
      '00000001' +
      '00000002' +
      '797a0000' +
      '00000007' +
      'fffffff9' +
      '00000001' +
      '00000001' +
      '6e000000' +
      '00'.repeat(16),
  );
  assert.equal(decodeRemoteError(full).dom, { name: 'a', uuid: new Uint8Array(16).fill(0xab), id: 3 });
  assert.throws(
    () => decodeRemoteError(new Uint8Array([...body, 0, 0, 0, 0])),
    (x: unknown) => x instanceof XdrError && x.code === 'trailing-bytes',
  );
});

test.run();
