// Packets for the wire fuzzers: valid calls captured from virsh, mutated; well-formed calls of any
// procedure with random bodies; noise. Shared by fuzz.test.ts (the server on a fake driver) and
// robustness.test.ts (the real agent).
import fc from 'fast-check';
import {
  connectListAllDomains,
  domainDefineXml,
  domainLookupByName,
  PROCEDURE_CODECS,
  REMOTE_PROC_CONNECT_GET_HOSTNAME,
  REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
  REMOTE_PROC_DOMAIN_DEFINE_XML,
  REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
} from '../../src/libvirt/procedures.js';
import { encodeMessage, KEEPALIVE_PROGRAM, REMOTE_PROGRAM } from '../../src/libvirt/rpc.js';
import { fromHex } from './support.js';

export const call = (proc: number, body: Uint8Array = new Uint8Array(0), serial = 1): Uint8Array =>
  encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc, type: 0, serial, status: 0 }, body);

/** Valid packets to damage: real virsh calls, a keepalive PING, stream data. */
const seeds: Uint8Array[] = [
  // virsh's CONNECT_OPEN, as captured.
  fromHex(
    '00000038 20008086 00000001 00000001 00000000 00000002 00000000' +
      '00000001 0000000e 766d616e3a2f2f2f73797374656d0000 00000000',
  ),
  call(REMOTE_PROC_CONNECT_GET_HOSTNAME),
  call(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, connectListAllDomains.encodeArgs({ need_results: 1, flags: 3 })),
  call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, domainLookupByName.encodeArgs({ name: 'alpha' })),
  call(
    REMOTE_PROC_DOMAIN_DEFINE_XML,
    domainDefineXml.encodeArgs({ xml: "<domain type='vman'><name>f</name></domain>" }),
  ),
  encodeMessage({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: 2, serial: 0, status: 0 }),
  encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc: 201, type: 3, serial: 9, status: 2 }, fromHex('68656c6c6f')),
];

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'word'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('word' as const),
    // Mostly the length word and header fields.
    at: fc.oneof(fc.constantFrom(0, 4, 8, 12, 16, 20, 24, 28, 32), fc.nat()),
    value: fc.oneof(
      fc.integer({ min: 0, max: 32 }),
      fc.constantFrom(0x20008086, 0x6b656570, 0x01000004, 0x01000005, 0x7fffffff, 0x80000000, 0xffffffff),
      fc.nat(),
    ),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
);

function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let p = seed.slice();
  for (const m of mutations) {
    if (p.length === 0) break;
    if (m.kind === 'flip') p[m.at % p.length]! ^= m.xor;
    else if (m.kind === 'cut') p = p.slice(0, m.at % p.length);
    else if (m.kind === 'insert') {
      const at = m.at % p.length;
      p = new Uint8Array([...p.subarray(0, at), ...m.bytes, ...p.subarray(at)]);
    } else if (p.length >= 4) new DataView(p.buffer).setUint32(((m.at % p.length) & ~3) % (p.length - 3), m.value);
  }
  return p;
}

/** One connection's worth of input: mutated seeds, well-formed calls of any procedure with random bodies, noise. */
export const packet: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([i, ms]) => mutate(seeds[i]!, ms)),
  fc
    .tuple(fc.constantFrom(...PROCEDURE_CODECS.keys(), 34, 0, -1, 100000), fc.uint8Array({ maxLength: 96 }))
    .map(([proc, body]) => call(proc, body)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
);
