// Shared by the domain XML tests: boards, loading manifest text through vman's own checks, a
// deterministic UUID source, a domain document built from parts, and specs as comparable data.
import fc from 'fast-check';
import type { Board } from '../../src/board/model.js';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import { parseYaml } from '../../src/manifest/source.js';
import { toPartitionSpec } from '../../src/manifest/partition.js';
import { getValidator } from '../../src/manifest/validators.js';
import type { BootSpec, PartitionSpec, RestartPolicy } from '../../src/manifest/types.js';
import { domainToManifest, type DomainToManifestOptions } from '../../src/libvirt/domain-xml.js';

function builtin(name: string): Board {
  const b = getBuiltinBoard(name);
  if (!b) throw new Error(`no built-in board ${name}`);
  return b;
}

export const AARCH64 = builtin('qemu-virt-aarch64');
export const ARMV7 = builtin('qemu-virt-armv7');
export const RISCV64 = builtin('qemu-virt-riscv64');
export const BOARDS: readonly Board[] = [AARCH64, ARMV7, RISCV64];

const validate = await getValidator('partition');

/** Loads manifest text as vman's loader would (file partitions.d/NAME.yaml); throws with the problems if any. */
export function loadSpec(text: string, file = '/cfg/partitions.d/x.yaml'): PartitionSpec {
  const { source, problems } = parseYaml('partitions.d/x.yaml', text);
  const doc = source.docs[0];
  if (problems.length || !doc || source.docs.length !== 1)
    throw new Error(`manifest does not parse: ${JSON.stringify(problems)}\n${text}`);
  const r = toPartitionSpec(source, file, 0, doc, validate);
  if (!r.spec) throw new Error(`manifest does not load: ${JSON.stringify(r.problems)}\n${text}`);
  return r.spec;
}

/** A spec without where it came from: what two manifests must share to be equivalent. */
export function comparable(s: PartitionSpec): Omit<PartitionSpec, 'source'> {
  const { source: _source, ...rest } = s;
  return rest;
}

/** UUIDs 00000000-0000-4000-8000-00000000000N, N counting from 1. */
export function counter(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
}

/** domainToManifest on the aarch64 board, state stopped, UUIDs from a counter, with overrides. */
export function define(xml: string, o: Partial<DomainToManifestOptions> = {}) {
  return domainToManifest(xml, { board: AARCH64, state: 'stopped', newUuid: counter(), ...o });
}

/** A domain document: `body` goes inside <domain>, after the defaults that it does not replace. */
export function domain(body = '', o: { type?: string; name?: string; memory?: string; os?: string } = {}): string {
  return [
    `<domain type='${o.type ?? 'vman'}'>`,
    o.name ?? '  <name>web</name>',
    o.memory ?? "  <memory unit='MiB'>64</memory>",
    o.os ?? '  <os><kernel>/images/Image</kernel></os>',
    body,
    '</domain>',
    '',
  ].join('\n');
}

/** A domain with vman metadata holding `inner`. */
export function withMeta(inner: string, body = ''): string {
  return domain(
    `  <metadata><vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'>${inner}</vman:partition></metadata>\n${body}`,
  );
}

// Characters XML 1.0 can carry (§2.2), from all of Unicode: tab, LF and CR included.
// eslint-disable-next-line no-control-regex -- the C0 controls XML forbids are what it finds
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/u;
const text = (o: { minLength?: number; maxLength: number }) =>
  fc
    .string({
      unit: fc.oneof(
        fc.constantFrom(...'aZ09 -_.:&<>\'"\t\n\r\\$#*[]{}é€'.split('')),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      ...o,
    })
    .filter((s) => !NOT_XML.test(s));
const segment = fc
  .string({ unit: fc.constantFrom(...'abcXYZ019 -_.&<>\'"#:é'.split('')), minLength: 1, maxLength: 8 })
  .filter((s) => s !== '.' && s !== '..');
const absPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => `/${a.join('/')}`);
const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const offset = fc.option(fc.nat({ max: 2 ** 32 }), { nil: undefined });
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Partitions on `board` as the loader gives them, with strings full of what XML and YAML must escape. */
export function specArb(board: Board): fc.Arbitrary<PartitionSpec> {
  const cores = board.cpus.map((c) => c.id);
  const bootArb: fc.Arbitrary<BootSpec> = fc.oneof(
    fc
      .record({
        kernel: absPath,
        initrd: fc.option(absPath, { nil: undefined }),
        bootargs: fc.option(text({ maxLength: 40 }), { nil: undefined }),
        overlays: fc.array(absPath, { maxLength: 3 }),
        pinKernel: fc.option(sha, { nil: undefined }),
        pinInitrd: fc.option(sha, { nil: undefined }),
      })
      .map((r): BootSpec => ({
        kind: 'kernel',
        kernel: r.kernel,
        ...(r.initrd !== undefined ? { initrd: r.initrd } : {}),
        ...(r.bootargs !== undefined ? { bootargs: r.bootargs } : {}),
        overlays: r.overlays,
        sha256: {
          ...(r.pinKernel ? { kernel: r.pinKernel } : {}),
          ...(r.pinInitrd && r.initrd !== undefined ? { initrd: r.pinInitrd } : {}),
        },
      })),
    fc
      .record({
        image: absPath,
        load: offset,
        entry: offset,
        bootargs: fc.option(text({ maxLength: 40 }), { nil: undefined }),
        overlays: fc.array(absPath, { maxLength: 3 }),
        pin: fc.option(sha, { nil: undefined }),
      })
      .map((r): BootSpec => ({
        kind: 'image',
        image: r.image,
        ...(r.load !== undefined ? { load: r.load } : {}),
        ...(r.entry !== undefined ? { entry: r.entry } : {}),
        ...(r.bootargs !== undefined ? { bootargs: r.bootargs } : {}),
        overlays: r.overlays,
        sha256: r.pin ? { image: r.pin } : {},
      })),
  );
  return fc
    .record({
      name: dnsLabel,
      uid: fc.option(fc.uuid(), { nil: undefined }),
      labels: fc.dictionary(text({ minLength: 1, maxLength: 12 }), text({ maxLength: 40 }), { maxKeys: 4 }),
      state: fc.constantFrom('running' as const, 'stopped' as const),
      cpus: fc.oneof(
        fc.integer({ min: 1, max: cores.length }).map((count) => ({ count })),
        fc.subarray(cores, { minLength: 1 }).map((ids) => ({ ids: [...ids].sort((a, b) => a - b) })),
      ),
      pages: fc.integer({ min: 1, max: 2 ** 20 }),
      base: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
      devices: fc.shuffledSubarray(
        board.devices.map((d) => d.name),
        { maxLength: 4 },
      ),
      boot: bootArb,
      dependsOn: fc.uniqueArray(fc.oneof(dnsLabel, text({ minLength: 1, maxLength: 12 })), { maxLength: 3 }),
      console: fc.option(text({ minLength: 1, maxLength: 30 }).map(escapeRegex), { nil: undefined }),
      timeoutMs: fc.oneof(fc.constant(60_000), fc.nat({ max: 10_000_000 })),
      restartPolicy: fc.constantFrom<RestartPolicy>('Never', 'OnFailure', 'Always'),
    })
    .filter(
      (r) =>
        !r.dependsOn.includes(r.name) &&
        (r.uid === undefined || !/^([0-9a-f]{2})\1{15}$/.test(r.uid.replace(/-/g, ''))),
    )
    .map((r): PartitionSpec => ({
      name: r.name,
      ...(r.uid !== undefined ? { uid: r.uid.toLowerCase() } : {}),
      labels: Object.fromEntries(Object.entries(r.labels)),
      state: r.state,
      cpus: r.cpus,
      memory: r.base !== undefined ? { size: r.pages * 4096, base: r.base } : { size: r.pages * 4096 },
      devices: r.devices,
      boot: r.boot,
      dependsOn: r.dependsOn,
      readiness: r.console !== undefined ? { console: r.console, timeoutMs: r.timeoutMs } : { timeoutMs: r.timeoutMs },
      restartPolicy: r.restartPolicy,
      source: {
        file: 'x.yaml',
        absFile: '/x.yaml',
        doc: 0,
        position: { file: 'x.yaml', line: 1, column: 1 },
        fields: {},
      },
    }));
}
