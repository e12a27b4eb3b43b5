// Every error Syncline raises on purpose: a stable code, whether retrying can help, and for
// HTTP the status. docs/errors.md lists the same codes; errors.test.ts keeps the two in step.

export const ERROR_CATALOG = {
  SYNC_CONFIG_INVALID: { status: 500, retriable: false, summary: 'Configuration from the environment is invalid.' },
  SYNC_DECLARATION_INVALID: { status: 500, retriable: false, summary: 'The collections declaration file is invalid.' },
  SYNC_MALFORMED_JSON: { status: 400, retriable: false, summary: 'The request body is not valid JSON.' },
  SYNC_VALIDATION_FAILED: {
    status: 400,
    retriable: false,
    summary: 'The document or request violates the collection declaration.',
  },
  SYNC_INVALID_ID: {
    status: 400,
    retriable: false,
    summary: "The document id does not match the collection's id rule.",
  },
  SYNC_INVALID_PRECONDITION: { status: 400, retriable: false, summary: 'The If-Match header is not a valid version.' },
  SYNC_UNAUTHORIZED: { status: 401, retriable: false, summary: 'The API key is missing or not valid.' },
  SYNC_UNKNOWN_COLLECTION: { status: 404, retriable: false, summary: 'No collection of that name is declared.' },
  SYNC_NOT_FOUND: { status: 404, retriable: false, summary: 'No document with that id exists.' },
  SYNC_ROUTE_NOT_FOUND: { status: 404, retriable: false, summary: 'No route matches the method and path.' },
  SYNC_VERSION_MISMATCH: {
    status: 412,
    retriable: false,
    summary: "If-Match does not equal the document's current version.",
  },
  SYNC_PAYLOAD_TOO_LARGE: { status: 413, retriable: false, summary: 'The request body exceeds the configured limit.' },
  SYNC_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, summary: 'The request body is not application/json.' },
  SYNC_WAIT_TIMEOUT: {
    status: 504,
    retriable: true,
    summary: 'The write committed, but was not indexed within the requested wait.',
  },
  SYNC_UNAVAILABLE: {
    status: 503,
    retriable: true,
    summary: 'A dependency (PostgreSQL or Kafka) is unavailable; retry later.',
  },
  SYNC_INTERNAL: { status: 500, retriable: false, summary: 'An unexpected error; details are in the service log.' },
  SYNC_SCHEMA_INCOMPATIBLE: { status: 500, retriable: false, summary: 'Two event schemas cannot read each other.' },
  SYNC_EVENT_UNDECODABLE: {
    status: 500,
    retriable: false,
    summary: 'A Kafka record cannot be decoded with the event contract.',
  },
  SYNC_INDEX_TRANSIENT: {
    status: 503,
    retriable: true,
    summary: 'Elasticsearch failed in a way that retrying can fix.',
  },
  SYNC_INDEX_REJECTED: { status: 500, retriable: false, summary: 'Elasticsearch rejected a document for good.' },
  SYNC_PARTITION_LOST: {
    status: 409,
    retriable: false,
    summary: 'A rebalance moved the partition to another consumer, which repeats the batch.',
  },
  SYNC_LOCKED: { status: 409, retriable: true, summary: 'Another process holds the lock for this operation.' },
  SYNC_USAGE: { status: 400, retriable: false, summary: 'A command was called with invalid arguments.' },
} as const satisfies Record<string, { status: number; retriable: boolean; summary: string }>;

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
