// Manifest fields → the YAML text of a Partition document, as a person would write it: defaults left
// out, sizes with units, addresses in hex, short lists in flow style.
import { Document, isCollection, isScalar, Scalar, visit } from 'yaml';
import { API_VERSION } from '../../manifest/partition.js';
import { DEFAULT_READY_TIMEOUT_MS, DEFAULT_RESTART_POLICY } from '../../manifest/types.js';
import type { ManifestFields } from './model.js';
import { duration } from './write.js';

// eslint-disable-next-line no-control-regex -- control characters (and Unicode's line breaks) are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/** The comment at the top of a manifest written from domain XML. */
const HEADER = " Written by vman's libvirt endpoint from domain XML (define); `virsh dumpxml` shows it back.";

/** The manifest text for `f`. */
export function manifestText(f: ManifestFields): string {
  const b = f.boot;
  const boot: Record<string, unknown> = {};
  if (b.kind === 'kernel') {
    boot.kernel = b.file;
    if (b.initrd !== undefined) boot.initrd = b.initrd;
  } else {
    boot.image = b.file;
    if (b.load !== undefined) boot.load = b.load;
    if (b.entry !== undefined) boot.entry = b.entry;
  }
  if (b.bootargs !== undefined) boot.bootargs = b.bootargs;
  if (b.overlays.length) boot.overlays = [...b.overlays];
  if (Object.keys(b.sha256).length) boot.sha256 = { ...b.sha256 };
  const readiness: Record<string, unknown> = {};
  if (f.readiness.console !== undefined) readiness.console = f.readiness.console;
  if (f.readiness.timeoutMs !== undefined && f.readiness.timeoutMs !== DEFAULT_READY_TIMEOUT_MS)
    readiness.timeout = duration(f.readiness.timeoutMs);
  const spec: Record<string, unknown> = {
    state: f.state,
    cpus: typeof f.cpus === 'number' ? f.cpus : [...f.cpus],
    memory: f.memory.base !== undefined ? { size: size(f.memory.size), base: f.memory.base } : size(f.memory.size),
    ...(f.devices.length ? { devices: [...f.devices] } : {}),
    boot,
    ...(f.dependsOn.length ? { dependsOn: [...f.dependsOn] } : {}),
    ...(Object.keys(readiness).length ? { readiness } : {}),
    ...(f.restartPolicy !== DEFAULT_RESTART_POLICY ? { restartPolicy: f.restartPolicy } : {}),
  };
  const doc = new Document({
    apiVersion: API_VERSION,
    kind: 'Partition',
    metadata: {
      name: f.name,
      ...(f.uid !== undefined ? { uid: f.uid } : {}),
      ...(f.labels.length ? { labels: Object.fromEntries(f.labels) } : {}),
    },
    spec,
  });
  doc.commentBefore = HEADER;
  // Addresses and offsets in hex; lists of scalars and {size, base} on one line.
  for (const path of [
    ['spec', 'memory', 'base'],
    ['spec', 'boot', 'load'],
    ['spec', 'boot', 'entry'],
  ]) {
    const n = doc.getIn(path, true);
    if (isScalar(n)) n.format = 'HEX';
  }
  for (const path of [
    ['spec', 'cpus'],
    ['spec', 'memory'],
    ['spec', 'devices'],
    ['spec', 'dependsOn'],
  ]) {
    const n = doc.getIn(path, true);
    if (isCollection(n)) n.flow = true;
  }
  // Strings with a line break or other control character are double-quoted (one line, escapes), and so
  // is any but a plain name inside a flow list: the yaml writer's multi-line plain and block scalars
  // there do not always read back as written.
  visit(doc, {
    Scalar(_, node, path) {
      if (typeof node.value !== 'string') return;
      const inFlow = path.some((p) => isCollection(p) && p.flow === true);
      if (CONTROL.test(node.value) || (inFlow && !/^[A-Za-z0-9][-A-Za-z0-9._]*$/.test(node.value)))
        node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

// A size in the largest of Gi, Mi, Ki that divides it (sizes are whole 4 KiB pages).
function size(bytes: number): string {
  for (const [unit, scale] of [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const)
    if (bytes % scale === 0) return `${bytes / scale}${unit}`;
  return String(bytes);
}
