// The remote program's procedures (src/remote/remote_protocol.x): every procedure number by name,
// and a typed codec (arguments, return value) for each procedure stock virsh 9.0 and
// libvirt-python 9.0 call for the commands vman serves (docs/libvirt-wire.md lists which command
// sends which). Pure: types built from the XDR primitives of xdr.ts, no node:* imports.
import { XdrError, XdrReader, XdrWriter } from './xdr.js';

/** Longest string of the remote program (REMOTE_STRING_MAX). */
export const REMOTE_STRING_MAX = 4194304;
/** Most domains in one list (REMOTE_DOMAIN_LIST_MAX). */
export const REMOTE_DOMAIN_LIST_MAX = 16384;
/** Most auth types in AUTH_LIST's reply (REMOTE_AUTH_TYPE_LIST_MAX). */
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
/** Most messages in DOMAIN_GET_MESSAGES's reply (REMOTE_DOMAIN_MESSAGES_MAX). */
export const REMOTE_DOMAIN_MESSAGES_MAX = 2048;
/** Bytes of a UUID (VIR_UUID_BUFLEN). */
export const VIR_UUID_BUFLEN = 16;
/** Chars of a security label, model and DOI, each including the C string's NUL (libvirt-host.h). */
export const REMOTE_SECURITY_LABEL_MAX = 4096 + 1;
export const REMOTE_SECURITY_MODEL_MAX = 256 + 1;
export const REMOTE_SECURITY_DOI_MAX = 256 + 1;
/** Chars of virNodeInfo's CPU model (a fixed char[32]). */
export const NODE_INFO_MODEL_LENGTH = 32;

/** remote_auth_type. */
export const REMOTE_AUTH_NONE = 0;
export const REMOTE_AUTH_SASL = 1;
export const REMOTE_AUTH_POLKIT = 2;

/** Driver features a client asks about with CONNECT_SUPPORTS_FEATURE (src/libvirt_internal.h). */
export const VIR_DRV_FEATURE_MIGRATION_V1 = 1;
export const VIR_DRV_FEATURE_REMOTE = 2;
export const VIR_DRV_FEATURE_MIGRATION_V2 = 3;
export const VIR_DRV_FEATURE_MIGRATION_P2P = 4;
export const VIR_DRV_FEATURE_MIGRATION_DIRECT = 5;
export const VIR_DRV_FEATURE_MIGRATION_V3 = 6;
export const VIR_DRV_FEATURE_MIGRATE_CHANGE_PROTECTION = 7;
export const VIR_DRV_FEATURE_FD_PASSING = 8;
export const VIR_DRV_FEATURE_TYPED_PARAM_STRING = 9;
/** The server speaks the keepalive program: the server answers it itself and starts its own PINGs. */
export const VIR_DRV_FEATURE_PROGRAM_KEEPALIVE = 10;
export const VIR_DRV_FEATURE_XML_MIGRATABLE = 11;
export const VIR_DRV_FEATURE_MIGRATION_OFFLINE = 12;
export const VIR_DRV_FEATURE_MIGRATION_PARAMS = 13;
/** Events carry a callbackID (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY and the *_CALLBACK_* messages). */
export const VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK = 14;
export const VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK = 15;
export const VIR_DRV_FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER = 16;

/** virDomainState. */
export const VIR_DOMAIN_NOSTATE = 0;
export const VIR_DOMAIN_RUNNING = 1;
export const VIR_DOMAIN_BLOCKED = 2;
export const VIR_DOMAIN_PAUSED = 3;
export const VIR_DOMAIN_SHUTDOWN = 4;
export const VIR_DOMAIN_SHUTOFF = 5;
export const VIR_DOMAIN_CRASHED = 6;
export const VIR_DOMAIN_PMSUSPENDED = 7;

/** State reasons vman reports (virDomainRunningReason, virDomainShutoffReason, virDomainCrashedReason). */
export const VIR_DOMAIN_RUNNING_UNKNOWN = 0;
export const VIR_DOMAIN_RUNNING_BOOTED = 1;
export const VIR_DOMAIN_SHUTOFF_UNKNOWN = 0;
export const VIR_DOMAIN_SHUTOFF_SHUTDOWN = 1;
export const VIR_DOMAIN_SHUTOFF_DESTROYED = 2;
export const VIR_DOMAIN_SHUTOFF_CRASHED = 3;
export const VIR_DOMAIN_SHUTOFF_FAILED = 6;
export const VIR_DOMAIN_CRASHED_UNKNOWN = 0;
export const VIR_DOMAIN_CRASHED_PANICKED = 1;
export const VIR_DOMAIN_PAUSED_USER = 1;

/** virConnectListAllDomainsFlags. ACTIVE|INACTIVE are one group's alternatives: neither or both mean all. */
export const VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1 << 0;
export const VIR_CONNECT_LIST_DOMAINS_INACTIVE = 1 << 1;
export const VIR_CONNECT_LIST_DOMAINS_PERSISTENT = 1 << 2;
export const VIR_CONNECT_LIST_DOMAINS_TRANSIENT = 1 << 3;
export const VIR_CONNECT_LIST_DOMAINS_RUNNING = 1 << 4;
export const VIR_CONNECT_LIST_DOMAINS_PAUSED = 1 << 5;
export const VIR_CONNECT_LIST_DOMAINS_SHUTOFF = 1 << 6;
export const VIR_CONNECT_LIST_DOMAINS_OTHER = 1 << 7;
export const VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE = 1 << 8;
export const VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE = 1 << 9;
export const VIR_CONNECT_LIST_DOMAINS_AUTOSTART = 1 << 10;
export const VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 1 << 11;
export const VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT = 1 << 12;
export const VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT = 1 << 13;
export const VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT = 1 << 14;
export const VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT = 1 << 15;

/** virDomainEventID: what CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY registers for. */
export const VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0;
/** The highest event ID libvirt 9.0 knows (MEMORY_DEVICE_SIZE_CHANGE); `virsh event --all` registers 0..this. */
export const VIR_DOMAIN_EVENT_ID_LAST_9_0 = 26;

/** virDomainEventType, the `event` of a lifecycle event. */
export const VIR_DOMAIN_EVENT_DEFINED = 0;
export const VIR_DOMAIN_EVENT_UNDEFINED = 1;
export const VIR_DOMAIN_EVENT_STARTED = 2;
export const VIR_DOMAIN_EVENT_SUSPENDED = 3;
export const VIR_DOMAIN_EVENT_RESUMED = 4;
export const VIR_DOMAIN_EVENT_STOPPED = 5;
export const VIR_DOMAIN_EVENT_SHUTDOWN = 6;
export const VIR_DOMAIN_EVENT_PMSUSPENDED = 7;
export const VIR_DOMAIN_EVENT_CRASHED = 8;

/** Lifecycle event details vman sends (virDomainEvent*DetailType). */
export const VIR_DOMAIN_EVENT_DEFINED_ADDED = 0;
export const VIR_DOMAIN_EVENT_DEFINED_UPDATED = 1;
export const VIR_DOMAIN_EVENT_UNDEFINED_REMOVED = 0;
export const VIR_DOMAIN_EVENT_STARTED_BOOTED = 0;
export const VIR_DOMAIN_EVENT_SUSPENDED_PAUSED = 0;
export const VIR_DOMAIN_EVENT_RESUMED_UNPAUSED = 0;
export const VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0;
export const VIR_DOMAIN_EVENT_STOPPED_DESTROYED = 1;
export const VIR_DOMAIN_EVENT_STOPPED_CRASHED = 2;
export const VIR_DOMAIN_EVENT_STOPPED_FAILED = 5;
export const VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0;
export const VIR_DOMAIN_EVENT_CRASHED_PANICKED = 0;

/** Flags of the calls vman serves (libvirt-domain.h). */
export const VIR_DOMAIN_XML_SECURE = 1 << 0;
export const VIR_DOMAIN_XML_INACTIVE = 1 << 1;
export const VIR_DOMAIN_XML_UPDATE_CPU = 1 << 2;
export const VIR_DOMAIN_XML_MIGRATABLE = 1 << 3;
export const VIR_DOMAIN_DEFINE_VALIDATE = 1 << 0;
export const VIR_DOMAIN_START_PAUSED = 1 << 0;
export const VIR_DOMAIN_START_AUTODESTROY = 1 << 1;
export const VIR_DOMAIN_START_VALIDATE = 1 << 4;
export const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1 << 0;
export const VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 1 << 1;
export const VIR_DOMAIN_UNDEFINE_NVRAM = 1 << 2;
export const VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 1 << 3;
export const VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 1 << 4;
export const VIR_DOMAIN_CONSOLE_FORCE = 1 << 0;
export const VIR_DOMAIN_CONSOLE_SAFE = 1 << 1;

// The procedure numbers of remote_protocol.x's enum remote_procedure, without the REMOTE_PROC_
// prefix. Each line starts with the number of its first name; the numbers are consecutive.
const PROCEDURE_TABLE = `
1: CONNECT_OPEN CONNECT_CLOSE CONNECT_GET_TYPE CONNECT_GET_VERSION CONNECT_GET_MAX_VCPUS NODE_GET_INFO
7: CONNECT_GET_CAPABILITIES DOMAIN_ATTACH_DEVICE DOMAIN_CREATE DOMAIN_CREATE_XML
11: DOMAIN_DEFINE_XML DOMAIN_DESTROY DOMAIN_DETACH_DEVICE DOMAIN_GET_XML_DESC DOMAIN_GET_AUTOSTART
16: DOMAIN_GET_INFO DOMAIN_GET_MAX_MEMORY DOMAIN_GET_MAX_VCPUS DOMAIN_GET_OS_TYPE DOMAIN_GET_VCPUS
21: CONNECT_LIST_DEFINED_DOMAINS DOMAIN_LOOKUP_BY_ID DOMAIN_LOOKUP_BY_NAME DOMAIN_LOOKUP_BY_UUID
25: CONNECT_NUM_OF_DEFINED_DOMAINS DOMAIN_PIN_VCPU DOMAIN_REBOOT DOMAIN_RESUME DOMAIN_SET_AUTOSTART
30: DOMAIN_SET_MAX_MEMORY
31: DOMAIN_SET_MEMORY DOMAIN_SET_VCPUS DOMAIN_SHUTDOWN DOMAIN_SUSPEND DOMAIN_UNDEFINE
36: CONNECT_LIST_DEFINED_NETWORKS CONNECT_LIST_DOMAINS CONNECT_LIST_NETWORKS NETWORK_CREATE NETWORK_CREATE_XML
41: NETWORK_DEFINE_XML NETWORK_DESTROY NETWORK_GET_XML_DESC NETWORK_GET_AUTOSTART NETWORK_GET_BRIDGE_NAME
46: NETWORK_LOOKUP_BY_NAME NETWORK_LOOKUP_BY_UUID NETWORK_SET_AUTOSTART NETWORK_UNDEFINE
50: CONNECT_NUM_OF_DEFINED_NETWORKS
51: CONNECT_NUM_OF_DOMAINS CONNECT_NUM_OF_NETWORKS DOMAIN_CORE_DUMP DOMAIN_RESTORE DOMAIN_SAVE
56: DOMAIN_GET_SCHEDULER_TYPE DOMAIN_GET_SCHEDULER_PARAMETERS DOMAIN_SET_SCHEDULER_PARAMETERS
59: CONNECT_GET_HOSTNAME CONNECT_SUPPORTS_FEATURE
61: DOMAIN_MIGRATE_PREPARE DOMAIN_MIGRATE_PERFORM DOMAIN_MIGRATE_FINISH DOMAIN_BLOCK_STATS
65: DOMAIN_INTERFACE_STATS AUTH_LIST AUTH_SASL_INIT AUTH_SASL_START AUTH_SASL_STEP AUTH_POLKIT
71: CONNECT_NUM_OF_STORAGE_POOLS CONNECT_LIST_STORAGE_POOLS CONNECT_NUM_OF_DEFINED_STORAGE_POOLS
74: CONNECT_LIST_DEFINED_STORAGE_POOLS CONNECT_FIND_STORAGE_POOL_SOURCES STORAGE_POOL_CREATE_XML
77: STORAGE_POOL_DEFINE_XML STORAGE_POOL_CREATE STORAGE_POOL_BUILD STORAGE_POOL_DESTROY
81: STORAGE_POOL_DELETE STORAGE_POOL_UNDEFINE STORAGE_POOL_REFRESH STORAGE_POOL_LOOKUP_BY_NAME
85: STORAGE_POOL_LOOKUP_BY_UUID STORAGE_POOL_LOOKUP_BY_VOLUME STORAGE_POOL_GET_INFO STORAGE_POOL_GET_XML_DESC
89: STORAGE_POOL_GET_AUTOSTART STORAGE_POOL_SET_AUTOSTART
91: STORAGE_POOL_NUM_OF_VOLUMES STORAGE_POOL_LIST_VOLUMES STORAGE_VOL_CREATE_XML STORAGE_VOL_DELETE
95: STORAGE_VOL_LOOKUP_BY_NAME STORAGE_VOL_LOOKUP_BY_KEY STORAGE_VOL_LOOKUP_BY_PATH STORAGE_VOL_GET_INFO
99: STORAGE_VOL_GET_XML_DESC STORAGE_VOL_GET_PATH
101: NODE_GET_CELLS_FREE_MEMORY NODE_GET_FREE_MEMORY DOMAIN_BLOCK_PEEK DOMAIN_MEMORY_PEEK
105: CONNECT_DOMAIN_EVENT_REGISTER CONNECT_DOMAIN_EVENT_DEREGISTER DOMAIN_EVENT_LIFECYCLE
108: DOMAIN_MIGRATE_PREPARE2 DOMAIN_MIGRATE_FINISH2 CONNECT_GET_URI
111: NODE_NUM_OF_DEVICES NODE_LIST_DEVICES NODE_DEVICE_LOOKUP_BY_NAME NODE_DEVICE_GET_XML_DESC
115: NODE_DEVICE_GET_PARENT NODE_DEVICE_NUM_OF_CAPS NODE_DEVICE_LIST_CAPS NODE_DEVICE_DETTACH
119: NODE_DEVICE_RE_ATTACH NODE_DEVICE_RESET
121: DOMAIN_GET_SECURITY_LABEL NODE_GET_SECURITY_MODEL NODE_DEVICE_CREATE_XML NODE_DEVICE_DESTROY
125: STORAGE_VOL_CREATE_XML_FROM CONNECT_NUM_OF_INTERFACES CONNECT_LIST_INTERFACES INTERFACE_LOOKUP_BY_NAME
129: INTERFACE_LOOKUP_BY_MAC_STRING INTERFACE_GET_XML_DESC
131: INTERFACE_DEFINE_XML INTERFACE_UNDEFINE INTERFACE_CREATE INTERFACE_DESTROY CONNECT_DOMAIN_XML_FROM_NATIVE
136: CONNECT_DOMAIN_XML_TO_NATIVE CONNECT_NUM_OF_DEFINED_INTERFACES CONNECT_LIST_DEFINED_INTERFACES
139: CONNECT_NUM_OF_SECRETS CONNECT_LIST_SECRETS
141: SECRET_LOOKUP_BY_UUID SECRET_DEFINE_XML SECRET_GET_XML_DESC SECRET_SET_VALUE SECRET_GET_VALUE
146: SECRET_UNDEFINE SECRET_LOOKUP_BY_USAGE DOMAIN_MIGRATE_PREPARE_TUNNEL CONNECT_IS_SECURE DOMAIN_IS_ACTIVE
151: DOMAIN_IS_PERSISTENT NETWORK_IS_ACTIVE NETWORK_IS_PERSISTENT STORAGE_POOL_IS_ACTIVE
155: STORAGE_POOL_IS_PERSISTENT INTERFACE_IS_ACTIVE CONNECT_GET_LIB_VERSION CONNECT_COMPARE_CPU
159: DOMAIN_MEMORY_STATS DOMAIN_ATTACH_DEVICE_FLAGS
161: DOMAIN_DETACH_DEVICE_FLAGS CONNECT_BASELINE_CPU DOMAIN_GET_JOB_INFO DOMAIN_ABORT_JOB STORAGE_VOL_WIPE
166: DOMAIN_MIGRATE_SET_MAX_DOWNTIME CONNECT_DOMAIN_EVENT_REGISTER_ANY CONNECT_DOMAIN_EVENT_DEREGISTER_ANY
169: DOMAIN_EVENT_REBOOT DOMAIN_EVENT_RTC_CHANGE
171: DOMAIN_EVENT_WATCHDOG DOMAIN_EVENT_IO_ERROR DOMAIN_EVENT_GRAPHICS DOMAIN_UPDATE_DEVICE_FLAGS
175: NWFILTER_LOOKUP_BY_NAME NWFILTER_LOOKUP_BY_UUID NWFILTER_GET_XML_DESC CONNECT_NUM_OF_NWFILTERS
179: CONNECT_LIST_NWFILTERS NWFILTER_DEFINE_XML
181: NWFILTER_UNDEFINE DOMAIN_MANAGED_SAVE DOMAIN_HAS_MANAGED_SAVE_IMAGE DOMAIN_MANAGED_SAVE_REMOVE
185: DOMAIN_SNAPSHOT_CREATE_XML DOMAIN_SNAPSHOT_GET_XML_DESC DOMAIN_SNAPSHOT_NUM DOMAIN_SNAPSHOT_LIST_NAMES
189: DOMAIN_SNAPSHOT_LOOKUP_BY_NAME DOMAIN_HAS_CURRENT_SNAPSHOT
191: DOMAIN_SNAPSHOT_CURRENT DOMAIN_REVERT_TO_SNAPSHOT DOMAIN_SNAPSHOT_DELETE DOMAIN_GET_BLOCK_INFO
195: DOMAIN_EVENT_IO_ERROR_REASON DOMAIN_CREATE_WITH_FLAGS DOMAIN_SET_MEMORY_PARAMETERS
198: DOMAIN_GET_MEMORY_PARAMETERS DOMAIN_SET_VCPUS_FLAGS DOMAIN_GET_VCPUS_FLAGS
201: DOMAIN_OPEN_CONSOLE DOMAIN_IS_UPDATED CONNECT_GET_SYSINFO DOMAIN_SET_MEMORY_FLAGS
205: DOMAIN_SET_BLKIO_PARAMETERS DOMAIN_GET_BLKIO_PARAMETERS DOMAIN_MIGRATE_SET_MAX_SPEED STORAGE_VOL_UPLOAD
209: STORAGE_VOL_DOWNLOAD DOMAIN_INJECT_NMI
211: DOMAIN_SCREENSHOT DOMAIN_GET_STATE DOMAIN_MIGRATE_BEGIN3 DOMAIN_MIGRATE_PREPARE3
215: DOMAIN_MIGRATE_PREPARE_TUNNEL3 DOMAIN_MIGRATE_PERFORM3 DOMAIN_MIGRATE_FINISH3 DOMAIN_MIGRATE_CONFIRM3
219: DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS INTERFACE_CHANGE_BEGIN
221: INTERFACE_CHANGE_COMMIT INTERFACE_CHANGE_ROLLBACK DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS
224: DOMAIN_EVENT_CONTROL_ERROR DOMAIN_PIN_VCPU_FLAGS DOMAIN_SEND_KEY NODE_GET_CPU_STATS NODE_GET_MEMORY_STATS
229: DOMAIN_GET_CONTROL_INFO DOMAIN_GET_VCPU_PIN_INFO
231: DOMAIN_UNDEFINE_FLAGS DOMAIN_SAVE_FLAGS DOMAIN_RESTORE_FLAGS DOMAIN_DESTROY_FLAGS
235: DOMAIN_SAVE_IMAGE_GET_XML_DESC DOMAIN_SAVE_IMAGE_DEFINE_XML DOMAIN_BLOCK_JOB_ABORT
238: DOMAIN_GET_BLOCK_JOB_INFO DOMAIN_BLOCK_JOB_SET_SPEED DOMAIN_BLOCK_PULL
241: DOMAIN_EVENT_BLOCK_JOB DOMAIN_MIGRATE_GET_MAX_SPEED DOMAIN_BLOCK_STATS_FLAGS DOMAIN_SNAPSHOT_GET_PARENT
245: DOMAIN_RESET DOMAIN_SNAPSHOT_NUM_CHILDREN DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES DOMAIN_EVENT_DISK_CHANGE
249: DOMAIN_OPEN_GRAPHICS NODE_SUSPEND_FOR_DURATION
251: DOMAIN_BLOCK_RESIZE DOMAIN_SET_BLOCK_IO_TUNE DOMAIN_GET_BLOCK_IO_TUNE DOMAIN_SET_NUMA_PARAMETERS
255: DOMAIN_GET_NUMA_PARAMETERS DOMAIN_SET_INTERFACE_PARAMETERS DOMAIN_GET_INTERFACE_PARAMETERS
258: DOMAIN_SHUTDOWN_FLAGS STORAGE_VOL_WIPE_PATTERN STORAGE_VOL_RESIZE
261: DOMAIN_PM_SUSPEND_FOR_DURATION DOMAIN_GET_CPU_STATS DOMAIN_GET_DISK_ERRORS DOMAIN_SET_METADATA
265: DOMAIN_GET_METADATA DOMAIN_BLOCK_REBASE DOMAIN_PM_WAKEUP DOMAIN_EVENT_TRAY_CHANGE DOMAIN_EVENT_PMWAKEUP
270: DOMAIN_EVENT_PMSUSPEND
271: DOMAIN_SNAPSHOT_IS_CURRENT DOMAIN_SNAPSHOT_HAS_METADATA CONNECT_LIST_ALL_DOMAINS
274: DOMAIN_LIST_ALL_SNAPSHOTS DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN DOMAIN_EVENT_BALLOON_CHANGE
277: DOMAIN_GET_HOSTNAME DOMAIN_GET_SECURITY_LABEL_LIST DOMAIN_PIN_EMULATOR DOMAIN_GET_EMULATOR_PIN_INFO
281: CONNECT_LIST_ALL_STORAGE_POOLS STORAGE_POOL_LIST_ALL_VOLUMES CONNECT_LIST_ALL_NETWORKS
284: CONNECT_LIST_ALL_INTERFACES CONNECT_LIST_ALL_NODE_DEVICES CONNECT_LIST_ALL_NWFILTERS
287: CONNECT_LIST_ALL_SECRETS NODE_SET_MEMORY_PARAMETERS NODE_GET_MEMORY_PARAMETERS DOMAIN_BLOCK_COMMIT
291: NETWORK_UPDATE DOMAIN_EVENT_PMSUSPEND_DISK NODE_GET_CPU_MAP DOMAIN_FSTRIM DOMAIN_SEND_PROCESS_SIGNAL
296: DOMAIN_OPEN_CHANNEL NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN DOMAIN_GET_JOB_STATS
299: DOMAIN_MIGRATE_GET_COMPRESSION_CACHE DOMAIN_MIGRATE_SET_COMPRESSION_CACHE
301: NODE_DEVICE_DETACH_FLAGS DOMAIN_MIGRATE_BEGIN3_PARAMS DOMAIN_MIGRATE_PREPARE3_PARAMS
304: DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS DOMAIN_MIGRATE_PERFORM3_PARAMS DOMAIN_MIGRATE_FINISH3_PARAMS
307: DOMAIN_MIGRATE_CONFIRM3_PARAMS DOMAIN_SET_MEMORY_STATS_PERIOD DOMAIN_CREATE_XML_WITH_FILES
310: DOMAIN_CREATE_WITH_FILES
311: DOMAIN_EVENT_DEVICE_REMOVED CONNECT_GET_CPU_MODEL_NAMES CONNECT_NETWORK_EVENT_REGISTER_ANY
314: CONNECT_NETWORK_EVENT_DEREGISTER_ANY NETWORK_EVENT_LIFECYCLE CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
317: CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY DOMAIN_EVENT_CALLBACK_LIFECYCLE DOMAIN_EVENT_CALLBACK_REBOOT
320: DOMAIN_EVENT_CALLBACK_RTC_CHANGE
321: DOMAIN_EVENT_CALLBACK_WATCHDOG DOMAIN_EVENT_CALLBACK_IO_ERROR DOMAIN_EVENT_CALLBACK_GRAPHICS
324: DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON DOMAIN_EVENT_CALLBACK_CONTROL_ERROR DOMAIN_EVENT_CALLBACK_BLOCK_JOB
327: DOMAIN_EVENT_CALLBACK_DISK_CHANGE DOMAIN_EVENT_CALLBACK_TRAY_CHANGE DOMAIN_EVENT_CALLBACK_PMWAKEUP
330: DOMAIN_EVENT_CALLBACK_PMSUSPEND
331: DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK
333: DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED DOMAIN_CORE_DUMP_WITH_FORMAT DOMAIN_FSFREEZE DOMAIN_FSTHAW
337: DOMAIN_GET_TIME DOMAIN_SET_TIME DOMAIN_EVENT_BLOCK_JOB_2 NODE_GET_FREE_PAGES
341: NETWORK_GET_DHCP_LEASES CONNECT_GET_DOMAIN_CAPABILITIES DOMAIN_OPEN_GRAPHICS_FD
344: CONNECT_GET_ALL_DOMAIN_STATS DOMAIN_BLOCK_COPY DOMAIN_EVENT_CALLBACK_TUNABLE NODE_ALLOC_PAGES
348: DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE DOMAIN_GET_FSINFO DOMAIN_DEFINE_XML_FLAGS
351: DOMAIN_GET_IOTHREAD_INFO DOMAIN_PIN_IOTHREAD DOMAIN_INTERFACE_ADDRESSES
354: DOMAIN_EVENT_CALLBACK_DEVICE_ADDED DOMAIN_ADD_IOTHREAD DOMAIN_DEL_IOTHREAD DOMAIN_SET_USER_PASSWORD
358: DOMAIN_RENAME DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION CONNECT_REGISTER_CLOSE_CALLBACK
361: CONNECT_UNREGISTER_CLOSE_CALLBACK CONNECT_EVENT_CONNECTION_CLOSED DOMAIN_EVENT_CALLBACK_JOB_COMPLETED
364: DOMAIN_MIGRATE_START_POST_COPY DOMAIN_GET_PERF_EVENTS DOMAIN_SET_PERF_EVENTS
367: DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY
369: CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY STORAGE_POOL_EVENT_LIFECYCLE
371: DOMAIN_GET_GUEST_VCPUS DOMAIN_SET_GUEST_VCPUS STORAGE_POOL_EVENT_REFRESH
374: CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY
376: NODE_DEVICE_EVENT_LIFECYCLE NODE_DEVICE_EVENT_UPDATE STORAGE_VOL_GET_INFO_FLAGS
379: DOMAIN_EVENT_CALLBACK_METADATA_CHANGE CONNECT_SECRET_EVENT_REGISTER_ANY
381: CONNECT_SECRET_EVENT_DEREGISTER_ANY SECRET_EVENT_LIFECYCLE SECRET_EVENT_VALUE_CHANGED DOMAIN_SET_VCPU
385: DOMAIN_EVENT_BLOCK_THRESHOLD DOMAIN_SET_BLOCK_THRESHOLD DOMAIN_MIGRATE_GET_MAX_DOWNTIME
388: DOMAIN_MANAGED_SAVE_GET_XML_DESC DOMAIN_MANAGED_SAVE_DEFINE_XML DOMAIN_SET_LIFECYCLE_ACTION
391: STORAGE_POOL_LOOKUP_BY_TARGET_PATH DOMAIN_DETACH_DEVICE_ALIAS CONNECT_COMPARE_HYPERVISOR_CPU
394: CONNECT_BASELINE_HYPERVISOR_CPU NODE_GET_SEV_INFO DOMAIN_GET_LAUNCH_SECURITY_INFO
397: NWFILTER_BINDING_LOOKUP_BY_PORT_DEV NWFILTER_BINDING_GET_XML_DESC NWFILTER_BINDING_CREATE_XML
400: NWFILTER_BINDING_DELETE
401: CONNECT_LIST_ALL_NWFILTER_BINDINGS DOMAIN_SET_IOTHREAD_PARAMS CONNECT_GET_STORAGE_POOL_CAPABILITIES
404: NETWORK_LIST_ALL_PORTS NETWORK_PORT_LOOKUP_BY_UUID NETWORK_PORT_CREATE_XML NETWORK_PORT_GET_PARAMETERS
408: NETWORK_PORT_SET_PARAMETERS NETWORK_PORT_GET_XML_DESC NETWORK_PORT_DELETE
411: DOMAIN_CHECKPOINT_CREATE_XML DOMAIN_CHECKPOINT_GET_XML_DESC DOMAIN_LIST_ALL_CHECKPOINTS
414: DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN DOMAIN_CHECKPOINT_LOOKUP_BY_NAME DOMAIN_CHECKPOINT_GET_PARENT
417: DOMAIN_CHECKPOINT_DELETE DOMAIN_GET_GUEST_INFO CONNECT_SET_IDENTITY DOMAIN_AGENT_SET_RESPONSE_TIMEOUT
421: DOMAIN_BACKUP_BEGIN DOMAIN_BACKUP_GET_XML_DESC DOMAIN_EVENT_MEMORY_FAILURE DOMAIN_AUTHORIZED_SSH_KEYS_GET
425: DOMAIN_AUTHORIZED_SSH_KEYS_SET DOMAIN_GET_MESSAGES DOMAIN_START_DIRTY_RATE_CALC NODE_DEVICE_DEFINE_XML
429: NODE_DEVICE_UNDEFINE NODE_DEVICE_CREATE
431: NWFILTER_DEFINE_XML_FLAGS NETWORK_DEFINE_XML_FLAGS NODE_DEVICE_GET_AUTOSTART NODE_DEVICE_SET_AUTOSTART
435: NODE_DEVICE_IS_PERSISTENT NODE_DEVICE_IS_ACTIVE NETWORK_CREATE_XML_FLAGS
438: DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE DOMAIN_SET_LAUNCH_SECURITY_STATE DOMAIN_SAVE_PARAMS
441: DOMAIN_RESTORE_PARAMS DOMAIN_ABORT_JOB_FLAGS DOMAIN_FD_ASSOCIATE NETWORK_SET_METADATA
445: NETWORK_GET_METADATA NETWORK_EVENT_CALLBACK_METADATA_CHANGE NODE_DEVICE_UPDATE DOMAIN_GRAPHICS_RELOAD
449: DOMAIN_GET_AUTOSTART_ONCE DOMAIN_SET_AUTOSTART_ONCE
451: DOMAIN_SET_THROTTLE_GROUP DOMAIN_DEL_THROTTLE_GROUP DOMAIN_EVENT_NIC_MAC_CHANGE
`;

/** REMOTE_PROC_* names by number (index 0 is unused). */
const NAMES: readonly string[] = parseTable(PROCEDURE_TABLE);

function parseTable(text: string): string[] {
  const names = [''];
  for (const line of text.trim().split('\n')) {
    const [first, rest] = line.split(': ');
    if (Number(first) !== names.length || rest === undefined) throw new Error(`procedure table: bad line "${line}"`);
    names.push(...rest.split(' '));
  }
  return names;
}

/** The highest procedure number known (libvirt 11.x's table; virsh 9.0 sends at most the ones it knows). */
export const REMOTE_PROC_LAST = NAMES.length - 1;

/** `REMOTE_PROC_DOMAIN_CREATE` for 9; `procedure N` for a number not in the table. */
export function procedureName(procedure: number): string {
  const name = NAMES[procedure];
  return procedure > 0 && name !== undefined ? `REMOTE_PROC_${name}` : `procedure ${procedure}`;
}

/** The number of `REMOTE_PROC_X` (or `X`), or undefined. */
export function procedureNumber(name: string): number | undefined {
  const i = NAMES.indexOf(name.replace(/^REMOTE_PROC_/, ''));
  return i > 0 ? i : undefined;
}

const ACRONYMS = new Set(['XML', 'UUID', 'ID', 'CPU', 'URI', 'OS', 'PM', 'MAC', 'SCSI', 'WWN']);

/**
 * The public API a procedure implements, for messages (`virDomainGetXMLDesc` for 14): the name
 * in CamelCase after `vir`. Exact for the procedures of this module; an approximation for the rest.
 */
export function apiName(procedure: number): string {
  const name = NAMES[procedure];
  if (procedure <= 0 || name === undefined) return `remote procedure ${procedure}`;
  const words = name.split('_').map((w) => (ACRONYMS.has(w) ? w : w[0] + w.slice(1).toLowerCase()));
  return `vir${words.join('')}`;
}

/** Reads and writes one XDR type. */
export interface XdrType<T> {
  read(r: XdrReader): T;
  write(w: XdrWriter, value: T): void;
}

/** No bytes: the args or ret of a procedure declared without one. */
export const xdrVoid: XdrType<undefined> = { read: () => undefined, write: () => undefined };
export const xdrInt: XdrType<number> = { read: (r) => r.int(), write: (w, v) => void w.int(v) };
export const xdrUint: XdrType<number> = { read: (r) => r.uint(), write: (w, v) => void w.uint(v) };
export const xdrHyper: XdrType<bigint> = { read: (r) => r.hyper(), write: (w, v) => void w.hyper(v) };
export const xdrUhyper: XdrType<bigint> = { read: (r) => r.uhyper(), write: (w, v) => void w.uhyper(v) };

/** An unsigned C type narrower than XDR's unit (`unsigned char`, `unsigned short`): a 4-byte uint below 2 ** bits. */
export function xdrNarrowUint(bits: 8 | 16, what: string): XdrType<number> {
  const limit = 2 ** bits;
  return {
    read: (r) => {
      const at = r.offset;
      const v = r.uint();
      if (v >= limit)
        throw new XdrError('bad-value', `Cannot decode XDR at byte ${at}: ${what} ${v} exceeds ${limit - 1}`, at);
      return v;
    },
    write: (w, v) => {
      if (!Number.isInteger(v) || v < 0 || v >= limit) {
        throw new XdrError(
          'unencodable',
          `Cannot encode at byte ${w.length}: ${what} ${v} is not in [0, ${limit - 1}]`,
          w.length,
        );
      }
      w.uint(v);
    },
  };
}

/** remote_nonnull_string. */
export const xdrString: XdrType<string> = {
  read: (r) => r.string(REMOTE_STRING_MAX),
  write: (w, v) => void w.string(v, REMOTE_STRING_MAX),
};

/** remote_uuid: 16 bytes. */
export const xdrUuid: XdrType<Uint8Array> = {
  read: (r) => r.fixedOpaque(VIR_UUID_BUFLEN, 'uuid').slice(),
  write: (w, v) => void w.fixedOpaque(v, VIR_UUID_BUFLEN),
};

/** An optional-data (pointer) of `t`: null when absent. */
export function optional<T>(t: XdrType<T>, what = 'pointer'): XdrType<T | null> {
  return {
    read: (r) => r.optional((x) => t.read(x), what),
    write: (w, v) => void w.optional(v, (x, y) => t.write(x, y)),
  };
}

/** A variable-length array of at most `max` items. */
export function array<T>(t: XdrType<T>, max: number, what = 'array'): XdrType<T[]> {
  return {
    read: (r) => r.array(max, (x) => t.read(x), what),
    write: (w, v) => void w.array(v, max, (x, y) => t.write(x, y)),
  };
}

/** A struct: its fields in declaration order (the order of the object's keys). */
export function struct<T extends object>(fields: { readonly [K in keyof T]: XdrType<T[K]> }): XdrType<T> {
  const entries = Object.entries(fields) as [keyof T & string, XdrType<unknown>][];
  return {
    read: (r) => {
      const out: Record<string, unknown> = {};
      for (const [k, t] of entries) out[k] = t.read(r);
      return out as T;
    },
    write: (w, v) => {
      for (const [k, t] of entries) t.write(w, v[k]);
    },
  };
}

/** remote_string: a string pointer. */
export const xdrOptString: XdrType<string | null> = optional(xdrString, 'string pointer');

const charDecoder = new TextDecoder('utf-8', { fatal: true });
const charEncoder = new TextEncoder();

/**
 * A C string sent as XDR chars (`char label<N>`, `char model[32]`): rpcgen's xdr_char puts each
 * byte in a 4-byte int, sign-extended as on x86. A variable array counts the string's NUL (as
 * libvirtd sends it); a fixed one is NUL-padded. `max` counts chars, the NUL included.
 */
export function xdrCharString(max: number, kind: 'variable' | 'fixed', what: string): XdrType<string> {
  return {
    read: (r) => {
      const at = r.offset;
      const chars = kind === 'fixed' ? r.fixedArray(max, (x) => x.int()) : r.array(max, (x) => x.int(), what);
      const bytes = Uint8Array.from(chars, (c) => c & 0xff);
      const nul = bytes.indexOf(0);
      try {
        return charDecoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
      } catch {
        throw new XdrError('bad-value', `Cannot decode XDR at byte ${at}: ${what} is not valid UTF-8`, at);
      }
    },
    write: (w, v) => {
      const bytes = charEncoder.encode(v);
      if (bytes.length + 1 > max || bytes.includes(0)) {
        throw new XdrError(
          'unencodable',
          `Cannot encode at byte ${w.length}: ${what} "${v}" does not fit ${max - 1} chars`,
          w.length,
        );
      }
      const chars = Array.from({ length: kind === 'fixed' ? max : bytes.length + 1 }, (_, i) => {
        const b = bytes[i] ?? 0;
        return b >= 0x80 ? b - 0x100 : b;
      });
      if (kind === 'fixed') w.fixedArray(chars, max, (x, c) => void x.int(c));
      else w.array(chars, max, (x, c) => void x.int(c));
    },
  };
}

/** remote_nonnull_domain: how every call names a domain. */
export interface RemoteDomain {
  readonly name: string;
  /** 16 bytes. */
  readonly uuid: Uint8Array;
  /** The running domain's id; -1 when inactive. */
  readonly id: number;
}

export const xdrDomain: XdrType<RemoteDomain> = struct<RemoteDomain>({ name: xdrString, uuid: xdrUuid, id: xdrInt });

/** A UUID's canonical text form (8-4-4-4-12 lowercase hex). */
export function formatUuid(uuid: Uint8Array): string {
  const hex = Array.from(uuid, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The 16 bytes of a UUID in text form (dashes optional, as virUUIDParse allows), or undefined. */
export function parseUuid(text: string): Uint8Array | undefined {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return Uint8Array.from({ length: VIR_UUID_BUFLEN }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** Error offsets count from the frame's first byte: a body starts after the length word and header. */
const BODY_OFFSET = 28;

/** The codec of one procedure: its arguments (client → server) and return value (server → client). */
export interface ProcedureCodec<A, R> {
  readonly procedure: number;
  /** REMOTE_PROC_… */
  readonly name: string;
  /** The public API, for messages (virDomainCreate). */
  readonly api: string;
  readonly args: XdrType<A>;
  readonly ret: XdrType<R>;
  /** Decodes a CALL body; throws XdrError (offsets from the frame start) if malformed or followed by extra bytes. */
  decodeArgs(body: Uint8Array): A;
  encodeArgs(args: A): Uint8Array;
  decodeRet(body: Uint8Array): R;
  encodeRet(ret: R): Uint8Array;
}

/** The codec of an event: a MESSAGE-type message of the remote program, server → client. */
export interface EventCodec<M> {
  readonly procedure: number;
  readonly name: string;
  readonly msg: XdrType<M>;
  decode(body: Uint8Array): M;
  encode(msg: M): Uint8Array;
}

function decodeWith<T>(t: XdrType<T>, body: Uint8Array, what: string): T {
  const r = new XdrReader(body, BODY_OFFSET);
  const v = t.read(r);
  r.done(what);
  return v;
}

function encodeWith<T>(t: XdrType<T>, value: T): Uint8Array {
  const w = new XdrWriter();
  t.write(w, value);
  return w.finish();
}

function codec<A, R>(
  procedure: number,
  args: XdrType<A>,
  ret: XdrType<R>,
  api = apiName(procedure),
): ProcedureCodec<A, R> {
  const name = procedureName(procedure);
  return {
    procedure,
    name,
    api,
    args,
    ret,
    decodeArgs: (body) => decodeWith(args, body, `arguments of ${name}`),
    encodeArgs: (a) => encodeWith(args, a),
    decodeRet: (body) => decodeWith(ret, body, `return value of ${name}`),
    encodeRet: (r) => encodeWith(ret, r),
  };
}

function eventCodec<M>(procedure: number, msg: XdrType<M>): EventCodec<M> {
  const name = procedureName(procedure);
  return {
    procedure,
    name,
    msg,
    decode: (body) => decodeWith(msg, body, `message ${name}`),
    encode: (m) => encodeWith(msg, m),
  };
}

// Procedure numbers (remote_protocol.x), for the procedures with a codec below.
export const REMOTE_PROC_CONNECT_OPEN = 1;
export const REMOTE_PROC_CONNECT_CLOSE = 2;
export const REMOTE_PROC_CONNECT_GET_TYPE = 3;
export const REMOTE_PROC_CONNECT_GET_VERSION = 4;
export const REMOTE_PROC_NODE_GET_INFO = 6;
export const REMOTE_PROC_CONNECT_GET_CAPABILITIES = 7;
export const REMOTE_PROC_DOMAIN_CREATE = 9;
export const REMOTE_PROC_DOMAIN_CREATE_XML = 10;
export const REMOTE_PROC_DOMAIN_DEFINE_XML = 11;
export const REMOTE_PROC_DOMAIN_DESTROY = 12;
export const REMOTE_PROC_DOMAIN_GET_XML_DESC = 14;
export const REMOTE_PROC_DOMAIN_GET_AUTOSTART = 15;
export const REMOTE_PROC_DOMAIN_GET_INFO = 16;
export const REMOTE_PROC_DOMAIN_GET_OS_TYPE = 19;
export const REMOTE_PROC_DOMAIN_LOOKUP_BY_ID = 22;
export const REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME = 23;
export const REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID = 24;
export const REMOTE_PROC_DOMAIN_SHUTDOWN = 33;
export const REMOTE_PROC_DOMAIN_UNDEFINE = 35;
export const REMOTE_PROC_CONNECT_GET_HOSTNAME = 59;
export const REMOTE_PROC_CONNECT_SUPPORTS_FEATURE = 60;
export const REMOTE_PROC_AUTH_LIST = 66;
export const REMOTE_PROC_CONNECT_GET_URI = 110;
export const REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL = 121;
export const REMOTE_PROC_NODE_GET_SECURITY_MODEL = 122;
export const REMOTE_PROC_CONNECT_IS_SECURE = 149;
export const REMOTE_PROC_DOMAIN_IS_ACTIVE = 150;
export const REMOTE_PROC_DOMAIN_IS_PERSISTENT = 151;
export const REMOTE_PROC_CONNECT_GET_LIB_VERSION = 157;
export const REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE = 183;
export const REMOTE_PROC_DOMAIN_SNAPSHOT_NUM = 187;
export const REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS = 196;
export const REMOTE_PROC_DOMAIN_OPEN_CONSOLE = 201;
export const REMOTE_PROC_DOMAIN_GET_STATE = 212;
export const REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS = 231;
export const REMOTE_PROC_DOMAIN_DESTROY_FLAGS = 234;
export const REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS = 258;
export const REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS = 273;
export const REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = 316;
export const REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = 317;
export const REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE = 318;
export const REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS = 350;
export const REMOTE_PROC_DOMAIN_GET_MESSAGES = 426;

const dom = struct<{ dom: RemoteDomain }>({ dom: xdrDomain });
const domFlags = struct<{ dom: RemoteDomain; flags: number }>({ dom: xdrDomain, flags: xdrUint });

/** CONNECT_OPEN: the URI the client opened (`vman:///system`), VIR_CONNECT_RO (1) among the flags. */
export const connectOpen = codec(
  REMOTE_PROC_CONNECT_OPEN,
  struct<{ name: string | null; flags: number }>({ name: xdrOptString, flags: xdrUint }),
  xdrVoid,
);
export const connectClose = codec(REMOTE_PROC_CONNECT_CLOSE, xdrVoid, xdrVoid);
/** CONNECT_GET_TYPE: the driver name virsh prints in `version` ("Using API: vman …"). */
export const connectGetType = codec(
  REMOTE_PROC_CONNECT_GET_TYPE,
  xdrVoid,
  struct<{ type: string }>({ type: xdrString }),
);
/** CONNECT_GET_VERSION: the hypervisor version, major * 1000000 + minor * 1000 + release. */
export const connectGetVersion = codec(
  REMOTE_PROC_CONNECT_GET_VERSION,
  xdrVoid,
  struct<{ hv_ver: bigint }>({ hv_ver: xdrUhyper }),
);
export const connectGetLibVersion = codec(
  REMOTE_PROC_CONNECT_GET_LIB_VERSION,
  xdrVoid,
  struct<{ lib_ver: bigint }>({ lib_ver: xdrUhyper }),
);
export const connectGetHostname = codec(
  REMOTE_PROC_CONNECT_GET_HOSTNAME,
  xdrVoid,
  struct<{ hostname: string }>({ hostname: xdrString }),
);
export const connectGetUri = codec(REMOTE_PROC_CONNECT_GET_URI, xdrVoid, struct<{ uri: string }>({ uri: xdrString }));
export const connectGetCapabilities = codec(
  REMOTE_PROC_CONNECT_GET_CAPABILITIES,
  xdrVoid,
  struct<{ capabilities: string }>({ capabilities: xdrString }),
);
export const connectSupportsFeature = codec(
  REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
  struct<{ feature: number }>({ feature: xdrInt }),
  struct<{ supported: number }>({ supported: xdrInt }),
);
export const connectIsSecure = codec(
  REMOTE_PROC_CONNECT_IS_SECURE,
  xdrVoid,
  struct<{ secure: number }>({ secure: xdrInt }),
);

/** AUTH_LIST: the auth types the client must go through; vman answers REMOTE_AUTH_NONE. */
export const authList = codec(
  REMOTE_PROC_AUTH_LIST,
  xdrVoid,
  struct<{ types: number[] }>({ types: array(xdrInt, REMOTE_AUTH_TYPE_LIST_MAX, 'auth types') }),
  'virConnectOpen',
);

/** virNodeInfo: memory in KiB; model is a char[32] (128 bytes on the wire). */
export interface NodeInfo {
  readonly model: string;
  readonly memory: bigint;
  readonly cpus: number;
  readonly mhz: number;
  readonly nodes: number;
  readonly sockets: number;
  readonly cores: number;
  readonly threads: number;
}

export const nodeGetInfo = codec(
  REMOTE_PROC_NODE_GET_INFO,
  xdrVoid,
  struct<NodeInfo>({
    model: xdrCharString(NODE_INFO_MODEL_LENGTH, 'fixed', 'CPU model'),
    memory: xdrUhyper,
    cpus: xdrInt,
    mhz: xdrInt,
    nodes: xdrInt,
    sockets: xdrInt,
    cores: xdrInt,
    threads: xdrInt,
  }),
);

/** NODE_GET_SECURITY_MODEL: an empty model ("") means none, and virsh prints no security section. */
export const nodeGetSecurityModel = codec(
  REMOTE_PROC_NODE_GET_SECURITY_MODEL,
  xdrVoid,
  struct<{ model: string; doi: string }>({
    model: xdrCharString(REMOTE_SECURITY_MODEL_MAX, 'variable', 'security model'),
    doi: xdrCharString(REMOTE_SECURITY_DOI_MAX, 'variable', 'security DOI'),
  }),
);

export const connectListAllDomains = codec(
  REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
  struct<{ need_results: number; flags: number }>({ need_results: xdrInt, flags: xdrUint }),
  struct<{ domains: RemoteDomain[]; ret: number }>({
    domains: array(xdrDomain, REMOTE_DOMAIN_LIST_MAX, 'domains'),
    ret: xdrUint,
  }),
);

export const domainLookupById = codec(REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, struct<{ id: number }>({ id: xdrInt }), dom);
export const domainLookupByName = codec(
  REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
  struct<{ name: string }>({ name: xdrString }),
  dom,
);
export const domainLookupByUuid = codec(
  REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID,
  struct<{ uuid: Uint8Array }>({ uuid: xdrUuid }),
  dom,
  'virDomainLookupByUUID',
);

/** DOMAIN_CREATE: start a defined domain; the client then looks it up by UUID for its id. */
export const domainCreate = codec(REMOTE_PROC_DOMAIN_CREATE, dom, xdrVoid);
export const domainCreateWithFlags = codec(REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, domFlags, dom);
export const domainCreateXml = codec(
  REMOTE_PROC_DOMAIN_CREATE_XML,
  struct<{ xml_desc: string; flags: number }>({ xml_desc: xdrString, flags: xdrUint }),
  dom,
);
export const domainDefineXml = codec(REMOTE_PROC_DOMAIN_DEFINE_XML, struct<{ xml: string }>({ xml: xdrString }), dom);
export const domainDefineXmlFlags = codec(
  REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS,
  struct<{ xml: string; flags: number }>({ xml: xdrString, flags: xdrUint }),
  dom,
);
export const domainDestroy = codec(REMOTE_PROC_DOMAIN_DESTROY, dom, xdrVoid);
export const domainDestroyFlags = codec(REMOTE_PROC_DOMAIN_DESTROY_FLAGS, domFlags, xdrVoid);
export const domainShutdown = codec(REMOTE_PROC_DOMAIN_SHUTDOWN, dom, xdrVoid);
export const domainShutdownFlags = codec(REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, domFlags, xdrVoid);
export const domainUndefine = codec(REMOTE_PROC_DOMAIN_UNDEFINE, dom, xdrVoid);
export const domainUndefineFlags = codec(REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, domFlags, xdrVoid);

export const domainGetXmlDesc = codec(
  REMOTE_PROC_DOMAIN_GET_XML_DESC,
  domFlags,
  struct<{ xml: string }>({ xml: xdrString }),
);
export const domainGetOsType = codec(
  REMOTE_PROC_DOMAIN_GET_OS_TYPE,
  dom,
  struct<{ type: string }>({ type: xdrString }),
);
export const domainGetAutostart = codec(
  REMOTE_PROC_DOMAIN_GET_AUTOSTART,
  dom,
  struct<{ autostart: number }>({ autostart: xdrInt }),
);

/** virDomainInfo: state is a virDomainState, memory in KiB, cpuTime in ns. */
export interface DomainInfo {
  readonly state: number;
  readonly maxMem: bigint;
  readonly memory: bigint;
  readonly nrVirtCpu: number;
  readonly cpuTime: bigint;
}

export const domainGetInfo = codec(
  REMOTE_PROC_DOMAIN_GET_INFO,
  dom,
  struct<DomainInfo>({
    state: xdrNarrowUint(8, 'state'),
    maxMem: xdrUhyper,
    memory: xdrUhyper,
    nrVirtCpu: xdrNarrowUint(16, 'nrVirtCpu'),
    cpuTime: xdrUhyper,
  }),
);

export const domainGetState = codec(
  REMOTE_PROC_DOMAIN_GET_STATE,
  domFlags,
  struct<{ state: number; reason: number }>({ state: xdrInt, reason: xdrInt }),
);
export const domainIsActive = codec(REMOTE_PROC_DOMAIN_IS_ACTIVE, dom, struct<{ active: number }>({ active: xdrInt }));
export const domainIsPersistent = codec(
  REMOTE_PROC_DOMAIN_IS_PERSISTENT,
  dom,
  struct<{ persistent: number }>({ persistent: xdrInt }),
);
export const domainHasManagedSaveImage = codec(
  REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE,
  domFlags,
  struct<{ result: number }>({ result: xdrInt }),
);
export const domainSnapshotNum = codec(
  REMOTE_PROC_DOMAIN_SNAPSHOT_NUM,
  domFlags,
  struct<{ num: number }>({ num: xdrInt }),
);
export const domainGetSecurityLabel = codec(
  REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL,
  dom,
  struct<{ label: string; enforcing: number }>({
    label: xdrCharString(REMOTE_SECURITY_LABEL_MAX, 'variable', 'security label'),
    enforcing: xdrInt,
  }),
);
export const domainGetMessages = codec(
  REMOTE_PROC_DOMAIN_GET_MESSAGES,
  domFlags,
  struct<{ msgs: string[] }>({ msgs: array(xdrString, REMOTE_DOMAIN_MESSAGES_MAX, 'messages') }),
);

/** DOMAIN_OPEN_CONSOLE: a readstream; after the (empty) reply, console bytes flow as STREAM messages. */
export const domainOpenConsole = codec(
  REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
  struct<{ dom: RemoteDomain; dev_name: string | null; flags: number }>({
    dom: xdrDomain,
    dev_name: xdrOptString,
    flags: xdrUint,
  }),
  xdrVoid,
);

/** Registers for one event ID (dom null: every domain); the server picks the callbackID events carry. */
export const connectDomainEventCallbackRegisterAny = codec(
  REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
  struct<{ eventID: number; dom: RemoteDomain | null }>({
    eventID: xdrInt,
    dom: optional(xdrDomain, 'domain pointer'),
  }),
  struct<{ callbackID: number }>({ callbackID: xdrInt }),
  'virConnectDomainEventRegisterAny',
);
export const connectDomainEventCallbackDeregisterAny = codec(
  REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
  struct<{ callbackID: number }>({ callbackID: xdrInt }),
  xdrVoid,
  'virConnectDomainEventDeregisterAny',
);

/** remote_domain_event_callback_lifecycle_msg: event is a virDomainEventType, detail its detail. */
export interface LifecycleEvent {
  readonly callbackID: number;
  readonly msg: { readonly dom: RemoteDomain; readonly event: number; readonly detail: number };
}

export const domainEventCallbackLifecycle = eventCodec<LifecycleEvent>(
  REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE,
  struct<LifecycleEvent>({
    callbackID: xdrInt,
    msg: struct<LifecycleEvent['msg']>({ dom: xdrDomain, event: xdrInt, detail: xdrInt }),
  }),
);

/** Every procedure codec of this module, by number. */
export const PROCEDURE_CODECS: ReadonlyMap<number, ProcedureCodec<unknown, unknown>> = new Map(
  (
    [
      connectOpen,
      connectClose,
      connectGetType,
      connectGetVersion,
      connectGetLibVersion,
      connectGetHostname,
      connectGetUri,
      connectGetCapabilities,
      connectSupportsFeature,
      connectIsSecure,
      authList,
      nodeGetInfo,
      nodeGetSecurityModel,
      connectListAllDomains,
      domainLookupById,
      domainLookupByName,
      domainLookupByUuid,
      domainCreate,
      domainCreateWithFlags,
      domainCreateXml,
      domainDefineXml,
      domainDefineXmlFlags,
      domainDestroy,
      domainDestroyFlags,
      domainShutdown,
      domainShutdownFlags,
      domainUndefine,
      domainUndefineFlags,
      domainGetXmlDesc,
      domainGetOsType,
      domainGetAutostart,
      domainGetInfo,
      domainGetState,
      domainIsActive,
      domainIsPersistent,
      domainHasManagedSaveImage,
      domainSnapshotNum,
      domainGetSecurityLabel,
      domainGetMessages,
      domainOpenConsole,
      connectDomainEventCallbackRegisterAny,
      connectDomainEventCallbackDeregisterAny,
    ] as ProcedureCodec<unknown, unknown>[]
  ).map((c) => [c.procedure, c]),
);
