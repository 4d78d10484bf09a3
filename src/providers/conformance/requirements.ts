// The requirements `vman provider test` checks, numbered as in docs/provider-protocol.md
// ("Requirements"): one table that the suite prints from and a test holds against the doc, so a
// requirement's number means the same thing in both. Pure data.

export interface Requirement {
  /** "R4.2": the section, then the requirement within it. */
  readonly id: string;
  /** What a check line prints after the number. */
  readonly title: string;
  /** The requirement as the doc states it. */
  readonly text: string;
}

export const REQUIREMENTS = [
  // 1. Handshake and transport
  {
    id: 'R1.1',
    title: 'initialize answers one of the protocol versions offered',
    text: '`initialize` answers with `protocolVersion` one of the `protocolVersions` vman offered.',
  },
  {
    id: 'R1.2',
    title: 'offered no version it speaks, the provider answers -32001 and exits',
    text: 'A provider that speaks none of the offered versions answers error -32001 and exits.',
  },
  {
    id: 'R1.3',
    title: 'a request before initialize is answered -32002',
    text: 'Any request other than `initialize` before `initialize` is answered with error -32002.',
  },
  {
    id: 'R1.4',
    title: 'capabilities: all eight step kinds, placesMemory `vman`, no device trees of its own',
    text:
      'The capabilities list all eight step kinds, `placesMemory` is `vman` and `buildsDeviceTree` is ' +
      'false: nothing version 1 does not define.',
  },
  {
    id: 'R1.5',
    title: 'an unknown method is answered -32601',
    text: 'A method the provider does not implement is answered -32601 (method not found).',
  },
  {
    id: 'R1.6',
    title: 'invalid params are answered -32602 and change nothing',
    text: 'A request whose params do not fit its method is answered -32602 (invalid params) and changes nothing.',
  },
  {
    id: 'R1.7',
    title: 'shutdown is answered {} and the provider exits',
    text: '`shutdown` is answered `{}`, then the provider exits (within 5 s).',
  },
  {
    id: 'R1.8',
    title: 'at the end of its stdin the provider exits within 5 s',
    text: 'A provider exits when its stdin reaches EOF; vman kills one still running 5 s later.',
  },
  {
    id: 'R1.9',
    title: 'stdout carries JSON-RPC lines only',
    text: 'Stdout carries JSON-RPC 2.0 lines only, each an answer to a request or a notification; logs go to stderr.',
  },
  {
    id: 'R1.10',
    title: "every call is answered within its method's timeout",
    text: "Every request is answered within its method's timeout; vman kills a provider that hangs.",
  },
  {
    id: 'R1.11',
    title: 'every error carries data.retryable, a boolean',
    text: 'Every error answer carries `data.retryable`, a boolean: whether the same call may succeed later.',
  },
  // 2. Messages
  {
    id: 'R2.1',
    title: 'every answer and notification matches its JSON Schema',
    text: 'Every answer and notification matches its JSON Schema in `schemas/provider/`.',
  },
  // 3. inspect
  {
    id: 'R3.1',
    title: 'inspect of a fresh state is empty',
    text: '`inspect` of a monitor that holds nothing answers no partitions and no orphans.',
  },
  {
    id: 'R3.2',
    title: 'inspect shows a half-made claim',
    text:
      '`inspect` shows every partition the monitor has a claim for, half-made claims included: a ' +
      'partition whose DTB was built but nothing loaded, one loaded but not released.',
  },
  // 4. allocate
  {
    id: 'R4.1',
    title: 'allocate claims exactly the cores, memory and devices asked, stopped, nothing loaded',
    text:
      '`allocate` claims the cores, memory and devices for the partition; `inspect` then shows it ' +
      '`stopped`, holding exactly those, with nothing loaded and no boot digest or entry.',
  },
  {
    id: 'R4.2',
    title: 'allocate repeated with the same resources succeeds and changes nothing',
    text: '`allocate` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R4.3',
    title: "allocate of another partition's core is refused (-32010)",
    text: '`allocate` of a core another partition holds is refused with -32010 and changes nothing.',
  },
  {
    id: 'R4.4',
    title: "allocate of memory overlapping another partition's is refused (-32010)",
    text: "`allocate` of memory overlapping another partition's is refused with -32010 and changes nothing.",
  },
  {
    id: 'R4.5',
    title: "allocate of another partition's device is refused (-32010)",
    text: '`allocate` of a device another partition holds is refused with -32010 and changes nothing.',
  },
  {
    id: 'R4.6',
    title: 'allocate of a core, memory or device the board reserves is refused (-32010)',
    text:
      "`allocate` of a core, memory or device in the board's `reserved` (the management partition's, the " +
      "monitor's) is refused with -32010 and changes nothing.",
  },
  {
    id: 'R4.7',
    title: 'allocate of a core, memory or device absent from the board is refused (-32010)',
    text: '`allocate` of a core, memory or device the board does not have is refused with -32010 and changes nothing.',
  },
  {
    id: 'R4.8',
    title: 'allocate of a DMA-mastering device without confinement is refused (-32010)',
    text: '`allocate` of a device whose `dma.kind` is `unconfined` is refused with -32010 and changes nothing.',
  },
  {
    id: 'R4.9',
    title: 'allocate of a name already held, with other resources, is refused (-32010)',
    text: '`allocate` of a partition that holds other resources is refused with -32010 and changes nothing.',
  },
  // 5. buildFdt
  {
    id: 'R5.1',
    title: 'buildFdt of an allocated partition succeeds and changes nothing inspect shows',
    text: '`buildFdt` keeps the DTB of an allocated partition and answers `{}`; what `inspect` shows stays as it was.',
  },
  {
    id: 'R5.2',
    title: 'buildFdt repeated succeeds and changes nothing',
    text: '`buildFdt` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R5.3',
    title: 'buildFdt whose digest or size does not match the bytes is refused (-32010)',
    text: "`buildFdt` is refused with -32010 when `sha256` or `size` does not match the DTB's bytes.",
  },
  // 6. load
  {
    id: 'R6.1',
    title: 'load records what it put where: the items, the boot digest and entry, still stopped',
    text:
      '`load` puts each item at its address; `inspect` then shows the items loaded (what, addr, size, sha256), ' +
      'the boot digest and the entry, and the partition still `stopped`.',
  },
  {
    id: 'R6.2',
    title: 'load repeated succeeds and changes nothing',
    text: '`load` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R6.3',
    title: "a load item outside the partition's memory is refused (-32010)",
    text: "`load` of an item outside the partition's memory is refused with -32010 and changes nothing.",
  },
  {
    id: 'R6.4',
    title: 'a load of a file whose content changed is refused (-32011)',
    text: "`load` of a file whose SHA-256 is not the item's `sha256` is refused with -32011 and changes nothing.",
  },
  {
    id: 'R6.5',
    title: 'a load of a DTB other than the one built is refused (-32010)',
    text: '`load` of a DTB other than the one `buildFdt` kept is refused with -32010 and changes nothing.',
  },
  {
    id: 'R6.6',
    title: "a load while the partition's cores run is refused (-32010)",
    text: "`load` while the partition's cores run is refused with -32010 and changes nothing.",
  },
  // 7. releaseCores
  {
    id: 'R7.1',
    title: 'releaseCores starts the partition: inspect shows it running',
    text: '`releaseCores` starts the boot core at the entry; `inspect` then shows the partition `running`.',
  },
  {
    id: 'R7.2',
    title: 'releaseCores repeated succeeds and changes nothing',
    text: '`releaseCores` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R7.3',
    title: 'a release at another entry or DTB address than loaded is refused (-32010)',
    text: '`releaseCores` whose `entry` or `dtbAddr` differs from what `load` recorded is refused with -32010.',
  },
  {
    id: 'R7.4',
    title: "a release of a core that is not the partition's is refused (-32010)",
    text: "`releaseCores` whose `bootCpu` is not the partition's is refused with -32010 and changes nothing.",
  },
  {
    id: 'R7.5',
    title: 'a release with nothing loaded is refused (-32010)',
    text: '`releaseCores` of a partition with nothing loaded is refused with -32010 and changes nothing.',
  },
  // 8. waitReady
  {
    id: 'R8.1',
    title: 'waitReady returns once the partition is ready',
    text: '`waitReady` answers `{}` once the partition runs (with `console`, once a console line matched).',
  },
  {
    id: 'R8.2',
    title: 'waitReady repeated succeeds and changes nothing',
    text: '`waitReady` repeated succeeds and changes nothing.',
  },
  {
    id: 'R8.3',
    title: 'waitReady of a partition whose cores are stopped fails (-32012)',
    text: '`waitReady` fails with -32012 on timeout or when the partition is stopped.',
  },
  // 9. stopCores
  {
    id: 'R9.1',
    title: 'stopCores stops the cores: stopped, what was loaded still there',
    text: "`stopCores` stops the partition's cores; `inspect` then shows it `stopped`, with what was loaded.",
  },
  {
    id: 'R9.2',
    title: 'stopCores repeated succeeds and changes nothing',
    text: '`stopCores` repeated after it took effect succeeds and changes nothing.',
  },
  // 10. scrubMemory
  {
    id: 'R10.1',
    title: 'scrubMemory clears what was loaded: nothing loaded, no boot digest or entry',
    text: '`scrubMemory` clears what was loaded; `inspect` then shows nothing loaded and no boot digest or entry.',
  },
  {
    id: 'R10.2',
    title: 'scrubMemory repeated succeeds and changes nothing',
    text: '`scrubMemory` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R10.3',
    title: 'scrubMemory while the cores run is refused (-32010)',
    text: "`scrubMemory` while the partition's cores run is refused with -32010 and changes nothing.",
  },
  // 11. releaseResources
  {
    id: 'R11.1',
    title: 'releaseResources gives everything back: gone from inspect, its resources free again',
    text:
      '`releaseResources` gives every resource back: the partition is gone from `inspect`, and another ' +
      'partition can allocate what it held.',
  },
  {
    id: 'R11.2',
    title: 'releaseResources repeated succeeds and changes nothing',
    text: '`releaseResources` repeated after it took effect succeeds and changes nothing.',
  },
  {
    id: 'R11.3',
    title: 'releaseResources while the cores run is refused (-32010)',
    text: "`releaseResources` while the partition's cores run is refused with -32010 and changes nothing.",
  },
  {
    id: 'R11.4',
    title: 'releaseResources while the memory holds what was loaded is refused (-32010)',
    text: '`releaseResources` of a partition whose memory was not scrubbed is refused with -32010 and changes nothing.',
  },
  // 12. Absent partitions
  {
    id: 'R12.1',
    title: 'stopCores, scrubMemory and releaseResources succeed on an absent partition, also repeated',
    text: 'The negations succeed on what is already absent (no such partition), also repeated, and change nothing.',
  },
  {
    id: 'R12.2',
    title: 'buildFdt, load, releaseCores and waitReady of an absent partition answer -32014',
    text:
      'A method that needs the partition answers -32014 (no such partition) when there is none, and changes ' +
      'nothing.',
  },
  // 13. Crash safety
  {
    id: 'R13.1',
    title: 'killed before a call, a fresh provider reports the state before it',
    text:
      'A provider killed (SIGKILL) between calls loses nothing: a fresh process reports through `inspect` ' +
      'what the monitor holds.',
  },
  {
    id: 'R13.2',
    title: 'killed during a call, a fresh provider reports the state before or after it, and converges',
    text:
      'A provider killed (SIGKILL) during a call leaves the state before the call or after it, never ' +
      'another; re-running the sequence from there with a fresh process reaches the same end.',
  },
  {
    id: 'R13.3',
    title: 'killed after a call, a fresh provider reports the state after it',
    text: 'A call answered is durable: a fresh process after a SIGKILL reports its effect through `inspect`.',
  },
  {
    id: 'R13.4',
    title: 'after a teardown killed at every call, nothing is left',
    text:
      'After a teardown interrupted anywhere and run again, `inspect` shows no partitions and no orphans, ' +
      'and no process the provider started remains under its state directory.',
  },
  // 14. Optional capabilities
  {
    id: 'R14.1',
    title: 'liveDtb returns the DTB built',
    text: 'With capability `liveDtb`, `liveDtb` answers the bytes `buildFdt` kept (base64).',
  },
  {
    id: 'R14.2',
    title: "consoleLog returns the partition's console so far",
    text:
      "With capability `console.read`, `consoleLog` answers the partition's console output, including the " +
      'line `waitReady` matched.',
  },
  {
    id: 'R14.3',
    title: 'powerOff is answered {} or -32013 with a reason',
    text:
      "With capability `powerOff`, `powerOff` answers `{}` once the request reached the partition's OS, or " +
      '-32013 with `data.reason`.',
  },
  {
    id: 'R14.4',
    title: 'concurrent requests for different partitions are each answered as if alone, and isolation holds',
    text:
      'With capability `concurrent`, requests for different partitions in flight at once each take effect ' +
      'as they would alone; of two such allocates of one core, exactly one succeeds.',
  },
  // 15. Through vman's engine
  {
    id: 'R15.1',
    title: "plan, apply and destroy through vman's engine converge",
    text:
      'With the provider as `--backend`, `apply` succeeds, the plan after it is empty, `status` shows the ' +
      'partition running, and `destroy` leaves nothing.',
  },
] as const satisfies readonly Requirement[];

export type RequirementId = (typeof REQUIREMENTS)[number]['id'];

const BY_ID: ReadonlyMap<string, Requirement> = new Map(REQUIREMENTS.map((r) => [r.id, r]));

/** The requirement numbered `id`. */
export function requirement(id: RequirementId): Requirement {
  const r = BY_ID.get(id);
  if (!r) throw new Error(`bug: no requirement ${id}`);
  return r;
}
