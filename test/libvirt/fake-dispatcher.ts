// A fake libvirt driver for testing the protocol layer (src/libvirt/server.ts and the codecs)
// against stock virsh and libvirt-python: a few in-memory domains, every call logged. It is not
// vman's dispatcher (the lead's handlers are); it only answers enough for each command to finish.
import {
  LibvirtError,
  noSupport,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_DOMAIN,
} from '../../src/libvirt/errors.js';
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
  type ProcedureCodec,
  type RemoteDomain,
  VIR_CONNECT_LIST_DOMAINS_ACTIVE,
  VIR_CONNECT_LIST_DOMAINS_INACTIVE,
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_DEFINED_ADDED,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STARTED_BOOTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
  VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_RUNNING_BOOTED,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SHUTOFF_UNKNOWN,
  VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK,
  VIR_DRV_FEATURE_TYPED_PARAM_STRING,
} from '../../src/libvirt/procedures.js';
import type { Call, Client, Dispatcher, Stream } from '../../src/libvirt/server.js';

/** One logged call: what the client sent, in order. */
export interface LoggedCall {
  readonly client: number;
  readonly procedure: number;
  readonly serial: number;
  readonly body: Uint8Array;
}

interface FakeDomain {
  name: string;
  uuid: Uint8Array;
  id: number;
  active: boolean;
}

/** A fake driver: its domains, its log, its event registrations. */
export class FakeDispatcher implements Dispatcher {
  readonly log: LoggedCall[] = [];
  readonly domains: FakeDomain[] = [];
  /** Console streams by domain name: what the fake echoes back. */
  readonly consoles = new Map<string, Stream>();
  private nextId = 1;
  private nextCallback = 1;
  private readonly registrations = new Map<number, { client: Client; eventID: number }>();
  private readonly handlers = new Map<number, (args: never, client: Client, call: Call) => unknown>();

  constructor(domains: readonly { name: string; uuid: string; active?: boolean }[] = []) {
    for (const d of domains) {
      this.domains.push({
        name: d.name,
        uuid: parseUuid(d.uuid)!,
        id: d.active ? this.nextId++ : -1,
        active: !!d.active,
      });
    }
    this.install();
  }

  async dispatch(call: Call, client: Client): Promise<Uint8Array> {
    this.log.push({ client: client.id, procedure: call.procedure, serial: call.serial, body: call.body.slice() });
    const handler = this.handlers.get(call.procedure);
    if (handler === undefined) throw noSupport(apiName(call.procedure));
    return handler(undefined as never, client, call) as Uint8Array;
  }

  closed(client: Client): void {
    for (const [id, r] of this.registrations) if (r.client === client) this.registrations.delete(id);
  }

  /** The procedures called, in order, by number. */
  procedures(client?: number): number[] {
    return this.log.filter((c) => client === undefined || c.client === client).map((c) => c.procedure);
  }

  private on<A, R>(c: ProcedureCodec<A, R>, f: (args: A, client: Client, call: Call) => R): void {
    this.handlers.set(c.procedure, (_: never, client: Client, call: Call) =>
      c.encodeRet(f(c.decodeArgs(call.body), client, call)),
    );
  }

  private ref(d: FakeDomain): RemoteDomain {
    return { name: d.name, uuid: d.uuid, id: d.active ? d.id : -1 };
  }

  private find(ref: { name?: string; uuid?: Uint8Array; id?: number }): FakeDomain {
    const d = this.domains.find(
      (x) =>
        (ref.uuid !== undefined && formatUuid(x.uuid) === formatUuid(ref.uuid)) ||
        (ref.name !== undefined && ref.uuid === undefined && x.name === ref.name) ||
        (ref.id !== undefined && ref.name === undefined && ref.uuid === undefined && x.active && x.id === ref.id),
    );
    if (d === undefined) throw new LibvirtError(VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN, 'Domain not found');
    return d;
  }

  private emit(d: FakeDomain, event: number, detail: number): void {
    for (const [callbackID, r] of this.registrations) {
      if (r.eventID !== VIR_DOMAIN_EVENT_ID_LIFECYCLE) continue;
      r.client.event(
        domainEventCallbackLifecycle.procedure,
        domainEventCallbackLifecycle.encode({ callbackID, msg: { dom: this.ref(d), event, detail } }),
      );
    }
  }

  private start(d: FakeDomain): void {
    if (d.active) throw new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is already running');
    d.active = true;
    d.id = this.nextId++;
    this.emit(d, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
  }

  private stop(d: FakeDomain, detail: number): void {
    if (!d.active) throw new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running');
    d.active = false;
    this.emit(d, VIR_DOMAIN_EVENT_STOPPED, detail);
  }

  private define(xml: string): FakeDomain {
    const name = /<name>([^<]*)<\/name>/.exec(xml)?.[1] ?? 'unnamed';
    const uuid =
      parseUuid(/<uuid>([^<]*)<\/uuid>/.exec(xml)?.[1] ?? '') ?? Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    let d = this.domains.find((x) => x.name === name);
    if (d === undefined) {
      d = { name, uuid, id: -1, active: false };
      this.domains.push(d);
    }
    this.emit(d, VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED);
    return d;
  }

  private xml(d: FakeDomain): string {
    const id = d.active ? ` id='${d.id}'` : '';
    return `<domain type='vman'${id}>\n  <name>${d.name}</name>\n  <uuid>${formatUuid(d.uuid)}</uuid>\n</domain>\n`;
  }

  private install(): void {
    this.on(connectOpen, () => undefined);
    this.on(connectClose, () => undefined);
    this.on(authList, () => ({ types: [0] }));
    this.on(connectSupportsFeature, (a) => ({
      supported:
        a.feature === VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK || a.feature === VIR_DRV_FEATURE_TYPED_PARAM_STRING ? 1 : 0,
    }));
    this.on(connectGetType, () => ({ type: 'vman' }));
    this.on(connectGetVersion, () => ({ hv_ver: 1002003n }));
    this.on(connectGetLibVersion, () => ({ lib_ver: 9000000n }));
    this.on(connectGetHostname, () => ({ hostname: 'fake-host' }));
    this.on(connectGetUri, () => ({ uri: 'vman:///system' }));
    this.on(connectIsSecure, () => ({ secure: 1 }));
    this.on(connectGetCapabilities, () => ({ capabilities: '<capabilities>\n  <host/>\n</capabilities>\n' }));
    this.on(nodeGetInfo, () => ({
      model: 'aarch64',
      memory: 2097152n,
      cpus: 8,
      mhz: 1000,
      nodes: 1,
      sockets: 1,
      cores: 8,
      threads: 1,
    }));
    this.on(nodeGetSecurityModel, () => ({ model: '', doi: '' }));
    this.on(connectListAllDomains, (a) => {
      const both = VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE;
      const group = a.flags & both;
      const pick = this.domains.filter(
        (d) => group === 0 || group === both || (group === VIR_CONNECT_LIST_DOMAINS_ACTIVE) === d.active,
      );
      return { domains: a.need_results ? pick.map((d) => this.ref(d)) : [], ret: pick.length };
    });
    this.on(domainLookupByName, (a) => ({ dom: this.ref(this.find({ name: a.name })) }));
    this.on(domainLookupByUuid, (a) => ({ dom: this.ref(this.find({ uuid: a.uuid })) }));
    this.on(domainLookupById, (a) => ({ dom: this.ref(this.find({ id: a.id })) }));
    this.on(domainCreate, (a) => void this.start(this.find(a.dom)));
    this.on(domainCreateWithFlags, (a) => {
      const d = this.find(a.dom);
      this.start(d);
      return { dom: this.ref(d) };
    });
    this.on(domainCreateXml, (a) => {
      const d = this.define(a.xml_desc);
      this.start(d);
      return { dom: this.ref(d) };
    });
    this.on(domainDefineXml, (a) => ({ dom: this.ref(this.define(a.xml)) }));
    this.on(domainDefineXmlFlags, (a) => ({ dom: this.ref(this.define(a.xml)) }));
    this.on(domainDestroy, (a) => void this.stop(this.find(a.dom), VIR_DOMAIN_EVENT_STOPPED_DESTROYED));
    this.on(domainDestroyFlags, (a) => void this.stop(this.find(a.dom), VIR_DOMAIN_EVENT_STOPPED_DESTROYED));
    this.on(domainShutdown, (a) => void this.stop(this.find(a.dom), VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN));
    this.on(domainShutdownFlags, (a) => void this.stop(this.find(a.dom), VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN));
    const undefine = (ref: RemoteDomain): undefined => {
      const d = this.find(ref);
      if (d.active) throw new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is running');
      this.domains.splice(this.domains.indexOf(d), 1);
      this.emit(d, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
      return undefined;
    };
    this.on(domainUndefine, (a) => undefine(a.dom));
    this.on(domainUndefineFlags, (a) => undefine(a.dom));
    this.on(domainGetXmlDesc, (a) => ({ xml: this.xml(this.find(a.dom)) }));
    this.on(domainGetOsType, () => ({ type: 'linux' }));
    this.on(domainGetAutostart, () => ({ autostart: 0 }));
    this.on(domainGetInfo, (a) => {
      const d = this.find(a.dom);
      return {
        state: d.active ? VIR_DOMAIN_RUNNING : VIR_DOMAIN_SHUTOFF,
        maxMem: 262144n,
        memory: 262144n,
        nrVirtCpu: 2,
        cpuTime: 0n,
      };
    });
    this.on(domainGetState, (a) => {
      const d = this.find(a.dom);
      return d.active
        ? { state: VIR_DOMAIN_RUNNING, reason: VIR_DOMAIN_RUNNING_BOOTED }
        : { state: VIR_DOMAIN_SHUTOFF, reason: VIR_DOMAIN_SHUTOFF_UNKNOWN };
    });
    this.on(domainIsActive, (a) => ({ active: this.find(a.dom).active ? 1 : 0 }));
    this.on(domainIsPersistent, () => ({ persistent: 1 }));
    this.on(domainHasManagedSaveImage, () => ({ result: 0 }));
    this.on(domainSnapshotNum, () => ({ num: 0 }));
    this.on(domainGetSecurityLabel, () => ({ label: '', enforcing: 0 }));
    this.on(domainGetMessages, () => ({ msgs: [] }));
    this.on(domainOpenConsole, (a, client, call) => {
      const d = this.find(a.dom);
      const stream = client.openStream(call, {
        data: (bytes) => stream.send(bytes),
        finish: () => this.consoles.delete(d.name),
        abort: () => this.consoles.delete(d.name),
      });
      this.consoles.set(d.name, stream);
      stream.send(new TextEncoder().encode(`console of ${d.name}\r\n`));
      return undefined;
    });
    this.on(connectDomainEventCallbackRegisterAny, (a, client) => {
      const callbackID = this.nextCallback++;
      this.registrations.set(callbackID, { client, eventID: a.eventID });
      return { callbackID };
    });
    this.on(connectDomainEventCallbackDeregisterAny, (a) => {
      this.registrations.delete(a.callbackID);
      return undefined;
    });
  }
}
