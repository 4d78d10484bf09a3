// The libvirt endpoint's dispatcher: each remote procedure a stock client calls (docs/libvirt-wire.md)
// answered from, or carried out through, the engine. Domains are partitions; `define` and `undefine`
// edit partitions.d/, `start` and `destroy` set spec.state there and reconcile before they answer, so
// the manifest directory stays the one source of truth. Lifecycle events come from comparing what the
// engine reports between looks: after every call here, after each of the agent's reconciles, and
// every second while a client listens, so a dropped file or a crashed partition shows too.
import { hostname as osHostname } from 'node:os';
import type { Board } from '../board/model.js';
import type { PartitionSpec } from '../manifest/types.js';
import { VmanError } from '../errors.js';
import { Engine, applied, type EngineOptions, type Inventory } from '../engine/index.js';
import { diagnosticLine } from '../rules/diagnostic.js';
import { domainToManifest, manifestToDomain, LIBVIRT_ARCH } from './domain-xml.js';
import { domainsOf, lifecycleEvents, snapshotOf, type Domain, type Snapshot } from './domains.js';
import type { Call, Client, Dispatcher, Stream } from './server.js';
import {
  LibvirtError,
  noSupport,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_DOM_EXIST,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_NO_SUPPORT,
  VIR_ERR_OPERATION_ABORTED,
  VIR_ERR_OPERATION_DENIED,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_RESOURCE_BUSY,
  VIR_ERR_XML_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_NONE,
  VIR_FROM_XML,
} from './errors.js';
import * as P from './procedures.js';

export interface EndpointOptions {
  /** How each call opens the engine (afresh: board.yaml and the records may have changed). */
  readonly engine: EngineOptions;
  /** vman's version, as `virsh version` shows the hypervisor's. */
  readonly version: string;
  readonly hostname?: string;
  /** How often the partitions are looked at while a client listens for events (default 1 s). */
  readonly pollMs?: number;
  /** Told when a look at the partitions (for events) failed; the next look tries again. */
  readonly onError?: (err: unknown) => void;
}

/** What a client registered for: lifecycle events of one domain, or of all. */
interface Registration {
  readonly callbackID: number;
  readonly domain: string | undefined;
}

interface ClientState {
  readonly client: Client;
  readOnly: boolean;
  uri: string;
  readonly registrations: Map<number, Registration>;
  readonly streams: Set<Stream>;
}

/** The libvirt version whose protocol vman speaks (tested against virsh and libvirt-python 9.0.0). */
const LIBVIRT_COMPAT_VERSION = 9_000_000n;
const DEFAULT_POLL_MS = 1_000;
/** virsh and python treat these as features the server has (remote_driver.c). */
const SUPPORTED_FEATURES = new Set([P.VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK]);

const domainError = (code: number, message: string) => new LibvirtError(code, VIR_FROM_DOMAIN, message);

/** A libvirt version number (major * 1e6 + minor * 1e3 + micro) of `x.y.z`. */
export function versionNumber(version: string): bigint {
  const [a = 0, b = 0, c = 0] = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  return BigInt(a * 1_000_000 + b * 1_000 + c);
}

// An engine error as the libvirt error a client shows: vman's own message (its diagnostics, with their
// codes and places), under the code that says what kind of failure it was.
export function libvirtErrorOf(err: unknown): LibvirtError {
  if (err instanceof LibvirtError) return err;
  if (!(err instanceof VmanError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new LibvirtError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `internal error: ${message}`, { cause: err });
  }
  const message = err.diagnostics.length ? err.diagnostics.map(diagnosticLine).join('; ') : err.message;
  const e = (code: number) => new LibvirtError(code, VIR_FROM_DOMAIN, message, { cause: err });
  if (err.reason === 'no-such-partition') return e(VIR_ERR_NO_DOMAIN);
  if (err.reason === 'wrong-state') return e(VIR_ERR_OPERATION_INVALID);
  if (err.reason === 'unsupported') return e(VIR_ERR_NO_SUPPORT);
  switch (err.kind) {
    case 'input':
      return e(VIR_ERR_CONFIG_UNSUPPORTED);
    case 'locked':
      return e(VIR_ERR_RESOURCE_BUSY);
    case 'interrupted':
      return e(VIR_ERR_OPERATION_ABORTED);
    case 'usage':
    case 'stale':
      return e(VIR_ERR_INVALID_ARG);
    case 'refused':
      return e(VIR_ERR_OPERATION_INVALID);
    default:
      return e(VIR_ERR_OPERATION_FAILED);
  }
}

/** The capabilities document (virsh capabilities): the board as the host, vman's domain type as the guest. */
export function capabilitiesXml(board: Board, host: string): string {
  const arch = LIBVIRT_ARCH[board.arch];
  const kib = board.memory.reduce((n, m) => n + m.size, 0) / 1024;
  const cpus = board.cpus.map(
    (c) => `            <cpu id='${c.id}' socket_id='0' core_id='${c.id}' siblings='${c.id}'/>`,
  );
  const wordsize = board.arch === 'armv7' ? 32 : 64;
  return [
    '<capabilities>',
    '  <host>',
    '    <cpu>',
    `      <arch>${arch}</arch>`,
    `      <topology sockets='1' dies='1' cores='${board.cpus.length}' threads='1'/>`,
    '    </cpu>',
    '    <topology>',
    "      <cells num='1'>",
    "        <cell id='0'>",
    `          <memory unit='KiB'>${kib}</memory>`,
    `          <cpus num='${board.cpus.length}'>`,
    ...cpus,
    '          </cpus>',
    '        </cell>',
    '      </cells>',
    '    </topology>',
    '  </host>',
    '  <guest>',
    '    <os_type>hvm</os_type>',
    `    <arch name='${arch}'>`,
    `      <wordsize>${wordsize}</wordsize>`,
    `      <machine>${board.name}</machine>`,
    "      <domain type='vman'/>",
    '    </arch>',
    '  </guest>',
    `  <!-- vman on ${host}: each domain is a partition of board ${board.name} -->`,
    '</capabilities>',
    '',
  ].join('\n');
}

// What identifies a partition's definition: its spec, without where it was read from and without
// spec.state (starting or stopping a domain does not redefine it, in libvirt's terms).
function definitionOf(spec: PartitionSpec | undefined): string | undefined {
  if (!spec) return undefined;
  const { source: _source, state: _state, ...rest } = spec;
  return JSON.stringify(rest);
}

export class Endpoint implements Dispatcher {
  private readonly clients = new Map<number, ClientState>();
  /** Domain ids of running partitions (libvirt's id: positive while running, -1 otherwise). */
  private readonly ids = new Map<string, number>();
  private nextId = 1;
  private nextCallback = 1;
  private snapshots: Map<string, Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: EndpointOptions) {}

  private engine(): Promise<Engine> {
    return Engine.open(this.o.engine);
  }

  async dispatch(call: Call, client: Client): Promise<Uint8Array> {
    const state = this.stateOf(client);
    try {
      return await this.answer(call, state);
    } catch (err) {
      throw libvirtErrorOf(err);
    }
  }

  /** The client went away: its event registrations and console streams go with it. */
  closed(client: Client): void {
    const s = this.clients.get(client.id);
    if (!s) return;
    for (const st of s.streams) if (!st.closed) st.end();
    this.clients.delete(client.id);
    this.arm();
  }

  /** Looks at the partitions now and tells listening clients what changed (the agent calls it after a reconcile). */
  changed(): void {
    void this.look();
  }

  /**
   * The same, awaited: the agent calls it before it applies a plan, so that what the plan corrects
   * (a partition that crashed, and is about to be started again) is reported before it is gone.
   */
  refresh(): Promise<void> {
    return this.look();
  }

  /** Stops the event polling. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private stateOf(client: Client): ClientState {
    let s = this.clients.get(client.id);
    if (!s) {
      s = { client, readOnly: false, uri: 'vman:///system', registrations: new Map(), streams: new Set() };
      this.clients.set(client.id, s);
    }
    return s;
  }

  private writable(s: ClientState, api: string): void {
    if (s.readOnly) {
      throw new LibvirtError(VIR_ERR_OPERATION_DENIED, VIR_FROM_NONE, `operation forbidden: ${api}: read only access`);
    }
  }

  // Every domain now, with an id for each running one (kept while it runs).
  private async domains(engine?: Engine): Promise<{ domains: Domain[]; inventory: Inventory; engine: Engine }> {
    const e = engine ?? (await this.engine());
    const inventory = await e.inventory();
    const domains = domainsOf(inventory.specs, inventory.live);
    for (const d of domains) {
      if (d.active && !this.ids.has(d.name)) this.ids.set(d.name, this.nextId++);
      if (!d.active) this.ids.delete(d.name);
    }
    return { domains, inventory, engine: e };
  }

  private wire(d: Domain): P.RemoteDomain {
    const uuid = P.parseUuid(d.uuid);
    if (!uuid) throw new LibvirtError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `bad UUID ${d.uuid} for ${d.name}`);
    return { name: d.name, uuid, id: this.ids.get(d.name) ?? -1 };
  }

  // The domain a client names (by name; its UUID must still be the partition's).
  private async find(ref: P.RemoteDomain): Promise<{ domain: Domain; engine: Engine }> {
    const { domains, engine } = await this.domains();
    const domain = domains.find((d) => d.name === ref.name);
    if (!domain) throw domainError(VIR_ERR_NO_DOMAIN, `Domain not found: no partition is called '${ref.name}'`);
    return { domain, engine };
  }

  private async answer(call: Call, s: ClientState): Promise<Uint8Array> {
    switch (call.procedure) {
      case P.REMOTE_PROC_CONNECT_OPEN: {
        const a = P.connectOpen.decodeArgs(call.body);
        s.uri = a.name ?? 'vman:///system';
        s.readOnly = (a.flags & 1) !== 0;
        return P.connectOpen.encodeRet(undefined);
      }
      case P.REMOTE_PROC_CONNECT_CLOSE:
        return P.connectClose.encodeRet(undefined);
      case P.REMOTE_PROC_CONNECT_GET_TYPE:
        return P.connectGetType.encodeRet({ type: 'vman' });
      case P.REMOTE_PROC_CONNECT_GET_VERSION:
        return P.connectGetVersion.encodeRet({ hv_ver: versionNumber(this.o.version) });
      case P.REMOTE_PROC_CONNECT_GET_LIB_VERSION:
        return P.connectGetLibVersion.encodeRet({ lib_ver: LIBVIRT_COMPAT_VERSION });
      case P.REMOTE_PROC_CONNECT_GET_HOSTNAME:
        return P.connectGetHostname.encodeRet({ hostname: this.o.hostname ?? osHostname() });
      case P.REMOTE_PROC_CONNECT_GET_URI:
        return P.connectGetUri.encodeRet({ uri: s.uri });
      case P.REMOTE_PROC_CONNECT_IS_SECURE:
        return P.connectIsSecure.encodeRet({ secure: 1 });
      case P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE: {
        const { feature } = P.connectSupportsFeature.decodeArgs(call.body);
        return P.connectSupportsFeature.encodeRet({ supported: SUPPORTED_FEATURES.has(feature) ? 1 : 0 });
      }
      case P.REMOTE_PROC_CONNECT_GET_CAPABILITIES: {
        const board = (await this.engine()).workspace.board;
        return P.connectGetCapabilities.encodeRet({
          capabilities: capabilitiesXml(board, this.o.hostname ?? osHostname()),
        });
      }
      case P.REMOTE_PROC_NODE_GET_INFO: {
        const board = (await this.engine()).workspace.board;
        const kib = BigInt(board.memory.reduce((n, m) => n + m.size, 0) / 1024);
        const n = board.cpus.length;
        const model = LIBVIRT_ARCH[board.arch];
        return P.nodeGetInfo.encodeRet({
          model,
          memory: kib,
          cpus: n,
          mhz: 0,
          nodes: 1,
          sockets: 1,
          cores: n,
          threads: 1,
        });
      }
      case P.REMOTE_PROC_NODE_GET_SECURITY_MODEL:
        return P.nodeGetSecurityModel.encodeRet({ model: '', doi: '' });
      case P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS: {
        const { need_results, flags } = P.connectListAllDomains.decodeArgs(call.body);
        const { domains } = await this.domains();
        const listed = domains.filter((d) => listedBy(d, flags));
        const out = need_results ? listed.map((d) => this.wire(d)) : [];
        return P.connectListAllDomains.encodeRet({ domains: out, ret: listed.length });
      }
      case P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME: {
        const { name } = P.domainLookupByName.decodeArgs(call.body);
        const { domain } = await this.find({ name, uuid: new Uint8Array(16), id: -1 });
        return P.domainLookupByName.encodeRet({ dom: this.wire(domain) });
      }
      case P.REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID: {
        const { uuid } = P.domainLookupByUuid.decodeArgs(call.body);
        const text = P.formatUuid(uuid);
        const domain = (await this.domains()).domains.find((d) => d.uuid === text);
        if (!domain) throw domainError(VIR_ERR_NO_DOMAIN, `Domain not found: no partition has UUID '${text}'`);
        return P.domainLookupByUuid.encodeRet({ dom: this.wire(domain) });
      }
      case P.REMOTE_PROC_DOMAIN_LOOKUP_BY_ID: {
        const { id } = P.domainLookupById.decodeArgs(call.body);
        const domain = (await this.domains()).domains.find((d) => this.ids.get(d.name) === id);
        if (!domain) throw domainError(VIR_ERR_NO_DOMAIN, `Domain not found: no running partition has id ${id}`);
        return P.domainLookupById.encodeRet({ dom: this.wire(domain) });
      }
      case P.REMOTE_PROC_DOMAIN_GET_STATE: {
        const { domain } = await this.find(P.domainGetState.decodeArgs(call.body).dom);
        return P.domainGetState.encodeRet({ state: domain.state, reason: domain.reason });
      }
      case P.REMOTE_PROC_DOMAIN_GET_INFO: {
        const { domain } = await this.find(P.domainGetInfo.decodeArgs(call.body).dom);
        const kib = BigInt(domain.memoryBytes / 1024);
        const info = { state: domain.state, maxMem: kib, memory: kib, nrVirtCpu: domain.cpus, cpuTime: 0n };
        return P.domainGetInfo.encodeRet(info);
      }
      case P.REMOTE_PROC_DOMAIN_GET_OS_TYPE:
        await this.find(P.domainGetOsType.decodeArgs(call.body).dom);
        return P.domainGetOsType.encodeRet({ type: 'hvm' });
      case P.REMOTE_PROC_DOMAIN_IS_ACTIVE: {
        const { domain } = await this.find(P.domainIsActive.decodeArgs(call.body).dom);
        return P.domainIsActive.encodeRet({ active: domain.active ? 1 : 0 });
      }
      case P.REMOTE_PROC_DOMAIN_IS_PERSISTENT: {
        const { domain } = await this.find(P.domainIsPersistent.decodeArgs(call.body).dom);
        return P.domainIsPersistent.encodeRet({ persistent: domain.spec ? 1 : 0 });
      }
      case P.REMOTE_PROC_DOMAIN_GET_AUTOSTART: {
        // A partition declared running is started by the agent whenever it is not: libvirt's autostart.
        const { domain } = await this.find(P.domainGetAutostart.decodeArgs(call.body).dom);
        return P.domainGetAutostart.encodeRet({ autostart: domain.spec?.state === 'running' ? 1 : 0 });
      }
      case P.REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE:
        await this.find(P.domainHasManagedSaveImage.decodeArgs(call.body).dom);
        return P.domainHasManagedSaveImage.encodeRet({ result: 0 });
      case P.REMOTE_PROC_DOMAIN_SNAPSHOT_NUM:
        await this.find(P.domainSnapshotNum.decodeArgs(call.body).dom);
        return P.domainSnapshotNum.encodeRet({ num: 0 });
      case P.REMOTE_PROC_DOMAIN_GET_MESSAGES:
        await this.find(P.domainGetMessages.decodeArgs(call.body).dom);
        return P.domainGetMessages.encodeRet({ msgs: [] });
      case P.REMOTE_PROC_DOMAIN_GET_XML_DESC: {
        const { domain, engine } = await this.find(P.domainGetXmlDesc.decodeArgs(call.body).dom);
        if (!domain.spec) {
          throw domainError(
            VIR_ERR_OPERATION_INVALID,
            `partition '${domain.name}' is live but no manifest declares it, so it has no definition to show`,
          );
        }
        const id = this.ids.get(domain.name);
        const xml = manifestToDomain(domain.spec, {
          board: engine.workspace.board,
          uuid: domain.uuid,
          ...(id !== undefined ? { id } : {}),
        });
        return P.domainGetXmlDesc.encodeRet({ xml });
      }
      case P.REMOTE_PROC_DOMAIN_DEFINE_XML:
        this.writable(s, 'virDomainDefineXML');
        return P.domainDefineXml.encodeRet({
          dom: await this.define(P.domainDefineXml.decodeArgs(call.body).xml, false),
        });
      case P.REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS:
        this.writable(s, 'virDomainDefineXMLFlags');
        return P.domainDefineXmlFlags.encodeRet({
          dom: await this.define(P.domainDefineXmlFlags.decodeArgs(call.body).xml, false),
        });
      case P.REMOTE_PROC_DOMAIN_CREATE_XML:
        this.writable(s, 'virDomainCreateXML');
        return P.domainCreateXml.encodeRet({
          dom: await this.define(P.domainCreateXml.decodeArgs(call.body).xml_desc, true),
        });
      case P.REMOTE_PROC_DOMAIN_CREATE:
        this.writable(s, 'virDomainCreate');
        await this.setState(P.domainCreate.decodeArgs(call.body).dom, 'running');
        return P.domainCreate.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS: {
        this.writable(s, 'virDomainCreateWithFlags');
        const { dom, flags } = P.domainCreateWithFlags.decodeArgs(call.body);
        if (flags & P.VIR_DOMAIN_START_PAUSED) {
          throw new LibvirtError(
            VIR_ERR_INVALID_ARG,
            VIR_FROM_DOMAIN,
            'a partition cannot start paused: vman releases its boot core at once (drop --paused)',
          );
        }
        return P.domainCreateWithFlags.encodeRet({ dom: await this.setState(dom, 'running') });
      }
      case P.REMOTE_PROC_DOMAIN_DESTROY:
        this.writable(s, 'virDomainDestroy');
        await this.setState(P.domainDestroy.decodeArgs(call.body).dom, 'stopped');
        return P.domainDestroy.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_DESTROY_FLAGS:
        this.writable(s, 'virDomainDestroyFlags');
        await this.setState(P.domainDestroyFlags.decodeArgs(call.body).dom, 'stopped');
        return P.domainDestroyFlags.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_SHUTDOWN:
        this.writable(s, 'virDomainShutdown');
        await this.shutdown(P.domainShutdown.decodeArgs(call.body).dom);
        return P.domainShutdown.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS:
        this.writable(s, 'virDomainShutdownFlags');
        await this.shutdown(P.domainShutdownFlags.decodeArgs(call.body).dom);
        return P.domainShutdownFlags.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_UNDEFINE:
        this.writable(s, 'virDomainUndefine');
        await this.undefine(P.domainUndefine.decodeArgs(call.body).dom);
        return P.domainUndefine.encodeRet(undefined);
      case P.REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS:
        this.writable(s, 'virDomainUndefineFlags');
        await this.undefine(P.domainUndefineFlags.decodeArgs(call.body).dom);
        return P.domainUndefineFlags.encodeRet(undefined);
      case P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: {
        const { eventID, dom } = P.connectDomainEventCallbackRegisterAny.decodeArgs(call.body);
        if (eventID !== P.VIR_DOMAIN_EVENT_ID_LIFECYCLE) throw noSupport('virConnectDomainEventRegisterAny');
        if (dom) await this.find(dom);
        const callbackID = this.nextCallback++;
        s.registrations.set(callbackID, { callbackID, domain: dom?.name });
        await this.look();
        this.arm();
        return P.connectDomainEventCallbackRegisterAny.encodeRet({ callbackID });
      }
      case P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: {
        const { callbackID } = P.connectDomainEventCallbackDeregisterAny.decodeArgs(call.body);
        if (!s.registrations.delete(callbackID)) {
          throw new LibvirtError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, `no event callback ${callbackID} is registered`);
        }
        this.arm();
        return P.connectDomainEventCallbackDeregisterAny.encodeRet(undefined);
      }
      case P.REMOTE_PROC_DOMAIN_OPEN_CONSOLE:
        return this.openConsole(call, s);
      default:
        throw noSupport(P.apiName(call.procedure));
    }
  }

  // define (and create, which also starts): the XML becomes the partition's manifest, written through
  // the engine (which puts partitions.d/ back if the partition cannot be placed or brought up).
  private async define(xml: string, start: boolean): Promise<P.RemoteDomain> {
    const { domains, engine } = await this.domains();
    const board = engine.workspace.board;
    const probe = domainToManifest(xml, { board, state: 'stopped' });
    const existing = probe.ok ? domains.find((d) => d.name === probe.name) : undefined;
    const state = start ? 'running' : (existing?.spec?.state ?? 'stopped');
    const r = domainToManifest(xml, { board, state, ...(existing ? { uuid: existing.uuid } : {}) });
    if (!r.ok) {
      const code =
        r.code === 'xml'
          ? VIR_ERR_XML_ERROR
          : r.code === 'unsupported'
            ? VIR_ERR_CONFIG_UNSUPPORTED
            : VIR_ERR_INVALID_ARG;
      throw new LibvirtError(code, r.code === 'xml' ? VIR_FROM_XML : VIR_FROM_DOMAIN, r.message);
    }
    const other = domains.find((d) => d.uuid === r.uuid && d.name !== r.name);
    if (other) {
      throw domainError(VIR_ERR_DOM_EXIST, `domain '${other.name}' already exists with uuid ${r.uuid}`);
    }
    if (start && existing?.active) {
      throw domainError(VIR_ERR_OPERATION_INVALID, `domain '${r.name}' is already active`);
    }
    try {
      applied(await engine.define(r.text, { origin: `the domain XML of ${r.name}` }));
    } finally {
      this.changed();
    }
    const after = (await this.domains()).domains.find((d) => d.name === r.name);
    if (!after) throw domainError(VIR_ERR_OPERATION_FAILED, `partition '${r.name}' was defined but is not listed`);
    return this.wire(after);
  }

  private async setState(ref: P.RemoteDomain, state: 'running' | 'stopped'): Promise<P.RemoteDomain> {
    const { domain, engine } = await this.find(ref);
    if (!domain.spec) {
      throw domainError(VIR_ERR_OPERATION_INVALID, `partition '${domain.name}' is not declared in partitions.d/`);
    }
    if (state === 'running' && domain.active) {
      throw domainError(VIR_ERR_OPERATION_INVALID, `domain '${domain.name}' is already active`);
    }
    if (state === 'stopped' && !domain.active) {
      throw domainError(VIR_ERR_OPERATION_INVALID, `domain '${domain.name}' is not running`);
    }
    try {
      applied(await engine.setState(domain.name, state));
    } finally {
      this.changed();
    }
    const after = (await this.domains()).domains.find((d) => d.name === domain.name) ?? domain;
    return this.wire(after);
  }

  private async shutdown(ref: P.RemoteDomain): Promise<void> {
    const { domain, engine } = await this.find(ref);
    if (!domain.active) throw domainError(VIR_ERR_OPERATION_INVALID, `domain '${domain.name}' is not running`);
    try {
      await engine.shutdown(domain.name);
    } finally {
      this.changed();
    }
  }

  private async undefine(ref: P.RemoteDomain): Promise<void> {
    const { domain, engine } = await this.find(ref);
    if (!domain.spec) {
      throw domainError(VIR_ERR_OPERATION_INVALID, `partition '${domain.name}' is not declared in partitions.d/`);
    }
    if (domain.active) {
      throw domainError(
        VIR_ERR_OPERATION_INVALID,
        `domain '${domain.name}' is running; destroy it before undefining it`,
      );
    }
    try {
      applied(await engine.delete(domain.name, { refuseRunning: true }));
    } finally {
      this.changed();
    }
  }

  // virsh console: the partition's console so far, then what it writes, as a readstream. Input cannot
  // reach the partition (the backends' consoles are output only), so keystrokes are dropped.
  private async openConsole(call: Call, s: ClientState): Promise<Uint8Array> {
    const { dom } = P.domainOpenConsole.decodeArgs(call.body);
    const { domain, engine } = await this.find(dom);
    if (!domain.active) throw domainError(VIR_ERR_OPERATION_INVALID, `domain '${domain.name}' is not running`);
    const abort = new AbortController();
    const stream = s.client.openStream(call, {
      data: () => undefined,
      finish: () => abort.abort(),
      abort: () => abort.abort(),
    });
    s.streams.add(stream);
    const text = new TextEncoder();
    void engine
      .console(domain.name, { follow: { write: (chunk) => stream.send(text.encode(chunk)), signal: abort.signal } })
      .then(
        (rest) => {
          if (rest) stream.send(text.encode(rest));
          if (!stream.closed) stream.end();
        },
        (err: unknown) => {
          if (!stream.closed) stream.fail(libvirtErrorOf(err));
        },
      )
      .finally(() => s.streams.delete(stream));
    return P.domainOpenConsole.encodeRet(undefined);
  }

  // Polls while anyone listens; one look at a time (a request during one makes another follow it).
  private arm(): void {
    clearTimeout(this.timer);
    const listening = [...this.clients.values()].some((c) => c.registrations.size > 0);
    if (!listening || this.stopped) return;
    this.timer = setTimeout(() => void this.look().finally(() => this.arm()), this.o.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref();
  }

  private look(): Promise<void> {
    if (this.looking) {
      this.again = true;
      return this.looking;
    }
    this.looking = (async () => {
      do {
        this.again = false;
        try {
          await this.lookOnce();
        } catch (err) {
          this.o.onError?.(err);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.looking = undefined;
    });
    return this.looking;
  }

  private async lookOnce(): Promise<void> {
    const { domains } = await this.domains();
    const now = new Map(domains.map((d) => [d.name, snapshotOf(d, definitionOf(d.spec))]));
    const before = this.snapshots;
    this.snapshots = now;
    if (!before) return;
    const byName = new Map(domains.map((d) => [d.name, d]));
    for (const ev of lifecycleEvents(before, now)) {
      const d = byName.get(ev.name);
      const uuid = P.parseUuid(d?.uuid ?? '') ?? new Uint8Array(16);
      const wire = { name: ev.name, uuid, id: d ? (this.ids.get(d.name) ?? -1) : -1 };
      for (const c of this.clients.values()) {
        for (const r of c.registrations.values()) {
          if (r.domain !== undefined && r.domain !== ev.name) continue;
          const msg = { callbackID: r.callbackID, msg: { dom: wire, event: ev.event, detail: ev.detail } };
          c.client.event(P.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, P.domainEventCallbackLifecycle.encode(msg));
        }
      }
    }
  }
}

// virConnectListAllDomains' filter: within each group of flags, a domain must match one of those given.
function listedBy(d: Domain, flags: number): boolean {
  const group = (bits: readonly [number, boolean][]) => {
    const asked = bits.filter(([b]) => flags & b);
    return asked.length === 0 || asked.some(([, yes]) => yes);
  };
  const persistent = d.spec !== undefined;
  const autostart = d.spec?.state === 'running';
  return (
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_ACTIVE, d.active],
      [P.VIR_CONNECT_LIST_DOMAINS_INACTIVE, !d.active],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, persistent],
      [P.VIR_CONNECT_LIST_DOMAINS_TRANSIENT, !persistent],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_RUNNING, d.state === P.VIR_DOMAIN_RUNNING],
      [P.VIR_CONNECT_LIST_DOMAINS_PAUSED, d.state === P.VIR_DOMAIN_PAUSED],
      [P.VIR_CONNECT_LIST_DOMAINS_SHUTOFF, d.state === P.VIR_DOMAIN_SHUTOFF],
      [
        P.VIR_CONNECT_LIST_DOMAINS_OTHER,
        d.state !== P.VIR_DOMAIN_RUNNING && d.state !== P.VIR_DOMAIN_PAUSED && d.state !== P.VIR_DOMAIN_SHUTOFF,
      ],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, false],
      [P.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, true],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, autostart],
      [P.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, !autostart],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, false],
      [P.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, true],
    ]) &&
    group([
      [P.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, false],
      [P.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, true],
    ])
  );
}
