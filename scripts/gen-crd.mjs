#!/usr/bin/env node
// Writes deploy/crd.yaml, the Partition CustomResourceDefinition (partitions.vman.dev) a fleet
// operator applies, from schemas/partition.schema.json, so the two never drift:
//   node scripts/gen-crd.mjs            writes deploy/crd.yaml
//   node scripts/gen-crd.mjs --stdout   prints it instead
//   node scripts/gen-crd.mjs --check    exits 1 when deploy/crd.yaml is not what it would write
// test/fleet/deploy.test.ts runs --check. The manifest's schema (JSON Schema 2020-12) becomes a
// Kubernetes structural schema (apiextensions.k8s.io/v1, as Kubernetes 1.20 validates it):
//   - $ref/$defs are inlined; $schema, $id and title dropped; const becomes a one-value enum;
//   - additionalProperties: false is dropped: Kubernetes forbids it next to properties and prunes
//     unknown fields instead;
//   - uniqueItems (forbidden: quadratic) becomes x-kubernetes-list-type: set;
//   - anyOf over integer and string (sizes, addresses, offsets) becomes x-kubernetes-int-or-string
//     with each branch's checks kept (a check on strings never applies to an integer, and back);
//   - anyOf over other types (cpus: a count or a list; memory: a size or {size, base}) becomes
//     x-kubernetes-preserve-unknown-fields with each branch's checks merged the same way, and a
//     string refused when no branch allows one. The agent validates the whole spec against
//     schemas/partition.schema.json as well, so what Kubernetes cannot say is still refused.
// Plus spec.nodeName (the device that runs the partition) and the status the agent reports.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA = 'schemas/partition.schema.json';
const OUT = 'deploy/crd.yaml';

// A DNS label (RFC 1123), as Kubernetes names a namespace; a device's namespace is vman-<device>.
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
// Matches no string at all (an empty character class): how a schema without types refuses strings.
const NO_STRING = '[^\\s\\S]';

// The JSON types each type-specific keyword applies to: on a value of another type it holds vacuously.
const KEYWORD_TYPE = {
  minimum: 'number',
  maximum: 'number',
  exclusiveMinimum: 'number',
  exclusiveMaximum: 'number',
  multipleOf: 'number',
  pattern: 'string',
  minLength: 'string',
  maxLength: 'string',
  format: 'string',
  items: 'array',
  minItems: 'array',
  maxItems: 'array',
  'x-kubernetes-list-type': 'array',
  properties: 'object',
  required: 'object',
  minProperties: 'object',
  maxProperties: 'object',
};

// Kubernetes' structural schema for one node of the manifest's schema (DEFS: its $defs; AT: its path, for errors).
function structural(node, defs, at) {
  const n = resolve(node, defs, at);
  if (n.anyOf || n.oneOf) return fromUnion(n, defs, at);
  const out = {};
  if (n.description) out.description = n.description;
  for (const [key, value] of Object.entries(n)) {
    switch (key) {
      case 'description':
      case 'title':
      case '$schema':
      case '$id':
      case '$defs':
        break;
      case 'const':
        out.type ??= typeOf(value);
        out.enum = [value];
        break;
      case 'enum':
        if (value.every((v) => typeof v === 'string')) out.type ??= 'string';
        out.enum = value;
        break;
      case 'additionalProperties':
        // false: pruning drops unknown fields. A schema (a map, e.g. labels) is kept.
        if (typeof value === 'object') out.additionalProperties = structural(value, defs, `${at}.*`);
        break;
      case 'uniqueItems':
        if (value) out['x-kubernetes-list-type'] = 'set';
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, structural(v, defs, `${at}.${k}`)]),
        );
        break;
      case 'items':
        out.items = structural(value, defs, `${at}[]`);
        break;
      case 'type':
      case 'required':
      case 'pattern':
      case 'minLength':
      case 'maxLength':
      case 'minimum':
      case 'maximum':
      case 'minItems':
      case 'maxItems':
        out[key] = value;
        break;
      default:
        throw new Error(`gen-crd: ${at}: no structural equivalent for "${key}" yet; teach scripts/gen-crd.mjs`);
    }
  }
  if (!out.type && !out['x-kubernetes-int-or-string'] && !out['x-kubernetes-preserve-unknown-fields']) {
    throw new Error(`gen-crd: ${at}: a structural schema needs a type`);
  }
  return out;
}

// NODE with its $ref inlined (the node's own keywords, e.g. its description, win).
function resolve(node, defs, at) {
  if (!node.$ref) return node;
  const name = /^#\/\$defs\/(.+)$/.exec(node.$ref)?.[1];
  if (!name || !defs[name]) throw new Error(`gen-crd: ${at}: cannot resolve $ref ${node.$ref}`);
  const { $ref: _, ...rest } = node;
  return { ...defs[name], ...rest };
}

// The branches of a union, with a branch that is itself a union (memory: a size, i.e. an integer
// or a string, or an object) replaced by its own branches.
function branchesOf(n, defs, at) {
  return (n.anyOf ?? n.oneOf).flatMap((b, i) => {
    const r = resolve(b, defs, `${at}|${i}`);
    return r.anyOf || r.oneOf ? branchesOf(r, defs, `${at}|${i}`) : [r];
  });
}

// One node for an anyOf/oneOf whose branches have different types: their type-specific checks merged.
function fromUnion(n, defs, at) {
  const branches = branchesOf(n, defs, at).map((b, i) => structural(b, defs, `${at}|${i}`));
  const types = new Set(branches.map((b) => b.type));
  if (types.size !== branches.length || types.has(undefined)) {
    throw new Error(`gen-crd: ${at}: the branches of a union need distinct types`);
  }
  const out = {};
  if (n.description) out.description = n.description;
  const intOrString = [...types].every((t) => t === 'integer' || t === 'string');
  if (intOrString) out['x-kubernetes-int-or-string'] = true;
  else out['x-kubernetes-preserve-unknown-fields'] = true;
  for (const b of branches) {
    for (const [key, value] of Object.entries(b)) {
      if (key === 'type' || key === 'description') continue;
      const applies = KEYWORD_TYPE[key];
      if (!applies || !(applies === b.type || (applies === 'number' && b.type === 'integer'))) {
        throw new Error(`gen-crd: ${at}: "${key}" of the ${b.type} branch would apply to other types too`);
      }
      if (key in out) throw new Error(`gen-crd: ${at}: two branches set "${key}"`);
      out[key] = value;
    }
  }
  // A list type needs type: array; the list is validated as a plain list here.
  delete out['x-kubernetes-list-type'];
  if (!types.has('string')) out.pattern = NO_STRING;
  return out;
}

function typeOf(value) {
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

// The status the agent reports through the status subresource.
function statusSchema() {
  const string = (description) => ({ description, type: 'string' });
  return {
    description: 'What the device that runs the partition reports (vman agent).',
    type: 'object',
    properties: {
      observedGeneration: {
        description: 'The metadata.generation of the spec this status describes.',
        type: 'integer',
        format: 'int64',
      },
      state: {
        description: "The partition's live state on its device.",
        type: 'string',
        enum: ['running', 'stopped', 'paused', 'shutdown', 'crashed', 'absent'],
      },
      cpus: {
        description: 'The logical core ids the partition holds.',
        type: 'array',
        items: { type: 'integer' },
      },
      memory: {
        description: "The partition's memory: physical base address and size, in bytes.",
        type: 'object',
        properties: {
          base: { type: 'integer', format: 'int64' },
          size: { type: 'integer', format: 'int64' },
        },
      },
      devices: {
        description: 'The devices the partition holds.',
        type: 'array',
        items: { type: 'string' },
      },
      restarts: {
        description: 'How many times the agent restarted the partition (restartPolicy).',
        type: 'integer',
      },
      message: string('A human-readable note on the last reconcile.'),
      conditions: {
        description: 'Ready, Progressing and Degraded, as Kubernetes conditions.',
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: {
          type: 'object',
          required: ['type', 'status'],
          properties: {
            type: string('Ready, Progressing or Degraded.'),
            status: { description: 'True, False or Unknown.', type: 'string', enum: ['True', 'False', 'Unknown'] },
            reason: string('A CamelCase reason for the last transition.'),
            message: string('A human-readable message on the last transition.'),
            lastTransitionTime: {
              description: 'When the status last changed.',
              type: 'string',
              format: 'date-time',
            },
            observedGeneration: {
              description: 'The metadata.generation this condition was set for.',
              type: 'integer',
              format: 'int64',
            },
          },
        },
      },
    },
  };
}

// The CustomResourceDefinition, as an object.
export function crd(schema) {
  const defs = schema.$defs ?? {};
  const spec = structural(schema.properties.spec, defs, 'spec');
  spec.required = [...spec.required, 'nodeName'];
  spec.properties = {
    nodeName: {
      description:
        'The device that runs this partition (vman agent --node NAME); mirrored in the label vman.dev/node. ' +
        "A DNS label: the device's namespace is vman-<nodeName>.",
      type: 'string',
      minLength: 1,
      maxLength: 58,
      pattern: DNS_LABEL,
    },
    ...spec.properties,
  };
  const name = structural(schema.properties.metadata.properties.name, defs, 'metadata.name');
  const condition = (type, field) => `.status.conditions[?(@.type=="${type}")].${field}`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'partitions.vman.dev' },
    spec: {
      group: 'vman.dev',
      scope: 'Namespaced',
      names: {
        kind: 'Partition',
        listKind: 'PartitionList',
        plural: 'partitions',
        singular: 'partition',
        shortNames: ['part'],
      },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
            { name: 'State', type: 'string', jsonPath: '.status.state' },
            { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status') },
            { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason') },
            { name: 'Restarts', type: 'integer', jsonPath: '.status.restarts' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              description: schema.description,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object', properties: { name } },
                spec,
                status: statusSchema(),
              },
            },
          },
        },
      ],
    },
  };
}

// deploy/crd.yaml's text.
export function crdYaml() {
  const schema = JSON.parse(readFileSync(`${root}${SCHEMA}`, 'utf8'));
  const head = [
    `# Generated by scripts/gen-crd.mjs from ${SCHEMA}. Do not edit: change the schema, then run`,
    '# `npm run gen-crd`. Apply with: kubectl apply -f deploy/crd.yaml',
  ];
  return `${head.join('\n')}\n${stringify(crd(schema), { lineWidth: 0, singleQuote: true })}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = crdYaml();
  const mode = process.argv[2];
  if (mode === '--stdout') process.stdout.write(text);
  else if (mode === '--check') {
    let now = '';
    try {
      now = readFileSync(`${root}${OUT}`, 'utf8');
    } catch {
      // a missing file is out of date too
    }
    if (now !== text) {
      console.error(`gen-crd: ${OUT} is out of date with ${SCHEMA}; run: npm run gen-crd`);
      process.exit(1);
    }
  } else if (mode === undefined) {
    writeFileSync(`${root}${OUT}`, text);
    console.log(`gen-crd: wrote ${OUT}`);
  } else {
    console.error('usage: node scripts/gen-crd.mjs [--stdout | --check]');
    process.exit(2);
  }
}
