// libvirt's error vocabulary (include/libvirt/virterror.h): the numbers that travel in an error
// reply's remote_error, and the one error type a dispatcher rejects with. Pure.

/** virErrorNumber values vman answers with (virterror.h; the numbers are ABI and never change). */
export const VIR_ERR_OK = 0;
export const VIR_ERR_INTERNAL_ERROR = 1;
export const VIR_ERR_NO_SUPPORT = 3;
export const VIR_ERR_INVALID_CONN = 6;
export const VIR_ERR_INVALID_DOMAIN = 7;
export const VIR_ERR_INVALID_ARG = 8;
export const VIR_ERR_OPERATION_FAILED = 9;
export const VIR_ERR_XML_ERROR = 27;
export const VIR_ERR_DOM_EXIST = 28;
export const VIR_ERR_OPERATION_DENIED = 29;
export const VIR_ERR_RPC = 39;
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_AUTH_FAILED = 45;
export const VIR_ERR_OPERATION_INVALID = 55;
export const VIR_ERR_CONFIG_UNSUPPORTED = 67;
export const VIR_ERR_OPERATION_TIMEOUT = 68;
export const VIR_ERR_INVALID_STREAM = 73;
export const VIR_ERR_ARGUMENT_UNSUPPORTED = 74;
export const VIR_ERR_OPERATION_ABORTED = 78;
export const VIR_ERR_OPERATION_UNSUPPORTED = 84;
export const VIR_ERR_RESOURCE_BUSY = 87;
export const VIR_ERR_ACCESS_DENIED = 88;

/** virErrorDomain values: which part of libvirt (here: of vman) raised the error. */
export const VIR_FROM_NONE = 0;
export const VIR_FROM_XML = 5;
export const VIR_FROM_DOM = 6;
export const VIR_FROM_RPC = 7;
export const VIR_FROM_CONF = 9;
export const VIR_FROM_REMOTE = 13;
export const VIR_FROM_DOMAIN = 20;
export const VIR_FROM_STREAMS = 38;

/** virErrorLevel values. */
export const VIR_ERR_NONE = 0;
export const VIR_ERR_WARNING = 1;
export const VIR_ERR_ERROR = 2;

/** The extra fields of a virError; libvirt fills them for some errors, clients rarely read them. */
export interface LibvirtErrorDetails {
  readonly level?: number;
  readonly str1?: string | null;
  readonly str2?: string | null;
  readonly str3?: string | null;
  readonly int1?: number;
  readonly int2?: number;
  readonly cause?: unknown;
}

/** A failure to report to a libvirt client as an error reply: virErrorNumber, virErrorDomain, message. */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  /** A virErrorNumber (VIR_ERR_*). */
  readonly code: number;
  /** A virErrorDomain (VIR_FROM_*). */
  readonly domain: number;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;

  constructor(code: number, domain: number, message: string, details: LibvirtErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.domain = domain;
    this.level = details.level ?? VIR_ERR_ERROR;
    this.str1 = details.str1 ?? null;
    this.str2 = details.str2 ?? null;
    this.str3 = details.str3 ?? null;
    // libvirt's own reports (virReportErrorHelper) leave the numbers at -1.
    this.int1 = details.int1 ?? -1;
    this.int2 = details.int2 ?? -1;
  }
}

/** VIR_ERR_NO_SUPPORT with libvirt's wording (virerror.c), naming the API (`virDomainSnapshotNum`). */
export function noSupport(api: string, domain = VIR_FROM_NONE): LibvirtError {
  return new LibvirtError(
    VIR_ERR_NO_SUPPORT,
    domain,
    `this function is not supported by the connection driver: ${api}`,
  );
}
