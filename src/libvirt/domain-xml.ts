// Domain XML ↔ Partition manifest, for the libvirt endpoint (SPEC "Orchestrators: the libvirt
// endpoint"). `define` turns a client's <domain type='vman'> into the YAML it writes to
// partitions.d/NAME.yaml; `dumpxml` turns a partition back into domain XML; the one fed to the
// other changes nothing. Pure: the board comes in as an argument, the UUID source can be injected.
//
// The mapping (docs/libvirt-domain-xml.md has the full table):
//   /domain/@type            'vman' only (dumpxml writes it; define refuses any other type)
//   /domain/@id              output only: written for a running partition, ignored by define
//   /domain/name             metadata.name (a DNS label)
//   /domain/uuid             metadata.uid; absent in the manifest when it is nameUuid(name), the UUID
//                            a manifest without uid shows; a domain defined without one gets a random one
//   /domain/memory           spec.memory (size; every libvirt unit; whole 4 KiB pages)
//   /domain/currentMemory    must equal memory (a partition holds all its memory)
//   /domain/vcpu             spec.cpus: N (no cputune) …
//   /domain/cputune/vcpupin  … or spec.cpus: [core ids], one pin per vCPU, one core each, ascending
//   /domain/os/type          hvm, @arch the board's (aarch64, armv7l, riscv64), @machine the board's name
//   /domain/os/kernel        spec.boot.kernel, or spec.boot.image when vman:image is present
//   /domain/os/initrd        spec.boot.initrd;  /domain/os/cmdline  spec.boot.bootargs
//   /domain/os/dtb           refused: vman builds the partition's tree; overlays go in vman:overlays
//   /domain/on_poweroff, on_reboot, on_crash   spec.restartPolicy (model.ts LIFECYCLE)
//   /domain/metadata/vman:partition  labels, memory base, devices by name, image load/entry, sha256
//                            pins, overlays, dependsOn, readiness (namespace https://vman.dev/xmlns/libvirt/1)
//   spec.state is not in the XML: libvirt keeps a domain's state apart from its definition, so the
//   caller says which state the manifest gets (define: the existing partition's, else stopped; create: running).
// Everything else libvirt defines is refused naming it ('unsupported'), except what describes what a
// partition always is: <cpu mode='host-passthrough'/>, an empty <features/> or <devices/>, one pty
// <console>/<serial> on port 0, <memballoon model='none'/>.
import type { Board } from '../board/model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import type { PartitionSpec } from '../manifest/types.js';
import { parseYaml } from '../manifest/source.js';
import { toPartitionSpec } from '../manifest/partition.js';
import { partition as partitionValidator } from '../manifest/generated/partition.validator.js';
import type { Validator } from '../manifest/validators.js';
import { parseXml } from './domain-xml/tree.js';
import { readDomain } from './domain-xml/read.js';
import { manifestText } from './domain-xml/manifest-text.js';
import { writeDomain } from './domain-xml/write.js';
import { isCanonicalUuid, nameUuid, randomUuid } from './domain-xml/uuid.js';
import type { DomainXmlCode, DomainXmlProblem } from './domain-xml/model.js';

export { DOMAIN_TYPE, LIBVIRT_ARCH, LIFECYCLE, VMAN_XMLNS } from './domain-xml/model.js';
export type { DomainXmlCode, DomainXmlProblem } from './domain-xml/model.js';
export { nameUuid, parseUuid, VMAN_UUID_NAMESPACE } from './domain-xml/uuid.js';
export { MAX_DOMAIN_XML_CHARS } from './domain-xml/tree.js';

export interface DomainToManifestOptions {
  readonly board: Board;
  /**
   * The manifest's spec.state. Domain XML carries no state: `define` passes the state of the partition
   * already declared under this name (redefining never starts or stops it), else 'stopped'; `create` passes 'running'.
   */
  readonly state: 'running' | 'stopped';
  /**
   * The UUID of the partition already declared under this name, if any: kept when the XML gives none;
   * a different one is refused.
   */
  readonly uuid?: string;
  /** Makes the UUID of a new domain whose XML gives none (default: a random version 4 UUID). */
  readonly newUuid?: () => string;
}

export type DomainToManifestResult =
  | {
      readonly ok: true;
      readonly name: string;
      /** The domain's UUID (lower-case, with dashes). */
      readonly uuid: string;
      /** The manifest, ready for partitions.d/NAME.yaml. */
      readonly text: string;
    }
  | {
      readonly ok: false;
      /** The first problem's code: what the libvirt error code is mapped from. */
      readonly code: DomainXmlCode;
      /** The first problem's element (XPath). */
      readonly element: string;
      /** Every problem's message, the first first, joined into the one message libvirt carries. */
      readonly message: string;
      readonly problems: readonly DomainXmlProblem[];
    };

/** Most problems joined into one message; the rest are counted. */
const MAX_JOINED = 5;

/** Domain XML (a `define` or `create`) → the manifest to write, or every reason it cannot be honoured. */
export function domainToManifest(xml: string, o: DomainToManifestOptions): DomainToManifestResult {
  const parsed = parseXml(xml);
  if ('error' in parsed) {
    const e = parsed.error;
    const where = `line ${e.line}${e.column !== undefined ? `, column ${e.column}` : ''}`;
    return failure([
      { code: 'xml', element: '/', message: `the domain XML is not well-formed: ${where}: ${e.message}` },
    ]);
  }
  const newUuid = o.newUuid ?? randomUuid;
  const read = readDomain(parsed.root, {
    board: o.board,
    state: o.state,
    newUuid: () => {
      const u = newUuid();
      if (!isCanonicalUuid(u)) throw new Error(`bug: newUuid() gave ${JSON.stringify(u)}, not a lower-case UUID`);
      return u;
    },
    ...(o.uuid !== undefined ? { uuid: o.uuid } : {}),
  });
  if ('problems' in read) return failure(read.problems);
  const text = manifestText(read.fields);
  // The manifest goes through vman's own checks, so what define writes always loads (a readiness
  // pattern that is no regular expression, a label too long, a partition depending on itself…).
  const problems = checkManifest(text, read.fields.name);
  if (problems.length) return failure(problems);
  return { ok: true, name: read.fields.name, uuid: read.uuid, text };
}

export interface ManifestToDomainOptions {
  readonly board: Board;
  /** The UUID to show when the manifest has no metadata.uid (default: nameUuid(name), stable without state). */
  readonly uuid?: string;
  /** The domain id, only while the partition runs. */
  readonly id?: number;
}

/**
 * A partition → its domain XML (`dumpxml`). Throws a RangeError when a string of the manifest holds a
 * character XML 1.0 cannot carry at all (a C0 control other than tab, LF, CR): no XML can say it.
 */
export function manifestToDomain(spec: PartitionSpec, o: ManifestToDomainOptions): string {
  const uuid = spec.uid ?? o.uuid ?? nameUuid(spec.name);
  return writeDomain(spec, uuid, o.board, o.id);
}

function failure(problems: readonly DomainXmlProblem[]): DomainToManifestResult {
  const first = problems[0] ?? { code: 'invalid' as const, element: '/', message: 'the domain XML is not valid' };
  const shown = problems.slice(0, MAX_JOINED).map((p) => p.message);
  const more = problems.length - shown.length;
  const message = `${shown.join('; ')}${more > 0 ? `; and ${more} more problem${more === 1 ? '' : 's'}` : ''}`;
  return { ok: false, code: first.code, element: first.element, message, problems };
}

// Where a manifest field came from in the XML, for problems vman's manifest checks raise.
const FIELD_ELEMENTS: readonly (readonly [string, string])[] = [
  ['metadata.name', '/domain/name'],
  ['metadata.uid', '/domain/uuid'],
  ['metadata.labels', '/domain/metadata/vman:partition/vman:labels'],
  ['spec.cpus', '/domain/vcpu'],
  ['spec.memory.base', '/domain/metadata/vman:partition/vman:memory/@base'],
  ['spec.memory', '/domain/memory'],
  ['spec.devices', '/domain/metadata/vman:partition/vman:devices'],
  ['spec.boot.kernel', '/domain/os/kernel'],
  ['spec.boot.image', '/domain/os/kernel'],
  ['spec.boot.initrd', '/domain/os/initrd'],
  ['spec.boot.bootargs', '/domain/os/cmdline'],
  ['spec.boot.load', '/domain/metadata/vman:partition/vman:image/@load'],
  ['spec.boot.entry', '/domain/metadata/vman:partition/vman:image/@entry'],
  ['spec.boot.overlays', '/domain/metadata/vman:partition/vman:overlays'],
  ['spec.boot.sha256', '/domain/metadata/vman:partition/vman:sha256'],
  ['spec.dependsOn', '/domain/metadata/vman:partition/vman:dependsOn'],
  ['spec.readiness.console', '/domain/metadata/vman:partition/vman:readiness/vman:console'],
  ['spec.readiness', '/domain/metadata/vman:partition/vman:readiness'],
  ['spec.restartPolicy', '/domain/on_crash'],
];

function elementOf(d: Diagnostic): string {
  const path = (d.position?.path ?? []).map(String).join('.');
  return FIELD_ELEMENTS.find(([field]) => path === field || path.startsWith(`${field}.`))?.[1] ?? '/domain';
}

// Runs the manifest text through the loader's own parse and checks (schema, units, regex, boot shape).
function checkManifest(text: string, name: string): DomainXmlProblem[] {
  const file = `partitions.d/${name}.yaml`;
  const { source, problems } = parseYaml(file, text);
  const doc = source.docs[0];
  const found: Diagnostic[] = [...problems];
  if (!problems.length && doc)
    found.push(...toPartitionSpec(source, `/${file}`, 0, doc, partitionValidator as Validator).problems);
  return found.map((d) => {
    const element = elementOf(d);
    return {
      code: 'invalid',
      element,
      message: `\`${element}\`: ${d.message}${d.hint ? ` (${d.hint})` : ''} [${d.code}]`,
      diagnostic: d.code,
    };
  });
}
