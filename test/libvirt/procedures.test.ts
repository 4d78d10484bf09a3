import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  apiName,
  authList,
  connectClose,
  connectDomainEventCallbackDeregisterAny,
  connectDomainEventCallbackRegisterAny,
  connectGetCapabilities,
  connectGetHostname,
  connectGetLibVersion,
  connectGetType,
  connectGetUri,
  connectGetVersion,
  connectIsSecure,
  connectListAllDomains,
  connectOpen,
  connectSupportsFeature,
  domainCreate,
  domainCreateWithFlags,
  domainCreateXml,
  domainDefineXml,
  domainDefineXmlFlags,
  domainDestroy,
  domainDestroyFlags,
  domainEventCallbackLifecycle,
  domainGetAutostart,
  domainGetInfo,
  domainGetMessages,
  domainGetOsType,
  domainGetSecurityLabel,
  domainGetState,
  domainGetXmlDesc,
  domainHasManagedSaveImage,
  domainIsActive,
  domainIsPersistent,
  domainLookupById,
  domainLookupByName,
  domainLookupByUuid,
  domainOpenConsole,
  domainShutdown,
  domainShutdownFlags,
  domainSnapshotNum,
  domainUndefine,
  domainUndefineFlags,
  formatUuid,
  nodeGetInfo,
  nodeGetSecurityModel,
  parseUuid,
  PROCEDURE_CODECS,
  procedureName,
  procedureNumber,
  type ProcedureCodec,
  type RemoteDomain,
  REMOTE_PROC_LAST,
  xdrCharString,
  xdrNarrowUint,
} from '../../src/libvirt/procedures.js';
import { XdrError, XdrReader, XdrWriter } from '../../src/libvirt/xdr.js';
import { fromHex, hex } from './support.js';

const alpha: RemoteDomain = { name: 'alpha', uuid: parseUuid('11111111-2222-3333-4444-555555555555')!, id: 1 };
const beta: RemoteDomain = { name: 'beta', uuid: parseUuid('66666666-7777-8888-9999-aaaaaaaaaaaa')!, id: -1 };
const betaRunning: RemoteDomain = { ...beta, id: 10 };
const gamma: RemoteDomain = { name: 'gamma', uuid: parseUuid('abcdefab-cdef-abcd-efab-cdefabcdefab')!, id: -1 };
const gamma4: RemoteDomain = { ...gamma, id: 4 };
const gamma5: RemoteDomain = { ...gamma, id: 5 };

const ALPHA = '00000005616c706861000000 11111111222233334444555555555555 00000001';
const BETA = '0000000462657461 66666666777788889999aaaaaaaaaaaa ffffffff';
const BETA_10 = '0000000462657461 66666666777788889999aaaaaaaaaaaa 0000000a';
const GAMMA = '0000000567616d6d61000000 abcdefabcdefabcdefabcdefabcdefab ffffffff';

const GAMMA_XML =
  "<domain type='vman'>\n  <name>gamma</name>\n  <uuid>abcdefab-cdef-abcd-efab-cdefabcdefab</uuid>\n</domain>\n";
const GAMMA_XML_HEX =
  '00000068 3c646f6d61696e20747970653d27766d616e273e0a20203c6e616d653e67616d6d613c2f6e616d653e0a20203c757569643e' +
  '61626364656661622d636465662d616263642d656661622d6364656661626364656661623c2f757569643e0a3c2f646f6d61696e3e0a';
const DELTA_XML =
  "<domain type='vman'>\n  <name>delta</name>\n  <uuid>dddddddd-cdef-abcd-efab-cdefabcdefab</uuid>\n</domain>\n";
const DELTA_XML_HEX =
  '00000068 3c646f6d61696e20747970653d27766d616e273e0a20203c6e616d653e64656c74613c2f6e616d653e0a20203c757569643e' +
  '64646464646464642d636465662d616263642d656661622d6364656661626364656661623c2f757569643e0a3c2f646f6d61696e3e0a';

/** Procedures whose arguments or return value a test below pins to exact bytes. */
const covered = new Set<number>();

/** Decodes the captured bytes to `value` and encodes `value` back to exactly those bytes. */
function args<A>(c: ProcedureCodec<A, unknown>, bytes: string, value: A): void {
  covered.add(c.procedure);
  assert.equal(c.decodeArgs(fromHex(bytes)), value, `${c.name} args decode`);
  assert.is(hex(c.encodeArgs(value)), hex(fromHex(bytes)), `${c.name} args encode`);
}

function ret<R>(c: ProcedureCodec<unknown, R>, bytes: string, value: R): void {
  covered.add(c.procedure);
  assert.is(hex(c.encodeRet(value)), hex(fromHex(bytes)), `${c.name} ret encode`);
  assert.equal(c.decodeRet(fromHex(bytes)), value, `${c.name} ret decode`);
}

test('the procedure table: numbers and names of remote_protocol.x', () => {
  assert.is(procedureName(1), 'REMOTE_PROC_CONNECT_OPEN');
  assert.is(procedureName(66), 'REMOTE_PROC_AUTH_LIST');
  assert.is(procedureName(201), 'REMOTE_PROC_DOMAIN_OPEN_CONSOLE');
  assert.is(procedureName(273), 'REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS');
  assert.is(procedureName(318), 'REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE');
  assert.is(procedureName(426), 'REMOTE_PROC_DOMAIN_GET_MESSAGES');
  assert.is(REMOTE_PROC_LAST, 453);
  assert.is(procedureName(453), 'REMOTE_PROC_DOMAIN_EVENT_NIC_MAC_CHANGE');
  assert.is(procedureName(0), 'procedure 0');
  assert.is(procedureName(454), 'procedure 454');
  assert.is(procedureName(-3), 'procedure -3');
  for (let n = 1; n <= REMOTE_PROC_LAST; n++) assert.is(procedureNumber(procedureName(n)), n);
  assert.is(procedureNumber('DOMAIN_CREATE'), 9);
  assert.is(procedureNumber('NO_SUCH_THING'), undefined);
});

test('API names for messages', () => {
  assert.is(apiName(14), 'virDomainGetXMLDesc');
  assert.is(apiName(24), 'virDomainLookupByUUID');
  assert.is(apiName(22), 'virDomainLookupByID');
  assert.is(apiName(19), 'virDomainGetOSType');
  assert.is(apiName(34), 'virDomainSuspend');
  assert.is(apiName(187), 'virDomainSnapshotNum');
  assert.is(apiName(273), 'virConnectListAllDomains');
  assert.is(apiName(6), 'virNodeGetInfo');
  assert.is(apiName(999), 'remote procedure 999');
  assert.is(domainLookupByUuid.api, 'virDomainLookupByUUID');
  assert.is(connectDomainEventCallbackRegisterAny.api, 'virConnectDomainEventRegisterAny');
});

test('every codec is in the table under its own number and name', () => {
  assert.is(PROCEDURE_CODECS.size, 42);
  for (const [n, c] of PROCEDURE_CODECS) {
    assert.is(c.procedure, n);
    assert.is(c.name, procedureName(n));
  }
});

test('connection calls: bytes virsh 9.0 sent, bytes it accepted', () => {
  args(connectOpen, '00000001 0000000e 766d616e3a2f2f2f73797374656d0000 00000000', {
    name: 'vman:///system',
    flags: 0,
  });
  args(connectOpen, '00000001 0000000e 766d616e3a2f2f2f73797374656d0000 00000001', {
    name: 'vman:///system',
    flags: 1,
  });
  args(connectOpen, '00000000 00000000', { name: null, flags: 0 });
  args(connectSupportsFeature, '0000000e', { feature: 14 });
  ret(connectSupportsFeature, '00000001', { supported: 1 });
  ret(authList, '00000001 00000000', { types: [0] });
  ret(connectGetType, '00000004 766d616e', { type: 'vman' });
  ret(connectGetVersion, '00000000 000f4a13', { hv_ver: 1002003n });
  ret(connectGetLibVersion, '00000000 00895440', { lib_ver: 9000000n });
  ret(connectGetHostname, '00000009 66616b652d686f7374000000', { hostname: 'fake-host' });
  ret(connectGetCapabilities, '00000006 3c636170 2f3e0000', { capabilities: '<cap/>' });
  assert.is(connectGetHostname.decodeArgs(new Uint8Array(0)), undefined, 'void arguments');
  assert.throws(
    () => connectGetHostname.decodeArgs(fromHex('00000000')),
    (e: unknown) => e instanceof XdrError && e.code === 'trailing-bytes' && e.offset === 28,
  );
});

test('NODE_GET_INFO: the model is a char[32], 4 bytes a char (virsh printed "CPU model: aarch64")', () => {
  const model = '00000061 00000061 00000072 00000063 00000068 00000036 00000034' + ' 00000000'.repeat(25);
  ret(nodeGetInfo, `${model} 0000000000200000 00000008 000003e8 00000001 00000001 00000008 00000001`, {
    model: 'aarch64',
    memory: 2097152n,
    cpus: 8,
    mhz: 1000,
    nodes: 1,
    sockets: 1,
    cores: 8,
    threads: 1,
  });
  assert.throws(
    () =>
      nodeGetInfo.encodeRet({
        model: 'x'.repeat(32),
        memory: 0n,
        cpus: 0,
        mhz: 0,
        nodes: 0,
        sockets: 0,
        cores: 0,
        threads: 0,
      }),
    (e: unknown) => e instanceof XdrError && e.code === 'unencodable',
  );
});

test('NODE_GET_SECURITY_MODEL: "" is a one-char array holding the NUL (virsh then shows no security section)', () => {
  ret(nodeGetSecurityModel, '00000001 00000000 00000001 00000000', { model: '', doi: '' });
  ret(nodeGetSecurityModel, '00000005 00000073 00000065 0000006c 00000066 00000000 00000002 00000030 00000000', {
    model: 'self',
    doi: '0',
  });
  // xdr_char is signed on x86: bytes from 0x80 travel sign-extended and come back intact.
  const w = new XdrWriter();
  xdrCharString(8, 'variable', 'label').write(w, 'é');
  assert.is(hex(w.finish()), '00000003 ffffffc3 ffffffa9 00000000'.replace(/ /g, ''));
  assert.is(
    xdrCharString(8, 'variable', 'label').read(new XdrReader(fromHex('00000003 ffffffc3 ffffffa9 00000000'))),
    'é',
  );
  ret(domainGetSecurityLabel, '00000001 00000000 00000000', { label: '', enforcing: 0 });
});

test('domain lists and lookups', () => {
  args(connectListAllDomains, '00000001 00000003', { need_results: 1, flags: 3 });
  args(connectListAllDomains, '00000001 00000000', { need_results: 1, flags: 0 });
  ret(connectListAllDomains, `00000002 ${ALPHA} ${BETA} 00000002`, { domains: [alpha, beta], ret: 2 });
  ret(connectListAllDomains, '00000000 00000000', { domains: [], ret: 0 });
  args(domainLookupByName, '00000005 616c7068 61000000', { name: 'alpha' });
  ret(domainLookupByName, ALPHA, { dom: alpha });
  args(domainLookupByUuid, '66666666777788889999aaaaaaaaaaaa', { uuid: beta.uuid });
  args(domainLookupById, '00000001', { id: 1 });
  ret(domainLookupById, ALPHA, { dom: alpha });
});

test('lifecycle calls: define, create, start, destroy, shutdown, undefine', () => {
  args(domainDefineXml, GAMMA_XML_HEX, { xml: GAMMA_XML });
  ret(domainDefineXml, GAMMA, { dom: gamma });
  args(domainDefineXmlFlags, `${GAMMA_XML_HEX} 00000001`, { xml: GAMMA_XML, flags: 1 });
  args(domainCreateXml, `${DELTA_XML_HEX} 00000000`, { xml_desc: DELTA_XML, flags: 0 });
  args(domainCreate, BETA, { dom: beta });
  args(domainCreateWithFlags, `${GAMMA} 00000001`, { dom: gamma, flags: 1 });
  ret(domainCreateWithFlags, `0000000567616d6d61000000 abcdefabcdefabcdefabcdefabcdefab 00000004`, { dom: gamma4 });
  args(domainDestroy, `0000000462657461 66666666777788889999aaaaaaaaaaaa 00000002`, { dom: { ...beta, id: 2 } });
  args(domainDestroyFlags, `0000000567616d6d61000000 abcdefabcdefabcdefabcdefabcdefab 00000004 00000001`, {
    dom: gamma4,
    flags: 1,
  });
  args(domainShutdown, ALPHA, { dom: alpha });
  args(domainShutdownFlags, `0000000567616d6d61000000 abcdefabcdefabcdefabcdefabcdefab 00000005 00000001`, {
    dom: gamma5,
    flags: 1,
  });
  args(domainUndefine, GAMMA, { dom: gamma });
  args(domainUndefineFlags, `${GAMMA} 00000004`, { dom: gamma, flags: 4 });
  assert.is(hex(domainCreate.encodeRet(undefined)), '');
  assert.throws(
    () => domainCreate.decodeRet(fromHex('00000000')),
    (e: unknown) => e instanceof XdrError && e.code === 'trailing-bytes',
  );
});

test('inspection calls: dumpxml, dominfo, domstate, undefine’s checks', () => {
  args(domainGetXmlDesc, `${ALPHA} 00000002`, { dom: alpha, flags: 2 });
  ret(domainGetXmlDesc, '00000004 3c612f3e', { xml: '<a/>' });
  args(domainGetOsType, ALPHA, { dom: alpha });
  ret(domainGetOsType, '00000005 6c696e75 78000000', { type: 'linux' });
  // virsh printed State running, CPU(s) 2, Max memory 262144 KiB: unsigned char and unsigned short take 4 bytes.
  ret(domainGetInfo, '00000001 0000000000040000 0000000000040000 00000002 0000000000000000', {
    state: 1,
    maxMem: 262144n,
    memory: 262144n,
    nrVirtCpu: 2,
    cpuTime: 0n,
  });
  assert.throws(
    () => domainGetInfo.decodeRet(fromHex('00000100 0000000000040000 0000000000040000 00000002 0000000000000000')),
    (e: unknown) => e instanceof XdrError && e.code === 'bad-value' && e.offset === 28,
  );
  args(domainGetState, `${ALPHA} 00000000`, { dom: alpha, flags: 0 });
  ret(domainGetState, '00000005 00000000', { state: 5, reason: 0 });
  args(domainIsActive, BETA, { dom: beta });
  ret(domainIsActive, '00000000', { active: 0 });
  args(domainHasManagedSaveImage, `${BETA} 00000000`, { dom: beta, flags: 0 });
  args(domainSnapshotNum, `${GAMMA} 00000000`, { dom: gamma, flags: 0 });
  args(domainGetMessages, `${ALPHA} 00000000`, { dom: alpha, flags: 0 });
  ret(domainGetMessages, '00000000', { msgs: [] });
  ret(domainGetMessages, '00000001 00000002 6869 0000', { msgs: ['hi'] });
});

test('events: register for every domain or one, deregister, the lifecycle message', () => {
  args(connectDomainEventCallbackRegisterAny, '00000000 00000000', { eventID: 0, dom: null });
  args(connectDomainEventCallbackRegisterAny, `00000000 00000001 ${BETA}`, { eventID: 0, dom: beta });
  ret(connectDomainEventCallbackRegisterAny, '0000001c', { callbackID: 28 });
  args(connectDomainEventCallbackDeregisterAny, '0000001c', { callbackID: 28 });
  // What virsh event printed as "event 'lifecycle' for domain 'beta': Started Booted".
  const started = `00000001 ${BETA_10} 00000002 00000000`;
  assert.is(
    hex(domainEventCallbackLifecycle.encode({ callbackID: 1, msg: { dom: betaRunning, event: 2, detail: 0 } })),
    hex(fromHex(started)),
  );
  assert.equal(domainEventCallbackLifecycle.decode(fromHex(started)), {
    callbackID: 1,
    msg: { dom: betaRunning, event: 2, detail: 0 },
  });
  assert.is(domainEventCallbackLifecycle.procedure, 318);
});

test('DOMAIN_OPEN_CONSOLE: a null device name, the flags', () => {
  args(domainOpenConsole, `${BETA_10} 00000000 00000000`, { dom: betaRunning, dev_name: null, flags: 0 });
  args(domainOpenConsole, `${BETA_10} 00000001 00000007 73657269 616c3000 00000001`, {
    dom: betaRunning,
    dev_name: 'serial0',
    flags: 1,
  });
});

test('malformed arguments throw XdrError with frame offsets (the body starts at byte 28)', () => {
  try {
    domainLookupByName.decodeArgs(fromHex('00000010 6162'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, XdrError);
    assert.is((e as XdrError).offset, 32);
    assert.is((e as XdrError).message, 'Cannot decode XDR at byte 32: string needs 16 bytes, 2 left');
  }
  try {
    domainGetState.decodeArgs(fromHex(`${ALPHA} 00000000 00000000`));
    assert.unreachable();
  } catch (e) {
    assert.is(
      (e as XdrError).message,
      'Cannot decode XDR at byte 64: 4 bytes left over after the arguments of REMOTE_PROC_DOMAIN_GET_STATE',
    );
  }
  assert.throws(
    () => domainLookupByUuid.decodeArgs(fromHex('0011')),
    (e: unknown) => e instanceof XdrError && e.code === 'truncated',
  );
  assert.throws(
    () => new XdrWriter().uint(0) && xdrNarrowUint(8, 'state').write(new XdrWriter(), 256),
    (e: unknown) => e instanceof XdrError && e.message === 'Cannot encode at byte 0: state 256 is not in [0, 255]',
  );
});

test('the remaining codecs: exact bytes', () => {
  args(connectClose, '', undefined);
  ret(connectClose, '', undefined);
  ret(connectGetUri, '0000000e 766d616e3a2f2f2f73797374656d0000', { uri: 'vman:///system' });
  ret(connectIsSecure, '00000001', { secure: 1 });
  args(domainGetAutostart, ALPHA, { dom: alpha });
  ret(domainGetAutostart, '00000000', { autostart: 0 });
  args(domainIsPersistent, ALPHA, { dom: alpha });
  ret(domainIsPersistent, '00000001', { persistent: 1 });
  ret(domainHasManagedSaveImage, '00000000', { result: 0 });
  ret(domainSnapshotNum, '00000000', { num: 0 });
  args(domainGetSecurityLabel, ALPHA, { dom: alpha });
  args(domainUndefine, ALPHA, { dom: alpha });
  args(domainCreateXml, '00000004 3c612f3e 00000000', { xml_desc: '<a/>', flags: 0 });
  ret(domainCreateXml, ALPHA, { dom: alpha });
  ret(domainDefineXmlFlags, GAMMA, { dom: gamma });
  ret(domainLookupByUuid, BETA, { dom: beta });
});

test('every codec of the table has its bytes pinned above', () => {
  assert.equal([...PROCEDURE_CODECS.keys()].filter((n) => !covered.has(n)).map(procedureName), []);
});

test('UUIDs: text ↔ bytes', () => {
  assert.is(formatUuid(beta.uuid), '66666666-7777-8888-9999-aaaaaaaaaaaa');
  assert.equal(parseUuid('66666666777788889999AAAAAAAAAAAA'), beta.uuid);
  assert.is(parseUuid('6666'), undefined);
  assert.is(parseUuid('66666666-7777-8888-9999-aaaaaaaaaaag'), undefined);
});

test.run();
