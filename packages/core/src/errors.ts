// Every error Syncline raises on purpose: a stable code, whether retrying can help, and for
// HTTP the status. docs/errors.md says what each means; errors.test.ts keeps the two in step.

export const ERROR_CATALOG = {
  SYNC_CONFIG_INVALID: { status: 500, retriable: false },
  SYNC_DECLARATION_INVALID: { status: 500, retriable: false },
  SYNC_BAD_REQUEST: { status: 400, retriable: false },
  SYNC_MALFORMED_JSON: { status: 400, retriable: false },
  SYNC_VALIDATION_FAILED: { status: 400, retriable: false },
  SYNC_INVALID_ID: { status: 400, retriable: false },
  SYNC_VALUE_REFUSED: { status: 400, retriable: false },
  SYNC_INVALID_PRECONDITION: { status: 400, retriable: false },
  SYNC_UNAUTHORIZED: { status: 401, retriable: false },
  SYNC_UNKNOWN_COLLECTION: { status: 404, retriable: false },
  SYNC_NOT_FOUND: { status: 404, retriable: false },
  SYNC_ROUTE_NOT_FOUND: { status: 404, retriable: false },
  SYNC_REQUEST_TIMEOUT: { status: 408, retriable: true },
  SYNC_VERSION_MISMATCH: { status: 412, retriable: false },
  SYNC_PAYLOAD_TOO_LARGE: { status: 413, retriable: false },
  SYNC_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false },
  SYNC_HEADERS_TOO_LARGE: { status: 431, retriable: false },
  SYNC_WAIT_TIMEOUT: { status: 504, retriable: true },
  SYNC_UNAVAILABLE: { status: 503, retriable: true },
  SYNC_INTERNAL: { status: 500, retriable: false },
  SYNC_SCHEMA_INCOMPATIBLE: { status: 500, retriable: false },
  SYNC_EVENT_UNDECODABLE: { status: 500, retriable: false },
  SYNC_INDEX_TRANSIENT: { status: 503, retriable: true },
  SYNC_INDEX_REJECTED: { status: 500, retriable: false },
  SYNC_PARTITION_LOST: { status: 409, retriable: false },
  SYNC_LOCKED: { status: 409, retriable: true },
  SYNC_USAGE: { status: 400, retriable: false },
  SYNC_CAPTURE_REFUSED: { status: 500, retriable: false },
  SYNC_CAPTURE_NOT_READY: { status: 500, retriable: false },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface ErrorDetail {
  path: string;
  message: string;
}

export class SynclineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetail[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SynclineError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.retriable = ERROR_CATALOG[code].retriable;
    this.details = options.details ?? [];
  }
}

/** Knows some failures of one driver as catalog errors; undefined for the others. */
export type ErrorClassifier = (err: unknown) => SynclineError | undefined;

/** err as a catalog error: itself when it is one, else what the first classifier that knows it says, else SYNC_INTERNAL. */
/** Node's error codes for a server certificate the client does not trust (both Kafka's and the search engine's). */
export const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS_CERT_ALTNAME_INVALID/;

export function classifyError(err: unknown, ...classifiers: ErrorClassifier[]): SynclineError {
  if (err instanceof SynclineError) return err;
  for (const classify of classifiers) {
    const known = classify(err);
    if (known) return known;
  }
  return new SynclineError('SYNC_INTERNAL', (err as Error)?.message ?? String(err), { cause: err });
}

export function isSynclineError(err: unknown, code?: ErrorCode): err is SynclineError {
  return err instanceof SynclineError && (code === undefined || err.code === code);
}
